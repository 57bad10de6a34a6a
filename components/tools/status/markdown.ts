// The status as Markdown: for a ticket, and as the GitHub job summary ($GITHUB_STEP_SUMMARY).
// Every foreign string goes through markdownText; the timeline picture holds numbers only.
import * as fs from "fs";
import { markdownText } from "../display-text";
import { count, duration } from "./format";
import { StatusSnapshot, VM_STATES, VmState } from "./model";
import { timelineText } from "./timeline-text";
import { osMarker } from "../progress/progress";

/** How the page and the summary name each state. */
export const STATE_NAMES: Record<VmState, string> = {
    waiting: "waiting",
    backup: "backing up",
    repairing: "repairing",
    swapping: "swapping",
    recovered: "recovered",
    "needs-person": "needs a person",
};

/** How the run stands, in words. */
export const RUN_NAMES: Record<StatusSnapshot["run"], string> = {
    "not-started": "not started",
    running: "running",
    succeeded: "succeeded",
    failed: "failed",
    incomplete: "ended with VMs unfinished",
    cancelled: "ended early (cancelled, or stopped before it deployed)",
    stopped: "stopped before the engine's summary",
    "records-only": "ended (known from the stack's records)",
};

/** Failures listed in Markdown at most (GitHub's job summary takes 1 MiB per step); the page lists all. */
export const MARKDOWN_FAILURES_SHOWN = 200;

/** Text of a code span that holds only characters Markdown and HTML leave alone, else escaped plain text. */
function command(text: string): string {
    return /^[A-Za-z0-9 ._/:@=+'-]+$/.test(text) ? `\`${text}\`` : markdownText(text);
}

/** The status in Markdown: headline, waves, timeline picture, the VMs that need a person, the rescue fleet. */
export function statusMarkdown(s: StatusSnapshot): string {
    const esc = markdownText;
    const lines: string[] = [];
    lines.push(`# bootloop-rescue ${esc(s.stack)}: status`, "");
    lines.push(`**${esc(s.headline)}.**`, "");
    lines.push(
        `Update ${RUN_NAMES[s.run]}${s.elapsedSeconds !== undefined ? `, ${duration(s.elapsedSeconds)}` : ""}. Snapshot ${s.generatedAt.replace(/\.\d{3}Z$/, "Z")}.`,
        "",
    );

    lines.push("## Waves", "");
    lines.push(`| wave | cloud | ${VM_STATES.map((st) => STATE_NAMES[st]).join(" | ")} |`);
    lines.push(`|---|---|${VM_STATES.map(() => "---:").join("|")}|`);
    for (const w of s.waves) {
        for (const c of w.clouds)
            lines.push(
                `| ${w.wave}${w.wave === 0 ? " (canary)" : ""}${w.done ? " done" : ""} | ${esc(c.cloud)} | ${VM_STATES.map((st) => count(c.counts[st])).join(" | ")} |`,
            );
    }
    lines.push(`| all | all | ${VM_STATES.map((st) => `**${count(s.counts[st])}**`).join(" | ")} |`, "");

    const picture = timelineText(s);
    if (picture) lines.push("## Timeline", "", "```text", picture, "```", "");

    lines.push(`## Needs a person (${count(s.failures.length + s.otherFailures.length)})`, "");
    if (s.failures.length === 0 && s.otherFailures.length === 0) lines.push("None.");
    for (const f of s.failures.slice(0, MARKDOWN_FAILURES_SHOWN)) {
        lines.push(
            `- **${esc(f.label)}${osMarker(f)}** (${esc(f.cloud)}, wave ${f.wave}${f.step ? `, step ${esc(f.step)}` : ""}): ${esc(f.reason)}`,
            `  - next: ${esc(f.nextStep)}`,
            `  - evidence: ${f.evidenceCommand ? command(f.evidenceCommand) : esc(f.evidence)}`,
        );
    }
    if (s.failures.length > MARKDOWN_FAILURES_SHOWN)
        lines.push(`- … and ${count(s.failures.length - MARKDOWN_FAILURES_SHOWN)} more: the status page lists every one.`);
    for (const o of s.otherFailures) lines.push(`- **${esc(o.resource)}**: ${esc(o.reason)}`, `  - next: ${esc(o.nextStep)}`);
    lines.push("");

    if (s.fleet.length > 0) {
        lines.push("## Rescue fleet", "");
        lines.push(
            "| cloud | scope | region | zone | rescue VMs | up | disks | disks per rescue VM |",
            "|---|---|---|---|---:|---:|---:|---:|",
        );
        for (const p of s.fleet)
            lines.push(
                `| ${esc(p.cloud)} | ${esc(p.scope)} | ${esc(p.region)} | ${esc(p.zone)} | ${count(p.members.length)} | ${count(p.members.filter((m) => m.state === "up").length)} | ${count(p.members.reduce((n, m) => n + m.disks, 0))} | ${count(p.capacity)} |`,
            );
        lines.push("");
    }
    return lines.join("\n");
}

/**
 * Appends the status to the GitHub job summary when `$GITHUB_STEP_SUMMARY` names a file; returns
 * the file written, or undefined when the variable is unset (not in GitHub Actions).
 */
export function appendJobSummary(env: Record<string, string | undefined>, snapshot: StatusSnapshot): string | undefined {
    const file = env.GITHUB_STEP_SUMMARY;
    if (!file) return undefined;
    fs.appendFileSync(file, `${statusMarkdown(snapshot)}\n`);
    return file;
}
