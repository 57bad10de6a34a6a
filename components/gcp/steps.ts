import * as gcp from "@pulumi/gcp";
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
import { GCP_STEP_WAITS } from "./step-waits";
import { kebab, shortHash } from "../core/contract/identity";
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
import { GcpConfig, bootMarkerOf } from "./config";
import { GcpFacts } from "./lookups";
import { GcpRescueInstance, LINUX_DEVICE_SUFFIX } from "./rescue";
import { GuestOs, guestOs } from "../core/contract/vm";
import { gcpCommandLine } from "./scripts";
import { REPEAT_PREVIOUS_OUTPUT, STEP_LOGGING, RUN_ONCE_IGNORED } from "../core/script-text";
import { ChainStep, vmStepName } from "../core/contract/chain-steps";

/** What the GCP steps share within one run. */
export interface GcpStepEnv {
    /** Settings of the run (timeouts). */
    settings: Settings;
    /** GCP settings. */
    config: GcpConfig;
    /** Provider of a project (undefined: the default provider). */
    providerOf(project: string): gcp.Provider | undefined;
    /** Where a rescue instance of this run lives. */
    rescueOf(rescue: RescueStep): GcpRescueInstance;
    /** Labels every resource carries. */
    labels: Record<string, string>;
}

const facts = (ctx: StepContext) => ctx.vm.facts as unknown as GcpFacts;

/** GCP labels: lowercase letters, digits, '_' and '-', at most 63 characters. */
function labels(env: GcpStepEnv, ctx: StepContext, role: string): Record<string, string> {
    const clean = (t: string) =>
        t
            .toLowerCase()
            .replace(/[^a-z0-9_-]/g, "-")
            .slice(0, 63);
    const own = Object.fromEntries(Object.entries(ctx.vm.labels).map(([k, v]) => [clean(k), clean(v)]));
    return { ...own, ...env.labels, "bootloop-rescue-instance": clean(ctx.vm.fields.instance), "bootloop-rescue-role": role };
}

/** Labels of a disk that may become the boot disk: it names the original, so later lookups find it. */
function rootCandidateLabels(env: GcpStepEnv, ctx: StepContext, role: "fixed" | "restored"): Record<string, string> {
    return { ...labels(env, ctx, role), "bootloop-rescue-original": ctx.vm.originalDiskId };
}

function opts(env: GcpStepEnv, ctx: StepContext, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return pulumi.mergeOptions(ctx.opts, { provider: env.providerOf(ctx.vm.placement.scope), ...extra });
}

/** What the copies keep of the boot disk: type, size, guest OS features, licences, CMEK key. */
function diskShape(f: GcpFacts) {
    return {
        type: f.diskType,
        size: f.diskSize ? Number(f.diskSize) : undefined,
        guestOsFeatures: f.guestOsFeatures ? f.guestOsFeatures.split(",").map((type) => ({ type })) : undefined,
        licenses: f.licenses ? f.licenses.split(",") : undefined,
        diskEncryptionKey: f.kmsKeySelfLink ? { kmsKeySelfLink: f.kmsKeySelfLink } : undefined,
    };
}

export function backup(env: GcpStepEnv, ctx: StepContext): BackupStep {
    const f = facts(ctx);
    const snapshot = new gcp.compute.Snapshot(
        vmStepName(ctx.vm, "backup"),
        {
            project: ctx.vm.fields.project,
            zone: ctx.vm.fields.zone,
            sourceDisk: ctx.vm.originalDiskId,
            description: `bootloop-rescue backup of the boot disk of ${ctx.vm.fields.instance}, taken before its offline repair`,
            snapshotEncryptionKey: f.kmsKeySelfLink ? { kmsKeySelfLink: f.kmsKeySelfLink } : undefined,
            labels: labels(env, ctx, "backup"),
        },
        opts(env, ctx, { customTimeouts: { create: "120m" } }),
    );
    return { resource: snapshot, backupId: snapshot.id };
}

export function scratchDisk(env: GcpStepEnv, ctx: StepContext, backup: BackupStep): DiskStep {
    const disk = new gcp.compute.Disk(
        vmStepName(ctx.vm, "scratch"),
        {
            project: ctx.vm.fields.project,
            zone: ctx.vm.fields.zone,
            snapshot: backup.backupId,
            ...diskShape(facts(ctx)),
            labels: labels(env, ctx, "scratch"),
        },
        opts(env, ctx, { customTimeouts: { create: "60m" } }),
    );
    return { resource: disk, diskId: disk.id };
}

/**
 * The device name the rescue agent acts on: "br-", the VM's name stem, and a hash of the scratch
 * disk, so a new scratch disk is a new request (and an old result is never mistaken for it); a
 * Linux guest's disk ends in `-linux` (a hash never does), which tells the agent to repair it with
 * the instance's Linux rule set. At most 56 characters.
 */
export function deviceName(slug: string, scratchId: string, guest: GuestOs = "windows"): string {
    return `br-${kebab(slug).slice(0, 40).replace(/-+$/, "")}-${shortHash(scratchId).slice(0, 6)}${guest === "linux" ? LINUX_DEVICE_SUFFIX : ""}`;
}

export function attach(env: GcpStepEnv, ctx: StepContext, scratch: DiskStep, rescue: RescueStep): AttachStep {
    const device = scratch.diskId.apply((id) => deviceName(ctx.vm.slug, id, guestOs(ctx.vm)));
    const attachment = new gcp.compute.AttachedDisk(
        vmStepName(ctx.vm, "attach"),
        {
            project: ctx.vm.fields.project,
            zone: ctx.vm.fields.zone,
            disk: scratch.diskId,
            instance: rescue.id,
            deviceName: device,
            mode: "READ_WRITE",
        },
        opts(env, ctx),
    );
    return { resource: attachment, handle: device };
}

export function repair(env: GcpStepEnv, ctx: StepContext, attached: { attach: AttachStep; rescue: RescueStep } | undefined): RepairStep {
    // Once a repair succeeded it never runs again (its evidence stays in state through teardown).
    const core = repairCommandSettings(env.settings, ctx, GCP_STEP_WAITS.repair!(env.settings));
    const command = scriptCommand(
        env,
        ctx,
        "repair",
        "repair",
        {
            ...core.environment,
            RESCUE_INSTANCE: attached ? env.rescueOf(attached.rescue).name : "retired",
            DEVICE_NAME: attached ? attached.attach.handle : "br-retired",
        },
        core.budget,
    );
    return { resource: command, evidence: command.stdout.apply(unpackEvidence) };
}

export function fixedDisk(env: GcpStepEnv, ctx: StepContext, source: { repair: RepairStep; scratch: DiskStep } | undefined): DiskStep {
    // A clone of the repaired scratch disk, never attached to anything before the swap.
    const disk = new gcp.compute.Disk(
        vmStepName(ctx.vm, "fixed"),
        {
            project: ctx.vm.fields.project,
            zone: ctx.vm.fields.zone,
            sourceDisk: source ? source.scratch.diskId : "retired",
            ...diskShape(facts(ctx)),
            labels: rootCandidateLabels(env, ctx, "fixed"),
        },
        opts(env, ctx, { ignoreChanges: ["sourceDisk"], customTimeouts: { create: "120m" } }),
    );
    return { resource: disk, diskId: disk.name };
}

/** The affected instance, for the commands that act on it (not the repair, which acts on the rescue instance). */
const onInstance = (ctx: StepContext) => ({ INSTANCE: ctx.vm.fields.instance });

/** A command step: a script run where `pulumi up` runs, once (a new text or input never re-runs it). */
function scriptCommand(
    env: GcpStepEnv,
    ctx: StepContext,
    step: ChainStep,
    script: Parameters<typeof gcpCommandLine>[0],
    environment: Record<string, pulumi.Input<string>>,
    budget: StepBudget,
): local.Command {
    const timeouts = budgetTimeouts(budget);
    return new local.Command(
        vmStepName(ctx.vm, step),
        {
            create: gcpCommandLine(script),
            update: REPEAT_PREVIOUS_OUTPUT,
            logging: STEP_LOGGING,
            environment: {
                PROJECT: ctx.vm.fields.project,
                ZONE: ctx.vm.fields.zone,
                VM_LABEL: ctx.vm.label,
                ...timeouts.environment,
                ...environment,
            },
        },
        commandOptions(ctx, { ignoreChanges: RUN_ONCE_IGNORED, customTimeouts: timeouts.customTimeouts }),
    );
}

export function swap(env: GcpStepEnv, ctx: StepContext, fixed: DiskStep, repair: RepairStep | undefined): SwapStep {
    // A repair that failed for a reason of the VM's own reaches the swap as REPAIR_FAILED (core
    // reads the repair's evidence): the swap then swaps nothing and reports failed.
    const core = swapCommandSettings(env.settings, ctx, GCP_STEP_WAITS.swap(env.settings), repair);
    const command = scriptCommand(
        env,
        ctx,
        "swap",
        "swap",
        {
            ...core.environment,
            ...onInstance(ctx),
            ORIGINAL_DISK: ctx.vm.originalDiskId,
            FIXED_DISK: fixed.diskId,
            BOOT_MARKER: bootMarkerOf(env.config, ctx.vm),
        },
        core.budget,
    );
    return { resource: command, ...swapStepOf(command.stdout) };
}

export function reboot(env: GcpStepEnv, ctx: StepContext, options: { mustRecover: boolean }): RebootStep {
    const core = rebootCommandSettings(env.settings, ctx, options, GCP_STEP_WAITS.reboot(env.settings));
    return rebootStep(
        scriptCommand(
            env,
            ctx,
            "reboot",
            "reboot",
            { ...core.environment, ...onInstance(ctx), BOOT_MARKER: bootMarkerOf(env.config, ctx.vm) },
            core.budget,
        ),
    );
}

export function restoredDisk(env: GcpStepEnv, ctx: StepContext): DiskStep {
    const point = ctx.vm.restorePoint!;
    // A new disk from the chosen snapshot: never attached to anything before the swap.
    const disk = new gcp.compute.Disk(
        vmStepName(ctx.vm, "restored"),
        {
            project: ctx.vm.fields.project,
            zone: ctx.vm.fields.zone,
            snapshot: point.id,
            ...diskShape(facts(ctx)),
            labels: { ...rootCandidateLabels(env, ctx, "restored"), ...restorePointLabels(point) },
        },
        opts(env, ctx, { ignoreChanges: ["snapshot"], customTimeouts: { create: "120m" } }),
    );
    return { resource: disk, diskId: disk.name };
}

/** Labels naming the backup a restored disk came from (when its project fits in a label value). */
function restorePointLabels(point: { id: string; createdAt: string }): Record<string, string> {
    const [, project, name] = /^projects\/([^/]+)\/global\/snapshots\/(.+)$/.exec(point.id) ?? [];
    if (!project || !/^[a-z0-9_-]{1,63}$/.test(project)) return {};
    return {
        "bootloop-rescue-restored-from": name,
        "bootloop-rescue-restore-project": project,
        "bootloop-rescue-restore-point-taken": instantMark(point.createdAt),
    };
}

export function rollback(env: GcpStepEnv, ctx: StepContext): RollbackStep {
    return rollbackStep(
        scriptCommand(
            env,
            ctx,
            "rollback",
            "rollback",
            { ...onInstance(ctx), ORIGINAL_DISK: ctx.vm.originalDiskId },
            stepBudget(GCP_STEP_WAITS.rollback(env.settings)),
        ),
    );
}
