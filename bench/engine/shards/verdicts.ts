// The shards bench's verdicts, from what the run left (pure): per cloud scope of the one shared
// simulated world, whether it went over its budget; per shard, whether its `up` recovered its VMs
// (the bad ones recorded failed). PASS, FAIL, or "not checked" with the reason: never a pass for
// what could not be read.
//
// "Over its budget", operationally: the simulated clouds answer a request over a bucket's published
// size and refill with the cloud's throttling error (sandbox/cli/budget.js), which the watcher and
// the providers' SDKs retry after the cloud's Retry-After. A scope is over its budget when more than
// THROTTLED_PERCENT_BOUND (5 %) of the requests of any of its classes were throttled, the issue's
// bound (#29), judged by the single up's rule (bounds.ts throttleVerdict): a few throttled requests
// cost a retry each, many cost the shards' deadlines. Any throttled request is still counted and
// shown. A peak rate above a bucket's refill is not over: the bucket's size is the burst the cloud
// publishes, spent and refilled. Each shard's steps, gate queues and watch are judged by the single
// up's rules too (bounds.ts), shard by shard.
import { RequestFigures } from "../../../sandbox/world/requests";
import type { RunnerFigures } from "../run";
import { PEAK_MB_BOUND, THROTTLED_PERCENT_BOUND, Verdict, gateVerdict, stepVerdict, throttleVerdict, watchVerdict } from "../bounds";
import { GateQueues } from "../gate-queue";
import { Outcomes } from "../outcomes";
import { StepTimes } from "../timeouts";

/** A class of requests in one scope: its count, throttled, and peak rate against its tightest bucket. */
export interface ClassBudget {
    /** The class (an EC2 API, a Compute policy with its Resource Manager kind, a quota metric). */
    cls: string;
    requests: number;
    throttled: number;
    /** The most requests per second over any 10-second window (budget.js PEAK_WINDOW_SECONDS). */
    peakPerSecond: number;
    /** Its tightest bucket (lowest refill): size and refill per second; absent when no published limit applies. */
    limit?: { capacity: number; perSecond: number; name: string };
    /** throttled / requests × 100. */
    throttledPercent: number;
    /** More than THROTTLED_PERCENT_BOUND % of the class's requests throttled. */
    over: boolean;
}

/** One cloud scope of the shared world and its classes. */
export interface ScopeBudget {
    cloud: string;
    scope: string;
    requests: number;
    throttled: number;
    throttledPercent: number;
    /** A class of it over its budget: more than THROTTLED_PERCENT_BOUND % of that class's requests throttled. */
    over: boolean;
    classes: ClassBudget[];
}

/** Per scope of the shared world, its classes' counts and peaks against their tightest bucket. */
export function scopeBudgets(rows: readonly RequestFigures[]): ScopeBudget[] {
    const scopes = new Map<string, ScopeBudget>();
    for (const r of rows) {
        const key = `${r.cloud}\u0000${r.scope}`;
        const s = scopes.get(key) ?? {
            cloud: r.cloud,
            scope: r.scope,
            requests: 0,
            throttled: 0,
            throttledPercent: 0,
            over: false,
            classes: [],
        };
        s.requests += r.requests;
        s.throttled += r.throttled;
        s.throttledPercent = s.requests ? (100 * s.throttled) / s.requests : 0;
        const classPercent = r.requests ? (100 * r.throttled) / r.requests : 0;
        const classOver = classPercent > THROTTLED_PERCENT_BOUND;
        s.over ||= classOver;
        const tightest = [...r.buckets].sort((a, b) => a.perSecond - b.perSecond)[0];
        s.classes.push({
            cls: r.cls,
            requests: r.requests,
            throttled: r.throttled,
            peakPerSecond: r.peakPerSecond,
            ...(tightest
                ? {
                      limit: {
                          capacity: tightest.capacity,
                          perSecond: tightest.perSecond,
                          // A per-VM bucket is named as such, not by the first VM seen.
                          name: tightest.key.slice(tightest.key.indexOf("|") + 1).replace(/ vm .*$/, ", per VM"),
                      },
                  }
                : {}),
            throttledPercent: classPercent,
            over: classOver,
        });
        scopes.set(key, s);
    }
    return [...scopes.values()];
}

/** One shard's run: its `up`'s and watch's exit codes, its VMs' outcomes and its events' steps and gate queues, each when it could be read. */
export interface ShardRun {
    name: string;
    vms: number;
    bad: number;
    rateShare?: string;
    exits?: { up: number; watch: number };
    outcomes?: Outcomes;
    /** Its command steps against their customTimeouts (from its events, STACK.events.json). */
    steps?: StepTimes;
    /** Its command steps' time queued at the watcher's gate (from its events). */
    gate?: GateQueues;
    /** What its runner's cgroup (its own) measured; `cpuPerVm` per VM of the shard. Absent when not read. */
    runner?: RunnerFigures;
}

/** What could make the shared world's counts incomplete, beside the counts. */
export interface BudgetContext {
    /** The scopes the shards' VMs are in ("cloud scope", BenchShard.scopes): each must have requests counted. */
    expectedScopes?: readonly string[];
    /** Times a world's lock was taken over from a stale holder (world.lockTakeovers). */
    lockTakeovers?: number;
}

/**
 * The budget bound: no (scope, class) of the shared world over its budget, judged by the single
 * up's rule (bounds.ts throttleVerdict); not checked when an expected scope has no request counted
 * or a world's lock was taken over.
 */
export function budgetVerdict(scopes: readonly ScopeBudget[] | undefined, context: BudgetContext = {}): Verdict {
    const rows = (scopes ?? []).flatMap((s) => s.classes.map((c) => ({ cloud: s.cloud, scope: s.scope, ...c })));
    const v = throttleVerdict(rows, { expected: context.expectedScopes, lockTakeovers: context.lockTakeovers });
    return { ...v, bound: `${v.bound}, the K shards' requests counted together` };
}

/**
 * One bound judged shard by shard with the single up's rule `judge`: FAIL when a shard failed it
 * (naming each), else not checked when one could not be judged, else PASS.
 */
function perShard(shards: readonly ShardRun[], judge: (s: ShardRun) => Verdict, fallbackBound: string): Verdict {
    if (shards.length === 0) return { bound: `${fallbackBound}, in every shard`, verdict: "not checked", detail: "no shard ran" };
    const each = shards.map((s) => ({ name: s.name, v: judge(s) }));
    const bound = `${each[0].v.bound}, in every shard`;
    const failed = each.filter((e) => e.v.verdict === "FAIL");
    const unchecked = each.filter((e) => e.v.verdict === "not checked");
    const say = (list: typeof each) => list.map((e) => `${e.name}: ${e.v.detail}`).join("; ");
    if (failed.length) return { bound, verdict: "FAIL", detail: say(failed) };
    if (unchecked.length) return { bound, verdict: "not checked", detail: say(unchecked) };
    return { bound, verdict: "PASS", detail: `${each.length} shards; ${say(each)}` };
}

/** The customTimeouts bound for every shard, from its events (bounds.ts stepVerdict). */
export function shardStepsVerdict(shards: readonly ShardRun[]): Verdict {
    return perShard(shards, (s) => stepVerdict(s.steps), "no step ended by its customTimeout");
}

/** The gate bound for every shard, from its events (bounds.ts gateVerdict): sharing a budget shows as queuing. */
export function shardGateVerdict(shards: readonly ShardRun[]): Verdict {
    return perShard(shards, (s) => gateVerdict(s.gate), "no deadline spent queuing at the gate");
}

/** The watch bound for every shard: its watch's exit code against its records (bounds.ts watchVerdict). */
export function shardWatchVerdict(shards: readonly ShardRun[]): Verdict {
    return perShard(shards, (s) => watchVerdict(s.exits?.watch, s.outcomes), "npm run watch agrees with the records");
}

/**
 * The shards bound: every shard's `up` exited 0 (a VM recorded failed does not fail the update),
 * its bad VMs recorded failed and the rest recovered. FAIL when one did otherwise (whatever else
 * could not be read); else not checked when a shard's exit code or `vms` output could not be read.
 */
export function shardsVerdict(shards: readonly ShardRun[]): Verdict {
    const bound = "every shard's up exited 0 and recovered its VMs (its VMs made never to boot recorded failed)";
    if (shards.length === 0) return { bound, verdict: "not checked", detail: "no shard ran" };
    const wrong = shards.filter((s) => (s.outcomes && !s.outcomes.exact) || (s.exits && s.exits.up !== 0));
    const unread = shards.filter((s) => !s.outcomes || !s.exits);
    const describe = (s: ShardRun) =>
        [
            s.exits ? (s.exits.up === 0 ? "" : `up exited ${s.exits.up}`) : "its exit codes could not be read",
            s.outcomes
                ? `${s.outcomes.recovered} recovered, ${s.outcomes.failed} failed, ${s.outcomes.notFinished} not finished`
                : "its vms output could not be read",
        ]
            .filter((x) => x)
            .join(", ")
            .replace(/^/, `${s.name}: `);
    const recovered = shards.reduce((n, s) => n + (s.outcomes?.recovered ?? 0), 0);
    const summary = `${shards.length} shards, ${recovered} VMs recovered of ${shards.reduce((n, s) => n + s.vms - s.bad, 0)} expected`;
    if (wrong.length) return { bound, verdict: "FAIL", detail: `${summary}; not as expected: ${wrong.map(describe).join("; ")}` };
    if (unread.length) return { bound, verdict: "not checked", detail: `${summary}; ${unread.map(describe).join("; ")}` };
    return { bound, verdict: "PASS", detail: summary };
}

/** What the machine says of the run, beside the shards' own runners. */
export interface MachineContext {
    /** The K runners' limits add up to more CPUs or memory than the machine has (machine.ts machineShare). */
    shared: boolean;
    /** Processes any OOM killer ended on the machine during the run (/proc/vmstat oom_kill, after − before); undefined when not read. */
    oomKills?: number;
}

const mb = (x: number) => `${Math.round(x).toLocaleString("en-US")} MB`;

/**
 * The runners' memory bound (#29: peak ≤ 6 GB, everything in the cgroup, no OOM kill), judged shard
 * by shard, each in a runner of its own: FAIL when a shard's runner had a process OOM-killed or
 * (at `spendScale` 1) peaked over the bound, naming each; else not checked when a shard's figures
 * could not be read, when the machine's OOM killer ended a process no shard's runner counted (the
 * machine is shared: the process may have been a shard's, outside its cgroup's count) or could not
 * be asked while the runners' limits add up to more than the machine has, or when the CLI calls
 * spent less than the real CLIs (`spendScale` < 1: a wrapped call holds its memory only for the
 * scaled time, so the peak is understated); else PASS. CPU is printed, not judged here.
 */
export function shardMemoryVerdict(
    shards: readonly ShardRun[],
    spendScale = 1,
    machine: MachineContext = { shared: false, oomKills: 0 },
): Verdict {
    const bound = `peak memory ≤ ${PEAK_MB_BOUND.toLocaleString("en-US")} MB and no OOM kill in each shard's runner (everything in its own cgroup)`;
    if (shards.length === 0) return { bound, verdict: "not checked", detail: "no shard ran" };
    const read = shards.flatMap((s) => (s.runner ? [{ name: s.name, f: s.runner }] : []));
    const unread = shards.filter((s) => !s.runner).map((s) => s.name);
    const largest = read.length ? read.reduce((a, b) => (b.f.peakMb > a.f.peakMb ? b : a)) : undefined;
    const peaks = largest ? `the largest peak ${mb(largest.f.peakMb)} (${largest.name})` : "no runner's figures read";
    const killed = read.filter((s) => s.f.oomKills > 0);
    if (killed.length)
        return {
            bound,
            verdict: "FAIL",
            detail: `${killed.map((s) => `${s.name}: the OOM killer ended ${s.f.oomKills} process(es) in its runner (peak ${mb(s.f.peakMb)})`).join("; ")}${
                machine.shared ? " (its runner's limit, or the machine's memory, shared by the K runners)" : ""
            }`,
        };
    const over = read.filter((s) => s.f.peakMb > PEAK_MB_BOUND);
    if (spendScale >= 1 && over.length)
        return { bound, verdict: "FAIL", detail: over.map((s) => `${s.name}: peak ${mb(s.f.peakMb)}`).join("; ") };
    if (unread.length)
        return {
            bound,
            verdict: "not checked",
            detail: `${unread.map((n) => `${n}: its runner's figures could not be read (runner-cgroup.sh said why)`).join("; ")}; ${peaks}`,
        };
    if (machine.oomKills === undefined && machine.shared)
        return {
            bound,
            verdict: "not checked",
            detail: `the machine's OOM kills (/proc/vmstat oom_kill) could not be read, and the runners' limits add up to more than it has: a process the machine's OOM killer ended would not be seen; ${peaks}`,
        };
    if (machine.oomKills)
        return {
            bound,
            verdict: "not checked",
            detail: `the machine's OOM killer ended ${machine.oomKills} process(es) during the run that no shard's runner counted (another's, or a shard's outside its cgroup): a shard's figures may be cut short; ${peaks}`,
        };
    if (spendScale < 1)
        return {
            bound,
            verdict: "not checked",
            detail: `the CLI calls spent ${spendScale} of the real CLIs' cost (--spend-scale): each held its memory for that share of the time, so the peaks are understated; ${peaks}`,
        };
    return { bound, verdict: "PASS", detail: `${shards.length} shards, none OOM-killed; ${peaks}` };
}
