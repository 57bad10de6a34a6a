// How long an event log may stay quiet before the watch decides the update is gone. A healthy
// update can be silent for as long as its longest step runs (a command step prints nothing to the
// engine until it ends), so the default is the longest time limit a step of the stack has, plus a
// margin; an update whose process died (a runner lost, a kill) writes no summary, and without this
// the watch would follow its log for ever.
import { Settings } from "../../core/contract/settings";
import { StepWaits } from "../../core/contract/step-waits";
import { longestStepMinutes } from "../../core/step-budget";

/** The longest fixed time limit of a disk or snapshot step (AWS and GCP: 120 minutes). */
const LONGEST_DISK_STEP_MINUTES = 120;

/** Added to the longest step's limit: the engine reports the step's end, failed or not, within it. */
const MARGIN_MINUTES = 10;

/**
 * The default quiet period, in seconds: the longest time limit of a step the stack can run (its
 * clouds' command steps under `settings`, and the disk steps), plus a margin.
 */
export function defaultQuietSeconds(settings: Settings, clouds: readonly StepWaits[]): number {
    return (Math.max(LONGEST_DISK_STEP_MINUTES, longestStepMinutes(settings, clouds)) + MARGIN_MINUTES) * 60;
}
