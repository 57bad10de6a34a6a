// The shards bench's result as text.
import { ShardsBenchResult } from "./run";

const n0 = (x: number) => Math.round(x).toLocaleString("en-US");
const rate = (x: number) => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2));

/** The result, for people. */
export function renderShards(r: ShardsBenchResult): string {
    const f = r.runnerFigures;
    const perCloud = Object.entries(r.split.shardsPerCloud)
        .map(([c, k]) => `${c} ${k}`)
        .join(", ");
    const lines = [
        `shards bench: ${r.shards.length} real-engine ups AT ONCE, ${r.vms} mixed VMs in all (every VM of a cloud in one scope), ${r.bad.length} made never to boot${r.bad.length ? ` (${r.bad.join(", ")})` : ""}`,
        `  split by npm run shard --by cloud --canary 0 --max-vms ${r.split.maxVms}: shards per cloud ${perCloud} (npm run shard never mixes clouds in a shard: each cloud's scope is shared by its own shards); all on one simulated world`,
        `  commit ${r.commit.slice(0, 7)}${r.uncommittedChanges ? " (with uncommitted changes in the tree)" : ""}; machine ${r.machine.name}, ${r.machine.cores} cores, ${n0(r.machine.memoryMb)} MB, 1-min load ${r.machine.loadAverage1m.before.toFixed(2)} before, ${r.machine.loadAverage1m.after.toFixed(2)} after`,
        `  runner ${r.runner.name}: each shard in a runner cgroup of its own of ${r.runner.cpus} CPUs, ${n0(r.runner.memoryMb)} MB (as CI runs each shard as a job on a runner of its own), all ${r.shards.length} at once`,
        ...(r.machineShared
            ? [
                  `  MACHINE SHARED: the ${r.shards.length} shards share this machine's ${r.machine.cores} cores and ${n0(r.machine.memoryMb)} MB (their runners' limits add up to ${r.machineShare.runnersCpus} CPUs, ${n0(r.machineShare.runnersMemoryMb)} MB), so wall time is longer and request rates lower than ${r.shards.length} real runners would make; the budget verdict is then judged under less pressure than a real incident`,
              ]
            : []),
        `  CLI calls spend ${r.spend.scale === 1 ? "what the real CLIs spend" : `${r.spend.scale} of what the real CLIs spend (CPU then not judged)`} (${r.cliCostSource}); synchronous calls hold ${r.spend.hold[0]}-${r.spend.hold[1]} s${r.spend.scale === 1 ? "" : ` × ${r.spend.scale}`} (seed ${r.spend.seed})`,
        f
            ? `  all ${r.shards.length} runners: wall ${f.wallSeconds.toFixed(1)} s (the whole run); CPU ${f.cpuSeconds.toFixed(1)} s in all, ${f.cpuPerVm.toFixed(2)} s per VM; the largest peak memory ${n0(f.peakMb)} MB; ${f.oomKills ? `OOM: ${f.oomKills} process(es) killed` : "no OOM"}; CPU quota throttled ${n0(f.throttledPeriods)} periods (cgroup ${f.cgroup})`
            : `  NOT MEASURED: ${r.notMeasured ?? "no figures"}`,
        `  of that CPU, the CLI calls' spending: ${r.cliSpend.cpuSeconds.toFixed(1)} s for ${n0(r.cliSpend.calls)} calls; ${r.cliSpend.held.calls} synchronous calls held ${n0(r.cliSpend.held.seconds)} s in all`,
        `  the machine's OOM killer during the run: ${r.machineOomKills === undefined ? "not read (/proc/vmstat)" : `${r.machineOomKills} process(es) ended (any cgroup's or the machine's)`}`,
        "  each shard's runner (its own cgroup): wall, CPU (per VM), peak memory, OOM kills, CPU quota throttled periods:",
        ...r.shards.map((s) =>
            s.runner
                ? `    ${s.name.padEnd(14)} ${s.runner.wallSeconds.toFixed(1)} s, ${s.runner.cpuSeconds.toFixed(1)} s CPU (${s.runner.cpuPerVm.toFixed(2)} s per VM), peak ${n0(s.runner.peakMb)} MB, ${s.runner.oomKills ? `OOM: ${s.runner.oomKills} killed` : "no OOM"}, throttled ${n0(s.runner.throttledPeriods)}`
                : `    ${s.name.padEnd(14)} NOT MEASURED: its runner's figures could not be read`,
        ),
        "  shards (up and watch exit codes; VMs from each stack's vms output):",
        ...r.shards.map(
            (s) =>
                `    ${s.name.padEnd(14)} ${String(s.vms).padStart(4)} VMs (${s.bad} bad)  rateShare ${s.rateShare ?? "1"}  --parallel ${s.parallel}  up ${s.exits?.up ?? "?"}, watch ${s.exits?.watch ?? "?"}  ${
                    s.outcomes
                        ? `${s.outcomes.recovered} recovered, ${s.outcomes.failed} failed, ${s.outcomes.notFinished} not finished${s.outcomes.exact ? "" : " (NOT as expected)"}`
                        : "vms output not read"
                }`,
        ),
        `  API requests per VM (every shard's, counted by the shared world): ${
            Object.entries(r.requestsPerVm)
                .map(([cloud, n]) => `${cloud} ${n.toFixed(1)}`)
                .join(", ") || "none counted"
        }`,
        "  per scope and class: requests, throttled, peak rate (10 s windows) against the tightest published bucket (size, refill per second):",
        ...(r.budgets ?? []).flatMap((s) => [
            `    ${s.cloud} ${s.scope}: ${n0(s.requests)} requests, ${n0(s.throttled)} throttled (${s.throttledPercent.toFixed(1)} %)${s.over ? "  A CLASS OVER ITS BUDGET" : ""}`,
            ...s.classes.map(
                (c) =>
                    `      ${c.cls}: ${n0(c.requests)}, ${n0(c.throttled)} throttled (${c.throttledPercent.toFixed(1)} %)${c.over ? " OVER ITS BUDGET" : ""}, peak ${rate(c.peakPerSecond)}/s${c.limit ? ` against ${rate(c.limit.perSecond)}/s refill, ${n0(c.limit.capacity)} burst (${c.limit.name})` : " (no published limit applied)"}`,
            ),
        ]),
        ...(r.budgets ? [] : ["    the shared world's counts could not be read"]),
        ...(r.lockTakeovers
            ? [`    a world's lock was taken over from a stale holder ${r.lockTakeovers} time(s): counts may be lost`]
            : []),
        "  verdicts:",
        ...r.verdicts.map((v) => `    ${v.verdict.padEnd(11)} ${v.bound}: ${v.detail}`),
        "  Over its budget: more than 5 % of the requests of a class in a scope throttled by the simulated cloud (its published bucket sizes and refills, in real time); a peak above a refill rate is the bucket's burst, not over; a per-VM bucket's refill is one VM's, the peak the class's in the whole scope.",
    ];
    if (r.runDir) lines.push(`  kept: ${r.runDir}`);
    return lines.join("\n");
}
