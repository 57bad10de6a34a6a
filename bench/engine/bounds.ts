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
    /** API requests per cloud scope as the simulated clouds counted them (sandbox world --requests), when they could be read. */
    scopes?: { cloud: string; scope: string; requests: number; throttled: number; throttledPercent: number }[];
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
    // customTimeouts.
    const stepBound = "no step ended by its customTimeout";
    if (!x.steps || x.steps.steps === 0)
        out.push({ bound: stepBound, verdict: "not checked", detail: "the engine's events hold no command step" });
    else if (x.steps.ended < x.steps.steps)
        out.push({
            bound: stepBound,
            verdict: "not checked",
            detail: `${x.steps.steps - x.steps.ended} of ${x.steps.steps} steps have no end in the events`,
        });
    else {
        const l = x.steps.longest;
        const longest = l ? `; longest ${l.name} ${l.seconds} s of its ${l.timeoutSeconds} s` : "";
        out.push({
            bound: stepBound,
            verdict: x.steps.over.length ? "FAIL" : "PASS",
            detail: `${x.steps.steps} steps' times from the events against their customTimeouts (the stand-in command provider does not enforce them; waits run compressed)${x.steps.over.length ? `; over: ${x.steps.over.slice(0, 10).join(", ")}` : ""}${longest}`,
        });
    }
    // The watch: 0 when every VM verified, 1 when the update ended otherwise (a VM recorded failed), 3 when its events ended early.
    const watchBound = "npm run watch read the update to its end and agrees with the records";
    if (x.watchExit === undefined || !x.outcomes)
        out.push({ bound: watchBound, verdict: "not checked", detail: "the watch or the records are missing" });
    else {
        const allRecovered = x.outcomes.failed === 0 && x.outcomes.notFinished === 0;
        const agrees = (x.watchExit === 0 && allRecovered) || (x.watchExit === 1 && !allRecovered);
        out.push({
            bound: watchBound,
            verdict: agrees ? "PASS" : "FAIL",
            detail: `exit ${x.watchExit} (0: every VM verified; 1: the update ended otherwise; 3: its events ended early)`,
        });
    }
    out.push(gateVerdict(x.gate));
    const throttleBound = `≤ ${THROTTLED_PERCENT_BOUND} % of API requests throttled in any scope`;
    if (!x.scopes || x.scopes.length === 0)
        out.push({
            bound: throttleBound,
            verdict: "not checked",
            detail: "the simulated clouds counted no API request (their worlds could not be read)",
        });
    else {
        const worst = [...x.scopes].sort((a, b) => b.throttledPercent - a.throttledPercent)[0];
        const over = x.scopes.filter((s) => s.throttledPercent > THROTTLED_PERCENT_BOUND);
        out.push({
            bound: throttleBound,
            verdict: over.length ? "FAIL" : "PASS",
            detail: `${x.scopes.length} scopes; the most throttled ${worst.cloud} ${worst.scope}: ${worst.throttled} of ${worst.requests} (${worst.throttledPercent.toFixed(1)} %)${over.length ? `; over: ${over.map((s) => `${s.cloud} ${s.scope}`).join(", ")}` : ""}`,
        });
    }
    return out;
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
