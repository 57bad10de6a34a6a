// The timeline as a small text picture, for Markdown (a ticket, a job summary) and the report: one
// line per wave across the run's time, each column shaded by how many of the wave's VMs were in a
// step then, and where VMs came to need a person. Numbers and block characters only: no foreign
// text, so it can sit in a code block as it is.
import { count, duration } from "./format";
import { StatusSnapshot, StatusVm, VM_STATES } from "./model";

/** Shades from no VM busy to all of the wave's VMs busy. */
const SHADES = [" ", "░", "▒", "▓", "█"];

/** The mark of a column in which a VM of the wave failed. */
const FAILED_MARK = "x";

/** The seconds a VM was busy in (its first step's start to its last step's end, or to `until` while running). */
function busy(v: StatusVm, until: number): [number, number] | undefined {
    const starts = v.steps.map((s) => s.start).filter((s): s is number => s !== undefined);
    if (starts.length === 0) return undefined;
    const ends = v.steps.map((s) => s.end ?? until);
    return [Math.min(...starts), Math.max(...ends, ...starts)];
}

/**
 * The picture, `width` columns wide, or undefined when the snapshot has no times (records only,
 * or nothing started yet).
 */
export function timelineText(snapshot: StatusSnapshot, width = 48): string | undefined {
    const span = snapshot.elapsedSeconds;
    if (span === undefined || !snapshot.vms.some((v) => v.steps.some((s) => s.start !== undefined))) return undefined;
    const total = Math.max(1, span);
    const column = total / width;
    const lines: string[] = [];
    lines.push(`time    0${" ".repeat(Math.max(1, width - 1 - duration(total).length))}${duration(total)}`);
    for (const w of snapshot.waves) {
        const vms = snapshot.vms.filter((v) => v.wave === w.wave);
        const load = new Array<number>(width).fill(0);
        const failed = new Array<boolean>(width).fill(false);
        for (const v of vms) {
            const b = busy(v, total);
            if (b) {
                const from = Math.min(width - 1, Math.floor(b[0] / column));
                const to = Math.min(width - 1, Math.max(from, Math.ceil(b[1] / column) - 1));
                for (let i = from; i <= to; i++) load[i]++;
            }
            const f = v.steps.find((s) => s.failed);
            if (f?.end !== undefined) failed[Math.min(width - 1, Math.floor(f.end / column))] = true;
        }
        const row = load
            .map((n, i) => (failed[i] ? FAILED_MARK : SHADES[n === 0 ? 0 : Math.min(4, 1 + Math.floor((n / vms.length) * 3.999))]))
            .join("");
        const name = `wave ${w.wave}`.padEnd(7);
        lines.push(
            `${name} ${row}  ${count(w.counts.recovered)}/${count(vms.length)} recovered${w.counts["needs-person"] ? `, ${count(w.counts["needs-person"])} need${w.counts["needs-person"] === 1 ? "s" : ""} a person` : ""}`,
        );
    }
    lines.push(`(each column ${duration(column)}; shade: share of the wave's VMs in a step; ${FAILED_MARK}: a VM failed)`);
    return lines.join("\n");
}

/**
 * Without times (the records alone): the outcome per wave, one bar of `width` columns each,
 * recovered then needing a person; undefined when there is no VM.
 */
export function outcomeText(snapshot: StatusSnapshot, width = 48): string | undefined {
    if (snapshot.waves.length === 0) return undefined;
    const lines = snapshot.waves.map((w) => {
        const all = Math.max(
            1,
            VM_STATES.reduce((n, s) => n + w.counts[s], 0),
        );
        const done = Math.round((w.counts.recovered / all) * width);
        const person = Math.min(width - done, Math.round((w.counts["needs-person"] / all) * width));
        const bar = `${"█".repeat(done)}${FAILED_MARK.repeat(person)}`.padEnd(width, "·");
        const need = w.counts["needs-person"];
        return `${`wave ${w.wave}`.padEnd(7)} ${bar}  ${count(w.counts.recovered)}/${count(all)} recovered${need ? `, ${count(need)} need${need === 1 ? "s" : ""} a person` : ""}`;
    });
    lines.push(`(█ recovered, ${FAILED_MARK} needs a person, · other; no times in the records: the status page has the timeline)`);
    return lines.join("\n");
}
