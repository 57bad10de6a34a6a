// What planning decides before anything is declared: each VM placed and planned, waves, rescue pools and seats.
import { Placement } from "./identity";
import { RestorePoint, VmEntry } from "./vm";

/** One wave: VMs recovered together after every earlier wave verified. */
export interface Wave {
    /** Wave number (waves run in increasing order; numbers may have gaps). */
    wave: number;
    /** Keys of its VMs, in inventory order. */
    vms: string[];
    /**
     * VMs of this wave that may fail (each recorded failed in its chain) before the next wave's
     * gate stops the rollout: 0 for the first wave (the canary), else from the stack's
     * `failureBudget`.
     */
    failureBudget: number;
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
    /**
     * The stack the rescue VMs belong to. Part of their names, which the clouds make unique per zone,
     * resource group or project: stacks (the shards of one incident) in one zone never collide on a
     * rescue VM's name.
     */
    stack: string;
    /** Disks one rescue VM of a cloud holds at most. */
    disksPerRescue(this: void, cloud: string): number;
    /** Failed VMs each wave after the first may have before the next wave's gate stops the rollout. */
    failureBudget: FailureBudget;
}

/** How the VMs without an explicit `wave` are split into waves. */
export interface WaveSettings {
    /** Size of the canary wave (wave 0): a VM count, or a percentage of the VMs without an explicit wave. */
    canary: { count: number } | { percent: number };
    /** VMs per later wave; undefined puts every VM after the canary into wave 1. */
    waveSize?: number;
}

/** Failed VMs each wave after the first may have before the rollout stops: a count, or a percentage of the wave (rounded down). */
export type FailureBudget = { count: number } | { percent: number };

/** One rescue VM of a pool and the disks it serves. */
export interface RescueMember {
    /** Resource-name stem of the rescue VM, derived from the stack, the zone's identity and the member number. */
    name: string;
    /** Member number within its zone's pool (0, 1, …). */
    number: number;
    /** Keys of the VMs whose disks it repairs, in slot order. */
    vms: string[];
}

/** The rescue VMs of one zone (of one account/subscription/project and region). */
export interface RescuePool {
    /** Cloud of the pool. */
    cloud: string;
    /** Where its rescue VMs run: the same zone as the disks they repair. */
    placement: Placement;
    /** Disks one rescue VM holds at most. */
    capacity: number;
    /** The rescue VMs: ceil(disks / capacity) of them. */
    members: RescueMember[];
}

/** A VM's place in the pool: which rescue VM and which attach slot on it. */
export interface RescueSeat {
    /** Name of the rescue member. */
    member: string;
    /** Zero-based slot on that rescue VM (the cloud maps it to a device name or LUN). */
    slot: number;
}

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
