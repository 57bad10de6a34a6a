import * as compute from "@pulumi/azure-native/compute";
import { Provider } from "@pulumi/azure-native/provider";
import * as local from "@pulumi/command/local";
import * as pulumi from "@pulumi/pulumi";
import { instantMark } from "../core/restore-point";
import {
    commandOptions,
    evidenceAfterReport,
    rebootCommandSettings,
    rebootStep,
    rollbackStep,
    swapCommandSettings,
    swapStepOf,
    unpackEvidence,
} from "../core/cloud-steps";
import { budgetTimeouts, StepBudget, stepBudget } from "../core/step-budget";
import { AZURE_STEP_WAITS } from "./step-waits";
import { LinuxRuleSet, RuleSet, Settings, ruleSetFor } from "../core/contract/settings";
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
import { RESCUE_LIB, rescueTools } from "../../rescue/payload";
import { AzureFacts } from "./lookups";
import { AdeCollection } from "./ade";
import { AzureRescueVm } from "./rescue";
import { azureCommandLine } from "./scripts";
import { REPEAT_PREVIOUS_OUTPUT, STEP_LOGGING, RUN_ONCE_IGNORED } from "../core/script-text";
import { ChainStep, vmStepName } from "../core/contract/chain-steps";

/** What the Azure steps share within one run. */
export interface AzureStepEnv {
    /** Settings of the run (timeouts). */
    settings: Settings;
    /** Provider of a subscription. */
    providerOf(subscription: string): Provider;
    /** Where a rescue VM of this run lives. */
    rescueOf(rescue: RescueStep): AzureRescueVm;
    /** Tags every resource carries. */
    tags: Record<string, string>;
    /** The user's tags alone (config `tags` or `azureTags`). */
    userTags: Record<string, string>;
}

const facts = (ctx: StepContext) => ctx.vm.facts as unknown as AzureFacts;

/** Azure tag names may not contain '/', so labels' keys are adapted. */
function tags(env: AzureStepEnv, ctx: StepContext, role: string): Record<string, string> {
    const labels = Object.fromEntries(Object.entries(ctx.vm.labels).map(([k, v]) => [k.replace(/[/<>%&\\?]/g, "-"), v]));
    return { ...labels, ...env.tags, "bootloop-rescue-vm": ctx.vm.fields.vmName, "bootloop-rescue-role": role };
}

function opts(env: AzureStepEnv, ctx: StepContext, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return pulumi.mergeOptions(ctx.opts, { provider: env.providerOf(ctx.vm.placement.scope), ...extra });
}

/** The disk properties a later OS-disk swap needs, copied from the original OS disk (its OS is the entry's `os`, as the lookup checked). */
function diskShape(f: AzureFacts, role: "backup" | "scratch" | "fixed" | "restored", vm: { os?: "linux" }) {
    return {
        osType: vm.os === "linux" ? ("Linux" as const) : ("Windows" as const),
        hyperVGeneration: f.hyperVGeneration,
        securityProfile: f.securityType ? { securityType: f.securityType } : undefined,
        encryption: f.diskEncryptionSetId ? { diskEncryptionSetId: f.diskEncryptionSetId, type: f.encryptionType || undefined } : undefined,
        ...adeShape(f, role),
    };
}

/**
 * Azure Disk Encryption settings of a copy. The scratch copy has none: Azure refuses a disk with
 * them as a data disk, and the rescue VM unlocks the volume with the BEK itself. The fixed disk
 * has the original's: the VM boots it with them (Azure hands the VM its BEK from the vault they
 * name). The backup and a restored disk keep what their source has.
 */
function adeShape(f: AzureFacts, role: "backup" | "scratch" | "fixed" | "restored") {
    if (!f.adeSettings) return {};
    if (role === "scratch") return { encryptionSettingsCollection: { enabled: false } };
    if (role === "fixed") return { encryptionSettingsCollection: JSON.parse(f.adeSettings) as AdeCollection };
    return {};
}

export function backup(env: AzureStepEnv, ctx: StepContext): BackupStep {
    const f = facts(ctx);
    const snapshot = new compute.Snapshot(
        vmStepName(ctx.vm, "backup"),
        {
            resourceGroupName: ctx.vm.fields.resourceGroup,
            location: ctx.vm.placement.region,
            creationData: { createOption: "Copy", sourceResourceId: ctx.vm.originalDiskId },
            incremental: true,
            ...diskShape(f, "backup", ctx.vm),
            tags: tags(env, ctx, "backup"),
        },
        opts(env, ctx, { customTimeouts: { create: "120m" } }),
    );
    return { resource: snapshot, backupId: snapshot.id };
}

/**
 * A managed disk copied from `sourceId`, in the VM's zone, with what the OS-disk swap needs. Disks
 * that may become the OS disk name the original, so later lookups find it.
 */
function copiedDisk(
    env: AzureStepEnv,
    ctx: StepContext,
    role: "scratch" | "fixed" | "restored",
    sourceId: pulumi.Input<string>,
    extra: pulumi.CustomResourceOptions,
): compute.Disk {
    const f = facts(ctx);
    return new compute.Disk(
        vmStepName(ctx.vm, role),
        {
            resourceGroupName: ctx.vm.fields.resourceGroup,
            location: ctx.vm.placement.region,
            zones: ctx.vm.placement.zone ? [ctx.vm.placement.zone] : undefined,
            sku: { name: f.osDiskSku },
            creationData: { createOption: "Copy", sourceResourceId: sourceId },
            ...diskShape(f, role, ctx.vm),
            tags: { ...tags(env, ctx, role), ...rootCandidateMarks(ctx, role) },
        },
        opts(env, ctx, extra),
    );
}

/** Marks of a disk that may become the OS disk: the original it replaces, and the backup it came from. */
function rootCandidateMarks(ctx: StepContext, role: "scratch" | "fixed" | "restored"): Record<string, string> {
    if (role === "scratch") return {};
    const point = role === "restored" ? ctx.vm.restorePoint! : undefined;
    return {
        "bootloop-rescue-original": ctx.vm.originalDiskId,
        ...(point
            ? { "bootloop-rescue-restored-from": point.id, "bootloop-rescue-restore-point-taken": instantMark(point.createdAt) }
            : {}),
    };
}

export function scratchDisk(env: AzureStepEnv, ctx: StepContext, backup: BackupStep): DiskStep {
    const disk = copiedDisk(env, ctx, "scratch", backup.backupId, { customTimeouts: { create: "60m" } });
    return { resource: disk, diskId: disk.id };
}

export function attach(env: AzureStepEnv, ctx: StepContext, scratch: DiskStep, rescue: RescueStep): AttachStep {
    const lun = String(ctx.vm.seat!.slot);
    const command = new local.Command(
        vmStepName(ctx.vm, "attach"),
        {
            create: azureCommandLine("attach"),
            // Stated exception to "deletes are no-ops": removing the attachment (teardown) detaches
            // the scratch disk from the rescue VM, so both can be deleted. It never touches the VM.
            delete: azureCommandLine("detach"),
            logging: STEP_LOGGING,
            environment: { RESCUE_VM_ID: rescue.id, DISK_ID: scratch.diskId, LUN: lun, VM_LABEL: ctx.vm.label },
        },
        commandOptions(ctx, {
            ignoreChanges: ["create", "update", "interpreter", "logging"],
            customTimeouts: budgetTimeouts(stepBudget(AZURE_STEP_WAITS.attach!(env.settings))).customTimeouts,
        }),
    );
    return { resource: command, handle: pulumi.output(lun) };
}

/**
 * The script every repair Run Command runs: on-rescue.sh for a disk at a LUN with the stack's rule
 * set, the evidence packed, only with the version of the tools the rescue VM's tools Run Command
 * installed (on-rescue.sh checks it: one line in every VM's state, not the check's text). What
 * differs per VM (the LUN, the reboot's outcome, a key) comes as parameters.
 */
export function repairScript(ruleSet: RuleSet | LinuxRuleSet): string {
    // A Run Command's output may arrive cut off, so on-rescue.sh keeps a failed repair's exit code
    // for disks at a LUN (even for the VM's own reason): it fails the Run Command, and so the run.
    return `TOOLS_VERSION=${rescueTools().version} DISK_HANDLE_KIND=azure-lun EVIDENCE_ENCODING=gzip-base64 RULE_SET=${ruleSet} exec ${RESCUE_LIB}/on-rescue.sh\n`;
}

/** What unlocks the disk, as protected Run Command parameters (secrets; on-rescue.sh reads them). */
function unlockParameters(ctx: StepContext) {
    const keys = [
        ...(ctx.bitlockerKey ? [{ name: "BITLOCKER_KEY", value: ctx.bitlockerKey }] : []),
        ...(ctx.bitlockerBek ? [{ name: "BITLOCKER_BEK", value: ctx.bitlockerBek }] : []),
    ];
    return keys.length ? keys : undefined;
}

/** The repair on Azure: a Run Command on the rescue VM; the swap reads its output back by id. */
export interface AzureRepairStep extends RepairStep {
    resource: compute.VirtualMachineRunCommandByVirtualMachine;
}

export function repair(
    env: AzureStepEnv,
    ctx: StepContext,
    attached: { attach: AttachStep; rescue: RescueStep } | undefined,
): AzureRepairStep | undefined {
    // The Run Command lives under the rescue VM and goes with it at teardown: the swap keeps the evidence.
    if (!attached) return undefined;
    const where = env.rescueOf(attached.rescue);
    const provider = env.providerOf(where.subscription);
    const command = new compute.VirtualMachineRunCommandByVirtualMachine(
        vmStepName(ctx.vm, "repair"),
        {
            resourceGroupName: where.resourceGroup,
            vmName: where.vmName,
            location: where.location,
            // The VM's rule set (the stack's linuxRuleSet for a Linux guest), a constant of the script.
            source: { script: repairScript(ruleSetFor(env.settings, ctx.vm)) },
            parameters: [
                { name: "DISK_HANDLE", value: attached.attach.handle },
                ...(ctx.rebootStatus ? [{ name: "REBOOT_STATUS", value: ctx.rebootStatus }] : []),
            ],
            protectedParameters: unlockParameters(ctx),
            asyncExecution: false,
            treatFailureAsDeploymentFailure: true,
            timeoutInSeconds: env.settings.repairTimeoutMinutes * 60,
            // A tag policy that denies untagged resources covers Run Commands too: the user's tags,
            // and nothing else, since each repair's state counts against the 20 KB per VM.
            tags: Object.keys(env.userTags).length > 0 ? env.userTags : undefined,
        },
        pulumi.mergeOptions(ctx.opts, {
            provider,
            dependsOn: where.tools ? [where.tools] : [],
            // An update would run the repair again: new tags wait for the next repair.
            ignoreChanges: ["source", "parameters", "protectedParameters", "tags"],
            customTimeouts: { create: `${env.settings.repairTimeoutMinutes + 10}m` },
        }),
    );
    // Its output (the evidence) is read back by the swap, which keeps it: the Run Command goes with
    // the rescue VM at teardown, and reading it here too would cost a call per VM on every `up`.
    return { resource: command };
}

/** Stand-in for the source of a fixed disk in teardown: ignored, so state keeps the real one. */
const RETIRED = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/retired/providers/Microsoft.Compute/disks/retired";

export function fixedDisk(env: AzureStepEnv, ctx: StepContext, source: { repair: RepairStep; scratch: DiskStep } | undefined): DiskStep {
    // A copy of the repaired scratch disk: never attached to anything before the swap.
    const disk = copiedDisk(env, ctx, "fixed", source ? source.scratch.diskId : RETIRED, {
        ignoreChanges: ["creationData"],
        customTimeouts: { create: "120m" },
    });
    return { resource: disk, diskId: disk.id };
}

/** What every command of the VM gets: where the VM is, and its label. */
function vmEnv(ctx: StepContext): Record<string, string> {
    return {
        SUBSCRIPTION_ID: ctx.vm.fields.subscriptionId,
        RESOURCE_GROUP: ctx.vm.fields.resourceGroup,
        VM_NAME: ctx.vm.fields.vmName,
        VM_LABEL: ctx.vm.label,
    };
}

/** A command step: a script run where `pulumi up` runs, once (a new text or input never re-runs it). */
function scriptCommand(
    env: AzureStepEnv,
    ctx: StepContext,
    step: ChainStep,
    script: Parameters<typeof azureCommandLine>[0],
    environment: Record<string, pulumi.Input<string>>,
    budget: StepBudget,
): local.Command {
    const timeouts = budgetTimeouts(budget);
    return new local.Command(
        vmStepName(ctx.vm, step),
        {
            create: azureCommandLine(script),
            update: REPEAT_PREVIOUS_OUTPUT,
            logging: STEP_LOGGING,
            environment: { ...vmEnv(ctx), ...timeouts.environment, ...environment },
        },
        commandOptions(ctx, { ignoreChanges: RUN_ONCE_IGNORED, customTimeouts: timeouts.customTimeouts }),
    );
}

export function swap(env: AzureStepEnv, ctx: StepContext, fixed: DiskStep, repair: RepairStep | undefined): SwapStep {
    // A finished swap never runs again: its report and the evidence it read back stay in state
    // through teardown (which deletes the repair Run Command with the rescue VM).
    const core = swapCommandSettings(env.settings, ctx, AZURE_STEP_WAITS.swap(env.settings));
    const command = scriptCommand(
        env,
        ctx,
        "swap",
        "swap",
        {
            ...core.environment,
            ORIGINAL_DISK_ID: ctx.vm.originalDiskId,
            FIXED_DISK_ID: fixed.diskId,
            // Where the swap reads the evidence (one call), so that state holds it once, in the
            // swap's output, rather than in an input (kept twice: as input and as output).
            // (Core hands the swap what this session's repair returned.)
            REPAIR_RUN_COMMAND_ID: repair ? (repair as AzureRepairStep).resource.id : "",
        },
        core.budget,
    );
    const evidence = pulumi.all([command.stdout, command.environment]).apply(([stdout, environment]) => swapEvidence(stdout, environment));
    return { resource: command, ...swapStepOf(command.stdout), evidence };
}

/**
 * The evidence a swap keeps: what it printed after its report, or, for a swap of an earlier
 * version (which kept it packed in its environment, still in state), that.
 */
export function swapEvidence(stdout: string | undefined, environment: Record<string, string> | undefined): string {
    return environment?.EVIDENCE ? unpackEvidence(environment.EVIDENCE) : evidenceAfterReport(stdout);
}

export function reboot(env: AzureStepEnv, ctx: StepContext, options: { mustRecover: boolean }): RebootStep {
    const core = rebootCommandSettings(env.settings, ctx, options, AZURE_STEP_WAITS.reboot(env.settings));
    return rebootStep(scriptCommand(env, ctx, "reboot", "reboot", core.environment, core.budget));
}

export function restoredDisk(env: AzureStepEnv, ctx: StepContext): DiskStep {
    // A new managed disk from the chosen snapshot: never attached to anything before the swap.
    const disk = copiedDisk(env, ctx, "restored", ctx.vm.restorePoint!.id, {
        ignoreChanges: ["creationData"],
        customTimeouts: { create: "120m" },
    });
    return { resource: disk, diskId: disk.id };
}

export function rollback(env: AzureStepEnv, ctx: StepContext): RollbackStep {
    return rollbackStep(
        scriptCommand(
            env,
            ctx,
            "rollback",
            "rollback",
            { ORIGINAL_DISK_ID: ctx.vm.originalDiskId },
            stepBudget(AZURE_STEP_WAITS.rollback(env.settings)),
        ),
    );
}
