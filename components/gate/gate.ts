import { spawn } from "child_process";
import { Semaphore, TokenBucket } from "./limits";
import { ApiCall, CliError, CloudCli, CloudRunner, NoObservationError, Rate, providerFraction } from "./types";

/** How the gate sizes its buckets and paces its backoffs. */
export interface GateOptions {
    /** Cloud seconds per runner second, for backoffs (1 in real runs; the sandbox and the model bench compress time). */
    timeScale: number;
    /**
     * Multiplies every bucket's refill rate (default: `timeScale`). 1 in real runs; a bench whose
     * simulated cloud refills its buckets in real time sets 1 while its waits stay compressed.
     */
    rateScale?: number;
    /** This runner's share of each scope's published budget (0 < x ≤ 1, default 1): multiplies every bucket's rate and burst. */
    share?: number;
    /**
     * Leave each cloud's provider allowance ({@link CloudCli.providerRequests}) out of its buckets
     * (the watcher, whose stack's providers spend the same budgets). Default false (discovery runs
     * before any stack).
     */
    reserveForProviders?: boolean;
}

/**
 * The bucket the gate keeps for one scope and rate class: the class's published limit, less the
 * providers' allowance when reserved, times the share (rate and burst) and the rate scale (rate).
 */
export function bucketRate(cloud: CloudCli, rateClass: string, options: GateOptions): Rate {
    const key = cloud.rates[rateClass] ? rateClass : "default";
    const limit = cloud.rates[key];
    const keep = (options.reserveForProviders ? 1 - providerFraction(cloud, key) : 1) * (options.share ?? 1);
    return { perSecond: limit.perSecond * keep * (options.rateScale ?? options.timeScale), burst: limit.burst * keep };
}

/** What the gate counted, for the stats file and the fleet benchmark. */
export interface GateStats {
    /** CLI calls per cloud: the watcher's own and those it granted to steps. */
    calls: Record<string, number>;
    /** Requests of the clouds' APIs the watcher made in its own process, per cloud. */
    api: Record<string, number>;
    /** Calls that came back throttled or busy, per cloud. */
    throttled: Record<string, number>;
    /** The most CLI processes the gate let run at once. */
    peakProcesses: number;
    /** Each bucket's rate and burst as made (`cloud scope class` → rate), so a run shows what it spent by. */
    buckets: Record<string, Rate>;
}

/**
 * The runner's one door to the clouds: every CLI call, the watcher's and every step's, and every
 * request the watcher makes of a cloud's API in its own process, passes it. It bounds the CLI
 * processes alive at once (each costs 60–100 MB and up to 1.7 s of CPU) and keeps each scope under
 * the cloud's rate limits, slowing a scope down when the cloud throttles it.
 */
export class Gate<C extends CloudCli = CloudCli> implements CloudRunner {
    private readonly buckets = new Map<string, TokenBucket>();
    readonly stats: GateStats = { calls: {}, api: {}, throttled: {}, peakProcesses: 0, buckets: {} };
    /** How the buckets are sized (a bare number: the time scale, which then scales the rates too). */
    readonly options: Readonly<GateOptions>;

    constructor(
        private readonly clouds: ReadonlyMap<string, C>,
        /** CLI processes allowed at once. */
        readonly processes: Semaphore,
        /** Cloud seconds per runner second (1 in real runs; the fleet benchmark compresses time), or the full options. */
        scale: number | GateOptions,
    ) {
        this.options = typeof scale === "number" ? { timeScale: scale } : { ...scale };
    }

    private get timeScale(): number {
        return this.options.timeScale;
    }

    cloud(name: string): C {
        const c = this.clouds.get(name);
        if (!c) throw new CliError(`unknown cloud ${JSON.stringify(name)}`, false);
        return c;
    }

    private bucket(cloud: CloudCli, scope: string, op: string): TokenBucket {
        const cls = cloud.rateClass(op);
        const key = `${cloud.cloud}\n${scope}\n${cls}`;
        let b = this.buckets.get(key);
        if (!b) {
            const rate = bucketRate(cloud, cls, this.options);
            b = new TokenBucket(rate);
            this.buckets.set(key, b);
            this.stats.buckets[`${cloud.cloud} ${scope} ${cls}`] = rate;
        }
        return b;
    }

    /** The rate and burst the gate keeps `op` of `scope` under (its bucket's, made on first use). */
    rateOf(cloudName: string, scope: string, op: string): Rate {
        return this.bucket(this.cloud(cloudName), scope, op).configured;
    }

    /**
     * Waits until the scope's rate allows `op` and a CLI process may start (`urgent`: ahead of
     * the steps' calls); resolves with the function that gives the place back once the call ended.
     */
    async admit(cloudName: string, scope: string, op: string, cost = 1, urgent = false): Promise<() => void> {
        const cloud = this.cloud(cloudName);
        await this.bucket(cloud, scope, op).take(cost);
        const release = await this.processes.acquire(urgent);
        this.stats.peakProcesses = Math.max(this.stats.peakProcesses, this.processes.inUse);
        this.stats.calls[cloudName] = (this.stats.calls[cloudName] ?? 0) + 1;
        return release;
    }

    /** How a call ended: throttling slows the scope down; the answer says whether to try again. */
    settle(cloudName: string, scope: string, op: string, stderr: string | undefined): { transient: boolean } {
        if (stderr === undefined) return { transient: false };
        const cloud = this.cloud(cloudName);
        const transient = cloud.transient(stderr);
        if (transient) this.stats.throttled[cloudName] = (this.stats.throttled[cloudName] ?? 0) + 1;
        if (cloud.throttling(stderr)) this.bucket(cloud, scope, op).slowDown(2000 / this.timeScale);
        return { transient };
    }

    async run(call: {
        cloud: string;
        scope: string;
        op: string;
        command: string;
        args: string[];
        env?: Record<string, string>;
        cost?: number;
        timeoutMs?: number;
    }): Promise<string> {
        // The watcher's own calls: each answers many waiting steps, so they go first.
        const release = await this.admit(call.cloud, call.scope, call.op, call.cost ?? 1, true);
        let result: { code: number | null; stdout: string; stderr: string; timedOut?: number };
        try {
            result = await runProcess(call.command, call.args, call.env, call.timeoutMs);
        } finally {
            release();
        }
        if (result.timedOut !== undefined)
            // Not the CLI's answer: it had none in time. Another try may fare better.
            throw new CliError(`${call.command} ${call.op}: timed out after ${result.timedOut / 1000} s (killed)`, true);
        if (result.code === 0) return result.stdout;
        const stderr = result.stderr.trim() || `exit code ${result.code}`;
        const { transient } = this.settle(call.cloud, call.scope, call.op, stderr);
        throw new CliError(stderr, transient);
    }

    async api<T>(call: ApiCall, send: () => Promise<T>): Promise<T> {
        const cloud = this.cloud(call.cloud);
        await this.bucket(cloud, call.scope, call.op).take(call.cost ?? 1);
        this.stats.api[call.cloud] = (this.stats.api[call.cloud] ?? 0) + 1;
        try {
            return await send();
        } catch (err) {
            // Not the request's answer (no token, TLS): passed on as it is, never judged by the rules.
            if (err instanceof NoObservationError) throw err;
            // The cloud's own rules decide, on the message (which carries the status and the error code).
            const message = (err instanceof Error ? err.message : String(err)).trim() || `${call.op} failed`;
            const { transient } = this.settle(call.cloud, call.scope, call.op, message);
            throw new CliError(message, transient);
        }
    }
}

/**
 * Runs a process to its end, stdin closed; stdout and stderr collected. With `timeoutMs`, the
 * process runs in a group of its own that is killed (SIGKILL) once the time is up: `timedOut`
 * then says after how long (ms).
 */
function runProcess(
    command: string,
    args: string[],
    env: Record<string, string> | undefined,
    timeoutMs?: number,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut?: number }> {
    return new Promise((resolve) => {
        const child = spawn(command, args, {
            env: env ? { ...process.env, ...env } : process.env,
            stdio: ["ignore", "pipe", "pipe"],
            detached: timeoutMs !== undefined,
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let timedOut: number | undefined;
        const timer =
            timeoutMs === undefined
                ? undefined
                : setTimeout(() => {
                      timedOut = timeoutMs;
                      try {
                          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
                      } catch {
                          // Gone already.
                      }
                  }, timeoutMs);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.on("error", (e) => {
            clearTimeout(timer);
            resolve({ code: 127, stdout: "", stderr: `${command}: ${e.message}` });
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), timedOut });
        });
    });
}
