// The issue's bounds (#29 item 5) against what one engine-bench run measured: PASS, FAIL, or "not
// checked" with the reason, never a pass for what could not be checked.
import { GateQueues } from "./gate-queue";
import { Outcomes } from "./outcomes";
import { StepTimes } from "./timeouts";

/** Runner CPU per VM, everything in the cgroup (seconds). */
export const CPU_PER_VM_BOUND = 10;
/** Peak memory of everything in the cgroup (MB: 6 GB). */
export const PEAK_MB_BOUND = 6 * 1024;

/** One bound's verdict. */
export interface Verdict {
    /** The bound, in words. */
    bound: string;
    /** PASS, FAIL, or not checked. */
    verdict: "PASS" | "FAIL" | "not checked";
    /** The figure it was judged on, or why it was not checked. */
    detail: string;
}

/** What the verdicts are judged on. */
export interface BoundInput {
    /** VMs in the fleet. */
    vms: number;
    /** VMs made never to boot. */
    bad: number;
    /** The cgroup's figures, when they were taken. */
    runner?: { cpuSeconds: number; peakMb: number; oomKills: number };
    /** The CLI calls' spend scale (1: the real CLIs' cost). */
    spendScale: number;
    /** The VMs' outcomes, when the stack's records could be read. */
    outcomes?: Outcomes;
    /** The steps against their customTimeouts, when the events could be read. */
    steps?: StepTimes;
    /** The steps' time queued at the watcher's gate, when the events could be read. */
    gate?: GateQueues;
    /** `npm run watch`'s exit code, when it ran. */
    watchExit?: number;
    /** API requests per cloud, scope and class as the simulated clouds counted them (sandbox world --requests), when they could be read. */
    requests?: ClassCount[];
    /** Times a world's lock was taken over from a stale holder (world.lockTakeovers): counts may be lost then. */
    lockTakeovers?: number;
    /** The budget scopes the fleet's VMs are in ("cloud scope", EngineFleet.scopes): each must have requests counted. */
    expectedScopes?: readonly string[];
}

/** A class of API requests in one scope, as the simulated clouds counted it. */
export interface ClassCount {
    cloud: string;
    scope: string;
    cls: string;
    requests: number;
    throttled: number;
}

/** The share of a scope's API requests the clouds may throttle. */
export const THROTTLED_PERCENT_BOUND = 5;

const mb = (x: number) => `${Math.round(x).toLocaleString("en-US")} MB`;

/** The verdict on each bound. */
export function verdicts(x: BoundInput): Verdict[] {
    const out: Verdict[] = [];
    const oom = !!x.runner && x.runner.oomKills > 0;
    // CPU per VM.
    const cpuBound = `runner CPU ≤ ${CPU_PER_VM_BOUND} s per VM (everything in the cgroup)`;
    if (!x.runner) out.push({ bound: cpuBound, verdict: "not checked", detail: "the cgroup's figures were not taken" });
    else if (oom)
        out.push({
            bound: cpuBound,
            verdict: "not checked",
            detail: "the memory limit killed a process: the run did not finish as a runner's would",
        });
    else if (x.spendScale !== 1)
        out.push({
            bound: cpuBound,
            verdict: "not checked",
            detail: `the CLI calls spent ${x.spendScale} of the real CLIs' cost (--spend-scale)`,
        });
    else {
        const perVm = x.runner.cpuSeconds / x.vms;
        out.push({ bound: cpuBound, verdict: perVm <= CPU_PER_VM_BOUND ? "PASS" : "FAIL", detail: `${perVm.toFixed(1)} s per VM` });
    }
    // Peak memory.
    const memBound = `peak memory ≤ ${mb(PEAK_MB_BOUND)} (everything in the cgroup)`;
    if (!x.runner) out.push({ bound: memBound, verdict: "not checked", detail: "the cgroup's figures were not taken" });
    else if (oom)
        out.push({
            bound: memBound,
            verdict: "FAIL",
            detail: `killed by the runner's memory limit (OOM, ${x.runner.oomKills} kill(s)); peak ${mb(x.runner.peakMb)}`,
        });
    else out.push({ bound: memBound, verdict: x.runner.peakMb <= PEAK_MB_BOUND ? "PASS" : "FAIL", detail: `peak ${mb(x.runner.peakMb)}` });
    // Outcomes.
    const outcomeBound = `the ${x.bad} VM(s) made never to boot recorded failed, the other ${x.vms - x.bad} recovered, in ONE up`;
    if (!x.outcomes) out.push({ bound: outcomeBound, verdict: "not checked", detail: "the stack's vms output could not be read" });
    else {
        const o = x.outcomes;
        const wrong = [
            o.unexpectedFailures.length ? `failed but not made bad: ${o.unexpectedFailures.join(", ")}` : "",
            o.badNotFailed.length ? `made bad but not recorded failed: ${o.badNotFailed.join(", ")}` : "",
            o.notFinished ? `${o.notFinished} not finished` : "",
        ].filter((w) => w);
        out.push({
            bound: outcomeBound,
            verdict: o.exact ? "PASS" : "FAIL",
            detail: `${o.recovered} recovered, ${o.failed} failed, ${o.notFinished} not finished${wrong.length ? `; ${wrong.join("; ")}` : ""}`,
        });
    }
    out.push(stepVerdict(x.steps));
    out.push(watchVerdict(x.watchExit, x.outcomes));
    out.push(gateVerdict(x.gate));
    out.push(throttleVerdict(x.requests, { expected: x.expectedScopes, lockTakeovers: x.lockTakeovers }));
    return out;
}

/** The customTimeouts bound: FAIL when a step reached its customTimeout; not checked when a step has no end (or there was none). */
export function stepVerdict(steps: StepTimes | undefined): Verdict {
    const bound = "no step ended by its customTimeout";
    if (!steps || steps.steps === 0) return { bound, verdict: "not checked", detail: "the engine's events hold no command step" };
    if (steps.ended < steps.steps)
        return { bound, verdict: "not checked", detail: `${steps.steps - steps.ended} of ${steps.steps} steps have no end in the events` };
    const l = steps.longest;
    const longest = l ? `; longest ${l.name} ${l.seconds} s of its ${l.timeoutSeconds} s` : "";
    return {
        bound,
        verdict: steps.over.length ? "FAIL" : "PASS",
        detail: `${steps.steps} steps' times from the events against their customTimeouts (the stand-in command provider does not enforce them; waits run compressed)${steps.over.length ? `; over: ${steps.over.slice(0, 10).join(", ")}` : ""}${longest}`,
    };
}

/**
 * The watch bound: `npm run watch` exits 0 when every VM verified, 1 when the update ended
 * otherwise (a VM recorded failed), 3 when its events ended early; PASS when its code agrees with
 * the records, not checked when either is missing.
 */
export function watchVerdict(watchExit: number | undefined, outcomes: Outcomes | undefined): Verdict {
    const bound = "npm run watch read the update to its end and agrees with the records";
    if (watchExit === undefined || !outcomes) return { bound, verdict: "not checked", detail: "the watch or the records are missing" };
    const allRecovered = outcomes.failed === 0 && outcomes.notFinished === 0;
    const agrees = (watchExit === 0 && allRecovered) || (watchExit === 1 && !allRecovered);
    return {
        bound,
        verdict: agrees ? "PASS" : "FAIL",
        detail: `exit ${watchExit} (0: every VM verified; 1: the update ended otherwise; 3: its events ended early)`,
    };
}

const pct = (c: { requests: number; throttled: number }) => (c.requests ? (100 * c.throttled) / c.requests : 0);

/**
 * Whether an expected scope ("cloud scope") was counted. An AWS VM whose entry names no account
 * (`aws default/REGION`, as the gate names it) runs in the caller's own account, which the
 * simulated cloud counts under its id: a counted `aws <account>/REGION` is it, unless that account
 * is one of `named` (the accounts other expected scopes name: the VMs reached through a role,
 * whose requests are not the ambient account's).
 */
export function scopeCounted(expected: string, counted: ReadonlySet<string>, named: ReadonlySet<string> = new Set()): boolean {
    if (counted.has(expected)) return true;
    const m = /^aws default\/(.+)$/.exec(expected);
    if (!m) return false;
    return [...counted].some((c) => {
        const a = /^aws (\d{12})\/(.+)$/.exec(c);
        return !!a && a[2] === m[1] && !named.has(a[1]);
    });
}

/** The AWS accounts the expected scopes name (`aws <12 digits>/REGION`). */
function namedAccounts(expected: readonly string[]): Set<string> {
    return new Set(expected.map((s) => /^aws (\d{12})\//.exec(s)?.[1]).filter((a): a is string => a !== undefined));
}

/**
 * The budget bound, the single up's and the shards' alike: FAIL when more than
 * THROTTLED_PERCENT_BOUND % of the requests of any (scope, class) were throttled (a class 100 %
 * throttled never hides behind another's many requests; a class spending from a per-VM bucket is
 * its own class). Not checked when the counts may be incomplete: no count at all, a world's lock
 * taken over (`lockTakeovers`: a write may be lost), or an `expected` scope ("cloud scope") with
 * no request counted; a lock takeover makes even an over class "not checked" (the shares are unsure).
 */
export function throttleVerdict(
    rows: readonly ClassCount[] | undefined,
    opts: { expected?: readonly string[]; lockTakeovers?: number } = {},
): Verdict {
    const bound = `≤ ${THROTTLED_PERCENT_BOUND} % of API requests throttled in any scope and class`;
    const counted = (rows ?? []).filter((r) => r.requests > 0);
    if (counted.length === 0)
        return { bound, verdict: "not checked", detail: "the simulated clouds counted no API request (their worlds could not be read)" };
    const worst = [...counted].sort((a, b) => pct(b) - pct(a))[0];
    const over = counted.filter((r) => pct(r) > THROTTLED_PERCENT_BOUND);
    const scopes = new Set(counted.map((r) => `${r.cloud} ${r.scope}`));
    const named = namedAccounts(opts.expected ?? []);
    const missing = (opts.expected ?? []).filter((s) => !scopeCounted(s, scopes, named));
    const name = (r: ClassCount) => `${r.cloud} ${r.scope} ${r.cls}: ${r.throttled} of ${r.requests} (${pct(r).toFixed(1)} %)`;
    const detail = `${scopes.size} scopes, ${counted.length} classes; the most throttled ${name(worst)}${over.length ? `; over: ${names(over.map(name))}` : ""}`;
    if (opts.lockTakeovers)
        return {
            bound,
            verdict: "not checked",
            detail: `a world's lock was taken over from a stale holder ${opts.lockTakeovers} time(s): counts may be lost; ${detail}`,
        };
    if (over.length) return { bound, verdict: "FAIL", detail };
    if (missing.length)
        return { bound, verdict: "not checked", detail: `no request counted in expected scope(s) ${names(missing)}; ${detail}` };
    return { bound, verdict: "PASS", detail };
}

const names = (list: readonly string[]) => `${list.slice(0, 10).join(", ")}${list.length > 10 ? ` and ${list.length - 10} more` : ""}`;

/**
 * The gate bound: FAIL when a step queued longer than its allowance or failed with its deadline
 * passed after queuing (whatever else could not be read); else not checked when a step's queue time
 * could not be read (or there was no step); else PASS.
 */
export function gateVerdict(g: GateQueues | undefined): Verdict {
    const bound = "no deadline spent queuing at the gate";
    if (!g || g.steps === 0) return { bound, verdict: "not checked", detail: "the engine's events hold no command step" };
    const longest = g.longest ? `; longest ${g.longest.name} ${g.longest.queued} s of its ${g.longest.allowance} s allowance` : "";
    const read = `${g.read} of ${g.steps} steps' queue times read from their gate lines (base.sh gate_report), ${g.totalQueued} s queued in all${longest}`;
    const wrong = [
        g.overAllowance.length ? `queued past the allowance: ${names(g.overAllowance)}` : "",
        g.deadlineAfterQueuing.length ? `failed at their deadline after queuing: ${names(g.deadlineAfterQueuing)}` : "",
    ].filter((w) => w);
    const unread = g.unread.length ? `; no gate line: ${names(g.unread)}` : "";
    if (wrong.length) return { bound, verdict: "FAIL", detail: `${wrong.join("; ")}; ${read}${unread}` };
    if (g.unread.length) return { bound, verdict: "not checked", detail: `${read}${unread}` };
    return { bound, verdict: "PASS", detail: read };
}

/** The bench's exit code from its verdicts: 3 when a bound failed, else 4 when one was not checked, else 0. */
export function exitCodeOf(all: readonly Verdict[]): 0 | 3 | 4 {
    if (all.some((v) => v.verdict === "FAIL")) return 3;
    if (all.some((v) => v.verdict === "not checked")) return 4;
    return 0;
}
