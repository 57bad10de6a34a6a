// What a person does about a VM the run could not recover, by where its chain stopped, and where
// its evidence is. Plain words and project commands only: no foreign text is put into them.

/** The runbook, for the cases the stack cannot finish by itself. */
const RUNBOOK = "docs/runbook.md";

/** The next step for a VM whose chain failed at `step` (a chain step's name), or stopped for another reason. */
export function nextStepFor(step: string | undefined): string {
    switch (step) {
        case "reboot":
            return "Restarts did not bring it back and the reboot step failed: fix what the reason names and run the update again (it resumes this chain), or give the VM strategy repair in the inventory.";
        case "backup":
        case "scratch":
        case "attach":
        case "fixed":
        case "restored":
            return "A cloud call failed (access, quota, a limit): fix what the reason names, then run the update again; the chain resumes at this step and the original disk is untouched.";
        case "repair":
            return `The repair engine stopped (a BitLocker disk that will not unlock: find its key): fix the cause and run the update again, or follow ${RUNBOOK}; the original disk and the backup are intact.`;
        case "swap":
            return `The swap or the boot check failed: roll the VM back with the stack, then safe mode (${RUNBOOK}, "Roll back, or retry with the stack"); the original disk is kept.`;
        case "rollback":
            return `Its original disk could not be put back: do it by hand (${RUNBOOK}, "Restore or repair by hand from the stack's backup"); the original disk is untouched.`;
        default:
            return "Read the reason, fix its cause, then run the update again; steps already done are not redone.";
    }
}

/** The next step for a VM the update left unfinished (it ended, was cancelled or stopped first). */
export const UNFINISHED_NEXT_STEP =
    "Run the update again (pulumi up, or npm run incident): the chain resumes where it stopped and steps already done are not redone.";

/** The next step for a VM rolled back at the operator's request (it runs on its faulty original disk). */
export const ROLLED_BACK_NEXT_STEP = `Recover it by hand in safe mode (${RUNBOOK}), or take it out of rollback and run the update again.`;

/** The next step for a failure outside every VM's chain (a rescue VM, the program, a policy). */
export const OTHER_NEXT_STEP =
    "Not one VM's own failure: fix what the reason names (access denied, quota, an invalid parameter, a policy), then run the update again.";

/** A VM key or label as one shell word: bare when it is plainly safe, else single-quoted. */
export function shellWord(text: string): string {
    return /^[A-Za-z0-9._/:@=+-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/** The command that prints a VM's full repair evidence from the stack's state. */
export function evidenceCommand(stack: string, vm: string): string {
    return `npm run evidence -- --stack ${shellWord(stack)} --vm ${shellWord(vm)}`;
}
