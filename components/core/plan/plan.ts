import { Placement } from "../contract/identity";
import { Strategy, VmEntry } from "../inventory/validate";
import { RescuePool, RescueSeat, planPools, zoneKey } from "./pools";
import { WaveSettings, assignWaves } from "./waves";
import { RestorePoint } from "../contract/cloud-path";

/** Strategies whose chain attaches a copy of the disk to a rescue VM. */
const NEEDS_RESCUE: readonly Strategy[] = ["repair", "reboot-then-repair"];

/** A validated entry whose placement is known (from the inventory or the cloud's lookup). */
export interface PlacedVm extends VmEntry {
    /** Scope, region and zone of the VM. */
    placement: Placement;
    /** The VM's original OS disk, as the lookup found it (never written). */
    originalDiskId: string;
    /** Facts the cloud's lookup found (device names, disk shape, …), passed back to the cloud's steps. */
    facts: Readonly<Record<string, string>>;
    /** Strategy restore: the backup the lookup chose. */
    restorePoint?: RestorePoint;
    /** Listed in `rollback`: its original OS disk goes back in, and nothing of its chain is declared. */
    rollback: boolean;
}

/** A VM with its place in the plan. */
export interface PlannedVm extends PlacedVm {
    /** The wave it is recovered in. */
    wave: number;
    /** The rescue VM and slot its disk copy is repaired on, for strategies that need one. */
    seat?: RescueSeat;
}

/** One wave: VMs recovered together after every earlier wave verified. */
export interface Wave {
    /** Wave number (waves run in increasing order; numbers may have gaps). */
    wave: number;
    /** Keys of its VMs, in inventory order. */
    vms: string[];
}

/** Everything `pulumi up` will do, decided before any resource is declared. */
export interface RecoveryPlan {
    /** Every VM, grouped by cloud → scope → region → zone, then inventory order. */
    vms: PlannedVm[];
    /** Waves in the order they run. */
    waves: Wave[];
    /** Rescue VMs per zone. */
    rescuePools: RescuePool[];
}

/** Settings the plan depends on. */
export interface PlanSettings extends WaveSettings {
    /** Disks one rescue VM of a cloud holds at most. */
    disksPerRescue(cloud: string): number;
}

/** Builds the plan: waves, rescue pools and seats. Pure and deterministic. */
export function buildPlan(vms: readonly PlacedVm[], settings: PlanSettings): RecoveryPlan {
    const waveOf = assignWaves(vms, settings);
    const { pools, seats } = planPools(
        vms.filter((v) => NEEDS_RESCUE.includes(v.strategy) && !v.rollback).map((v) => ({ key: v.key, cloud: v.cloud, placement: v.placement, wave: waveOf.get(v.key)! })),
        settings.disksPerRescue,
    );
    const planned: PlannedVm[] = vms
        .map((v) => ({ ...v, wave: waveOf.get(v.key)!, seat: seats.get(v.key) }))
        .sort((a, b) => {
            const za = zoneKey(a.cloud, a.placement);
            const zb = zoneKey(b.cloud, b.placement);
            return za < zb ? -1 : za > zb ? 1 : a.index - b.index;
        });
    const waveNumbers = [...new Set(planned.map((v) => v.wave))].sort((a, b) => a - b);
    const waves = waveNumbers.map((wave) => ({
        wave,
        vms: [...vms].filter((v) => waveOf.get(v.key) === wave).sort((a, b) => a.index - b.index).map((v) => v.key),
    }));
    return { vms: planned, waves, rescuePools: pools };
}
