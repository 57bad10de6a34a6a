import {
    bootVerdict,
    CloudDiscovery,
    consoleVerdict,
    DiscoveryCli,
    DiscoveryScope,
    ListedVm,
    OptionError,
    OutputRead,
    ScopeRequest,
    unreadable,
} from "../tools/discovery/types";
import { CliError, parseJson } from "../gate/types";
import { readAwsConfig } from "./config";
import { autoScalingGroup } from "./identity";
import { awsWatch } from "./watch";

/**
 * AWS discovery, per account (its role from the stack's `awsAssumeRoleArns`) and region:
 *   ec2 describe-instances        Windows instances (platform filter; every instance with --guests linux), every page in one call
 *   ec2 describe-instance-status  the status checks of the region's running instances, one call
 *   autoscaling describe-auto-scaling-instances   Auto Scaling members, only where Windows VMs are
 *   ec2 get-console-output --latest   per instance, only where the listing and the Falcon export
 *                                 leave a question: a stop error or the boot marker
 * plus, once per account, sts get-caller-identity (the ambient account), iam list-account-aliases
 * (its name) and ec2 describe-regions (its enabled regions).
 */
const REGION = /^[a-z]{2}(-gov|-iso|-isob)?-[a-z]+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;

type Instance = {
    InstanceId: string;
    State: { Name: string };
    Placement?: { AvailabilityZone?: string };
    Platform?: string;
    RootDeviceType?: string;
    PrivateDnsName?: string;
    Tags?: { Key: string; Value: string }[];
};
type Status = {
    InstanceId: string;
    InstanceStatus?: { Status?: string; Details?: { Name: string; Status: string }[] };
    SystemStatus?: { Status?: string };
};

function home(request: ScopeRequest): string {
    return request.options["--regions"]?.[0] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
}

/** One read-only aws call in a region, through the role of its account if it has one. */
export async function awsCall(cli: DiscoveryCli, scope: { role: string; region: string }, op: string, args: string[]): Promise<string> {
    const env = scope.role ? await awsWatch.scopeEnv!({ role: scope.role, region: scope.region }, cli) : undefined;
    const [service, action] = op.split(" ");
    return cli.run({
        cloud: "aws",
        scope: `${scope.role || "default"}/${scope.region}`,
        op,
        command: "aws",
        args: ["--region", scope.region, "--output", "json", service, action, ...args],
        env,
    });
}

async function scopes(request: ScopeRequest, cli: DiscoveryCli): Promise<DiscoveryScope[]> {
    const { assumeRoleArns: roles, bootMarker, linuxBootMarker } = readAwsConfig(request.config, request.stackFile);
    const guests = (request.guests ?? ["windows"]).join(",");
    const region = home(request);
    const wanted = request.options["--accounts"];
    // Accounts without a role are reached with the ambient credentials: they must be its account.
    let ambient: string | undefined;
    if (!wanted || wanted.some((a) => !roles[a])) {
        ambient = parseJson<{ Account?: string }>(await awsCall(cli, { role: "", region }, "sts get-caller-identity", []), {}).Account;
    }
    const accounts = wanted ?? [ambient ?? ""];
    for (const a of accounts) {
        if (!roles[a] && a !== ambient) {
            throw new OptionError(
                `--accounts: account ${a} has no role in awsAssumeRoleArns${request.stackFile ? ` of ${request.stackFile}` : " (give --stack NAME to use a stack's roles)"}, and the ambient credentials are account ${ambient ?? "unknown"}`,
            );
        }
    }
    const out: DiscoveryScope[] = [];
    for (const account of accounts) {
        const role = roles[account] ?? "";
        const aliases =
            parseJson<{ AccountAliases?: string[] }>(await awsCall(cli, { role, region }, "iam list-account-aliases", []), {})
                .AccountAliases ?? [];
        let regions = request.options["--regions"];
        if (!regions) {
            const listed =
                parseJson<{ Regions?: { RegionName: string }[] }>(await awsCall(cli, { role, region }, "ec2 describe-regions", []), {})
                    .Regions ?? [];
            regions = listed
                .map((r) => r.RegionName)
                .filter((r) => REGION.test(r))
                .sort();
        }
        for (const r of regions)
            out.push({
                cloud: "aws",
                scope: account,
                scopeName: aliases[0] ?? "",
                region: r,
                fields: { role, marker: bootMarker, linuxMarker: linuxBootMarker, guests },
            });
    }
    return out;
}

function tag(i: Instance, key: string): string | undefined {
    return i.Tags?.find((t) => t.Key === key)?.Value;
}

async function list(scope: DiscoveryScope, cli: DiscoveryCli): Promise<{ vms: ListedVm[] }> {
    const at = { role: scope.fields.role, region: scope.region };
    // Windows instances only, filtered by EC2 (the default); with Linux guests asked for, every
    // instance, a Linux one being any that is not Windows (EC2's platform filter knows only windows).
    const guests = (scope.fields.guests ?? "windows").split(",");
    const linux = guests.includes("linux");
    const listed = parseJson<{ Reservations?: { Instances: Instance[] }[] }>(
        await awsCall(cli, at, "ec2 describe-instances", [
            "--filters",
            ...(linux ? [] : ["Name=platform,Values=windows"]),
            "Name=instance-state-name,Values=pending,running,stopping,stopped",
        ]),
        {},
    );
    const isWindows = (i: Instance) => (i.Platform ?? "").toLowerCase() === "windows";
    const instances = (listed.Reservations ?? [])
        .flatMap((r) => r.Instances)
        .filter((i) => (isWindows(i) ? guests.includes("windows") : linux));
    if (instances.length === 0) return { vms: [] };
    const statuses =
        parseJson<{ InstanceStatuses?: Status[] }>(await awsCall(cli, at, "ec2 describe-instance-status", []), {}).InstanceStatuses ?? [];
    const statusOf = new Map(statuses.map((s) => [s.InstanceId, s]));
    const members =
        parseJson<{ AutoScalingInstances?: { InstanceId: string; AutoScalingGroupName: string }[] }>(
            await awsCall(cli, at, "autoscaling describe-auto-scaling-instances", []),
            {},
        ).AutoScalingInstances ?? [];
    const groupOf = new Map(members.map((m) => [m.InstanceId, m.AutoScalingGroupName]));
    const vms = instances.map((i): ListedVm => {
        const state = i.State.Name;
        const s = statusOf.get(i.InstanceId);
        const signals: string[] = [];
        let health: ListedVm["health"] = "unknown";
        if (state === "running" && s) {
            const instance = s.InstanceStatus?.Status ?? "";
            const system = s.SystemStatus?.Status ?? "";
            const unreachable = (s.InstanceStatus?.Details ?? []).some((d) => d.Name === "reachability" && d.Status === "failed");
            if (instance === "impaired" || unreachable) {
                health = "failing";
                signals.push(
                    system === "ok"
                        ? "system reachable, instance status check failed (the guest does not answer)"
                        : "instance status check impaired",
                );
            } else if (instance === "ok" && system === "ok") {
                health = "healthy";
            } else {
                signals.push(`status checks ${instance || "none"}/${system || "none"}`);
            }
        }
        const group = groupOf.get(i.InstanceId) ?? tag(i, "aws:autoscaling:groupName");
        const name = tag(i, "Name") ?? i.InstanceId;
        const zone = i.Placement?.AvailabilityZone ?? "";
        return {
            cloud: "aws",
            ...(isWindows(i) ? {} : { os: "linux" as const }),
            fields: { region: scope.region, instanceId: i.InstanceId, accountId: scope.scope, ...(zone ? { availabilityZone: zone } : {}) },
            scope: scope.scope,
            scopeName: scope.scopeName,
            region: scope.region,
            zone,
            name: name === i.InstanceId ? i.InstanceId : `${name} (${i.InstanceId})`,
            hostnames: [name, i.PrivateDnsName ?? ""].filter(Boolean).map((h) => h.toLowerCase()),
            instanceIds: [i.InstanceId.toLowerCase()],
            power: state === "running" ? "running" : state === "stopped" ? "stopped" : "other",
            powerState: state,
            ...(group ? { scaleGroup: autoScalingGroup(group) } : {}),
            ...(i.RootDeviceType === "instance-store"
                ? { noRescuePath: "its root device is an instance store, which has no volume to repair offline" }
                : {}),
            health,
            signals,
            readable: true,
            memo: {},
        };
    });
    return { vms };
}

async function read(vm: ListedVm, scope: DiscoveryScope, cli: DiscoveryCli): Promise<OutputRead> {
    const at = { role: scope.fields.role, region: scope.region };
    const id = vm.fields.instanceId;
    let text: string;
    try {
        text = await awsCall(cli, at, "ec2 get-console-output", ["--instance-id", id, "--latest"]);
    } catch (err) {
        // Xen instances have no --latest: their console output is the last one buffered.
        if (!(err instanceof CliError) || err.transient || !/latest/i.test(err.message)) return unreadable("console output", err);
        try {
            text = await awsCall(cli, at, "ec2 get-console-output", ["--instance-id", id]);
        } catch (again) {
            return unreadable("console output", again);
        }
    }
    const output = parseJson<{ Output?: string }>(text, {}).Output ?? "";
    if (vm.os === "linux") return consoleVerdict(output, "linux", new RegExp(scope.fields.linuxMarker), "in the console output");
    const { bugcheck, booted } = bootVerdict(output, new RegExp(scope.fields.marker));
    return {
        bugcheck,
        booted,
        signals:
            output === ""
                ? ["no console output"]
                : bugcheck
                  ? ["a Windows stop error in the console output"]
                  : booted
                    ? []
                    : ["no boot marker in the console output"],
    };
}

export const awsDiscovery: CloudDiscovery = {
    cloud: "aws",
    scopeLabel: "account",
    options: [
        {
            flag: "--accounts",
            pattern: ACCOUNT,
            expected: "12-digit account ids",
            help: "AWS accounts (default: the ambient credentials' account); others need a role in the stack's awsAssumeRoleArns (--stack)",
        },
        {
            flag: "--regions",
            pattern: REGION,
            expected: "AWS regions such as us-east-1",
            help: "AWS regions (default: every region enabled in each account)",
        },
    ],
    readActions: [
        "sts:GetCallerIdentity",
        "iam:ListAccountAliases",
        "ec2:DescribeRegions",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "autoscaling:DescribeAutoScalingInstances",
        "ec2:GetConsoleOutput",
    ],
    scopes,
    list,
    read,
};
