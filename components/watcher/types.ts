/**
 * What a cloud gives the watcher: how its waits are batched and observed, which of its CLI
 * operations fall under which rate limit, and which CLI errors are worth another try. Core's
 * watcher never branches on the cloud; each cloud folder exports one of these (`watch.ts`).
 */

/** A request, as the wire carries it: every field is a string. */
export type Fields = Record<string, string>;

/** One step waiting for a state of one cloud object (an instance stopped, a volume attached, …). */
export interface WaitRequest {
    /** What kind of object and observation (`instance`, `volume`, `ssm-command`, …). */
    kind: string;
    /** The object's id in its scope. */
    id: string;
    /** The state waited for; `any` answers with the first fresh observation. */
    want: string;
    /** Scope and parameters of the wait, as the step sent them (region, device, marker, …). */
    fields: Fields;
    /** When the step asked (ms since the epoch): only observations made after it count. */
    received: number;
    /** When the state must have been reached (ms since the epoch), judged on observations. */
    deadline: number;
    /** What the cloud module keeps between observations of this wait (e.g. a serial offset). */
    memo: Record<string, unknown>;
}

/** What one observation says about a wait. */
export interface Observation {
    /** Whether the state waited for is reached. */
    met: boolean;
    /** What the step gets back (state, root volume, evidence, …): one line, no tabs or newlines. */
    fields: Fields;
    /** Set when the object does not exist (a permanent error): the reason. */
    gone?: string;
}

/** Runs one CLI call of a cloud under the watcher's limits. */
export interface CliRunner {
    /**
     * Runs `command args…` once, when the global process limit and the scope's rate limit allow.
     * `cost` is the number of API requests the call makes (default 1). Resolves with stdout;
     * rejects with a {@link CliError}.
     */
    run(call: { cloud: string; scope: string; op: string; command: string; args: string[]; env?: Record<string, string>; cost?: number }): Promise<string>;
}

/** A CLI call that failed: its stderr, and whether another try may succeed. */
export class CliError extends Error {
    constructor(
        message: string,
        /** Throttling, conflict, lock or a transient server error: another try may succeed. */
        readonly transient: boolean,
    ) {
        super(message);
    }
}

/** A rate limit: requests per second (sustained) and the burst allowed. */
export interface Rate {
    perSecond: number;
    burst: number;
}

/** A cloud's part of the watcher. */
export interface CloudWatch {
    /** The inventory's `cloud:` value. */
    cloud: string;
    /** The scope a request acts in (AWS account role + region, Azure subscription, GCP project), from its fields. */
    scopeOf(fields: Fields): string;
    /** Waits with the same key are observed by one call (e.g. one listing per scope and kind). */
    batchKey(wait: WaitRequest): string;
    /** The most waits one observation call answers. */
    batchSize(kind: string): number;
    /**
     * How much slower than the base poll interval a kind is observed (default 1): states that
     * take minutes (a repair, a Windows boot) need no look every 10 s.
     */
    pollFactor?(kind: string): number;
    /** The kinds this cloud can observe. */
    kinds: readonly string[];
    /**
     * Observes a batch of waits with one key: one batched listing, plus per-object reads only for
     * objects whose listed status already looks done (console or serial output). Rejects when
     * the listing could not be made: the waits then stay unanswered (no negative observation).
     */
    observe(waits: WaitRequest[], cli: CliRunner): Promise<Map<WaitRequest, Observation>>;
    /** The rate class of a CLI operation (`ec2 start-instances` → `start`). */
    rateClass(op: string): string;
    /** Rate limits per scope and class (cloud time), with `default` for classes not listed. */
    rates: Record<string, Rate>;
    /** How many API requests an operation makes (for limits counted in requests, not calls). */
    cost?(op: string, args: string[]): number;
    /** Whether a CLI error is transient: throttling, conflict, another operation in progress, a CLI lock, 5xx. */
    transient(stderr: string): boolean;
    /** Whether a CLI error is throttling (the scope's rate is then lowered for a while). */
    throttling(stderr: string): boolean;
    /** The CLI's environment for a scope (e.g. an assumed role's credentials), made once and cached. */
    scopeEnv?(fields: Fields, cli: CliRunner): Promise<Record<string, string>>;
}

/** Runner milliseconds for a span of cloud time (the fleet benchmark compresses time; 1:1 otherwise). */
export function cloudMs(seconds: number): number {
    const scale = Number(process.env.BOOTLOOP_TIME_SCALE);
    return (seconds * 1000) / (Number.isFinite(scale) && scale > 0 ? scale : 1);
}

/** Parses a CLI's JSON output; an empty output is `fallback`. */
export function parseJson<T>(text: string, fallback: T): T {
    return text.trim() === "" ? fallback : (JSON.parse(text) as T);
}

/**
 * A per-object read that follows a batched listing (console or serial output): its result, or
 * `undefined` when it could not be made this round (throttled, busy: no observation of that object
 * now, never a negative one). A permanent error is rethrown as the object's own: `{ gone }`.
 */
export async function followUp<T>(read: () => Promise<T>): Promise<{ value?: T; gone?: string }> {
    try {
        return { value: await read() };
    } catch (err) {
        if (err instanceof CliError && !err.transient) return { gone: err.message };
        return {};
    }
}
