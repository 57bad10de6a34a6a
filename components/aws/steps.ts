import * as aws from "@pulumi/aws";
import * as local from "@pulumi/command/local";
import * as pulumi from "@pulumi/pulumi";
import { instantMark } from "../core/restore-point";
import {
    commandOptions,
    rebootCommandSettings,
    rebootStep,
    repairCommandSettings,
    rollbackStep,
    swapCommandSettings,
    swapStepOf,
    unpackEvidence,
} from "../core/cloud-steps";
import { budgetTimeouts, StepBudget, stepBudget } from "../core/step-budget";
import { AWS_STEP_WAITS } from "./step-waits";
import { Settings } from "../core/contract/settings";
import {
    AttachStep,
    BackupStep,
    DiskStep,
    RebootStep,
    RepairStep,
    RescueStep,
    RollbackStep,
    StepContext,
    SwapStep,
} from "../core/contract/cloud-path";
import { AwsConfig, bootMarkerOf } from "./config";
import { GuestOs, guestOs } from "../core/contract/vm";
import { AwsFacts } from "./lookups";
import { awsCommandLine } from "./scripts";
import { REPEAT_PREVIOUS_OUTPUT, STEP_LOGGING, RUN_ONCE_IGNORED } from "../core/script-text";
import { ChainStep, vmStepName } from "../core/contract/chain-steps";

/** Device names for attach slots: /dev/sdf … /dev/sdz, then /dev/sdb … /dev/sde (25 in all). */
const DEVICE_LETTERS = "fghijklmnopqrstuvwxyzbcde";
/** At most this many volumes per rescue instance: Nitro's 28 attachments less root, ENI and a spare. */
export const AWS_MAX_DISKS_PER_RESCUE = 24;

/** The device name of an attach slot on a rescue instance. */
export function deviceForSlot(slot: number): string {
    if (slot < 0 || slot >= AWS_MAX_DISKS_PER_RESCUE) throw new Error(`internal: slot ${slot} out of range`);
    return `/dev/sd${DEVICE_LETTERS[slot]}`;
}

/** What the AWS steps share within one run. */
export interface AwsStepEnv {
    /** Settings of the run (timeouts). */
    settings: Settings;
    /** AWS settings. */
    config: AwsConfig;
    /** Provider of an account. */
    providerOf(account: string): aws.Provider;
    /** The repair document of an account and region for a guest OS (its rule set is in it). */
    document(account: string, region: string, guest: GuestOs): aws.ssm.Document;
    /**
     * What puts the rescue tools on a rescue instance (its tools associations): its repairs wait for
     * it. The session always gives it (path.ts); absent, as in tests that declare single steps,
     * a repair waits for nothing more.
     */
    toolsOf?(rescue: RescueStep): pulumi.Resource[];
    /** Tags every resource carries (stack, tool). */
    tags: Record<string, string>;
}

const facts = (ctx: StepContext) => ctx.vm.facts as unknown as AwsFacts;
const region = (ctx: StepContext) => ctx.vm.fields.region;

function tags(env: AwsStepEnv, ctx: StepContext, role: ChainStep): Record<string, string> {
    return {
        ...ctx.vm.labels,
        ...env.tags,
        "bootloop-rescue:instance": ctx.vm.fields.instanceId,
        "bootloop-rescue:role": role,
        Name: vmStepName(ctx.vm, role),
    };
}

/** Tags of a volume that may become the root volume: it names the original, so later lookups find it. */
function rootCandidateTags(env: AwsStepEnv, ctx: StepContext, role: "fixed" | "restored"): Record<string, string> {
    return { ...tags(env, ctx, role), "bootloop-rescue:original": ctx.vm.originalDiskId };
}

function volumeShape(f: AwsFacts): { iops?: number; throughput?: number } {
    const iops = ["io1", "io2", "gp3"].includes(f.volumeType) && f.iops ? Number(f.iops) : undefined;
    const throughput = f.volumeType === "gp3" && f.throughput ? Number(f.throughput) : undefined;
    return { iops, throughput };
}

function opts(env: AwsStepEnv, ctx: StepContext, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return pulumi.mergeOptions(ctx.opts, { provider: env.providerOf(ctx.vm.placement.scope), ...extra });
}

/** Environment every command of the VM gets: region, label, and the role to act as. */
function commandEnv(env: AwsStepEnv, ctx: StepContext): Record<string, string> {
    const role = env.config.assumeRoleArns[ctx.vm.placement.scope];
    return { AWS_REGION: region(ctx), VM_LABEL: ctx.vm.label, ...(role ? { ASSUME_ROLE_ARN: role } : {}) };
}

export function backup(env: AwsStepEnv, ctx: StepContext): BackupStep {
    const snapshot = new aws.ebs.Snapshot(
        vmStepName(ctx.vm, "backup"),
        {
            volumeId: ctx.vm.originalDiskId,
            region: region(ctx),
            description: `bootloop-rescue backup of the root volume of ${ctx.vm.fields.instanceId}, taken before its offline repair`,
            tags: tags(env, ctx, "backup"),
        },
        opts(env, ctx, { customTimeouts: { create: "120m" } }),
    );
    return { resource: snapshot, backupId: snapshot.id };
}

export function scratchDisk(env: AwsStepEnv, ctx: StepContext, backup: BackupStep): DiskStep {
    const f = facts(ctx);
    const volume = new aws.ebs.Volume(
        vmStepName(ctx.vm, "scratch"),
        {
            availabilityZone: ctx.vm.placement.zone,
            region: region(ctx),
            snapshotId: backup.backupId,
            type: f.volumeType,
            ...volumeShape(f),
            // A volume made from an encrypted snapshot is encrypted; keep the same KMS key.
            encrypted: f.encrypted === "true" ? true : undefined,
            kmsKeyId: f.kmsKeyId || undefined,
            tags: tags(env, ctx, "scratch"),
        },
        opts(env, ctx, { customTimeouts: { create: "60m" } }),
    );
    return { resource: volume, diskId: volume.id };
}

export function attach(env: AwsStepEnv, ctx: StepContext, scratch: DiskStep, rescue: RescueStep): AttachStep {
    const attachment = new aws.ec2.VolumeAttachment(
        vmStepName(ctx.vm, "attach"),
        { deviceName: deviceForSlot(ctx.vm.seat!.slot), volumeId: scratch.diskId, instanceId: rescue.id, region: region(ctx) },
        opts(env, ctx),
    );
    // On Nitro the device name is a hint; the engine finds the volume by its id (NVMe serial).
    return { resource: attachment, handle: scratch.diskId };
}

/** Stand-in for inputs whose resources are gone in teardown; ignored, so state keeps the real ones. */
const RETIRED = "vol-00000000000000000";

export function repair(env: AwsStepEnv, ctx: StepContext, attached: { attach: AttachStep; rescue: RescueStep } | undefined): RepairStep {
    // Once a repair succeeded it never runs again: a new script text, a replaced rescue instance
    // or teardown must not re-run it (its evidence stays in state).
    const core = repairCommandSettings(env.settings, ctx, AWS_STEP_WAITS.repair!(env.settings));
    const command = scriptCommand(
        env,
        ctx,
        "repair",
        "repair",
        {
            ...core.environment,
            RESCUE_INSTANCE_ID: attached ? attached.rescue.id : "i-00000000000000000",
            VOLUME_ID: attached ? attached.attach.handle : RETIRED,
            DOCUMENT_NAME: env.document(ctx.vm.placement.scope, region(ctx), guestOs(ctx.vm)).name,
            // A reference (the secret's ARN): the rescue instance reads the keys with its own role.
            KEY_SECRET: ctx.bitlockerSecret ?? "",
        },
        core.budget,
        attached ? (env.toolsOf?.(attached.rescue) ?? []) : [],
    );
    return { resource: command, evidence: command.stdout.apply(unpackEvidence) };
}

export function fixedDisk(env: AwsStepEnv, ctx: StepContext, source: { repair: RepairStep; scratch: DiskStep } | undefined): DiskStep {
    const f = facts(ctx);
    // EBS CopyVolumes: a crash-consistent copy of the repaired scratch volume in the same AZ, made
    // after the engine unmounted it cleanly. It was never attached to anything: the swap attaches it.
    const copy = new aws.ebs.VolumeCopy(
        vmStepName(ctx.vm, "fixed"),
        {
            sourceVolumeId: source ? source.scratch.diskId : RETIRED,
            region: region(ctx),
            volumeType: f.volumeType,
            ...volumeShape(f),
            tags: rootCandidateTags(env, ctx, "fixed"),
        },
        opts(env, ctx, { ignoreChanges: ["sourceVolumeId"], customTimeouts: { create: "120m" } }),
    );
    return { resource: copy, diskId: copy.id };
}

/** A command step: a script run where `pulumi up` runs, once (a new text or input never re-runs it). */
function scriptCommand(
    env: AwsStepEnv,
    ctx: StepContext,
    step: ChainStep,
    script: Parameters<typeof awsCommandLine>[0],
    environment: Record<string, pulumi.Input<string>>,
    budget: StepBudget,
    /** Resources the step must wait for beyond its inputs' (a dependency, not an input: no diff). */
    dependsOn: pulumi.Resource[] = [],
): local.Command {
    const timeouts = budgetTimeouts(budget);
    return new local.Command(
        vmStepName(ctx.vm, step),
        {
            create: awsCommandLine(script),
            update: REPEAT_PREVIOUS_OUTPUT,
            logging: STEP_LOGGING,
            environment: { ...commandEnv(env, ctx), ...timeouts.environment, ...environment },
        },
        commandOptions(ctx, { ignoreChanges: RUN_ONCE_IGNORED, customTimeouts: timeouts.customTimeouts, dependsOn }),
    );
}

export function swap(env: AwsStepEnv, ctx: StepContext, fixed: DiskStep, repair: RepairStep | undefined): SwapStep {
    // A repair that failed for a reason of the VM's own reaches the swap as REPAIR_FAILED (core
    // reads the repair's evidence): the swap then swaps nothing and reports failed.
    const core = swapCommandSettings(env.settings, ctx, AWS_STEP_WAITS.swap(env.settings), repair);
    const command = scriptCommand(
        env,
        ctx,
        "swap",
        "swap",
        {
            ...core.environment,
            INSTANCE_ID: ctx.vm.fields.instanceId,
            ORIGINAL_VOLUME_ID: ctx.vm.originalDiskId,
            FIXED_VOLUME_ID: fixed.diskId,
            ROOT_DEVICE: facts(ctx).rootDeviceName,
            BOOT_MARKER: bootMarkerOf(env.config, ctx.vm),
        },
        core.budget,
    );
    return { resource: command, ...swapStepOf(command.stdout) };
}

export function reboot(env: AwsStepEnv, ctx: StepContext, options: { mustRecover: boolean }): RebootStep {
    const core = rebootCommandSettings(env.settings, ctx, options, AWS_STEP_WAITS.reboot(env.settings));
    return rebootStep(
        scriptCommand(
            env,
            ctx,
            "reboot",
            "reboot",
            { ...core.environment, INSTANCE_ID: ctx.vm.fields.instanceId, BOOT_MARKER: bootMarkerOf(env.config, ctx.vm) },
            core.budget,
        ),
    );
}

export function restoredDisk(env: AwsStepEnv, ctx: StepContext): DiskStep {
    const f = facts(ctx);
    // A new volume from the chosen snapshot: never attached to anything before the swap.
    const volume = new aws.ebs.Volume(
        vmStepName(ctx.vm, "restored"),
        {
            availabilityZone: ctx.vm.placement.zone,
            region: region(ctx),
            snapshotId: ctx.vm.restorePoint!.id,
            type: f.volumeType,
            ...volumeShape(f),
            encrypted: f.encrypted === "true" ? true : undefined,
            kmsKeyId: f.kmsKeyId || undefined,
            tags: {
                ...rootCandidateTags(env, ctx, "restored"),
                "bootloop-rescue:restored-from": ctx.vm.restorePoint!.id,
                "bootloop-rescue:restore-point-taken": instantMark(ctx.vm.restorePoint!.createdAt),
            },
        },
        opts(env, ctx, { ignoreChanges: ["snapshotId"], customTimeouts: { create: "120m" } }),
    );
    return { resource: volume, diskId: volume.id };
}

export function rollback(env: AwsStepEnv, ctx: StepContext): RollbackStep {
    const command = scriptCommand(
        env,
        ctx,
        "rollback",
        "rollback",
        {
            INSTANCE_ID: ctx.vm.fields.instanceId,
            ORIGINAL_VOLUME_ID: ctx.vm.originalDiskId,
            ROOT_DEVICE: facts(ctx).rootDeviceName,
        },
        stepBudget(AWS_STEP_WAITS.rollback(env.settings)),
    );
    return rollbackStep(command);
}
