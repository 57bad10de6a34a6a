import * as pulumi from "@pulumi/pulumi";
import { PlannedVm } from "./plan/plan";
import { CloudSession, RescueStep, StepContext } from "./steps";

/** What one VM's chain needs. */
export interface VmChainArgs {
    /** The VM and its place in the plan. */
    vm: PlannedVm;
    /** The cloud path's session that declares the steps. */
    session: CloudSession;
    /** The component the chain's resources belong to (the VM's zone). */
    parent: pulumi.Resource;
    /** The rescue VM holding this VM's seat (absent in teardown mode). */
    rescue?: RescueStep;
    /** What the chain's first step waits for: the gate of the VM's wave, if any. */
    after: pulumi.Resource[];
    /** Teardown mode: declare only what is kept. */
    teardown: boolean;
    /** The BitLocker recovery password, a secret, when the inventory names one. */
    bitlockerKey?: pulumi.Output<string>;
}

/** The record of one VM's recovery, as the stack outputs carry it. */
export interface VmRecord {
    /** Canonical VM key. */
    key: string;
    /** Cloud of the VM. */
    cloud: string;
    /** Human label. */
    label: string;
    /** Strategy applied. */
    strategy: string;
    /** Wave the VM was recovered in. */
    wave: number;
    /** Outcome of the chain. */
    status: pulumi.Output<string>;
    /** The repair engine's evidence document (JSON). */
    evidence: pulumi.Output<string>;
    /** The retained backup. */
    backupId: pulumi.Output<string>;
    /** The original OS disk, untouched, for rollback. */
    originalDiskId: pulumi.Output<string>;
    /** The retained fixed disk now serving as OS disk. */
    fixedDiskId: pulumi.Output<string>;
    /** Seconds per phase of the swap (stop, swap, boot, total). */
    timings: pulumi.Output<Record<string, number>>;
}

/**
 * Declares one VM's recovery chain: backup → scratch disk → attach → repair → fixed disk → swap +
 * start + verify. Each step explicitly depends on the one before; the first waits for the wave
 * gate. Backup and fixed disk are declared with `retainOnDelete`, so `pulumi destroy` keeps them.
 * Returns the VM's record and the resource whose completion means its boot was verified.
 */
export function declareVmChain(args: VmChainArgs): { record: VmRecord; verified: pulumi.Resource } {
    const { vm, session, teardown, parent } = args;
    const ctx = (after: pulumi.Resource[], retain = false): StepContext => ({
        vm,
        teardown,
        bitlockerKey: args.bitlockerKey,
        opts: retain ? { parent, dependsOn: after, retainOnDelete: true } : { parent, dependsOn: after },
    });

    const backup = session.backup(ctx(args.after, true));
    let live: { scratch: ReturnType<CloudSession["scratchDisk"]>; attach: ReturnType<CloudSession["attach"]>; rescue: RescueStep } | undefined;
    if (!teardown) {
        if (!args.rescue) throw new Error(`internal: ${vm.label} has no rescue VM`);
        const scratch = session.scratchDisk(ctx([backup.resource]), backup);
        const attach = session.attach(ctx([scratch.resource]), scratch, args.rescue);
        live = { scratch, attach, rescue: args.rescue };
    }
    const repair = session.repair(ctx([live ? live.attach.resource : backup.resource]), live && { attach: live.attach, rescue: live.rescue });
    if (!repair && !teardown) throw new Error(`internal: the ${vm.cloud} path declared no repair for ${vm.label}`);
    const fixed = session.fixedDisk(ctx([repair ? repair.resource : backup.resource], true), live && repair && { repair, scratch: live.scratch });
    const swap = session.swap(ctx([fixed.resource]), fixed, backup, repair);
    const evidence = swap.evidence ?? repair?.evidence;
    if (!evidence) throw new Error(`internal: the ${vm.cloud} path keeps no evidence for ${vm.label}`);

    return {
        record: {
            key: vm.key,
            cloud: vm.cloud,
            label: vm.label,
            strategy: vm.strategy,
            wave: vm.wave,
            status: swap.status,
            evidence,
            backupId: backup.backupId,
            originalDiskId: swap.originalDiskId,
            fixedDiskId: fixed.diskId,
            timings: swap.timings,
        },
        verified: swap.resource,
    };
}
