// `npm run bench -- --fleet N --engine --shards K`: the sandbox's mixed fleet of N VMs with every VM
// of a cloud in one scope, split by the real `npm run shard` into K shards (plan.ts, split.ts), the
// K shard stacks put on ONE simulated world (`npm run sandbox -- share-world`), and their K real-engine
// `up`s run AT ONCE, each with its own `npm run watch` in a runner cgroup of its own (bench/engine/up-job.sh in
// scripts/sandbox/runner-cgroup.sh), as CI runs each shard as a job on a runner of its own. Then it
// reads what the run left: each runner's figures, each shard's exit codes and `vms` output, the shared
// world's request counts per scope and class, the wrappers' spend log, the machine's OOM kills; and
// judges (verdicts.ts). K runners may add up to more than this machine has: they then share it
// (machine.ts), which the result says.
import { benchPollSeconds } from "../poll";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SandboxLayout } from "../../../sandbox/layout";
import { scopeTotals, stackLockTakeovers, stackRequestFigures } from "../../../sandbox/world/requests";
import { CliCost } from "../../fleet/cli-cost-prices";
import { EngineBenchArgs, RUNNERS } from "../args";
import { Verdict, exitCodeOf } from "../bounds";
import { SpendSummary, readIfThere, summarizeSpend } from "../calls";
import { EngineFleet, engineFleet } from "../fleet";
import { VmRecordLike, outcomesOf } from "../outcomes";
import { BenchRunHeader, RunnerFigures, checkRunnerFits, git, nodeRun, plannedParallel, runHeader, runInRunnerCgroup } from "../run";
import { gateQueues } from "../gate-queue";
import { SpendSettings, priceTable } from "../spend";
import { stepTimes } from "../timeouts";
import { MachineShare, allShardsFigures, machineOomKills, machineShare } from "./machine";
import { ShardPlan, planShardSplit } from "./plan";
import { BenchShard, splitFleet } from "./split";
import {
    ScopeBudget,
    ShardRun,
    budgetVerdict,
    scopeBudgets,
    shardMemoryVerdict,
    shardGateVerdict,
    shardStepsVerdict,
    shardWatchVerdict,
    shardsVerdict,
} from "./verdicts";

const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..");

/** What one shards-bench run measured and found. */
export interface ShardsBenchResult extends BenchRunHeader {
    /** The split: npm run shard's --max-vms, shards per cloud. */
    split: { maxVms: number; shardsPerCloud: Record<string, number> };
    /** Each shard: its VMs, bad ones, rateShare, --parallel, exit codes, outcomes and its own runner's figures. */
    shards: (ShardRun & { parallel: number })[];
    /** The K runners' limits added up against this machine: `shared` when they add up to more than it has. */
    machineShare: MachineShare;
    /** The K runners' limits add up to more CPUs or memory than this machine has: they shared it (slower, lower request rates than K real runners). */
    machineShared: boolean;
    /** Processes any OOM killer ended on the machine during the K runs (/proc/vmstat oom_kill, after − before); absent when not read. */
    machineOomKills?: number;
    /** The shared world's API requests per scope and class (every shard's, the providers' and the CLIs'). */
    budgets?: ScopeBudget[];
    /** Times a world's lock was taken over from a stale holder (counts may be lost: the budget is then not checked). */
    lockTakeovers: number;
    /** API requests per VM, per cloud. */
    requestsPerVm: Record<string, number>;
    /** What the wrappers spent for the CLI calls, and where the prices came from. */
    cliSpend: SpendSummary;
    cliCostSource: string;
    /** The verdicts: the scopes' budgets, the shards' outcomes, steps, gate queues and watches, each runner's memory. */
    verdicts: Verdict[];
    /** The run's folder, when kept (--keep). */
    runDir?: string;
}

/**
 * The fleet and its split, worked out before anything runs: every VM of a cloud in one scope, K
 * shards by cloud, the VMs made never to boot chosen among those that lead no shard. Throws an
 * Error naming --shards or --bad when the fleet cannot be split so (bench.ts says it as an argument error).
 */
export function shardsFleet(n: number, bad: number, k: number): { fleet: EngineFleet; plan: ShardPlan } {
    const plan = planShardSplit(
        engineFleet(n, 0, { oneScope: true }).vms.map((v) => v.cloud),
        k,
    );
    return { fleet: engineFleet(n, bad, { oneScope: true }, plan.leaders), plan };
}

/** The JSON a shard's job left, or undefined. */
function readJson<T>(file: string): T | undefined {
    const text = readIfThere(file);
    return text ? (JSON.parse(text) as T) : undefined;
}

/**
 * What up-job.sh left in `runDir` for the shard `name`, each when it is there: its `up`'s and watch's
 * exit codes (`<name>.exits.json`), and from its engine events (`<name>.events.json`, tee's copy)
 * its command steps against their customTimeouts and their time queued at the gate.
 */
export function shardJobFiles(runDir: string, name: string): Pick<ShardRun, "exits" | "steps" | "gate"> {
    const exits = readJson<{ up: number; watch: number }>(path.join(runDir, `${name}.exits.json`));
    const events = readIfThere(path.join(runDir, `${name}.events.json`));
    return {
        ...(exits ? { exits: { up: exits.up, watch: exits.watch } } : {}),
        ...(events ? { steps: stepTimes(events), gate: gateQueues(events) } : {}),
    };
}

/** A shard's runner figures from runner-cgroup.sh's report `file`, CPU per VM of its `vms`; undefined when not written. */
export function shardRunnerFigures(file: string, vms: number): RunnerFigures | undefined {
    const r = readJson<RunnerFigures>(file);
    return (
        r && {
            wallSeconds: r.wallSeconds,
            cpuSeconds: r.cpuSeconds,
            cpuPerVm: r.cpuSeconds / Math.max(1, vms),
            peakMb: r.peakMb,
            oomKills: r.oomKills,
            throttledPeriods: r.throttledPeriods,
            cgroup: r.cgroup,
        }
    );
}

/** Runs the shards bench once; `log` says what it is doing (stderr). */
export async function runShardsBench(args: EngineBenchArgs & { shards: number }, log: (line: string) => void): Promise<ShardsBenchResult> {
    const runner = RUNNERS[args.runner];
    checkRunnerFits(runner, args.runner);
    const cost = CliCost.load();
    const { fleet, plan } = shardsFleet(args.n, args.bad, args.shards);
    const name = `shards${args.n}`;
    fs.mkdirSync(path.join(PROJECT_DIR, ".bench", "engine"), { recursive: true });
    const runDir = fs.mkdtempSync(path.join(PROJECT_DIR, ".bench", "engine", `${name}x${args.shards}-`));
    try {
        const shards: BenchShard[] = splitFleet(runDir, name, fleet, plan, args.shards, PROJECT_DIR);
        const splitDir = path.join(runDir, "split");
        const sandboxDir = path.join(runDir, "sandbox");
        const env: NodeJS.ProcessEnv = {
            ...process.env,
            SANDBOX_DIR: sandboxDir,
            SANDBOX_STACKS: path.join(runDir, "stacks"),
            SANDBOX_CLI_WRAPPERS: path.join(__dirname, "..", "bin"),
            // The clouds' request budgets in real time, the watchers' and the simulated clouds' alike.
            BOOTLOOP_RATE_SCALE: "1",
            // The watcher looks as often, in the sandbox's shortened waits, as at its default in real ones (../poll.ts).
            POLL_SECONDS: benchPollSeconds(process.env),
            BENCH_ENGINE_COSTS: path.join(runDir, "cli-prices.json"),
            BENCH_ENGINE_HOLDS: path.join(__dirname, "..", "spend.js"),
            BENCH_ENGINE_SPEND_LOG: path.join(runDir, "spend.log"),
            INIT_CWD: PROJECT_DIR,
        };
        const settings: SpendSettings = { table: priceTable(cost.file), scale: args.spendScale, hold: args.hold, seed: args.seed };
        fs.writeFileSync(env.BENCH_ENGINE_COSTS!, JSON.stringify(settings));
        fs.writeFileSync(env.BENCH_ENGINE_SPEND_LOG!, "");
        const shared = nodeRun("sandbox/run.ts", ["share-world", name, ...shards.map((s) => s.name)], env);
        if (shared.status !== 0)
            throw new Error(`npm run sandbox -- share-world failed (${shared.status}): ${shared.stderr.trim().slice(-2000)}`);
        const parallel = new Map(shards.map((s) => [s.name, plannedParallel(s.name, splitDir, runDir)]));
        const commit = git(["rev-parse", "HEAD"]);
        const uncommittedChanges = git(["status", "--porcelain", "--untracked-files=no"]) !== "";
        const share = machineShare(args.shards, runner, os.cpus().length, os.totalmem() / 1048576);
        const loadBefore = os.loadavg()[0];
        log(
            `shards bench: ${args.shards} ups AT ONCE of ${args.n} VMs in all (${args.bad} never booting; one scope per cloud; npm run shard --max-vms ${plan.maxVms}), each in a ${args.runner} runner cgroup of its own, CLI calls at ${args.spendScale} of the real CLIs' cost; folder ${path.relative(PROJECT_DIR, runDir)}`,
        );
        if (share.shared)
            log(
                `shards bench: the ${args.shards} runners' limits (${share.runnersCpus} CPUs, ${share.runnersMemoryMb} MB) add up to more than this machine has: they share it`,
            );
        const oomBefore = machineOomKills(readIfThere("/proc/vmstat"));
        const started = process.hrtime.bigint();
        // All K at once, each in a cgroup of its own (runner-cgroup.sh names each by its own process id).
        await Promise.all(
            shards.map((s) =>
                runInRunnerCgroup(
                    runner,
                    path.join(runDir, `${s.name}.runner.json`),
                    [
                        path.join(__dirname, "..", "up-job.sh"),
                        s.name,
                        String(parallel.get(s.name)),
                        `${path.join(runDir, s.name)}.`,
                        splitDir,
                    ],
                    env,
                ),
            ),
        );
        const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        const oomAfter = machineOomKills(readIfThere("/proc/vmstat"));
        const loadAfter = os.loadavg()[0];

        const runs = shards.map((s) => {
            const out = nodeRun("sandbox/run.ts", ["stack", "output", "vms", "--json", "--stack", s.name], env);
            if (out.status !== 0)
                log(`shards bench: ${s.name}'s vms output could not be read (${out.status}): ${out.stderr.trim().slice(-500)}`);
            return {
                name: s.name,
                vms: s.vms.length,
                bad: s.bad.length,
                ...(s.rateShare === undefined ? {} : { rateShare: s.rateShare }),
                parallel: parallel.get(s.name)!,
                ...shardJobFiles(runDir, s.name),
                ...withRunner(shardRunnerFigures(path.join(runDir, `${s.name}.runner.json`), s.vms.length)),
                ...(out.status === 0 ? { outcomes: outcomesOf(JSON.parse(out.stdout) as Record<string, VmRecordLike>, s.vms, s.bad) } : {}),
            };
        });

        // Every shard's stand-ins and providers wrote the one shared world: any member reads it whole.
        const layout = new SandboxLayout(sandboxDir, [env.SANDBOX_STACKS!]);
        const rows = stackRequestFigures(layout, shards[0].name);
        const budgets = rows.length ? scopeBudgets(rows) : undefined;
        const lockTakeovers = stackLockTakeovers(layout, shards[0].name);
        const expectedScopes = [...new Set(shards.flatMap((s) => s.scopes))];
        const requestsPerVm: Record<string, number> = {};
        for (const s of scopeTotals(rows)) requestsPerVm[s.cloud] = (requestsPerVm[s.cloud] ?? 0) + s.requests;
        for (const cloud of Object.keys(requestsPerVm))
            requestsPerVm[cloud] /= Math.max(1, fleet.vms.filter((v) => v.cloud === cloud).length);

        const all = allShardsFigures(runs, wallSeconds);
        const machineOom = oomBefore === undefined || oomAfter === undefined ? undefined : oomAfter - oomBefore;
        const header = runHeader({ commit, uncommittedChanges, loadBefore, loadAfter, args, runner, fleet, figures: all.figures });
        return {
            ...header,
            ...(all.figures
                ? {}
                : { notMeasured: `the runner figures of ${all.missing.join(", ")} were not taken (runner-cgroup.sh said why above)` }),
            machineShare: share,
            machineShared: share.shared,
            ...(machineOom === undefined ? {} : { machineOomKills: machineOom }),
            split: { maxVms: plan.maxVms, shardsPerCloud: plan.shardsPerCloud },
            shards: runs,
            budgets,
            requestsPerVm,
            cliSpend: summarizeSpend(fs.readFileSync(env.BENCH_ENGINE_SPEND_LOG!, "utf8")),
            cliCostSource: cost.source(),
            lockTakeovers,
            verdicts: [
                budgetVerdict(budgets, { expectedScopes, lockTakeovers }),
                shardsVerdict(runs),
                shardStepsVerdict(runs),
                shardGateVerdict(runs),
                shardWatchVerdict(runs),
                shardMemoryVerdict(runs, args.spendScale, { shared: share.shared, oomKills: machineOom }),
            ],
            runDir: args.keep ? runDir : undefined,
        };
    } finally {
        if (!args.keep) fs.rmSync(runDir, { recursive: true, force: true });
    }
}

/** `{ runner }` when the figures were read, else nothing (the field stays absent). */
function withRunner(runner: RunnerFigures | undefined): { runner?: RunnerFigures } {
    return runner ? { runner } : {};
}

/** The bench's exit code: 3 a bound failed, 4 one not checked, 0 all passed. */
export function shardsExitCode(r: ShardsBenchResult): 0 | 3 | 4 {
    return exitCodeOf(r.verdicts);
}
