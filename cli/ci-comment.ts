// The pull-request comment for one stack's preview (see examples/ci/github-actions): summary first,
// the offline plan and the preview folded and cut to GitHub's 65,536-character limit.
//
//   npm run ci:comment -- --stack S --plan FILE --preview FILE --outcome success|failure|cancelled|skipped
//                         [--artifact NAME] [--post]
//
// --outcome is the preview step's (steps.<id>.outcome): required, since only the step knows; a
// preview file that was never written cannot have succeeded, and that is refused.
// Without --post it prints the body. With --post it edits the stack's comment on the pull request
// (or adds it), as GitHub Actions runs it: GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN and the
// pull request from GITHUB_EVENT_PATH.
// Exit: 0 printed or posted; 2 bad arguments (or a success claimed without a preview); 3 posting failed.
import * as fs from "fs";
import * as path from "path";
import { GitHubTarget, prComment, upsertComment } from "../components/tools/ci/pr-comment";
import { disableStackTraces } from "./command/fast-stacks";
import { answeredHelp, ArgumentError, readFlags, stackName } from "./command/flags";

const USAGE = "usage: npm run ci:comment -- --stack S --plan FILE --preview FILE --outcome success|failure|cancelled|skipped [--artifact NAME] [--post]";
const OUTCOMES = ["success", "failure", "cancelled", "skipped"];

interface Args {
    stack: string;
    plan: string;
    preview: string;
    outcome: string;
    artifact?: string;
    post: boolean;
}

function parseArgs(argv: string[]): Args {
    const { values: raw, switches } = readFlags(argv, { values: ["--stack", "--plan", "--preview", "--outcome", "--artifact"], switches: ["--post"] });
    const post = switches.has("--post");
    // --outcome too: without it the comment would have to guess, and a guessed "succeeded" is a false green.
    for (const need of ["--stack", "--plan", "--preview", "--outcome"]) if (raw[need] === undefined) throw new ArgumentError(`${need} is required`);
    stackName("--stack", raw["--stack"]);
    const outcome = raw["--outcome"];
    if (!OUTCOMES.includes(outcome)) throw new ArgumentError(`--outcome: ${JSON.stringify(outcome)} must be one of ${OUTCOMES.join(", ")}`);
    const artifact = raw["--artifact"];
    if (artifact !== undefined && !/^[A-Za-z0-9_.-]{1,100}$/.test(artifact)) throw new ArgumentError(`--artifact: ${JSON.stringify(artifact)} is not an artifact name`);
    return { stack: raw["--stack"], plan: raw["--plan"], preview: raw["--preview"], outcome, artifact, post };
}

/** A text the step wrote, or undefined when the step never ran (the plan failed first) and left none. */
function readText(flag: string, file: string): string | undefined {
    const cwd = process.env.INIT_CWD ?? process.cwd();
    try {
        return fs.readFileSync(path.resolve(cwd, file), "utf8");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new ArgumentError(`${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
}

function target(): GitHubTarget {
    const env = process.env;
    const missing = ["GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_EVENT_PATH"].filter((k) => !env[k]);
    if (missing.length) throw new ArgumentError(`--post: ${missing.join(", ")} not set (GitHub Actions sets them; pass GITHUB_TOKEN to the step)`);
    const event = JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH!, "utf8")) as { pull_request?: { number?: unknown } };
    const pr = event.pull_request?.number;
    if (typeof pr !== "number") throw new ArgumentError("--post: the event is not a pull request (no pull_request.number in GITHUB_EVENT_PATH)");
    return { api: env.GITHUB_API_URL || "https://api.github.com", repository: env.GITHUB_REPOSITORY!, pr, token: env.GITHUB_TOKEN! };
}

async function main(): Promise<number> {
    disableStackTraces();
    let args: Args;
    let body: string;
    let where: GitHubTarget | undefined;
    try {
        args = parseArgs(process.argv.slice(2));
        const plan = readText("--plan", args.plan);
        const preview = readText("--preview", args.preview);
        if (preview === undefined && args.outcome === "success") throw new ArgumentError(`--preview: ${args.preview} was not written, so no preview succeeded: --outcome success contradicts it`);
        const missing = (flag: string, file: string) => `(no ${flag} output: ${file} was not written)`;
        body = prComment({ stack: args.stack, plan: plan ?? missing("plan", args.plan), preview: preview ?? missing("preview", args.preview), outcome: args.outcome, artifact: args.artifact });
        if (args.post) where = target();
    } catch (err) {
        if (answeredHelp(err, USAGE)) return 0;
        if (!(err instanceof ArgumentError)) throw err;
        process.stderr.write(`npm run ci:comment: ${err.message}\n${USAGE}\n`);
        return 2;
    }
    if (!where) {
        process.stdout.write(body);
        return 0;
    }
    const url = await upsertComment(where, args.stack, body);
    process.stdout.write(`comment for ${args.stack} (${body.length} characters): ${url}\n`);
    return 0;
}

main().then(
    (code) => void (process.exitCode = code),
    (err) => {
        process.stderr.write(`npm run ci:comment: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 3;
    },
);
