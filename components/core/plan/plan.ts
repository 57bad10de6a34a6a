import { planPools, zoneKey } from "./pools";
import { assignWaves } from "./waves";
import { PlacedVm, PlannedVm, PlanSettings, RecoveryPlan } from "../contract/plan";
import { REMEDIES } from "../contract/remedies";

/**
 * The failed VMs a wave of `size` may have before the rollout stops: the count, or the percentage
 * of the wave rounded down (5% of 30 VMs is 1; of 10 VMs, 0), never more than the wave.
 */
export function failureBudgetOf(budget: PlanSettings["failureBudget"], size: number): number {
    return "count" in budget ? Math.min(budget.count, size) : Math.floor((size * budget.percent) / 100 + 1e-9);
}

/** Builds the plan: waves, rescue pools and seats. Pure and deterministic. */
export function buildPlan(vms: readonly PlacedVm[], settings: PlanSettings): RecoveryPlan {
    const waveOf = assignWaves(vms, settings);
    const { pools, seats } = planPools(
        vms
            .filter((v) => REMEDIES[v.strategy].repairs && !v.rollback)
            .map((v) => ({ key: v.key, cloud: v.cloud, placement: v.placement, wave: waveOf.get(v.key)! })),
        settings.disksPerRescue,
        settings.stack,
    );
    const planned: PlannedVm[] = vms
        .map((v) => ({ ...v, wave: waveOf.get(v.key)!, seat: seats.get(v.key) }))
        .sort((a, b) => {
            const za = zoneKey(a.cloud, a.placement);
            const zb = zoneKey(b.cloud, b.placement);
            return za < zb ? -1 : za > zb ? 1 : a.index - b.index;
        });
    const waveNumbers = [...new Set(planned.map((v) => v.wave))].sort((a, b) => a - b);
    const waves = waveNumbers.map((wave, i) => {
        const keys = [...vms]
            .filter((v) => waveOf.get(v.key) === wave)
            .sort((a, b) => a.index - b.index)
            .map((v) => v.key);
        return { wave, vms: keys, failureBudget: i === 0 ? 0 : failureBudgetOf(settings.failureBudget, keys.length) };
    });
    return { vms: planned, waves, rescuePools: pools };
}
