// What the report and evidence commands share: their arguments, and reading a stack's JSON through
// the Pulumi CLI (never with --show-secrets) or from a saved file.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { terminalText } from "../display-text";
import { BadInputError } from "./input-kind";
import { PROJECT_DIR } from "../../core/script-text";
import { ArgumentError, HelpRequested, readFlags } from "../../../cli/command/flags";

/** The flags a command was given (`--name value`), and where relative paths start. */
export interface CommandArgs {
    get(flag: string): string | undefined;
    /** The folder `npm run` was started in. */
    cwd: string;
}

/**
 * The command's arguments: `flags` are the ones it takes (each with a value); another argument, or
 * a flag given without its value, is a {@link BadInputError} naming the usage.
 */
export function commandArgs(usage: string, flags: readonly string[]): CommandArgs {
    let values: Record<string, string>;
    try {
        values = readFlags(process.argv.slice(2), { values: flags }).values;
    } catch (err) {
        if (err instanceof HelpRequested) throw new HelpAnswer(usage);
        throw err instanceof ArgumentError ? new BadInputError(`${err.message}; ${usage}`) : err;
    }
    return { get: (flag) => values[flag], cwd: process.env.INIT_CWD ?? process.cwd() };
}

/** `--help` was asked for: the command prints this usage on stdout and exits 0. */
class HelpAnswer extends Error {
    constructor(readonly usage: string) {
        super("help");
    }
}

/**
 * A stack's JSON: `pulumi <pulumiArgs> --stack NAME` (secrets stay masked or encrypted) when
 * `--stack` is given, else the file of `--from`. Exactly one of them, or the usage is the error.
 * `what` names the JSON in the error a file that does not parse gives.
 */
export function readStackJson(args: CommandArgs, usage: string, pulumiArgs: string[], what: string): { value: unknown; source: string } {
    const stack = args.get("--stack");
    const from = args.get("--from");
    if (!stack === !from) throw new BadInputError(usage);
    let text: string;
    let source: string;
    if (stack) {
        if (!/^[A-Za-z0-9_./-]{1,200}$/.test(stack)) throw new BadInputError(`not a stack name: ${JSON.stringify(stack)}`);
        text = execFileSync("pulumi", [...pulumiArgs, "--stack", stack], { encoding: "utf8", cwd: PROJECT_DIR, maxBuffer: 2 ** 31 - 1 });
        source = `stack ${stack}`;
    } else {
        try {
            text = fs.readFileSync(path.resolve(args.cwd, from!), "utf8");
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

/** Writes a command's result to `--out` (relative to where it was started), or to stdout. */
export function writeResult(args: CommandArgs, text: string): void {
    const out = args.get("--out");
    if (out) fs.writeFileSync(path.resolve(args.cwd, out), text);
    else process.stdout.write(text);
}

/**
 * Runs a command's main: an error is one line on stderr (terminal-safe: it may quote the stack's
 * records), named after the command. Exit 2 for bad arguments or input the command cannot use
 * ({@link BadInputError}), 1 for anything else (a check that failed, a CLI that failed).
 */
export function runCommand(name: string, main: () => void): void {
    try {
        main();
    } catch (err) {
        if (err instanceof HelpAnswer) return void process.stdout.write(`${err.usage}\n`);
        process.stderr.write(`${name}: ${terminalText(err instanceof Error ? err.message : String(err))}\n`);
        process.exit(err instanceof BadInputError ? 2 : 1);
    }
}
