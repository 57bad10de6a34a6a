// Every bounded wait each azure command step's script can make, as data: core gives each step the
// time these need (core/step-budget.ts), and the watch the longest. No SDK here: the inventory's
// composition root (registry/inventory.ts) carries them to the commands that declare nothing.
import { StepWaits } from "../core/contract/step-waits";

/** Seconds the Azure scripts wait for a power state or an OS-disk change (vm-lib.sh's STOP_TIMEOUT_SECONDS). */
const STOP_SECONDS = 900;
/** Seconds the attach waits for the rescue VM to show the disk (attach.sh's ATTACH_TIMEOUT_SECONDS). */
const ATTACH_SECONDS = 900;
/** The deadline of a script given no STEP_TIMEOUT_SECONDS (base.sh's default): the attach's wait for its lock ends there. */
const DEFAULT_DEADLINE_SECONDS = 3600;

/**
 * Every wait each Azure command step's script can make (exclusive branches included): the step's
 * time is their sum plus core's margins (`stepBudget`). The repair is a Run Command resource, whose
 * provider waits itself. test/step-scripts/step-budgets.test.ts reads the scripts and checks these
 * lists cover what it finds.
 */
export const AZURE_STEP_WAITS: StepWaits = {
    swap: (s) => [
        { bound: "STOP_TIMEOUT_SECONDS", what: "the deallocation", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "the VM showing the fixed OS disk", seconds: STOP_SECONDS },
        { bound: "BOOT_TIMEOUT_SECONDS", what: "running with the VM agent Ready", seconds: s.bootTimeoutMinutes * 60 },
    ],
    reboot: (s) => [
        {
            bound: "REBOOT_TIMEOUT_SECONDS",
            what: "the VM agent Ready after each restart",
            seconds: s.rebootTimeoutMinutes * 60,
            times: s.maxReboots,
        },
    ],
    rollback: () => [
        { bound: "STOP_TIMEOUT_SECONDS", what: "on the original already: a deallocation in progress", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "on the original already: a stop in progress", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "on the original already: running after the start", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "the deallocation", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "the VM showing the original OS disk", seconds: STOP_SECONDS },
        { bound: "STOP_TIMEOUT_SECONDS", what: "running after the start", seconds: STOP_SECONDS },
    ],
    // The attach passes no STEP_TIMEOUT_SECONDS (a new input would update every attach in state).
    attach: () => [
        { bound: "STEP_TIMEOUT_SECONDS (base.sh default)", what: "the rescue VM's attach lock", seconds: DEFAULT_DEADLINE_SECONDS },
        { bound: "ATTACH_TIMEOUT_SECONDS", what: "the rescue VM showing the disk at its LUN", seconds: ATTACH_SECONDS },
    ],
};
