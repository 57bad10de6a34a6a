// The next step for a VM whose chain failed, by the step it failed at: plain words and project
// commands only (no foreign text), printed under the failure's reason while the update runs.

/** What a person does about a VM whose chain failed at `step` (a chain step's name), or about a failure outside the chains. */
export function nextStepAfter(step: string | undefined): string {
    switch (step) {
        case "reboot":
            return "restarts did not bring it back: fix what the reason names and run the incident again (the chain resumes), or give the VM strategy repair in the inventory";
        case "backup":
        case "scratch":
        case "attach":
        case "fixed":
        case "restored":
            return "a cloud call failed (access, quota, a limit): fix what the reason names and run the incident again; the chain resumes at this step and the original disk is untouched";
        case "repair":
            return "the repair stopped (a BitLocker disk without its key?): fix the cause and run the incident again, or follow docs/runbook.md; the original disk and the backup are intact";
        case "swap":
            return 'the swap or the boot check failed: roll the VM back with the stack, then safe mode (docs/runbook.md, "Roll back, or retry with the stack"); the original disk is kept';
        case "rollback":
            return 'its original disk could not be put back: do it by hand (docs/runbook.md, "Restore or repair by hand from the stack\'s backup")';
        default:
            return "fix what the reason names, then run the incident again: steps already done are kept";
    }
}
