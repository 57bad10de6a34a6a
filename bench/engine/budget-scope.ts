// The scope the simulated clouds count a VM's requests in: shared by the bench's fleet and its shards.
import { identities } from "../../components/registry/inventory";

/** The budget scope the simulated clouds count a VM's requests in (sandbox/cli/budget.js): AWS account/region, Azure subscription, GCP project/region. */
export function budgetScopeOf(e: Record<string, string> & { cloud: string }): string {
    const identity = identities.find((i) => i.cloud === e.cloud);
    if (!identity) throw new Error(`no identity for cloud ${e.cloud}`);
    const p = identity.placement(e);
    if (e.cloud === "azure") return `azure ${p.scope}`;
    return `${e.cloud} ${p.scope || "default"}/${p.region}`;
}
