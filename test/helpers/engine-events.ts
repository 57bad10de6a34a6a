// Engine event streams as `pulumi up --json` prints them (EngineEvent in @pulumi/pulumi/automation/
// events), for the watch's tests. `recordDevUpdate` wrote test/fixtures/engine-events/dev-up.json.
import { WatchPlan } from "../../components/tools/progress/progress";

type Event = Record<string, unknown>;

/** How an update's stream is cut short or added to, for the cases a real update shows. */
export interface UpdateShape {
    /** Only these waves run (a stack-level failure after the canary stops the rest). */
    waves?: number[];
    /** Events the engine sends before its summary (a stack-level failure, a policy violation); sequence and timestamp are added. */
    beforeSummary?: Event[];
    /** The stream stops here: no summary, no closing event (the update's process died). */
    noSummary?: boolean;
}

/** The stack's own URN (`pulumi:pulumi:Stack`), which the engine's update-wide failures name. */
export function stackUrn(stack: string): string {
    return `urn:pulumi:${stack}::bootloop-rescue::pulumi:pulumi:Stack::bootloop-rescue-${stack}`;
}

/**
 * One update of `plan`: wave by wave, each VM's steps in order, `fail` failing at its step with
 * `reason`; `shape` cuts it short or adds the engine's update-wide events before its summary.
 */
export function updateEvents(
    plan: WatchPlan & { types?: Record<string, string> },
    stack: string,
    fail?: { vm: string; step: string; reason: string },
    shape: UpdateShape = {},
): Event[] {
    let sequence = 0;
    let timestamp = 1_721_370_000;
    const events: Event[] = [];
    const urn = (name: string) => `urn:pulumi:${stack}::bootloop-rescue::${plan.types?.[name] ?? "command:local:Command"}::${name}`;
    const meta = (name: string, op = "create") => ({
        op,
        urn: urn(name),
        type: plan.types?.[name] ?? "command:local:Command",
        provider: "",
    });
    const push = (e: Event) => events.push({ sequence: sequence++, timestamp: (timestamp += 3), ...e });
    push({ preludeEvent: { config: { "bootloop-rescue:inventory": "stacks/dev.yaml" } } });
    push({ resourcePreEvent: { metadata: { ...meta(`bootloop-rescue-${stack}`, "same"), urn: stackUrn(stack) } } });
    const vmNames = new Set(plan.vms.map((v) => v.resourceName));
    for (const name of plan.resources.filter((n) => !vmNames.has(n.slice(0, n.lastIndexOf("-")))).slice(0, 6)) {
        push({ resourcePreEvent: { metadata: meta(name) } });
        push({ resOutputsEvent: { metadata: meta(name) } });
    }
    let failed = false;
    for (const wave of [...new Set(plan.vms.map((v) => v.wave))].sort()) {
        if (failed || (shape.waves && !shape.waves.includes(wave))) break;
        const chains = plan.vms
            .filter((v) => v.wave === wave)
            .map((v) => ({
                vm: v,
                steps: plan.resources.filter(
                    (n) => n.startsWith(`${v.resourceName}-`) && !n.slice(v.resourceName.length + 1).includes("-"),
                ),
            }));
        for (let i = 0; chains.some((c) => i < c.steps.length); i++) {
            for (const c of chains) {
                const step = c.steps[i];
                if (!step || (c as { dead?: boolean }).dead) continue;
                push({ resourcePreEvent: { metadata: meta(step) } });
                if (fail && c.vm.label === fail.vm && step.endsWith(`-${fail.step}`)) {
                    push({
                        diagnosticEvent: {
                            urn: urn(step),
                            prefix: "<{%fg 1%}>error: <{%reset%}>",
                            message: `<{%reset%}>${fail.reason}<{%reset%}>\n`,
                            color: "raw",
                            severity: "error",
                        },
                    });
                    push({ resOpFailedEvent: { metadata: meta(step), status: 1, steps: 1 } });
                    (c as { dead?: boolean }).dead = true;
                    failed = true;
                    continue;
                }
                push({ diagnosticEvent: { urn: urn(step), message: `${step}: done\n`, color: "raw", severity: "info" } });
                push({ resOutputsEvent: { metadata: meta(step) } });
            }
        }
    }
    if (failed)
        push({ diagnosticEvent: { urn: stackUrn(stack), prefix: "error: ", message: "update failed\n", color: "raw", severity: "error" } });
    for (const e of shape.beforeSummary ?? []) push(e);
    if (shape.noSummary) return events;
    push({ summaryEvent: { maybeCorrupt: false, durationSeconds: 1834, resourceChanges: { create: events.length }, PolicyPacks: {} } });
    push({ cancelEvent: {} });
    return events;
}

/** As `pulumi up --json` prints them: one indented object after another. */
export function asJsonStream(events: Event[]): string {
    return events.map((e) => JSON.stringify(e, null, "    ")).join("\n") + "\n";
}

/** As `pulumi up --event-log FILE` writes them: one object per line. */
export function asEventLog(events: Event[]): string {
    return events.map((e) => JSON.stringify(e)).join("\n") + "\n";
}
