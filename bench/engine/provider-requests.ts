// The providers' allowance (components/{aws,azure,gcp}/watch.ts `providerRequests`) against what the
// simulated clouds counted in one real-engine `up`: per cloud and watcher rate class, the API
// requests per VM chain the stand-in providers made and the ones the stand-in CLIs made (steps,
// watcher and the program's CLI lookups), over the classes the clouds limit (a request class under
// no bucket spends no budget). bench/engine/provider-requests-run.ts makes the counts
// (test/fixtures/provider-requests/counted.json); test/bench/provider-requests.test.ts holds the
// tables to them.
import { RequestsPerVm } from "../../components/gate/types";

/** One counted class of one scope, as the fixture keeps it. */
export interface CountedRow {
    /** aws, azure or gcp. */
    cloud: string;
    /** The scope (AWS account/region, Azure subscription, GCP project/region). */
    scope: string;
    /** The simulated cloud's class (an EC2 API and its category, a Compute policy and its ARM kind, a quota metric). */
    cls: string;
    /** Requests made, throttled ones included. */
    requests: number;
    /** Of them, the stand-in providers'. */
    byProviders: number;
    /** Requests refused for the budget. */
    throttled: number;
    /** Whether the class spends from a bucket (a published limit); false: counted only. */
    limited: boolean;
}

/** What one regenerating run counted: how, where, and the rows. */
export interface CountedFile {
    /** How the counts were made (the command, the fleet). */
    how: string;
    /** The commit the tree was at, and whether tracked files had changed since. */
    commit: string;
    /** Tracked files changed since the commit when it ran. */
    uncommittedChanges: boolean;
    /** When (ISO 8601, UTC). */
    measuredAt: string;
    /** VM chains per cloud in the run (every one recovered). */
    vms: Record<string, number>;
    /** Every counted class of every scope. */
    rows: CountedRow[];
}

/** EC2 APIs with a request bucket of their own (budget.js's uncategorized actions): the rest are named with their category. */
const EC2_OWN_BUCKET = new Set([
    "StartInstances",
    "RunInstances",
    "CreateTags",
    "DeleteTags",
    "CreateSnapshot",
    "CreateVolume",
    "DeleteSnapshot",
    "DeleteVolume",
    "TerminateInstances",
]);

/**
 * The watcher's rate class (the keys of its `rates`) that a simulated cloud's class falls under, or
 * undefined for a class no published limit applies to. AWS: describe calls `describe`,
 * StartInstances `start`, every other EC2 action `mutate` (as the watcher's rateClass sorts the
 * CLI's ops). Azure: Resource Manager reads `read`, writes and deletes `write`. GCP: queries
 * (mutations and guest-attribute reads) `mutate`; reads, lists and operation reads `read` (the
 * watcher keeps one bucket for reads; an operation read follows a mutation the same way a read does).
 */
export function watcherClassOf(cloud: string, cls: string): string | undefined {
    if (cloud === "aws") {
        if (/ \((unfiltered )?non-mutating\)$/.test(cls)) return "describe";
        if (/ \(mutating\)$/.test(cls)) return "mutate";
        if (cls === "StartInstances") return "start";
        if (EC2_OWN_BUCKET.has(cls)) return "mutate";
        return undefined;
    }
    if (cloud === "azure") {
        const kind = /(?:^|\()ARM (read|write|delete)\)?$/.exec(cls)?.[1];
        return kind === undefined ? undefined : kind === "read" ? "read" : "write";
    }
    if (cloud === "gcp") {
        if (cls === "mutation") return "mutate";
        if (["read", "list", "operation read"].includes(cls)) return "read";
        return undefined;
    }
    throw new Error(`counted requests: unknown cloud ${JSON.stringify(cloud)}`);
}

/** Requests per VM chain in one watcher class, as counted. */
export interface CountedPerVm extends RequestsPerVm {
    /** The cloud. */
    cloud: string;
    /** The watcher's rate class. */
    cls: string;
    /** The simulated clouds' classes summed into it. */
    from: string[];
}

/**
 * Per cloud and watcher class: the counted requests of the providers and of the CLIs (`steps`),
 * each divided by the cloud's VM chains. Classes under no published limit are left out. Throws,
 * naming it, on a row of a cloud the run had no VM of or of a limited class no watcher class takes.
 */
export function perVm(file: CountedFile): CountedPerVm[] {
    const out = new Map<string, CountedPerVm>();
    for (const r of file.rows) {
        if (!r.limited) continue;
        const vms = file.vms[r.cloud];
        if (!vms) throw new Error(`counted requests: a row of ${r.cloud} (${r.scope} ${r.cls}) but no ${r.cloud} VM in the run`);
        const cls = watcherClassOf(r.cloud, r.cls);
        if (!cls) throw new Error(`counted requests: ${r.cloud} ${r.cls} is limited but falls in no watcher rate class`);
        const key = `${r.cloud} ${cls}`;
        const sum = out.get(key) ?? { cloud: r.cloud, cls, providers: 0, steps: 0, from: [] };
        sum.providers += r.byProviders / vms;
        sum.steps += (r.requests - r.byProviders) / vms;
        if (!sum.from.includes(r.cls)) sum.from.push(r.cls);
        out.set(key, sum);
    }
    return [...out.values()].sort((a, b) => `${a.cloud} ${a.cls}`.localeCompare(`${b.cloud} ${b.cls}`));
}

/**
 * Where a cloud's table states less than was counted: a class the providers spent in that the table
 * leaves out, or a figure (providers' or steps') below the count. Empty: the table covers the run.
 */
export function understated(table: Readonly<Record<string, RequestsPerVm>> | undefined, counted: readonly CountedPerVm[]): string[] {
    const short: string[] = [];
    for (const c of counted) {
        const stated = table?.[c.cls];
        const where = `${c.cloud} ${c.cls} (${c.from.join(", ")})`;
        if (!stated) {
            if (c.providers > 0)
                short.push(`${where}: the providers made ${c.providers.toFixed(1)} requests per VM; the table has no ${c.cls}`);
            continue;
        }
        if (stated.providers < c.providers)
            short.push(`${where}: providers ${stated.providers} in the table, ${c.providers.toFixed(1)} per VM counted`);
        if (stated.steps < c.steps) short.push(`${where}: steps ${stated.steps} in the table, ${c.steps.toFixed(1)} per VM counted`);
    }
    return short;
}
