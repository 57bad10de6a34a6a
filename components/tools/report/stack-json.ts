// What the report and evidence commands share: reading a stack's JSON through the Pulumi CLI
// (never with --show-secrets) or from a saved file, and writing their result.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ArgumentError, CommandContext, CommandError, QUALIFIED_STACK_NAME } from "../command-contract";
import { BadInputError } from "./input-kind";

/** Where a stack's JSON comes from: `--stack NAME` (the Pulumi CLI) or `--from FILE`, exactly one. */
export interface StackJsonSource {
    stack?: string;
    from?: string;
}

/**
 * A stack's JSON: `pulumi <pulumiArgs> --stack NAME` in the project folder (secrets stay masked or
 * encrypted) when `stack` is given, else the file `from` (from where the command was started).
 * `what` names the JSON in the error a file that does not parse gives.
 */
export function readStackJson(
    given: StackJsonSource,
    context: Pick<CommandContext, "cwd" | "projectDir">,
    pulumiArgs: string[],
    what: string,
): { value: unknown; source: string } {
    const { stack, from } = given;
    if (!stack === !from) throw new ArgumentError(stack ? "give --stack or --from, not both" : "give --stack NAME or --from FILE");
    let text: string;
    let source: string;
    if (stack) {
        if (!QUALIFIED_STACK_NAME.test(stack)) throw new ArgumentError(`--stack: not a stack name: ${JSON.stringify(stack)}`);
        text = execFileSync("pulumi", [...pulumiArgs, "--stack", stack], {
            encoding: "utf8",
            cwd: context.projectDir,
            maxBuffer: 2 ** 31 - 1,
        });
        source = `stack ${stack}`;
    } else {
        try {
            text = fs.readFileSync(path.resolve(context.cwd, from!), "utf8");
        } catch (err) {
            throw new BadInputError(`file ${from}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
        source = `file ${from}`;
    }
    try {
        return { value: JSON.parse(text), source };
    } catch {
        throw new BadInputError(`${source}: not ${what}`);
    }
}

/** Writes a command's result to `out` (relative to where it was started), or to stdout. */
export function writeResult(out: string | undefined, text: string, context: Pick<CommandContext, "cwd" | "stdout">): void {
    if (out) fs.writeFileSync(path.resolve(context.cwd, out), text);
    else context.stdout.write(text);
}

/** Runs `read`; input of the wrong kind ({@link BadInputError}) ends the command `badArguments`, saying why. */
export function wrongInputIsBadArguments<T>(read: () => T): T {
    try {
        return read();
    } catch (err) {
        throw err instanceof BadInputError ? new CommandError("badArguments", err.message) : err;
    }
}
