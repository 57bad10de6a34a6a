// A command step's time from the waits its script can make: the script's own deadline
// (STEP_TIMEOUT_SECONDS) and Pulumi's customTimeout, with the margins stated once here.
import { Settings } from "./contract/settings";
import { StepWait, StepWaits } from "./contract/step-waits";

/** Seconds a step is given beyond its waits for its calls: CLI calls and their retries, node helpers, the watcher's start. */
export const STEP_CALLS_MARGIN_SECONDS = 600;
/** Seconds a wait may outlast its bound: its answer is the first observation at or after it (the slowest poll is 45 s). */
export const WAIT_OVERRUN_SECONDS = 60;
/** Seconds Pulumi's customTimeout leaves after the script's own deadline, so the script says why it stopped. */
export const STEP_REPORT_SECONDS = 120;
/**
 * Seconds a step may wait for places at the watcher's gate (the runner's CLI processes, the scopes'
 * rate limits) without it counting against its deadline: base.sh moves its deadline by the time
 * waited, up to this, and Pulumi's customTimeout includes it (base.sh's GATE_QUEUE_ALLOWANCE_SECONDS,
 * held equal by a test).
 */
export const GATE_QUEUE_ALLOWANCE_SECONDS = 3600;

/** A command step's time: its waits' sum, the script's deadline and Pulumi's customTimeout. */
export interface StepBudget {
    /** The sum of the waits (each as often as it can be made). */
    waitSeconds: number;
    /** The script's own deadline (STEP_TIMEOUT_SECONDS): the waits, their overrun and the calls' margin. */
    stepTimeoutSeconds: number;
    /** Pulumi's customTimeout (create and update), in minutes: the deadline, the gate's queue allowance and the time to report. */
    minutes: number;
}

/** The budget of a step whose script can make `waits`: their sum plus the stated margins. */
export function stepBudget(waits: readonly StepWait[]): StepBudget {
    const times = (w: StepWait) => w.times ?? 1;
    const waitSeconds = waits.reduce((sum, w) => sum + w.seconds * times(w), 0);
    const made = waits.reduce((sum, w) => sum + times(w), 0);
    const stepTimeoutSeconds = Math.ceil(waitSeconds + made * WAIT_OVERRUN_SECONDS + STEP_CALLS_MARGIN_SECONDS);
    return {
        waitSeconds,
        stepTimeoutSeconds,
        minutes: Math.ceil((stepTimeoutSeconds + GATE_QUEUE_ALLOWANCE_SECONDS + STEP_REPORT_SECONDS) / 60),
    };
}

/** What a budget sets on its command: the script's deadline (environment) and Pulumi's customTimeouts. */
export function budgetTimeouts(budget: StepBudget): {
    environment: { STEP_TIMEOUT_SECONDS: string };
    customTimeouts: { create: string; update: string };
} {
    return {
        environment: { STEP_TIMEOUT_SECONDS: String(budget.stepTimeoutSeconds) },
        customTimeouts: { create: `${budget.minutes}m`, update: `${budget.minutes}m` },
    };
}

/** Minutes of the longest command step any of `clouds` can run under `settings` (its customTimeout). */
export function longestStepMinutes(settings: Settings, clouds: readonly StepWaits[]): number {
    let longest = 0;
    for (const waits of clouds)
        for (const step of [waits.reboot, waits.repair, waits.swap, waits.rollback, waits.attach])
            if (step) longest = Math.max(longest, stepBudget(step(settings)).minutes);
    return longest;
}
