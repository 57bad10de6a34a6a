import { markdownText } from "../display-text";
import { StatusRecorder, StatusSnapshot } from "../status/model";
import { outcomeText, timelineText } from "../status/timeline-text";
import { Evidence, StackOutputs, VmRecordValues, needsPersonBecause, parseEvidence } from "./records";

export { StackOutputs, VmRecordValues, needsPerson } from "./records";

/** A BitLocker recovery password, should one ever reach an output: never printed. */
const RECOVERY_PASSWORD = /\b\d{6}(-?\d{6}){7}\b/g;

/**
 * Foreign text (from the stack's records: guests, clouds, the engine) for a table cell or a line:
 * secrets redacted, then through {@link markdownText}: one line, no escape sequence or control
 * character, HTML and Markdown's own punctuation inert, so a name cannot become markup or a link.
 */
function cell(value: string | number | null | undefined): string {
    if (value === undefined || value === null || value === "") return "–";
    return markdownText(String(value).replace(RECOVERY_PASSWORD, "[redacted]"));
}

/** The VM's name as the report shows it: a Linux guest's marked (` (Linux)`); Windows, the default, unmarked. */
function vmName(vm: VmRecordValues): string {
    return `${cell(vm.label)}${vm.os === "linux" ? " (Linux)" : ""}`;
}

/** The status as a person reads it, with the attempt when its entry retried it (`…, on retry 2`). */
function statusText(vm: VmRecordValues): string {
    const status = firstStatusText(vm);
    return vm.retry ? `${status}, on retry ${cell(vm.retry)}` : status;
}

/** The status as a person reads it: how a VM came back, when it did (a status of its own through `cell`). */
function firstStatusText(vm: VmRecordValues): string {
    const restarts = (k: number) => `${k} restart${k === 1 ? "" : "s"}`;
    if (vm.status === "recovered-by-reboot")
        return vm.rebootAttempts
            ? `recovered by reboot after ${restarts(vm.rebootAttempts)}`
            : "recovered: it booted healthy without a restart";
    if (vm.status === "recovered" && vm.strategy === "reboot-then-repair" && vm.rebootAttempts !== undefined)
        return `recovered by repair after ${restarts(vm.rebootAttempts)} did not help`;
    if (vm.status === "recovered" && vm.strategy === "restore") return "recovered from backup";
    return vm.status ? cell(vm.status) : "unfinished";
}

/** The files the engine quarantined: names, times and hashes from the guest, each through `cell`. */
function quarantined(evidence: Evidence | undefined): string {
    const files = (evidence?.volumes ?? []).flatMap((v) => v.matches ?? []).filter((m) => m.action === "quarantined");
    if (files.length === 0) return evidence ? "none" : "–";
    return files
        .map((f) => `${cell(String(f.path).split("/").pop())} (${cell(f.modifiedAt)}, sha256 ${cell(String(f.sha256).slice(0, 12))}…)`)
        .join("; ");
}

function duration(vm: VmRecordValues, evidence: Evidence | undefined): string {
    const swap = vm.timings?.totalSeconds;
    const repair = evidence?.durationMs !== undefined ? evidence.durationMs / 1000 : undefined;
    if (swap === undefined && repair === undefined) return "–";
    return `${((swap ?? 0) + (repair ?? 0)).toFixed(0)} s`;
}

/**
 * The report's opening: the status page's headline sentence and the timeline picture (from the
 * run's events when `status` is given; else the outcome per wave from the records alone).
 */
function opening(outputs: StackOutputs, status: StatusSnapshot | undefined): string[] {
    const snapshot = status ?? StatusRecorder.fromRecords("", outputs.vms ?? {}).snapshot();
    const picture = timelineText(snapshot) ?? outcomeText(snapshot);
    return [`**${cell(snapshot.headline)}.**`, "", ...(picture ? ["```text", picture, "```", ""] : [])];
}

/**
 * The recovery report in Markdown: totals per cloud and status, a line per VM, then the VMs that
 * need a person and why, opened by the headline sentence and the timeline picture (`status`: the
 * run's status snapshot, when its events are known). Renders only what the stack outputs (and the
 * snapshot) hold; secrets never appear.
 */
export function renderReport(outputs: StackOutputs, source: string, generatedAt: Date, status?: StatusSnapshot): string {
    const vms = Object.values(outputs.vms ?? {}).sort((a, b) => a.wave - b.wave || a.label.localeCompare(b.label));
    const lines: string[] = [];
    lines.push("# bootloop-rescue recovery report", "");
    lines.push(...opening(outputs, status));
    lines.push(
        `Source: ${cell(source)}. Generated ${generatedAt.toISOString().replace(/\.\d{3}Z$/, "Z")}. ${vms.length} VM${vms.length === 1 ? "" : "s"}.`,
        "",
    );

    lines.push("## Totals", "", "| cloud | status | VMs |", "|---|---|---|");
    const totals = new Map<string, number>();
    for (const vm of vms) {
        const k = `${vm.cloud}\u0000${vm.status ?? "unfinished"}`;
        totals.set(k, (totals.get(k) ?? 0) + 1);
    }
    for (const [k, n] of [...totals].sort()) {
        const [cloud, status] = k.split("\u0000");
        lines.push(`| ${cell(cloud)} | ${cell(status)} | ${n} |`);
    }
    lines.push("");

    lines.push("## VMs", "");
    lines.push("| cloud | VM | strategy | status | wave | files quarantined | backup | recovery-point age | reboots | time |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|");
    for (const vm of vms) {
        const evidence = parseEvidence(vm.evidence);
        const age =
            typeof vm.recoveryPointAgeHours === "number"
                ? `${vm.recoveryPointAgeHours.toFixed(1)} h${vm.recoveryPointTakenAt ? ` (taken ${cell(vm.recoveryPointTakenAt)})` : ""}`
                : "–";
        lines.push(
            `| ${cell(vm.cloud)} | ${vmName(vm)} | ${cell(vm.strategy)} | ${statusText(vm)} | ${vm.wave} | ${quarantined(evidence)} | ${cell(vm.backupId)} | ${age} | ${cell(vm.rebootAttempts)} | ${duration(vm, evidence)} |`,
        );
    }
    if (vms.some((vm) => vm.recoveryPointAgeHours !== undefined)) {
        lines.push(
            "",
            "Recovery-point age: hours from the backup a VM was restored from to `restoreBefore`; whatever was written after that backup is lost.",
        );
    }
    lines.push("");

    const attention = vms.map((vm) => [vm, needsPersonBecause(vm, cell)] as const).filter(([, why]) => why);
    lines.push("## Needs a person", "");
    if (attention.length === 0) lines.push("None: every VM is recovered.");
    for (const [vm, why] of attention)
        lines.push(
            `- **${vmName(vm)}** (${cell(vm.cloud)}, wave ${vm.wave}): ${why}. Original disk ${cell(vm.originalDiskId)} is untouched.`,
        );
    lines.push("");
    return lines.join("\n");
}
