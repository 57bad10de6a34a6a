// Ctrl-C during the engine's run. The engine (the Pulumi CLI) cancels on its first SIGINT (no new
// step starts, the steps in flight finish, the state is saved) and terminates on its second (the
// steps in flight are cut off). A Ctrl-C on the terminal reaches the engine directly (it shares the
// terminal's process group), and npm forwards it to this process as well: forwarding it too would
// make one Ctrl-C two. So this process only forwards a SIGINT the engine did not get by itself: one
// that came to this process alone (`kill -INT`, a CI runner stopping the job). The engine says what
// it got in its own events ("^C received; cancelling" / "terminating").

/** What the engine is doing about interrupts. */
export type EngineStop = "running" | "cancelling" | "terminating";

/** How long to wait for the engine to say it got a SIGINT before forwarding it (ms). */
export const FORWARD_AFTER_MS = 3000;

/** What the interrupt handling needs from its surroundings. */
export interface InterruptHooks {
    /** Sends the engine one SIGINT. */
    forward(this: void): void;
    /** Tells the person what is happening (one line). */
    say(this: void, text: string): void;
    /** Runs `fn` after `ms` (tests give their own). */
    after?(this: void, ms: number, fn: () => void): { cancel(): void };
    /** The clock, in ms (tests give their own). */
    now?(this: void): number;
}

/** Ctrl-C while the engine runs: the engine's own word on it, and a forward when it did not get one. */
export class EngineInterrupts {
    private state: EngineStop = "running";
    /** Acknowledgements from the engine: cancelling, then terminating. */
    private acks = 0;
    /** When the engine last said it got a SIGINT (ms). */
    private ackedAt = -Infinity;
    private pending?: { acksBefore: number; timer: { cancel(): void } };

    constructor(private readonly hooks: InterruptHooks) {}

    private now(): number {
        return (this.hooks.now ?? Date.now)();
    }

    /** What the engine is doing: running, cancelling (finishing the steps in flight) or terminating. */
    get stop(): EngineStop {
        return this.state;
    }

    /** A line the engine printed (its stdout event): notes its "^C received; cancelling / terminating". */
    engineSaid(message: string): void {
        if (/received; cancelling/.test(message) && this.state === "running") {
            this.acks++;
            this.ackedAt = this.now();
            this.state = "cancelling";
            this.hooks.say(
                "Ctrl-C: cancelling: the engine starts no new step and finishes the ones in flight, then saves the state. Ctrl-C again stops it at once (steps in flight are cut off and must be cleared before the next run).",
            );
        } else if (/received; terminating/.test(message) && this.state !== "terminating") {
            this.acks++;
            this.ackedAt = this.now();
            this.state = "terminating";
            this.hooks.say("Ctrl-C again: stopping now: the steps in flight are cut off.");
        }
    }

    /**
     * This process got a SIGINT. If the engine does not say within {@link FORWARD_AFTER_MS} that it
     * got one too, it did not (the signal came to this process alone): it is forwarded then. Signals
     * that come while one waits, or within that time after the engine said it got one, are the same
     * Ctrl-C (npm forwards the terminal's to this process, and the engine may say so first).
     */
    signal(): void {
        if (this.pending || this.state === "terminating") return;
        // The terminal's Ctrl-C reaches the engine and this process at once: the engine's word on it
        // may come before this process's own signal handler runs.
        if (this.now() - this.ackedAt < FORWARD_AFTER_MS) return;
        const acksBefore = this.acks;
        const after =
            this.hooks.after ??
            ((ms: number, fn: () => void) => {
                const t = setTimeout(fn, ms);
                return { cancel: () => clearTimeout(t) };
            });
        this.pending = {
            acksBefore,
            timer: after(FORWARD_AFTER_MS, () => {
                const got = this.acks > (this.pending?.acksBefore ?? acksBefore);
                this.pending = undefined;
                if (!got) this.hooks.forward();
            }),
        };
    }

    /** The engine is done: nothing more to forward. */
    close(): void {
        this.pending?.timer.cancel();
        this.pending = undefined;
    }
}

/**
 * The AbortSignal the Automation API takes for a command (`up({ signal })`), and a way to send the
 * engine SIGINT through it more than once. @pulumi/pulumi 3.248.0 (automation/cmd.js) adds one
 * listener, `signal.addEventListener("abort", () => proc.kill("SIGINT"))`, to the CLI it runs: the
 * first forward aborts the controller, each later one dispatches another "abort" event to it.
 */
export function engineSignal(): { signal: AbortSignal; forward: () => void } {
    const controller = new AbortController();
    return {
        signal: controller.signal,
        forward: () => {
            if (!controller.signal.aborted) controller.abort();
            else controller.signal.dispatchEvent(new Event("abort"));
        },
    };
}
