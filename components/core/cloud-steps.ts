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
    StepFailure,
    SwapStep,
} from "./contract/cloud-path";
import { FAILED_STATUS } from "./wave-gate";

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
    /** With status `failed`: why (the VM's own reason). */
    reason?: string;
    /** With status `failed`: what a person does next. */
    nextStep?: string;
}

/** What every cloud's reboot command prints: one JSON report. */
export interface RebootReport {
    status: string;
    attempts: number;
    timings: Record<string, number>;
    /** With status `failed`: why (the VM's own reason). */
    reason?: string;
    /** With status `failed`: what a person does next. */
    nextStep?: string;
}

/** A report's failure: set only for status `failed`. */
function failureOf(report: { status: string; reason?: string; nextStep?: string }): StepFailure | undefined {
    return report.status === FAILED_STATUS
        ? {
              reason: report.reason || "the step reported failed without a reason",
              nextStep: report.nextStep || "read the evidence (npm run evidence)",
          }
        : undefined;
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

/** The swap command's report as the fields of a swap step every cloud returns. */
export function swapStepOf(stdout: pulumi.Output<string>): Pick<SwapStep, "status" | "timings" | "failure"> {
    const report = swapReport(stdout);
    return { status: report.status, timings: report.timings, failure: report.apply(failureOf) };
}

/** The reboot command's report as a reboot step. */
export function rebootStep(command: pulumi.Resource & { stdout: pulumi.Output<string> }): RebootStep {
    const report = commandReport<RebootReport>(command.stdout, { status: "unknown", attempts: 0, timings: {} });
    return {
        resource: command,
        status: report.status,
        attempts: report.attempts,
        timings: report.timings,
        failure: report.apply(failureOf),
    };
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
            // A retry (the inventory's retry:) is a new repair request, not the first one seen again.
            ...(ctx.vm.retry ? { REPAIR_ATTEMPT: String(1 + ctx.vm.retry) } : {}),
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

/**
 * Every cloud's swap command: the boot timeout, the reboot step's outcome when one came first, and,
 * when the repair keeps its evidence (`repair.evidence`), whether it failed for a reason of the
 * VM's own (REPAIR_FAILED and REPAIR_NEXT_STEP, present only then: the swap then swaps nothing and
 * reports failed); its time from `waits`. Clouds whose swap reads the evidence back decide that
 * themselves.
 */
export function swapCommandSettings(
    settings: Settings,
    ctx: StepContext,
    waits: readonly StepWait[],
    repair?: RepairStep,
): CommandSettings {
    const failure = repair?.evidence?.apply(repairFailure);
    return commandSettings(
        {
            BOOT_TIMEOUT_SECONDS: String(settings.bootTimeoutMinutes * 60),
            ...(ctx.rebootStatus ? { REBOOT_STATUS: ctx.rebootStatus } : {}),
            // Absent (undefined drops the key) for a repair that did not fail: nothing in state.
            ...(failure
                ? {
                      REPAIR_FAILED: failure.apply((f) => f?.reason) as pulumi.Output<string>,
                      REPAIR_NEXT_STEP: failure.apply((f) => f?.nextStep) as pulumi.Output<string>,
                  }
                : {}),
            ...teardownFlag(ctx),
        },
        waits,
    );
}

/** A repair's evidence document (JSON) read for a failure of the VM's own; undefined when none (or unreadable: the swap goes on). */
export function repairFailure(document: string): StepFailure | undefined {
    try {
        return evidenceLine.vmFailure(JSON.parse(document)) ?? undefined;
    } catch {
        return undefined;
    }
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
