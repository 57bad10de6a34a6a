import { Gate } from "../gate/gate";
import { CloudWatch, Observation, WaitRequest } from "./types";
import { CliError, Fields } from "../gate/types";

/** How a wait ended: the state was reached, the cloud showed it unreached at the deadline, or an error. */
export interface WaitAnswer {
    outcome: "ok" | "timeout" | "error";
    fields: Fields;
}

interface Pending {
    req: WaitRequest;
    done(answer: WaitAnswer): void;
    /** When the last observation of it was made (ms), or 0. */
    lastSeen: number;
}

/** The waits one batched call observes, and when it is due. */
interface Group {
    cloud: CloudWatch;
    waits: Set<Pending>;
    timer?: NodeJS.Timeout;
    busy: boolean;
    lastPoll: number;
    failures: number;
    lastError?: string;
}

/** How the waiter paces itself (runner milliseconds). */
export interface WaiterTiming {
    /** Between two observations of one group (the old per-VM poll interval). */
    pollMs: number;
    /** How long a first wait of an idle group waits for others to join its call. */
    batchWindowMs: number;
    /**
     * How long after a wait's deadline the waiter keeps trying when no observation could be made
     * at all (throttled, unreachable) before it reports that, as an error, not as a timeout.
     */
    blindGraceMs: number;
    /** Longest pause after failed observations of a group. */
    backoffCapMs: number;
}

/**
 * Answers every waiting step of the run from batched observations: one call per group (a scope
 * and kind, or a rescue VM), never one per waiting VM. A wait is answered `ok` by the first
 * observation made after it was asked that shows the state; `timeout` only by an observation made
 * at or after its deadline, of data seen at or after it, that still shows the state unreached. An
 * observation that could not be made (throttling, a starved runner, a lost network) is never
 * counted against a wait.
 */
export class Waiter {
    private readonly groups = new Map<string, Group>();
    /** Waits answered, by outcome (stats). */
    readonly answered: Record<string, number> = {};

    constructor(
        private readonly gate: Gate<CloudWatch>,
        private readonly timing: WaiterTiming,
    ) {}

    /** Waits still open. */
    get open(): number {
        let n = 0;
        for (const g of this.groups.values()) n += g.waits.size;
        return n;
    }

    /** Registers a wait; `cancel` withdraws it (the step went away). */
    wait(cloudName: string, req: WaitRequest): { answer: Promise<WaitAnswer>; cancel: () => void } {
        const cloud = this.gate.cloud(cloudName);
        const key = `${cloud.cloud}\n${req.kind}\n${cloud.batchKey(req)}`;
        let group = this.groups.get(key);
        if (!group) {
            group = { cloud, waits: new Set(), busy: false, lastPoll: 0, failures: 0 };
            this.groups.set(key, group);
        }
        const g = group;
        let pending!: Pending;
        const answer = new Promise<WaitAnswer>((resolve) => {
            pending = {
                req,
                lastSeen: 0,
                done: (a) => {
                    if (!g.waits.delete(pending)) return;
                    this.answered[a.outcome] = (this.answered[a.outcome] ?? 0) + 1;
                    resolve(a);
                },
            };
        });
        g.waits.add(pending);
        this.schedule(key, g);
        // A step that goes away (a customTimeout, Ctrl-C, OOM) withdraws its wait: normal, and its
        // group may be left empty before its poll is due.
        return { answer, cancel: () => g.waits.delete(pending) };
    }

    private schedule(key: string, g: Group): void {
        if (g.timer || g.busy || g.waits.size === 0) return;
        const now = Date.now();
        const poll = this.timing.pollMs * (g.cloud.pollFactor?.([...g.waits][0].req.kind) ?? 1);
        const due =
            g.failures > 0 ? g.lastPoll + this.failureDelay(g.failures) : Math.max(now + this.timing.batchWindowMs, g.lastPoll + poll);
        g.timer = setTimeout(
            () => {
                g.timer = undefined;
                this.poll(key, g).catch((err: unknown) => {
                    // A defect of one group's poll must not take the watcher (and every step) down, nor
                    // leave its waits unanswered: those past their deadline and grace are told so.
                    g.lastError = err instanceof Error ? err.message : String(err);
                    g.failures++;
                    g.busy = false;
                    this.blind(g, [...g.waits]);
                    this.schedule(key, g);
                });
            },
            Math.max(0, due - now),
        );
    }

    private failureDelay(failures: number): number {
        const ceiling = Math.min(this.timing.backoffCapMs, this.timing.pollMs * 2 ** Math.min(failures - 1, 6));
        return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    }

    private async poll(key: string, g: Group): Promise<void> {
        if (g.waits.size === 0) {
            // Every step of the group went away before its poll: nothing to observe, no call.
            if (this.groups.get(key) === g) this.groups.delete(key);
            return;
        }
        g.busy = true;
        const started = Date.now();
        g.lastPoll = started;
        const waits = [...g.waits];
        const size = Math.max(1, g.cloud.batchSize(waits[0].req.kind));
        const chunks: Pending[][] = [];
        for (let i = 0; i < waits.length; i += size) chunks.push(waits.slice(i, i + size));
        let failed = false;
        // Every chunk settles before the group is free again: a new poll never overlaps this one.
        const settled = await Promise.allSettled(
            chunks.map(async (chunk) => {
                const outcome = await this.observe(g, chunk, started);
                if (outcome === "permanent" && chunk.length > 1) {
                    // A permanent error of a batch (one object gone, one not allowed): find out
                    // whose, one object a call, so the others are not failed with it.
                    for (const p of chunk) if (g.waits.has(p)) await this.observe(g, [p], started);
                }
                if (outcome !== "observed") failed = true;
            }),
        );
        for (const r of settled) {
            if (r.status !== "rejected") continue;
            failed = true;
            g.lastError = r.reason instanceof Error ? r.reason.message : String(r.reason);
        }
        g.failures = failed ? g.failures + 1 : 0;
        this.blind(g, waits);
        g.busy = false;
        this.schedule(key, g);
    }

    /**
     * One batched observation of `chunk`, judged; a wait the cloud module left out (its own read
     * could not be made this round) is not judged. "failed": the listing could not be made;
     * "permanent": it failed with a permanent error (a single wait is then answered with it, a
     * batch is left to be split).
     */
    private async observe(g: Group, chunk: Pending[], started: number): Promise<"observed" | "failed" | "permanent"> {
        try {
            const seen = await g.cloud.observe(
                chunk.map((p) => p.req),
                this.gate,
            );
            for (const p of chunk) {
                const o = seen.get(p.req);
                if (o) this.judge(p, o, started);
            }
            return "observed";
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            g.lastError = message;
            if (!(err instanceof CliError) || err.transient) return "failed";
            if (chunk.length === 1) chunk[0].done({ outcome: "error", fields: { message: oneLine(message) } });
            return "permanent";
        }
    }

    /**
     * One observation, made at `at`, of one wait. A timeout needs a fresh "not yet": one whose data
     * was seen at or after the deadline (`asOf`, when the cloud module reused an earlier read).
     */
    private judge(p: Pending, o: Observation, at: number): void {
        const seenAt = Math.min(at, o.asOf ?? at);
        p.lastSeen = seenAt;
        if (o.gone) p.done({ outcome: "error", fields: { message: oneLine(o.gone) } });
        else if (o.met) p.done({ outcome: "ok", fields: o.fields });
        else if (seenAt >= p.req.deadline) p.done({ outcome: "timeout", fields: o.fields });
    }

    /**
     * Waits of this poll (`tried`) past their deadline whose state could not be observed at all
     * since then: say so. The grace counts from the deadline or from when the watcher got the wait,
     * whichever is later; a wait that joined while the poll was under way was not tried, so is
     * not judged (a slow call on a loaded runner is no reason to fail it).
     */
    private blind(g: Group, tried: readonly Pending[]): void {
        const now = Date.now();
        for (const p of tried) {
            if (!g.waits.has(p)) continue;
            if (now < Math.max(p.req.deadline, p.req.received) + this.timing.blindGraceMs || p.lastSeen >= p.req.deadline) continue;
            p.done({
                outcome: "error",
                fields: {
                    message: oneLine(
                        `no observation could be made since the deadline passed ${Math.round((now - p.req.deadline) / 1000)} s ago (last error: ${g.lastError ?? "none"})`,
                    ),
                },
            });
        }
    }
}

/** A value fit for the wire: one line, no tabs. */
export function oneLine(text: string): string {
    return text.replace(/[\t\r\n]+/g, " ").trim();
}
