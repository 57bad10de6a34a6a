/**
 * What a cloud gives the watcher: how its waits are batched and observed, and its CLI as the gate
 * knows it (components/gate/types.ts). The watcher never branches on the cloud; each cloud folder exports one of these (`watch.ts`).
 */
import { CliError, CloudCli, CloudRunner, Fields, NoObservationError } from "../gate/types";

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
    memo: Record<string, string | number>;
}

/** What one observation says about a wait. */
export interface Observation {
    /** Whether the state waited for is reached. */
    met: boolean;
    /** What the step gets back (state, root volume, evidence, …): one line, no tabs or newlines. */
    fields: Fields;
    /** Set when the object does not exist (a permanent error): the reason. */
    gone?: string;
    /**
     * When what decided `met` was seen (ms since the epoch), if earlier than the observation itself:
     * a boot marker read from the console a minute ago and reused. A wait times out only on what
     * was seen at or after its deadline, so a stale "not yet" never ends a VM that booted since.
     */
    asOf?: number;
}

/**
 * A step's CLI call that the watcher makes itself, as requests of the cloud's API in its own process
 * (about a millisecond of CPU, where the CLI process costs 0.8–1.7 s). A cloud offers one only for
 * a call of an exact shape it knows (every argument parsed, none ignored): any other call runs as
 * the CLI, as the step wrote it. The script still reads as the command it asks for.
 */
export interface CloudAction {
    /**
     * Makes the call's requests, each through `runner.api` under the op of the CLI call it stands
     * for (so its rate class, budget and throttling are the CLI call's), and resolves with what the
     * step gets on stdout: the API's answer as one line of JSON, in the fields the CLI would print
     * that the scripts read (`""` when the call prints nothing the scripts read). Rejects as the
     * runner did (a {@link CliError}, transient or not by the cloud's rules). Where the CLI waits for
     * the call to finish (a long-running operation), so does the action, within `deadline`.
     */
    run(runner: CloudRunner, deadline: number): Promise<string>;
    /**
     * Whether making the call twice changes nothing more than making it once (a stop, a start, a
     * tag, a read). A call whose answer was lost with a watcher that died while making it is made
     * again only when repeatable; any other (a restart, an attach, a command sent) then fails,
     * saying its outcome is not known, and the step's next run finds the state. Default false.
     */
    repeatable?: boolean;
}

/** A step's CLI call as the watcher receives it (`cloud_call` in base.sh). */
export interface StepCall {
    /** The CLI (`aws`, `az`, `gcloud`). */
    command: string;
    /** The operation as the step named it for the rate limits (`ec2 stop-instances`). */
    op: string;
    /** The CLI's arguments after the command, exactly as the step would run them. */
    args: readonly string[];
    /** The request's fields: the scope (region, subscription, project, …) and the rest. */
    fields: Fields;
}

/** A cloud's part of the watcher: its CLI as the gate knows it, and how its waits are batched and observed. */
export interface CloudWatch extends CloudCli {
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
     * Observations are requests of the cloud's API made in the watcher's process
     * ({@link CloudRunner.api}); a CLI process only where there is no other way (a token).
     */
    observe(waits: WaitRequest[], runner: CloudRunner): Promise<Map<WaitRequest, Observation>>;
    /**
     * The step's call as requests of the cloud's API that the watcher makes ({@link CloudAction}),
     * or `undefined`: the step then runs the CLI itself. Pure: it only reads the call's shape.
     */
    action?(call: StepCall): CloudAction | undefined;
}

/**
 * A per-object read that follows a batched listing (console or serial output): its result, or
 * `undefined` when it could not be made this round (throttled, busy: no observation of that object
 * now, never a negative one). A permanent error is rethrown as the object's own: `{ gone }`; a
 * {@link NoObservationError} (no token, TLS) is no object's own: it rejects, and the batch with it.
 */
export async function followUp<T>(read: () => Promise<T>): Promise<{ value?: T; gone?: string }> {
    try {
        return { value: await read() };
    } catch (err) {
        // Not the object's fault (no token, TLS): the whole batch gets no observation.
        if (err instanceof NoObservationError) throw err;
        if (err instanceof CliError && !err.transient) return { gone: err.message };
        return {};
    }
}
