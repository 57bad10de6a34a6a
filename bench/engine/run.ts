// `npm run bench -- --fleet N --engine`: ONE real-engine `up` of an N-VM mixed sandbox fleet (K VMs
// made never to boot) with the policy pack and `npm run watch` reading its events, everything inside
// a cgroup sized like a runner (scripts/sandbox/runner-cgroup.sh), each stand-in CLI call spending
// what the real CLI spends on its shape (bench/engine/bin, spend.js). Then it reads what the run
// left: the cgroup's figures, the stack's `vms` output, the CLIs' call logs, the wrappers' spend log
// and the engine's events, and judges the bounds (bounds.ts).
import { benchPollSeconds } from "./poll";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startApiFront } from "../../sandbox/api/start";
import { SandboxLayout } from "../../sandbox/layout";
import { sandboxEnv } from "../../sandbox/run";
import { RequestFigures, scopeTotals, stackLockTakeovers, stackRequestFigures } from "../../sandbox/world/requests";
import { CliCost } from "../fleet/cli-cost-prices";
import { EngineBenchArgs, RUNNERS } from "./args";
import { BoundInput, Verdict, exitCodeOf, verdicts } from "./bounds";
import { GateQueues, gateQueues } from "./gate-queue";
import { CLIS, CloudCalls, SpendSummary, countCalls, readIfThere, summarizeSpend } from "./calls";
import { engineFleet, writeEngineStack } from "./fleet";
import { Outcomes, VmRecordLike, outcomesOf } from "./outcomes";
import { SpendSettings, priceTable } from "./spend";
import { StepTimes, stepTimes } from "./timeouts";
import { programNodeArgs } from "../../components/tools/node-args";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** The run could not be measured here (a runner larger than the machine, no cgroup): no figure is given. */
export class NotMeasurable extends Error {
    override name = "NotMeasurable";
}

/** What every bench run says of where and how it ran (the engine bench's and the shards bench's). */
export interface BenchRunHeader {
    /** The commit the tree was at, and whether the tree held uncommitted changes to tracked files. */
    commit: string;
    /** Tracked files changed since the commit (the run measured them too). */
    uncommittedChanges: boolean;
    /** The machine: its name (BENCH_MACHINE, else the host's), cores, memory, and its 1-minute load before and after (others' work on it). */
    machine: { name: string; cores: number; memoryMb: number; loadAverage1m: { before: number; after: number } };
    /** The runner imitated (for the shards bench, each shard's: each in a cgroup of its own): its name, CPUs (the cgroup's CPU quota) and memory (its limit), MB. */
    runner: { name: string; cpus: number; memoryMb: number };
    /** VMs in the fleet. */
    vms: number;
    /** VMs made never to boot ("cloud name"). */
    bad: string[];
    /** How the fleet's VMs are placed over the clouds' scopes, in words (EngineFleet.placement). */
    placement?: string;
    /** The CLI calls' spend scale, the synchronous calls' hold range (s) and its seed. */
    spend: { scale: number; hold: [number, number]; seed: string };
    /** Seconds between two looks of the watcher at one group of waits (POLL_SECONDS, ./poll.ts). */
    watcherPollSeconds: number;
    /** The cgroup's figures: wall, CPU (in all and per VM), peak memory, OOM kills, CPU quota throttles (for the shards bench, the K runners' together: CPU summed, the largest peak, the whole run's wall); absent when not taken. */
    runnerFigures?: RunnerFigures;
    /** Why the figures are absent. */
    notMeasured?: string;
}

/** What the runner's cgroup measured. */
export interface RunnerFigures {
    wallSeconds: number;
    cpuSeconds: number;
    cpuPerVm: number;
    peakMb: number;
    oomKills: number;
    throttledPeriods: number;
    cgroup: string;
}

/** What one engine-bench run measured and found. */
export interface EngineBenchResult extends BenchRunHeader {
    /** The `--parallel` the up ran with (from `npm run plan`, as the runbook says). */
    parallel: number;
    /** Exit codes: the up's and the watch's (undefined when they did not run). */
    exits: { up?: number; watch?: number };
    /** The VMs' outcomes (from the stack's `vms` output). */
    outcomes?: Outcomes;
    /** CLI calls per cloud (from the stand-ins' call logs). */
    calls: Record<string, CloudCalls>;
    /** What the wrappers spent for the CLI calls. */
    cliSpend: SpendSummary;
    /**
     * What the sandbox's stand-in API front spent answering the watcher's API requests (itself and
     * the stand-in it runs per request: the simulated cloud's work, which no runner does). It runs
     * beside the runner's cgroup, so none of it is in the cgroup's figures; absent when its figures
     * were not written.
     */
    apiFront?: { selfSeconds: number; childrenSeconds: number; requests: number };
    /** Where the CLI prices came from. */
    cliCostSource: string;
    /** The command steps against their customTimeouts (from the engine's events). */
    steps?: StepTimes;
    /** The command steps' time queued at the watcher's gate (from their gate lines in the engine's events). */
    gate?: GateQueues;
    /** API requests the simulated clouds answered (providers' and CLIs'), per cloud, scope and class. */
    requests: RequestFigures[];
    /** API requests per VM, per cloud (every scope of it). */
    requestsPerVm: Record<string, number>;
    /** The bounds' verdicts. */
    verdicts: Verdict[];
    /** The run's folder, when kept (--keep). */
    runDir?: string;
}

/** Runs git in the project and returns its output; throws when it fails. */
export function git(args: string[]): string {
    const r = spawnSync("git", args, { cwd: PROJECT_DIR, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr.trim()}`);
    return r.stdout.trim();
}

/** Runs a node entry point of the project (ts-node) and returns its output. */
export function nodeRun(file: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [...programNodeArgs(), "-r", "ts-node/register/transpile-only", file, ...args], {
        cwd: PROJECT_DIR,
        env,
        encoding: "utf8",
        maxBuffer: 1 << 30,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The `--parallel` `npm run plan` gives for the stack (its GitHub output's parallel=). */
export function plannedParallel(stack: string, watchDir: string, runDir: string): number {
    const output = path.join(runDir, "plan-output");
    fs.writeFileSync(output, "");
    const r = nodeRun("cli/plan.ts", ["--stack", stack, "--github-output"], {
        ...process.env,
        BOOTLOOP_STACK_DIR: watchDir,
        GITHUB_OUTPUT: output,
    });
    const m = /^parallel=(\d+)$/m.exec(fs.readFileSync(output, "utf8"));
    if (r.status !== 0 || !m) throw new Error(`npm run plan -- --stack ${stack} failed (${r.status}): ${r.stderr.trim().slice(-2000)}`);
    return Number(m[1]);
}

/** Runs a command and resolves with its exit code; its output goes to stderr (stdout stays the bench's). */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd: PROJECT_DIR, env, stdio: ["ignore", 2, 2] });
        child.on("error", reject);
        child.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
}

/** Refuses a runner this machine cannot imitate: never a figure it did not take. */
export function checkRunnerFits(
    runner: { cpus: number; memoryMb: number },
    name: string,
    cores = os.cpus().length,
    memoryMb = os.totalmem() / 1048576,
): void {
    if (runner.cpus > cores)
        throw new NotMeasurable(
            `a ${name} runner (${runner.cpus} CPUs) is larger than this machine (${cores} CPUs): its figures cannot be taken here`,
        );
    if (runner.memoryMb > memoryMb)
        throw new NotMeasurable(
            `a ${name} runner (${runner.memoryMb} MB) is larger than this machine (${Math.floor(memoryMb)} MB): its figures cannot be taken here`,
        );
}

/** Runs the engine bench once; `log` says what it is doing (stderr). */
export async function runEngineBench(args: EngineBenchArgs, log: (line: string) => void): Promise<EngineBenchResult> {
    const runner = RUNNERS[args.runner];
    checkRunnerFits(runner, args.runner);
    const cost = CliCost.load();
    const fleet = engineFleet(args.n, args.bad, args.scopes === undefined ? {} : { scopes: args.scopes });
    const stack = `engine${args.n}`;
    fs.mkdirSync(path.join(PROJECT_DIR, ".bench", "engine"), { recursive: true });
    const runDir = fs.mkdtempSync(path.join(PROJECT_DIR, ".bench", "engine", `${stack}-`));
    try {
        const folders = writeEngineStack(runDir, stack, fleet, PROJECT_DIR);
        const sandboxDir = path.join(runDir, "sandbox");
        const settings: SpendSettings = { table: priceTable(cost.file), scale: args.spendScale, hold: args.hold, seed: args.seed };
        const settingsFile = path.join(runDir, "cli-prices.json");
        fs.writeFileSync(settingsFile, JSON.stringify(settings));
        const spendLog = path.join(runDir, "spend.log");
        fs.writeFileSync(spendLog, "");
        const parallel = plannedParallel(stack, folders.watch, runDir);
        const commit = git(["rev-parse", "HEAD"]);
        const uncommittedChanges = git(["status", "--porcelain", "--untracked-files=no"]) !== "";
        const loadBefore = os.loadavg()[0];
        log(
            `engine bench: ONE up of ${args.n} VMs (${args.bad} never booting; ${fleet.placement}) in a ${args.runner} cgroup, --parallel ${parallel}, CLI calls at ${args.spendScale} of the real CLIs' cost; folder ${path.relative(PROJECT_DIR, runDir)}`,
        );
        const env: NodeJS.ProcessEnv = {
            ...process.env,
            SANDBOX_DIR: sandboxDir,
            SANDBOX_STACKS: folders.stacks,
            SANDBOX_CLI_WRAPPERS: path.join(__dirname, "bin"),
            // The clouds' request budgets in real time, the watcher's and the simulated clouds'
            // alike (the calls take the real CLIs' time); cloud waits stay compressed.
            BOOTLOOP_RATE_SCALE: "1",
            // The watcher looks as often, in the sandbox's shortened waits, as at its default in real ones (./poll.ts).
            POLL_SECONDS: benchPollSeconds(process.env),
            BENCH_ENGINE_COSTS: settingsFile,
            // How the simulated cloud's API front holds GCP's synchronous operations (spend.js's holdSeconds).
            BENCH_ENGINE_HOLDS: path.join(__dirname, "spend.js"),
            BENCH_ENGINE_SPEND_LOG: spendLog,
            INIT_CWD: PROJECT_DIR,
        };
        // The simulated cloud's API (the stand-in front, answering from the stand-ins in its own process) runs
        // beside the runner's cgroup, not in it: a real runner's requests cost it only what the
        // watcher spends making them, which the cgroup counts.
        const layout = new SandboxLayout(sandboxDir, [folders.stacks]);
        fs.mkdirSync(layout.stackDir(stack), { recursive: true });
        const apiFront = startApiFront(sandboxEnv(layout, stack, env), layout.stackDir(stack));
        let r: Awaited<ReturnType<typeof runInRunnerCgroup>>;
        try {
            r = await runInRunnerCgroup(
                runner,
                path.join(runDir, "runner.json"),
                [path.join(__dirname, "up-job.sh"), stack, String(parallel), `${runDir}/`, path.join(runDir, "watch")],
                { ...env, SANDBOX_API_FRONT: path.join(layout.stackDir(stack), "api-front.json") },
            );
        } finally {
            apiFront.stop();
        }
        const loadAfter = os.loadavg()[0];
        const exitsText = readIfThere(path.join(runDir, "exits.json"));
        const exits = exitsText ? (JSON.parse(exitsText) as { up: number; watch: number }) : undefined;

        let outcomes: Outcomes | undefined;
        const out = nodeRun("sandbox/run.ts", ["stack", "output", "vms", "--json", "--stack", stack], env);
        if (out.status === 0) outcomes = outcomesOf(JSON.parse(out.stdout) as Record<string, VmRecordLike>, fleet.vms, fleet.bad);
        else log(`engine bench: the stack's vms output could not be read (${out.status}): ${out.stderr.trim().slice(-500)}`);

        const logs = Object.fromEntries(
            (Object.keys(CLIS) as (keyof typeof CLIS)[]).map((cli) => [cli, readIfThere(layout.callLog(stack, cli))]),
        );
        // The watcher's API requests went through the stand-ins too: the front's log tells them apart.
        const apiLog = readIfThere(path.join(layout.stackDir(stack), "api-calls.log"));
        if (apiLog === undefined) log("engine bench: the API front's log is missing: every stand-in call counts as a CLI call");
        const calls = countCalls(logs, (cloud) => fleet.vms.filter((v) => v.cloud === cloud).length, apiLog);
        const cliSpend = summarizeSpend(fs.readFileSync(spendLog, "utf8"));
        const frontText = readIfThere(path.join(layout.stackDir(stack), "api-front-cpu.json"));
        const front = frontText ? (JSON.parse(frontText) as { self: number; children: number; requests: number }) : undefined;
        if (!front) log("engine bench: the API front wrote no CPU figures: its share of the CPU is not known");
        const events = readIfThere(path.join(runDir, "events.json"));
        const steps = events ? stepTimes(events) : undefined;
        const gate = events ? gateQueues(events) : undefined;
        const requests = stackRequestFigures(layout, stack);
        const scopes = scopeTotals(requests);
        const requestsPerVm: Record<string, number> = {};
        for (const s of scopes) requestsPerVm[s.cloud] = (requestsPerVm[s.cloud] ?? 0) + s.requests;
        for (const cloud of Object.keys(requestsPerVm))
            requestsPerVm[cloud] /= Math.max(1, fleet.vms.filter((v) => v.cloud === cloud).length);
        const input: BoundInput = {
            vms: args.n,
            bad: args.bad,
            spendScale: args.spendScale,
            outcomes,
            steps,
            gate,
            runner: r,
            watchExit: exits?.watch,
            requests,
            lockTakeovers: stackLockTakeovers(layout, stack),
            expectedScopes: fleet.scopes,
        };
        return {
            ...runHeader({ commit, uncommittedChanges, loadBefore, loadAfter, args, runner, fleet, figures: r }),
            parallel,
            exits: { up: exits?.up, watch: exits?.watch },
            outcomes,
            calls,
            cliSpend,
            ...(front ? { apiFront: { selfSeconds: front.self, childrenSeconds: front.children, requests: front.requests } } : {}),
            cliCostSource: cost.source(),
            steps,
            gate,
            requests,
            requestsPerVm,
            verdicts: verdicts(input),
            runDir: args.keep ? runDir : undefined,
        };
    } finally {
        if (!args.keep) fs.rmSync(runDir, { recursive: true, force: true });
    }
}

/** The bench's exit code for a result: 3 a bound failed, 4 one not checked (or nothing measured), 0 all passed. */
export function engineExitCode(r: EngineBenchResult): 0 | 3 | 4 {
    return exitCodeOf(r.verdicts);
}

/** What scripts/sandbox/runner-cgroup.sh reports of the cgroup it ran a job in. */
export interface CgroupReport {
    cgroup: string;
    wallSeconds: number;
    cpuSeconds: number;
    peakMb: number;
    oomKills: number;
    throttledPeriods: number;
}

/**
 * Runs `job` (a bash script and its arguments) in a cgroup sized like `runner`
 * (scripts/sandbox/runner-cgroup.sh, its report written to `report`); resolves with the cgroup's
 * figures, or undefined when the report is missing (not measured: never a figure).
 */
export async function runInRunnerCgroup(
    runner: { cpus: number; memoryMb: number },
    report: string,
    job: string[],
    env: NodeJS.ProcessEnv,
): Promise<CgroupReport | undefined> {
    await run(
        "bash",
        [
            path.join(PROJECT_DIR, "scripts/sandbox/runner-cgroup.sh"),
            "--cpus",
            String(runner.cpus),
            "--memory-mb",
            String(runner.memoryMb),
            "--report",
            report,
            "--",
            "bash",
            ...job,
        ],
        env,
    );
    const text = readIfThere(report);
    return text ? (JSON.parse(text) as CgroupReport) : undefined;
}

/** A run's header: where and how it ran (commit, machine, runner, fleet, spend) and the cgroup's figures, or why there are none. */
export function runHeader(x: {
    commit: string;
    uncommittedChanges: boolean;
    loadBefore: number;
    loadAfter: number;
    args: Pick<EngineBenchArgs, "runner" | "n" | "spendScale" | "hold" | "seed">;
    runner: { cpus: number; memoryMb: number };
    fleet: { bad: { cloud: string; name: string }[]; placement?: string };
    figures: CgroupReport | undefined;
}): BenchRunHeader {
    const r = x.figures;
    return {
        commit: x.commit,
        uncommittedChanges: x.uncommittedChanges,
        machine: {
            name: process.env.BENCH_MACHINE || os.hostname(),
            cores: os.cpus().length,
            memoryMb: Math.round(os.totalmem() / 1048576),
            loadAverage1m: { before: x.loadBefore, after: x.loadAfter },
        },
        runner: { name: x.args.runner, ...x.runner },
        vms: x.args.n,
        bad: x.fleet.bad.map((v) => `${v.cloud} ${v.name}`),
        ...(x.fleet.placement === undefined ? {} : { placement: x.fleet.placement }),
        spend: { scale: x.args.spendScale, hold: x.args.hold, seed: x.args.seed },
        watcherPollSeconds: Number(benchPollSeconds(process.env)),
        runnerFigures: r && {
            wallSeconds: r.wallSeconds,
            cpuSeconds: r.cpuSeconds,
            cpuPerVm: r.cpuSeconds / x.args.n,
            peakMb: r.peakMb,
            oomKills: r.oomKills,
            throttledPeriods: r.throttledPeriods,
            cgroup: r.cgroup,
        },
        notMeasured: r ? undefined : "the runner's cgroup figures were not taken (runner-cgroup.sh said why above)",
    };
}
