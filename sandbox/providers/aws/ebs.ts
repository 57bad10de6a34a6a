// EBS in the simulated AWS world: snapshots, volumes (blank or from a snapshot), CopyVolumes
// copies and volume attachments. A volume made from a snapshot, or copied from a volume, boots
// exactly when its source does (`boots`), and carries its source's BitLocker protection; each
// waits as the real provider's waiters do (snapshot completed, volume available, attached,
// detached) before it returns.
import { Props, StandInResource } from "../host";
import { AwsVolume, AwsWorld, awsManagedEbsKey } from "../../world/aws-world";
import { accountOf, inWorld, isMine, newId, ownerOf, refuse, regionOf, tagsOf, waitUntil } from "./cloud";
import { attachmentOf, pollInstance, pollSnapshot, pollVolume } from "./moves";
import { bool, num, required, str } from "./values";
import { poll } from "./budget";

const now = () => new Date().toISOString();

/** The volume `id` in `region`, or the cloud's InvalidVolume.NotFound. */
function volumeIn(world: AwsWorld, id: string, region: string, doing: string, operation: string): AwsVolume {
    const v = world.volumes[id];
    if (!v || (v.region ?? "us-east-1") !== region || !isMine(world, v))
        refuse(doing, operation, "InvalidVolume.NotFound", `The volume '${id}' does not exist.`);
    return v;
}

/** A volume that is attached cannot be deleted: the cloud's VolumeInUse. */
function deleteVolume(id: string, what: string): void {
    inWorld((world) => {
        if (!world.volumes[id] || !isMine(world, world.volumes[id])) return;
        const attached = attachmentOf(world, id);
        if (attached)
            refuse(
                `deleting ${what} (${id})`,
                "EC2: DeleteVolume",
                "VolumeInUse",
                `Volume ${id} is currently attached to ${attached.instance}`,
            );
        delete world.volumes[id];
    });
}

/** A volume's outputs as the provider reads them back. */
function volumeOuts(world: AwsWorld, id: string, v: AwsVolume): Props {
    return {
        arn: `arn:aws:ec2:${v.region ?? "us-east-1"}:${ownerOf(world, v)}:volume/${id}`,
        availabilityZone: v.availabilityZone,
        createTime: v.createTime,
        encrypted: v.encrypted ?? false,
        iops: v.iops ?? 0,
        kmsKeyId: v.kmsKeyId ?? "",
        multiAttachEnabled: false,
        outpostArn: "",
        size: v.size,
        snapshotId: v.snapshotId ?? "",
        throughput: v.throughput ?? 0,
        tags: v.tags ?? {},
        tagsAll: v.tags ?? {},
        region: v.region,
    };
}

/** Waits until the volume is available, as the provider's volume-created waiter. */
const volumeAvailable = (id: string, inputs: Props) =>
    waitUntil(
        `EBS Volume (${id}) create`,
        (world) => pollVolume(world, id) === "available",
        () => poll("DescribeVolumes", inputs),
    );

/** IOPS and throughput a volume type gets by default (gp3: 3,000 and 125 MiB/s). */
function shapeOf(type: string, iops: number | undefined, throughput: number | undefined): { iops?: number; throughput?: number } {
    if (type === "gp3") return { iops: iops ?? 3000, throughput: throughput ?? 125 };
    if (type === "io1" || type === "io2") return { iops };
    return {};
}

/**
 * aws:ebs/snapshot:Snapshot. Replaced on a change of volumeId, description or outpostArn (ForceNew
 * in terraform-provider-aws internal/service/ec2/ebs_snapshot.go) and of region (the provider's
 * forceNewIfRegionChanges, internal/provider/sdkv2/region.go).
 */
export const snapshot: StandInResource = {
    replaceOn: ["volumeId", "description", "outpostArn", "region"],
    async create(inputs, urn) {
        const region = regionOf(inputs);
        const volumeId = required(inputs, "volumeId", "EBS Snapshot");
        const made = inWorld((world) => {
            const doing = `creating EBS Snapshot (${volumeId})`;
            const v = volumeIn(world, volumeId, region, doing, "EC2: CreateSnapshot");
            const id = newId(world, "snap", urn);
            world.snapshots = world.snapshots ?? {};
            world.snapshots[id] = {
                volumeId,
                startTime: now(),
                state: "pending",
                progress: "0%",
                pollsToComplete: 2,
                ownerId: accountOf(world),
                boots: v.boots,
                region,
                size: v.size,
                encrypted: v.encrypted ?? false,
                kmsKeyId: v.kmsKeyId,
                description: str(inputs, "description"),
                tags: tagsOf(inputs),
                ...(v.bitlocker ? { bitlocker: { ...v.bitlocker } } : {}),
            };
            return { id, account: accountOf(world), size: v.size, encrypted: v.encrypted ?? false, kmsKeyId: v.kmsKeyId ?? "" };
        });
        await waitUntil(
            `EBS Snapshot (${made.id}) create`,
            (world) => pollSnapshot(world, made.id) === "completed",
            () => poll("DescribeSnapshots", inputs),
        );
        return {
            id: made.id,
            outs: {
                arn: `arn:aws:ec2:${region}::snapshot/${made.id}`,
                dataEncryptionKeyId: "",
                encrypted: made.encrypted,
                kmsKeyId: made.kmsKeyId,
                ownerAlias: "",
                ownerId: made.account,
                storageTier: "standard",
                volumeSize: made.size,
                region,
                tagsAll: tagsOf(inputs),
            },
        };
    },
    read: (id) =>
        inWorld((world) => {
            const s = world.snapshots?.[id];
            if (!s || ownerOf(world, { account: s.ownerId }) !== accountOf(world)) return undefined;
            return {
                volumeId: s.volumeId,
                description: s.description,
                encrypted: s.encrypted,
                volumeSize: s.size,
                tags: s.tags ?? {},
                tagsAll: s.tags ?? {},
            };
        }),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const s = world.snapshots?.[id];
            if (!s)
                refuse(
                    `updating EBS Snapshot (${id})`,
                    "EC2: CreateTags",
                    "InvalidSnapshot.NotFound",
                    `The snapshot '${id}' does not exist.`,
                );
            s.tags = tagsOf(news);
            return { tagsAll: s.tags };
        }),
    delete: (id) =>
        inWorld((world) => {
            if (world.snapshots) delete world.snapshots[id];
        }),
};

/**
 * aws:ebs/volume:Volume. Replaced on a change of availabilityZone, encrypted, kmsKeyId,
 * multiAttachEnabled, outpostArn or snapshotId (ForceNew in terraform-provider-aws
 * internal/service/ec2/ebs_volume.go) and of region (internal/provider/sdkv2/region.go); size, iops,
 * throughput and type change in place (ModifyVolume).
 */
export const volume: StandInResource = {
    replaceOn: ["availabilityZone", "encrypted", "kmsKeyId", "multiAttachEnabled", "outpostArn", "snapshotId", "region"],
    async create(inputs, urn) {
        const region = regionOf(inputs);
        const zone = required(inputs, "availabilityZone", "EBS Volume");
        const made = inWorld((world) => {
            const doing = "creating EBS Volume";
            const op = "EC2: CreateVolume";
            if (!zone.startsWith(region) || zone.length !== region.length + 1)
                refuse(doing, op, "InvalidZone.NotFound", `The zone '${zone}' does not exist.`);
            const snapshotId = str(inputs, "snapshotId");
            const source = snapshotId ? world.snapshots?.[snapshotId] : undefined;
            // Another account's snapshot is not there for it (the program shares none).
            if (
                snapshotId &&
                (!source || (source.region ?? "us-east-1") !== region || ownerOf(world, { account: source.ownerId }) !== accountOf(world))
            )
                refuse(doing, op, "InvalidSnapshot.NotFound", `The snapshot '${snapshotId}' does not exist.`);
            const size = num(inputs, "size") ?? source?.size;
            if (size === undefined) refuse(doing, op, "MissingParameter", "The request must contain the parameter size or snapshotId");
            if (source?.size !== undefined && size < source.size)
                refuse(doing, op, "InvalidParameterValue", `Volume of ${size}GiB is too small; minimum is ${source.size}GiB.`);
            const encrypted = bool(inputs, "encrypted") ?? source?.encrypted ?? false;
            if (source?.encrypted && bool(inputs, "encrypted") === false)
                refuse(doing, op, "InvalidParameterCombination", "Volumes created from encrypted snapshots are always encrypted.");
            const type = str(inputs, "type") ?? "gp2";
            const id = newId(world, "vol", urn);
            world.volumes[id] = {
                account: accountOf(world),
                state: "creating",
                pollsToAvailable: 1,
                // A blank volume holds no Windows: it boots nothing. One from a snapshot is what the snapshot was.
                boots: source ? source.boots : false,
                tags: tagsOf(inputs),
                region,
                availabilityZone: zone,
                size,
                type,
                ...shapeOf(type, num(inputs, "iops"), num(inputs, "throughput")),
                encrypted,
                kmsKeyId:
                    str(inputs, "kmsKeyId") ?? source?.kmsKeyId ?? (encrypted ? awsManagedEbsKey(region, accountOf(world)) : undefined),
                snapshotId,
                createTime: now(),
                ...(source?.bitlocker ? { bitlocker: { ...source.bitlocker } } : {}),
            };
            return id;
        });
        await volumeAvailable(made, inputs);
        return { id: made, outs: inWorld((world) => volumeOuts(world, made, world.volumes[made])) };
    },
    read: (id) =>
        inWorld((world) => (world.volumes[id] && isMine(world, world.volumes[id]) ? volumeOuts(world, id, world.volumes[id]) : undefined)),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const v = volumeIn(world, id, regionOf(news), `modifying EBS Volume (${id})`, "EC2: ModifyVolume");
            v.size = num(news, "size") ?? v.size;
            v.type = str(news, "type") ?? v.type;
            Object.assign(v, shapeOf(v.type ?? "gp2", num(news, "iops") ?? v.iops, num(news, "throughput") ?? v.throughput));
            v.tags = tagsOf(news);
            return volumeOuts(world, id, v);
        }),
    delete: (id) => deleteVolume(id, "EBS Volume"),
};

/**
 * aws:ebs/volumeCopy:VolumeCopy (EBS CopyVolumes: a crash-consistent copy in the source's zone).
 * Replaced on a change of sourceVolumeId (RequiresReplace in terraform-provider-aws
 * internal/service/ec2/ebs_volume_copy.go) and of region (the framework's
 * resourceForceNewIfRegionChanges, internal/provider/framework/region.go); iops, size, throughput and
 * volumeType change in place.
 */
export const volumeCopy: StandInResource = {
    replaceOn: ["sourceVolumeId", "region"],
    async create(inputs, urn) {
        const region = regionOf(inputs);
        const sourceId = required(inputs, "sourceVolumeId", "EBS Volume Copy");
        const made = inWorld((world) => {
            const source = volumeIn(world, sourceId, region, `creating EBS Volume Copy (copy of ${sourceId})`, "EC2: CopyVolumes");
            const type = str(inputs, "volumeType") ?? source.type ?? "gp3";
            const id = newId(world, "vol", urn);
            world.volumes[id] = {
                account: accountOf(world),
                state: "creating",
                pollsToAvailable: 2,
                // A copy is what its source holds now: a repaired scratch volume's copy boots.
                boots: source.boots,
                tags: tagsOf(inputs),
                region,
                availabilityZone: source.availabilityZone,
                size: num(inputs, "size") ?? source.size,
                type,
                ...shapeOf(type, num(inputs, "iops") ?? source.iops, num(inputs, "throughput") ?? source.throughput),
                encrypted: source.encrypted ?? false,
                kmsKeyId: source.kmsKeyId,
                sourceVolume: sourceId,
                createTime: now(),
                ...(source.bitlocker ? { bitlocker: { ...source.bitlocker } } : {}),
            };
            return id;
        });
        await volumeAvailable(made, inputs);
        return { id: made, outs: inWorld((world) => copyOuts(world, made, world.volumes[made])) };
    },
    read: (id) =>
        inWorld((world) => (world.volumes[id] && isMine(world, world.volumes[id]) ? copyOuts(world, id, world.volumes[id]) : undefined)),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const v = volumeIn(world, id, regionOf(news), `modifying EBS Volume Copy (${id})`, "EC2: ModifyVolume");
            v.size = num(news, "size") ?? v.size;
            v.type = str(news, "volumeType") ?? v.type;
            Object.assign(v, shapeOf(v.type ?? "gp3", num(news, "iops") ?? v.iops, num(news, "throughput") ?? v.throughput));
            v.tags = tagsOf(news);
            return copyOuts(world, id, v);
        }),
    delete: (id) => deleteVolume(id, "EBS Volume Copy"),
};

/** A copy's outputs: the volume's, under the copy resource's names. */
function copyOuts(world: AwsWorld, id: string, v: AwsVolume): Props {
    const o = volumeOuts(world, id, v);
    return {
        arn: o.arn,
        availabilityZone: o.availabilityZone,
        iops: o.iops,
        size: o.size,
        throughput: o.throughput,
        volumeType: v.type,
        tags: o.tags,
        tagsAll: o.tagsAll,
        region: o.region,
    };
}

/** The provider's attachment id: `vai-` and the CRC-32 of `DEVICE-INSTANCE-VOLUME-` (create.StringHashcode). */
export function attachmentId(device: string, instance: string, volumeId: string): string {
    let crc = 0xffffffff;
    for (const byte of Buffer.from(`${device}-${instance}-${volumeId}-`)) {
        crc ^= byte;
        for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    }
    const hash = (crc ^ 0xffffffff) | 0;
    return `vai-${hash >= 0 ? hash : -hash}`;
}

/**
 * aws:ec2/volumeAttachment:VolumeAttachment. Replaced on a change of deviceName, instanceId or
 * volumeId (ForceNew in terraform-provider-aws internal/service/ec2/ebs_volume_attachment.go) and of
 * region (internal/provider/sdkv2/region.go).
 */
export const volumeAttachment: StandInResource = {
    replaceOn: ["deviceName", "instanceId", "volumeId", "region"],
    async create(inputs) {
        const region = regionOf(inputs);
        const device = required(inputs, "deviceName", "EBS Volume Attachment");
        const instanceId = required(inputs, "instanceId", "EBS Volume Attachment");
        const volumeId = required(inputs, "volumeId", "EBS Volume Attachment");
        const doing = `attaching EBS Volume (${volumeId}) to EC2 Instance (${instanceId})`;
        const op = "EC2: AttachVolume";
        // The provider first waits for the instance to be running or stopped.
        await waitUntil(
            `EC2 Instance (${instanceId}) to be ready`,
            (world) => pollInstance(world, instanceId) !== "pending",
            () => poll("DescribeInstances", inputs),
        );
        inWorld((world) => {
            const v = volumeIn(world, volumeId, region, doing, op);
            const i = world.instances[instanceId];
            if (!i || (i.region ?? "us-east-1") !== region || !isMine(world, i))
                refuse(doing, op, "InvalidInstanceID.NotFound", `The instance ID '${instanceId}' does not exist`);
            if (v.availabilityZone && i.availabilityZone && v.availabilityZone !== i.availabilityZone)
                refuse(
                    doing,
                    op,
                    "InvalidVolume.ZoneMismatch",
                    `The volume '${volumeId}' is not in the same availability zone as instance '${instanceId}'`,
                );
            if (v.state !== "available") refuse(doing, op, "VolumeInUse", `vol ${volumeId} is already attached to an instance`);
            if (i.blockDevices[device])
                refuse(
                    doing,
                    op,
                    "InvalidParameterValue",
                    `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`,
                );
            i.blockDevices[device] = volumeId;
            v.state = "attaching";
        });
        await waitUntil(
            `EBS Volume (${volumeId}) Attachment (${instanceId}) create`,
            (world) => pollVolume(world, volumeId) === "in-use",
            () => poll("DescribeVolumes", inputs),
        );
        return { id: attachmentId(device, instanceId, volumeId) };
    },
    read: (_id, props) =>
        inWorld((world) => {
            const i = world.instances[String(props.instanceId)];
            return i && i.blockDevices[String(props.deviceName)] === props.volumeId ? {} : undefined;
        }),
    async delete(_id, props) {
        const device = String(props.deviceName);
        const instanceId = String(props.instanceId);
        const volumeId = String(props.volumeId);
        const detaching = inWorld((world) => {
            const i = world.instances[instanceId];
            if (!i || i.blockDevices[device] !== volumeId) return false; // detached already: nothing to do
            delete i.blockDevices[device];
            if (world.volumes[volumeId]) world.volumes[volumeId].state = "detaching";
            return true;
        });
        if (detaching)
            await waitUntil(
                `EBS Volume (${volumeId}) Attachment (${instanceId}) delete`,
                (world) => pollVolume(world, volumeId) !== "detaching",
                () => poll("DescribeVolumes", props),
            );
    },
};
