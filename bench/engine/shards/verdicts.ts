// The shards bench's verdicts, from what the run left (pure): per cloud scope of the one shared
// simulated world, whether it went over its budget; per shard, whether its `up` recovered its VMs
// (the bad ones recorded failed). PASS, FAIL, or "not checked" with the reason: never a pass for
// what could not be read.
//
// "Over its budget", operationally: the simulated clouds answer a request over a bucket's published
// size and refill with the cloud's throttling error (sandbox/cli/budget.js), which the watcher and
// the providers' SDKs retry after the cloud's Retry-After. A scope is over its budget when more than
// THROTTLED_PERCENT_BOUND (5 %) of its requests were throttled, the issue's bound (#29): a few
// throttled requests cost a retry each, many cost the shards' deadlines. Any throttled request is
// still counted and shown. A peak rate above a bucket's refill is not over: the bucket's size is
// the burst the cloud publishes, spent and refilled.
import { RequestFigures } from "../../../sandbox/world/requests";
import { PEAK_MB_BOUND, THROTTLED_PERCENT_BOUND, Verdict } from "../bounds";
import { Outcomes } from "../outcomes";

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
}

/** One cloud scope of the shared world and its classes. */
export interface ScopeBudget {
    cloud: string;
    scope: string;
    requests: number;
    throttled: number;
    throttledPercent: number;
    /** More than THROTTLED_PERCENT_BOUND % of its requests throttled. */
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
        s.over = s.throttledPercent > THROTTLED_PERCENT_BOUND;
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
        });
        scopes.set(key, s);
    }
    return [...scopes.values()];
}

/** One shard's run: its `up`'s and watch's exit codes and its VMs' outcomes, each when it could be read. */
export interface ShardRun {
    name: string;
    vms: number;
    bad: number;
    rateShare?: string;
    exits?: { up: number; watch: number };
    outcomes?: Outcomes;
}

/** The budget bound: no scope of the shared world over its budget. */
export function budgetVerdict(scopes: readonly ScopeBudget[] | undefined): Verdict {
    const bound = `no scope over its budget (≤ ${THROTTLED_PERCENT_BOUND} % of its API requests throttled), the K shards' requests counted together`;
    if (!scopes || scopes.length === 0)
        return { bound, verdict: "not checked", detail: "the shared world's request counts could not be read (or hold no request)" };
    const over = scopes.filter((s) => s.over);
    const worst = [...scopes].sort((a, b) => b.throttledPercent - a.throttledPercent)[0];
    const throttledAt = scopes.filter((s) => s.throttled > 0).length;
    return {
        bound,
        verdict: over.length ? "FAIL" : "PASS",
        detail: `${scopes.length} scopes; the most throttled ${worst.cloud} ${worst.scope}: ${worst.throttled} of ${worst.requests} (${worst.throttledPercent.toFixed(1)} %); ${throttledAt} scope(s) with any request throttled${over.length ? `; over: ${over.map((s) => `${s.cloud} ${s.scope}`).join(", ")}` : ""}`,
    };
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

/**
 * The runner's memory bound (#29: peak ≤ 6 GB, everything in the cgroup), for the K shards at once:
 * FAIL on an OOM kill or a peak over it, not checked without the cgroup's figures. Its CPU is
 * printed, not judged here (the single-up bench judges it).
 */
export function runnerMemoryVerdict(runner: { peakMb: number; oomKills: number } | undefined): Verdict {
    const bound = `peak memory ≤ ${PEAK_MB_BOUND.toLocaleString("en-US")} MB for the K shards at once (everything in the one cgroup)`;
    if (!runner) return { bound, verdict: "not checked", detail: "the cgroup's figures were not taken" };
    const peak = `peak ${Math.round(runner.peakMb).toLocaleString("en-US")} MB`;
    if (runner.oomKills > 0)
        return { bound, verdict: "FAIL", detail: `the runner's memory limit killed ${runner.oomKills} process(es) (OOM); ${peak}` };
    return { bound, verdict: runner.peakMb <= PEAK_MB_BOUND ? "PASS" : "FAIL", detail: peak };
}
