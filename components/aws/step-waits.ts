// Every bounded wait each aws command step's script can make, as data: core gives each step the
// time these need (core/step-budget.ts), and the watch the longest. No SDK here: the inventory's
// composition root (registry/inventory.ts) carries them to the commands that declare nothing.
import { StepWaits } from "../core/contract/step-waits";

/** Seconds the AWS scripts wait for a stop, or for running after a start (common.sh's STOP_TIMEOUT_SECONDS). */
const STOP_SECONDS = 600;
/** Seconds they wait for a volume to detach or attach (common.sh's VOLUME_TIMEOUT_SECONDS). */
const VOLUME_SECONDS = 600;
/**
 * Seconds a repair document waits on the rescue instance for the tools of its version before it
 * gives up (exit 6: the rescue instance cannot run the engine, not the VM's own failure; tools.ts).
 * Their associations deliver them before the repair is sent (Pulumi waits for their success), so
 * this is a margin; repair.sh's TOOLS_WAIT_SECONDS counts it in the repair step's time.
 */
export const TOOLS_WAIT_SECONDS = 300;
/** Seconds the repair waits for each further part of a long evidence (repair.sh). */
const EVIDENCE_PART_SECONDS = 600;

/**
 * Every wait each AWS command step's script can make (exclusive branches included): the step's
 * time is their sum plus core's margins (`stepBudget`). test/step-scripts/step-budgets.test.ts
 * reads the scripts and checks these lists cover what it finds.
 */
export const AWS_STEP_WAITS: StepWaits = {
    swap: (s) => [
        { bound: "STOP_TIMEOUT_SECONDS", what: "the stop", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "the forced stop, when the stop hung", seconds: STOP_SECONDS },
        { bound: "VOLUME_TIMEOUT_SECONDS", what: "the detach of the original root volume", seconds: VOLUME_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "a stop in progress (a re-run after a cut-short swap)", seconds: STOP_SECONDS },
        { bound: "VOLUME_TIMEOUT_SECONDS", what: "the attach of the fixed volume", seconds: VOLUME_SECONDS },
        { bound: "BOOT_TIMEOUT_SECONDS", what: "the healthy boot", seconds: s.bootTimeoutMinutes * 60 },
    ],
    reboot: (s) => [
        { bound: "STOP_TIMEOUT_SECONDS", what: "a stop in progress before a restart", seconds: STOP_SECONDS, times: s.maxReboots },
        {
            bound: "REBOOT_TIMEOUT_SECONDS",
            what: "a healthy boot after each restart",
            seconds: s.rebootTimeoutMinutes * 60,
            times: s.maxReboots,
        },
    ],
    repair: (s) => [
        { bound: "REPAIR_TIMEOUT_SECONDS", what: "the rescue instance online in Systems Manager", seconds: s.repairTimeoutMinutes * 60 },
        { bound: "REPAIR_TIMEOUT_SECONDS", what: "the repair command", seconds: s.repairTimeoutMinutes * 60 },
        {
            bound: "TOOLS_WAIT_SECONDS (repair.sh)",
            what: "the repair command's wait on the rescue instance for the tools of its version (tools.ts)",
            seconds: TOOLS_WAIT_SECONDS,
        },
        // An evidence in parts is over 24,000 characters, already more than a VM's 20 KB of state:
        // one further part is budgeted, and a longer one may run out of time.
        { bound: "600 (repair.sh)", what: "a further part of a long evidence", seconds: EVIDENCE_PART_SECONDS },
    ],
    rollback: () => [
        { bound: "STOP_TIMEOUT_SECONDS", what: "on the original already: a stop in progress", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "on the original already: running after the start", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "the stop", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "the forced stop, when the stop hung", seconds: STOP_SECONDS },
        { bound: "VOLUME_TIMEOUT_SECONDS", what: "the detach of the volume of ours", seconds: VOLUME_SECONDS },
        { bound: "VOLUME_TIMEOUT_SECONDS", what: "the attach of the original root volume", seconds: VOLUME_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "running after the start", seconds: STOP_SECONDS },
    ],
};
