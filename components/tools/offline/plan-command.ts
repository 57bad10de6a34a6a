// `npm run plan`: the offline plan of a stack or an inventory file (the real program under
// Pulumi's mocks: no Pulumi CLI, no credentials, no cloud), and with --preflight its read-only
// checks against the real clouds.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CloudIdentity } from "../../core/contract/identity";
import { CloudPath } from "../../core/contract/cloud-path";
import { NAMESPACE } from "../../core/contract/settings";
import { defaultCliProcesses } from "../../gate/defaults";
import { ArgumentError, CommandContext, stackName } from "../command-contract";
import { inertJson } from "../display-text";
import { DiscoveryGate } from "../discovery/cli";
import { PreflightGate } from "../preflight/cli";
import { PreflightVerdict, preflightOutcome, preflightVms, renderPreflight, runPreflight } from "../preflight/run";
import { CloudPreflight, PreflightFinding, PreflightNeed } from "../preflight/types";
import { recommendedParallel } from "./fleet";
import { planDocument, renderSummary } from "./render";
import { OfflineRun, runOffline } from "./run";
import { StackConfig, configSourceOf, readStackConfig } from "./stack-config";

/** What `npm run plan` was asked for. */
export interface PlanCommandArgs {
    /** The stack (`Pulumi.<stack>.yaml` and its inventory); `dev` when neither it nor `inventory` is given. */
    stack?: string;
    /** An inventory file with default settings, instead of a stack. */
    inventory?: string;
    /** One JSON document instead of the summary. */
    json: boolean;
    /** Also append parallel= and max-in-flight= to the file GITHUB_OUTPUT names. */
    githubOutput: boolean;
    /** Then check the plan against the real clouds, read-only. */
    preflight: boolean;
    /** Accept preflight checks that could not be made. */
    allowSkipped: boolean;
}

/** The clouds the plan knows (the composition root's), and those the preflight checks through. */
export interface PlanClouds {
    identities: readonly CloudIdentity[];
    paths: readonly CloudPath[];
    preflights: readonly CloudPreflight[];
    /** Each cloud's CLI, as the gate runs it. */
    clis: ConstructorParameters<typeof DiscoveryGate>[0];
}

/**
 * Prints the plan (summary or `--json`) and, with `preflight`, its checks. Ends `ok`, or with
 * the preflight's verdict: `checkFailed` when a check failed, `notChecked` when one could not be
 * made (unless `allowSkipped`). Bad arguments are {@link ArgumentError}s; an invalid inventory or
 * stack file the program's InputError.
 */
export async function runPlanCommand(args: PlanCommandArgs, context: CommandContext, clouds: PlanClouds): Promise<PreflightVerdict> {
    if (args.stack !== undefined && args.inventory !== undefined) throw new ArgumentError("give --stack or --inventory, not both");
    if (args.allowSkipped && !args.preflight) throw new ArgumentError("--allow-skipped only goes with --preflight");
    const stack = args.inventory !== undefined ? "offline" : stackName("--stack", args.stack ?? "dev");
    let config: StackConfig;
    let baseDir = context.stackDir;
    let source: string;
    if (args.inventory !== undefined) {
        // npm runs scripts in the project folder; the inventory is where the user typed the command.
        const inside = !path.isAbsolute(args.inventory) && !args.inventory.split(/[\\/]/).includes("..");
        baseDir = inside ? context.cwd : path.dirname(path.resolve(context.cwd, args.inventory));
        const file = inside ? args.inventory : path.basename(args.inventory);
        config = { values: { [`${NAMESPACE}:inventory`]: file }, secretKeys: [] };
        source = `inventory ${args.inventory} (default settings)`;
    } else {
        config = readStackConfig(context.stackDir, stack);
        source = `stack ${stack} (Pulumi.${stack}.yaml, inventory ${config.values[`${NAMESPACE}:inventory`] ?? "not set"})`;
    }
    const run = await runOffline({ stack, config, baseDir, identities: clouds.identities, paths: clouds.paths, details: args.json });
    if (args.githubOutput) {
        const file = context.env.GITHUB_OUTPUT;
        if (!file) throw new Error("--github-output: GITHUB_OUTPUT is not set (GitHub Actions sets it)");
        fs.appendFileSync(
            file,
            `parallel=${recommendedParallel(run.result.plan, run.settings.maxInFlight)}\nmax-in-flight=${run.settings.maxInFlight}\n`,
        );
    }
    const findings = args.preflight ? await preflight(run, config, `Pulumi.${stack}.yaml`, clouds, context.env) : undefined;
    if (args.json)
        context.stdout.write(`${inertJson({ ...planDocument(run, source), ...(findings ? { preflight: findings } : {}) }, 2)}\n`);
    else
        context.stdout.write(
            `${renderSummary(run, source)}\n${findings ? `\n${renderPreflight(findings, { allowNotChecked: args.allowSkipped })}\n` : ""}`,
        );
    return findings ? preflightOutcome(findings, { allowNotChecked: args.allowSkipped }).outcome : "ok";
}

/** Checks the plan against the real clouds, read-only: each cloud its VMs, the clouds at once. */
async function preflight(
    run: OfflineRun,
    config: StackConfig,
    stackFile: string,
    clouds: PlanClouds,
    env: CommandContext["env"],
): Promise<PreflightFinding[]> {
    const needs = new Map<string, PreflightNeed>();
    for (const [cloud, vms] of preflightVms(run)) {
        const built = clouds.paths.find((p) => p.identity.cloud === cloud)!;
        needs.set(cloud, { config: built.configure(configSourceOf(config), stackFile), vms });
    }
    const processes = Math.max(1, Math.min(64, Number(env.BOOTLOOP_MAX_CLI_PROCESSES) || defaultCliProcesses(os.cpus().length)));
    return runPreflight(clouds.preflights, needs, new PreflightGate(new DiscoveryGate(clouds.clis, processes)));
}
