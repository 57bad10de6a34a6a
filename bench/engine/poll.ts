// How often the engine bench's watcher looks at one group of waits.
import { DEFAULT_POLL_SECONDS } from "../../components/gate/defaults";
import { SANDBOX_WAIT_SCALE } from "../../sandbox/run";

/**
 * POLL_SECONDS for a bench run: the watcher's real default (15 s) shortened as the sandbox shortens
 * the steps' waits (BOOTLOOP_WAIT_SCALE, 30 unless `env` sets it): 0.5 s. The sandbox's own default
 * (20 ms) has the watcher look at every pending group as fast as the simulated cloud answers, which
 * makes its request counts hundreds per VM and the simulated cloud the machine's largest CPU user.
 * `env.POLL_SECONDS`, when set, is kept as it is.
 */
export function benchPollSeconds(env: NodeJS.ProcessEnv): string {
    if (env.POLL_SECONDS !== undefined && env.POLL_SECONDS !== "") return env.POLL_SECONDS;
    const scale = Number(env.BOOTLOOP_WAIT_SCALE);
    return String(DEFAULT_POLL_SECONDS / (Number.isFinite(scale) && scale > 0 ? scale : SANDBOX_WAIT_SCALE));
}
