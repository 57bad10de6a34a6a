// The watcher: one process per runner and credentials, started by the first step that needs it
// (base.sh, `watcher_start`), gone by itself when nothing has waited for a while. Every step's
// waits are answered from batched observations, and every CLI call passes its gate.
//
//   node -r ts-node/register/transpile-only cli/watcher.ts RUN_DIR
//
// Environment: POLL_SECONDS (15: between two looks at one group; slow kinds look less often), BOOTLOOP_TIME_SCALE (1; the fleet benchmark compresses time), BOOTLOOP_WAIT_SCALE (1; the sandbox shortens waits by it),
// BOOTLOOP_RATE_SHARE (1: the stack's share of each scope's budget, its `rateShare`), BOOTLOOP_RATE_SCALE
// (BOOTLOOP_TIME_SCALE: multiplies the buckets' refill rates only; a bench whose simulated cloud refills in real time sets 1),
// BOOTLOOP_MAX_CLI_PROCESSES (4 per core, at most 64), BOOTLOOP_WATCHER_IDLE_SECONDS (120),
// BOOTLOOP_BLIND_GRACE_SECONDS (1800: how long past a wait's deadline the watcher keeps trying
// when no observation at all could be made, before it fails the wait saying so).
import * as os from "os";
import { cloudWatches } from "../components/registry/watchers";
import { Gate } from "../components/gate/gate";
import { Semaphore } from "../components/gate/limits";
import { serve } from "../components/watcher/server";
import { Waiter } from "../components/watcher/waiter";
import { DEFAULT_POLL_SECONDS, defaultCliProcesses, rateScaleFrom, rateShareFrom } from "../components/gate/defaults";
import { EXIT } from "./command/exit-codes";
import { describeRateShare } from "../components/core/rate-share";

function positive(name: string, fallback: number): number {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
}

async function main(): Promise<void> {
    const dir = process.argv[2];
    if (!dir) throw new Error("usage: node -r ts-node/register/transpile-only cli/watcher.ts RUN_DIR");
    const scale = positive("BOOTLOOP_TIME_SCALE", 1);
    // POLL_SECONDS=0 (the script tests) still leaves 20 ms between two calls of one group.
    const pollMs = Math.max(20, Number(process.env.POLL_SECONDS ?? DEFAULT_POLL_SECONDS) * 1000 || 0);
    const processes = Math.min(64, Math.floor(positive("BOOTLOOP_MAX_CLI_PROCESSES", defaultCliProcesses(os.cpus().length))));
    const share = rateShareFrom(process.env);
    const rateScale = rateScaleFrom(process.env, scale);
    // The stack's providers spend the same scopes' budgets outside the gate: their allowance is left to them.
    const gate = new Gate(new Map(cloudWatches.map((c) => [c.cloud, c])), new Semaphore(processes), {
        timeScale: scale,
        rateScale,
        share,
        reserveForProviders: true,
    });
    const waiter = new Waiter(gate, {
        pollMs,
        batchWindowMs: Math.min(1000, pollMs / 10),
        // A starved or throttled runner is a runner-time matter: not compressed with cloud time.
        blindGraceMs: Math.max(pollMs * 6, positive("BOOTLOOP_BLIND_GRACE_SECONDS", 1800) * 1000),
        backoffCapMs: Math.max(pollMs, 120_000 / scale),
    });
    await serve({
        dir,
        gate,
        waiter,
        idleMs: positive("BOOTLOOP_WATCHER_IDLE_SECONDS", 120) * 1000,
        timeScale: scale,
        waitScale: positive("BOOTLOOP_WAIT_SCALE", 1),
    });
    process.stderr.write(
        `bootloop-rescue watcher ${process.pid}: up (poll ${pollMs} ms, ${processes} CLI processes at once, share of each scope's budget ${describeRateShare(share)}, rates × ${rateScale})\n`,
    );
}

if (require.main === module) {
    main().catch((err) => {
        process.stderr.write(`bootloop-rescue watcher: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(EXIT.failed);
    });
}
