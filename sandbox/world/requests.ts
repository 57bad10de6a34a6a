// The simulated clouds' API requests, as counted in their worlds (sandbox/cli/budget.js keeps the
// buckets and counts in world.budget): per cloud, scope and class, the requests made, how many were
// throttled, and the peak rate beside the bucket's size and refill. What `npm run sandbox -- world
// --requests` prints and the engine bench reads; and the stand-in providers' side of the budget:
// they spend from the same buckets, retrying a throttled request as the real providers' SDKs do.
import * as fs from "fs";
import { DiscoveryCliName } from "../cli/stand-ins";
import { SandboxLayout } from "../layout";
import { World, readWorld, updateWorld } from "./world-file";

/** One bucket a request spends from (sandbox/cli/budget.js). */
export interface BudgetBucket {
    /** `<scope>|<bucket name>`: unique in its world. */
    key: string;
    /** Tokens it holds when full (the burst). */
    capacity: number;
    /** Tokens it regains per cloud second. */
    perSecond: number;
    /** Tokens the request takes. */
    cost: number;
    /** The page the numbers come from. */
    source: string;
    /** A bucket of one object (an Azure VM's Compute policy): refilled in cloud time (BOOTLOOP_TIME_SCALE). */
    perObject?: true;
}

/** One API request as the budget sees it. */
export interface BudgetRequest {
    /** aws, azure or gcp. */
    cloud: string;
    /** The scope its limits apply in: AWS account/region, Azure subscription, GCP project/region. */
    scope: string;
    /** The API operation. */
    api: string;
    /** The class it is counted under (its bucket's category, Compute policy or quota metric). */
    cls: string;
    /** The buckets it spends from (none: counted only). */
    buckets: BudgetBucket[];
}

/** What spending a request gave. */
export type Verdict = { ok: true } | { ok: false; bucket: string; retryAfterSeconds: number };

/** The shared module (plain JavaScript, as the stand-in CLIs are). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain JavaScript module the stand-in CLIs share, without types
export const budget = require("../cli/budget.js") as {
    ec2Request(scope: string, api: string, opts?: { unfiltered?: boolean; instances?: number }): BudgetRequest;
    awsOtherRequest(scope: string, api: string): BudgetRequest;
    armRequest(scope: string, api: string, kind: "read" | "write" | "delete", policy?: string, vm?: string): BudgetRequest;
    azureOtherRequest(scope: string, api: string): BudgetRequest;
    gceRequest(project: string, where: string, api: string, cls: string): BudgetRequest;
    rateScale(env?: NodeJS.ProcessEnv): number;
    objectScale(scale: number, env?: NodeJS.ProcessEnv): number;
    spend(world: World, request: BudgetRequest, now?: number, scale?: number, perObjectScale?: number): Verdict;
    PEAK_WINDOW_SECONDS: number;
};

/** One line of the report: a class of requests in one scope of one cloud. */
export interface RequestFigures {
    /** aws, azure or gcp. */
    cloud: string;
    /** The scope (AWS account/region, Azure subscription, GCP project/region). */
    scope: string;
    /** The class (an EC2 API and its category, a Compute policy with its Resource Manager kind, a quota metric). */
    cls: string;
    /** Requests made, throttled ones included. */
    requests: number;
    /** Requests refused for the budget (or by a scripted throttle fault). */
    throttled: number;
    /** Of the requests, those a stand-in provider made (spendAsProvider); the rest came from the stand-in CLIs. */
    byProviders: number;
    /** throttled / requests × 100 (0 without requests). */
    throttledPercent: number;
    /** The most requests per cloud second over any fixed window of PEAK_WINDOW_SECONDS cloud seconds. */
    peakPerSecond: number;
    /** The buckets the class spends from (size and refill per cloud second); empty: counted, not limited. */
    buckets: { key: string; capacity: number; perSecond: number }[];
}

/** Cloud names by the CLI whose world holds them. */
const CLOUD_OF_CLI: Record<DiscoveryCliName, string> = { aws: "aws", az: "azure", gcloud: "gcp" };

/** Requests the stand-in providers made, per cloud, scope and class (world.budget.byProviders). */
type ProviderCounts = Record<string, Record<string, Record<string, number>>>;

/** Counts `request` as a provider's, beside budget.js's count of every request (the CLIs' are the rest). */
function countByProviders(world: World, request: BudgetRequest): void {
    const kept = world.budget as { byProviders?: ProviderCounts };
    const byScope = ((kept.byProviders ??= {})[request.cloud] ??= {});
    const byClass = (byScope[request.scope] ??= {});
    byClass[request.cls] = (byClass[request.cls] ?? 0) + 1;
}

type Counted = {
    requests: number;
    throttled: number;
    peakPerSecond: number;
    buckets?: { key: string; capacity: number; perSecond: number }[];
};

/** The report's lines from worlds as they are (by CLI), sorted by cloud, scope and class. */
export function requestFigures(worlds: Partial<Record<DiscoveryCliName, World | undefined>>): RequestFigures[] {
    const rows: RequestFigures[] = [];
    for (const [cli, world] of Object.entries(worlds) as [DiscoveryCliName, World | undefined][]) {
        const kept = world?.budget as
            { counts?: Record<string, Record<string, Record<string, Counted>>>; byProviders?: ProviderCounts } | undefined;
        const counts = kept?.counts ?? {};
        const byProviders = kept?.byProviders?.[CLOUD_OF_CLI[cli]] ?? {};
        for (const byScope of [counts[CLOUD_OF_CLI[cli]] ?? {}])
            for (const [scope, byClass] of Object.entries(byScope))
                for (const [cls, c] of Object.entries(byClass))
                    rows.push({
                        cloud: CLOUD_OF_CLI[cli],
                        scope,
                        cls,
                        requests: c.requests,
                        throttled: c.throttled,
                        byProviders: byProviders[scope]?.[cls] ?? 0,
                        throttledPercent: c.requests ? (100 * c.throttled) / c.requests : 0,
                        peakPerSecond: c.peakPerSecond,
                        buckets: (c.buckets ?? []).map((b) => ({ key: b.key, capacity: b.capacity, perSecond: b.perSecond })),
                    });
    }
    const order = (r: RequestFigures) => `${r.cloud}\u0000${r.scope}\u0000${r.cls}`;
    return rows.sort((a, b) => order(a).localeCompare(order(b)));
}

/** The report's lines for a sandbox stack (its world files as they are now; a cloud without one is left out). */
export function stackRequestFigures(layout: SandboxLayout, stack: string): RequestFigures[] {
    const worlds: Partial<Record<DiscoveryCliName, World>> = {};
    for (const cli of Object.keys(CLOUD_OF_CLI) as DiscoveryCliName[]) {
        const file = layout.worldFile(stack, cli);
        if (fs.existsSync(file)) worlds[cli] = readWorld(file);
    }
    return requestFigures(worlds);
}

/** Times the stack's worlds' locks were taken over from a stale holder (world.lockTakeovers, world-file.ts): a count may be lost each time. */
export function stackLockTakeovers(layout: SandboxLayout, stack: string): number {
    let n = 0;
    for (const cli of Object.keys(CLOUD_OF_CLI) as DiscoveryCliName[]) {
        const file = layout.worldFile(stack, cli);
        if (fs.existsSync(file)) n += Number(readWorld(file).lockTakeovers ?? 0);
    }
    return n;
}

/** Totals per cloud and scope: requests, throttled and the share throttled (what a bound like "≤ 5 % throttled in any scope" reads). */
export function scopeTotals(
    rows: readonly RequestFigures[],
): { cloud: string; scope: string; requests: number; throttled: number; throttledPercent: number }[] {
    const totals = new Map<string, { cloud: string; scope: string; requests: number; throttled: number; throttledPercent: number }>();
    for (const r of rows) {
        const t = totals.get(`${r.cloud}\u0000${r.scope}`) ?? {
            cloud: r.cloud,
            scope: r.scope,
            requests: 0,
            throttled: 0,
            throttledPercent: 0,
        };
        t.requests += r.requests;
        t.throttled += r.throttled;
        t.throttledPercent = t.requests ? (100 * t.throttled) / t.requests : 0;
        totals.set(`${r.cloud}\u0000${r.scope}`, t);
    }
    return [...totals.values()];
}

const rate = (n: number) => (n >= 10 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(2));

/**
 * The report as text: per cloud and scope, each class's requests, throttled, % throttled, and peak
 * rate against its tightest bucket (a per-VM bucket is named as such, not by the first VM seen).
 * The peak is measured in windows of PEAK_WINDOW_SECONDS cloud seconds, so under a large rate scale
 * (10 ms windows at 1000) it says little; at BOOTLOOP_RATE_SCALE=1 it is the real peak.
 */
export function renderRequests(rows: readonly RequestFigures[]): string {
    if (rows.length === 0) return "no API requests counted yet\n";
    let text = "";
    let at = "";
    for (const r of rows) {
        if (`${r.cloud} ${r.scope}` !== at) {
            at = `${r.cloud} ${r.scope}`;
            const t = scopeTotals(rows).find((x) => x.cloud === r.cloud && x.scope === r.scope)!;
            text += `${r.cloud} ${r.scope}: ${t.requests} requests, ${t.throttled} throttled (${t.throttledPercent.toFixed(1)} %)\n`;
        }
        const tightest = [...r.buckets].sort((a, b) => a.perSecond - b.perSecond)[0];
        const limit = tightest
            ? `bucket ${tightest.capacity} refilling ${rate(tightest.perSecond)}/s (${tightest.key.slice(tightest.key.indexOf("|") + 1).replace(/ vm .*$/, ", per VM")})`
            : "no published limit applied";
        text += `  ${r.cls}: ${r.requests} requests, ${r.throttled} throttled (${r.throttledPercent.toFixed(1)} %), peak ${rate(r.peakPerSecond)}/s; ${limit}\n`;
    }
    return text;
}

/** How many times a provider's request is tried before its throttling error stands (the SDKs' retryers give up in the end too). */
export const PROVIDER_ATTEMPTS = 25;

/**
 * Spends the requests `make` names (in order; made under the world's lock, so they may read it)
 * from the world in `file` for a stand-in provider: a throttled one is tried again after the
 * cloud's Retry-After (cloud seconds, compressed by the rate scale), as the providers' SDKs retry
 * throttling, each try counted. After PROVIDER_ATTEMPTS tries the request fails with
 * `throttled(request, verdict)`, the cloud's error as that provider reports it. When nothing is
 * throttled it returns at once (undefined), so a provider's operation goes on in the same turn as
 * before the budget (what a caller sees of the world right after starting it); else a promise.
 */
export function spendAsProvider(
    file: string,
    make: (world: World) => readonly BudgetRequest[],
    throttled: (request: BudgetRequest, verdict: Extract<Verdict, { ok: false }>) => Error,
): Promise<void> | undefined {
    const scale = budget.rateScale();
    type Tried = { request: BudgetRequest; verdict: Verdict } | undefined;
    const tryOne = (n: number): Tried =>
        updateWorld(file, (world) => {
            const request = make(world)[n];
            if (!request) return undefined;
            const verdict = budget.spend(world, request, Date.now(), scale);
            countByProviders(world, request);
            return { request, verdict };
        });
    let i = 0;
    for (;;) {
        const tried = tryOne(i);
        if (!tried) return undefined;
        if (!tried.verdict.ok) return goOn(tried);
        i++;
    }
    async function goOn(first: Tried): Promise<void> {
        let tried = first;
        for (let attempt = 1; tried;) {
            const verdict = tried.verdict;
            if (verdict.ok) {
                tried = tryOne(++i);
                attempt = 1;
                continue;
            }
            if (attempt >= PROVIDER_ATTEMPTS) throw throttled(tried.request, verdict);
            await new Promise((resolve) => setTimeout(resolve, Math.max(1, (verdict.retryAfterSeconds * 1000) / scale)));
            attempt++;
            tried = tryOne(i);
        }
    }
}

/**
 * `npm run sandbox -- world --stack S --requests [--json]`: the stack's API request report, as text
 * ({@link renderRequests}) or JSON (`{ rows, totals }`: {@link RequestFigures} lines and
 * {@link scopeTotals}); exit code 1 with a message when the stack has no simulated cloud yet.
 */
export function requestsReport(layout: SandboxLayout, stack: string, json: boolean): { code: number; stdout: string; stderr: string } {
    const seeded = (Object.keys(CLOUD_OF_CLI) as DiscoveryCliName[]).some((cli) => fs.existsSync(layout.worldFile(stack, cli)));
    if (!seeded)
        return {
            code: 1,
            stdout: "",
            stderr: `sandbox: stack ${stack} has no simulated cloud yet (it is seeded by its first run: npm run sandbox -- preview --stack ${stack})\n`,
        };
    const rows = stackRequestFigures(layout, stack);
    return {
        code: 0,
        stdout: json ? `${JSON.stringify({ rows, totals: scopeTotals(rows) }, null, 2)}\n` : renderRequests(rows),
        stderr: "",
    };
}
