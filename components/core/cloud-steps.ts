import * as pulumi from "@pulumi/pulumi";
import { AttachStep, BackupStep, CloudSession, DiskStep, RepairStep, RescueStep, StepContext } from "./steps";

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
}

/** The session methods for a cloud's steps, bound to its environment. */
export function bindSteps<E>(env: E, steps: CloudSteps<E>): Omit<CloudSession, "resolve" | "rescueVm"> {
    return {
        backup: (ctx) => steps.backup(env, ctx),
        scratchDisk: (ctx, backup) => steps.scratchDisk(env, ctx, backup),
        attach: (ctx, scratch, rescue) => steps.attach(env, ctx, scratch, rescue),
        repair: (ctx, attached) => steps.repair(env, ctx, attached),
        fixedDisk: (ctx, source) => steps.fixedDisk(env, ctx, source),
        swap: (ctx, fixed, _backup, repair) => steps.swap(env, ctx, fixed, repair),
    };
}

/** What every cloud's swap command prints: one JSON report. */
export interface SwapReport {
    status: string;
    timings: Record<string, number>;
    /** The repair evidence, for clouds whose swap keeps it. */
    evidence?: string;
}

/** The swap command's report, parsed; a missing or unreadable report is status "unknown". */
export function swapReport(stdout: pulumi.Output<string>): pulumi.Output<SwapReport> {
    return stdout.apply((text) => {
        try {
            return JSON.parse(text) as SwapReport;
        } catch {
            return { status: "unknown", timings: {} };
        }
    });
}
