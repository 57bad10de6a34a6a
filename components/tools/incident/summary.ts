// What a person reads before saying yes: the VMs of the update per wave, cloud and strategy (from
// the offline plan), and what the preview with the policy pack says the update will change.
import { RecoveryPlan } from "../../core/contract/plan";

/** The preview's counts per operation (`create`, `update`, `delete`, `replace`, `same`, …), as the Automation API returns them. */
export type ChangeSummary = Readonly<Record<string, number | undefined>>;

/** The operations a preview counts that change nothing. */
const UNCHANGED = new Set(["same", "read"]);

/** `create 90, update 2 (88 unchanged)`; `no changes (90 unchanged)`. */
export function changesText(summary: ChangeSummary): string {
    const entries = Object.entries(summary).filter((e): e is [string, number] => typeof e[1] === "number" && e[1] > 0);
    const changes = entries.filter(([op]) => !UNCHANGED.has(op)).sort(([a], [b]) => a.localeCompare(b));
    const unchanged = entries.filter(([op]) => UNCHANGED.has(op)).reduce((n, [, c]) => n + c, 0);
    const head = changes.length ? changes.map(([op, n]) => `${op} ${n}`).join(", ") : "no changes";
    return unchanged ? `${head} (${unchanged} unchanged)` : head;
}

/** The number of resources the preview would change (every operation but unchanged ones). */
export function changeCount(summary: ChangeSummary): number {
    return Object.entries(summary).reduce((n, [op, c]) => n + (UNCHANGED.has(op) || typeof c !== "number" ? 0 : c), 0);
}

/** `aws 4 (repair 2, restore 1, reboot 1)`: counts per key, then per sub-key, in first-seen order. */
function grouped(items: readonly { cloud: string; strategy: string }[]): string {
    const byCloud = new Map<string, Map<string, number>>();
    for (const v of items) {
        const strategies = byCloud.get(v.cloud) ?? new Map<string, number>();
        strategies.set(v.strategy, (strategies.get(v.strategy) ?? 0) + 1);
        byCloud.set(v.cloud, strategies);
    }
    return [...byCloud]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([cloud, s]) => {
            const n = [...s.values()].reduce((a, b) => a + b, 0);
            return `${cloud} ${n} (${[...s].map(([strategy, c]) => `${strategy} ${c}`).join(", ")})`;
        })
        .join(", ");
}

/**
 * The policy packs the preview ran, as its output lists them under `Policies:`, one line each
 * (`⚠️ bootloop-rescue@v0.1.0 (local: policy)`) with how many advisory and mandatory messages it
 * gave (listed below a pack's line, further indented); empty when the output lists none. The
 * caller makes the lines terminal-safe.
 */
export function policyLines(previewStdout: string): string[] {
    const lines = previewStdout.split(/\r?\n/);
    const at = lines.findIndex((l) => /^\s*Policies:\s*$/.test(l));
    if (at < 0) return [];
    const indent = (l: string) => l.length - l.trimStart().length;
    const section: string[] = [];
    for (const l of lines.slice(at + 1)) {
        if (!l.trim()) break;
        section.push(l);
    }
    if (section.length === 0) return [];
    const top = indent(section[0]);
    const packs: { line: string; advisory: number; mandatory: number }[] = [];
    for (const l of section) {
        if (indent(l) <= top) packs.push({ line: l.trim(), advisory: 0, mandatory: 0 });
        else if (packs.length && /\[advisory\]/.test(l)) packs[packs.length - 1].advisory++;
        else if (packs.length && /\[mandatory\]/.test(l)) packs[packs.length - 1].mandatory++;
    }
    return packs.map((p) => {
        const notes = [p.mandatory ? `${p.mandatory} mandatory` : "", p.advisory ? `${p.advisory} advisory` : ""].filter(Boolean);
        return notes.length ? `${p.line}: ${notes.join(", ")}` : p.line;
    });
}

/**
 * The summary before the confirmation: per wave, its VMs by cloud and strategy; then the preview's
 * changes. Plain text from the plan (validated inventory values) and the engine's counts.
 */
export function incidentSummary(
    stack: string,
    plan: RecoveryPlan,
    changes: ChangeSummary,
    where: string,
    policies: readonly string[],
): string {
    const waves = [...new Set(plan.vms.map((v) => v.wave))].sort((a, b) => a - b);
    const lines = [`Summary: stack ${stack}, ${plan.vms.length} VM${plan.vms.length === 1 ? "" : "s"}, ${where}`];
    for (const wave of waves) {
        const vms = plan.vms.filter((v) => v.wave === wave);
        lines.push(`  wave ${wave}${wave === 0 ? " (canary)" : ""}: ${vms.length} VM${vms.length === 1 ? "" : "s"}: ${grouped(vms)}`);
    }
    lines.push(`  the preview: ${changesText(changes)}`);
    lines.push(`  policy packs run by the preview: ${policies.length ? policies.join("; ") : "none listed in its output"}`);
    return lines.join("\n");
}
