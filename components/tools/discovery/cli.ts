import { Gate } from "../../gate/gate";
import { Semaphore } from "../../gate/limits";
import { CloudCli, CliError } from "../../gate/types";
import { DiscoveryCli } from "./types";

/** How long one call may keep being retried while its cloud is busy. */
export const CALL_DEADLINE_MS = 10 * 60_000;

/**
 * Discovery's door to the clouds: the watcher's gate (CLI processes bounded, each scope kept under
 * its cloud's rate limits and slowed down when throttled), with transient errors retried with
 * jittered exponential backoff until the call's deadline. Counts calls per CLI operation.
 */
export class DiscoveryGate implements DiscoveryCli {
    private readonly gate: Gate;
    /** Calls made per `cloud op` (`aws ec2 describe-instances`), retries included. */
    readonly calls: Record<string, number> = {};

    constructor(
        clouds: readonly CloudCli[],
        processes: number,
        private readonly deadlineMs = CALL_DEADLINE_MS,
        private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    ) {
        this.gate = new Gate(new Map(clouds.map((c) => [c.cloud, c])), new Semaphore(processes), 1);
    }

    /** The most CLI processes alive at once so far. */
    get peakProcesses(): number {
        return this.gate.stats.peakProcesses;
    }

    /** Calls that came back throttled or busy, per cloud. */
    get throttled(): Record<string, number> {
        return this.gate.stats.throttled;
    }

    async run(call: {
        cloud: string;
        scope: string;
        op: string;
        command: string;
        args: string[];
        env?: Record<string, string>;
    }): Promise<string> {
        const deadline = Date.now() + this.deadlineMs;
        for (let attempt = 0; ; attempt++) {
            const name = `${call.cloud} ${call.op}`;
            this.calls[name] = (this.calls[name] ?? 0) + 1;
            try {
                return await this.gate.run(call);
            } catch (err) {
                if (!(err instanceof CliError) || !err.transient) throw err;
                // Full jitter: 1 s, 2 s, 4 s … capped at 60 s, never past the deadline.
                const wait = Math.random() * Math.min(60_000, 1000 * 2 ** attempt);
                if (Date.now() + wait > deadline)
                    throw new CliError(
                        `still throttled or busy after ${Math.round(this.deadlineMs / 60_000)} minutes: ${err.message}`,
                        true,
                    );
                await this.sleep(wait);
            }
        }
    }
}
