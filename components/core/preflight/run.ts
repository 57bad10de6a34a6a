import { ChainStep, KEPT_DISK_STEPS, SCRATCH_DISK_STEP, chainStepOf } from "../chain-steps";
import type { OfflineRun } from "../offline/run";
import { CloudPreflight, PreflightCli, PreflightFinding, PreflightNeed, PreflightVm, Verdict } from "./types";

/** The chain steps that make a disk (the backup is a snapshot; the other kept steps and the scratch step are disks). */
const DISK_STEPS: readonly ChainStep[] = [SCRATCH_DISK_STEP, ...KEPT_DISK_STEPS.filter((s) => s !== "backup")];

/** Each VM of an offline run with what its chain creates, grouped by cloud. */
export function preflightVms(run: OfflineRun): Map<string, PreflightVm[]> {
    const snapshots = new Map<string, number>();
    const disks = new Map<string, number>();
    for (const r of run.tree) {
        if (r.type.startsWith("command:")) continue;
        const at = chainStepOf(r.name);
        if (at?.step === "backup") snapshots.set(at.stem, (snapshots.get(at.stem) ?? 0) + 1);
        else if (at && DISK_STEPS.includes(at.step)) disks.set(at.stem, (disks.get(at.stem) ?? 0) + 1);
    }
    const capacity = new Map(run.result.plan.rescuePools.flatMap((p) => p.members.map((m) => [m.name, p.capacity] as const)));
    const byCloud = new Map<string, PreflightVm[]>();
    for (const vm of run.result.plan.vms) {
        const list = byCloud.get(vm.cloud) ?? [];
        list.push({
            label: vm.label,
            fields: vm.fields,
            strategy: vm.strategy,
            ...(vm.seat ? { rescue: { member: vm.seat.member, capacity: capacity.get(vm.seat.member) ?? 1 } } : {}),
            snapshots: snapshots.get(vm.slug) ?? 0,
            newDisks: disks.get(vm.slug) ?? 0,
        });
        byCloud.set(vm.cloud, list);
    }
    return byCloud;
}

/**
 * Runs every cloud's checks for its part of the plan, the clouds at once. A cloud whose checks
 * throw gets one `fail` finding with the reason: the preflight itself never hides a cloud.
 */
export async function runPreflight(clouds: readonly CloudPreflight[], needs: ReadonlyMap<string, PreflightNeed>, cli: PreflightCli): Promise<PreflightFinding[]> {
    const runs = [...needs].map(async ([cloud, need]) => {
        const preflight = clouds.find((c) => c.cloud === cloud);
        if (!preflight) return [{ cloud, scope: "", check: "permissions", verdict: "skipped", message: "this cloud has no preflight" } as PreflightFinding];
        try {
            return await preflight.check(need, cli);
        } catch (err) {
            return [{ cloud, scope: "", check: "permissions", verdict: "fail", message: `the preflight could not run: ${(err as Error).message.split("\n")[0].slice(0, 300)}` } as PreflightFinding];
        }
    });
    return (await Promise.all(runs)).flat();
}

const MARK: Record<Verdict, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", skipped: "skip" };

/** The preflight's report: one line per finding, grouped by cloud and check, and the verdict. */
export function renderPreflight(findings: readonly PreflightFinding[]): string {
    const lines = ["Preflight (read-only calls to the clouds):"];
    const order = ["quota", "tags", "permissions"];
    const sorted = [...findings].sort((a, b) => a.cloud.localeCompare(b.cloud) || order.indexOf(a.check) - order.indexOf(b.check) || a.scope.localeCompare(b.scope));
    for (const f of sorted) lines.push(`  ${MARK[f.verdict]} ${f.cloud} ${f.check}${f.scope ? ` ${f.scope}` : ""}: ${f.message}`);
    const count = (v: Verdict) => findings.filter((f) => f.verdict === v).length;
    lines.push(
        count("fail") > 0
            ? `Preflight: ${count("fail")} check(s) failed, ${count("warn")} warning(s): fix them before pulumi up (the first wave would stop on them).`
            : `Preflight: nothing blocks pulumi up (${count("ok")} ok, ${count("warn")} warning(s), ${count("skipped")} skipped).`,
    );
    return lines.join("\n");
}
