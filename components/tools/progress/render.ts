// The watch's views: a table per wave and cloud for the log, and one line for a chat webhook.
import { chatText } from "../display-text";
import { Counts, FleetProgress, PHASES, osMarker } from "./progress";

const IN_FLIGHT = ["backup", "repairing", "swapping"] as const;

function inFlight(c: Counts): number {
    return IN_FLIGHT.reduce((n, p) => n + c[p], 0);
}

/** `11 VMs: 3 verified, 1 failed, 7 in flight (2 backup, 3 repairing, 2 swapping), 0 waiting`. */
export function countsText(c: Counts): string {
    const all = PHASES.reduce((n, p) => n + c[p], 0);
    const flight = IN_FLIGHT.filter((p) => c[p] > 0).map((p) => `${c[p]} ${p}`);
    return `${all} VM${all === 1 ? "" : "s"}: ${c.verified} verified, ${c.failed} failed, ${inFlight(c)} in flight${flight.length ? ` (${flight.join(", ")})` : ""}, ${c.waiting} waiting`;
}

/** A table's lines, its head first: the wave and cloud columns left-aligned, the counts right-aligned. */
export function tableLines(head: readonly string[], rows: readonly string[][]): string[] {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: readonly string[]) =>
        cells
            .map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
            .join("  ")
            .trimEnd();
    return [head, ...rows].map(line);
}

/** A wave and cloud's row of counts, one cell per phase. */
export function countCells(r: { wave: number; cloud: string; counts: Counts }): string[] {
    return [String(r.wave), r.cloud, ...PHASES.map((p) => String(r.counts[p]))];
}

/** The lines under the table: each failed VM with its wave, step and reason, then the failures of no VM. */
export function failureLines(progress: FleetProgress): string[] {
    return [
        ...progress
            .failures()
            .map(
                (f) =>
                    `  FAILED ${f.vm.label}${osMarker(f.vm)} (wave ${f.vm.wave}${f.step ? `, step ${f.step}` : ""}): ${f.reason ?? "the reason is in the update's log"}`,
            ),
        ...progress.otherFailures().map((o) => `  FAILED ${o.resource}: ${o.reason ?? "the reason is in the update's log"}`),
    ];
}

/** The table the log shows: one row per wave and cloud, then the failures with their reasons. */
export function progressTable(progress: FleetProgress, stack: string): string {
    return [
        `bootloop-rescue ${stack}: ${countsText(progress.total())}`,
        ...tableLines(["wave", "cloud", ...PHASES], progress.counts().map(countCells)),
        ...failureLines(progress),
    ].join("\n");
}

/**
 * One line for a chat webhook: what just happened, then the whole update's counts. At most 500
 * characters, chat-safe (`chatText`: the reasons and names in it come from guests, clouds and the
 * engine, and must not mention, ping or link).
 */
export function summaryLine(progress: FleetProgress, stack: string, what: string): string {
    const failures = progress.failures();
    const first = failures[0]
        ? `; first failure ${failures[0].vm.label}: ${failures[0].reason ?? `step ${failures[0].step ?? "?"} failed`}`
        : "";
    const text = chatText(`bootloop-rescue ${stack}: ${what}. Overall ${countsText(progress.total())}${first}`);
    // Cut before an escape (`&lt;`) the cut would split.
    return text.length <= 500 ? text : `${text.slice(0, 497).replace(/&[a-z]{0,3}$/, "")}...`;
}

/** `wave 1 of 3 done: 10 VMs: 9 verified, 1 failed, …`. */
export function waveDoneText(progress: FleetProgress, wave: number): string {
    const waves = progress.waveStatus();
    return `wave ${wave}${wave === 0 ? " (canary)" : ""} of ${waves.length} done: ${countsText(progress.total(wave))}`;
}

/**
 * The watch's last line: how the update ended and, when it did not succeed, how many VMs never
 * reached an end (waiting or in flight when it stopped). Undefined `end`: the stream stopped first.
 */
export function verdictText(progress: FleetProgress): string {
    const end = progress.ended;
    if (!end) return "the event stream ended before the update did (interrupted?)";
    const all = progress.total();
    const vms = PHASES.reduce((n, p) => n + all[p], 0);
    const open = all.waiting + inFlight(all);
    const after = end.seconds !== undefined ? ` after ${end.seconds} s` : "";
    if (end.result === "incomplete") return `update ended${after}, but ${vms - all.verified} of ${vms} VMs were not verified`;
    // VMs recorded failed in their chains (isolated failures) while the engine itself finished:
    // the update ran to its end; what failed is those VMs, not the update.
    if (end.result === "failed" && !progress.engineFailed && open === 0)
        return `update finished${after}: ${all.failed} of ${vms} VMs failed (recorded in their chains; npm run report says what to do next), ${all.verified} verified`;
    // The engine closes every update with a cancel event; one that comes without a summary means
    // the update stopped early (cancelled, or failed before it deployed), not that anyone cancelled it.
    const how = end.result === "cancelled" ? "ended without the engine's summary (cancelled, or stopped before it deployed)" : end.result;
    return `update ${how}${after}${end.result !== "succeeded" && open > 0 ? `: ${open} of ${vms} VMs not verified (waiting or in flight when it ended)` : ""}`;
}
