// Is the watch's input what it must be: the engine's events (not `pulumi up`'s text output), of
// the stack it was told to watch (not another stack's, not two updates' mixed in one log)?
import { terminalText } from "../display-text";

/** Lines only `pulumi up`'s (or preview's, destroy's, refresh's) text output holds. */
const PULUMI_TEXT =
    /^(?:(?:Previewing update|Updating|Previewing destroy|Destroying|Refreshing|Previewing refresh) \([^)\n]*\)|\s*View (?:in Browser|Live)\b|\s*Type\s+Name\s+(?:Status|Plan)\b|Resources:\s*$|Duration:\s)/m;

/**
 * The fields of an engine event (pulumi's `EngineEvent`) the watch reads, typed as the engine
 * sends them and each optional: the input is parsed JSON that only `isEngineEvent` vetted.
 */
export interface EngineEventFields {
    /** When the engine sent it (Unix seconds). */
    timestamp?: number;
    summaryEvent?: { durationSeconds?: unknown };
    cancelEvent?: unknown;
    resourcePreEvent?: { metadata?: { urn?: string; op?: string }; planning?: boolean };
    resOutputsEvent?: {
        metadata?: { urn?: string; op?: string; type?: string; new?: { outputs?: Record<string, unknown> } };
        planning?: boolean;
    };
    resOpFailedEvent?: { metadata?: { urn?: string; op?: string } };
    diagnosticEvent?: { urn?: string; severity?: string; message?: string };
    policyEvent?: PolicyEventFields;
}

/** The fields of a policy pack's verdict (`policyEvent`) the watch reads. */
export interface PolicyEventFields {
    enforcementLevel?: string;
    policyPackName?: string;
    policyName?: string;
    resourceUrn?: string;
    message?: string;
}

/** The stack named in an engine event's URNs (`urn:pulumi:<stack>::…`), with the URN, or undefined. */
export function stackOfEvent(event: unknown): { stack: string; urn: string } | undefined {
    const e = event as EngineEventFields | null | undefined;
    const urn: unknown =
        e?.resourcePreEvent?.metadata?.urn ??
        e?.resOutputsEvent?.metadata?.urn ??
        e?.resOpFailedEvent?.metadata?.urn ??
        e?.diagnosticEvent?.urn ??
        e?.policyEvent?.resourceUrn;
    if (typeof urn !== "string") return undefined;
    const hit = /^urn:pulumi:([^:]+)::/.exec(urn);
    return hit ? { stack: hit[1], urn } : undefined;
}

/** An engine event (`EngineEvent`: a sequence number and one `…Event` field), not some other JSON. */
export function isEngineEvent(value: unknown): boolean {
    if (!value || typeof value !== "object" || Array.isArray(value)) return false;
    return (
        typeof (value as Record<string, unknown>).sequence === "number" || Object.keys(value).some((k) => /^[a-z][A-Za-z]*Event$/.test(k))
    );
}

const USE_JSON = "use `pulumi up --json` (or `pulumi up --event-log FILE` and --events FILE)";

/**
 * Checks the input value by value. Each method returns undefined while the input is fine, else
 * the problem, in words for a person (foreign text in it is terminal-safe).
 */
export class EventInputCheck {
    /** Engine events seen. */
    private events = 0;
    /** JSON values seen, events or not (their 1-based position names them). */
    private values = 0;
    private skippedText = false;
    /** Whether an event named the watched stack yet (then another stack's is a mix, not a wrong stack). */
    private sawStack = false;

    constructor(private readonly stack: string) {}

    /** One JSON value of the input. */
    value(value: unknown): string | undefined {
        this.values++;
        if (!isEngineEvent(value)) return undefined;
        this.events++;
        const named = stackOfEvent(value);
        if (!named) return undefined;
        if (named.stack === this.stack) {
            this.sawStack = true;
            return undefined;
        }
        const urn = terminalText(named.urn).slice(0, 300);
        const other = JSON.stringify(terminalText(named.stack).slice(0, 100));
        return !this.sawStack
            ? `event ${this.values} is stack ${other}'s (${urn}), not --stack ${this.stack}'s: watch the stack the update runs`
            : `event ${this.values} is stack ${other}'s (${urn}), but the events before it and --stack are ${this.stack}'s: the input mixes two updates`;
    }

    /** Text between the values (the JSON splitter skipped it). */
    skipped(text: string): string | undefined {
        if (!text.trim()) return undefined;
        this.skippedText = true;
        return this.events === 0 && PULUMI_TEXT.test(text) ? `this is pulumi's text output, not its events: ${USE_JSON}` : undefined;
    }

    /** At the end of the input: text or JSON came, but not one engine event. */
    end(): string | undefined {
        if (this.events > 0 || (!this.skippedText && this.values === 0)) return undefined;
        return `the input holds no engine events: ${USE_JSON}`;
    }
}
