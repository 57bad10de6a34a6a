// Time the command steps queued at the watcher's gate, from the engine's --json events: each step's
// last line on stderr (base.sh gate_report: `bootloop-rescue-gate: queued=S allowance=S
// deadline=reached|not-reached`), which the events carry in the step's outputs (resOutputsEvent) or
// in the message of its failure (diagnosticEvent, the command's stderr quoted). The steps are the
// ones timeouts.ts times: command steps given a deadline (STEP_TIMEOUT_SECONDS) that started.
import { JsonObjectStream } from "../../components/tools/progress/json-stream";
import { EventMeta, commandStepStart } from "./timeouts";

/** One step's gate figures, as its line gave them. */
export interface GateLine {
    /** Seconds queued at the gate in all. */
    queued: number;
    /** The allowance its deadline was moved by at most. */
    allowance: number;
    /** Whether its deadline was reached: it had passed when the step ended, or a call or a lock gave up for it. */
    deadlineReached: boolean;
}

/** The command steps' gate queue times in an update. */
export interface GateQueues {
    /** Command steps with a deadline that started. */
    steps: number;
    /** Of those, the ones whose gate line the events hold. */
    read: number;
    /** Steps with no gate line in the events (not ended, killed, or a command that is not a step script), by name. */
    unread: string[];
    /** Steps that queued longer than their allowance, by name. */
    overAllowance: string[];
    /** Steps that failed with their deadline reached after queuing at the gate, by name. */
    deadlineAfterQueuing: string[];
    /** The step that queued longest: its name, seconds and allowance. */
    longest?: { name: string; queued: number; allowance: number };
    /** Seconds queued by all the steps read. */
    totalQueued: number;
}

const LINE = /^bootloop-rescue-gate: queued=(\d+) allowance=(\d+) deadline=(reached|not-reached)$/gm;

/** The last gate line in a step's stderr (or a message quoting it), or undefined. */
export function gateLineOf(text: string): GateLine | undefined {
    let last: GateLine | undefined;
    for (const m of text.matchAll(LINE)) last = { queued: Number(m[1]), allowance: Number(m[2]), deadlineReached: m[3] === "reached" };
    return last;
}

/** The steps' gate queue times in the engine's events (`pulumi up --json`, whole). */
export function gateQueues(eventsText: string): GateQueues {
    const started = new Set<string>();
    const lines = new Map<string, GateLine>();
    const failed = new Set<string>();
    const stream = new JsonObjectStream((value) => {
        const e = value as {
            resourcePreEvent?: { metadata?: EventMeta };
            resOutputsEvent?: { metadata?: EventMeta };
            resOpFailedEvent?: { metadata?: EventMeta };
            diagnosticEvent?: { urn?: string; message?: string };
        };
        const step = commandStepStart(e.resourcePreEvent?.metadata);
        if (step) started.add(step.urn);
        const out = e.resOutputsEvent?.metadata;
        const stderr = out?.new?.outputs?.stderr;
        if (out?.urn && typeof stderr === "string") {
            const line = gateLineOf(stderr);
            if (line) lines.set(out.urn, line);
        }
        const diag = e.diagnosticEvent;
        if (diag?.urn && typeof diag.message === "string") {
            const line = gateLineOf(diag.message.replace(/\r/g, ""));
            if (line) lines.set(diag.urn, line);
        }
        if (e.resOpFailedEvent?.metadata?.urn) failed.add(e.resOpFailedEvent.metadata.urn);
    });
    stream.push(eventsText);
    const result: GateQueues = { steps: started.size, read: 0, unread: [], overAllowance: [], deadlineAfterQueuing: [], totalQueued: 0 };
    for (const urn of started) {
        const name = urn.slice(urn.lastIndexOf("::") + 2);
        const line = lines.get(urn);
        if (!line) {
            result.unread.push(name);
            continue;
        }
        result.read++;
        result.totalQueued += line.queued;
        if (line.queued > line.allowance) result.overAllowance.push(name);
        if (failed.has(urn) && line.deadlineReached && line.queued > 0) result.deadlineAfterQueuing.push(name);
        if (!result.longest || line.queued > result.longest.queued)
            result.longest = { name, queued: line.queued, allowance: line.allowance };
    }
    return result;
}
