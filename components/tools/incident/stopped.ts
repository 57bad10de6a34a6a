// What a person reads after a Ctrl-C stopped the update: the state the run is in, and the exact
// command that resumes it.
import { Counts } from "../progress/progress";
import { EngineStop } from "./interrupt";

/**
 * After the update stopped on Ctrl-C: where the VMs stand, what the state holds, and how to go on.
 * `cancelling` (one Ctrl-C): the engine waited for the steps in flight and saved the state, so the
 * same command resumes. `terminating` (two): the steps in flight were cut off and may be pending
 * in the state: refresh first (docs/runbook.md, "After a cancelled or killed `pulumi up`").
 */
export function stoppedText(stop: EngineStop, counts: Counts, resume: string, pulumi: string, stack: string): string {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const inFlight = counts.backup + counts.repairing + counts.swapping;
    const where = `${counts.verified} of ${total} VMs verified, ${counts.failed} failed, ${inFlight} part-way through their chain, ${counts.waiting} not started`;
    if (stop === "terminating")
        return [
            `Stopped at once (Ctrl-C twice): ${where}.`,
            "The steps that were in flight were cut off: the state may list them as pending operations, and what they created in the cloud may not be in the state yet. Backups, original disks and finished steps are kept.",
            'To resume: make sure no update of this stack is still running, then clear the pending operations (docs/runbook.md, "After a cancelled or killed `pulumi up`"):',
            `  ${pulumi} refresh --stack ${stack} --yes      (lists the pending creates; import or clear each as the runbook says)`,
            `  ${resume}`,
        ].join("\n");
    return [
        `Cancelled (Ctrl-C): ${where}.`,
        "The engine started no new step after the Ctrl-C, waited for the steps in flight and saved the state: every finished step is kept and the next run does not redo it; a step the cancel cut short shows as failed above and runs again next time (every step is idempotent).",
        `To resume: ${resume}`,
    ].join("\n");
}
