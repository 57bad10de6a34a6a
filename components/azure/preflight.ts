import * as fs from "fs";
import * as path from "path";
import {
    CloudPreflight,
    PreflightCli,
    PreflightFinding,
    PreflightNeed,
    PreflightVm,
    actionMatches,
    quotaFinding,
    notCheckedBecause,
} from "../tools/preflight/types";
import { parseJson } from "../gate/types";
import { AzureConfig } from "./config";
import { azCall } from "./discover";
import { rescueVmSize } from "./rescue";

/**
 * Azure preflight, per subscription, location and resource group:
 *   az vm list                 where each VM is (one call per subscription, unless every entry names its location)
 *   az vm list-skus / list-usage   the rescue size's family and vCPUs; regional and family vCPU quotas
 *   az policy assignment list  the built-in "Require a tag (and its value) on resources" assignments
 *   az rest GET …/providers/Microsoft.Authorization/permissions   the deployer's effective actions
 *                              on each resource group, against components/azure/iam/deployer-role.json
 */

/** Built-in definitions that deny a resource without a tag (tagName), or without a tag's value (tagName, tagValue). */
const REQUIRE_TAG = "/providers/microsoft.authorization/policydefinitions/871b6d14-10aa-478d-b590-94f262ecfa99";
const REQUIRE_TAG_VALUE = "/providers/microsoft.authorization/policydefinitions/1e30110a-5ceb-460c-a204-c1c3969c6d62";

const lower = (s: string | undefined) => (s ?? "").toLowerCase();
const vmId = (f: Readonly<Record<string, string>>) =>
    lower(`/subscriptions/${f.subscriptionId}/resourceGroups/${f.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${f.vmName}`);

async function quotas(
    cli: PreflightCli,
    subscription: string,
    location: string,
    vms: PreflightVm[],
    config: AzureConfig,
): Promise<PreflightFinding[]> {
    const base = { cloud: "azure", scope: `${subscription}/${location}` };
    const sizes = new Map<string, Set<string>>();
    for (const v of vms) {
        if (!v.rescue) continue;
        const size = config.rescueVmSize ?? rescueVmSize(v.rescue.capacity);
        sizes.set(size, (sizes.get(size) ?? new Set()).add(v.rescue.member));
    }
    if (sizes.size === 0) return [];
    try {
        const usage = parseJson<{ name?: { value?: string }; currentValue?: number; limit?: number }[]>(
            await azCall(cli, subscription, "vm list-usage", ["--location", location, "--subscription", subscription]),
            [],
        );
        const usageOf = (name: string) => usage.find((u) => lower(u.name?.value) === lower(name));
        const findings: PreflightFinding[] = [];
        const needByFamily = new Map<string, number>();
        let total = 0;
        for (const [size, members] of sizes) {
            type Sku = {
                name?: string;
                family?: string;
                capabilities?: { name: string; value: string }[];
                restrictions?: { reasonCode?: string }[];
            };
            const skus = parseJson<Sku[]>(
                await azCall(cli, subscription, "vm list-skus", [
                    "--location",
                    location,
                    "--size",
                    size,
                    "--resource-type",
                    "virtualMachines",
                    "--subscription",
                    subscription,
                ]),
                [],
            );
            const sku = skus.find((s) => lower(s.name) === lower(size));
            const vcpus = Number(sku?.capabilities?.find((c) => c.name === "vCPUs")?.value ?? NaN);
            if (!sku?.family || !Number.isFinite(vcpus)) {
                findings.push({
                    ...base,
                    check: "quota",
                    verdict: "fail",
                    message: `${size} is not offered in ${location}: set azureRescueVmSize to a size this location has`,
                });
                continue;
            }
            if ((sku.restrictions ?? []).some((r) => r.reasonCode === "NotAvailableForSubscription")) {
                findings.push({
                    ...base,
                    check: "quota",
                    verdict: "fail",
                    message: `${size} is restricted for this subscription in ${location}: set azureRescueVmSize, or ask Azure support to lift it`,
                });
            }
            needByFamily.set(sku.family, (needByFamily.get(sku.family) ?? 0) + members.size * vcpus);
            total += members.size * vcpus;
        }
        const regional = usageOf("cores");
        if (regional?.limit === undefined)
            findings.push({
                ...base,
                check: "quota",
                verdict: "not-checked",
                message: `no total regional vCPU usage reported in ${location}: check it by hand (${total} vCPUs needed)`,
            });
        else findings.push(quotaFinding(base, "total regional vCPUs", total, regional.currentValue ?? 0, regional.limit));
        for (const [family, need] of needByFamily) {
            const u = usageOf(family);
            if (u?.limit === undefined)
                findings.push({
                    ...base,
                    check: "quota",
                    verdict: "not-checked",
                    message: `no usage reported for ${family}: check its quota by hand (${need} vCPUs needed)`,
                });
            else findings.push(quotaFinding(base, `${family} vCPUs`, need, u.currentValue ?? 0, u.limit));
        }
        return findings;
    } catch (err) {
        return [{ ...base, check: "quota", verdict: "not-checked", message: notCheckedBecause("vCPU quotas could not be read", err) }];
    }
}

async function tagPolicies(
    cli: PreflightCli,
    subscription: string,
    groups: string[],
    tags: Record<string, string>,
): Promise<PreflightFinding[]> {
    const base = { cloud: "azure", scope: subscription, check: "tags" as const };
    type Assignment = {
        displayName?: string;
        name?: string;
        scope?: string;
        policyDefinitionId?: string;
        enforcementMode?: string;
        parameters?: { tagName?: { value?: string }; tagValue?: { value?: string } };
    };
    let assignments: Assignment[];
    try {
        assignments = parseJson<Assignment[]>(
            await azCall(cli, subscription, "policy assignment list", ["--subscription", subscription, "--disable-scope-strict-match"]),
            [],
        );
    } catch (err) {
        return [{ ...base, verdict: "not-checked", message: notCheckedBecause("policy assignments could not be read", err) }];
    }
    const covers = (scope: string) => {
        const s = lower(scope);
        return (
            s.includes("/providers/microsoft.management/managementgroups/") ||
            s === lower(`/subscriptions/${subscription}`) ||
            groups.some((g) => s === lower(`/subscriptions/${subscription}/resourceGroups/${g}`))
        );
    };
    const findings: PreflightFinding[] = [];
    for (const a of assignments) {
        const def = lower(a.policyDefinitionId);
        if ((def !== REQUIRE_TAG && def !== REQUIRE_TAG_VALUE) || !covers(a.scope ?? "")) continue;
        const name = String(a.parameters?.tagName?.value ?? "");
        const value = def === REQUIRE_TAG_VALUE ? String(a.parameters?.tagValue?.value ?? "") : undefined;
        const ours = Object.keys(tags).find((k) => lower(k) === lower(name));
        const what = `assignment ${a.displayName || a.name} requires ${name}${value !== undefined ? `=${value}` : ""}`;
        const enforced = a.enforcementMode !== "DoNotEnforce";
        if (ours === undefined)
            findings.push({
                ...base,
                verdict: enforced ? "fail" : "warn",
                message: `${what}; the stack's tags lack it, so Azure would deny every resource it creates: add it to tags (or azureTags)`,
            });
        else if (value !== undefined && tags[ours] !== value)
            findings.push({ ...base, verdict: enforced ? "fail" : "warn", message: `${what}; the stack's tags give ${tags[ours]}` });
        else findings.push({ ...base, verdict: "ok", message: `${what}: the stack's tags have it` });
    }
    if (findings.length === 0)
        findings.push({
            ...base,
            verdict: "ok",
            message: `no built-in require-tag assignment covers the resource groups (${assignments.length} assignments read; custom definitions and initiatives are not interpreted)`,
        });
    return findings;
}

type Role = { Actions: string[]; NotActions: string[]; DataActions: string[] };

/** The deployer role's actions (components/azure/iam/deployer-role.json). */
export function deployerRole(): Role {
    return JSON.parse(fs.readFileSync(path.join(__dirname, "iam", "deployer-role.json"), "utf8")) as Role;
}

async function permissions(cli: PreflightCli, subscription: string, group: string): Promise<PreflightFinding> {
    const base = { cloud: "azure", scope: `${subscription}/${group}`, check: "permissions" as const };
    type Permission = { actions?: string[]; notActions?: string[]; dataActions?: string[]; notDataActions?: string[] };
    let granted: Permission[];
    try {
        const url = `https://management.azure.com/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`;
        granted =
            parseJson<{ value?: Permission[] }>(await azCall(cli, subscription, "rest get", ["--method", "get", "--url", url]), {}).value ??
            [];
    } catch (err) {
        return { ...base, verdict: "not-checked", message: notCheckedBecause("the deployer's permissions could not be read", err) };
    }
    const role = deployerRole();
    const allowed = (action: string, data: boolean) =>
        granted.some(
            (p) =>
                (data ? p.dataActions : p.actions)?.some((a) => actionMatches(a, action)) &&
                !(data ? p.notDataActions : p.notActions)?.some((a) => actionMatches(a, action)),
        );
    const missing = [...role.Actions.filter((a) => !allowed(a, false)), ...role.DataActions.filter((a) => !allowed(a, true))];
    const count = role.Actions.length + role.DataActions.length;
    if (missing.length > 0)
        return {
            ...base,
            verdict: "fail",
            message: `the deployer lacks ${missing.length} of ${count} actions the stack uses: ${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ", …" : ""}; assign components/azure/iam/deployer-role.json`,
        };
    return { ...base, verdict: "ok", message: `the deployer may do all ${count} actions the stack uses` };
}

async function check(need: PreflightNeed, cli: PreflightCli): Promise<PreflightFinding[]> {
    const config = need.config as AzureConfig;
    const bySubscription = new Map<string, PreflightVm[]>();
    for (const vm of need.vms)
        bySubscription.set(lower(vm.fields.subscriptionId), [...(bySubscription.get(lower(vm.fields.subscriptionId)) ?? []), vm]);
    const results = await Promise.all(
        [...bySubscription].map(async ([subscription, vms]) => {
            const findings: PreflightFinding[] = [];
            const byLocation = new Map<string, PreflightVm[]>();
            try {
                // Entries that name their location need no listing.
                const listed = vms.every((v) => v.fields.location)
                    ? []
                    : parseJson<[string, string][]>(
                          await azCall(cli, subscription, "vm list", ["--subscription", subscription, "--query", "[].[id, location]"]),
                          [],
                      );
                const locationOf = new Map(listed.map(([id, location]) => [lower(id), location]));
                for (const vm of vms) {
                    const location = vm.fields.location ?? locationOf.get(vmId(vm.fields));
                    if (!location)
                        findings.push({
                            cloud: "azure",
                            scope: subscription,
                            check: "quota",
                            verdict: "fail",
                            message: `${vm.label} is not in subscription ${subscription}: check the inventory`,
                        });
                    else byLocation.set(location, [...(byLocation.get(location) ?? []), vm]);
                }
            } catch (err) {
                findings.push({
                    cloud: "azure",
                    scope: subscription,
                    check: "quota",
                    verdict: "not-checked",
                    message: notCheckedBecause("the VMs could not be listed", err),
                });
            }
            const groups = [...new Set(vms.map((v) => v.fields.resourceGroup))].sort();
            const more = await Promise.all([
                ...[...byLocation].map(([location, at]) => quotas(cli, subscription, location, at, config)),
                tagPolicies(cli, subscription, groups, config.tags),
                Promise.all(groups.map((g) => permissions(cli, subscription, g))),
            ]);
            return [...findings, ...more.flat()];
        }),
    );
    return results.flat();
}

export const azurePreflight: CloudPreflight = { cloud: "azure", check };
