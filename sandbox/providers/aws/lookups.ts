// The AWS lookups (data sources) the program calls, answered from the simulated world: an
// instance with its root volume, volumes by tag or id, a subnet, the newest matching AMI, and the
// caller's identity. A lookup that finds nothing fails as the provider does ("no matching EC2
// Instance found"), with the cloud's error code where the cloud answered with one.
import { Props, StandInInvoke } from "../host";
import { AwsImage, AwsInstance, AwsVolume, AwsWorld } from "../../world/aws-world";
import { accountOf, inWorld, isMine, ownerOf, regionOf } from "./cloud";
import { callerIdentityOf } from "./account";
import { Filter, filtersOf, matchesFilter, str, strings } from "./values";

/** Whether an object's tags match a `tags` argument (every key with its value). */
function tagsMatch(tags: Record<string, string> | undefined, wanted: unknown): boolean {
    return Object.entries((wanted as Record<string, string>) ?? {}).every(([k, v]) => tags?.[k] === v);
}

/**
 * Applies EC2 filters with the values `field` gives per filter name; a filter the API does not
 * know fails as the API does (InvalidParameterValue).
 */
function filtered<T>(
    items: [string, T][],
    filters: Filter[],
    field: (name: string, id: string, item: T) => string | undefined | null,
    what: string,
): [string, T][] {
    return items.filter(([id, item]) =>
        filters.every((f) => {
            const tags = (item as { tags?: Record<string, string> }).tags;
            if (f.name.startsWith("tag:")) return matchesFilter(f.values, tags?.[f.name.slice(4)]);
            if (f.name === "tag-key") return Object.keys(tags ?? {}).some((k) => matchesFilter(f.values, k));
            const value = field(f.name, id, item);
            if (value === null) throw new Error(`reading ${what}: api error InvalidParameterValue: The filter '${f.name}' is invalid`);
            return matchesFilter(f.values, value);
        }),
    );
}

/** The single match of a singular lookup, or the provider's error for none or several. */
function single<T>(found: [string, T][], what: string, asked: string): [string, T] {
    if (found.length === 0) throw new Error(`no matching ${what} found (${asked})`);
    if (found.length > 1)
        throw new Error(`multiple ${what}s matched; use additional constraints to reduce matches to a single ${what} (${asked})`);
    return found[0];
}

/** What a lookup was asked, for its error: its id and filters. */
function asked(args: Props, idKey?: string): string {
    const parts = idKey && str(args, idKey) ? [`${idKey} ${str(args, idKey)}`] : [];
    for (const f of filtersOf(args)) parts.push(`${f.name}=${f.values.join(",")}`);
    return `${parts.join(", ") || "no filters"} in ${regionOf(args)}`;
}

/** A volume as a block device of an instance. */
function blockDevice(device: string, volumeId: string, v: AwsVolume | undefined): Props {
    return {
        deleteOnTermination: v?.deleteOnTermination ?? false,
        deviceName: device,
        encrypted: v?.encrypted ?? false,
        iops: v?.iops ?? 0,
        kmsKeyId: v?.kmsKeyId ?? "",
        tags: v?.tags ?? {},
        throughput: v?.throughput ?? 0,
        volumeId,
        volumeSize: v?.size ?? 0,
        volumeType: v?.type ?? "",
    };
}

/** An instance's fields by EC2 filter name (null: a filter the stand-in does not know). */
function instanceField(name: string, id: string, i: AwsInstance): string | undefined | null {
    const fields: Record<string, string | undefined> = {
        "availability-zone": i.availabilityZone,
        "instance-id": id,
        "instance-state-name": i.state,
        "instance-type": i.instanceType,
        "image-id": i.imageId,
        "subnet-id": i.subnetId,
        "vpc-id": i.vpcId,
        platform: i.platform,
        "private-ip-address": i.privateIp,
    };
    return name in fields ? fields[name] : null;
}

/** aws:ec2/getInstance:getInstance: one instance, with its root volume (none when a swap left it without one). */
export const getInstance: StandInInvoke = (args) =>
    inWorld((world) => {
        const region = regionOf(args);
        const wanted = str(args, "instanceId");
        const here = Object.entries(world.instances).filter(([, i]) => (i.region ?? "us-east-1") === region && isMine(world, i));
        if (wanted && !here.some(([id]) => id === wanted))
            throw new Error(
                `no matching EC2 Instance found: api error InvalidInstanceID.NotFound: The instance ID '${wanted}' does not exist (in ${region})`,
            );
        const matching = filtered(
            here.filter(([id, i]) => (!wanted || id === wanted) && tagsMatch(i.tags, args.instanceTags)),
            filtersOf(args),
            instanceField,
            "EC2 Instance",
        );
        const [id, i] = single(matching, "EC2 Instance", asked(args, "instanceId"));
        const root = i.blockDevices[i.rootDeviceName];
        const others = Object.entries(i.blockDevices).filter(([device]) => device !== i.rootDeviceName);
        return {
            id,
            instanceId: id,
            ami: i.imageId ?? "",
            arn: `arn:aws:ec2:${region}:${ownerOf(world, i)}:instance/${id}`,
            associatePublicIpAddress: false,
            availabilityZone: i.availabilityZone ?? "",
            disableApiStop: false,
            disableApiTermination: false,
            ebsBlockDevices: others.map(([device, v]) => blockDevice(device, v, world.volumes[v])),
            ebsOptimized: true,
            ephemeralBlockDevices: [],
            filters: args.filters,
            iamInstanceProfile: i.iamInstanceProfile ?? "",
            instanceState: i.state,
            instanceTags: i.tags ?? {},
            instanceType: i.instanceType ?? "",
            ipv6Addresses: [],
            keyName: "",
            launchTime: i.launchTime ?? "",
            monitoring: false,
            networkInterfaceId: "",
            outpostArn: "",
            passwordData: "",
            placementGroup: "",
            privateDns: i.privateDnsName ?? "",
            privateIp: i.privateIp ?? "",
            publicDns: "",
            publicIp: "",
            region,
            rootBlockDevices: root ? [blockDevice(i.rootDeviceName, root, world.volumes[root])] : [],
            secondaryPrivateIps: [],
            securityGroups: [],
            sourceDestCheck: true,
            subnetId: i.subnetId ?? "",
            tags: i.tags ?? {},
            tenancy: "default",
            vpcSecurityGroupIds: i.securityGroupIds ?? [],
        };
    });

/** A volume's fields by EC2 filter name (null: a filter the stand-in does not know). */
function volumeField(world: AwsWorld): (name: string, id: string, v: AwsVolume) => string | undefined | null {
    return (name, id, v) => {
        const attached = Object.entries(world.instances).find(([, i]) => Object.values(i.blockDevices).includes(id));
        const fields: Record<string, string | undefined> = {
            "volume-id": id,
            status: v.state,
            "availability-zone": v.availabilityZone,
            "volume-type": v.type,
            size: v.size === undefined ? undefined : String(v.size),
            encrypted: String(v.encrypted ?? false),
            "snapshot-id": v.snapshotId,
            "attachment.instance-id": attached?.[0],
        };
        return name in fields ? fields[name] : null;
    };
}

/** The volumes of a region that match a lookup's filters and tags. */
function volumesMatching(world: AwsWorld, args: Props, what: string): [string, AwsVolume][] {
    const region = regionOf(args);
    const here = Object.entries(world.volumes).filter(
        ([, v]) => (v.region ?? "us-east-1") === region && isMine(world, v) && tagsMatch(v.tags, args.tags),
    );
    return filtered(here, filtersOf(args), volumeField(world), what);
}

/** aws:ebs/getEbsVolumes:getEbsVolumes: the ids of the volumes that match (none is an empty list). */
export const getEbsVolumes: StandInInvoke = (args) =>
    inWorld((world) => {
        const ids = volumesMatching(world, args, "EBS Volumes").map(([id]) => id);
        return { id: regionOf(args), ids: ids.sort(), region: regionOf(args), filters: args.filters, tags: args.tags };
    });

/** aws:ebs/getVolume:getVolume: one volume (the newest with mostRecent). */
export const getVolume: StandInInvoke = (args) =>
    inWorld((world) => {
        let found = volumesMatching(world, args, "EBS Volume");
        if (args.mostRecent === true && found.length > 1)
            found = [found.sort(([, a], [, b]) => String(b.createTime ?? "").localeCompare(String(a.createTime ?? "")))[0]];
        const [id, v] = single(found, "EBS Volume", asked(args));
        return {
            id,
            volumeId: id,
            arn: `arn:aws:ec2:${regionOf(args)}:${ownerOf(world, v)}:volume/${id}`,
            availabilityZone: v.availabilityZone ?? "",
            createTime: v.createTime ?? "",
            encrypted: v.encrypted ?? false,
            filters: args.filters,
            iops: v.iops ?? 0,
            kmsKeyId: v.kmsKeyId ?? "",
            mostRecent: args.mostRecent,
            multiAttachEnabled: false,
            outpostArn: "",
            region: regionOf(args),
            size: v.size ?? 0,
            snapshotId: v.snapshotId ?? "",
            tags: v.tags ?? {},
            throughput: v.throughput ?? 0,
            volumeType: v.type ?? "",
        };
    });

/** aws:ec2/getSubnet:getSubnet: one subnet, by id or filters. */
export const getSubnet: StandInInvoke = (args) =>
    inWorld((world) => {
        const region = regionOf(args);
        const wanted = str(args, "id");
        const here = Object.entries(world.subnets ?? {}).filter(([, s]) => s.region === region && isMine(world, s));
        if (wanted && !here.some(([id]) => id === wanted))
            throw new Error(
                `no matching EC2 Subnet found: api error InvalidSubnetID.NotFound: The subnet ID '${wanted}' does not exist (in ${region})`,
            );
        const matching = filtered(
            here.filter(([id, s]) => (!wanted || id === wanted) && tagsMatch(s.tags, args.tags)),
            filtersOf(args),
            (name, id, s) =>
                (
                    ({ "subnet-id": id, "vpc-id": s.vpcId, "availability-zone": s.availabilityZone, "cidr-block": s.cidrBlock }) as Record<
                        string,
                        string
                    >
                )[name] ?? null,
            "EC2 Subnet",
        );
        const [id, s] = single(matching, "EC2 Subnet", asked(args, "id"));
        const owner = ownerOf(world, s);
        return {
            id,
            arn: `arn:aws:ec2:${region}:${owner}:subnet/${id}`,
            assignIpv6AddressOnCreation: false,
            availabilityZone: s.availabilityZone,
            availabilityZoneId: `${region
                .split("-")
                .map((p) => p[0])
                .join("")}${region.slice(-1)}-az${"abcdef".indexOf(s.availabilityZone.slice(-1)) + 1}`,
            availableIpAddressCount: 250,
            cidrBlock: s.cidrBlock,
            defaultForAz: false,
            filters: args.filters,
            mapPublicIpOnLaunch: false,
            ownerId: owner,
            region,
            state: "available",
            tags: s.tags ?? {},
            vpcId: s.vpcId,
        };
    });

/** Owner aliases the AMI lookup takes besides account ids. */
const OWNER_ALIASES: Record<string, string> = { amazon: "801119661308" };

/** An AMI's fields by EC2 filter name (null: a filter the stand-in does not know). */
function imageField(name: string, id: string, a: AwsImage): string | undefined | null {
    const fields: Record<string, string | undefined> = {
        name: a.name,
        architecture: a.architecture,
        "image-id": id,
        "owner-id": a.ownerId,
        platform: a.platform,
        "root-device-type": "ebs",
        "virtualization-type": "hvm",
        state: "available",
    };
    return name in fields ? fields[name] : null;
}

/** aws:ec2/getAmi:getAmi: the AMI that matches (the newest with mostRecent). */
export const getAmi: StandInInvoke = (args) =>
    inWorld((world) => {
        const region = regionOf(args);
        const owners = strings(args, "owners").map((o) => (o === "self" ? accountOf(world) : (OWNER_ALIASES[o] ?? o)));
        const nameRegex = str(args, "nameRegex");
        let found = filtered(
            Object.entries(world.images ?? {}).filter(
                ([, a]) =>
                    a.region === region &&
                    (owners.length === 0 || owners.includes(a.ownerId)) &&
                    (!nameRegex || new RegExp(nameRegex).test(a.name)),
            ),
            filtersOf(args),
            imageField,
            "EC2 AMI",
        );
        if (args.mostRecent === true && found.length > 1)
            found = [found.sort(([, a], [, b]) => b.creationDate.localeCompare(a.creationDate))[0]];
        const [id, a] = single(found, "EC2 AMI", `owners ${owners.join(",") || "any"}, ${asked(args)}`);
        return {
            id,
            imageId: id,
            architecture: a.architecture,
            arn: `arn:aws:ec2:${region}::image/${id}`,
            blockDeviceMappings: [],
            bootMode: "",
            creationDate: a.creationDate,
            deprecationTime: "",
            description: a.description ?? "",
            enaSupport: true,
            filters: args.filters,
            hypervisor: "xen",
            imageLocation: `${a.ownerId}/${a.name}`,
            imageOwnerAlias: "",
            imageType: "machine",
            imdsSupport: "",
            mostRecent: args.mostRecent,
            name: a.name,
            ownerId: a.ownerId,
            owners: args.owners,
            platform: a.platform ?? "",
            platformDetails: a.platform === "windows" ? "Windows" : "Linux/UNIX",
            productCodes: [],
            public: true,
            region,
            rootDeviceName: a.rootDeviceName,
            rootDeviceType: "ebs",
            rootSnapshotId: "",
            sriovNetSupport: "simple",
            state: "available",
            stateReason: { code: "UNSET", message: "UNSET" },
            tags: {},
            tpmSupport: "",
            usageOperation: a.platform === "windows" ? "RunInstances:0002" : "RunInstances",
            virtualizationType: "hvm",
        };
    });

/**
 * aws:index/getCallerIdentity:getCallerIdentity: the provider instance's credentials, as the CLI
 * stand-in's `sts get-caller-identity` answers for the same ones: the ambient user, or the session
 * of the role the instance assumed (in that role's account).
 */
export const getCallerIdentity: StandInInvoke = () =>
    inWorld((world) => {
        const { account, arn, userId } = callerIdentityOf(world);
        return { id: account, accountId: account, arn, userId };
    });
