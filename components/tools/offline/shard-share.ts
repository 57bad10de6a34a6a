// Shards that share a cloud scope (an AWS account and region, an Azure subscription, a GCP project)
// split its published request budget: each shard's `rateShare` is 1 / the most shards that touch
// any scope it touches, times the base stack's own share. The canary shard runs alone, before the
// others (CI's order), so it keeps the base share and is not counted among them.
import { CloudIdentity } from "../../core/contract/identity";
import { Problem } from "../../core/contract/problems";
import { VmEntry } from "../../core/contract/vm";
import { Shard, ShardManifest } from "../../core/plan/shard";
import { parseRateShare, rateShareText } from "../../core/rate-share";

/** A shard as the manifest keeps it, with the share of its scopes' budgets `npm run shard` wrote. */
export interface SharedShard extends Shard {
    /** The `rateShare` its stack file has (as written, e.g. `1/10`); absent for the whole budget. */
    rateShare?: string;
}

/** A manifest whose shards carry their shares. */
export interface SharedManifest extends ShardManifest {
    shards: SharedShard[];
}

/** Where a cloud's published limits apply: per scope, or per region of a scope (EC2: per account and region). */
export type RateScopeOf = (cloud: string) => "scope" | "region";

/** The rate scope of a VM: `aws/123456789012/us-east-1`, `azure/<subscription>`, `gcp/<project>`. */
export function rateScopeOfVm(vm: VmEntry, identity: CloudIdentity, per: RateScopeOf): string {
    const p = identity.placement(vm.fields);
    const scope = `${vm.cloud}/${p.scope || "default"}`;
    return per(vm.cloud) === "region" ? `${scope}/${p.region || "any"}` : scope;
}

/** What the shares were computed from: per scope, the shards (canary excluded) that touch it. */
export interface ShareArithmetic {
    /** Scope → names of the non-canary shards with VMs in it, in manifest order. */
    scopes: Map<string, string[]>;
    /** Scope → its VMs in those shards. */
    vmsIn: Map<string, number>;
    /** Shard → its share (a number; 1 is the whole of the base share). */
    shares: Map<string, number>;
}

/**
 * Each shard's share: `base` / the largest number of non-canary shards that touch any scope it
 * touches; the canary shard gets `base`. With the previous manifest's shares, a shard never gets
 * more than it had (a re-split of a shrunken inventory keeps the smaller share; a grown one that
 * adds shards to a scope lowers it).
 */
export function shardShares(
    manifest: ShardManifest,
    vms: readonly VmEntry[],
    identities: readonly CloudIdentity[],
    per: RateScopeOf,
    base = 1,
    previous?: SharedManifest,
): ShareArithmetic {
    const byKey = new Map(vms.map((v) => [v.key, v]));
    const identityOf = new Map(identities.map((i) => [i.cloud, i]));
    const scopesOf = new Map<string, Set<string>>();
    const scopes = new Map<string, string[]>();
    const vmsIn = new Map<string, number>();
    for (const shard of manifest.shards) {
        const each = shard.vms.map((k) => byKey.get(k)!).map((vm) => rateScopeOfVm(vm, identityOf.get(vm.cloud)!, per));
        scopesOf.set(shard.name, new Set(each));
        if (shard.canary) continue;
        for (const s of each) vmsIn.set(s, (vmsIn.get(s) ?? 0) + 1);
        for (const s of new Set(each)) scopes.set(s, [...(scopes.get(s) ?? []), shard.name]);
    }
    const before = new Map((previous?.shards ?? []).map((s) => [s.name, s.rateShare === undefined ? base : parseRateShare(s.rateShare)]));
    const shares = new Map<string, number>();
    for (const shard of manifest.shards) {
        const most = shard.canary ? 1 : Math.max(1, ...[...scopesOf.get(shard.name)!].map((s) => scopes.get(s)!.length));
        const now = base / most;
        const had = before.get(shard.name);
        shares.set(shard.name, had !== undefined && had < now ? had : now);
    }
    return { scopes, vmsIn, shares };
}

/** A share as the stack file gets it: `1/10` when it is one over a whole number, else the decimal. */
export function shareText(share: number): string {
    const n = Math.round(1 / share);
    return n > 1 && Math.abs(1 / n - share) < 1e-12 ? `1/${n}` : rateShareText(share);
}

/**
 * The manifest with each shard's share written in (the text a previous split wrote is kept when
 * the share is unchanged, so files do not churn); a shard with the whole budget has none.
 */
export function withShares(manifest: ShardManifest, shares: ReadonlyMap<string, number>, previous?: SharedManifest): SharedManifest {
    const before = new Map((previous?.shards ?? []).map((s) => [s.name, s.rateShare]));
    return {
        ...manifest,
        shards: manifest.shards.map((s) => {
            // A previous split's share (carried over by planShards) is replaced by this one's.
            const rest: SharedShard = { ...s };
            delete rest.rateShare;
            const share = shares.get(s.name)!;
            if (share === 1) return rest;
            const kept = before.get(s.name);
            return { ...rest, rateShare: kept !== undefined && parseRateShare(kept) === share ? kept : shareText(share) };
        }),
    };
}

/**
 * With `--scopes-apart`: the scopes more than one shard would spend at once, as problems naming the
 * inventory (the VMs of a scope, the shards it would need, and what to do); none when every scope
 * is one shard's.
 */
export function sharedScopeProblems(arithmetic: ShareArithmetic, inventory: string): Problem[] {
    const problems: Problem[] = [];
    for (const [scope, shards] of arithmetic.scopes) {
        if (shards.length < 2) continue;
        problems.push({
            file: inventory,
            message: `--scopes-apart: scope ${scope} has ${arithmetic.vmsIn.get(scope)} VMs in ${shards.length} shards (${shards.join(", ")}) that would run at once and share its request budget; give --max-vms room for all of them in one shard, or leave out --scopes-apart and let the shards split the budget (rateShare 1/${shards.length} each)`,
        });
    }
    return problems;
}
