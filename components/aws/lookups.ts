import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { hexId, shortHash } from "../core/contract/identity";
import { VmEntry } from "../core/contract/vm";
import { scaleGroupMember } from "../core/contract/scale-group";
import { autoScalingGroup } from "./identity";
import { Resolved, RestoreLookup } from "../core/contract/cloud-path";
import { chooseRestorePoint, listRestorePoints, markedRestorePoint, offlineRestorePoints } from "../core/restore-point";
import { RestoreListings } from "../core/restore-listings";
import { REMEDIES } from "../core/contract/remedies";
import { AwsConfig } from "./config";
import { awsScript } from "./scripts";
import { offlineRestoreAnswer, withPlaceholders } from "../tools/offline/placeholders";

/** What the steps need to know about an instance, found by lookup (strings, as facts are). */
export interface AwsFacts {
    /** The root EBS volume the instance runs on now (the original, or a volume of ours after a swap; "none" when a swap was interrupted with none attached). */
    currentRootVolumeId: string;
    /** Device name of the root volume (e.g. /dev/sda1), where the fixed volume is attached. */
    rootDeviceName: string;
    /** Subnet the rescue instance of this zone goes into. */
    subnetId: string;
    /** VPC of that subnet (for the rescue security group). */
    vpcId: string;
    /** Root volume type, IOPS, throughput and encryption, copied to the scratch and fixed volumes. */
    volumeType: string;
    iops: string;
    throughput: string;
    encrypted: string;
    kmsKeyId: string;
}

/**
 * Looks up an instance: its AZ, root volume and subnet, and the account the provider acts in.
 * An AZ given in the inventory is passed as a filter, so a mismatch is an error, not a guess.
 * A restore point is searched for in the run's `listings` (one per account, region and role).
 */
export async function lookUpInstance(
    vm: VmEntry,
    provider: aws.Provider,
    account: Promise<string>,
    config: AwsConfig,
    listings: RestoreListings,
    restore?: RestoreLookup,
): Promise<Resolved> {
    const region = vm.fields.region;
    const opts: pulumi.InvokeOptions = { provider };
    const filters = vm.fields.availabilityZone ? [{ name: "availability-zone", values: [vm.fields.availabilityZone] }] : undefined;
    const found = await aws.ec2.getInstance({ instanceId: vm.fields.instanceId, region, filters }, opts);
    const group = found.tags?.["aws:autoscaling:groupName"];
    if (group) throw scaleGroupMember(autoScalingGroup(group));
    const attached = (found.rootBlockDevices ?? [])[0];
    const root: RootVolume = attached?.volumeId ? attached : await detachedRoot(vm, opts);
    const original = root.original ?? originalVolume(root.volumeId, root.tags ?? {});
    // Values the inventory pins must be what the instance has: a mismatch stops, it is never guessed.
    for (const [field, found_] of [
        ["rootVolumeId", original],
        ["rootDeviceName", root.deviceName],
    ] as const) {
        if (vm.fields[field] && vm.fields[field] !== found_)
            throw new Error(`its ${field} is ${found_}, not ${vm.fields[field]} as the inventory says`);
    }
    const zone = found.availabilityZone;
    const subnetId = vm.fields.subnetId ?? config.rescueSubnetIds[zone] ?? found.subnetId;
    const subnet = await aws.ec2.getSubnet({ id: subnetId, region }, opts);
    const facts: AwsFacts = {
        currentRootVolumeId: root.volumeId,
        rootDeviceName: root.deviceName,
        subnetId,
        vpcId: subnet.vpcId,
        volumeType: root.volumeType || "gp3",
        iops: String(root.iops ?? ""),
        throughput: String(root.throughput ?? ""),
        encrypted: String(Boolean(root.encrypted)),
        kmsKeyId: root.kmsKeyId ?? "",
    };
    const scope = vm.fields.accountId ?? (await account);
    const marks = root.tags ?? {};
    const restorePoint =
        restore &&
        ((marks["bootloop-rescue:role"] === "restored"
            ? markedRestorePoint(marks["bootloop-rescue:restored-from"], marks["bootloop-rescue:restore-point-taken"])
            : undefined) ??
            (await findRestorePoint(vm, original, restore.before, { account: scope, role: config.assumeRoleArns[scope] }, listings)));
    return { placement: { scope, region, zone }, originalDiskId: original, facts: { ...facts }, restorePoint };
}

/** A root device as the steps need it: the volume on it ("none" mid-swap), with its settings. */
interface RootVolume {
    volumeId: string;
    deviceName: string;
    volumeType?: string;
    iops?: number;
    throughput?: number;
    encrypted?: boolean;
    kmsKeyId?: string;
    tags?: Record<string, string>;
    /** Mid-swap only: the original root volume, detached and tagged for this instance. */
    original?: string;
}

/**
 * An instance without a root volume: a swap (or rollback) interrupted between detaching the
 * original and attaching the other. Its original, detached and tagged for this instance by the
 * swap, lets the swap or rollback finish; without one the instance has no EBS root we know of.
 */
async function detachedRoot(vm: VmEntry, opts: pulumi.InvokeOptions): Promise<RootVolume> {
    const id = vm.fields.instanceId;
    const region = vm.fields.region;
    const tagged = await aws.ebs.getEbsVolumes(
        {
            region,
            filters: [
                { name: "tag:bootloop-rescue:instance", values: [id] },
                { name: "tag:bootloop-rescue:role", values: ["original-root"] },
            ],
        },
        opts,
    );
    if (tagged.ids.length === 0)
        throw new Error(
            `${id} has no EBS root volume (instance-store roots cannot be repaired offline), and no original root volume detached by bootloop-rescue is tagged for it`,
        );
    if (tagged.ids.length > 1)
        throw new Error(
            `${id} has no root volume, and several volumes are tagged as its original root (${[...tagged.ids].sort().join(", ")}); attach the right one, or remove the tag from the others`,
        );
    const v = await aws.ebs.getVolume({ region, filters: [{ name: "volume-id", values: [tagged.ids[0]] }] }, opts);
    return {
        volumeId: "none",
        original: tagged.ids[0],
        // The swap notes the device; Windows AMIs on EC2 boot from /dev/sda1.
        deviceName: v.tags?.["bootloop-rescue:device"] ?? vm.fields.rootDeviceName ?? "/dev/sda1",
        volumeType: v.volumeType,
        iops: v.iops,
        throughput: v.throughput,
        encrypted: v.encrypted,
        kmsKeyId: v.kmsKeyId,
    };
}

/** Roles our fixed and restored volumes carry; such a volume names the original it replaced. */
const OURS = ["fixed", "restored"];
const VOLUME_ID = /^vol-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** The original root volume: the current one, unless that is a volume of ours, which names it. */
function originalVolume(current: string, tags: Record<string, string>): string {
    if (!OURS.includes(tags["bootloop-rescue:role"] ?? "")) return current;
    const original = tags["bootloop-rescue:original"] ?? "";
    if (!VOLUME_ID.test(original))
        throw new Error(
            `it runs on ${current}, a bootloop-rescue volume that does not name the original root volume it replaced (tag bootloop-rescue:original)`,
        );
    return original;
}

/**
 * Strategy restore: the entry's restoreFrom (looked up alone), or the newest completed snapshot of
 * the original before the cutoff, from the one listing of the account's snapshots in the region.
 */
async function findRestorePoint(
    vm: VmEntry,
    original: string,
    before: string,
    scope: { account: string; role: string | undefined },
    listings: RestoreListings,
) {
    const region = vm.fields.region;
    // ACCOUNT_ID names the account listed for the offline plan; the script lists the credentials' own.
    const environment = {
        AWS_REGION: region,
        ACCOUNT_ID: scope.account,
        RESTORE_BEFORE: before,
        ...(scope.role ? { ASSUME_ROLE_ARN: scope.role } : {}),
    };
    const isOriginal = (source: string) => source === original;
    const list = (extra: Record<string, string> = {}) =>
        listRestorePoints("aws-restore-points", awsScript("restore-points"), { ...environment, ...extra });
    const candidates = vm.restoreFrom
        ? await list({ RESTORE_FROM: vm.restoreFrom })
        : await listings.ofDisk(JSON.stringify([scope.account, region, scope.role ?? "", before]), list, isOriginal);
    return chooseRestorePoint(candidates, {
        explicit: vm.restoreFrom,
        before,
        disk: original,
        isOriginal,
        otherDiskAllowed: vm.restoreFromOtherDisk,
    });
}

/** The account the provider's credentials act in. */
export async function callerAccount(provider: aws.Provider): Promise<string> {
    return (await aws.getCallerIdentity({}, { provider })).accountId;
}

/** The rescue AMI of a region: from config, or the newest Canonical Ubuntu 24.04 LTS amd64 image. */
export function rescueAmi(region: string, provider: aws.Provider, config: AwsConfig): pulumi.Output<string> {
    if (config.rescueAmis[region]) return pulumi.output(config.rescueAmis[region]);
    return pulumi.output(
        aws.ec2.getAmi(
            {
                region,
                mostRecent: true,
                owners: ["099720109477"],
                filters: [
                    { name: "name", values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] },
                    { name: "architecture", values: ["x86_64"] },
                ],
            },
            { provider },
        ),
    ).id;
}

/** The offline plan's account for the ambient credentials when nothing in the inventory names one. */
const OFFLINE_ACCOUNT = "123456789012";

/**
 * The ambient credentials' account, offline: unknown, so a placeholder. The account of the
 * bitlockerSecret ARNs of the VMs that name no accountId (they run in the ambient account, and the
 * stack reads a secret only in its instance's account) when that is one account, so a real ARN is
 * never refused because of an invented account id; else {@link OFFLINE_ACCOUNT}.
 */
function offlineAmbientAccount(vms: readonly VmEntry[]): string {
    const accounts = new Set(
        vms.filter((v) => !v.fields.accountId && v.fields.bitlockerSecret).map((v) => v.fields.bitlockerSecret.split(":")[4]),
    );
    return accounts.size === 1 ? [...accounts][0] : OFFLINE_ACCOUNT;
}

/** The offline plan's root volume of an instance: the inventory's rootVolumeId, else one made up from the instance id. */
function offlineRootVolume(instanceId: string, entry: VmEntry | undefined): string {
    return entry?.fields.rootVolumeId ?? `vol-${hexId(parseInt(shortHash(`root ${instanceId}`), 16), 17)}`;
}

/**
 * Placeholders for the offline plan, derived from the lookup's own arguments (so from the
 * inventory): stable, well-formed ids that never name a real resource. Each answer lists what it
 * invented (for which VM), so the plan marks those values as placeholders.
 */
export function offlineAwsLookup(
    token: string,
    inputs: Record<string, unknown>,
    vms: readonly VmEntry[] = [],
): Record<string, unknown> | undefined {
    const n = (text: string) => parseInt(shortHash(text), 16);
    switch (token) {
        case "aws:ec2/getInstance:getInstance": {
            const id = String(inputs.instanceId);
            const region = String(inputs.region);
            const filters = (inputs.filters as { name: string; values: string[] }[] | undefined) ?? [];
            const givenAz = filters.find((f) => f.name === "availability-zone")?.values[0];
            const az = givenAz ?? `${region}${"abc"[n(id) % 3]}`;
            const entry = vms.find((v) => v.fields.instanceId === id);
            const subnetId = `subnet-${hexId(n(`subnet ${az}`), 17)}`;
            const volumeId = offlineRootVolume(id, entry);
            const answer = {
                id,
                instanceId: id,
                availabilityZone: az,
                subnetId,
                rootBlockDevices: [
                    {
                        volumeId,
                        deviceName: entry?.fields.rootDeviceName ?? "/dev/sda1",
                        volumeType: "gp3",
                        iops: 3000,
                        throughput: 125,
                        encrypted: true,
                        kmsKeyId: "",
                        volumeSize: 64,
                    },
                ],
            };
            return withPlaceholders(
                answer,
                [givenAz ? undefined : az, subnetId, entry?.fields.rootVolumeId ? undefined : volumeId],
                entry ? [entry.key] : undefined,
            );
        }
        case "aws:ec2/getSubnet:getSubnet": {
            const vpcId = `vpc-${hexId(n(`vpc ${String(inputs.id)}`), 17)}`;
            return withPlaceholders({ id: inputs.id, vpcId }, [vpcId]);
        }
        case "aws:index/getCallerIdentity:getCallerIdentity": {
            const accountId = offlineAmbientAccount(vms);
            const arn = `arn:aws:iam::${accountId}:user/offline-plan`;
            return withPlaceholders(
                { accountId, arn, userId: "OFFLINE" },
                [accountId, arn],
                vms.filter((v) => !v.fields.accountId).map((v) => v.key),
            );
        }
        case "command:local:run": {
            const env = (inputs.environment ?? {}) as Record<string, string>;
            if (env.BOOTLOOP_LOOKUP !== "aws-restore-points") return undefined;
            // The restore VMs of the listed account and region (their lookup asks for it), or the one naming RESTORE_FROM.
            const ambient = offlineAmbientAccount(vms);
            const scoped = vms.filter(
                (v) =>
                    REMEDIES[v.strategy].restores &&
                    v.fields.region === env.AWS_REGION &&
                    (v.fields.accountId ?? ambient) === env.ACCOUNT_ID,
            );
            const points = env.RESTORE_FROM
                ? scoped
                      .filter((v) => v.restoreFrom === env.RESTORE_FROM)
                      .slice(0, 1)
                      .map((v) => ({ id: env.RESTORE_FROM, source: offlineRootVolume(v.fields.instanceId, v) }))
                : scoped
                      .filter((v) => !v.restoreFrom)
                      .map((v) => offlineRootVolume(v.fields.instanceId, v))
                      .map((volume) => ({ id: `snap-${hexId(n(`restore ${volume}`), 17)}`, source: volume }));
            return offlineRestoreAnswer(offlineRestorePoints(env, points), env.RESTORE_FROM);
        }
        case "aws:ec2/getAmi:getAmi": {
            const id = `ami-${hexId(n(`ami ${String(inputs.region)}`), 17)}`;
            return withPlaceholders({ id, name: "ubuntu-noble-24.04-amd64-server (offline placeholder)" }, [id]);
        }
        default:
            return undefined;
    }
}
