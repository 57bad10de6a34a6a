// Steps against their customTimeouts, from the engine's --json events: each command step's time
// (its resourcePreEvent to its resOutputsEvent or resOpFailedEvent) against the customTimeout its
// script's deadline gives it (components/core/step-budget.ts). The stand-in command provider does
// not enforce customTimeouts, so a step that outlasted its own would show here as one over it.
import { GATE_QUEUE_ALLOWANCE_SECONDS, STEP_REPORT_SECONDS } from "../../components/core/step-budget";
import { JsonObjectStream } from "../../components/tools/progress/json-stream";

/** The command steps of an update against their customTimeouts. */
export interface StepTimes {
    /** Command steps with a deadline (STEP_TIMEOUT_SECONDS) that started. */
    steps: number;
    /** Of those, the ones whose end the events hold. */
    ended: number;
    /** Steps that took their customTimeout or longer (the real command provider would have ended them), by name. */
    over: string[];
    /** The longest step: its name, seconds, and its customTimeout in seconds. */
    longest?: { name: string; seconds: number; timeoutSeconds: number };
    /** Steps that failed (resOpFailedEvent). */
    failed: number;
}

/** A step's customTimeout in seconds, from its script's deadline (as step-budget.ts makes it, whole minutes). */
export function customTimeoutSeconds(stepTimeoutSeconds: number): number {
    return Math.ceil((stepTimeoutSeconds + GATE_QUEUE_ALLOWANCE_SECONDS + STEP_REPORT_SECONDS) / 60) * 60;
}

/** What the engine's resource events say of a resource (the parts the bench reads). */
export interface EventMeta {
    urn?: string;
    type?: string;
    op?: string;
    new?: { inputs?: { environment?: Record<string, unknown> }; outputs?: { stderr?: unknown } };
}

/**
 * A command step's start in a `resourcePreEvent`'s metadata: its URN and its STEP_TIMEOUT_SECONDS,
 * when the engine creates, updates or replaces a command given one (a step; lookups have none).
 */
export function commandStepStart(pre: EventMeta | undefined): { urn: string; stepTimeoutSeconds: number } | undefined {
    if (pre?.type !== "command:local:Command" || !pre.urn || !["create", "update", "replace", "create-replacement"].includes(pre.op ?? ""))
        return undefined;
    const seconds = Number(pre.new?.inputs?.environment?.STEP_TIMEOUT_SECONDS);
    return Number.isFinite(seconds) && seconds > 0 ? { urn: pre.urn, stepTimeoutSeconds: seconds } : undefined;
}

/** The steps' times in the engine's events (`pulumi up --json`, whole). */
export function stepTimes(eventsText: string): StepTimes {
    const started = new Map<string, { at: number; timeoutSeconds: number }>();
    const ends = new Map<string, { at: number; failed: boolean }>();
    const stream = new JsonObjectStream((value) => {
        const e = value as {
            timestamp?: number;
            resourcePreEvent?: { metadata?: EventMeta };
            resOutputsEvent?: { metadata?: EventMeta };
            resOpFailedEvent?: { metadata?: EventMeta };
        };
        if (typeof e.timestamp !== "number") return;
        const step = commandStepStart(e.resourcePreEvent?.metadata);
        if (step) started.set(step.urn, { at: e.timestamp, timeoutSeconds: customTimeoutSeconds(step.stepTimeoutSeconds) });
        const out = e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
        if (out?.urn && started.has(out.urn) && !ends.has(out.urn)) ends.set(out.urn, { at: e.timestamp, failed: !!e.resOpFailedEvent });
    });
    stream.push(eventsText);
    const result: StepTimes = { steps: started.size, ended: 0, over: [], failed: 0 };
    for (const [urn, s] of started) {
        const end = ends.get(urn);
        if (!end) continue;
        result.ended++;
        if (end.failed) result.failed++;
        const name = urn.slice(urn.lastIndexOf("::") + 2);
        const seconds = end.at - s.at;
        if (seconds >= s.timeoutSeconds) result.over.push(name);
        if (!result.longest || seconds > result.longest.seconds) result.longest = { name, seconds, timeoutSeconds: s.timeoutSeconds };
    }
    return result;
}
