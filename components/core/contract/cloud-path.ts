import { StepWaits } from "./step-waits";
import type * as pulumi from "@pulumi/pulumi";
import { CloudIdentity, Placement } from "./identity";
import { Strategy } from "./remedies";
import { VmEntry, RestorePoint } from "./vm";
import { PlannedVm, RescueMember, RescuePool } from "./plan";
import { ConfigSource, Settings } from "./settings";

/** What every step returns: the resource the next step waits for. */
export interface Step {
    /** The resource whose completion means the step is done. */
    resource: pulumi.Resource;
}

/** A rescue VM of a pool. */
export interface RescueStep extends Step {
    /** Cloud id of the rescue VM. */
    id: pulumi.Output<string>;
}

/** The retained backup of the original OS disk. */
export interface BackupStep extends Step {
    /** Cloud id of the snapshot/backup. */
    backupId: pulumi.Output<string>;
}

/** A disk: the temporary scratch copy, or the retained fixed disk. */
export interface DiskStep extends Step {
    /** Cloud id of the disk. */
    diskId: pulumi.Output<string>;
}

/** The scratch disk attached to its rescue VM. */
export interface AttachStep extends Step {
    /** Attachment handle the repair engine resolves to a block device (volume id, LUN, device name). */
    handle: pulumi.Output<string>;
}

/** The repair of the attached scratch disk by the repair engine. */
export interface RepairStep extends Step {
    /**
     * The engine's evidence JSON document; absent for clouds whose swap step reads it back and
     * keeps it (their repair resource does not survive teardown).
     */
    evidence?: pulumi.Output<string>;
}

/** The swap of the fixed disk in as OS disk, the start, and the boot verification. */
export interface SwapStep extends Step {
    /** Outcome of the chain, e.g. `recovered`. */
    status: pulumi.Output<string>;
    /** Seconds per phase of the swap (stop, swap, boot, total), as the swap command measured them. */
    timings: pulumi.Output<Record<string, number>>;
    /**
     * The repair evidence as the swap step keeps it, for clouds whose repair resource does not
     * survive teardown (it lives on the rescue VM): the swap reads it back from the repair and
     * prints it once. When set, it is the VM's record of evidence.
     */
    evidence?: pulumi.Output<string>;
    /** With status `failed` (the VM's own failure, recorded; the fleet goes on): why, and what a person does next. */
    failure: pulumi.Output<StepFailure | undefined>;
}

/** Why a VM could not be recovered for a reason of its own, and what a person does next. */
export interface StepFailure {
    reason: string;
    nextStep: string;
}

/** A VM's restarts until it showed a real boot signal (strategies reboot and reboot-then-repair). */
export interface RebootStep extends Step {
    /**
     * `recovered`; `not-recovered` when the VM need not recover (the repair chain follows); `failed`
     * when it had to and did not (recorded: the fleet goes on).
     */
    status: pulumi.Output<string>;
    /** With status `failed`: why, and what a person does next. */
    failure: pulumi.Output<StepFailure | undefined>;
    /** Restarts made; 0 when the VM was already healthy. */
    attempts: pulumi.Output<number>;
    /** Seconds the restarts took (`totalSeconds`). */
    timings: pulumi.Output<Record<string, number>>;
}

/** The swap of a VM's original OS disk back in, and its start (rollback). */
export interface RollbackStep extends Step {
    /** `rolled-back`, or `not-swapped` when the VM was not running on a disk of ours (a no-op). */
    status: pulumi.Output<string>;
    /** The disk of ours the VM ran on before the rollback (kept, detached); empty for a no-op. */
    replacedDiskId: pulumi.Output<string>;
    /** What the rollback did, in a sentence, for the record and the report. */
    message: pulumi.Output<string>;
    /** Seconds per phase (stop, swap, start, total). */
    timings: pulumi.Output<Record<string, number>>;
}

/** What a restore-point lookup needs: only backups taken before this instant (ISO 8601, UTC) qualify. */
export interface RestoreLookup {
    before: string;
}

/** Everything a per-VM step needs, prepared by core. */
export interface StepContext {
    /** The VM, with its placement, facts from the lookup, wave and rescue seat. */
    vm: PlannedVm;
    /**
     * Options every resource of the step must be declared with (merge, never replace): the parent,
     * the explicit dependency on the previous step (or on the wave gate), and `retainOnDelete` on
     * the steps whose results are kept (backup and fixed disk).
     */
    opts: pulumi.CustomResourceOptions;
    /** True in teardown mode: temporary resources are gone; retained ones keep their state. */
    teardown: boolean;
    /** The VM's BitLocker recovery password (a Pulumi secret), when the inventory names one. */
    bitlockerKey?: pulumi.Output<string>;
    /**
     * BitLocker key files (BEK) the cloud keeps for the VM's OS disk (Azure Disk Encryption), base64,
     * space-separated, a Pulumi secret: fetched before anything is declared (`Resolved.fetchBeks`).
     */
    bitlockerBek?: pulumi.Output<string>;
    /**
     * The secret in the cloud's secret store that holds the VM's BitLocker keys (the value of the
     * path's `bitlocker.secretField`), for the repair to name to the rescue VM; set only when this
     * run repairs the VM's disk. A reference, not a key: it may appear in state and logs.
     */
    bitlockerSecret?: string;
    /**
     * Strategy reboot-then-repair: the reboot step's status. The repair and the swap do nothing
     * when it is `recovered` (the VM came back; its disks stay as they are).
     */
    rebootStatus?: pulumi.Output<string>;
}

/** The distinct secrets a rescue VM's disks name (`RescueContext.keySecrets`), sorted: what its identity may read. */
export function distinctSecrets(keySecrets: RescueContext["keySecrets"]): string[] {
    return [...new Set(keySecrets.map((k) => k.secret))].sort();
}

/** What a rescue VM declaration needs. */
export interface RescueContext {
    /** The pool (cloud, placement, capacity) the member belongs to. */
    pool: RescuePool;
    /** The member: its name and the VMs whose disks it serves. */
    member: RescueMember;
    /** A VM of the pool, whose lookup facts (network, subnet) the rescue VM may reuse. */
    sample: PlannedVm;
    /**
     * The secret-store secrets (`StepContext.bitlockerSecret`) of the VMs whose disks this rescue
     * VM repairs in this run, in slot order: the rescue VM's identity may read exactly these.
     */
    keySecrets: { vm: PlannedVm; secret: string }[];
    /**
     * The VMs whose disks this rescue VM repairs in this run as a retry (their entries' `retry:`),
     * with the attempt: a rescue VM that repairs each disk once on its own (GCP's agent) is told
     * to repair it again.
     */
    retries: { vm: PlannedVm; attempt: number }[];
    /** Options to declare the rescue VM's resources with (parent). */
    opts: pulumi.CustomResourceOptions;
}

/** What the cloud's lookup found about a VM. */
export interface Resolved {
    /** Scope, region and zone. */
    placement: Placement;
    /**
     * The VM's original OS disk: the one it ran on before any swap of ours (found through the tags
     * of our disks once the VM was swapped), never written, kept for rollback.
     */
    originalDiskId: string;
    /** Facts later steps need (root device name, subnet, disk shape, …). */
    facts: Record<string, string>;
    /** Strategy restore: the backup the new OS disk is made from (the lookup fails when there is none). */
    restorePoint?: RestorePoint;
    /**
     * Fetches the BitLocker key files (BEK) the cloud keeps for the VM's OS disk (Azure Disk
     * Encryption's Key Vault secrets), base64, space-separated. Core calls it before anything is
     * declared, and only for a VM whose disk this run repairs; a rejection stops the VM as a failed
     * lookup does, with its reason (the vault, the permission). What it resolves to is made a
     * Pulumi secret at once. Absent when the disk needs none, or was repaired already.
     */
    fetchBeks?: () => Promise<string>;
}

/**
 * The recovery chain of one cloud, for one `pulumi up`. Core calls the steps in order for each
 * VM and wires the dependencies; the cloud declares its resources and nothing else.
 *
 *     repair:             backup ─> scratchDisk ─> attach (to rescueVm) ─> repair ─> fixedDisk ─> swap
 *     reboot:             reboot
 *     reboot-then-repair: reboot ─> (the repair chain, which does nothing when the reboot recovered)
 *     restore:            restoredDisk ─> swap
 *     rollback (any):     rollback
 *
 * In teardown mode core does not declare rescue VMs, scratch disks or attachments; `repair` and
 * `fixedDisk` are then called without them and must re-declare their resources so that nothing
 * changes (their results, the evidence and the fixed disk, are kept). A cloud whose repair resource
 * cannot outlive its rescue VM returns no repair step in teardown; its swap step then carries the
 * evidence.
 */
export interface CloudSession {
    /**
     * Looks up what the inventory leaves out and, when `restore` is given, the VM's restore point
     * (core asks only for VMs with strategy restore that are not being rolled back). Called for
     * every VM before any step is declared; throws with the reason when the VM cannot be recovered
     * as asked.
     */
    resolve(vm: VmEntry, restore: RestoreLookup | undefined): Promise<Resolved>;
    /** Declares one rescue VM of a zone's pool. */
    rescueVm(ctx: RescueContext): RescueStep;
    /** Declares the retained backup of the VM's OS disk. */
    backup(ctx: StepContext): BackupStep;
    /** Declares the temporary scratch disk made from the backup. */
    scratchDisk(ctx: StepContext, backup: BackupStep): DiskStep;
    /** Attaches the scratch disk to the VM's rescue VM at its seat's slot. */
    attach(ctx: StepContext, scratch: DiskStep, rescue: RescueStep): AttachStep;
    /** Runs the repair engine on the rescue VM against the attached disk (in teardown: see above). */
    repair(ctx: StepContext, attached: { attach: AttachStep; rescue: RescueStep } | undefined): RepairStep | undefined;
    /** Declares the retained fixed disk, cloned from the repaired scratch disk. */
    fixedDisk(ctx: StepContext, source: { repair: RepairStep; scratch: DiskStep } | undefined): DiskStep;
    /** Swaps the fixed (or restored) disk in as OS disk, starts the VM and verifies it boots. */
    swap(ctx: StepContext, fixed: DiskStep, repair: RepairStep | undefined): SwapStep;
    /**
     * Restarts the VM up to `maxReboots` times, checking for a real boot signal after each, and
     * stops at the first healthy boot. When `mustRecover`, a VM that never boots fails the step;
     * otherwise the step reports `not-recovered`. Changes no disk.
     */
    reboot(ctx: StepContext, options: { mustRecover: boolean }): RebootStep;
    /** Declares the retained new OS disk made from the VM's restore point (`ctx.vm.restorePoint`). */
    restoredDisk(ctx: StepContext): DiskStep;
    /**
     * Swaps the VM's original OS disk back in and starts it. A VM not running on a disk of ours is
     * left alone (status `not-swapped`, with a message).
     */
    rollback(ctx: StepContext): RollbackStep;
}

/** What a session is opened with. */
export interface SessionContext<C> {
    /** The root component: shared resources (providers, roles, documents) are its children. */
    parent: pulumi.ComponentResource;
    /** Core settings (timeouts, teardown). */
    settings: Settings;
    /** The cloud's own settings, as its `configure` returned them. */
    config: C;
}

/** Where a cloud path's repairs may take BitLocker keys from (besides what the cloud keeps itself, `Resolved.fetchBeks`). */
export interface BitLockerKeySources {
    /**
     * `true` when an entry's `bitlockerKey` (a secret stack-config key) can reach the repair;
     * otherwise why not, and what to use instead (for the validation message).
     */
    stackConfig: true | string;
    /**
     * The cloud's own inventory field that names a secret in the cloud's secret store (recovery
     * passwords or a BEK), which the rescue VM reads itself with its own identity: the deployer
     * never handles the key. Absent when the cloud has none.
     */
    secretField?: string;
}

/**
 * What validating an inventory knows of a built cloud path: its identity, the strategies it
 * implements and where its repairs take BitLocker keys from. Each cloud declares it apart from its
 * path (no Pulumi SDK), so commands that only validate an inventory load no cloud SDK.
 */
export interface BuiltCloud {
    /** How the cloud's VMs are written in the inventory. */
    identity: CloudIdentity;
    /** The strategies this path implements. */
    strategies: readonly Strategy[];
    /** Where this path's repairs may take BitLocker keys from. */
    bitlocker: BitLockerKeySources;
    /** Every bounded wait each of its command steps' scripts can make: each step's time comes from them. */
    stepWaits: StepWaits;
}

/** A cloud's recovery path: what core needs to validate, plan and drive it. */
export interface CloudPath<C = unknown> extends BuiltCloud {
    /** Disks one rescue VM holds: the default, and the most the cloud allows. */
    disksPerRescue: { default: number; max: number };
    /** The cloud's config keys (name → meaning), for docs/reference.md and messages. */
    configKeys: Record<string, string>;
    /**
     * Reads and validates the cloud's own config keys. Called before anything is declared; throws
     * an InputError naming the stack file and key for a bad value.
     */
    configure(config: ConfigSource, stackFile: string): C;
    /** Opens the path for one program run. */
    openSession(ctx: SessionContext<C>): CloudSession;
    /**
     * Answers the path's lookups in the offline plan with placeholders derived from the inventory
     * (the lookup's arguments, and the validated entries of this cloud): returns the result for a
     * function token it owns, or undefined for tokens it does not own.
     */
    offlineLookup(token: string, inputs: Record<string, unknown>, vms: readonly VmEntry[]): Record<string, unknown> | undefined;
    /**
     * Stores a VM's BitLocker keys (recovery password lines, in `keyFile`, root-only) in the cloud's
     * secret store, in a secret of the VM's own named from the stack and the VM, and resolves to
     * that secret's reference (a value of `bitlocker.secretField`). For `npm run import-keys`;
     * present when the path reads keys from a secret store.
     */
    storeKeySecret?(this: void, vm: VmEntry, args: { stack: string; config: C; keyFile: string }): Promise<string>;
}
