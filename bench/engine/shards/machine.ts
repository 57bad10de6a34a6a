// The shards bench's K runners on this one machine (pure): whether their limits add up to more
// than the machine has (they then share its cores and memory: the run is slower and its request
// rates lower than K real runners' would be), the machine's OOM kill counter, and the K runners'
// figures taken together (CPU summed, the largest peak, the whole run's wall).
import { CgroupReport, RunnerFigures } from "../run";

/** The K runners' CPU quotas and memory limits added up, against the machine's. */
export interface MachineShare {
    /** The K runners' limits add up to more CPUs or more memory than the machine has. */
    shared: boolean;
    /** The K runners' CPU quotas added up (CPUs). */
    runnersCpus: number;
    /** The K runners' memory limits added up (MB). */
    runnersMemoryMb: number;
}

/** Whether `k` runners of `runner`'s size fit this machine's `cores` and `memoryMb` side by side. */
export function machineShare(k: number, runner: { cpus: number; memoryMb: number }, cores: number, memoryMb: number): MachineShare {
    const runnersCpus = k * runner.cpus;
    const runnersMemoryMb = k * runner.memoryMb;
    return { shared: runnersCpus > cores || runnersMemoryMb > memoryMb, runnersCpus, runnersMemoryMb };
}

/**
 * The machine's OOM kills so far, from /proc/vmstat's text (`oom_kill N`: every process any OOM
 * killer ended, a cgroup's or the machine's; Linux 4.13 on), or undefined when the line is not there.
 * The kernel counts each kill there and in the victim's memory cgroup's `oom_kill` alike
 * (mm/oom_kill.c `__oom_kill_process`), so a machine-wide kill of a process in a shard's runner
 * shows in that runner's count, and a kill of any other process (the bench's, a runner-cgroup.sh's,
 * another's on the machine) only here.
 */
export function machineOomKills(vmstat: string | undefined): number | undefined {
    const m = /^oom_kill (\d+)$/m.exec(vmstat ?? "");
    return m ? Number(m[1]) : undefined;
}

/**
 * The K shards' runners taken together: CPU and throttled periods summed, the largest peak, OOM
 * kills summed, `wallSeconds` the whole run's (all K at once). `figures` is undefined, and `missing`
 * names the shards, when a shard's runner figures could not be read: a sum without them is no figure.
 */
export function allShardsFigures(
    shards: readonly { name: string; runner?: RunnerFigures }[],
    wallSeconds: number,
): { figures?: CgroupReport; missing: string[] } {
    const missing = shards.filter((s) => !s.runner).map((s) => s.name);
    const read = shards.flatMap((s) => (s.runner ? [s.runner] : []));
    if (missing.length || read.length === 0) return { missing };
    return {
        missing,
        figures: {
            cgroup: read[0].cgroup,
            wallSeconds,
            cpuSeconds: read.reduce((n, f) => n + f.cpuSeconds, 0),
            peakMb: Math.max(...read.map((f) => f.peakMb)),
            oomKills: read.reduce((n, f) => n + f.oomKills, 0),
            throttledPeriods: read.reduce((n, f) => n + f.throttledPeriods, 0),
        },
    };
}
