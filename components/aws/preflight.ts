import * as fs from "fs";
import * as path from "path";
import {
    CloudPreflight,
    PreflightCli,
    PreflightFinding,
    PreflightNeed,
    PreflightVm,
    actionMatches,
    chunks,
    quotaFinding,
    rescueCount,
    notCheckedBecause,
} from "../tools/preflight/types";
import { parseJson } from "../gate/types";
import { AwsConfig } from "./config";
import { awsCall } from "./discover";

/**
 * AWS preflight, per account (its role from awsAssumeRoleArns, else the ambient credentials) and region:
 *   service-quotas get-service-quota   the rescue type's on-demand vCPU class, snapshots per region,
 *                                      storage per volume type (TiB)
 *   ec2 describe-instance-types        the rescue type's vCPUs
 *   ec2 describe-instances / describe-volumes / describe-snapshots   what is in use, and the
 *                                      OS volumes' sizes and types (the new volumes copy them)
 *   organizations describe-effective-policy --policy-type TAG_POLICY   the account's tag policy
 *   iam simulate-principal-policy      each statement of the deployer policy, for the deployer
 */

/** The on-demand vCPU quota of an instance type's family (Service Quotas, service ec2). */
const VCPU_QUOTAS: [RegExp, string, string][] = [
    [/^(inf)/, "L-1945791B", "Inf"],
    [/^(trn)/, "L-2C3B7624", "Trn"],
    [/^(dl)/, "L-6E869C2A", "DL"],
    [/^(hpc)/, "L-F7808C92", "HPC"],
    [/^(u-)/, "L-43DA4232", "High Memory"],
    [/^(vt|g)/, "L-DB2E81BA", "G and VT"],
    [/^f/, "L-74FC7D96", "F"],
    [/^p/, "L-417A185B", "P"],
    [/^x/, "L-7295265B", "X"],
    [/^[acdhimrtz]/, "L-1216C47A", "Standard (A, C, D, H, I, M, R, T, Z)"],
];
/** Storage per EBS volume type, in TiB (Service Quotas, service ebs). */
const STORAGE_QUOTAS: Record<string, string> = {
    gp2: "L-D18FCD1D",
    gp3: "L-7A658B76",
    io1: "L-FD252861",
    io2: "L-09BD8365",
    st1: "L-82ACEF56",
    sc1: "L-17AF77E8",
    standard: "L-9CF3C2EB",
};
const SNAPSHOTS_QUOTA = "L-309BACF6";
/** The rescue instances' root volume (rescue.ts). */
const RESCUE_ROOT = { type: "gp3", gib: 16 };
/** The resource types the stack creates, as tag policies name them. */
const CREATED_TYPES = [
    "ec2:instance",
    "ec2:volume",
    "ec2:snapshot",
    "ec2:security-group",
    "iam:role",
    "iam:instance-profile",
    "ssm:document",
    "secretsmanager:secret",
];

function quotaOf(instanceType: string): { code: string; name: string } | undefined {
    const found = VCPU_QUOTAS.find(([re]) => re.test(instanceType));
    return found && { code: found[1], name: found[2] };
}

type Scope = { account: string; role: string; region: string };

async function quotaValue(cli: PreflightCli, at: Scope, service: string, code: string): Promise<number> {
    const out = parseJson<{ Quota?: { Value?: number } }>(
        await awsCall(cli, at, "service-quotas get-service-quota", ["--service-code", service, "--quota-code", code]),
        {},
    );
    if (typeof out.Quota?.Value !== "number") throw new Error(`no value for quota ${service}/${code}`);
    return out.Quota.Value;
}

/** The OS volumes of a region's VMs: size (GiB) and type, by instance id. */
async function osVolumes(cli: PreflightCli, at: Scope, ids: string[]): Promise<Map<string, { gib: number; type: string }>> {
    const roots = new Map<string, string>();
    for (const batch of chunks(ids, 200)) {
        type Instance = {
            InstanceId: string;
            RootDeviceName?: string;
            BlockDeviceMappings?: { DeviceName: string; Ebs?: { VolumeId: string } }[];
        };
        const out = parseJson<{ Reservations?: { Instances: Instance[] }[] }>(
            await awsCall(cli, at, "ec2 describe-instances", ["--instance-ids", ...batch]),
            {},
        );
        for (const i of (out.Reservations ?? []).flatMap((r) => r.Instances)) {
            const root = i.BlockDeviceMappings?.find((b) => b.DeviceName === i.RootDeviceName)?.Ebs?.VolumeId;
            if (root) roots.set(root, i.InstanceId);
        }
    }
    const out = new Map<string, { gib: number; type: string }>();
    for (const batch of chunks([...roots.keys()], 200)) {
        const listed = parseJson<{ Volumes?: { VolumeId: string; Size: number; VolumeType: string }[] }>(
            await awsCall(cli, at, "ec2 describe-volumes", ["--volume-ids", ...batch]),
            {},
        );
        for (const v of listed.Volumes ?? []) out.set(roots.get(v.VolumeId)!, { gib: v.Size, type: v.VolumeType });
    }
    return out;
}

async function quotas(cli: PreflightCli, at: Scope, vms: PreflightVm[], config: AwsConfig): Promise<PreflightFinding[]> {
    const base = { cloud: "aws", scope: `${at.account}/${at.region}` };
    const findings: PreflightFinding[] = [];
    const attempt = async (what: string, check: () => Promise<PreflightFinding>) => {
        try {
            findings.push(await check());
        } catch (err) {
            findings.push({ ...base, check: "quota", verdict: "not-checked", message: notCheckedBecause(what, err) });
        }
    };
    const rescues = rescueCount(vms);
    const type = config.rescueInstanceType;
    const quota = quotaOf(type);
    if (rescues > 0 && !quota)
        findings.push({
            ...base,
            check: "quota",
            verdict: "not-checked",
            message: `no known on-demand vCPU quota for ${type}: check its family's quota by hand`,
        });
    if (rescues > 0 && quota) {
        await attempt(`on-demand ${quota.name} vCPUs`, async () => {
            const types = parseJson<{ InstanceTypes?: { VCpuInfo?: { DefaultVCpus?: number } }[] }>(
                await awsCall(cli, at, "ec2 describe-instance-types", ["--instance-types", type]),
                {},
            );
            const vcpus = types.InstanceTypes?.[0]?.VCpuInfo?.DefaultVCpus;
            if (!vcpus) throw new Error(`${type} is not offered in ${at.region}`);
            const running = parseJson<[string, number, number][]>(
                await awsCall(cli, at, "ec2 describe-instances", [
                    "--filters",
                    "Name=instance-state-name,Values=pending,running",
                    "--query",
                    "Reservations[].Instances[].[InstanceType,CpuOptions.CoreCount,CpuOptions.ThreadsPerCore]",
                ]),
                [],
            );
            const used = running
                .filter(([t]) => quotaOf(t)?.code === quota.code)
                .reduce((n, [, cores, threads]) => n + (cores ?? 0) * (threads ?? 1), 0);
            return quotaFinding(
                base,
                `on-demand ${quota.name} vCPUs (${rescues} × ${type}, ${vcpus} each)`,
                rescues * vcpus,
                used,
                await quotaValue(cli, at, "ec2", quota.code),
            );
        });
    }
    const snapshots = vms.reduce((n, v) => n + v.snapshots, 0);
    if (snapshots > 0) {
        await attempt("snapshots per region", async () => {
            const used = parseJson<number>(
                await awsCall(cli, at, "ec2 describe-snapshots", ["--owner-ids", "self", "--query", "length(Snapshots)"]),
                0,
            );
            return quotaFinding(base, "EBS snapshots per region", snapshots, used, await quotaValue(cli, at, "ebs", SNAPSHOTS_QUOTA));
        });
    }
    const disks = vms.filter((v) => v.newDisks > 0);
    if (disks.length > 0 || rescues > 0) {
        await attempt("EBS storage", async () => {
            const sizes = await osVolumes(
                cli,
                at,
                disks.map((v) => v.fields.instanceId),
            );
            const needGib: Record<string, number> = rescues > 0 ? { [RESCUE_ROOT.type]: rescues * RESCUE_ROOT.gib } : {};
            const unknown = disks.filter((v) => !sizes.has(v.fields.instanceId)).map((v) => v.label);
            for (const v of disks) {
                const s = sizes.get(v.fields.instanceId);
                if (s) needGib[s.type] = (needGib[s.type] ?? 0) + v.newDisks * s.gib;
            }
            for (const [volumeType, gib] of Object.entries(needGib)) {
                const code = STORAGE_QUOTAS[volumeType];
                if (!code) {
                    findings.push({
                        ...base,
                        check: "quota",
                        verdict: "not-checked",
                        message: `no known storage quota for ${volumeType} volumes (${gib} GiB needed)`,
                    });
                    continue;
                }
                const used =
                    parseJson<number | null>(
                        await awsCall(cli, at, "ec2 describe-volumes", [
                            "--filters",
                            `Name=volume-type,Values=${volumeType}`,
                            "--query",
                            "sum(Volumes[].Size)",
                        ]),
                        0,
                    ) ?? 0;
                findings.push(
                    quotaFinding(base, `${volumeType} storage`, gib / 1024, used / 1024, await quotaValue(cli, at, "ebs", code), " TiB"),
                );
            }
            if (unknown.length > 0)
                return {
                    ...base,
                    check: "quota",
                    verdict: "not-checked",
                    message: `OS volume not found for ${unknown.length} VM(s), not counted in storage (first: ${unknown[0]})`,
                };
            return { ...base, check: "quota", verdict: "ok", message: `OS volumes of ${sizes.size} VM(s) read for the storage checks` };
        });
    }
    return findings;
}

/** A value of an effective tag policy: plain (effective policies) or under `@@assign` (policy documents). */
function assigned<T>(v: unknown): T | undefined {
    return (v && typeof v === "object" && !Array.isArray(v) && "@@assign" in v ? (v as Record<string, unknown>)["@@assign"] : v) as
        T | undefined;
}

/** Whether a tag value fits a tag policy's allowed values (a trailing `*` is a prefix match). */
function allowedValue(value: string, allowed: readonly string[]): boolean {
    return allowed.some((a) => (a.endsWith("*") ? value.startsWith(a.slice(0, -1)) : value === a));
}

async function tagPolicy(cli: PreflightCli, at: Scope, tags: Record<string, string>): Promise<PreflightFinding[]> {
    const base = { cloud: "aws", scope: at.account, check: "tags" as const };
    let content: string;
    try {
        const out = parseJson<{ EffectivePolicy?: { PolicyContent?: string } }>(
            await awsCall(cli, at, "organizations describe-effective-policy", ["--policy-type", "TAG_POLICY"]),
            {},
        );
        content = out.EffectivePolicy?.PolicyContent ?? "{}";
    } catch (err) {
        const text = String((err as Error).message);
        if (/EffectivePolicyNotFoundException|AWSOrganizationsNotInUseException/.test(text))
            return [{ ...base, verdict: "ok", message: "no tag policy applies to this account" }];
        return [{ ...base, verdict: "not-checked", message: notCheckedBecause("the effective tag policy could not be read", err) }];
    }
    const policy = parseJson<{ tags?: Record<string, Record<string, unknown>> }>(content, {});
    const findings: PreflightFinding[] = [];
    for (const [name, rule] of Object.entries(policy.tags ?? {})) {
        const key = assigned<string>(rule.tag_key) ?? name;
        const enforced = (assigned<string[]>(rule.enforced_for) ?? []).filter(
            (t) => CREATED_TYPES.includes(t) || CREATED_TYPES.some((c) => t === `${c.split(":")[0]}:ALL_SUPPORTED`),
        );
        const reported = (assigned<string[]>(rule.report_required_tag_for) ?? []).filter(
            (t) => CREATED_TYPES.includes(t) || CREATED_TYPES.some((c) => t === `${c.split(":")[0]}:ALL_SUPPORTED`),
        );
        if (enforced.length === 0 && reported.length === 0) continue;
        const ours = Object.keys(tags).find((k) => k.toLowerCase() === key.toLowerCase());
        const values = assigned<string[]>(rule.tag_value);
        const where = [...new Set([...enforced, ...reported])].join(", ");
        if (ours === undefined) {
            findings.push({
                ...base,
                verdict: "warn",
                message: `the tag policy asks for ${key} on ${where}; the stack's tags lack it: add it to tags (or awsTags)`,
            });
        } else if (ours !== key && enforced.length > 0) {
            findings.push({
                ...base,
                verdict: "fail",
                message: `the tag policy enforces the key's spelling ${key} on ${enforced.join(", ")}; the stack's tags spell it ${ours}, which AWS refuses`,
            });
        } else if (values && !allowedValue(tags[ours], values)) {
            findings.push({
                ...base,
                verdict: enforced.length > 0 ? "fail" : "warn",
                message: `${key}=${tags[ours]} is not among the values the tag policy allows (${values.slice(0, 10).join(", ")}) on ${where}`,
            });
        } else {
            findings.push({ ...base, verdict: "ok", message: `${key} fits the tag policy on ${where}` });
        }
    }
    if (findings.length === 0) findings.push({ ...base, verdict: "ok", message: "the tag policy names no key for what the stack creates" });
    return findings;
}

type Statement = {
    Effect: string;
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
    Sid?: string;
};

/** The deployer policy's statements (components/aws/iam/deployer-policy.json). */
export function deployerStatements(): Statement[] {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, "iam", "deployer-policy.json"), "utf8")) as { Statement: Statement[] })
        .Statement;
}

/** An ARN pattern of the policy made concrete for the simulator: region and account filled, other wildcards a sample name. */
function sampleArn(pattern: string, at: Scope, partition: string): string {
    if (pattern === "*") return "*";
    const parts = pattern.split(":");
    parts[1] = partition;
    if (parts[3] === "*") parts[3] = at.region;
    if (parts[4] === "*") parts[4] = at.account;
    return parts.join(":").replace(/\*/g, "preflight");
}

/** The condition values the stack's own requests carry, so the simulator sees a statement as the stack uses it. */
function contextOf(s: Statement, at: Scope): { ContextKeyName: string; ContextKeyValues: string[]; ContextKeyType: string }[] {
    const out: { ContextKeyName: string; ContextKeyValues: string[]; ContextKeyType: string }[] = [];
    for (const entries of Object.values(s.Condition ?? {})) {
        for (const [key, value] of Object.entries(entries)) {
            const v = [value].flat()[0].replace(/\*/g, at.region);
            out.push({ ContextKeyName: key, ContextKeyValues: [v], ContextKeyType: "string" });
        }
    }
    return out;
}

async function permissions(cli: PreflightCli, at: Scope): Promise<PreflightFinding[]> {
    const base = { cloud: "aws", scope: at.account, check: "permissions" as const };
    let principal = at.role;
    try {
        if (!principal) {
            const caller = parseJson<{ Arn?: string }>(await awsCall(cli, at, "sts get-caller-identity", []), {}).Arn ?? "";
            const assumed = /^arn:(aws[a-z-]*):sts::\d{12}:assumed-role\/([\w+=,.@-]+)\//.exec(caller);
            principal = assumed
                ? (parseJson<{ Role?: { Arn?: string } }>(await awsCall(cli, at, "iam get-role", ["--role-name", assumed[2]]), {}).Role
                      ?.Arn ?? "")
                : caller;
        }
    } catch (err) {
        return [{ ...base, verdict: "not-checked", message: notCheckedBecause("the deployer's identity could not be read", err) }];
    }
    const partition = principal.split(":")[1] || "aws";
    const denied: string[] = [];
    let checked = 0;
    try {
        for (const s of deployerStatements().filter((x) => x.Effect === "Allow")) {
            const actions = [s.Action].flat();
            const resources = [...new Set([s.Resource].flat().map((r) => sampleArn(r, at, partition)))];
            const context = contextOf(s, at);
            const out = parseJson<{ EvaluationResults?: { EvalActionName: string; EvalDecision: string }[] }>(
                await awsCall(cli, at, "iam simulate-principal-policy", [
                    "--policy-source-arn",
                    principal,
                    "--action-names",
                    ...actions,
                    ...(resources.includes("*") ? [] : ["--resource-arns", ...resources]),
                    ...(context.length > 0 ? ["--context-entries", JSON.stringify(context)] : []),
                ]),
                {},
            );
            for (const r of out.EvaluationResults ?? []) {
                checked++;
                if (r.EvalDecision !== "allowed")
                    denied.push(`${r.EvalActionName} (${r.EvalDecision}${s.Sid ? `, statement ${s.Sid}` : ""})`);
            }
        }
    } catch (err) {
        return [
            { ...base, verdict: "not-checked", message: notCheckedBecause(`the permissions of ${principal} could not be simulated`, err) },
        ];
    }
    if (denied.length > 0)
        return [
            {
                ...base,
                verdict: "fail",
                message: `${principal} lacks ${denied.length} of ${checked} actions the stack uses: ${denied.slice(0, 8).join(", ")}${denied.length > 8 ? ", …" : ""}; attach components/aws/iam/deployer-policy.json`,
            },
        ];
    return [
        {
            ...base,
            verdict: "ok",
            message: `${principal} may do all ${checked} actions the stack uses (IAM policies; service control policies are not simulated)`,
        },
    ];
}

async function check(need: PreflightNeed, cli: PreflightCli): Promise<PreflightFinding[]> {
    const config = need.config as AwsConfig;
    const scopes = new Map<string, { at: Scope; vms: PreflightVm[] }>();
    for (const vm of need.vms) {
        const account = vm.fields.accountId ?? "";
        const key = `${account}/${vm.fields.region}`;
        if (!scopes.has(key))
            scopes.set(key, { at: { account, role: config.assumeRoleArns[account] ?? "", region: vm.fields.region }, vms: [] });
        scopes.get(key)!.vms.push(vm);
    }
    // The ambient account's id, for messages and the simulator's ARNs.
    const ambient = [...scopes.values()].find((s) => !s.at.account);
    if (ambient) {
        const caller = parseJson<{ Account?: string }>(await awsCall(cli, ambient.at, "sts get-caller-identity", []), {}).Account ?? "";
        for (const s of scopes.values()) if (!s.at.account) s.at.account = caller;
    }
    const accounts = new Map([...scopes.values()].map((s) => [s.at.account, s.at]));
    const results = await Promise.all([
        ...[...scopes.values()].map((s) => quotas(cli, s.at, s.vms, config)),
        ...[...accounts.values()].map((at) => tagPolicy(cli, at, config.tags)),
        ...[...accounts.values()].map((at) => permissions(cli, at)),
    ]);
    return results.flat();
}

/** Whether a deployer statement's action patterns cover `action` (for tests and the README). */
export function deployerAllows(action: string): boolean {
    return deployerStatements().some((s) => s.Effect === "Allow" && [s.Action].flat().some((p) => actionMatches(p, action)));
}

export const awsPreflight: CloudPreflight = { cloud: "aws", check };
