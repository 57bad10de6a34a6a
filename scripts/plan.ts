// The offline plan: runs the real program under Pulumi's mocks and prints what `pulumi up` would
// register. No Pulumi CLI, no credentials, no cloud.
//
//   npm run plan -- --stack dev            plan a stack (Pulumi.dev.yaml and its inventory)
//   npm run plan -- --inventory FILE       plan an inventory file with default settings
//   npm run plan -- ... --json             one JSON document instead of the summary
//   npm run plan -- ... --github-output    also append parallel= and max-in-flight= to the file
//                                          $GITHUB_OUTPUT names (for `pulumi up --parallel` in CI)
import * as fs from "fs";
import * as path from "path";
import { identities, paths } from "../components/clouds";
import { InputError } from "../components/core/inventory/problems";
import { recommendedParallel } from "../components/core/offline/fleet";
import { runOffline } from "../components/core/offline/run";
import { planDocument, renderSummary } from "../components/core/offline/render";
import { StackConfig, readStackConfig } from "../components/core/offline/stack-config";
import { NAMESPACE } from "../components/core/settings";
import { disableStackTraces } from "./fast-stacks";
import { STACK_NAME } from "./flags";

const USAGE = "usage: npm run plan -- (--stack NAME | --inventory FILE) [--json] [--github-output]";

function parseArgs(argv: string[]): { stack?: string; inventory?: string; json: boolean; githubOutput: boolean } {
    const out: { stack?: string; inventory?: string; json: boolean; githubOutput: boolean } = { json: false, githubOutput: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--json") out.json = true;
        else if (a === "--github-output") out.githubOutput = true;
        else if (a === "--stack" && argv[i + 1]) out.stack = argv[++i];
        else if (a === "--inventory" && argv[i + 1]) out.inventory = argv[++i];
        else if (a === "--help" || a === "-h") {
            process.stdout.write(`${USAGE}\n`);
            process.exit(0);
        } else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    }
    if (!out.stack && !out.inventory) out.stack = "dev";
    if (out.stack && out.inventory) throw new Error(`give --stack or --inventory, not both\n${USAGE}`);
    if (out.stack && !STACK_NAME.test(out.stack)) throw new Error(`not a stack name: ${JSON.stringify(out.stack)}`);
    return out;
}

async function main(): Promise<number> {
    disableStackTraces();
    // The folder with Pulumi.yaml and the stack files (this project; tests point elsewhere).
    const projectDir = process.env.BOOTLOOP_STACK_DIR || path.resolve(__dirname, "..");
    const args = parseArgs(process.argv.slice(2));
    let config: StackConfig;
    let baseDir = projectDir;
    let stack = args.stack ?? "offline";
    let source: string;
    if (args.inventory) {
        // npm runs scripts in the project folder; INIT_CWD is where the user typed the command.
        const cwd = process.env.INIT_CWD ?? process.cwd();
        const inside = !path.isAbsolute(args.inventory) && !args.inventory.split(/[\\/]/).includes("..");
        baseDir = inside ? cwd : path.dirname(path.resolve(cwd, args.inventory));
        const file = inside ? args.inventory : path.basename(args.inventory);
        config = { values: { [`${NAMESPACE}:inventory`]: file }, secretKeys: [] };
        source = `inventory ${args.inventory} (default settings)`;
    } else {
        config = readStackConfig(projectDir, stack);
        source = `stack ${stack} (Pulumi.${stack}.yaml, inventory ${config.values[`${NAMESPACE}:inventory`] ?? "not set"})`;
    }
    const run = await runOffline({ stack, config, baseDir, identities, paths, details: args.json });
    if (args.githubOutput) {
        const file = process.env.GITHUB_OUTPUT;
        if (!file) throw new Error("--github-output: GITHUB_OUTPUT is not set (GitHub Actions sets it)");
        fs.appendFileSync(file, `parallel=${recommendedParallel(run.result.plan, run.settings.maxInFlight)}\nmax-in-flight=${run.settings.maxInFlight}\n`);
    }
    process.stdout.write(args.json ? `${JSON.stringify(planDocument(run, source), null, 2)}\n` : `${renderSummary(run, source)}\n`);
    return 0;
}

// exitCode, not exit(): a large plan on a pipe (`--json | jq`) must be written out before the
// process ends; exit() right after the write cut it at 64 KB.
main().then(
    (code) => void (process.exitCode = code),
    (err) => {
        process.stderr.write(`${err instanceof InputError ? err.message : `error: ${err instanceof Error ? err.message : String(err)}`}\n`);
        process.exitCode = err instanceof InputError ? 1 : 2;
    },
);
