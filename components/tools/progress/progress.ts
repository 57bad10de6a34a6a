// Where each VM of a running `pulumi up` is, from the engine's events: per wave and per cloud, how
// many wait, are in backup, repairing, swapping, verified or failed, and why each failure happened.
// The VMs, their waves and their steps come from the stack's offline plan; the engine's events say
// which step started, finished or failed.

import { CHAIN_STEPS, ChainStep, chainStepOf } from "../../core/contract/chain-steps";
import { terminalText } from "../display-text";
import { OfflineRun } from "../offline/run";
import { EngineEventFields, PolicyEventFields } from "./input-check";
import { defaultQuietSeconds } from "./quiet";

/** A VM's place in its chain. */
export const PHASES = ["waiting", "backup", "repairing", "swapping", "verified", "failed"] as const;
export type Phase = (typeof PHASES)[number];

/** Which phase each step of the chain belongs to (the watch counts VMs, and the incident's live view words its lines, by it). */
export const STEP_PHASE: Record<ChainStep, Exclude<Phase, "waiting" | "verified" | "failed">> = {
    reboot: "repairing",
    backup: "backup",
    scratch: "repairing",
    attach: "repairing",
    repair: "repairing",
    fixed: "swapping",
    restored: "swapping",
    swap: "swapping",
    rollback: "swapping",
};

/** One VM as the watch knows it. */
export interface WatchedVm {
    /** Its label (`aws us-east-1/i-…`). */
    label: string;
    cloud: string;
    wave: number;
    /** The stem of its resources' names. */
    resourceName: string;
    /** Its canonical key (`us-east-1/i-…`), as the stack's records and `npm run evidence --vm` name it. */
    key?: string;
    /** The strategy its chain runs (repair, reboot, restore, …). */
    strategy?: string;
    /** Retries its inventory entry asks for (`retry:`): its retried steps' names end in the attempt. */
    retry?: number;
    /** The guest OS, present only for `linux` (absent: Windows): the watch and the status page mark it. */
    os?: "linux";
}

/** The short marker the watch and the status page put after a Linux VM's name (Windows, the default, has none). */
export function osMarker(vm: { os?: string }): string {
    return vm.os === "linux" ? " (linux)" : "";
}

/** One zone's rescue VMs, as the plan places them (the rescue fleet). */
export interface WatchedPool {
    cloud: string;
    /** Account, subscription or project. */
    scope: string;
    region: string;
    zone: string;
    /** Disks one rescue VM holds at most. */
    capacity: number;
    /** Its rescue VMs: resource name and the labels of the VMs whose disks each repairs. */
    members: { name: string; vms: string[] }[];
}

/** The VMs to follow and the resources declared for them (names, as the offline plan lists them). */
export interface WatchPlan {
    vms: WatchedVm[];
    /** Every resource name of the stack. */
    resources: string[];
    /** How long the events may stay quiet before the update counts as gone (seconds; see quiet.ts). */
    quietSeconds?: number;
    /** The rescue VMs per zone (the status page's rescue fleet); absent when not known. */
    rescuePools?: WatchedPool[];
}

/** The watch's view of a stack's offline plan. */
export function watchPlanOf(run: OfflineRun): WatchPlan {
    const plan = run.result.plan;
    const labelOf = new Map(plan.vms.map((v) => [v.key, v.label]));
    return {
        vms: plan.vms.map((v) => ({
            label: v.label,
            cloud: v.cloud,
            wave: v.wave,
            resourceName: v.slug,
            key: v.key,
            strategy: v.strategy,
            ...(v.retry ? { retry: v.retry } : {}),
            ...(v.os === "linux" ? { os: v.os } : {}),
        })),
        resources: run.tree.map((r) => r.name),
        quietSeconds: defaultQuietSeconds(run.settings, run.stepWaits),
        rescuePools: plan.rescuePools.map((p) => ({
            cloud: p.cloud,
            scope: p.placement.scope,
            region: p.placement.region,
            zone: p.placement.zone,
            capacity: p.capacity,
            members: p.members.map((m) => ({ name: m.name, vms: m.vms.map((k) => labelOf.get(k) ?? k) })),
        })),
    };
}

/** When one step of a VM's chain ran, in the engine's event timestamps (Unix seconds). */
export interface StepTime {
    step: ChainStep;
    /** The engine started it (its resourcePreEvent); absent when only its end was seen. */
    start?: number;
    /** The engine finished it (its resOutputsEvent), or reported it failed. */
    end?: number;
    /** The step failed. */
    failed?: boolean;
}

/** A VM's place and its steps' times, as the status page draws them. */
export interface VmTimeline {
    vm: WatchedVm;
    phase: Phase;
    /** Its steps in the order the engine started them. */
    steps: StepTime[];
    /** The step that failed and why, when it failed. */
    failedStep?: string;
    reason?: string;
}

interface VmState {
    vm: WatchedVm;
    phase: Phase;
    /** The step whose completion verifies the boot. */
    last?: ChainStep;
    reason?: string;
    failedStep?: string;
    /** Its steps' times, in the order they started. */
    steps: StepTime[];
}

/** What changed with one event, for the caller to report. */
export interface Change {
    kind: "failed" | "reason" | "verified" | "wave-done" | "phase" | "other-failure";
    vm?: WatchedVm;
    /** A resource outside any VM's chain (a rescue VM, an attachment) that failed. */
    resource?: string;
    reason?: string;
    wave?: number;
}

/** Counts of VMs per phase. */
export type Counts = Record<Phase, number>;

export function emptyCounts(): Counts {
    return Object.fromEntries(PHASES.map((p) => [p, 0])) as Counts;
}

/** The engine's colour codes (`<{%reset%}>`), terminal escapes and control characters out of a message (see display-text). */
export function plainMessage(text: string): string {
    return terminalText(text, { multiline: true }).trim();
}

/** A diagnostic's message as one line: its last three lines, the engine's prefix and colours gone. */
function reasonOf(message: string | undefined): string {
    return (
        plainMessage(String(message ?? ""))
            .replace(/^error:\s*/, "")
            .split("\n")
            .map((l) => l.trim())
            // A step's gate figures (base.sh gate_report) are for the bench, not a reason.
            .filter((l) => l && !l.startsWith("bootloop-rescue-gate:"))
            .slice(-3)
            .join(" / ")
            .slice(0, 1000)
    );
}

/** The logical name at the end of a URN (`urn:pulumi:stack::project::type::name`). */
function nameOfUrn(urn: string): string {
    const at = urn.lastIndexOf("::");
    return at < 0 ? urn : urn.slice(at + 2);
}

/** A resource's name from a URN as it may be shown (one line, no escapes, at most 200 characters). */
function shownName(urn: string): string {
    return terminalText(nameOfUrn(urn)).slice(0, 200);
}

/**
 * A VM's own failure as its chain's last step (swap, reboot) reports it on stdout: one JSON line
 * `{"status":"failed","reason":…,"nextStep":…}` (components/core/scripts/base.sh). The step
 * succeeded, so only its report says the VM could not be recovered. Undefined for any other report.
 */
export function ownFailure(outputs: Record<string, unknown> | undefined): { reason: string; nextStep?: string } | undefined {
    const stdout = outputs?.stdout;
    if (typeof stdout !== "string" || !stdout.startsWith("{")) return undefined;
    let report: { status?: unknown; reason?: unknown; nextStep?: unknown };
    try {
        report = JSON.parse(stdout.split("\n")[0]) as typeof report;
    } catch {
        return undefined;
    }
    if (report.status !== "failed") return undefined;
    return {
        reason: typeof report.reason === "string" && report.reason ? report.reason : "its last step reported status failed",
        ...(typeof report.nextStep === "string" && report.nextStep ? { nextStep: report.nextStep } : {}),
    };
}

/** What the watch calls a failure of the whole update that names no resource. */
export const THE_UPDATE = "the update";

/** The reason said when the engine's only word is that the update failed. */
const ENGINE_SAYS_FAILED = "the engine reports the update failed; its reason is in the update's log";

export class FleetProgress {
    private readonly states: VmState[];
    /** Resource name → the VM it belongs to and its step. */
    private readonly steps = new Map<string, { state: VmState; step: ChainStep }>();
    private readonly waves: number[];
    private readonly doneWaves = new Set<number>();
    /** The engine's summary (its end of the update), once it came. */
    private summary?: { seconds?: number };
    private cancelled = false;
    /** The engine said the update as a whole failed (the stack's failure, its closing "update failed"). */
    private stackFailed = false;
    /** Resources outside the VMs' chains that failed, with the reason. */
    private readonly others = new Map<string, string | undefined>();

    constructor(plan: WatchPlan) {
        const byStem = new Map<string, VmState>();
        this.states = plan.vms.map((vm) => {
            const state: VmState = { vm, phase: "waiting", steps: [] };
            byStem.set(vm.resourceName, state);
            return state;
        });
        // The last of a VM's steps in chain order is the one whose success verifies its boot.
        for (const name of plan.resources) {
            const hit = chainStepOf(name);
            const state = hit && byStem.get(hit.stem);
            if (!hit || !state) continue;
            this.steps.set(name, { state, step: hit.step });
            if (state.last === undefined || CHAIN_STEPS.indexOf(hit.step) > CHAIN_STEPS.indexOf(state.last)) state.last = hit.step;
        }
        this.waves = [...new Set(plan.vms.map((v) => v.wave))].sort((a, b) => a - b);
    }

    /**
     * How the update ended, once the engine said so (its summary, or its closing event without
     * one): "succeeded" only when the engine reported no failure of any kind and every VM of the
     * plan verified; "incomplete" when the engine reported none but some VM never verified.
     */
    get ended(): { result: "succeeded" | "failed" | "incomplete" | "cancelled"; seconds?: number } | undefined {
        if (this.summary) {
            const failed = this.stackFailed || this.others.size > 0 || this.states.some((s) => s.phase === "failed");
            return { result: failed ? "failed" : this.unverified() > 0 ? "incomplete" : "succeeded", seconds: this.summary.seconds };
        }
        return this.cancelled ? { result: "cancelled" } : undefined;
    }

    /**
     * Whether the engine itself reported the update failed (the stack's failure, its closing
     * "update failed", or a resource outside the VMs' chains), as against VMs recorded failed in
     * their own chains while the update went on to its end.
     */
    get engineFailed(): boolean {
        return this.stackFailed || this.others.size > 0;
    }

    /** How many VMs of the plan have not verified (failed, waiting or in flight). */
    unverified(): number {
        return this.states.filter((s) => s.phase !== "verified").length;
    }

    /** Takes one engine event; returns what it changed. */
    apply(event: unknown): Change[] {
        const e = event as EngineEventFields | null | undefined;
        if (!e || typeof e !== "object") return [];
        if (e.summaryEvent) {
            const seconds = e.summaryEvent.durationSeconds;
            this.summary = { seconds: typeof seconds === "number" ? seconds : undefined };
            return [];
        }
        if (e.cancelEvent) {
            this.cancelled = true;
            return [];
        }
        if (e.policyEvent) return this.policy(e.policyEvent);
        const urn: string | undefined =
            e.resourcePreEvent?.metadata?.urn ??
            e.resOutputsEvent?.metadata?.urn ??
            e.resOpFailedEvent?.metadata?.urn ??
            e.diagnosticEvent?.urn;
        if (!urn) return e.diagnosticEvent?.severity === "error" ? this.other(THE_UPDATE, e) : [];
        const hit = this.steps.get(nameOfUrn(urn));
        if (!hit)
            return urn.includes("::pulumi:pulumi:Stack::") && e.resOpFailedEvent ? this.wholeUpdateFailed() : this.other(shownName(urn), e);
        const { state, step } = hit;
        this.time(state, step, e);
        if (e.resourcePreEvent && !e.resourcePreEvent.planning) return this.enter(state, step);
        if (e.resOutputsEvent && !e.resOutputsEvent.planning) {
            if (step === state.last && state.phase !== "failed") {
                // The last step succeeded; its report may still say the VM could not be recovered
                // for a reason of its own (recorded failed: the fleet goes on).
                const own = ownFailure(e.resOutputsEvent.metadata?.new?.outputs);
                if (!own) return this.settle(state, "verified");
                state.reason = plainMessage(own.reason).slice(0, 1000);
                state.failedStep = step;
                return this.settle(state, "failed");
            }
            return this.enter(state, step);
        }
        if (e.resOpFailedEvent) return this.fail(state, step);
        if (e.diagnosticEvent?.severity === "error") {
            const reason = reasonOf(e.diagnosticEvent.message);
            if (state.phase === "failed") {
                if (state.reason) return [];
                state.reason = reason;
                return [{ kind: "reason", vm: state.vm, reason }];
            }
            state.reason = reason;
            return this.fail(state, step);
        }
        return [];
    }

    /** Notes when a VM's step started, ended or failed (the event's timestamp, when it has one). */
    private time(state: VmState, step: ChainStep, e: EngineEventFields): void {
        const at = typeof e.timestamp === "number" && Number.isFinite(e.timestamp) ? e.timestamp : undefined;
        const started = e.resourcePreEvent && !e.resourcePreEvent.planning;
        const ended = e.resOutputsEvent && !e.resOutputsEvent.planning;
        const failed = e.resOpFailedEvent || e.diagnosticEvent?.severity === "error";
        if (!started && !ended && !failed) return;
        let t = state.steps.find((s) => s.step === step);
        if (!t) state.steps.push((t = { step }));
        if (started && t.start === undefined) t.start = at;
        if (ended && t.end === undefined) t.end = at;
        if (failed) {
            t.failed = true;
            if (t.end === undefined) t.end = at;
        }
    }

    /**
     * The engine's word that the update as a whole failed (the stack's resOpFailedEvent, its
     * closing "update failed"): the update is failed; said at once only when no failure was
     * reported before it (otherwise it adds nothing).
     */
    private wholeUpdateFailed(): Change[] {
        const first = !this.stackFailed && this.others.size === 0 && !this.states.some((s) => s.phase === "failed");
        this.stackFailed = true;
        // Listed without a reason, so that an error the engine sends after it still gives one.
        if (first) this.others.set(THE_UPDATE, undefined);
        return first ? [{ kind: "other-failure", resource: THE_UPDATE, reason: ENGINE_SAYS_FAILED }] : [];
    }

    /** A policy pack's verdict: a mandatory violation fails the update (advisory ones do not). */
    private policy(p: PolicyEventFields): Change[] {
        if (p.enforcementLevel !== "mandatory") return [];
        const rule = terminalText(`${p.policyPackName ?? "?"}/${p.policyName ?? "?"}`).slice(0, 200);
        const resource = `${typeof p.resourceUrn === "string" && p.resourceUrn ? shownName(p.resourceUrn) : THE_UPDATE} (policy ${rule})`;
        return this.other(resource, { diagnosticEvent: { severity: "error", message: p.message } });
    }

    /** A failure outside the chains (the program itself, a rescue VM): reported once, with its reason. */
    private other(resource: string, e: EngineEventFields): Change[] {
        const isError = e.diagnosticEvent?.severity === "error";
        if (!e.resOpFailedEvent && !isError) return [];
        const reason = isError ? reasonOf(e.diagnosticEvent?.message) : undefined;
        // The engine's closing word on the update adds nothing to the failures already reported.
        if (reason === "update failed") return this.wholeUpdateFailed();
        if (this.others.has(resource)) {
            if (!reason || this.others.get(resource)) return [];
            this.others.set(resource, reason);
            return [{ kind: "reason", resource, reason }];
        }
        this.others.set(resource, reason);
        return [{ kind: "other-failure", resource, reason }];
    }

    private enter(state: VmState, step: ChainStep): Change[] {
        if (state.phase === "failed" || state.phase === "verified") return [];
        const phase = STEP_PHASE[step];
        if (PHASES.indexOf(phase) <= PHASES.indexOf(state.phase)) return [];
        state.phase = phase;
        return [{ kind: "phase", vm: state.vm }];
    }

    private fail(state: VmState, step: ChainStep): Change[] {
        if (state.phase === "failed") return [];
        state.failedStep = step;
        return this.settle(state, "failed");
    }

    private settle(state: VmState, phase: "verified" | "failed"): Change[] {
        if (state.phase === phase) return [];
        state.phase = phase;
        const changes: Change[] = [
            phase === "failed" ? { kind: "failed", vm: state.vm, reason: state.reason } : { kind: "verified", vm: state.vm },
        ];
        const wave = state.vm.wave;
        if (!this.doneWaves.has(wave) && this.states.every((s) => s.vm.wave !== wave || s.phase === "verified" || s.phase === "failed")) {
            this.doneWaves.add(wave);
            changes.push({ kind: "wave-done", wave });
        }
        return changes;
    }

    /** Counts per wave and cloud (and totals), in wave order. */
    counts(): { wave: number; cloud: string; counts: Counts }[] {
        const rows = new Map<string, { wave: number; cloud: string; counts: Counts }>();
        for (const s of this.states) {
            const key = `${s.vm.wave}\u0000${s.vm.cloud}`;
            if (!rows.has(key)) rows.set(key, { wave: s.vm.wave, cloud: s.vm.cloud, counts: emptyCounts() });
            rows.get(key)!.counts[s.phase]++;
        }
        return [...rows.values()].sort((a, b) => a.wave - b.wave || a.cloud.localeCompare(b.cloud));
    }

    /** Totals over every VM, or over one wave's. */
    total(wave?: number): Counts {
        const c = emptyCounts();
        for (const s of this.states) if (wave === undefined || s.vm.wave === wave) c[s.phase]++;
        return c;
    }

    /** Failed VMs with their reasons, in wave order. */
    failures(): { vm: WatchedVm; step?: string; reason?: string }[] {
        return this.states.filter((s) => s.phase === "failed").map((s) => ({ vm: s.vm, step: s.failedStep, reason: s.reason }));
    }

    /** Every VM of the plan with its phase and its steps' times, in plan order. */
    timelines(): VmTimeline[] {
        return this.states.map((s) => ({
            vm: s.vm,
            phase: s.phase,
            steps: s.steps.map((t) => ({ ...t })),
            failedStep: s.failedStep,
            reason: s.reason,
        }));
    }

    /** Resources outside the chains that failed, with their reasons. */
    otherFailures(): { resource: string; reason?: string }[] {
        return [...this.others].map(([resource, reason]) => ({ resource, reason }));
    }

    /** The waves, and which are done. */
    waveStatus(): { wave: number; done: boolean }[] {
        return this.waves.map((wave) => ({ wave, done: this.doneWaves.has(wave) }));
    }
}
