// The update's live progress in the terminal, fed with the engine's events as the Automation API
// hands them over: per wave and cloud, VMs waiting, backing up, repairing, swapping, verified and
// failed, the time since the update started and an estimate of the time left. On a terminal the
// view is redrawn in place (log-update); elsewhere (CI logs) each change is one line. A failure is
// printed at once, with its reason and the next step, on both.
import { chainStepOf } from "../../core/contract/chain-steps";
import { terminalText } from "../display-text";
import { EngineEventFields } from "../progress/input-check";
import { Change, Counts, FleetProgress, PHASES, Phase, STEP_PHASE, WatchPlan } from "../progress/progress";
import { countCells, countsText, failureLines, tableLines, waveDoneText } from "../progress/render";
import { StepClock, durationText } from "./estimate";

/** Where the live view goes: a block redrawn in place, and lines that stay. */
export interface LiveOutput {
    /** Whether `block` redraws in place (a terminal); otherwise blocks are not shown while the update runs. */
    readonly redraws: boolean;
    /** Shows `text` in place of the block shown before. */
    block(text: string): void;
    /** Prints a line that stays (above the block, on a terminal). */
    line(text: string): void;
    /** Leaves the last block on the screen; later output goes below it. */
    done(): void;
}

/** How a phase reads in a line and as a column. */
const PHASE_WORDS: Record<Phase, string> = {
    waiting: "waiting",
    backup: "backing up",
    repairing: "repairing",
    swapping: "swapping",
    verified: "verified",
    failed: "failed",
};

/** The logical name at the end of a URN. */
function nameOfUrn(urn: string): string {
    const at = urn.lastIndexOf("::");
    return at < 0 ? urn : urn.slice(at + 2);
}

/** What the live view needs besides the plan. */
export interface LiveOptions {
    stack: string;
    plan: WatchPlan;
    /** VM chains in flight at most (the stack's maxInFlight), for the estimate. */
    lanes: number;
    out: LiveOutput;
    /** The next step for a VM whose chain failed at a step (a chain step's name), in plain words. */
    nextStep: (step: string | undefined) => string;
    /** The clock, in ms (tests give their own). */
    now?: () => number;
}

/** At most this many wave rows on the terminal: the waves done before them are one line. */
const SHOWN_WAVE_ROWS = 12;

/** The update's progress as the engine's events tell it, shown as it changes. */
export class LiveProgress {
    /** Where each VM is (the watch's model). */
    readonly progress: FleetProgress;
    /** The steps' durations and the estimate. */
    readonly clock: StepClock;
    private readonly now: () => number;
    private readonly startedAt: number;
    private ticker?: NodeJS.Timeout;

    constructor(private readonly options: LiveOptions) {
        this.progress = new FleetProgress(options.plan);
        this.clock = new StepClock(options.plan, options.lanes);
        this.now = options.now ?? Date.now;
        this.startedAt = this.now();
    }

    /** Starts the view (and, on a terminal, its once-a-second clock). */
    start(): void {
        if (this.options.out.redraws) {
            this.redraw();
            this.ticker = setInterval(() => this.redraw(), 1000);
            this.ticker.unref();
        } else this.options.out.line(`${this.elapsed()} update started: ${countsText(this.progress.total())}`);
    }

    /** Takes one engine event: the model, the estimate, and what the view shows. */
    event(event: unknown): void {
        const e = event as EngineEventFields | null | undefined;
        if (!e || typeof e !== "object") return;
        const at = this.now();
        const urn = e.resourcePreEvent?.metadata?.urn ?? e.resOutputsEvent?.metadata?.urn ?? e.resOpFailedEvent?.metadata?.urn;
        const name = urn ? nameOfUrn(urn) : undefined;
        if (name !== undefined) {
            if (e.resourcePreEvent && !e.resourcePreEvent.planning) this.clock.started(name, at);
            else if (e.resOutputsEvent && !e.resOutputsEvent.planning) this.clock.finished(name, at);
            else if (e.resOpFailedEvent) this.clock.failed(name);
        }
        const changes = this.progress.apply(event);
        for (const c of changes) this.show(c, name);
        if (changes.length > 0 && this.options.out.redraws) this.redraw();
    }

    /** Stops the clock and leaves the last view: on a terminal the block stays; elsewhere the table is printed once. */
    finish(): void {
        if (this.ticker) clearInterval(this.ticker);
        if (this.options.out.redraws) {
            this.redraw();
            this.options.out.done();
        } else this.options.out.line(this.screen());
    }

    /** `+1 min 12 s`: the time since the update started. */
    private elapsed(): string {
        return `+${durationText((this.now() - this.startedAt) / 1000)}`;
    }

    /** `about 2 min 10 s left`, or what the estimate still waits for. */
    private left(): string {
        if (this.progress.ended) return "ended";
        const s = this.clock.secondsLeft(this.now());
        return s === undefined ? "time left: estimated once the first steps finish" : `about ${durationText(s)} left`;
    }

    private say(text: string): void {
        this.options.out.line(terminalText(text, { multiline: true }));
    }

    private show(c: Change, resource: string | undefined): void {
        const where = (label: string, wave: number) => `${label} (wave ${wave})`;
        switch (c.kind) {
            case "phase": {
                if (this.options.out.redraws || !c.vm) return;
                const step = resource ? chainStepOf(resource)?.step : undefined;
                const phase = step ? PHASE_WORDS[STEP_PHASE[step]] : "started";
                this.say(`${this.elapsed()} ${where(c.vm.label, c.vm.wave)}: ${phase} · ${this.countsLine()}`);
                return;
            }
            case "verified":
                if (this.options.out.redraws || !c.vm) return;
                this.say(`${this.elapsed()} ${where(c.vm.label, c.vm.wave)}: verified · ${this.countsLine()}`);
                return;
            case "failed": {
                const vm = c.vm!;
                const step = this.progress.failures().find((f) => f.vm === vm)?.step;
                this.say(
                    `${this.elapsed()} FAILED ${vm.label} (wave ${vm.wave}${step ? `, step ${step}` : ""}): ${c.reason ?? "the reason follows when the engine reports it"}`,
                );
                this.say(`  next: ${this.options.nextStep(step)}`);
                return;
            }
            case "other-failure":
                this.say(`${this.elapsed()} FAILED ${c.resource}: ${c.reason ?? "the reason follows when the engine reports it"}`);
                this.say(`  next: ${this.options.nextStep(undefined)}`);
                return;
            case "reason":
                this.say(`  reason for ${c.vm?.label ?? c.resource}: ${c.reason}`);
                return;
            case "wave-done":
                this.say(`${this.elapsed()} ${waveDoneText(this.progress, c.wave!)}`);
                return;
        }
    }

    /** `3 of 11 verified, 0 failed, 5 in flight, 3 waiting · about 2 min left`. */
    private countsLine(): string {
        const t = this.progress.total();
        const all = PHASES.reduce((n, p) => n + t[p], 0);
        const flight = t.backup + t.repairing + t.swapping;
        return `${t.verified} of ${all} verified, ${t.failed} failed, ${flight} in flight, ${t.waiting} waiting · ${this.left()}`;
    }

    private redraw(): void {
        this.options.out.block(this.screen());
    }

    /**
     * The view: the stack, the time since the update started and the estimate; the counts; one row
     * per wave and cloud (the waves done before the last {@link SHOWN_WAVE_ROWS} rows as one line);
     * the failures with their reasons.
     */
    screen(): string {
        const rows = this.progress.counts();
        const head = ["wave", "cloud", ...PHASES.map((p) => PHASE_WORDS[p])];
        const done = new Set(
            this.progress
                .waveStatus()
                .filter((w) => w.done)
                .map((w) => w.wave),
        );
        let hidden = rows.length > SHOWN_WAVE_ROWS ? rows.length - SHOWN_WAVE_ROWS : 0;
        // Only whole waves that are done fold into the line.
        while (hidden > 0 && !done.has(rows[hidden - 1].wave)) hidden--;
        while (hidden > 0 && hidden < rows.length && rows[hidden].wave === rows[hidden - 1].wave) hidden--;
        const folded = rows.slice(0, hidden);
        const sum = (list: { counts: Counts }[]) => {
            const c = Object.fromEntries(PHASES.map((p) => [p, 0])) as Counts;
            for (const r of list) for (const p of PHASES) c[p] += r.counts[p];
            return c;
        };
        const [headLine, ...shownLines] = tableLines(head, rows.slice(hidden).map(countCells));
        return terminalText(
            [
                this.progress.ended
                    ? `bootloop-rescue ${this.options.stack}: update ended after ${durationText((this.now() - this.startedAt) / 1000)}`
                    : `bootloop-rescue ${this.options.stack}: update running for ${durationText((this.now() - this.startedAt) / 1000)}, ${this.left()}`,
                countsText(this.progress.total()),
                headLine,
                ...(folded.length > 0
                    ? [`waves ${folded[0].wave}-${folded[folded.length - 1].wave} done: ${countsText(sum(folded))}`]
                    : []),
                ...shownLines,
                ...failureLines(this.progress),
            ].join("\n"),
            { multiline: true },
        );
    }
}
