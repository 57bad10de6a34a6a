import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
    CloudPreflight,
    PreflightCli,
    PreflightFinding,
    PreflightNeed,
    PreflightVm,
    chunks,
    quotaFinding,
    rescueCount,
    notCheckedBecause,
} from "../tools/preflight/types";
import { parseJson } from "../gate/types";
import { GcpConfig } from "./config";

/**
 * GCP preflight, per project and region:
 *   gcloud compute instances list, disks list   the boot disks' sizes and types (the copies match them)
 *   gcloud compute machine-types describe       the rescue machine type's vCPUs
 *   gcloud compute regions describe, project-info describe   CPU, SSD and standard disk GB, snapshots
 *   gcloud org-policies list, describe-custom-constraint, projects get-ancestors   custom
 *                                               constraints that test labels on what the stack creates
 *   POST cloudresourcemanager v1 projects/P:testIamPermissions   the caller's permissions against
 *                                               components/gcp/iam/deployer-role.yaml (no gcloud command exists)
 */

/** The rescue instances' boot disk (rescue.ts). */
const RESCUE_BOOT = { type: "pd-balanced", gb: 20 };
/** The regional quota each disk type counts against. */
const DISK_QUOTA: Record<string, string> = {
    "pd-standard": "DISKS_TOTAL_GB",
    "pd-balanced": "SSD_TOTAL_GB",
    "pd-ssd": "SSD_TOTAL_GB",
    "pd-extreme": "SSD_TOTAL_GB",
};
/** Resource types of custom constraints that cover what the stack creates. */
const CREATED_TYPES = ["compute.googleapis.com/Instance", "compute.googleapis.com/Disk", "compute.googleapis.com/Snapshot"];
/** The API testIamPermissions is called on; the same override gcloud reads, for tests. */
const RESOURCE_MANAGER = () =>
    process.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER || "https://cloudresourcemanager.googleapis.com/";

function gc(cli: PreflightCli, project: string, op: string, args: string[]): Promise<string> {
    return cli.run({
        cloud: "gcp",
        scope: project,
        op,
        command: "gcloud",
        args: [...op.split(" "), ...args, "--format", "json", "--quiet"],
    });
}

/** The CPU quota metric of a machine type's family (E2 and N1 count against CPUS). */
export function cpuMetric(machineType: string): string {
    const family = machineType.split("-")[0];
    return ["e2", "n1", "f1", "g1"].includes(family) ? "CPUS" : `${family.toUpperCase()}_CPUS`;
}

const basename = (url: string | undefined) => (url ?? "").split("/").pop() ?? "";
const regionOf = (zone: string) => zone.replace(/-[a-z]$/, "");

type Quota = { metric?: string; limit?: number; usage?: number };

/** Boot disk size and type of each instance of the project the plan names, by `zone/instance`. */
async function bootDisks(cli: PreflightCli, project: string): Promise<Map<string, { gb: number; type: string }>> {
    type Instance = { name: string; zone: string; disks?: { boot?: boolean; source?: string }[] };
    type Disk = { name: string; zone?: string; sizeGb?: string; type?: string; selfLink?: string };
    const [instances, disks] = await Promise.all([
        gc(cli, project, "compute instances list", ["--project", project]).then((o) => parseJson<Instance[]>(o, [])),
        gc(cli, project, "compute disks list", ["--project", project]).then((o) => parseJson<Disk[]>(o, [])),
    ]);
    const bySource = new Map(disks.map((d) => [`${basename(d.zone)}/${d.name}`, d]));
    const out = new Map<string, { gb: number; type: string }>();
    for (const i of instances) {
        const boot = i.disks?.find((d) => d.boot)?.source ?? "";
        const parts = boot.split("/");
        const disk = bySource.get(`${parts[parts.length - 3]}/${parts[parts.length - 1]}`);
        if (disk) out.set(`${basename(i.zone)}/${i.name}`, { gb: Number(disk.sizeGb ?? 0), type: basename(disk.type) });
    }
    return out;
}

async function quotas(
    cli: PreflightCli,
    project: string,
    region: string,
    vms: PreflightVm[],
    boots: Map<string, { gb: number; type: string }> | undefined,
    config: GcpConfig,
): Promise<PreflightFinding[]> {
    const base = { cloud: "gcp", scope: `${project}/${region}` };
    const findings: PreflightFinding[] = [];
    try {
        const regional =
            parseJson<{ quotas?: Quota[] }>(await gc(cli, project, "compute regions describe", [region, "--project", project]), {})
                .quotas ?? [];
        const quota = (metric: string) => regional.find((q) => q.metric === metric);
        const rescues = rescueCount(vms);
        if (rescues > 0) {
            const zone = vms.find((v) => v.rescue)!.fields.zone;
            const type = parseJson<{ guestCpus?: number }>(
                await gc(cli, project, "compute machine-types describe", [config.rescueMachineType, "--zone", zone, "--project", project]),
                {},
            );
            const metric = cpuMetric(config.rescueMachineType);
            const q = quota(metric);
            if (!type.guestCpus)
                findings.push({
                    ...base,
                    check: "quota",
                    verdict: "fail",
                    message: `${config.rescueMachineType} is not offered in ${zone}: set gcpRescueMachineType`,
                });
            else if (q?.limit === undefined)
                findings.push({
                    ...base,
                    check: "quota",
                    verdict: "not-checked",
                    message: `no ${metric} quota reported in ${region}: check it by hand (${rescues * type.guestCpus} vCPUs needed)`,
                });
            else
                findings.push(
                    quotaFinding(
                        base,
                        `${metric} (${rescues} × ${config.rescueMachineType}, ${type.guestCpus} each)`,
                        rescues * type.guestCpus,
                        q.usage ?? 0,
                        q.limit,
                    ),
                );
        }
        const needGb: Record<string, number> = rescues > 0 ? { [DISK_QUOTA[RESCUE_BOOT.type]]: rescues * RESCUE_BOOT.gb } : {};
        const unknown: string[] = [];
        for (const v of vms.filter((x) => x.newDisks > 0)) {
            const boot = boots?.get(`${v.fields.zone}/${v.fields.instance}`);
            const metric = boot && DISK_QUOTA[boot.type];
            if (!boot) unknown.push(v.label);
            else if (!metric)
                findings.push({
                    ...base,
                    check: "quota",
                    verdict: "not-checked",
                    message: `${v.label}: no known regional quota for ${boot.type} disks; check it by hand`,
                });
            else needGb[metric] = (needGb[metric] ?? 0) + v.newDisks * boot.gb;
        }
        if (unknown.length > 0)
            findings.push({
                ...base,
                check: "quota",
                verdict: "not-checked",
                message: `boot disk not found for ${unknown.length} VM(s), not counted in disk quotas (first: ${unknown[0]})`,
            });
        for (const [metric, gb] of Object.entries(needGb)) {
            const q = quota(metric);
            if (q?.limit === undefined)
                findings.push({
                    ...base,
                    check: "quota",
                    verdict: "not-checked",
                    message: `no ${metric} quota reported in ${region}: check it by hand (${gb} GB needed)`,
                });
            else findings.push(quotaFinding(base, metric, gb, q.usage ?? 0, q.limit, " GB"));
        }
    } catch (err) {
        findings.push({
            ...base,
            check: "quota",
            verdict: "not-checked",
            message: notCheckedBecause("regional quotas could not be read", err),
        });
    }
    return findings;
}

async function snapshotQuota(cli: PreflightCli, project: string, snapshots: number): Promise<PreflightFinding[]> {
    if (snapshots === 0) return [];
    const base = { cloud: "gcp", scope: project };
    try {
        const q = (
            parseJson<{ quotas?: Quota[] }>(await gc(cli, project, "compute project-info describe", ["--project", project]), {}).quotas ??
            []
        ).find((x) => x.metric === "SNAPSHOTS");
        if (q?.limit === undefined)
            return [{ ...base, check: "quota", verdict: "not-checked", message: "no SNAPSHOTS quota reported: check it by hand" }];
        return [quotaFinding(base, "snapshots", snapshots, q.usage ?? 0, q.limit)];
    } catch (err) {
        return [
            { ...base, check: "quota", verdict: "not-checked", message: notCheckedBecause("the project's quotas could not be read", err) },
        ];
    }
}

/** The label keys a constraint's CEL condition tests: `'k' in resource.labels`, `resource.labels['k']`, `resource.labels.k`. */
export function labelKeysOf(condition: string): string[] {
    const keys = new Set<string>();
    for (const m of condition.matchAll(
        /['"]([a-z][a-z0-9_-]{0,62})['"]\s+in\s+resource\.labels|resource\.labels\[\s*['"]([a-z][a-z0-9_-]{0,62})['"]\s*\]|resource\.labels\.([a-z][a-z0-9_]{0,62})/g,
    ))
        keys.add(m[1] ?? m[2] ?? m[3]);
    return [...keys];
}

async function labelPolicies(cli: PreflightCli, project: string, labels: Record<string, string>): Promise<PreflightFinding[]> {
    const base = { cloud: "gcp", scope: project, check: "tags" as const };
    try {
        const policies = parseJson<Record<string, unknown>[]>(await gc(cli, project, "org-policies list", ["--project", project]), []);
        const custom = [...new Set(policies.flatMap((p) => JSON.stringify(p).match(/custom\.[A-Za-z0-9]{1,70}/g) ?? []))];
        if (custom.length === 0) return [{ ...base, verdict: "ok", message: "no custom constraint is set on the project" }];
        const ancestors = parseJson<{ id?: string; type?: string }[]>(await gc(cli, project, "projects get-ancestors", [project]), []);
        const org = ancestors.find((a) => a.type === "organization")?.id;
        if (!org)
            return [
                {
                    ...base,
                    verdict: "not-checked",
                    message: `custom constraints ${custom.join(", ")} are set, but the project's organization could not be read`,
                },
            ];
        const findings: PreflightFinding[] = [];
        for (const name of custom) {
            const c = parseJson<{ condition?: string; resourceTypes?: string[]; actionType?: string }>(
                await gc(cli, project, "org-policies describe-custom-constraint", [name, "--organization", org]),
                {},
            );
            if (!(c.resourceTypes ?? []).some((t) => CREATED_TYPES.includes(t))) continue;
            const keys = labelKeysOf(c.condition ?? "");
            if (keys.length === 0) continue;
            const missing = keys.filter((k) => !(k in labels));
            const condition = (c.condition ?? "").slice(0, 200);
            if (missing.length > 0)
                findings.push({
                    ...base,
                    verdict: "fail",
                    message: `${name} (${c.actionType ?? "?"} when ${condition}) tests labels ${missing.join(", ")}, which the stack's labels lack: add them to gcpLabels (or tags)`,
                });
            else
                findings.push({
                    ...base,
                    verdict: "ok",
                    message: `${name} tests labels ${keys.join(", ")}, which the stack's labels have; its condition: ${condition}`,
                });
        }
        return findings.length > 0
            ? findings
            : [
                  {
                      ...base,
                      verdict: "ok",
                      message: `no custom constraint on instances, disks or snapshots tests labels (${custom.length} read)`,
                  },
              ];
    } catch (err) {
        return [{ ...base, verdict: "not-checked", message: notCheckedBecause("the organization policies could not be read", err) }];
    }
}

/** The deployer role's permissions (components/gcp/iam/deployer-role.yaml). */
export function deployerPermissions(): string[] {
    return (parse(fs.readFileSync(path.join(__dirname, "iam", "deployer-role.yaml"), "utf8")) as { includedPermissions: string[] })
        .includedPermissions;
}

async function permissions(cli: PreflightCli, project: string, token: string): Promise<PreflightFinding> {
    const base = { cloud: "gcp", scope: project, check: "permissions" as const };
    const wanted = deployerPermissions();
    const granted = new Set<string>();
    try {
        for (const batch of chunks(wanted, 100)) {
            const url = `${RESOURCE_MANAGER().replace(/\/?$/, "/")}v1/projects/${project}:testIamPermissions`;
            const out = (await cli.fetchJson({
                cloud: "gcp",
                scope: project,
                op: "projects testIamPermissions",
                url,
                method: "POST",
                token,
                body: { permissions: batch },
            })) as { permissions?: string[] };
            for (const p of out.permissions ?? []) granted.add(p);
        }
    } catch (err) {
        return { ...base, verdict: "not-checked", message: notCheckedBecause("the caller's permissions could not be tested", err) };
    }
    const missing = wanted.filter((p) => !granted.has(p));
    if (missing.length > 0)
        return {
            ...base,
            verdict: "fail",
            message: `the caller lacks ${missing.length} of ${wanted.length} permissions the stack uses: ${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ", …" : ""}; grant components/gcp/iam/deployer-role.yaml`,
        };
    return { ...base, verdict: "ok", message: `the caller holds all ${wanted.length} permissions the stack uses` };
}

async function check(need: PreflightNeed, cli: PreflightCli): Promise<PreflightFinding[]> {
    const config = need.config as GcpConfig;
    const byProject = new Map<string, PreflightVm[]>();
    for (const vm of need.vms) byProject.set(vm.fields.project, [...(byProject.get(vm.fields.project) ?? []), vm]);
    let token: string | undefined;
    let tokenError: unknown;
    try {
        token = (
            await cli.run({
                cloud: "gcp",
                scope: "",
                op: "auth print-access-token",
                command: "gcloud",
                args: ["auth", "print-access-token", "--quiet"],
            })
        ).trim();
        if (!token) tokenError = new Error("gcloud printed no token");
    } catch (err) {
        tokenError = err;
    }
    const results = await Promise.all(
        [...byProject].map(async ([project, vms]) => {
            let boots: Map<string, { gb: number; type: string }> | undefined;
            const findings: PreflightFinding[] = [];
            try {
                boots = await bootDisks(cli, project);
            } catch (err) {
                findings.push({
                    cloud: "gcp",
                    scope: project,
                    check: "quota",
                    verdict: "not-checked",
                    message: notCheckedBecause("the boot disks could not be listed; disk quotas not checked", err),
                });
            }
            const byRegion = new Map<string, PreflightVm[]>();
            for (const vm of vms) byRegion.set(regionOf(vm.fields.zone), [...(byRegion.get(regionOf(vm.fields.zone)) ?? []), vm]);
            const more = await Promise.all([
                ...[...byRegion].map(([region, at]) => quotas(cli, project, region, at, boots, config)),
                snapshotQuota(
                    cli,
                    project,
                    vms.reduce((n, v) => n + v.snapshots, 0),
                ),
                labelPolicies(cli, project, config.labels),
                token
                    ? permissions(cli, project, token).then((f) => [f])
                    : Promise.resolve<PreflightFinding[]>([
                          {
                              cloud: "gcp",
                              scope: project,
                              check: "permissions",
                              verdict: "not-checked",
                              message: notCheckedBecause("no access token from gcloud", tokenError),
                          },
                      ]),
            ]);
            return [...findings, ...more.flat()];
        }),
    );
    return results.flat();
}

export const gcpPreflight: CloudPreflight = { cloud: "gcp", check };
