// The offline plan: runs the real program under Pulumi's mocks and prints what `pulumi up` would
// register. No Pulumi CLI, no credentials, no cloud.
//
//   npm run plan -- --stack dev            plan a stack (Pulumi.dev.yaml and its inventory)
//   npm run plan -- --inventory FILE       plan an inventory file with default settings
//   npm run plan -- ... --json             one JSON document instead of the summary
//   npm run plan -- ... --github-output    also append parallel= and max-in-flight= to the file
//                                          $GITHUB_OUTPUT names (for `pulumi up --parallel` in CI)
//   npm run plan -- ... --preflight        then check the plan against the real clouds, read-only:
//                                          quotas, required-tag policies, the deployer's permissions
//                                          (exit 3 when a check fails, 4 when one could not be made)
//   npm run plan -- ... --preflight --allow-skipped   accept checks that could not be made (exit 0
//                                          when none failed; the report still names each one)
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { identities, paths } from "../components/registry/clouds";
import { inertJson } from "../components/tools/display-text";
import { InputError } from "../components/core/contract/problems";
import { recommendedParallel } from "../components/tools/offline/fleet";
import { runOffline } from "../components/tools/offline/run";
import { planDocument, renderSummary } from "../components/tools/offline/render";
import { StackConfig, readStackConfig, configSourceOf } from "../components/tools/offline/stack-config";
import { NAMESPACE } from "../components/core/contract/settings";
import { DiscoveryGate } from "../components/tools/discovery/cli";
import { PreflightGate } from "../components/tools/preflight/cli";
import { preflightOutcome, preflightVms, renderPreflight, runPreflight } from "../components/tools/preflight/run";
import { PreflightFinding, PreflightNeed } from "../components/tools/preflight/types";
import { defaultCliProcesses } from "../components/gate/defaults";
import { preflights } from "../components/registry/preflights";
import { cloudWatches } from "../components/registry/watchers";
import { disableStackTraces } from "./command/fast-stacks";
import { ArgumentError, commandArguments, readFlags, stackName } from "./command/flags";

const USAGE = "usage: npm run plan -- (--stack NAME | --inventory FILE) [--json] [--github-output] [--preflight [--allow-skipped]]";

type PlanArgs = { stack?: string; inventory?: string; json: boolean; githubOutput: boolean; preflight: boolean; allowSkipped: boolean };

function parseArgs(argv: string[]): PlanArgs {
    const { values, switches } = readFlags(argv, { values: ["--stack", "--inventory"], switches: ["--json", "--github-output", "--preflight", "--allow-skipped"] });
    const out: PlanArgs = {
        stack: values["--stack"],
        inventory: values["--inventory"],
        json: switches.has("--json"),
        githubOutput: switches.has("--github-output"),
        preflight: switches.has("--preflight"),
        allowSkipped: switches.has("--allow-skipped"),
    };
    if (!out.stack && !out.inventory) out.stack = "dev";
    if (out.stack && out.inventory) throw new ArgumentError("give --stack or --inventory, not both");
    if (out.allowSkipped && !out.preflight) throw new ArgumentError("--allow-skipped only goes with --preflight");
    if (out.stack) stackName("--stack", out.stack);
    return out;
}

async function main(): Promise<number> {
    disableStackTraces();
    // The folder with Pulumi.yaml and the stack files (this project; tests point elsewhere).
    const projectDir = process.env.BOOTLOOP_STACK_DIR || path.resolve(__dirname, "..");
    const read = commandArguments("plan", USAGE, parseArgs);
    if ("exit" in read) return read.exit;
    const args = read.args;
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
    const findings = args.preflight ? await preflight(run, config, `Pulumi.${stack}.yaml`) : undefined;
    // 3 a check failed, 4 a check could not be made (unless --allow-skipped), else 0.
    const exitCode = findings ? preflightOutcome(findings, { allowNotChecked: args.allowSkipped }).exitCode : 0;
    if (args.json) process.stdout.write(`${inertJson({ ...planDocument(run, source), ...(findings ? { preflight: findings } : {}) }, 2)}\n`);
    else process.stdout.write(`${renderSummary(run, source)}\n${findings ? `\n${renderPreflight(findings, { allowNotChecked: args.allowSkipped })}\n` : ""}`);
    return exitCode;
}

/** Checks the plan against the real clouds, read-only: each cloud its VMs, the clouds at once. */
async function preflight(run: Awaited<ReturnType<typeof runOffline>>, config: StackConfig, stackFile: string): Promise<PreflightFinding[]> {
    const needs = new Map<string, PreflightNeed>();
    for (const [cloud, vms] of preflightVms(run)) {
        const built = paths.find((p) => p.identity.cloud === cloud)!;
        needs.set(cloud, { config: built.configure(configSourceOf(config), stackFile), vms });
    }
    const processes = Math.max(1, Math.min(64, Number(process.env.BOOTLOOP_MAX_CLI_PROCESSES) || defaultCliProcesses(os.cpus().length)));
    return runPreflight(preflights, needs, new PreflightGate(new DiscoveryGate(cloudWatches, processes)));
}

// exitCode, not exit(): a large plan on a pipe (`--json | jq`) must be written out before the
// process ends; exit() right after the write cut it at 64 KB.
main().then(
    (code) => void (process.exitCode = code),
    (err) => {
        process.stderr.write(`${err instanceof InputError ? err.message : `error: ${err instanceof Error ? err.message : String(err)}`}\n`);
        // Exit 2 is for bad arguments only (answered in main): anything else that stops the plan
        // is invalid input or a failure of the plan itself, exit 1.
        process.exitCode = 1;
    },
);
