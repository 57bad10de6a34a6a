// The VMs' outcomes after the engine bench's `up`, from the stack's `vms` output: recovered, failed,
// not finished, and whether the failed ones are exactly the VMs made never to boot.
import { FleetVm } from "./fleet";

/** The fields of a VM's record the bench reads. */
export interface VmRecordLike {
    /** Its cloud. */
    cloud?: unknown;
    /** "aws us-east-1/i-0…", "azure rg/vm", "gcp project/zone/instance": ends in the VM's name. */
    label?: unknown;
    /** recovered, recovered-by-reboot, failed, … */
    status?: unknown;
}

/** The statuses of a VM that is running again. */
export const RECOVERED_STATUSES: readonly string[] = ["recovered", "recovered-by-reboot"];

/** What became of the fleet. */
export interface Outcomes {
    /** VMs recovered. */
    recovered: number;
    /** VMs recorded failed. */
    failed: number;
    /** VMs with no record, or a status that is neither (their chain did not end). */
    notFinished: number;
    /** Labels of the failed VMs that were not made never to boot. */
    unexpectedFailures: string[];
    /** The VMs made never to boot that were not recorded failed ("cloud name"). */
    badNotFailed: string[];
    /** The failed VMs are exactly the bad ones, and every other VM recovered. */
    exact: boolean;
}

/** The record of `vm` among `records`: same cloud, label ending in its name. */
function recordOf(records: readonly VmRecordLike[], vm: FleetVm): VmRecordLike | undefined {
    return records.find((r) => r.cloud === vm.cloud && typeof r.label === "string" && r.label.endsWith(`/${vm.name}`));
}

/** The fleet's outcomes from its records (the `vms` output, by key). */
export function outcomesOf(records: Readonly<Record<string, VmRecordLike>>, vms: readonly FleetVm[], bad: readonly FleetVm[]): Outcomes {
    const all = Object.values(records);
    const isBad = new Set(bad.map((v) => v.index));
    let recovered = 0;
    let failed = 0;
    let notFinished = 0;
    const unexpectedFailures: string[] = [];
    const badNotFailed: string[] = [];
    for (const vm of vms) {
        const status = recordOf(all, vm)?.status;
        if (typeof status === "string" && RECOVERED_STATUSES.includes(status)) recovered++;
        else if (status === "failed") {
            failed++;
            if (!isBad.has(vm.index)) unexpectedFailures.push(`${vm.cloud} ${vm.name}`);
        } else notFinished++;
        if (isBad.has(vm.index) && status !== "failed") badNotFailed.push(`${vm.cloud} ${vm.name}`);
    }
    return {
        recovered,
        failed,
        notFinished,
        unexpectedFailures,
        badNotFailed,
        exact: unexpectedFailures.length === 0 && badNotFailed.length === 0 && recovered === vms.length - bad.length,
    };
}
