/**
 * What the gate needs of a cloud's CLI: which of its operations fall under which rate limit, in
 * which scope, and which of its errors are worth another try. The gate never branches on the
 * cloud; each cloud's `watch.ts` gives one of these as part of its {@link CloudWatch}.
 */

/** A request, as the wire carries it: every field is a string. */
export type Fields = Record<string, string>;

/** Runs one CLI call of a cloud under the watcher's limits. */
export interface CliRunner {
    /**
     * Runs `command args…` once, when the global process limit and the scope's rate limit allow.
     * `cost` is the number of API requests the call makes (default 1). Resolves with stdout;
     * rejects with a {@link CliError}.
     */
    run(call: {
        cloud: string;
        scope: string;
        op: string;
        command: string;
        args: string[];
        env?: Record<string, string>;
        cost?: number;
        /** Kill the call (its whole process group) after this long (ms): it then fails, transient, "timed out after N s". */
        timeoutMs?: number;
    }): Promise<string>;
}

/** One request of a cloud's HTTP API that the watcher makes in its own process, as the gate knows it. */
export interface ApiCall {
    /** The inventory's `cloud:` value. */
    cloud: string;
    /** The scope the request acts in ({@link CloudCli.scopeOf}). */
    scope: string;
    /**
     * The operation in the CLI's words (`ec2 describe-instance-status`, `instances list`): the same
     * rate class, budget and stats as the CLI call it replaces.
     */
    op: string;
    /** API requests the call makes (default 1). */
    cost?: number;
}

/**
 * Runs a cloud's calls under the watcher's limits: CLI processes ({@link CliRunner.run}) and
 * requests of the cloud's API made in this process ({@link CloudRunner.api}), one budget for both.
 */
export interface CloudRunner extends CliRunner {
    /**
     * Runs `send` (one request of the cloud's API, in this process) once the scope's rate allows
     * `op`. It takes no process slot: it starts no process. Resolves with what `send` resolved;
     * a rejection becomes a {@link CliError} with its message, transient or not by the cloud's
     * rules ({@link CloudCli.transient}), and throttling slows the scope down as a CLI's would.
     */
    api<T>(call: ApiCall, send: () => Promise<T>): Promise<T>;
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

/**
 * A failure that is not the observed object's own (no token could be had, the credentials were
 * refused after a fresh token, TLS could not be verified): the batch gets no observation at all.
 * {@link CliError.transient} is always true, so the watcher backs off and, past its blind grace,
 * fails the waits saying no observation could be made, with this message; the cloud modules'
 * per-object reads (`followUp`) rethrow it instead of calling the object gone.
 */
export class NoObservationError extends CliError {
    constructor(message: string) {
        super(message, true);
    }
}

/** A rate limit: requests per second (sustained) and the burst allowed. */
export interface Rate {
    perSecond: number;
    burst: number;
}

/** API requests one VM chain makes in one rate class, outside the gate and through it. */
export interface RequestsPerVm {
    /** By the Pulumi providers (and the program's lookups through them), which the gate does not see. */
    providers: number;
    /** By the steps' and the watcher's CLI calls, which pass the gate. */
    steps: number;
}

/**
 * The fraction of a class's budget the providers take by the cloud's allowance: their requests
 * per VM chain over everyone's (0 when the cloud states none for the class).
 */
export function providerFraction(cloud: Pick<CloudCli, "providerRequests">, rateClass: string): number {
    const r = cloud.providerRequests?.[rateClass];
    return r && r.providers > 0 ? r.providers / (r.providers + Math.max(0, r.steps)) : 0;
}

/** Parses a CLI's JSON output; an empty output is `fallback`. */
export function parseJson<T>(text: string, fallback: T): T {
    return text.trim() === "" ? fallback : (JSON.parse(text) as T);
}

/** Runner milliseconds for a span of cloud time (the fleet benchmark compresses time; 1:1 otherwise). */
export function cloudMs(seconds: number): number {
    const scale = Number(process.env.BOOTLOOP_TIME_SCALE);
    return (seconds * 1000) / (Number.isFinite(scale) && scale > 0 ? scale : 1);
}

/** A cloud's CLI, as the gate passes its calls. */
export interface CloudCli {
    /** The inventory's `cloud:` value. */
    cloud: string;
    /** The scope a request acts in (AWS account role + region, Azure subscription, GCP project), from its fields. */
    scopeOf(fields: Fields): string;
    /**
     * Whether the published limits apply per region of a scope (EC2: per account and region) rather
     * than per scope (Resource Manager per subscription, Compute Engine per project): how `npm run
     * shard` tells which shards share a budget.
     */
    regionalLimits?: boolean;
    /** The rate class of a CLI operation (`ec2 start-instances` → `start`). */
    rateClass(op: string): string;
    /**
     * The cloud's published rate limits per scope and class (cloud time), with `default` for
     * classes not listed. The gate spends of each what is left after the providers' allowance
     * ({@link providerRequests}), times the runner's share (`BOOTLOOP_RATE_SHARE`).
     */
    rates: Record<string, Rate>;
    /**
     * Per rate class (a key of `rates`), the API requests one VM chain makes outside the gate (the
     * Pulumi providers' creates, their waiters' polls and reads: backup, disks, attachment) and
     * through it (the steps' and the watcher's calls). The watcher leaves the providers' fraction
     * of each class to them: counted in one sandbox `up` and held to the counts by
     * test/bench/provider-requests.test.ts.
     */
    providerRequests?: Record<string, RequestsPerVm>;
    /** How many API requests an operation makes (for limits counted in requests, not calls). */
    cost?(op: string, args: string[]): number;
    /** Whether a CLI error is transient: throttling, conflict, another operation in progress, a CLI lock, 5xx. */
    transient(stderr: string): boolean;
    /** Whether a CLI error is throttling (the scope's rate is then lowered for a while). */
    throttling(stderr: string): boolean;
    /** The CLI's environment for a scope (e.g. an assumed role's credentials), made once and cached. */
    scopeEnv?(fields: Fields, cli: CliRunner): Promise<Record<string, string>>;
}
