// The shards bench's split, worked out before anything runs: the `--max-vms` that makes the real
// `npm run shard -- --by cloud` cut the fleet into exactly K shards, and which VM leads each shard
// (its canary, which must not be one made never to boot). Pure: the fleet's clouds in, numbers out.
// `npm run shard` never puts two clouds in one shard, so each cloud's scope is shared by that
// cloud's shards only, and each shard's rateShare is 1 / (its cloud's shards).

/** The split the bench asks `npm run shard` for. */
export interface ShardPlan {
    /** `--max-vms`: the most VMs in one shard. */
    maxVms: number;
    /** Shards per cloud (in the fleet's clouds' order). */
    shardsPerCloud: Record<string, number>;
    /** Inventory indexes of the VMs that lead a shard: each shard's first VM, its canary. */
    leaders: Set<number>;
}

/** Shards `--by cloud --max-vms m` gives for these VMs per cloud. */
function shardsFor(perCloud: ReadonlyMap<string, number>, m: number): number {
    let total = 0;
    for (const n of perCloud.values()) total += Math.ceil(n / m);
    return total;
}

/**
 * The split of a fleet whose VMs are of `clouds` (in inventory order) into exactly `k` shards,
 * none mixing clouds: the smallest `--max-vms` that gives `k`. Throws an Error naming `--shards`
 * and the shard counts this fleet can be split into when `k` is not one of them.
 */
export function planShardSplit(clouds: readonly string[], k: number): ShardPlan {
    const perCloud = new Map<string, number>();
    for (const c of clouds) perCloud.set(c, (perCloud.get(c) ?? 0) + 1);
    const possible = new Map<number, number>();
    for (let m = clouds.length; m >= 1; m--) possible.set(shardsFor(perCloud, m), m);
    const maxVms = possible.get(k);
    if (maxVms === undefined) {
        const counts = [...possible.keys()].sort((a, b) => a - b);
        const near = counts.filter((c) => Math.abs(c - k) <= Math.max(3, k)).slice(0, 12);
        throw new Error(
            `--shards ${k}: npm run shard never mixes clouds in a shard, so a fleet of ${clouds.length} (${[...perCloud]
                .map(([c, n]) => `${c} ${n}`)
                .join(", ")}) splits into ${near.join(", ")}${near.length < counts.length ? " …" : ""} shards, not ${k}`,
        );
    }
    const shardsPerCloud: Record<string, number> = {};
    const leaders = new Set<number>();
    const seen = new Map<string, number>();
    clouds.forEach((c, index) => {
        const i = seen.get(c) ?? 0;
        seen.set(c, i + 1);
        if (i % maxVms === 0) {
            leaders.add(index);
            shardsPerCloud[c] = (shardsPerCloud[c] ?? 0) + 1;
        }
    });
    return { maxVms, shardsPerCloud, leaders };
}
