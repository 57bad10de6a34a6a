// The engine bench's result as text.
import { EngineBenchResult } from "./run";

const n0 = (x: number) => Math.round(x).toLocaleString("en-US");

/** The result, for people. */
export function renderEngine(r: EngineBenchResult): string {
    const f = r.runnerFigures;
    const lines = [
        `engine bench: ONE real-engine up of ${r.vms} mixed VMs on the sandbox, ${r.bad.length} made never to boot${r.bad.length ? ` (${r.bad.join(", ")})` : ""}`,
        ...(r.placement ? [`  placement: ${r.placement}`] : []),
        `  commit ${r.commit.slice(0, 7)}${r.uncommittedChanges ? " (with uncommitted changes in the tree)" : ""}; machine ${r.machine.name}, ${r.machine.cores} cores, ${n0(r.machine.memoryMb)} MB, 1-min load ${r.machine.loadAverage1m.before.toFixed(2)} before, ${r.machine.loadAverage1m.after.toFixed(2)} after`,
        `  runner ${r.runner.name}: a cgroup of ${r.runner.cpus} CPUs, ${n0(r.runner.memoryMb)} MB; pulumi up --parallel ${r.parallel} (npm run plan's)`,
        `  CLI calls spend ${r.spend.scale === 1 ? "what the real CLIs spend" : `${r.spend.scale} of what the real CLIs spend`} (${r.cliCostSource}); Azure's synchronous calls (vm disk attach|detach, disk update) hold ${r.spend.hold[0]}-${r.spend.hold[1]} s, and GCP's attach, detach and label operations take as long in the API front, the watcher waiting for them (seed ${r.spend.seed})`,
        f
            ? `  wall ${f.wallSeconds.toFixed(1)} s; CPU ${f.cpuSeconds.toFixed(1)} s in all, ${f.cpuPerVm.toFixed(2)} s per VM; peak memory ${n0(f.peakMb)} MB; ${f.oomKills ? `OOM: ${f.oomKills} process(es) killed by the memory limit` : "no OOM"}; CPU quota throttled ${n0(f.throttledPeriods)} periods (cgroup ${f.cgroup})`
            : `  NOT MEASURED: ${r.notMeasured ?? "no figures"}`,
        `  of that CPU, the CLI calls' spending: ${r.cliSpend.cpuSeconds.toFixed(1)} s for ${n0(r.cliSpend.calls)} calls (asked ${r.cliSpend.cpuTarget.toFixed(1)} s; largest ${n0(r.cliSpend.peakRssMb)} MB); ${r.cliSpend.held.calls} synchronous calls held ${n0(r.cliSpend.held.seconds)} s in all`,
        r.apiFront
            ? `  beside the runner's cgroup (not in its figures), the sandbox's stand-in API front: ${(r.apiFront.selfSeconds + r.apiFront.childrenSeconds).toFixed(1)} s answering ${n0(r.apiFront.requests)} API requests (in its own process: the simulated cloud's work, no runner's)`
            : "  the sandbox's stand-in API front (beside the runner's cgroup) wrote no CPU figures",
        `  priced by median (shapes cli-cost.json does not have): ${
            Object.keys(r.cliSpend.pricedByMedian).length
                ? Object.entries(r.cliSpend.pricedByMedian)
                      .map(([s, c]) => `${s} ×${c}`)
                      .join(", ")
                : "none"
        }`,
        r.outcomes
            ? `  VMs: ${r.outcomes.recovered} recovered, ${r.outcomes.failed} failed, ${r.outcomes.notFinished} not finished; the failed are exactly the bad ones: ${r.outcomes.exact ? "yes" : "NO"}`
            : "  VMs: the stack's vms output could not be read",
        `  exit codes: up ${r.exits.up ?? "did not run"}, watch ${r.exits.watch ?? "did not run"}`,
        "  CLI calls per VM (the stand-ins' call logs, less the watcher's API requests):",
        ...Object.entries(r.calls).map(
            ([cloud, c]) => `    ${cloud.padEnd(6)} ${n0(c.calls).padStart(6)} calls, ${c.perVm.toFixed(2)} per VM: ${byShape(c.byShape)}`,
        ),
        "  the watcher's API requests per VM (in its own process, no CLI process; the front's log):",
        ...Object.entries(r.calls).map(
            ([cloud, c]) =>
                `    ${cloud.padEnd(6)} ${n0(c.api.requests).padStart(6)} requests, ${c.api.perVm.toFixed(2)} per VM: ${byShape(c.api.byShape) || "none"}`,
        ),
        `  API requests per VM (the simulated clouds' count: the providers' and the CLIs', each id of a batched call, each operation poll): ${
            Object.entries(r.requestsPerVm)
                .map(([cloud, n]) => `${cloud} ${n.toFixed(1)}`)
                .join(", ") || "none counted"
        }`,
        `  API requests per scope (the same count; of them the stand-in providers'): ${perScope(r) || "none counted"}`,
        r.steps
            ? `  steps: ${r.steps.steps} command steps, ${r.steps.ended} ended, ${r.steps.failed} failed, ${r.steps.over.length} at or over their customTimeout (the stand-in command provider does not enforce customTimeouts: judged from the events' times)`
            : "  steps: the engine's events could not be read",
        r.gate
            ? `  gate: ${r.gate.read} of ${r.gate.steps} steps' queue times read, ${r.gate.totalQueued} s queued in all${r.gate.longest ? `, longest ${r.gate.longest.queued} s (${r.gate.longest.name})` : ""}; ${r.gate.overAllowance.length} past their allowance, ${r.gate.deadlineAfterQueuing.length} failed at their deadline after queuing`
            : "  gate: the engine's events could not be read",
        "  bounds (#29 item 5):",
        ...r.verdicts.map((v) => `    ${v.verdict.padEnd(11)} ${v.bound}: ${v.detail}`),
        `  The stand-in providers spend none of the real providers' CPU or memory (they are small Node servers on a JSON world), and cloud waits run compressed (BOOTLOOP_TIME_SCALE, BOOTLOOP_WAIT_SCALE); the watcher looks at a group of waits every ${r.watcherPollSeconds} s (POLL_SECONDS).`,
    ];
    if (r.runDir) lines.push(`  kept: ${r.runDir}`);
    return lines.join("\n");
}

/** Call shapes, most first, without the CLI's name. */
function byShape(shapes: Record<string, number>): string {
    return Object.entries(shapes)
        .sort((a, b) => b[1] - a[1])
        .map(([s, k]) => `${s.split(" ").slice(1).join(" ")} ${k}`)
        .join(", ");
}

/** The simulated clouds' requests per cloud scope, the providers' share of each. */
function perScope(r: EngineBenchResult): string {
    const totals = new Map<string, { requests: number; byProviders: number }>();
    for (const row of r.requests) {
        const key = `${row.cloud} ${row.scope}`;
        const t = totals.get(key) ?? { requests: 0, byProviders: 0 };
        t.requests += row.requests;
        t.byProviders += row.byProviders;
        totals.set(key, t);
    }
    return [...totals]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([scope, t]) => `${scope} ${n0(t.requests)} (${n0(t.byProviders)})`)
        .join(", ");
}
