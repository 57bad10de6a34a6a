// How long the rest of an update will take, from how long its steps took so far: each kind of step
// (backup, scratch, attach, repair, fixed, restored, swap, reboot, rollback) takes, on average,
// what the finished ones of its kind took; a VM still has its unfinished steps ahead; the VMs of a
// wave run side by side (at most `lanes` at a time) and the waves one after another.
import { CHAIN_STEPS, ChainStep, chainStepOf } from "../../core/contract/chain-steps";

/** The VMs and resource names of the plan, as the estimate needs them. */
export interface EstimatePlan {
    vms: readonly { resourceName: string; wave: number }[];
    /** Every resource name of the stack. */
    resources: readonly string[];
}

interface StepRun {
    step: ChainStep;
    /** When it started (ms), once the engine said so. */
    startedAt?: number;
    done: boolean;
}

interface VmRun {
    wave: number;
    steps: Map<string, StepRun>;
    /** A step failed: the chain goes no further. */
    failed: boolean;
}

/** The steps' observed durations and each VM's chain, kept as the engine's events come. */
export class StepClock {
    private readonly vms = new Map<string, VmRun>();
    /** Resource name → its VM's stem. */
    private readonly stemOf = new Map<string, string>();
    /** Observed durations (ms) per kind of step: total and count. */
    private readonly observed = new Map<ChainStep, { total: number; count: number }>();

    /** @param lanes how many VM chains run at once at most (the stack's maxInFlight). */
    constructor(
        plan: EstimatePlan,
        private readonly lanes: number,
    ) {
        for (const vm of plan.vms) this.vms.set(vm.resourceName, { wave: vm.wave, steps: new Map(), failed: false });
        for (const name of plan.resources) {
            const hit = chainStepOf(name);
            const vm = hit && this.vms.get(hit.stem);
            if (!hit || !vm) continue;
            vm.steps.set(name, { step: hit.step, done: false });
            this.stemOf.set(name, hit.stem);
        }
    }

    private stepRun(name: string): StepRun | undefined {
        const stem = this.stemOf.get(name);
        return stem === undefined ? undefined : this.vms.get(stem)?.steps.get(name);
    }

    /** The engine started the resource `name` (a chain step's, or any other: ignored) at `at` (ms). */
    started(name: string, at: number): void {
        const run = this.stepRun(name);
        if (run && run.startedAt === undefined && !run.done) run.startedAt = at;
    }

    /** The engine finished the resource `name` at `at` (ms): its duration counts for its kind of step. */
    finished(name: string, at: number): void {
        const run = this.stepRun(name);
        if (!run || run.done) return;
        run.done = true;
        if (run.startedAt === undefined) return;
        const seen = this.observed.get(run.step) ?? { total: 0, count: 0 };
        seen.total += Math.max(0, at - run.startedAt);
        seen.count += 1;
        this.observed.set(run.step, seen);
    }

    /** A step of the resource `name`'s VM failed: that VM has nothing left to run. */
    failed(name: string): void {
        const stem = this.stemOf.get(name);
        const vm = stem === undefined ? undefined : this.vms.get(stem);
        if (vm) vm.failed = true;
    }

    /** The average duration (ms) of a kind of step: its own finished steps', else every finished step's; undefined before any finished. */
    private typical(step: ChainStep): number | undefined {
        const own = this.observed.get(step);
        if (own) return own.total / own.count;
        let total = 0;
        let count = 0;
        for (const o of this.observed.values()) {
            total += o.total;
            count += o.count;
        }
        return count > 0 ? total / count : undefined;
    }

    /**
     * Seconds left, at `now` (ms), or undefined before any step finished (nothing to go by). Per VM
     * still running or waiting: the typical durations of its unfinished steps (less what a running
     * one has already taken). Per wave: its longest VM, or its VMs' total spread over `lanes` if
     * that is longer. The waves add up.
     */
    secondsLeft(now: number): number | undefined {
        if (this.observed.size === 0) return undefined;
        const waves = new Map<number, { longest: number; total: number }>();
        for (const vm of this.vms.values()) {
            if (vm.failed) continue;
            let left = 0;
            const steps = [...vm.steps.values()].sort((a, b) => CHAIN_STEPS.indexOf(a.step) - CHAIN_STEPS.indexOf(b.step));
            for (const s of steps) {
                if (s.done) continue;
                const typical = this.typical(s.step)!;
                left += s.startedAt === undefined ? typical : Math.max(0, typical - (now - s.startedAt));
            }
            if (steps.every((s) => s.done)) continue;
            const w = waves.get(vm.wave) ?? { longest: 0, total: 0 };
            w.longest = Math.max(w.longest, left);
            w.total += left;
            waves.set(vm.wave, w);
        }
        let ms = 0;
        for (const w of waves.values()) ms += Math.max(w.longest, w.total / Math.max(1, this.lanes));
        return Math.round(ms / 1000);
    }
}

/** `75` → `1 min 15 s`; `3725` → `1 h 2 min`; `8` → `8 s`. Whole seconds, never negative. */
export function durationText(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (h > 0) return `${h} h ${m} min`;
    if (m > 0) return `${m} min ${s % 60} s`;
    return `${s} s`;
}
