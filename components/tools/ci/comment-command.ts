// `npm run ci:comment`: the pull-request comment for one stack's preview, printed, or posted as
// GitHub Actions runs it (the stack's earlier comment edited, else one added).
import * as fs from "fs";
import * as path from "path";
import { ArgumentError, CommandContext, STACK_NAME, stackName } from "../command-contract";
import { GitHubTarget, prComment, upsertComment } from "./pr-comment";

const OUTCOMES = ["success", "failure", "cancelled", "skipped"];

/** What `npm run ci:comment` was asked for. */
export interface CiCommentCommandArgs {
    stack?: string;
    /** The file `npm run plan` printed to (from where the command was started). */
    plan?: string;
    /** The file `pulumi preview` printed to. */
    preview?: string;
    /** The preview step's outcome (steps.<id>.outcome): success, failure, cancelled or skipped. */
    outcome?: string;
    /** The artifact that holds both texts in full. */
    artifact?: string;
    /** Post it on the pull request (GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_EVENT_PATH). */
    post: boolean;
}

/**
 * Prints the comment's body, or with `post` puts it on the pull request and prints its address.
 * Everything is checked before anything is printed or posted: a missing or bad argument, an
 * unreadable file, an event that is no pull request, or `outcome` success for a preview that wrote
 * nothing, is an {@link ArgumentError}; a post GitHub refuses is an error of the command's.
 */
export async function runCiCommentCommand(
    args: CiCommentCommandArgs,
    context: CommandContext,
    fetchFn: typeof fetch = fetch,
): Promise<"ok"> {
    // --outcome too: without it the comment would have to guess, and a guessed "succeeded" is a false green.
    const need = { "--stack": args.stack, "--plan": args.plan, "--preview": args.preview, "--outcome": args.outcome };
    for (const [flag, value] of Object.entries(need)) if (value === undefined) throw new ArgumentError(`${flag} is required`);
    const stack = stackName("--stack", args.stack!);
    const outcome = args.outcome!;
    if (!OUTCOMES.includes(outcome)) throw new ArgumentError(`--outcome: ${JSON.stringify(outcome)} must be one of ${OUTCOMES.join(", ")}`);
    const artifact = args.artifact;
    if (artifact !== undefined && !STACK_NAME.test(artifact))
        throw new ArgumentError(`--artifact: ${JSON.stringify(artifact)} is not an artifact name`);
    const plan = readText("--plan", args.plan!, context.cwd);
    const preview = readText("--preview", args.preview!, context.cwd);
    if (preview === undefined && outcome === "success")
        throw new ArgumentError(`--preview: ${args.preview} was not written, so no preview succeeded: --outcome success contradicts it`);
    const missing = (flag: string, file: string) => `(no ${flag} output: ${file} was not written)`;
    const body = prComment({
        stack,
        plan: plan ?? missing("plan", args.plan!),
        preview: preview ?? missing("preview", args.preview!),
        outcome,
        artifact,
    });
    if (!args.post) {
        context.stdout.write(body);
        return "ok";
    }
    const url = await upsertComment(target(context.env), stack, body, fetchFn);
    context.stdout.write(`comment for ${stack} (${body.length} characters): ${url}\n`);
    return "ok";
}

/** A text the step wrote, or undefined when the step never ran (the plan failed first) and left none. */
function readText(flag: string, file: string, cwd: string): string | undefined {
    try {
        return fs.readFileSync(path.resolve(cwd, file), "utf8");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new ArgumentError(`${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
}

/** The pull request of the GitHub Actions run, from its environment. */
function target(env: CommandContext["env"]): GitHubTarget {
    const missing = ["GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_EVENT_PATH"].filter((k) => !env[k]);
    if (missing.length)
        throw new ArgumentError(`--post: ${missing.join(", ")} not set (GitHub Actions sets them; pass GITHUB_TOKEN to the step)`);
    const event = JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH!, "utf8")) as { pull_request?: { number?: unknown } };
    const pr = event.pull_request?.number;
    if (typeof pr !== "number")
        throw new ArgumentError("--post: the event is not a pull request (no pull_request.number in GITHUB_EVENT_PATH)");
    return { api: env.GITHUB_API_URL || "https://api.github.com", repository: env.GITHUB_REPOSITORY!, pr, token: env.GITHUB_TOKEN! };
}
