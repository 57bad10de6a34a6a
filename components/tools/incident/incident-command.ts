// `npm run incident`: one command from the offline plan to the report, through Pulumi's Automation
// API: the offline plan, the preflight (real clouds only), `preview` with the policy pack, a summary
// and one confirmation, `up` with the policy pack and live progress, and the report.
import { selectAgain, selectionBefore } from "./selection";
import * as os from "os";
import * as readline from "readline";
import { Stack, StackNotFoundError } from "@pulumi/pulumi/automation";
import { NAMESPACE } from "../../core/contract/settings";
import { defaultCliProcesses } from "../../gate/defaults";
import { CommandContext, CommandError, Outcome, SIGNAL_EXIT_BASE } from "../command-contract";
import { terminalText } from "../display-text";
import { DiscoveryGate } from "../discovery/cli";
import { recommendedParallel } from "../offline/fleet";
import { PlanClouds } from "../offline/plan-command";
import { renderSummary } from "../offline/render";
import { OfflineRun, runOffline } from "../offline/run";
import { configSourceOf, readStackConfig } from "../offline/stack-config";
import { PreflightGate } from "../preflight/cli";
import { preflightOutcome, preflightVms, renderPreflight, runPreflight } from "../preflight/run";
import { PreflightNeed } from "../preflight/types";
import { EngineEventFields } from "../progress/input-check";
import { watchPlanOf } from "../progress/progress";
import { verdictText } from "../progress/render";
import { BadInputError, recogniseStackJson } from "../report/input-kind";
import { VmRecordValues, renderReport } from "../report/render";
import { nextStepFor } from "../status/next-step";
import { IncidentArgs, IncidentCommandArgs, incidentArgs, resumeCommand } from "./args";
import { IncidentEngine } from "./engine";
import { EngineInterrupts, engineSignal } from "./interrupt";
import { LiveOutput, LiveProgress } from "./live";
import { liveOutput } from "./terminal";
import { changeCount, incidentSummary, policyLines } from "./summary";
import { IncidentStatus } from "./status";
import { stoppedText } from "./stopped";

/** How the incident ended: an outcome of the exit table, and the signal that stopped it, if one did. */
export interface IncidentResult {
    outcome: Extract<Outcome, "ok" | "failed" | "checkFailed" | "notChecked">;
    /** Ctrl-C (SIGINT) stopped the preview or the update, or answered the confirmation: the process exits 128 + its number. */
    stoppedBy?: "SIGINT";
    /** With `stoppedBy`: the exit code a shell gives it (130). */
    signalExit?: number;
}

/** A run stopped by Ctrl-C: the outcome `failed`, and the exit code of SIGINT. */
const STOPPED: IncidentResult = { outcome: "failed", stoppedBy: "SIGINT", signalExit: SIGNAL_EXIT_BASE + os.constants.signals.SIGINT };

/** What the command needs from its composition root (and, for tests, in place of the process's own). */
export interface IncidentDeps {
    /** The clouds the plan knows and the preflight checks through. */
    clouds: PlanClouds;
    /** The engine to run on, for the arguments given (the sandbox, or the user's). */
    engine(this: void, args: IncidentArgs): IncidentEngine;
    /** Whether standard input is a terminal (a person can answer the confirmation); default: the context's stdin says so. */
    stdinIsTty?: boolean;
    /** The live view's output; default: redrawn when the context's stdout is a terminal, lines otherwise. */
    live?: LiveOutput;
    /** Registers a handler for SIGINT while the engine runs and returns its removal; default: this process's SIGINT. */
    onInterrupt?(this: void, handler: () => void): () => void;
    /** The next step for a VM whose chain failed at `step`, in plain words; default: the status page's {@link nextStepFor}. */
    nextStep?(this: void, step: string | undefined): string;
}

/** The deps with the process's own where the composition root gave none. */
function withDefaults(deps: IncidentDeps, context: CommandContext): Required<IncidentDeps> {
    return {
        clouds: deps.clouds,
        engine: deps.engine,
        stdinIsTty: deps.stdinIsTty ?? (context.stdin as { isTTY?: boolean }).isTTY === true,
        live: deps.live ?? liveOutput(context.stdout),
        onInterrupt:
            deps.onInterrupt ??
            ((handler) => {
                process.on("SIGINT", handler);
                return () => void process.off("SIGINT", handler);
            }),
        nextStep: deps.nextStep ?? nextStepFor,
    };
}

/** The message of an Automation API command error without the CLI's whole output: its stderr's last lines. */
export function engineErrorText(err: unknown): string {
    const text = err instanceof Error ? err.message : String(err);
    const stderr = /\n stderr: ([\s\S]*?)(?:\n err\?: [\s\S]*)?$/.exec(text)?.[1] ?? text;
    const lines = terminalText(stderr, { multiline: true })
        .split("\n")
        .map((l) => l.trimEnd())
        .filter(Boolean);
    return lines.slice(-12).join("\n") || "the engine gave no reason";
}

/** Asks `question` on the terminal; resolves true for yes, false for anything else, undefined for Ctrl-C. */
export function confirm(context: CommandContext, question: string): Promise<boolean | undefined> {
    return new Promise((resolve) => {
        const rl = readline.createInterface({ input: context.stdin, output: context.stdout });
        let settled = false;
        const end = (answer: boolean | undefined) => {
            if (settled) return;
            settled = true;
            rl.close();
            resolve(answer);
        };
        rl.on("SIGINT", () => {
            context.stdout.write("\n");
            end(undefined);
        });
        rl.on("close", () => end(false));
        rl.question(question, (answer) => end(/^\s*y(es)?\s*$/i.test(answer)));
    });
}

/**
 * Runs the incident of a stack from plan to report. Bad arguments (and, without --yes, a run
 * nobody can confirm: CI or no terminal) are {@link ArgumentError}s before anything is planned or
 * created; a stack the backend lacks without --create is a `badArguments` error naming the flag.
 * Ends `ok` when the update succeeded and every VM of the plan verified; `failed` when the update
 * failed or ended with VMs not verified; `checkFailed` when the preflight failed, the policy pack
 * refused the preview, or the person declined; `notChecked` when a preflight check could not be
 * made (without --allow-skipped). A Ctrl-C during the preview, the question or the update ends it
 * with `stoppedBy`, after saying what state the run is in and how to resume it.
 */
export async function runIncidentCommand(
    given: IncidentCommandArgs,
    context: CommandContext,
    givenDeps: IncidentDeps,
): Promise<IncidentResult> {
    const deps = withDefaults(givenDeps, context);
    const args = incidentArgs(given, context, deps.stdinIsTty);
    const out = (text: string) => void context.stdout.write(`${terminalText(text, { multiline: true })}\n`);
    const resume = resumeCommand(args, context.projectDir, true);

    // 1. The offline plan: the real program under mocks; bad input stops everything here.
    const engine = deps.engine(args);
    const config = readStackConfig(engine.stackDir, args.stack);
    const run = await runOffline({
        stack: args.stack,
        config,
        baseDir: engine.stackDir,
        identities: deps.clouds.identities,
        paths: deps.clouds.paths,
        details: false,
    });
    out(
        `== 1/6 the offline plan\n${renderSummary(run, `stack ${args.stack} (Pulumi.${args.stack}.yaml, inventory ${config.values[`${NAMESPACE}:inventory`] ?? "not set"})`)}`,
    );

    // 2. The stack: selected, or created only when asked.
    const workspace = await engine.workspace();
    const selectedBefore = await selectionBefore(workspace);
    let stack: Stack;
    try {
        stack = await Stack.select(args.stack, workspace);
    } catch (err) {
        if (!(err instanceof StackNotFoundError)) throw err;
        if (!args.create)
            throw new CommandError(
                "badArguments",
                `stack ${args.stack} does not exist in ${engine.where}; nothing was created. To create it: ${resumeCommand(args, context.projectDir, false)} --create`,
            );
        stack = await Stack.create(args.stack, workspace);
        out(`created stack ${args.stack} (--create) in ${engine.where}`);
    }
    try {
        await engine.begin(workspace);

        // 3. The preflight: read-only calls to the real clouds.
        out("\n== 2/6 the preflight");
        if (engine.sandbox)
            out(
                "preflight: not run (sandbox): the simulated cloud has no quotas, tag policies or permissions to check, and nothing here may call a real cloud (npm run plan -- --stack NAME --preflight checks them against yours)",
            );
        else {
            const findings = await preflight(run, args.stack, config, deps.clouds, context.env);
            out(renderPreflight(findings, { allowNotChecked: args.allowSkipped }));
            const verdict = preflightOutcome(findings, { allowNotChecked: args.allowSkipped }).outcome;
            if (verdict !== "ok") return { outcome: verdict };
        }

        // 4. The preview with the policy pack.
        out(`\n== 3/6 the preview, with the policy pack ${args.policyPack}`);
        const preview = await runPreview(stack, args, deps, out, resume);
        if ("result" in preview) return preview.result;
        out(incidentSummary(args.stack, run.result.plan, preview.changes, engine.where, preview.policies));

        // 5. One confirmation.
        out("\n== 4/6 the confirmation");
        if (args.yes) out("--yes: updating without asking");
        else {
            const answer = await confirm(
                context,
                `Update stack ${args.stack} now (${changeCount(preview.changes)} changes, ${run.result.plan.vms.length} VMs)? Type yes to go on: `,
            );
            if (answer === undefined) {
                out(`Ctrl-C: nothing was changed. To run it again: ${resume}`);
                return STOPPED;
            }
            if (!answer) {
                out("not confirmed: nothing was changed");
                return { outcome: "checkFailed" };
            }
        }

        // 6. The update, with live progress.
        out("\n== 5/6 the update");
        const updated = await runUpdate(stack, run, args, deps, out, resume, engine, context);
        if (updated.result) return updated.result;

        // 7. The report, the status page with the stack's records, and the headline.
        out("\n== 6/6 the report");
        const vmsOutput = updated.outputs?.vms;
        let records: Record<string, VmRecordValues> | undefined;
        let problem: string | undefined;
        try {
            records = recogniseStackJson({ vms: vmsOutput?.secret ? "[secret]" : vmsOutput?.value }, `stack ${args.stack}`).vms;
        } catch (err) {
            if (!(err instanceof BadInputError)) throw err;
            problem = err.message;
        }
        // The status with the stack's records first: the report opens with its headline and timeline.
        const { snapshot, summary } = updated.status!.finish(context.env, records);
        if (records) context.stdout.write(renderReport({ vms: records }, `stack ${args.stack}`, new Date(), snapshot));
        else out(`the report could not be made: ${problem}`);
        out(`\nstatus page: ${args.statusPage}${summary ? `\njob summary: appended to ${summary}` : ""}\n${snapshot.headline}`);
        return { outcome: updated.ok && records ? "ok" : "failed" };
    } finally {
        engine.end();
        await selectAgain(workspace, selectedBefore, args.stack, out);
    }
}

/** The preflight's findings for the plan (each cloud its VMs, the clouds at once), as `npm run plan -- --preflight` makes them. */
async function preflight(
    run: OfflineRun,
    stack: string,
    config: ReturnType<typeof readStackConfig>,
    clouds: PlanClouds,
    env: CommandContext["env"],
) {
    const needs = new Map<string, PreflightNeed>();
    for (const [cloud, vms] of preflightVms(run)) {
        const built = clouds.paths.find((p) => p.identity.cloud === cloud)!;
        needs.set(cloud, { config: built.configure(configSourceOf(config), `Pulumi.${stack}.yaml`), vms });
    }
    const processes = Math.max(1, Math.min(64, Number(env.BOOTLOOP_MAX_CLI_PROCESSES) || defaultCliProcesses(os.cpus().length)));
    return runPreflight(clouds.preflights, needs, new PreflightGate(new DiscoveryGate(clouds.clis, processes)));
}

/** Runs `fn` with Ctrl-C handled for the engine command it starts (see interrupt.ts); `fn` gets the AbortSignal to pass on and the interrupts' state. */
async function withInterrupts<T>(
    deps: Required<IncidentDeps>,
    out: (text: string) => void,
    fn: (signal: AbortSignal, interrupts: EngineInterrupts) => Promise<T>,
): Promise<T> {
    const { signal, forward } = engineSignal();
    const interrupts = new EngineInterrupts({ forward, say: out });
    const off = deps.onInterrupt(() => interrupts.signal());
    try {
        return await fn(signal, interrupts);
    } finally {
        off();
        interrupts.close();
    }
}

/** A policy pack's mandatory violation, as one line. */
function violationText(p: NonNullable<EngineEventFields["policyEvent"]>): string {
    const where =
        typeof p.resourceUrn === "string" && p.resourceUrn ? ` on ${p.resourceUrn.slice(p.resourceUrn.lastIndexOf("::") + 2)}` : "";
    return `policy ${p.policyPackName ?? "?"}/${p.policyName ?? "?"}${where}: ${String(p.message ?? "").trim()}`;
}

/** The preview with the policy pack: its changes, or how the incident ends when it did not pass. */
async function runPreview(
    stack: Stack,
    args: IncidentArgs,
    deps: Required<IncidentDeps>,
    out: (text: string) => void,
    resume: string,
): Promise<{ changes: Record<string, number | undefined>; policies: string[] } | { result: IncidentResult }> {
    const violations: string[] = [];
    const errors: string[] = [];
    return withInterrupts(deps, out, async (signal, interrupts) => {
        try {
            const r = await stack.preview({
                policyPacks: [args.policyPack],
                signal,
                onEvent: (event) => {
                    const e = event as EngineEventFields & { stdoutEvent?: { message?: string } };
                    if (e.stdoutEvent?.message) interrupts.engineSaid(e.stdoutEvent.message);
                    if (e.policyEvent?.enforcementLevel === "mandatory") violations.push(violationText(e.policyEvent));
                    if (e.diagnosticEvent?.severity === "error") errors.push(String(e.diagnosticEvent.message ?? "").trim());
                },
            });
            return { changes: r.changeSummary, policies: policyLines(r.stdout) };
        } catch (err) {
            if (interrupts.stop !== "running") {
                out(`the preview was cancelled (Ctrl-C): nothing was changed. To run it again: ${resume}`);
                return { result: STOPPED };
            }
            if (violations.length > 0) {
                out(`the policy pack refused the preview: nothing was changed\n${violations.map((v) => `  ${v}`).join("\n")}`);
                return { result: { outcome: "checkFailed" } };
            }
            out(
                `the preview failed: nothing was changed\n${(errors.length ? errors.slice(-5).join("\n") : engineErrorText(err)).replace(/^/gm, "  ")}`,
            );
            return { result: { outcome: "failed" } };
        }
    });
}

/** The update with live progress; its outputs when it ran to its end, or how the incident ends when it did not. */
async function runUpdate(
    stack: Stack,
    run: OfflineRun,
    args: IncidentArgs,
    deps: Required<IncidentDeps>,
    out: (text: string) => void,
    resume: string,
    engine: IncidentEngine,
    context: CommandContext,
): Promise<{
    result?: IncidentResult;
    ok?: boolean;
    outputs?: Record<string, { value: unknown; secret: boolean }>;
    status?: IncidentStatus;
}> {
    const plan = watchPlanOf(run);
    const status = new IncidentStatus(args.stack, plan, args.statusPage);
    status.write();
    out(`status page: ${args.statusPage} (rewritten as the update goes)`);
    const live = new LiveProgress({
        stack: args.stack,
        plan,
        lanes: run.settings.maxInFlight,
        out: deps.live,
        nextStep: (step) => deps.nextStep(step),
    });
    const parallel = recommendedParallel(run.result.plan, run.settings.maxInFlight);
    return withInterrupts(
        deps,
        (text) => deps.live.line(terminalText(text)),
        async (signal, interrupts) => {
            live.start();
            try {
                const r = await stack.up({
                    policyPacks: [args.policyPack],
                    parallel,
                    signal,
                    onEvent: (event) => {
                        const e = event as { stdoutEvent?: { message?: string } };
                        if (e.stdoutEvent?.message) interrupts.engineSaid(e.stdoutEvent.message);
                        live.event(event);
                        status.event(event);
                    },
                });
                live.finish();
                const end = live.progress.ended;
                out(verdictText(live.progress));
                return { ok: end?.result === "succeeded", outputs: r.outputs, status };
            } catch (err) {
                live.finish();
                const { snapshot } = status.finish(context.env);
                out(`status page: ${args.statusPage}\n${snapshot.headline}`);
                if (interrupts.stop !== "running") {
                    out(stoppedText(interrupts.stop, live.progress.total(), resume, engine.pulumi, args.stack));
                    return { result: STOPPED };
                }
                out(`${verdictText(live.progress)}\nthe update failed; the engine says:\n${engineErrorText(err).replace(/^/gm, "  ")}`);
                out(`Fix what it names, then run it again (steps already done are kept): ${resume}`);
                return { result: { outcome: "failed" } };
            }
        },
    );
}
