// A VM's record as the stack's `vms` output carries it, and whether it needs a person: what the
// report and the status model share.

/** One VM's record as `pulumi stack output vms --json` shows it (values resolved). */
export interface VmRecordValues {
    key: string;
    cloud: string;
    label: string;
    strategy: string;
    wave: number;
    status?: string;
    evidence?: string;
    backupId?: string;
    originalDiskId?: string;
    fixedDiskId?: string;
    timings?: Record<string, number>;
    /** Strategy restore: age of the recovery point, in hours (when the strategy records it). */
    recoveryPointAgeHours?: number;
    /** Strategy restore: when the restore point was taken. */
    recoveryPointTakenAt?: string;
    /** Strategies reboot and reboot-then-repair: restarts made. */
    rebootAttempts?: number;
    /** Retries its inventory entry asked for (`retry:`); absent for the first attempt. */
    retry?: number;
    /** The guest OS, present only for `linux` (absent: Windows). */
    os?: string;
    /** What happened, in a sentence: a rollback's message, or with status `failed` why the VM could not be recovered. */
    note?: string;
    /** With status `failed` (the VM's own failure, recorded; the fleet went on): what a person does next. */
    nextStep?: string;
}

/** The stack outputs the report reads. */
export interface StackOutputs {
    vms?: Record<string, VmRecordValues>;
}

/** The parts of a VM's (abridged) evidence the report reads. */
export interface Evidence {
    outcome?: string;
    message?: string;
    exitCode?: number;
    durationMs?: number;
    volumes?: { matches?: { path: string; modifiedAt: string; sha256: string; action: string }[] }[];
}

/** A record's evidence parsed, or undefined when there is none, it is secret or not JSON. */
export function parseEvidence(text: string | undefined): Evidence | undefined {
    if (!text || text === "[secret]") return undefined;
    try {
        return JSON.parse(text) as Evidence;
    } catch {
        return undefined;
    }
}

/** Statuses of a VM that is back and needs nothing more. */
const DONE = ["recovered", "recovered-by-reboot"];

/** Why a VM needs a person, or undefined when it is done (plain text). */
export function needsPerson(vm: VmRecordValues): string | undefined {
    return needsPersonBecause(vm, String);
}

/** Why a VM needs a person, with the record's own text (foreign) passed through `esc`. */
export function needsPersonBecause(vm: VmRecordValues, esc: (foreign: string | undefined) => string): string | undefined {
    const evidence = parseEvidence(vm.evidence);
    if (vm.status === "rolled-back" || vm.status === "not-swapped") {
        return `rolled back at the operator's request (it ${vm.note ? esc(vm.note.replace(/; nothing to do$/, "")) : "runs on its original disk"}); the original disk holds what made it fail`;
    }
    if (vm.status === "failed")
        return `failed: ${vm.note ? esc(vm.note) : "its record gives no reason"}${vm.nextStep ? `; next: ${esc(vm.nextStep)}` : ""}`;
    if (!vm.status || !DONE.includes(vm.status))
        return vm.status ? `status ${esc(vm.status)}` : "no status: its chain did not finish (see the pulumi up log)";
    if (vm.strategy === "repair" && !evidence) return "no readable repair evidence";
    if (evidence && evidence.exitCode !== 0) return `repair ${esc(evidence.outcome)}: ${esc(evidence.message)}`;
    return undefined;
}
