import { describeRateShare } from "../../core/rate-share";
import * as os from "os";
import { estimateState, recommendedParallel } from "./fleet";
import { OfflineRun } from "./run";
import { KeySource } from "../../core/recovery";
import { FailureBudget, RescuePool } from "../../core/contract/plan";
import { OfflinePlaceholders } from "./placeholders";
import { REMEDIES } from "../../core/contract/remedies";

/** How the summary marks a value the offline plan invented. */
export const PLACEHOLDER_MARK = "(placeholder)";

/** What the `--json` document says of the values its `placeholders` lists name. */
const PLACEHOLDER_NOTE =
    "No cloud was called: the values a VM's, rescue pool's or resource's `placeholders` list names (account ids, zones, disk and snapshot ids, restore points, resource ids) were invented offline from the inventory; they are not facts, and the real run looks each one up.";

/** A value as the summary shows it: marked when it was invented (for the VM `vmKey`, when given). */
function shown(placeholders: OfflinePlaceholders, value: string, vmKey?: string): string {
    return placeholders.is(value, vmKey) ? `${value} ${PLACEHOLDER_MARK}` : value;
}

/** Whether a pool's value was invented for every VM it serves (one that states it makes it a fact). */
function poolPlaceholder(placeholders: OfflinePlaceholders, pool: RescuePool, value: string): boolean {
    const vms = pool.members.flatMap((m) => m.vms);
    return vms.length > 0 && vms.every((vm) => placeholders.is(value, vm));
}

/** The paths of a pool's placement whose values were invented (for every VM it serves). */
function poolPlaceholders(placeholders: OfflinePlaceholders, pool: RescuePool): string[] {
    return Object.entries(pool.placement)
        .filter(([, v]) => typeof v === "string" && poolPlaceholder(placeholders, pool, v))
        .map(([k]) => `placement.${k}`);
}

/** The readable summary of an offline plan: waves, rescue VMs per zone, steps per VM, resource counts. */
export function renderSummary(run: OfflineRun, source: string): string {
    const { plan } = run.result;
    const lines: string[] = [];
    const count = <T>(items: T[], keyOf: (t: T) => string) => {
        const m = new Map<string, number>();
        for (const i of items) m.set(keyOf(i), (m.get(keyOf(i)) ?? 0) + 1);
        return [...m].map(([k, n]) => `${k} ${n}`).join(", ");
    };
    const n = plan.vms.length;
    lines.push(`bootloop-rescue offline plan: ${source}`);
    lines.push(
        `No cloud was called: lookups were answered with placeholders derived from the inventory; a value marked ${PLACEHOLDER_MARK} was invented, not found.`,
    );
    lines.push("");
    const guests = plan.vms.some((v) => v.os === "linux") ? `; guests: ${count(plan.vms, (v) => v.os ?? "windows")}` : "";
    lines.push(`VMs: ${n} (${count(plan.vms, (v) => v.cloud)}); strategies: ${count(plan.vms, (v) => v.strategy)}${guests}`);
    lines.push("");
    lines.push("Waves (each starts once every chain of the wave before it ended and no more of its VMs failed than that wave's budget):");
    const label = new Map(plan.vms.map((v) => [v.key, v.label]));
    plan.waves.forEach((w, i) => {
        const names = w.vms.map((k) => label.get(k)!);
        const shown = names.length > 6 ? `${names.slice(0, 5).join(", ")}, … and ${names.length - 5} more` : names.join(", ");
        lines.push(
            `  wave ${w.wave}${i === 0 && plan.waves.length > 1 ? " (canary)" : ""}: ${w.vms.length} VM${w.vms.length === 1 ? "" : "s"} (may fail: ${w.failureBudget}): ${shown}`,
        );
    });
    lines.push(
        "  A VM that cannot be recovered (its repair finds nothing, its fixed disk does not boot) is recorded failed and its wave goes on;",
        `  beyond a wave's budget the next wave's gate stops the rollout (failureBudget: ${budgetText(run.settings.failureBudget)} of each wave after the canary).`,
    );
    lines.push("");
    lines.push("Rescue VMs (Linux, no public IP, no inbound rule), per zone:");
    if (plan.rescuePools.length === 0) lines.push("  none");
    for (const p of plan.rescuePools) {
        const disks = p.members.reduce((s, m) => s + m.vms.length, 0);
        const where = [p.placement.scope, p.placement.region, p.placement.zone]
            .filter((x) => x)
            .map((x) => (poolPlaceholder(run.placeholders, p, x) ? `${x} ${PLACEHOLDER_MARK}` : x))
            .join(" / ");
        lines.push(
            `  ${p.cloud} ${where}: ${p.members.length} rescue VM${p.members.length === 1 ? "" : "s"} for ${disks} disk${disks === 1 ? "" : "s"} (up to ${p.capacity} each)`,
        );
    }
    lines.push("");
    lines.push(...keyLines(run));
    lines.push(...runnerLines(run));
    lines.push(...remedyLines(run));
    // One example chain per cloud, strategy and guest OS: the first VM of each.
    const examples = new Map<string, (typeof plan.vms)[number]>();
    for (const vm of plan.vms) {
        const kind = `${vm.cloud} ${vm.rollback ? "rollback" : vm.strategy} ${vm.os ?? "windows"}`;
        if (!examples.has(kind)) examples.set(kind, vm);
    }
    for (const first of examples.values()) {
        const guest = first.os === "linux" ? " (Linux guest)" : "";
        lines.push(
            `Steps per VM${first.rollback ? " rolled back" : ` with strategy ${first.strategy}`}${guest}, e.g. ${first.label} (wave ${first.wave}):`,
        );
        for (const r of run.tree.filter((t) => t.name.startsWith(`${first.slug}-`))) {
            const kept = r.retainOnDelete || r.protect ? "  [kept on delete]" : "";
            lines.push(`  ${r.name.padEnd(44)} ${r.type}${kept}`);
        }
        lines.push("");
    }
    lines.push(
        `Resources: ${run.resourceCount} registered (${(run.resourceCount / Math.max(n, 1)).toFixed(1)} per VM, components included)`,
    );
    for (const [type, c] of Object.entries(run.countsByType).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
        lines.push(`  ${String(c).padStart(6)}  ${type}`);
    }
    return lines.join("\n");
}

/** The stack's failure budget as its setting reads. */
function budgetText(budget: FailureBudget): string {
    return "count" in budget ? `${budget.count} VM${budget.count === 1 ? "" : "s"}` : `${budget.percent}%`;
}

/** Where the BitLocker keys of the repairs come from (counts only: the keys are secrets). */
function keyLines(run: OfflineRun): string[] {
    const sources = Object.values(run.result.keySources);
    if (sources.length === 0) return [];
    const with_ = (s: KeySource) => sources.filter((k) => k.includes(s)).length;
    return [
        `BitLocker keys (secrets: never shown, never in the plan): ${sources.length} VM${sources.length === 1 ? "" : "s"} repaired with keys; ` +
            `${with_("cloud")} with key files fetched from the cloud (offline: placeholders), ${with_("stack config")} with a recovery password from stack config, ` +
            `${with_("secret store")} read by their rescue VM from the cloud's secret store`,
        "",
    ];
}

/** What the runner carries: chains in flight, the --parallel to use, and (with details) the state per VM. */
function runnerLines(run: OfflineRun): string[] {
    const { maxInFlight, maxInFlightFrom } = run.settings;
    const from =
        maxInFlightFrom === "config"
            ? "maxInFlight"
            : `default for this runner's ${os.availableParallelism?.() ?? os.cpus().length} cores; pin it with \`pulumi config set maxInFlight N\``;
    const lines = [
        `In flight: at most ${maxInFlight} VM chains at once (${from}); the others wait their turn in wave order.`,
        `Run: pulumi up --parallel ${recommendedParallel(run.result.plan, maxInFlight)}`,
    ];
    if (run.settings.rateShare !== 1)
        lines.push(
            `Request budgets: this stack's watcher spends ${describeRateShare(run.settings.rateShare)} of each cloud scope's published limits (rateShare), less the providers' allowance; the other stacks in those scopes spend the rest.`,
        );
    if (run.resources) {
        const state = estimateState(run.resources, run.result.plan);
        lines.push(
            `State: about ${(state.perVmBytes / 1024).toFixed(1)} KB per VM (largest ${(state.maxVmBytes / 1024).toFixed(1)} KB, ${state.maxVm}), ${(state.sharedBytes / 1024).toFixed(0)} KB shared`,
        );
    }
    return [...lines, ""];
}

/** What the plan does beyond the repair chain: restarts, restores (with their data loss), rollbacks. */
function remedyLines(run: OfflineRun): string[] {
    const { plan } = run.result;
    const lines: string[] = [];
    const some = (labels: string[]) =>
        labels.length > 20 ? `${labels.slice(0, 20).join(", ")}, … and ${labels.length - 20} more` : labels.join(", ");
    const active = plan.vms.filter((v) => !v.rollback);
    const rebooting = active.filter((v) => REMEDIES[v.strategy].reboots);
    if (rebooting.length > 0) {
        const { maxReboots, rebootTimeoutMinutes } = run.settings;
        lines.push(
            `Restarts: ${rebooting.length} VM${rebooting.length === 1 ? "" : "s"}, up to ${maxReboots} restarts each, waiting up to ${rebootTimeoutMinutes} min for a boot signal after each.`,
            "",
        );
    }
    const restoring = active.filter((v) => REMEDIES[v.strategy].restores && v.restorePoint);
    if (restoring.length > 0) {
        lines.push(`Restores (data written after each backup is lost; backups taken before ${run.settings.restoreBefore}):`);
        for (const vm of restoring.slice(0, 50)) {
            const age = run.outputs.vms[vm.key]?.recoveryPointAgeHours;
            const point = vm.restorePoint!;
            const invented = run.placeholders.is(point.createdAt, vm.key);
            lines.push(
                `  ${vm.label}: ${shown(run.placeholders, point.id, vm.key)}, taken ${shown(run.placeholders, point.createdAt, vm.key)}, recovery point ${age?.toFixed(1)} h${invented ? ` ${PLACEHOLDER_MARK}` : ""} before the cutoff`,
            );
        }
        if (restoring.length > 50) lines.push(`  … and ${restoring.length - 50} more (see --json)`);
        lines.push("");
    }
    const retried = active.filter((v) => v.retry);
    if (retried.length > 0)
        lines.push(
            `Retries (retry: in the entry; each attempt's steps are resources of their own, run once, and an earlier attempt's kept disks stay in the cloud; keep retry: as it is until teardown is done): ${some(retried.map((v) => `${v.label} (retry ${v.retry})`))}`,
            "",
        );
    const rolled = plan.vms.filter((v) => v.rollback);
    if (rolled.length > 0)
        lines.push(`Rollback (original OS disk back in, nothing else declared for them): ${some(rolled.map((v) => v.label))}`, "");
    return lines;
}

/**
 * The `--json` document: vms, waves, rescuePools and every resource. A VM, pool or resource whose
 * values the plan invented lists their paths in `placeholders` (a resource: paths under `inputs`).
 */
export function planDocument(run: OfflineRun, source: string): Record<string, unknown> {
    const { plan } = run.result;
    const ph = run.placeholders;
    return {
        source,
        placeholderNote: PLACEHOLDER_NOTE,
        vms: plan.vms.map((v) => {
            const age = run.outputs.vms[v.key]?.recoveryPointAgeHours;
            const placeholders = [
                ...ph.paths({ placement: v.placement, originalDiskId: v.originalDiskId, restorePoint: v.restorePoint }, v.key),
                ...(age !== undefined && v.restorePoint && ph.is(v.restorePoint.createdAt, v.key) ? ["recoveryPointAgeHours"] : []),
            ];
            return {
                key: v.key,
                label: v.label,
                cloud: v.cloud,
                fields: v.fields,
                strategy: v.strategy,
                ...(v.os === "linux" ? { os: v.os } : {}),
                ...(v.retry ? { retry: v.retry } : {}),
                wave: v.wave,
                placement: v.placement,
                rescue: v.seat,
                resourceName: v.slug,
                labels: v.labels,
                bitlockerKey: v.bitlockerKey,
                originalDiskId: v.originalDiskId,
                rollback: v.rollback,
                restorePoint: v.restorePoint,
                recoveryPointAgeHours: age,
                ...(placeholders.length > 0 ? { placeholders } : {}),
            };
        }),
        waves: plan.waves,
        rescuePools: plan.rescuePools.map((p) => {
            const placeholders = poolPlaceholders(ph, p);
            return { ...p, ...(placeholders.length > 0 ? { placeholders } : {}) };
        }),
        maxInFlight: run.settings.maxInFlight,
        maxInFlightFrom: run.settings.maxInFlightFrom,
        rateShare: run.settings.rateShare,
        recommendedParallel: recommendedParallel(plan, run.settings.maxInFlight),
        stateEstimate: run.resources ? estimateState(run.resources, plan) : undefined,
        resourceCount: run.resourceCount,
        resources: run.resources?.map((r) => {
            const placeholders = ph.paths(r.inputs);
            return placeholders.length > 0 ? { ...r, placeholders } : r;
        }),
    };
}
