// The status of a run, as the status page, the Markdown summary and the report show it: built from
// what a run gives (the stack's offline plan, the engine's events as they come, and at the end the
// stack's `vms` output), one snapshot at a time. The phases come from the watch's FleetProgress;
// this adds the times, the verdict per VM (recovered, or needs a person and why, with the next step
// and where the evidence is) and the rescue fleet.
//
//   const recorder = new StatusRecorder("prod", watchPlanOf(offlineRun));
//   recorder.event(engineEvent);                  // each event of `pulumi up --json`, as it comes
//   recorder.outputs(vmsOutput);                  // at the end: `pulumi stack output vms --json`
//   const snapshot = recorder.snapshot();         // plain JSON: the page, Markdown and report read it
import { chainStepName, chainStepOf } from "../../core/contract/chain-steps";
import { terminalText } from "../display-text";
import { EngineEventFields } from "../progress/input-check";
import { Change, FleetProgress, WatchPlan, WatchedPool, WatchedVm, ownFailure } from "../progress/progress";
import { VmRecordValues, needsPerson } from "../report/records";
import { HeadlineFacts, headline } from "./format";
import { OTHER_NEXT_STEP, ROLLED_BACK_NEXT_STEP, UNFINISHED_NEXT_STEP, evidenceCommand, nextStepFor } from "./next-step";

/** Where a VM is, as the page counts it. */
export const VM_STATES = ["waiting", "backup", "repairing", "swapping", "recovered", "needs-person"] as const;
export type VmState = (typeof VM_STATES)[number];

/** VMs per state. */
export type StateCounts = Record<VmState, number>;

/** How the update stands. */
export type RunState = "not-started" | "running" | "succeeded" | "failed" | "incomplete" | "cancelled" | "stopped" | "records-only";

/** One step of a VM's chain on the timeline, in seconds from the run's start. */
export interface StatusStep {
    /** The chain step (backup, scratch, attach, repair, fixed, restored, swap, reboot, rollback). */
    step: string;
    /** Seconds from the run's start when it started; absent when unknown. */
    start?: number;
    /** Seconds from the run's start when it ended or failed; absent while it runs. */
    end?: number;
    /** It failed. */
    failed?: boolean;
}

/** One VM. Every string in it may be foreign (guest, cloud, inventory): renderers escape them. */
export interface StatusVm {
    label: string;
    /** Its key (as `npm run evidence --vm` takes it), when known. */
    key?: string;
    cloud: string;
    wave: number;
    strategy?: string;
    /** The guest OS, present only for `linux` (absent: Windows): the page marks it after the name. */
    os?: "linux";
    state: VmState;
    /** Its steps in the order they started. */
    steps: StatusStep[];
    /** Seconds from the run's start when it was recovered (its last step ended), when known. */
    recoveredAt?: number;
}

/** A VM that needs a person: why, what to do, and where its evidence is. */
export interface StatusFailure {
    label: string;
    key?: string;
    cloud: string;
    wave: number;
    /** The guest OS, present only for `linux` (absent: Windows). */
    os?: "linux";
    /** The step it failed at, when a step failed. */
    step?: string;
    /** Why, in the engine's or the record's words (foreign text). */
    reason: string;
    /** What a person does next (the project's own words). */
    nextStep: string;
    /** Where its evidence is, in words. */
    evidence: string;
    /** The command that prints its full repair evidence, when the stack's state holds some. */
    evidenceCommand?: string;
}

/** A failure outside the VMs' chains (a rescue VM, the program, a policy, the update as a whole). */
export interface StatusOtherFailure {
    resource: string;
    reason: string;
    nextStep: string;
}

/** One wave's progress. */
export interface StatusWave {
    wave: number;
    /** Every VM of the wave is recovered or needs a person. */
    done: boolean;
    counts: StateCounts;
    /** Per cloud, in name order. */
    clouds: { cloud: string; counts: StateCounts }[];
}

/** One rescue VM of the fleet. */
export interface StatusRescueVm {
    name: string;
    /** Disks it repairs. */
    disks: number;
    /** What the events say of it. */
    state: "planned" | "creating" | "up" | "failed" | "removed";
}

/** One zone's rescue VMs. */
export interface StatusPool {
    cloud: string;
    scope: string;
    region: string;
    zone: string;
    /** Disks one rescue VM holds at most. */
    capacity: number;
    members: StatusRescueVm[];
}

/** A point of the recoveries-over-time chart: totals at `at` seconds from the start. */
export interface StatusPoint {
    at: number;
    recovered: number;
    needPerson: number;
}

/** Everything the page, the Markdown and the report show, as plain JSON. */
export interface StatusSnapshot {
    /** Format of this object (bumped when a field changes meaning). */
    version: 1;
    stack: string;
    /** When the snapshot was taken (ISO 8601). */
    generatedAt: string;
    /** The run's first event (Unix seconds), when events came. */
    startedAt?: number;
    /** Seconds from the first event to the end (or to the last event while it runs), when known. */
    elapsedSeconds?: number;
    run: RunState;
    /** The sentence a manager forwards. */
    headline: string;
    total: number;
    counts: StateCounts;
    waves: StatusWave[];
    /** Every VM, in wave order then by when its first step started. */
    vms: StatusVm[];
    /** The VMs that need a person. */
    failures: StatusFailure[];
    otherFailures: StatusOtherFailure[];
    fleet: StatusPool[];
    /** Cumulative recoveries and VMs needing a person over time (one point per change). */
    recoveries: StatusPoint[];
}

/** No VM in any state. */
export function emptyStateCounts(): StateCounts {
    return Object.fromEntries(VM_STATES.map((s) => [s, 0])) as StateCounts;
}

const NO_REASON = "the reason is in the update's log";

/** How every rescue resource's name starts (components/core/plan names the rescue VMs `rescue-<zone>-<n>`). */
const RESCUE_PREFIX = "rescue-";

/** Foreign text kept for the snapshot: one line, no escapes or controls, bounded. */
function clean(text: string, max = 1000): string {
    return terminalText(String(text)).trim().slice(0, max);
}

/**
 * Builds snapshots of a run. Feed it the plan, then each engine event as it comes ({@link event}),
 * then the stack's `vms` output at the end ({@link outputs}); {@link snapshot} any time.
 */
export class StatusRecorder {
    private readonly progress: FleetProgress;
    private firstAt?: number;
    private lastAt?: number;
    private started = false;
    private records?: Map<string, VmRecordValues>;
    /** VM resource stem → its own failure as its last step reported it (status failed), before the records come. */
    private readonly reported = new Map<string, { reason: string; nextStep?: string }>();
    /** The plan's VM resource stems. */
    private readonly stems: Set<string>;
    /** Rescue VM name → what the events said of it. */
    private readonly rescue = new Map<string, StatusRescueVm["state"]>();
    /** The rescue pools: the plan's, until the stack's outputs name the ones the update made. */
    private pools: WatchedPool[];

    /** `stack`: the stack's name; `plan`: its offline plan as the watch reads it (`watchPlanOf`). */
    constructor(
        private readonly stack: string,
        plan: WatchPlan,
    ) {
        this.progress = new FleetProgress(plan);
        this.pools = plan.rescuePools ?? [];
        this.stems = new Set(plan.vms.map((v) => v.resourceName));
    }

    /**
     * A recorder that knows only a stack's records (`npm run report` without events): each VM is
     * recovered or needs a person by its record; no times.
     */
    static fromRecords(stack: string, records: Record<string, VmRecordValues>): StatusRecorder {
        const list = Object.values(records);
        const r = new StatusRecorder(stack, {
            vms: list.map((v) => ({
                label: v.label,
                cloud: v.cloud,
                wave: v.wave,
                resourceName: v.key,
                key: v.key,
                strategy: v.strategy,
                ...(v.os === "linux" ? { os: "linux" as const } : {}),
            })),
            resources: [],
        });
        r.outputs(records);
        return r;
    }

    /** Takes one engine event (`pulumi up --json`, one parsed value); returns what the watch's phases saw change. */
    event(value: unknown): Change[] {
        const e = value as (EngineEventFields & Record<string, unknown>) | null | undefined;
        if (!e || typeof e !== "object") return [];
        if (typeof e.timestamp === "number" && Number.isFinite(e.timestamp)) {
            if (this.firstAt === undefined || e.timestamp < this.firstAt) this.firstAt = e.timestamp;
            if (this.lastAt === undefined || e.timestamp > this.lastAt) this.lastAt = e.timestamp;
        }
        this.started = true;
        this.noteRescue(e);
        this.noteStackOutputs(e);
        this.noteStepReport(e);
        return this.progress.apply(value);
    }

    /**
     * A VM's own failure as its swap or reboot step reports it on stdout (`{"status":"failed",
     * "reason":…,"nextStep":…}`, components/core/scripts/base.sh): the step succeeds (the fleet goes
     * on), so only its report says the VM needs a person, until the records come.
     */
    private noteStepReport(e: EngineEventFields & Record<string, unknown>): void {
        const out = e.resOutputsEvent;
        const urn = out?.metadata?.urn;
        if (!out || out.planning || typeof urn !== "string") return;
        const hit = chainStepOf(urn.slice(urn.lastIndexOf("::") + 2));
        if (!hit || (hit.step !== "swap" && hit.step !== "reboot") || !this.stems.has(hit.stem)) return;
        const own = ownFailure(out.metadata?.new?.outputs);
        if (own) this.reported.set(hit.stem, own);
    }

    /**
     * The stack's own outputs, when the engine's closing resOutputsEvent carries them: the VMs'
     * records (as {@link outputs} takes them) and the rescue pools as the update placed them (the
     * offline plan's zones may be lookups it could not make).
     */
    private noteStackOutputs(e: EngineEventFields & Record<string, unknown>): void {
        const meta = (e.resOutputsEvent as { metadata?: { type?: string; new?: { outputs?: unknown } } } | undefined)?.metadata;
        if (meta?.type !== "pulumi:pulumi:Stack") return;
        const outputs = meta.new?.outputs as { vms?: unknown; plan?: { rescuePools?: unknown } } | undefined;
        if (outputs?.vms && typeof outputs.vms === "object" && !Array.isArray(outputs.vms))
            this.outputs(outputs.vms as Record<string, VmRecordValues>);
        const pools = outputs?.plan?.rescuePools;
        if (Array.isArray(pools)) this.pools = poolsOfOutputs(pools);
    }

    /** The stack's `vms` output at the end of the run (values resolved), keyed as the stack keys it. */
    outputs(vms: Record<string, VmRecordValues>): void {
        this.records = new Map();
        for (const r of Object.values(vms)) {
            if (!r || typeof r !== "object") continue;
            if (typeof r.key === "string") this.records.set(`k:${r.key}`, r);
            if (typeof r.label === "string") this.records.set(`l:${r.label}`, r);
        }
    }

    /**
     * What the engine's events say of a rescue VM (and of the other `rescue-…` resources, which
     * the fleet does not list): the names are the plan's, or the outputs' once the update ends.
     */
    private noteRescue(e: EngineEventFields & Record<string, unknown>): void {
        const meta = (e.resourcePreEvent ?? e.resOutputsEvent ?? e.resOpFailedEvent)?.metadata;
        const urn = meta?.urn ?? e.diagnosticEvent?.urn;
        if (typeof urn !== "string") return;
        const name = urn.slice(urn.lastIndexOf("::") + 2);
        if (!name.startsWith(RESCUE_PREFIX)) return;
        const deleting = meta?.op === "delete" || meta?.op === "delete-replaced";
        if (e.resOpFailedEvent || e.diagnosticEvent?.severity === "error") this.rescue.set(name, "failed");
        else if (e.resOutputsEvent && !(e.resOutputsEvent as { planning?: boolean }).planning)
            this.rescue.set(name, deleting ? "removed" : "up");
        else if (
            e.resourcePreEvent &&
            !(e.resourcePreEvent as { planning?: boolean }).planning &&
            !deleting &&
            this.rescue.get(name) !== "up"
        )
            this.rescue.set(name, "creating");
    }

    private recordOf(vm: WatchedVm): VmRecordValues | undefined {
        if (!this.records) return undefined;
        return (vm.key !== undefined ? this.records.get(`k:${vm.key}`) : undefined) ?? this.records.get(`l:${vm.label}`);
    }

    /** The status now. `now`: when the snapshot is taken. */
    snapshot(now = new Date()): StatusSnapshot {
        const end = this.progress.ended;
        const run: RunState = !this.started
            ? this.records
                ? "records-only"
                : "not-started"
            : end
              ? end.result
              : this.records
                ? "stopped"
                : "running";
        const running = run === "running" || run === "not-started";
        const t0 = this.firstAt;
        const rel = (t: number | undefined) => (t === undefined || t0 === undefined ? undefined : Math.max(0, Math.round(t - t0)));
        const elapsedSeconds =
            end?.seconds !== undefined
                ? end.seconds
                : t0 !== undefined && this.lastAt !== undefined
                  ? Math.round(this.lastAt - t0)
                  : undefined;

        const vms: StatusVm[] = [];
        const failures: StatusFailure[] = [];
        for (const t of this.progress.timelines()) {
            const vm = t.vm;
            const record = this.recordOf(vm);
            const steps: StatusStep[] = t.steps.map((s) => ({
                step: s.step,
                ...(rel(s.start) !== undefined ? { start: rel(s.start) } : {}),
                ...(rel(s.end) !== undefined ? { end: rel(s.end) } : {}),
                ...(s.failed ? { failed: true } : {}),
            }));
            const repaired = t.steps.some((s) => s.step === "repair" && s.end !== undefined && !s.failed);
            const base = {
                label: clean(vm.label, 300),
                cloud: clean(vm.cloud, 40),
                wave: vm.wave,
                ...(vm.os === "linux" || record?.os === "linux" ? { os: "linux" as const } : {}),
            };
            const key = vm.key !== undefined ? clean(vm.key, 300) : undefined;
            const evidenceCmd = key !== undefined ? evidenceCommand(this.stack, key) : undefined;
            const fail = (reason: string, nextStep: string, step: string | undefined, hasEvidence: boolean) => {
                failures.push({
                    ...base,
                    ...(key !== undefined ? { key } : {}),
                    ...(step ? { step } : {}),
                    reason: clean(reason),
                    nextStep,
                    evidence: hasEvidence
                        ? "the repair's full evidence is in the stack's state"
                        : step === "repair"
                          ? `the repair engine's output is in the update's log, under the resource ${clean(chainStepName(vm.resourceName, "repair", 1 + (vm.retry ?? 0)), 300)}`
                          : "no repair evidence: the update's log holds the step's error",
                    ...(hasEvidence && evidenceCmd ? { evidenceCommand: evidenceCmd } : {}),
                });
            };
            let state: VmState;
            const selfReported = this.reported.get(vm.resourceName);
            // A VM whose last step reported its own failure is failed for the watch too: its own
            // words (below) say why, not the step's generic next step.
            if (t.phase === "failed" && !selfReported) {
                state = "needs-person";
                fail(t.reason ?? NO_REASON, nextStepFor(t.failedStep), t.failedStep, repaired);
            } else if (record && (t.phase === "verified" || !this.started || run !== "running")) {
                const why = needsPerson(record);
                const rolledBack = record.status === "rolled-back" || record.status === "not-swapped";
                const hasEvidence = typeof record.evidence === "string" && record.evidence !== "" && record.evidence !== "[secret]";
                if (why === undefined) state = "recovered";
                else if (record.status === "failed") {
                    // The VM's own failure, recorded by its chain (the fleet went on): its words.
                    state = "needs-person";
                    fail(
                        typeof record.note === "string" && record.note ? record.note : why,
                        typeof record.nextStep === "string" && record.nextStep ? clean(record.nextStep) : nextStepFor(undefined),
                        undefined,
                        hasEvidence,
                    );
                } else {
                    state = "needs-person";
                    const step = /^repair /.test(why) ? "repair" : undefined;
                    fail(why, rolledBack ? ROLLED_BACK_NEXT_STEP : step ? nextStepFor(step) : UNFINISHED_NEXT_STEP, step, hasEvidence);
                }
            } else if (selfReported) {
                state = "needs-person";
                fail(
                    selfReported.reason,
                    selfReported.nextStep ? clean(selfReported.nextStep) : nextStepFor(undefined),
                    undefined,
                    repaired,
                );
            } else if (t.phase === "verified") state = "recovered";
            // A chain the update left unfinished (it ended, was cancelled or stopped) keeps its
            // phase: nothing is wrong with the VM, and the next update resumes it (the headline
            // says so); a person is needed only for what failed.
            else state = t.phase === "failed" ? "needs-person" : t.phase;
            const last = steps.reduce<number | undefined>(
                (m, s) => (s.end !== undefined && (m === undefined || s.end > m) ? s.end : m),
                undefined,
            );
            vms.push({
                ...base,
                ...(key !== undefined ? { key } : {}),
                ...(vm.strategy ? { strategy: clean(vm.strategy, 40) } : {}),
                state,
                steps,
                ...(state === "recovered" && last !== undefined ? { recoveredAt: last } : {}),
            });
        }
        const firstStart = (v: StatusVm) => v.steps.reduce((m, s) => Math.min(m, s.start ?? Infinity), Infinity);
        vms.sort((a, b) => a.wave - b.wave || firstStart(a) - firstStart(b) || a.label.localeCompare(b.label));
        failures.sort((a, b) => a.wave - b.wave || a.label.localeCompare(b.label));

        const counts = emptyStateCounts();
        for (const v of vms) counts[v.state]++;
        const waves = this.waves(vms);
        const otherFailures = this.progress.otherFailures().map((o) => ({
            resource: clean(o.resource, 300),
            reason: clean(o.reason ?? NO_REASON),
            nextStep: OTHER_NEXT_STEP,
        }));
        const facts: HeadlineFacts = {
            total: vms.length,
            recovered: counts.recovered,
            needPerson: counts["needs-person"],
            inFlight: counts.backup + counts.repairing + counts.swapping,
            waiting: counts.waiting,
            running,
            started: this.started,
            elapsedSeconds,
        };
        return {
            version: 1,
            stack: clean(this.stack, 100),
            generatedAt: now.toISOString(),
            ...(t0 !== undefined ? { startedAt: t0 } : {}),
            ...(elapsedSeconds !== undefined ? { elapsedSeconds } : {}),
            run,
            headline: headline(facts),
            total: vms.length,
            counts,
            waves,
            vms,
            failures,
            otherFailures,
            fleet: this.fleet(),
            recoveries: this.recoveries(vms, failures),
        };
    }

    private waves(vms: StatusVm[]): StatusWave[] {
        const byWave = new Map<number, StatusWave>();
        for (const v of vms) {
            let w = byWave.get(v.wave);
            if (!w) byWave.set(v.wave, (w = { wave: v.wave, done: false, counts: emptyStateCounts(), clouds: [] }));
            w.counts[v.state]++;
            let c = w.clouds.find((x) => x.cloud === v.cloud);
            if (!c) w.clouds.push((c = { cloud: v.cloud, counts: emptyStateCounts() }));
            c.counts[v.state]++;
        }
        const list = [...byWave.values()].sort((a, b) => a.wave - b.wave);
        for (const w of list) {
            w.clouds.sort((a, b) => a.cloud.localeCompare(b.cloud));
            const all = VM_STATES.reduce((n, s) => n + w.counts[s], 0);
            w.done = w.counts.recovered + w.counts["needs-person"] === all;
        }
        return list;
    }

    private fleet(): StatusPool[] {
        return this.pools.map((p) => ({
            cloud: clean(p.cloud, 40),
            scope: clean(p.scope, 200),
            region: clean(p.region, 100),
            zone: clean(p.zone, 100),
            capacity: p.capacity,
            members: p.members.map((m) => ({ name: clean(m.name, 200), disks: m.vms.length, state: this.rescue.get(m.name) ?? "planned" })),
        }));
    }

    /** Cumulative recovered and needing a person, one point per second something changed. */
    private recoveries(vms: StatusVm[], failures: StatusFailure[]): StatusPoint[] {
        const changes = new Map<number, { r: number; f: number }>();
        const bump = (at: number | undefined, r: number, f: number) => {
            if (at === undefined) return;
            const c = changes.get(at) ?? { r: 0, f: 0 };
            c.r += r;
            c.f += f;
            changes.set(at, c);
        };
        const failed = new Set(failures.map((f) => `${f.wave}\u0000${f.label}`));
        for (const v of vms) {
            if (v.state === "recovered") bump(v.recoveredAt, 1, 0);
            else if (failed.has(`${v.wave}\u0000${v.label}`)) {
                const at = v.steps.find((s) => s.failed)?.end;
                bump(at, 0, 1);
            }
        }
        if (changes.size === 0) return [];
        const points: StatusPoint[] = [{ at: 0, recovered: 0, needPerson: 0 }];
        let r = 0;
        let f = 0;
        for (const at of [...changes.keys()].sort((a, b) => a - b)) {
            const c = changes.get(at)!;
            r += c.r;
            f += c.f;
            points.push({ at, recovered: r, needPerson: f });
        }
        return points;
    }
}

/** The stack output `plan.rescuePools` (`{cloud, scope, region, zone, capacity, rescueVms: [{name, vms}]}`) as the watch's pools; malformed entries are left out. */
function poolsOfOutputs(pools: unknown[]): WatchedPool[] {
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    return pools.flatMap((p) => {
        if (!p || typeof p !== "object") return [];
        const o = p as Record<string, unknown>;
        const members = Array.isArray(o.rescueVms) ? o.rescueVms : [];
        return [
            {
                cloud: text(o.cloud),
                scope: text(o.scope),
                region: text(o.region),
                zone: text(o.zone),
                capacity: typeof o.capacity === "number" ? o.capacity : 0,
                members: members.flatMap((m) => {
                    const r = m as { name?: unknown; vms?: unknown } | null;
                    return r && typeof r.name === "string" ? [{ name: r.name, vms: Array.isArray(r.vms) ? r.vms.map(text) : [] }] : [];
                }),
            },
        ];
    });
}
