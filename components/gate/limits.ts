import { Rate } from "./types";

/**
 * A counting semaphore that grants in arrival order, urgent requests first (the watcher's own
 * observations, each of which answers many waiting steps, go before single steps' calls).
 */
export class Semaphore {
    private active = 0;
    private readonly queue: (() => void)[] = [];
    private readonly urgent: (() => void)[] = [];

    constructor(readonly size: number) {}

    /** Resolves when a place is free; call the returned function to give it back (once). */
    async acquire(urgent = false): Promise<() => void> {
        if (this.active >= this.size) await new Promise<void>((resolve) => (urgent ? this.urgent : this.queue).push(resolve));
        this.active++;
        let released = false;
        return () => {
            if (released) return;
            released = true;
            this.active--;
            (this.urgent.shift() ?? this.queue.shift())?.();
        };
    }

    /** Holders now. */
    get inUse(): number {
        return this.active;
    }
}

/**
 * A token bucket per scope and rate class, in arrival order: `take(n)` resolves when n tokens
 * are there. After throttling, `slowDown` halves the rate for a while (it recovers step by step).
 */
export class TokenBucket {
    private tokens: number;
    private last: number;
    private rate: number;
    private pausedUntil = 0;
    private chain: Promise<void> = Promise.resolve();

    constructor(
        private readonly limit: Rate,
        private readonly now: () => number = Date.now,
    ) {
        this.tokens = limit.burst;
        this.rate = limit.perSecond;
        this.last = now();
    }

    private refill(): void {
        const t = this.now();
        this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
        // Recover towards the configured rate: +10 % of it per second without throttling.
        this.rate = Math.min(this.limit.perSecond, this.rate + ((t - this.last) / 1000) * 0.1 * this.limit.perSecond);
        this.last = t;
    }

    /**
     * Resolves when `n` tokens were taken. A request larger than the burst (a batched call of many
     * requests, or any request once a small share leaves a burst under 1) waits for a full bucket
     * and leaves it in debt, so the rate holds whatever the request's size.
     */
    take(n = 1): Promise<void> {
        const need = Math.min(n, this.limit.burst);
        const turn = this.chain.then(async () => {
            for (;;) {
                this.refill();
                const pause = this.pausedUntil - this.now();
                if (pause <= 0 && this.tokens >= need) {
                    this.tokens -= n;
                    return;
                }
                const wait = Math.max(pause, ((need - this.tokens) / this.rate) * 1000);
                await sleep(Math.max(1, Math.ceil(wait)));
            }
        });
        this.chain = turn.catch(() => undefined);
        return turn;
    }

    /** Tokens in the bucket now (below 0 while a request larger than the burst is paid off). */
    get level(): number {
        this.refill();
        return this.tokens;
    }

    /** The rate and burst this bucket was made with (the gate's, after share, scale and reservation). */
    get configured(): Rate {
        return { ...this.limit };
    }

    /** The cloud said "too many requests": halve the rate and pause for `ms`. */
    slowDown(ms: number): void {
        this.refill();
        this.rate = Math.max(this.limit.perSecond / 16, this.rate / 2);
        this.tokens = Math.min(this.tokens, 0);
        this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    }
}

/**
 * Jittered exponential backoff ("full jitter"): a random delay between half and all of
 * base × 2^(attempt−1), at most `cap`. Attempt counts from 1.
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
    const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
