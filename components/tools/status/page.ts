// The status page: one self-contained HTML file (inline CSS, one inline script, inline SVG; no
// network, no font, no CDN), rewritten atomically as the run goes. Everything but the timeline is
// plain HTML, readable without the script; the timeline is drawn from compact JSON (see
// page-script.ts). Foreign text is HTML-escaped, and the JSON is made safe inside <script>.
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { count, duration } from "./format";
import { htmlText as h, scriptJson } from "./html-text";
import { RUN_NAMES, STATE_NAMES } from "./markdown";
import { StatusSnapshot, StatusVm, VM_STATES, VmState } from "./model";
import { PAGE_SCRIPT } from "./page-script";
import { osMarker } from "../progress/progress";

/** Seconds between reloads of the page while the update runs (the file is rewritten as it goes). */
export const RELOAD_SECONDS = 30;

/** Text and background of each state's tiles and bars (text contrast at least 4.5:1). */
const STATE_COLOURS: Record<VmState, { fg: string; bg: string }> = {
    waiting: { fg: "#333333", bg: "#e0e0e0" },
    backup: { fg: "#ffffff", bg: "#1f5fa6" },
    repairing: { fg: "#ffffff", bg: "#a6461a" },
    swapping: { fg: "#ffffff", bg: "#00695c" },
    recovered: { fg: "#ffffff", bg: "#1b6e33" },
    "needs-person": { fg: "#ffffff", bg: "#b00020" },
};

/** The chain's steps as the legend lists them (the script colours them alike). */
const STEP_LEGEND: [string, string][] = [
    ["reboot", "#7b3294"],
    ["backup", "#1f5fa6"],
    ["scratch", "#8c510a"],
    ["attach", "#a6611a"],
    ["repair", "#c2491d"],
    ["fixed or restored", "#1b7837"],
    ["swap", "#00695c"],
    ["rollback", "#5e3c99"],
    ["failed", "#b00020"],
];

const CSS = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;background:#fafafa;line-height:1.4}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 16px}
header{padding-top:16px}
h1{font-size:1.3rem;margin:0 0 8px}
h2{font-size:1.1rem;margin:24px 0 8px}
.headline{font-size:1.5rem;font-weight:600;margin:8px 0}
.run{color:#444;margin:0 0 8px}
.tiles{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:8px 0}
.tiles li{padding:8px 12px;border-radius:6px;min-width:120px}
.tiles .n{display:block;font-size:1.4rem;font-weight:700}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{border:1px solid #d0d0d0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eeeeee}
td.num,th.num{text-align:right}
.bar{display:flex;height:14px;min-width:120px;background:#e0e0e0;border-radius:3px;overflow:hidden}
.bar span{display:block;height:100%}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
#failures th[scope=row]{min-width:12em}
#failures td:nth-child(6),#failures td:nth-child(7){min-width:16em}
.legend{display:flex;flex-wrap:wrap;gap:12px;list-style:none;padding:0;margin:6px 0;font-size:.85rem}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
#timeline-overview{width:100%;display:block;border:1px solid #d0d0d0;background:#fff}
#timeline-detail{position:relative;max-height:420px;overflow:auto;border:1px solid #d0d0d0;background:#fff;margin-top:8px}
#timeline-detail:focus{outline:2px solid #1f5fa6}
.detail-svg{position:absolute;left:0}
.detail-svg text{font-size:12px;fill:#1a1a1a}
.detail-svg text.person{fill:#b00020;font-weight:600}
.controls{margin:8px 0;display:flex;gap:16px;align-items:center}
.chart{background:#fff;border:1px solid #d0d0d0;width:100%;height:auto}
footer{color:#444;font-size:.85rem;padding:24px 16px}
`;

function stateCell(counts: Record<VmState, number>): string {
    return VM_STATES.map((s) => `<td class="num">${count(counts[s])}</td>`).join("");
}

/** A stacked bar of counts (decoration: the numbers are in the row's cells). */
function stackedBar(counts: Record<VmState, number>): string {
    const all = VM_STATES.reduce((n, s) => n + counts[s], 0) || 1;
    const parts = VM_STATES.filter((s) => counts[s] > 0)
        .map((s) => `<span style="width:${((counts[s] / all) * 100).toFixed(2)}%;background:${STATE_COLOURS[s].bg}"></span>`)
        .join("");
    return `<div class="bar" aria-hidden="true">${parts}</div>`;
}

function tiles(s: StatusSnapshot): string {
    const items = VM_STATES.map(
        (st) =>
            `<li data-state="${st}" style="background:${STATE_COLOURS[st].bg};color:${STATE_COLOURS[st].fg}"><span class="n">${count(s.counts[st])}</span>${h(STATE_NAMES[st])}</li>`,
    ).join("");
    return `<ul class="tiles" aria-label="VMs per state">${items}</ul>`;
}

function wavesTable(s: StatusSnapshot): string {
    const head = `<tr><th scope="col">wave</th><th scope="col">cloud</th>${VM_STATES.map((st) => `<th scope="col" class="num">${h(STATE_NAMES[st])}</th>`).join("")}<th scope="col">progress</th></tr>`;
    const rows = s.waves
        .flatMap((w) =>
            w.clouds.map(
                (c) =>
                    `<tr data-wave="${w.wave}"><th scope="row">${w.wave}${w.wave === 0 ? " (canary)" : ""}${w.done ? " – done" : ""}</th><td>${h(c.cloud)}</td>${stateCell(c.counts)}<td>${stackedBar(c.counts)}</td></tr>`,
            ),
        )
        .join("");
    const total = `<tr><th scope="row">all</th><td>all</td>${stateCell(s.counts)}<td>${stackedBar(s.counts)}</td></tr>`;
    return `<table id="waves"><caption class="sr">VMs per wave and cloud, by state</caption><thead>${head}</thead><tbody>${rows}${total}</tbody></table>`;
}

/** The compact rows the script draws: `[label, wave, state, (step, start, end, failed)…]`, -1 for an unknown time. */
function timelineData(s: StatusSnapshot): unknown {
    const steps: string[] = [];
    const stepIndex = (step: string) => {
        let i = steps.indexOf(step);
        if (i < 0) i = steps.push(step) - 1;
        return i;
    };
    const rows = s.vms.map((v) => [
        `${v.label}${osMarker(v)}`,
        v.wave,
        VM_STATES.indexOf(v.state),
        ...v.steps.flatMap((st) => [stepIndex(st.step), st.start ?? -1, st.end ?? -1, st.failed ? 1 : 0]),
    ]);
    // A loop, not Math.max(...all): tens of thousands of arguments can overflow the stack.
    let span = Math.max(1, s.elapsedSeconds ?? 0);
    for (const v of s.vms) for (const st of v.steps) span = Math.max(span, st.end ?? st.start ?? 0);
    return { steps, states: VM_STATES, span, rows };
}

/** The slowest step of the run, for the timeline's words (plain text: escape where used). */
function slowest(vms: StatusVm[]): string {
    let best: { vm: StatusVm; step: string; took: number } | undefined;
    for (const vm of vms)
        for (const st of vm.steps)
            if (st.start !== undefined && st.end !== undefined && (!best || st.end - st.start > best.took))
                best = { vm, step: st.step, took: st.end - st.start };
    return best ? ` The slowest step: ${best.step} of ${best.vm.label}, ${duration(best.took)}.` : "";
}

function timelineSection(s: StatusSnapshot): string {
    const steps = s.vms.reduce((n, v) => n + v.steps.length, 0);
    const words = `${count(steps)} steps of ${count(s.vms.length)} VMs${s.elapsedSeconds !== undefined ? ` over ${duration(s.elapsedSeconds)}` : ""}.${slowest(s.vms)}`;
    const waves = s.waves.map((w) => `<option value="${w.wave}">wave ${w.wave}</option>`).join("");
    const legend = STEP_LEGEND.map(([name, colour]) => `<li><i style="background:${colour}"></i>${h(name)}</li>`).join("");
    return `<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>
<p id="timeline-summary">Every VM's steps, one bar each, from the update's start (left) to ${s.elapsedSeconds !== undefined ? h(duration(s.elapsedSeconds)) : "now"} (right): ${h(words)}</p>
<ul class="legend" aria-label="Step colours">${legend}</ul>
<canvas id="timeline-overview" role="img" aria-label="Overview of every VM's steps: ${h(words)}">Every VM's steps: ${h(words)}</canvas>
<p id="timeline-drawn" aria-live="polite">The timeline is drawn by the page's script.</p>
<div id="timeline-controls" class="controls" hidden><label>Wave <select id="timeline-wave"><option value="all">all</option>${waves}</select></label>
<label><input type="checkbox" id="timeline-person"> only VMs that need a person</label></div>
<p id="timeline-shown"></p>
<div id="timeline-detail" tabindex="0" role="region" aria-label="Steps per VM, scrollable"><div id="timeline-spacer"></div></div>
<script type="application/json" id="timeline-data">${scriptJson(timelineData(s))}</script>
</section>`;
}

/** The recoveries-over-time chart, drawn here as SVG (at most 400 points), with its words. */
function recoveriesSection(s: StatusSnapshot): string {
    const points = s.recoveries;
    const head = `<section aria-labelledby="h-recoveries"><h2 id="h-recoveries">Recoveries over time</h2>`;
    if (points.length === 0) return `${head}<p id="recoveries-words">No recovery has a time yet.</p></section>`;
    const span = Math.max(1, s.elapsedSeconds ?? 0, points[points.length - 1].at);
    const top = Math.max(1, s.total);
    const W = 800;
    const H = 240;
    const L = 60;
    const B = 30;
    const x = (at: number) => (L + (at / span) * (W - L - 10)).toFixed(1);
    const y = (n: number) => (H - B - (n / top) * (H - B - 10)).toFixed(1);
    // At most 400 points: the last of each bucket of time.
    const buckets = new Map<number, (typeof points)[number]>();
    for (const p of points) buckets.set(Math.floor((p.at / span) * 400), p);
    const kept = [...buckets.values()];
    const line = (pick: (p: (typeof points)[number]) => number) =>
        kept.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.at)},${y(pick(p))}`).join("") + `L${x(span)},${y(pick(kept[kept.length - 1]))}`;
    const last = points[points.length - 1];
    const at = (share: number) => points.find((p) => p.recovered >= share * top);
    const milestones = [0.5, 0.9, 1]
        .map((share) => ({ share, p: at(share) }))
        .filter((m) => m.p)
        .map((m) => `${Math.round(m.share * 100)}% by ${duration(m.p!.at)}`);
    const words = `${count(last.recovered)} of ${count(s.total)} VMs recovered by ${duration(last.at)}${milestones.length ? ` (${milestones.join(", ")})` : ""}; ${count(last.needPerson)} came to need a person.`;
    const ticks = [0, 0.5, 1]
        .map(
            (f) =>
                `<text x="${L - 6}" y="${y(f * top)}" text-anchor="end" font-size="12" fill="#1a1a1a">${count(Math.round(f * top))}</text><text x="${x(f * span)}" y="${H - 8}" text-anchor="${f === 0 ? "start" : f === 1 ? "end" : "middle"}" font-size="12" fill="#1a1a1a">${duration(f * span)}</text>`,
        )
        .join("");
    return `${head}<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="recoveries-title recoveries-words"><title id="recoveries-title">Recovered VMs and VMs needing a person, cumulative, over the update's time</title>
<line x1="${L}" y1="${H - B}" x2="${W - 10}" y2="${H - B}" stroke="#767676"/><line x1="${L}" y1="10" x2="${L}" y2="${H - B}" stroke="#767676"/>${ticks}
<path d="${line((p) => p.recovered)}" fill="none" stroke="#1b6e33" stroke-width="2.5"/><path d="${line((p) => p.needPerson)}" fill="none" stroke="#b00020" stroke-width="2" stroke-dasharray="6 3"/></svg>
<ul class="legend"><li><i style="background:#1b6e33"></i>recovered</li><li><i style="background:#b00020"></i>needs a person (dashed)</li></ul>
<p id="recoveries-words">${h(words)}</p></section>`;
}

function failuresSection(s: StatusSnapshot): string {
    const n = s.failures.length + s.otherFailures.length;
    const head = `<section aria-labelledby="h-person"><h2 id="h-person">Needs a person (${count(n)})</h2>`;
    if (n === 0) return `${head}<p>None: no VM needs a person.</p></section>`;
    const rows = s.failures
        .map(
            (f) =>
                `<tr class="failure"><th scope="row">${h(f.label)}${osMarker(f)}</th><td>${h(f.cloud)}</td><td class="num">${f.wave}</td><td>${f.step ? h(f.step) : "–"}</td><td class="reason">${h(f.reason)}</td><td>${h(f.nextStep)}</td><td>${f.evidenceCommand ? `<code>${h(f.evidenceCommand)}</code>` : h(f.evidence)}</td></tr>`,
        )
        .join("");
    const others = s.otherFailures
        .map(
            (o) =>
                `<tr class="other-failure"><th scope="row">${h(o.resource)}</th><td>–</td><td class="num">–</td><td>–</td><td class="reason">${h(o.reason)}</td><td>${h(o.nextStep)}</td><td>the update's log</td></tr>`,
        )
        .join("");
    return `${head}<table id="failures"><thead><tr><th scope="col">VM or resource</th><th scope="col">cloud</th><th scope="col" class="num">wave</th><th scope="col">step</th><th scope="col">reason</th><th scope="col">next step</th><th scope="col">evidence</th></tr></thead><tbody>${rows}${others}</tbody></table></section>`;
}

function fleetSection(s: StatusSnapshot): string {
    const head = `<section aria-labelledby="h-fleet"><h2 id="h-fleet">Rescue fleet</h2>`;
    if (s.fleet.length === 0) return `${head}<p>No rescue VM in this run's plan.</p></section>`;
    const rows = s.fleet
        .map((p) => {
            const state = (st: string) => p.members.filter((m) => m.state === st).length;
            const disks = p.members.reduce((n, m) => n + m.disks, 0);
            const names = p.members.map((m) => `${h(m.name)} (${h(m.state)}, ${count(m.disks)} disks)`).join(", ");
            return `<tr><th scope="row">${h(p.zone || p.region)}</th><td>${h(p.cloud)}</td><td>${h(p.scope)}</td><td>${h(p.region)}</td><td class="num">${count(p.members.length)}</td><td class="num">${count(state("up"))}</td><td class="num">${count(state("failed"))}</td><td class="num">${count(disks)} (up to ${count(p.capacity)} each)</td><td><details><summary>names</summary>${names}</details></td></tr>`;
        })
        .join("");
    const members = s.fleet.reduce((n, p) => n + p.members.length, 0);
    return `${head}<p>${count(members)} rescue VM${members === 1 ? "" : "s"} in ${count(s.fleet.length)} zone${s.fleet.length === 1 ? "" : "s"}.</p><table id="fleet"><thead><tr><th scope="col">zone</th><th scope="col">cloud</th><th scope="col">scope</th><th scope="col">region</th><th scope="col" class="num">rescue VMs</th><th scope="col" class="num">up</th><th scope="col" class="num">failed</th><th scope="col" class="num">disks</th><th scope="col">rescue VMs by name</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** The page's HTML for a snapshot. */
export function statusPageHtml(s: StatusSnapshot): string {
    const scriptHash = createHash("sha256").update(PAGE_SCRIPT).digest("base64");
    const running = s.run === "running" || s.run === "not-started";
    const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:; base-uri 'none'; form-action 'none'`;
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
${running ? `<meta http-equiv="refresh" content="${RELOAD_SECONDS}">\n` : ""}<title>${h(`bootloop-rescue ${s.stack}: ${s.headline}`)}</title>
<style>${CSS}.sr{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}</style></head>
<body>
<header><h1>bootloop-rescue: stack ${h(s.stack)}</h1>
<p class="headline" id="headline">${h(s.headline)}</p>
<p class="run" id="run">Update ${h(RUN_NAMES[s.run])}${s.elapsedSeconds !== undefined ? `, ${h(duration(s.elapsedSeconds))}` : ""}.${running ? ` This page reloads every ${RELOAD_SECONDS} s.` : ""}</p></header>
<main>
<section aria-labelledby="h-counts"><h2 id="h-counts">VMs by state</h2>${tiles(s)}</section>
<section aria-labelledby="h-waves"><h2 id="h-waves">Waves</h2>${wavesTable(s)}</section>
${failuresSection(s)}
${timelineSection(s)}
${recoveriesSection(s)}
${fleetSection(s)}
</main>
<footer>Snapshot ${h(s.generatedAt)}. Written by bootloop-rescue; this file is self-contained and fetches nothing.</footer>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/**
 * Writes the page for `snapshot` to `file` atomically: a temporary file in the same folder, then a
 * rename over the old page, so a browser or a CI upload never reads half a page.
 */
export function writeStatusPage(file: string, snapshot: StatusSnapshot): void {
    const dir = path.dirname(path.resolve(file));
    const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    try {
        fs.writeFileSync(temp, statusPageHtml(snapshot), { mode: 0o644 });
        fs.renameSync(temp, file);
    } catch (err) {
        fs.rmSync(temp, { force: true });
        throw err;
    }
}
