// What a cloud declares of its command steps' scripts: every bounded wait each can make, so core
// gives each step the time those waits need (core/step-budget.ts), and the watch knows the longest.
import { Settings } from "./settings";

/**
 * One bounded wait a command step's script can make: what bounds it (the script's variable, e.g.
 * `STOP_TIMEOUT_SECONDS`, or the literal's place), what it waits for, and its seconds. A cloud
 * lists every such wait of each of its step scripts (exclusive branches included, so the sum
 * bounds every path); test/step-scripts/step-budgets.test.ts reads the scripts and holds the lists
 * to them.
 */
export interface StepWait {
    /** The script variable (or literal) that bounds the wait. */
    bound: string;
    /** What the script waits for there. */
    what: string;
    /** Seconds the wait may last. */
    seconds: number;
    /** How often the script can make it (default 1): once per restart, per evidence part. */
    times?: number;
}

/** A cloud's command steps, each as the waits its script can make under the stack's settings. */
export interface StepWaits {
    /** The reboot step's waits (each restart's). */
    reboot(this: void, settings: Settings): readonly StepWait[];
    /** Absent for a cloud whose repair is not a command step (its provider's resource waits itself). */
    repair?(this: void, settings: Settings): readonly StepWait[];
    /** The swap's waits: the stop, the disks' exchange, the boot. */
    swap(this: void, settings: Settings): readonly StepWait[];
    /** The rollback's waits. */
    rollback(this: void, settings: Settings): readonly StepWait[];
    /** A cloud whose disks attach through a command step of its own (Azure): that step's waits. */
    attach?(this: void, settings: Settings): readonly StepWait[];
}
