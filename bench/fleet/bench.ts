// The fleet benchmark: the real repair and swap step scripts (2 of a chain's 6 steps; the others are
// the providers' work) and the watcher they start, for N VMs, at most maxInFlight chains at once,
// against the fake cloud (fake-cloud.ts) through the stand-in CLIs in bin/, in compressed time,
// with throttling injected and VMs that never boot. Its CPU per VM is an estimate (each CLI call
// priced at what the real CLI spends on that call shape, as bench/fleet/cli-cost.json measured it,
// plus what the scripts and watcher measured); what a real `pulumi up` costs
// is measured in the sandbox (scripts/sandbox/measure.sh, docs/sandbox.md#measured).
//
//   npm run bench -- --fleet N [--cloud aws|azure|gcp|mixed] [--json] [--time-scale X]
//                    [--throttle SHARE] [--max-in-flight N]
import { ownFailure } from "../../components/tools/progress/progress";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsScript } from "../../components/aws/scripts";
import { azureScript } from "../../components/azure/scripts";
import { defaultMaxInFlight } from "../../components/core/settings";
import { Semaphore } from "../../components/gate/limits";
import { DEFAULT_POLL_SECONDS } from "../../components/gate/defaults";
import { gcpScript } from "../../components/gcp/scripts";
import { CliCost } from "./cli-cost-prices";
import { DURATIONS, FakeCloud, FleetVm, names } from "./fake-cloud";
import { startFleetApi } from "./api-front";

const CLI_OF: Record<FleetVm["cloud"], string> = { aws: "aws", azure: "az", gcp: "gcloud" };
const CLOUDS: FleetVm["cloud"][] = ["aws", "azure", "gcp"];

export interface FleetOptions {
    vms: number;
    cloud: FleetVm["cloud"] | "mixed";
    /** Cloud seconds per runner second. */
    timeScale: number;
    /** Share of calls the fake cloud throttles. */
    throttleShare: number;
    /** VM chains at once (as `maxInFlight`). */
    maxInFlight: number;
    /** One VM in this many never boots on its fixed disk. */
    neverBootEvery: number;
}

export interface FleetResult {
    vms: number;
    clouds: Partial<
        Record<FleetVm["cloud"], { vms: number; recovered: number; cliCallsPerVm: number; cpuSecondsPerVm: number; throttledCalls: number }>
    >;
    peakCliProcesses: number;
    peakRunnerMb: number;
    failedChains: { vm: string; reason: string }[];
    wallSeconds: number;
    /** Runner CPU measured outside the CLIs (scripts, watcher, helpers, and the stand-ins themselves), per VM. */
    runnerOverheadCpuSecondsPerVm: number;
    maxInFlight: number;
    timeScale: number;
    throttledShare: number;
    /** Calls per operation, all VMs together. */
    callsByOperation: Record<string, number>;
    /** Requests of the clouds' APIs (the watcher's observations) per CLI they stand for, all VMs together: not CLI calls, not priced. */
    apiRequests?: Record<string, number>;
    /** Where the prices per call come from ("cli-cost.json measured <date> at <commit> …"). */
    cliCostSource: string;
}

/** The VMs of a fleet: clouds in turn (mixed) or one cloud; every `neverBootEvery`-th of a cloud never boots. */
export function fleet(opts: Pick<FleetOptions, "vms" | "cloud" | "neverBootEvery">): FleetVm[] {
    const count: Record<string, number> = {};
    return Array.from({ length: opts.vms }, (_, i) => {
        const cloud = opts.cloud === "mixed" ? CLOUDS[i % 3] : opts.cloud;
        const n = (count[cloud] = (count[cloud] ?? -1) + 1);
        return { cloud, n, neverBoots: n % opts.neverBootEvery === opts.neverBootEvery - 1 };
    });
}

/**
 * The steps of one VM's chain that run scripts, with their environment. Waits are cloud time
 * (compressed); a step's own deadline for retries is runner time, as in a real run (the runner is
 * not faster for the compression: a loaded runner must not fail chains).
 */
function chainSteps(
    vm: FleetVm,
    scaled: (s: number) => string,
): { script: string; env: Record<string, string>; pauseCloudSeconds?: number }[] {
    const n = names(vm) as unknown as Record<string, string>;
    const label = `${vm.cloud} fleet/${vm.n}`;
    const marker = "Windows is Ready to use|Windows is ready";
    switch (vm.cloud) {
        case "aws": {
            const common = { AWS_REGION: "us-east-1", VM_LABEL: label };
            return [
                {
                    script: awsScript("repair"),
                    env: {
                        ...common,
                        RESCUE_INSTANCE_ID: n.rescue,
                        VOLUME_ID: n.scratch,
                        DOCUMENT_NAME: "bootloop-rescue-repair",
                        REPAIR_TIMEOUT_SECONDS: scaled(1800),
                        STEP_TIMEOUT_SECONDS: "2400",
                    },
                },
                {
                    script: awsScript("swap"),
                    env: {
                        ...common,
                        INSTANCE_ID: n.instance,
                        ORIGINAL_VOLUME_ID: n.original,
                        FIXED_VOLUME_ID: n.fixed,
                        ROOT_DEVICE: "/dev/sda1",
                        BOOT_TIMEOUT_SECONDS: scaled(1200),
                        BOOT_MARKER: marker,
                        STEP_TIMEOUT_SECONDS: "3000",
                    },
                },
            ];
        }
        case "azure":
            return [
                {
                    script: azureScript("attach"),
                    env: {
                        RESCUE_VM_ID: n.rescue,
                        DISK_ID: n.scratch,
                        LUN: n.lun,
                        VM_LABEL: label,
                        ATTACH_TIMEOUT_SECONDS: scaled(900),
                        STEP_TIMEOUT_SECONDS: "3600",
                    },
                },
                // The repair itself is a Run Command the provider drives (no CLI call): its time passes.
                {
                    script: azureScript("swap"),
                    env: {
                        SUBSCRIPTION_ID: n.subscription,
                        RESOURCE_GROUP: n.resourceGroup,
                        VM_NAME: n.vmName,
                        ORIGINAL_DISK_ID: n.original,
                        FIXED_DISK_ID: n.fixed,
                        VM_LABEL: label,
                        BOOT_TIMEOUT_SECONDS: scaled(1200),
                        REPAIR_RUN_COMMAND_ID: `${n.rescue}/runCommands/vm-${vm.n}-repair`,
                        STEP_TIMEOUT_SECONDS: "3000",
                    },
                    pauseCloudSeconds: DURATIONS.repair,
                },
            ];
        case "gcp": {
            const common = { PROJECT: n.project, ZONE: n.zone, VM_LABEL: label };
            return [
                {
                    script: gcpScript("repair"),
                    env: {
                        ...common,
                        RESCUE_INSTANCE: n.rescue,
                        DEVICE_NAME: n.device,
                        REPAIR_TIMEOUT_SECONDS: scaled(1800),
                        STEP_TIMEOUT_SECONDS: "2400",
                    },
                },
                {
                    script: gcpScript("swap"),
                    env: {
                        ...common,
                        INSTANCE: n.instance,
                        ORIGINAL_DISK: n.original,
                        FIXED_DISK: n.fixed,
                        BOOT_TIMEOUT_SECONDS: scaled(1200),
                        BOOT_MARKER: marker,
                        STEP_TIMEOUT_SECONDS: "3000",
                    },
                },
            ];
        }
    }
}

/** A step script's end: its exit code, the first line it printed (its report), and its last stderr. */
function run(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child: ChildProcess = spawn("bash", ["-c", script], { env, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        let stdout = "";
        child.stderr!.setEncoding("utf8");
        child.stderr!.on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
        // The report is the first line; the packed evidence after it is not kept.
        child.stdout!.setEncoding("utf8");
        child.stdout!.on("data", (d: string) => {
            if (!stdout.includes("\n") && stdout.length < 16_000) stdout += d;
        });
        child.on("close", (code) => resolve({ code, stdout: stdout.split("\n")[0], stderr }));
    });
}

/** Every process below `roots`, from /proc: pid → [ppid, cmdline]. */
function processTable(): Map<number, { ppid: number; cmd: string }> {
    const table = new Map<number, { ppid: number; cmd: string }>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            table.set(Number(entry), { ppid, cmd: fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ") });
        } catch {
            /* gone meanwhile */
        }
    }
    return table;
}

/** The runner's processes now (the scripts, the watcher, helpers; not the stand-ins, not this harness), their PSS in MB, and the stand-ins alive. */
function sample(harness: number, watcherPid: number | undefined): { runnerMb: number; standIns: number } {
    const table = processTable();
    const children = new Map<number, number[]>();
    for (const [pid, p] of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
    const runner: number[] = [];
    let standIns = 0;
    const stack = [harness, ...(watcherPid ? [watcherPid] : [])];
    const seen = new Set<number>();
    while (stack.length) {
        const pid = stack.pop()!;
        if (seen.has(pid)) continue;
        seen.add(pid);
        stack.push(...(children.get(pid) ?? []));
        if (pid === harness) continue;
        if (table.get(pid)?.cmd.includes("/bench/fleet/bin/")) standIns++;
        else runner.push(pid);
    }
    let kb = 0;
    for (const pid of runner) {
        try {
            kb += Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
        } catch {
            /* gone meanwhile */
        }
    }
    return { runnerMb: kb / 1024, standIns };
}

/** CPU seconds of this process's waited-for children (and theirs). */
function childrenCpuSeconds(): number {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[13]) + Number(f[14])) / 100;
}

export async function runFleet(opts: FleetOptions, cost: CliCost = CliCost.load()): Promise<FleetResult> {
    const projectDir = path.resolve(__dirname, "..", "..");
    const vms = fleet(opts);
    const cloud = new FakeCloud(vms, { timeScale: opts.timeScale, throttleShare: opts.throttleShare, seed: 2024 });
    const server = await cloud.listen();
    // The watcher's observations are requests of the clouds' APIs: answered by the same fake cloud.
    const api = await startFleetApi((cli, argv) => cloud.answer(cli, argv, "api"));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootloop-fleet-"));
    const watchDir = path.join(dir, "watch");
    const scaled = (s: number) => String(Math.max(1, Math.ceil(s / opts.timeScale)));
    const base: NodeJS.ProcessEnv = {
        PATH: `${path.join(__dirname, "bin")}:${process.env.PATH}`,
        HOME: dir,
        FAKE_CLOUD_PORT: String(server.port),
        BOOTLOOP_HOME: projectDir,
        BOOTLOOP_WATCH_DIR: watchDir,
        BOOTLOOP_TIME_SCALE: String(opts.timeScale),
        BOOTLOOP_WATCHER_IDLE_SECONDS: "5",
        POLL_SECONDS: String(DEFAULT_POLL_SECONDS / opts.timeScale),
        STOP_TIMEOUT_SECONDS: scaled(600),
        VOLUME_TIMEOUT_SECONDS: scaled(600),
        ...api.env,
    };
    const started = Date.now();
    const cpuBefore = childrenCpuSeconds();
    let peakRunnerMb = 0;
    let peakStandIns = 0;
    const watcherPid = () => {
        try {
            return Number(fs.readFileSync(path.join(watchDir, "watcher.pid"), "utf8"));
        } catch {
            return undefined;
        }
    };
    const sampler = setInterval(() => {
        const s = sample(process.pid, watcherPid());
        peakRunnerMb = Math.max(peakRunnerMb, s.runnerMb);
        peakStandIns = Math.max(peakStandIns, s.standIns);
    }, 1000);

    const lanes = new Semaphore(opts.maxInFlight);
    const failedChains: { vm: string; reason: string }[] = [];
    const recovered: Record<string, number> = {};
    await Promise.all(
        vms.map(async (vm) => {
            const release = await lanes.acquire();
            try {
                cloud.chainStarted(vm);
                for (const step of chainSteps(vm, scaled)) {
                    if (step.pauseCloudSeconds) await new Promise((r) => setTimeout(r, (step.pauseCloudSeconds! * 1000) / opts.timeScale));
                    const r = await run(step.script, { ...base, ...step.env });
                    if (r.code !== 0) {
                        const reason =
                            r.stderr
                                .trim()
                                .split("\n")
                                .filter((l) => l.startsWith("bootloop-rescue:"))
                                .pop() ??
                            r.stderr.trim().split("\n").pop() ??
                            `exit ${r.code}`;
                        failedChains.push({ vm: `${vm.cloud} fleet/${vm.n}`, reason: reason.replace(/^bootloop-rescue: /, "") });
                        return;
                    }
                    // A VM that cannot be recovered for a reason of its own ends its chain with a
                    // report saying so (the step succeeds, as in a real run, and the fleet goes on).
                    const own = ownFailure({ stdout: r.stdout });
                    if (own) {
                        failedChains.push({
                            vm: `${vm.cloud} fleet/${vm.n}`,
                            reason: `${own.reason} (next: ${own.nextStep ?? "read the evidence"})`,
                        });
                        return;
                    }
                }
                recovered[vm.cloud] = (recovered[vm.cloud] ?? 0) + 1;
            } finally {
                release();
            }
        }),
    );
    clearInterval(sampler);
    const wallSeconds = (Date.now() - started) / 1000;
    // The watcher stops by itself when idle; its own CPU is in its stats.
    const stats = JSON.parse(fs.readFileSync(path.join(watchDir, "stats.json"), "utf8")) as { cpuSeconds: number; peakProcesses: number };
    const overhead = (childrenCpuSeconds() - cpuBefore + stats.cpuSeconds) / Math.max(1, vms.length);
    server.close();
    api.close();
    const pid = watcherPid();
    if (pid)
        try {
            process.kill(pid);
        } catch {
            /* gone */
        }

    const clouds: FleetResult["clouds"] = {};
    for (const c of CLOUDS) {
        const count = vms.filter((v) => v.cloud === c).length;
        if (count === 0) continue;
        const perVm = cloud.calls[CLI_OF[c]] / Math.max(1, recovered[c] ?? 0);
        const cliCpuPerVm = cost.cpuSecondsOf(c, cloud.byOp, CLI_OF[c]) / Math.max(1, recovered[c] ?? 0);
        clouds[c] = {
            vms: count,
            recovered: recovered[c] ?? 0,
            cliCallsPerVm: round(perVm),
            cpuSecondsPerVm: round(cliCpuPerVm + overhead),
            throttledCalls: cloud.throttled[CLI_OF[c]],
        };
    }
    const calls = Object.values(cloud.calls).reduce((a, b) => a + b, 0);
    const throttled = Object.values(cloud.throttled).reduce((a, b) => a + b, 0);
    fs.rmSync(dir, { recursive: true, force: true });
    return {
        vms: vms.length,
        clouds,
        peakCliProcesses: Math.max(peakStandIns, cloud.peakOpen, stats.peakProcesses),
        peakRunnerMb: Math.round(peakRunnerMb),
        failedChains: failedChains.sort((a, b) => a.vm.localeCompare(b.vm)),
        wallSeconds: round(wallSeconds),
        runnerOverheadCpuSecondsPerVm: round(overhead),
        maxInFlight: opts.maxInFlight,
        timeScale: opts.timeScale,
        throttledShare: round(throttled / Math.max(1, calls)),
        callsByOperation: cloud.byOp,
        apiRequests: cloud.api.requests,
        cliCostSource: cost.source(),
    };
}

function round(x: number): number {
    return Math.round(x * 100) / 100;
}

/** The bounds the fleet must meet (issue: one runner carries 1,000 VMs in flight). */
export const BOUNDS = { cliCallsPerVm: 12, peakCliProcesses: 64, peakRunnerMb: 3072, cpuSecondsPerVm: 10 };

/** The readable report. */
export function renderFleet(r: FleetResult): string {
    const lines = [
        `fleet: ${r.vms} VMs, at most ${r.maxInFlight} chains at once (maxInFlight), time ×${r.timeScale}, ${(r.throttledShare * 100).toFixed(1)} % of calls throttled; ${r.wallSeconds} s`,
        "  each VM's repair and swap scripts only: 2 of its 6 steps (backup, scratch disk, attach and fixed disk are the providers' work, not run here)",
        "  cloud     VMs  recovered  CLI calls/VM  est. CPU s/VM  throttled  (est. CPU: each call at its shape's measured price)",
        `  prices per call from ${r.cliCostSource}: the real CLIs against loopback servers, a shape not measured at its cloud's median`,
    ];
    for (const [c, x] of Object.entries(r.clouds)) {
        const ok = x.cliCallsPerVm <= BOUNDS.cliCallsPerVm && x.cpuSecondsPerVm <= BOUNDS.cpuSecondsPerVm;
        lines.push(
            `  ${c.padEnd(6)} ${String(x.vms).padStart(6)} ${String(x.recovered).padStart(10)} ${x.cliCallsPerVm.toFixed(2).padStart(13)} ${x.cpuSecondsPerVm.toFixed(2).padStart(14)} ${String(x.throttledCalls).padStart(10)}  ${ok ? "ok" : "MISSED"}`,
        );
    }
    lines.push(
        `  peak CLI processes at once: ${r.peakCliProcesses} (≤ ${BOUNDS.peakCliProcesses} ${r.peakCliProcesses <= BOUNDS.peakCliProcesses ? "ok" : "MISSED"})`,
    );
    lines.push(
        `  peak runner memory (PSS of scripts, watcher, helpers; not the engine, program, providers or real CLIs): ${r.peakRunnerMb} MB (≤ ${BOUNDS.peakRunnerMb} ${r.peakRunnerMb <= BOUNDS.peakRunnerMb ? "ok" : "MISSED"})`,
    );
    lines.push(`  runner CPU outside the CLIs: ${r.runnerOverheadCpuSecondsPerVm} s/VM (in the estimate; includes the stand-ins' own)`);
    lines.push(`  chains failed: ${r.failedChains.length}`);
    for (const f of r.failedChains.slice(0, 20)) lines.push(`    ${f.vm}: ${f.reason}`);
    if (r.failedChains.length > 20) lines.push(`    … and ${r.failedChains.length - 20} more`);
    return lines.join("\n");
}

/** `--fleet N [--cloud …] [--time-scale X] [--throttle S] [--max-in-flight N]`, validated. */
export function parseFleetArgs(argv: string[]): FleetOptions & { json: boolean } {
    const get = (flag: string) => {
        const i = argv.indexOf(flag);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const known = new Set(["--fleet", "--cloud", "--json", "--time-scale", "--throttle", "--max-in-flight"]);
    for (let i = 0; i < argv.length; i++) {
        if (!known.has(argv[i])) throw new Error(`unknown argument ${JSON.stringify(argv[i])}`);
        if (argv[i] !== "--json") i++;
    }
    const vms = Number(get("--fleet"));
    if (!Number.isInteger(vms) || vms < 1 || vms > 20_000)
        throw new Error(`--fleet: ${JSON.stringify(get("--fleet"))} must be a whole number of VMs from 1 to 20000`);
    const cloud = (get("--cloud") ?? "mixed") as FleetOptions["cloud"];
    if (![...CLOUDS, "mixed"].includes(cloud)) throw new Error(`--cloud: ${JSON.stringify(cloud)} must be aws, azure, gcp or mixed`);
    const timeScale = Number(get("--time-scale") ?? 20);
    if (!(timeScale >= 1 && timeScale <= 200)) throw new Error("--time-scale must be from 1 to 200");
    const throttleShare = Number(get("--throttle") ?? 0.12);
    if (!(throttleShare >= 0 && throttleShare < 0.9)) throw new Error("--throttle must be a share from 0 to 0.9");
    const maxInFlight = Number(get("--max-in-flight") ?? Math.min(vms, defaultMaxInFlight()));
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new Error("--max-in-flight must be a whole number of chains");
    return { vms, cloud, timeScale, throttleShare, maxInFlight, neverBootEvery: 200, json: argv.includes("--json") };
}
