import type { DiscoveryCli } from "../discovery/types";
import type { Strategy } from "../../core/contract/remedies";
import { errorLine } from "./error-line";

/**
 * The preflight (`npm run plan -- --preflight`): before the first `pulumi up`, read-only calls to
 * the real clouds check what the plan needs against what they allow: quotas (vCPUs, disks and
 * storage, snapshots per region), the organisation's required-tag policies, and the deployer's
 * permissions. Core never branches on the cloud: each cloud folder exports a {@link CloudPreflight}.
 */

/**
 * How one check came out. `fail` stops a CI job; `warn` is for a person to read; `not-checked`
 * says why the check could not be made (a missing or broken login, a read the login may not
 * make, a CLI that crashed): never a pass, so it stops a CI job too unless `--allow-skipped`.
 */
export type Verdict = "ok" | "warn" | "fail" | "not-checked";

/** What the preflight checks. */
export type CheckKind = "quota" | "tags" | "permissions";

/** One check's outcome. */
export interface PreflightFinding {
    /** The `cloud:` value. */
    cloud: string;
    /** Where it was checked: `ACCOUNT/REGION`, a subscription and location, a project and region. */
    scope: string;
    check: CheckKind;
    verdict: Verdict;
    /** What was compared, in figures, and what to do when it falls short. */
    message: string;
}

/** One VM of the plan, as the preflight sees it. */
export interface PreflightVm {
    /** Its label, for messages. */
    label: string;
    /** Its inventory fields (account, region, subscription, project, zone, …). */
    fields: Readonly<Record<string, string>>;
    strategy: Strategy;
    /** The rescue VM it is repaired on and the disks that rescue VM holds, if it needs one. */
    rescue?: { member: string; capacity: number };
    /** Snapshots the plan takes for it (its backup). */
    snapshots: number;
    /** Disks the plan creates for it (scratch, fixed or restored), each the size of its OS disk. */
    newDisks: number;
}

/** What the plan needs from one cloud. */
export interface PreflightNeed {
    /** The cloud's own settings, as its path's `configure` returned them (user tags included). */
    config: unknown;
    /** Its VMs in the plan. */
    vms: readonly PreflightVm[];
}

/** Read-only calls to the clouds: the CLIs under the runner's limits, and HTTPS where no CLI command exists. */
export interface PreflightCli extends DiscoveryCli {
    /**
     * A JSON request to a cloud API (GCP's testIamPermissions has no gcloud command). The token is
     * sent as a bearer token and never logged; rejects with the API's message on an error status.
     */
    fetchJson(call: {
        cloud: string;
        scope: string;
        op: string;
        url: string;
        method: "GET" | "POST";
        token: string;
        body?: unknown;
    }): Promise<unknown>;
}

/** One cloud's part of the preflight; each cloud folder exports one (`preflight.ts`). */
export interface CloudPreflight {
    /** The `cloud:` value. */
    cloud: string;
    /** Runs every check for the cloud's VMs of the plan; a check that cannot be made is `not-checked`, with why. */
    check(need: PreflightNeed, cli: PreflightCli): Promise<PreflightFinding[]>;
}

/** A finding's message for a check that could not be made: the line of the CLI's error that says what went wrong, bounded. */
export function notCheckedBecause(what: string, err: unknown): string {
    return `${what}: ${errorLine(err instanceof Error ? err.message : String(err))}`;
}

/** Compares a need with a quota: fail when it does not fit, warn when it leaves under 10 % free. */
export function quotaFinding(
    base: Omit<PreflightFinding, "check" | "verdict" | "message">,
    what: string,
    need: number,
    used: number,
    limit: number,
    unit = "",
): PreflightFinding {
    const free = limit - used;
    const fmt = (n: number) => `${Math.round(n * 100) / 100}${unit}`;
    const figures = `${what}: the plan needs ${fmt(need)}, ${fmt(used)} of ${fmt(limit)} in use, ${fmt(Math.max(0, free))} free`;
    if (need > free)
        return {
            ...base,
            check: "quota",
            verdict: "fail",
            message: `${figures}; ask for an increase of at least ${fmt(need - free)} before pulumi up, or recover in smaller waves`,
        };
    if (need > 0 && free - need < limit * 0.1)
        return { ...base, check: "quota", verdict: "warn", message: `${figures}; under 10 % would be left for anything else` };
    return { ...base, check: "quota", verdict: "ok", message: figures };
}

/** The rescue VMs a set of VMs is repaired on (each counted once, however many disks it holds). */
export function rescueCount(vms: readonly PreflightVm[]): number {
    return new Set(vms.flatMap((v) => (v.rescue ? [v.rescue.member] : []))).size;
}

/** Splits a list into chunks of at most `size` (batched calls). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
}

/** Whether an IAM-style action pattern (`ec2:Describe*`, `Microsoft.Compute/*`) covers an action, case-insensitively. */
export function actionMatches(pattern: string, action: string): boolean {
    const re = new RegExp(
        `^${pattern
            .split("*")
            .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
            .join(".*")}$`,
        "i",
    );
    return re.test(action);
}
