import * as pulumi from "@pulumi/pulumi";
import { abridgeEvidence } from "./evidence-record";
import { PlannedVm } from "./contract/plan";
import { CloudSession, RescueStep, StepContext, StepFailure } from "./contract/cloud-path";

/** What one VM's chain needs. */
export interface VmChainArgs {
    /** The VM and its place in the plan. */
    vm: PlannedVm;
    /** The cloud path's session that declares the steps. */
    session: CloudSession;
    /** The component the chain's resources belong to (the VM's zone). */
    parent: pulumi.Resource;
    /** The rescue VM holding this VM's seat (absent in teardown mode and for strategies without one). */
    rescue?: RescueStep;
    /** What the chain's first step waits for: the gate of the VM's wave, if any. */
    after: pulumi.Resource[];
    /** Teardown mode: declare only what is kept. */
    teardown: boolean;
    /** The BitLocker recovery password, a secret, when the inventory names one. */
    bitlockerKey?: pulumi.Output<string>;
    /** BitLocker key files the cloud keeps for the disk (base64, space-separated), a secret, when it keeps any. */
    bitlockerBek?: pulumi.Output<string>;
    /** The secret-store secret holding the VM's BitLocker keys (a reference), when its entry names one. */
    bitlockerSecret?: string;
    /** Strategy restore: the instant the restore point had to precede (ISO 8601), for its age. */
    restoreBefore: string;
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
    /** Retries its inventory entry asked for (`retry:`); absent for the first attempt. */
    retry?: number;
    /**
     * The guest OS, present only for `linux` (absent means Windows, the default, so Windows records
     * carry nothing more in state): which rule set repaired its disk and which boot signal was read.
     */
    os?: "linux";
    /** Outcome: `recovered`, `recovered-by-reboot`, `rolled-back`, `not-swapped`, … */
    status: pulumi.Output<string>;
    /**
     * The repair engine's evidence (JSON), abridged: its verdict, the files it moved or kept, and
     * where the stack keeps the full document (`npm run evidence`); empty for strategies that
     * repair nothing.
     */
    evidence: pulumi.Output<string>;
    /** The retained backup (repair), or the backup the disk was restored from (restore). */
    backupId: pulumi.Output<string>;
    /** The original OS disk, untouched, for rollback. */
    originalDiskId: pulumi.Output<string>;
    /** The retained disk now serving as OS disk (fixed or restored); empty when none was swapped in. */
    fixedDiskId: pulumi.Output<string>;
    /** Seconds per phase of the last command (stop, swap, boot, total). */
    timings: pulumi.Output<Record<string, number>>;
    /** Strategies reboot and reboot-then-repair: restarts made. */
    rebootAttempts?: pulumi.Output<number>;
    /** Strategy restore: hours between the restore point and `restoreBefore` (data lost before the cutoff). */
    recoveryPointAgeHours?: number;
    /** Strategy restore: when the restore point was taken. */
    recoveryPointTakenAt?: string;
    /**
     * What happened, in a sentence, when a status alone does not say it: a rollback's message, or,
     * with status `failed`, why the VM could not be recovered (absent otherwise).
     */
    note?: pulumi.Output<string>;
    /** With status `failed`: what a person does next (absent otherwise). */
    nextStep?: pulumi.Output<string>;
}

/** A failed step's reason and next step as record fields (each absent, so not in state, when the step did not fail). */
function failureFields(failure: pulumi.Output<StepFailure | undefined>): Pick<VmRecord, "note" | "nextStep"> {
    return {
        note: failure.apply((f) => f?.reason) as pulumi.Output<string>,
        nextStep: failure.apply((f) => f?.nextStep) as pulumi.Output<string>,
    };
}

/** What a declared chain gives the recovery: the VM's record and the resource that ends it. */
export interface DeclaredChain {
    record: VmRecord;
    /** The resource whose completion means the VM's boot was verified (or its rollback done). */
    verified: pulumi.Resource;
}

type Ctx = (after: pulumi.Resource[], retain?: boolean, rebootStatus?: pulumi.Output<string>) => StepContext;

/**
 * Declares one VM's chain for its strategy. Each step explicitly depends on the one before; the
 * first waits for the wave gate. Backups, fixed and restored disks are declared with
 * `retainOnDelete`, so `pulumi destroy` keeps them.
 */
export function declareVmChain(args: VmChainArgs): DeclaredChain {
    const { vm, parent } = args;
    const ctx: Ctx = (after, retain = false, rebootStatus) => ({
        vm,
        teardown: args.teardown,
        bitlockerKey: args.bitlockerKey,
        bitlockerBek: args.bitlockerBek,
        bitlockerSecret: args.bitlockerSecret,
        rebootStatus,
        opts: retain ? { parent, dependsOn: after, retainOnDelete: true } : { parent, dependsOn: after },
    });
    const base = recordBase(vm);
    const none = pulumi.output("");

    switch (vm.strategy) {
        case "repair":
            return repairChain(args, ctx, args.after);
        case "reboot": {
            const reboot = args.session.reboot(ctx(args.after), { mustRecover: true });
            return {
                record: {
                    ...base,
                    status: reboot.status.apply(rebootOutcome),
                    evidence: none,
                    backupId: none,
                    originalDiskId: pulumi.output(vm.originalDiskId),
                    fixedDiskId: none,
                    timings: reboot.timings,
                    rebootAttempts: reboot.attempts,
                    ...failureFields(reboot.failure),
                },
                verified: reboot.resource,
            };
        }
        case "reboot-then-repair": {
            const reboot = args.session.reboot(ctx(args.after), { mustRecover: false });
            const chain = repairChain(args, ctx, [reboot.resource], reboot.status);
            return { record: { ...chain.record, rebootAttempts: reboot.attempts }, verified: chain.verified };
        }
        case "restore": {
            const point = vm.restorePoint;
            if (!point) throw new Error(`internal: the ${vm.cloud} lookup found no restore point for ${vm.label}`);
            const restored = args.session.restoredDisk(ctx(args.after, true));
            const swap = args.session.swap(ctx([restored.resource]), restored, undefined);
            return {
                record: {
                    ...base,
                    status: swap.status,
                    evidence: none,
                    backupId: pulumi.output(point.id),
                    originalDiskId: pulumi.output(vm.originalDiskId),
                    fixedDiskId: restored.diskId,
                    timings: swap.timings,
                    recoveryPointAgeHours: recoveryPointAgeHours(point.createdAt, args.restoreBefore),
                    recoveryPointTakenAt: point.createdAt,
                    ...failureFields(swap.failure),
                },
                verified: swap.resource,
            };
        }
    }
}

/**
 * Declares a VM's rollback instead of its chain: its original OS disk is swapped back in and the VM
 * started. Nothing of the chain is declared, so a VM never recovered is never recovered by it;
 * the retained disks of a recovered VM stay in the cloud (Pulumi forgets them, never deletes them).
 */
export function declareRollback(
    args: Omit<VmChainArgs, "rescue" | "bitlockerKey" | "bitlockerBek" | "bitlockerSecret" | "restoreBefore">,
): DeclaredChain {
    const { vm } = args;
    const rollback = args.session.rollback({ vm, teardown: args.teardown, opts: { parent: args.parent, dependsOn: args.after } });
    return {
        record: {
            ...recordBase(vm),
            status: rollback.status,
            evidence: pulumi.output(""),
            backupId: pulumi.output(""),
            originalDiskId: pulumi.output(vm.originalDiskId),
            fixedDiskId: rollback.replacedDiskId,
            timings: rollback.timings,
            note: rollback.message,
        },
        verified: rollback.resource,
    };
}

/** What every record says of its VM: identity, strategy and wave. */
function recordBase(vm: PlannedVm): Pick<VmRecord, "key" | "cloud" | "label" | "strategy" | "wave" | "retry" | "os"> {
    return {
        key: vm.key,
        cloud: vm.cloud,
        label: vm.label,
        strategy: vm.strategy,
        wave: vm.wave,
        ...(vm.retry ? { retry: vm.retry } : {}),
        ...(vm.os === "linux" ? { os: "linux" as const } : {}),
    };
}

/** Hours from a restore point to the cutoff, one decimal: the data lost before the incident. */
export function recoveryPointAgeHours(takenAt: string, before: string): number {
    return Math.round((Date.parse(before) - Date.parse(takenAt)) / 360_000) / 10;
}

/** A reboot step's status as the record shows it. */
function rebootOutcome(status: string): string {
    return status === "recovered" ? "recovered-by-reboot" : status;
}

/**
 * backup → scratch disk → attach → repair → fixed disk → swap + start + verify. After a reboot
 * step, `rebootStatus` tells the repair and the swap whether there is anything left to do.
 */
function repairChain(args: VmChainArgs, ctx: Ctx, after: pulumi.Resource[], rebootStatus?: pulumi.Output<string>): DeclaredChain {
    const { vm, session, teardown } = args;
    const backup = session.backup(ctx(after, true, rebootStatus));
    let live:
        { scratch: ReturnType<CloudSession["scratchDisk"]>; attach: ReturnType<CloudSession["attach"]>; rescue: RescueStep } | undefined;
    if (!teardown) {
        if (!args.rescue) throw new Error(`internal: ${vm.label} has no rescue VM`);
        const scratch = session.scratchDisk(ctx([backup.resource], false, rebootStatus), backup);
        const attach = session.attach(ctx([scratch.resource], false, rebootStatus), scratch, args.rescue);
        live = { scratch, attach, rescue: args.rescue };
    }
    const repair = session.repair(
        ctx([live ? live.attach.resource : backup.resource], false, rebootStatus),
        live && { attach: live.attach, rescue: live.rescue },
    );
    if (!repair && !teardown) throw new Error(`internal: the ${vm.cloud} path declared no repair for ${vm.label}`);
    const fixed = session.fixedDisk(
        ctx([repair ? repair.resource : backup.resource], true, rebootStatus),
        live && repair && { repair, scratch: live.scratch },
    );
    const swap = session.swap(ctx([fixed.resource], false, rebootStatus), fixed, repair);
    // The record abridges the evidence; the full document stays once, in the output of the
    // command that keeps it (the swap's when it reads it back, else the repair's).
    const keeper = swap.evidence
        ? { evidence: swap.evidence, resource: swap.resource }
        : repair?.evidence && { evidence: repair.evidence, resource: repair.resource };
    if (!keeper) throw new Error(`internal: the ${vm.cloud} path keeps no evidence for ${vm.label}`);
    const evidence = pulumi
        .all([keeper.evidence, keeper.resource.urn])
        .apply(([document, urn]) => abridgeEvidence(document, urn.split("::").pop() ?? ""));

    return {
        record: {
            ...recordBase(vm),
            status: swap.status,
            evidence,
            backupId: backup.backupId,
            originalDiskId: pulumi.output(vm.originalDiskId),
            fixedDiskId: fixed.diskId,
            timings: swap.timings,
            ...failureFields(swap.failure),
        },
        verified: swap.resource,
    };
}
