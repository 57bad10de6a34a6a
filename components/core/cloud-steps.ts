import * as pulumi from "@pulumi/pulumi";
import * as evidenceLine from "./scripts/evidence";
import { Settings } from "./contract/settings";
import { StepWait } from "./contract/step-waits";
import { StepBudget, stepBudget } from "./step-budget";
import {
    AttachStep,
    BackupStep,
    CloudSession,
    DiskStep,
    RebootStep,
    RepairStep,
    RescueStep,
    RollbackStep,
    StepContext,
} from "./contract/cloud-path";

/**
 * The options of a VM's step command (`command:local:Command`): the VM's own, never a cloud's
 * provider. The SDK sends a custom resource's `provider` to the engine whatever its package, and
 * the engine then asks that provider (aws, azure-native, gcp) to run the command, which it cannot:
 * a real `pulumi up` failed so in the sandbox (docs/sandbox.md).
 */
export function commandOptions(ctx: StepContext, extra: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
    return pulumi.mergeOptions(ctx.opts, extra);
}

/**
 * A cloud's steps as plain functions of the cloud's per-run environment `E`. `bindSteps` turns
 * them into the session methods core calls, so each cloud writes only its steps.
 */
export interface CloudSteps<E> {
    backup(env: E, ctx: StepContext): BackupStep;
    scratchDisk(env: E, ctx: StepContext, backup: BackupStep): DiskStep;
    attach(env: E, ctx: StepContext, scratch: DiskStep, rescue: RescueStep): AttachStep;
    repair(env: E, ctx: StepContext, attached: { attach: AttachStep; rescue: RescueStep } | undefined): RepairStep | undefined;
    fixedDisk(env: E, ctx: StepContext, source: { repair: RepairStep; scratch: DiskStep } | undefined): DiskStep;
    swap(env: E, ctx: StepContext, fixed: DiskStep, repair: RepairStep | undefined): ReturnType<CloudSession["swap"]>;
    reboot(env: E, ctx: StepContext, options: { mustRecover: boolean }): RebootStep;
    restoredDisk(env: E, ctx: StepContext): DiskStep;
    rollback(env: E, ctx: StepContext): RollbackStep;
}

/** The session methods for a cloud's steps, bound to its environment. */
export function bindSteps<E>(env: E, steps: CloudSteps<E>): Omit<CloudSession, "resolve" | "rescueVm"> {
    return {
        backup: (ctx) => steps.backup(env, ctx),
        scratchDisk: (ctx, backup) => steps.scratchDisk(env, ctx, backup),
        attach: (ctx, scratch, rescue) => steps.attach(env, ctx, scratch, rescue),
        repair: (ctx, attached) => steps.repair(env, ctx, attached),
        fixedDisk: (ctx, source) => steps.fixedDisk(env, ctx, source),
        swap: (ctx, fixed, repair) => steps.swap(env, ctx, fixed, repair),
        reboot: (ctx, options) => steps.reboot(env, ctx, options),
        restoredDisk: (ctx) => steps.restoredDisk(env, ctx),
        rollback: (ctx) => steps.rollback(env, ctx),
    };
}

/** What every cloud's swap command prints: one JSON report. */
export interface SwapReport {
    status: string;
    timings: Record<string, number>;
    /** The repair evidence, for clouds whose swap keeps it. */
    evidence?: string;
}

/** What every cloud's reboot command prints: one JSON report. */
export interface RebootReport {
    status: string;
    attempts: number;
    timings: Record<string, number>;
}

/** What every cloud's rollback command prints: one JSON report. */
export interface RollbackReport {
    status: string;
    message: string;
    replacedDiskId: string;
    timings: Record<string, number>;
}

/** A command's one JSON report, parsed; a missing or unreadable report is `fallback`. */
function commandReport<T>(stdout: pulumi.Output<string>, fallback: T): pulumi.Output<T> {
    return stdout.apply((text) => {
        try {
            // The report is the first line (a swap that keeps the evidence prints it after).
            return { ...fallback, ...(JSON.parse(text.split("\n")[0]) as T) };
        } catch {
            return fallback;
        }
    });
}

/** The swap command's report; a missing or unreadable report is status "unknown". */
export function swapReport(stdout: pulumi.Output<string>): pulumi.Output<SwapReport> {
    return commandReport<SwapReport>(stdout, { status: "unknown", timings: {} });
}

/** The reboot command's report as a reboot step. */
export function rebootStep(command: pulumi.Resource & { stdout: pulumi.Output<string> }): RebootStep {
    const report = commandReport<RebootReport>(command.stdout, { status: "unknown", attempts: 0, timings: {} });
    return { resource: command, status: report.status, attempts: report.attempts, timings: report.timings };
}

/** The rollback command's report as a rollback step. */
export function rollbackStep(command: pulumi.Resource & { stdout: pulumi.Output<string> }): RollbackStep {
    const report = commandReport<RollbackReport>(command.stdout, { status: "unknown", message: "", replacedDiskId: "", timings: {} });
    return {
        resource: command,
        status: report.status,
        replacedDiskId: report.replacedDiskId,
        message: report.message,
        timings: report.timings,
    };
}

/** What core gives a command step: environment variables, and the time it may take. */
export interface CommandSettings {
    environment: Record<string, pulumi.Input<string>>;
    /** The step's budget, from the waits its cloud declared. */
    budget: StepBudget;
    /** Pulumi's customTimeout in minutes (`budget.minutes`). */
    minutes: number;
}

function commandSettings(environment: Record<string, pulumi.Input<string>>, waits: readonly StepWait[]): CommandSettings {
    const budget = stepBudget(waits);
    return { environment, budget, minutes: budget.minutes };
}

/**
 * Every cloud's reboot command: how many restarts, the wait after each, whether it must recover,
 * and teardown; its time from the waits the cloud's reboot script can make (`waits`).
 */
export function rebootCommandSettings(
    settings: Settings,
    ctx: StepContext,
    options: { mustRecover: boolean },
    waits: readonly StepWait[],
): CommandSettings {
    const { maxReboots, rebootTimeoutMinutes } = settings;
    return commandSettings(
        {
            MAX_REBOOTS: String(maxReboots),
            REBOOT_TIMEOUT_SECONDS: String(rebootTimeoutMinutes * 60),
            MUST_RECOVER: String(options.mustRecover),
            ...teardownFlag(ctx),
        },
        waits,
    );
}

/** Every command-driven repair: its time limit, the reboot step's outcome, and whether this is teardown; its time from `waits`. */
export function repairCommandSettings(settings: Settings, ctx: StepContext, waits: readonly StepWait[]): CommandSettings {
    return commandSettings(
        {
            REPAIR_TIMEOUT_SECONDS: String(settings.repairTimeoutMinutes * 60),
            ...(ctx.rebootStatus ? { REBOOT_STATUS: ctx.rebootStatus } : {}),
            ...teardownFlag(ctx),
        },
        waits,
    );
}

/**
 * In teardown, a step that changes a VM (repair, reboot, swap) and is not in the stack's state
 * never finished: its script refuses to act (teardown never stops, restarts or swaps a VM, which
 * could undo what a person did after the chain failed). Finished steps never run again anyway.
 */
function teardownFlag(ctx: StepContext): Record<string, string> {
    return ctx.teardown ? { BOOTLOOP_TEARDOWN: "1" } : {};
}

/** Every cloud's swap command: the boot timeout, and the reboot step's outcome when one came first; its time from `waits`. */
export function swapCommandSettings(settings: Settings, ctx: StepContext, waits: readonly StepWait[]): CommandSettings {
    return commandSettings(
        {
            BOOT_TIMEOUT_SECONDS: String(settings.bootTimeoutMinutes * 60),
            ...(ctx.rebootStatus ? { REBOOT_STATUS: ctx.rebootStatus } : {}),
            ...teardownFlag(ctx),
        },
        waits,
    );
}

/**
 * An evidence document as one line, as the stack's state keeps it: deflated with the evidence
 * dictionary, base64 (see scripts/evidence.js, which the command scripts use too).
 */
export function packEvidence(evidence: string): string {
    return evidenceLine.pack(evidence);
}

/**
 * The evidence a swap printed after its report (clouds whose swap reads it back from the repair
 * and keeps it), decoded. A swap that printed none says so rather than passing its report on.
 */
export function evidenceAfterReport(stdout: string | undefined): string {
    const lines = (stdout ?? "").trim().split("\n");
    return lines.length > 1
        ? unpackEvidence(lines[lines.length - 1])
        : JSON.stringify({ outcome: "unknown", message: "the swap printed no evidence after its report" });
}

/**
 * The evidence document of a step's output: its last line, decoded when it travelled packed (how
 * repair and swap steps keep it, and gzip-base64, how the rescue side sends it and states of earlier
 * versions keep it). A line that does not decode says so instead of passing garbage on.
 */
export function unpackEvidence(output: string | undefined): string {
    return evidenceLine.unpack((output ?? "").trim().split("\n").pop() ?? "");
}
