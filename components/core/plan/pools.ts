import { Placement, kebab, shortHash } from "../contract/identity";
import { RescuePool, RescueSeat } from "../contract/plan";

/** The facts rescue pooling needs about a VM that is repaired offline. */
export interface PoolCandidate {
    /** Canonical VM key. */
    key: string;
    /** Cloud of the VM. */
    cloud: string;
    /** Where the VM (and so its disk) is. */
    placement: Placement;
    /** Wave of the VM: earlier waves take the first rescue slots. */
    wave: number;
}

/** Stable text identity of a zone: cloud, scope, region and zone. */
export function zoneKey(cloud: string, p: Placement): string {
    return [cloud, p.scope, p.region, p.zone].join("/");
}

/**
 * Groups the VMs by cloud → scope → region → zone and gives each zone ceil(VMs / capacity) rescue
 * VMs, named from the stack, the zone and their number: a cloud makes a VM's name unique in its
 * zone (or resource group), so two stacks of one incident (shards) in one zone must not share one. Seats are filled in (wave, key) order, so VMs added in a later wave never move an earlier
 * VM's disk to another rescue VM or slot.
 */
export function planPools(
    vms: readonly PoolCandidate[],
    capacityOf: (cloud: string) => number,
    stack: string,
): { pools: RescuePool[]; seats: Map<string, RescueSeat> } {
    const zones = new Map<string, PoolCandidate[]>();
    for (const vm of vms) {
        const k = zoneKey(vm.cloud, vm.placement);
        const list = zones.get(k) ?? [];
        list.push(vm);
        zones.set(k, list);
    }
    const pools: RescuePool[] = [];
    const seats = new Map<string, RescueSeat>();
    for (const k of [...zones.keys()].sort()) {
        const members = zones.get(k)!.sort((a, b) => a.wave - b.wave || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        const { cloud, placement } = members[0];
        const capacity = capacityOf(cloud);
        const where = kebab(placement.zone || placement.region || "any") || "any";
        const pool: RescuePool = { cloud, placement, capacity, members: [] };
        members.forEach((vm, i) => {
            const number = Math.floor(i / capacity);
            if (!pool.members[number])
                pool.members[number] = { name: `rescue-${cloud}-${where}-${shortHash(`${stack} ${k}`)}-${number}`, number, vms: [] };
            pool.members[number].vms.push(vm.key);
            seats.set(vm.key, { member: pool.members[number].name, slot: i % capacity });
        });
        pools.push(pool);
    }
    return { pools, seats };
}
