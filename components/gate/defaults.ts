/** The watcher's defaults, apart from its entry point so that others (the fleet benchmark) can read them. */

/**
 * Seconds between two looks at one group of waits (a scope and kind). Each look answers every
 * waiting step of the group, so this sets the calls per VM more than the fleet's size does: 15 s
 * costs a step 7.5 s of latency on average per wait, a few percent of a chain.
 */
export const DEFAULT_POLL_SECONDS = 15;

/** CLI processes the watcher lets run at once by default: 4 per core, at most 64. */
export function defaultCliProcesses(cores: number): number {
    return Math.max(4, Math.min(64, 4 * cores));
}

/**
 * CPU seconds of one real CLI call on a 2-core runner, per cloud (measured with each call answered
 * by a local server; the upper end of each range): what the fleet benchmark and discovery use to
 * turn a count of calls into runner time.
 */
export const CLI_CPU_SECONDS: Readonly<Record<string, number>> = { aws: 0.43, azure: 0.87, gcp: 0.5 };
