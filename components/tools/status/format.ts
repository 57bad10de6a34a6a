// Numbers, durations and the headline sentence as a person reads them, the same on the status
// page, in Markdown and at the top of `npm run report`.

const NUMBER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** `1987` → `1,987`. */
export function count(n: number): string {
    return NUMBER.format(n);
}

/** `11532` → `3 h 12 min`; `725` → `12 min 5 s`; `45` → `45 s`. Whole seconds, never negative. */
export function duration(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = s % 60;
    if (h > 0) return `${h} h ${m} min`;
    if (m > 0) return rest ? `${m} min ${rest} s` : `${m} min`;
    return `${rest} s`;
}

/** What the headline needs to know. */
export interface HeadlineFacts {
    /** VMs of the run. */
    total: number;
    /** VMs recovered (verified, and their records say nothing is left to do). */
    recovered: number;
    /** VMs that need a person (failed, or rolled back). */
    needPerson: number;
    /** VMs backing up, repairing or swapping now (once the update ended: those it left mid-chain). */
    inFlight: number;
    /** VMs whose chain has not started. */
    waiting: number;
    /** Whether the update is still running (false once it ended, or when only its records are known). */
    running: boolean;
    /** Whether the update started at all (events came). */
    started: boolean;
    /** Seconds from its first event to its end (or to now while it runs), when known. */
    elapsedSeconds?: number;
}

function vms(n: number): string {
    return `${count(n)} VM${n === 1 ? "" : "s"}`;
}

function people(n: number): string {
    if (n === 0) return "none needs a person";
    return `${count(n)} need${n === 1 ? "s" : ""} a person`;
}

/**
 * The one sentence a manager forwards: `1,987 of 2,000 VMs recovered in 3 h 12 min; 13 need a
 * person` (and, when the update ended before some chains finished, `; 20 VMs not finished: …`); while the update runs, `412 of 2,000 VMs recovered so far (running 1 h 2 min); 3 need a
 * person; 120 in flight, 1,465 waiting`.
 */
export function headline(f: HeadlineFacts): string {
    const of = `${count(f.recovered)} of ${vms(f.total)} recovered`;
    if (!f.started && f.running) return `${of}: the update has not started yet`;
    if (f.running) {
        const since = f.elapsedSeconds !== undefined ? ` (running ${duration(f.elapsedSeconds)})` : "";
        return `${of} so far${since}; ${people(f.needPerson)}; ${count(f.inFlight)} in flight, ${count(f.waiting)} waiting`;
    }
    const took = f.elapsedSeconds !== undefined ? ` in ${duration(f.elapsedSeconds)}` : "";
    const unfinished = f.inFlight + f.waiting;
    const left = unfinished > 0 ? `; ${vms(unfinished)} not finished: the update ended before them, run it again to finish them` : "";
    return `${of}${took}; ${people(f.needPerson)}${left}`;
}
