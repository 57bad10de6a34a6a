// Every bounded wait each gcp command step's script can make, as data: core gives each step the
// time these need (core/step-budget.ts), and the watch the longest. No SDK here: the inventory's
// composition root (registry/inventory.ts) carries them to the commands that declare nothing.
import { StepWaits } from "../core/contract/step-waits";

/** Seconds the GCP scripts wait for TERMINATED after a stop, or RUNNING after a start (common.sh's STOP_TIMEOUT_SECONDS). */
const STOP_SECONDS = 600;

/**
 * Every wait each GCP command step's script can make (exclusive branches included): the step's
 * time is their sum plus core's margins (`stepBudget`). test/step-scripts/step-budgets.test.ts
 * reads the scripts and checks these lists cover what it finds.
 */
export const GCP_STEP_WAITS: StepWaits = {
    swap: (s) => [
        { bound: "STOP_TIMEOUT_SECONDS", what: "the stop", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "a stop in progress (a re-run after a cut-short swap)", seconds: STOP_SECONDS },
        { bound: "BOOT_TIMEOUT_SECONDS", what: "the boot marker on serial port 1", seconds: s.bootTimeoutMinutes * 60 },
    ],
    reboot: (s) => [
        { bound: "STOP_TIMEOUT_SECONDS", what: "a stop in progress before a restart", seconds: STOP_SECONDS, times: s.maxReboots },
        {
            bound: "REBOOT_TIMEOUT_SECONDS",
            what: "the boot marker after each restart",
            seconds: s.rebootTimeoutMinutes * 60,
            times: s.maxReboots,
        },
    ],
    repair: (s) => [{ bound: "REPAIR_TIMEOUT_SECONDS", what: "the rescue agent's result", seconds: s.repairTimeoutMinutes * 60 }],
    rollback: () => [
        { bound: "STOP_TIMEOUT_SECONDS", what: "on the original already: a stop in progress", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "on the original already: RUNNING after the start", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "the stop", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "RUNNING after the start", seconds: STOP_SECONDS },
    ],
};
