import { CloudIdentity } from "../contract/identity";
import { VmEntry } from "../contract/vm";

/** What shards are cut along: VMs of one shard always share it. */
export const SHARD_BY = ["cloud", "region", "account"] as const;
export type ShardBy = (typeof SHARD_BY)[number];

/** How an inventory is split. */
export interface ShardOptions {
    /** Stem of the shard names: `<name>-00` (the canary shard), `<name>-01`, … */
    name: string;
    /** Most VMs in one shard. */
    maxVms: number;
    /** What every shard's VMs share: the cloud, the cloud and region, or the cloud and account. */
    by: ShardBy;
    /** VMs of the canary shard: the first ones of the inventory (0: no canary shard). */
    canary: number;
}

/** One shard: one stack with its own state and lock. */
export interface Shard {
    /** Stack name, e.g. `prod-03`. */
    name: string;
    /** Whether this is the canary shard, which CI runs (and verifies) before every other. */
    canary: boolean;
    /** What its VMs share (`aws/us-east-1`), empty for the canary shard. */
    group: string;
    /** Keys of its VMs. */
    vms: string[];
}

/** The shards of an inventory, as written beside the shard inventories (and read again by the next split). */
export interface ShardManifest {
    name: string;
    by: ShardBy;
    maxVms: number;
    shards: Shard[];
}

/** Stack names the shards get: a name Pulumi accepts, short enough to leave room for the number. */
export const SHARD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,60}$/;

function groupOf(vm: VmEntry, by: ShardBy, identities: ReadonlyMap<string, CloudIdentity>): string {
    if (by === "cloud") return vm.cloud;
    const placement = identities.get(vm.cloud)!.placement(vm.fields);
    return by === "region" ? `${vm.cloud}/${placement.region || "any"}` : `${vm.cloud}/${placement.scope || "default"}`;
}

/**
 * Splits validated VMs into shards of at most `maxVms`, never mixing groups; the first `canary` VMs
 * of the inventory form the canary shard `<name>-00`. With the manifest of an earlier split, every
 * VM still listed keeps its shard (a VM that moved would have its chain declared again in another
 * stack), and only new VMs are placed: into a shard of their group with room, else a new one.
 * Deterministic: the same inventory and options give the same shards.
 */
export function planShards(
    vms: readonly VmEntry[],
    identities: readonly CloudIdentity[],
    opts: ShardOptions,
    previous?: ShardManifest,
): ShardManifest {
    const byCloud = new Map(identities.map((i) => [i.cloud, i]));
    const present = new Set(vms.map((v) => v.key));
    const shards: Shard[] = (previous?.shards ?? []).map((s) => ({ ...s, vms: s.vms.filter((k) => present.has(k)) }));
    const placed = new Set(shards.flatMap((s) => s.vms));
    const number = (n: number) => `${opts.name}-${String(n).padStart(2, "0")}`;
    let next = shards.length === 0 ? 0 : Math.max(...shards.map((s) => Number(s.name.slice(opts.name.length + 1)) || 0)) + 1;

    const fresh = [...vms].filter((v) => !placed.has(v.key)).sort((a, b) => a.index - b.index);
    if (!previous && opts.canary > 0) {
        const canary = fresh.splice(0, opts.canary);
        shards.push({ name: number(next++), canary: true, group: "", vms: canary.map((v) => v.key) });
    }
    const groups = new Map<string, VmEntry[]>();
    for (const vm of fresh) {
        const g = groupOf(vm, opts.by, byCloud);
        groups.set(g, [...(groups.get(g) ?? []), vm]);
    }
    for (const g of [...groups.keys()].sort()) {
        for (const vm of groups.get(g)!) {
            let shard = shards.find((s) => !s.canary && s.group === g && s.vms.length < opts.maxVms);
            if (!shard) {
                shard = { name: number(next++), canary: false, group: g, vms: [] };
                shards.push(shard);
            }
            shard.vms.push(vm.key);
        }
    }
    return { name: opts.name, by: opts.by, maxVms: opts.maxVms, shards: shards.filter((s) => s.vms.length > 0) };
}
