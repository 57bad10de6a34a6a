// Compute Engine disks in the GCP stand-in provider: snapshots, disks (from a snapshot, a disk or
// an image) and disks attached to instances, written into the world the gcloud stand-in reads.
// A copy keeps whether Windows boots from it (`boots`), so a backup of a boot-looping disk and
// disks made from it boot-loop too, and a disk made from a repaired one boots.
import { Props, StandInResource } from "../host";
import { COMPUTE, GcpDisk, GcpWorld, paths } from "../../world/gcp-world";
import {
    ProviderError,
    added,
    attempt,
    alreadyExists,
    autoName,
    computeTimestamp,
    etag,
    googleApiError,
    inUse,
    numericId,
    object,
    objects,
    required,
    stringMap,
    text,
} from "./google-api";
import { pollOperation } from "./budget";
import { diskIn, global, inWorld, instanceIn, snapshotIn, stepByStep, zonal } from "./store";

/** The labels outputs Google's provider adds (every label is the user's here). */
const labelOutputs = (labels: Record<string, string>) => ({ effectiveLabels: labels, pulumiLabels: labels, labelFingerprint: etag() });

/**
 * A snapshot of a disk. The insert is an operation: CREATING, then UPLOADING, then READY when
 * the provider's create returns (restore-points and disks made from it see the states on the way).
 */
export const snapshot: StandInResource = {
    // ForceNew in google_compute_snapshot's schema (hashicorp/terraform-provider-google at e03b7622a2,
    // google/services/compute/resource_compute_snapshot.go), as the Pulumi SDK names them; labels update in place.
    replaceOn: [
        "name",
        "chainName",
        "description",
        "params",
        "snapshotEncryptionKey",
        "snapshotType",
        "sourceDisk",
        "sourceDiskEncryptionKey",
        "sourceInstantSnapshot",
        "storageLocations",
        "zone",
        "project",
    ],
    async create(inputs, urn) {
        const project = required(inputs, "project");
        const name = text(inputs, "name") ?? autoName(urn);
        const source = zonal(required(inputs, "sourceDisk"), project, text(inputs, "zone") ?? "");
        const labels = stringMap(inputs, "labels");
        const snapshotId = numericId();
        const creationTimestamp = computeTimestamp();
        const made = await stepByStep(
            [
                (w) =>
                    attempt("Error creating Snapshot", () => {
                        if (w.snapshots[name]) throw new Error(alreadyExists(paths.snapshot(project, name)));
                        const disk = diskIn(w, source.project, source.zone, source.name);
                        w.snapshots[name] = {
                            project,
                            id: snapshotId,
                            status: "CREATING",
                            sourceDisk: `${COMPUTE}${paths.disk(source.project, source.zone, source.name)}`,
                            creationTimestamp,
                            diskSizeGb: disk.sizeGb,
                            boots: disk.boots,
                            windows: disk.windows,
                            bitlocker: disk.bitlocker,
                            labels,
                            description: text(inputs, "description"),
                            guestOsFeatures: disk.guestOsFeatures,
                            licenses: disk.licenses,
                            kmsKeySelfLink: text(object(inputs, "snapshotEncryptionKey"), "kmsKeySelfLink") ?? disk.kmsKeySelfLink,
                        };
                    }),
                (w) => void (w.snapshots[name].status = "UPLOADING"),
            ],
            (w) => {
                const s = w.snapshots[name];
                s.status = "READY";
                return s;
            },
            () => pollOperation(inputs),
        );
        return {
            id: paths.snapshot(project, name),
            outs: added(inputs, {
                name,
                selfLink: `${COMPUTE}${paths.snapshot(project, name)}`,
                snapshotId: Number(snapshotId),
                creationTimestamp,
                diskSizeGb: made.diskSizeGb,
                storageBytes: made.diskSizeGb * 1024 ** 3,
                licenses: made.licenses ?? [],
                ...labelOutputs(labels),
            }),
        };
    },
    read(id) {
        const { project, name } = global(id, "");
        return inWorld((w) => {
            const s = w.snapshots[name];
            if (!s || s.project !== project) return undefined;
            return { diskSizeGb: s.diskSizeGb, storageBytes: s.diskSizeGb * 1024 ** 3 };
        });
    },
    update(id, _olds, news) {
        const { project, name } = global(id, "");
        inWorld((w) => attempt("Error updating Snapshot", () => void (snapshotIn(w, project, name).labels = stringMap(news, "labels"))));
        return labelOutputs(stringMap(news, "labels"));
    },
    delete(id) {
        const { project, name } = global(id, "");
        inWorld((w) => {
            if (w.snapshots[name]?.project === project) delete w.snapshots[name];
        });
    },
};

/** What a new disk is made from, as the world holds it. */
function sourceOf(w: GcpWorld, inputs: Props, project: string, zone: string): Partial<GcpDisk> & { sizeGb: number } {
    const fromSnapshot = text(inputs, "snapshot");
    const fromDisk = text(inputs, "sourceDisk");
    const image = text(inputs, "image");
    if (fromSnapshot) {
        const ref = global(fromSnapshot, project);
        const s = snapshotIn(w, ref.project, ref.name);
        if (s.status !== "READY")
            throw new Error(
                googleApiError(400, `The resource '${paths.snapshot(ref.project, ref.name)}' is not ready`, "resourceNotReady"),
            );
        return {
            sizeGb: s.diskSizeGb,
            boots: s.boots,
            windows: s.windows,
            bitlocker: s.bitlocker,
            sourceSnapshot: paths.snapshot(ref.project, ref.name),
        };
    }
    if (fromDisk) {
        const ref = zonal(fromDisk, project, zone);
        const d = diskIn(w, ref.project, ref.zone, ref.name);
        if (d.status !== "READY")
            throw new Error(
                googleApiError(400, `The resource '${paths.disk(ref.project, ref.zone, ref.name)}' is not ready`, "resourceNotReady"),
            );
        return {
            sizeGb: d.sizeGb,
            boots: d.boots,
            windows: d.windows,
            bitlocker: d.bitlocker,
            sourceDisk: paths.disk(ref.project, ref.zone, ref.name),
        };
    }
    // An image: a Linux image boots (the rescue instances'); a blank disk is Compute Engine's 500 GB default.
    return image ? { sizeGb: 10, boots: true, windows: false, sourceImage: image } : { sizeGb: 500, boots: false, windows: false };
}

/** Writes a new disk into the world (CREATING); the world's entry. */
export function newDisk(w: GcpWorld, inputs: Props, name: string, project: string, zone: string): GcpDisk {
    if (w.disks[name]) throw new Error(alreadyExists(paths.disk(project, zone, name)));
    const from = sourceOf(w, inputs, project, zone);
    const size = typeof inputs.size === "number" ? inputs.size : from.sizeGb;
    if (size < from.sizeGb)
        throw new Error(
            googleApiError(
                400,
                `Invalid value for field 'resource.sizeGb': '${size}'. Requested disk size cannot be smaller than the source size (${from.sizeGb} GB).`,
                "invalid",
            ),
        );
    const disk: GcpDisk = {
        ...from,
        project,
        zone,
        id: numericId(),
        status: "CREATING",
        type: (text(inputs, "type") ?? "pd-standard").split("/").pop()!,
        sizeGb: size,
        labels: stringMap(inputs, "labels"),
        description: text(inputs, "description"),
        guestOsFeatures: objects(inputs, "guestOsFeatures").map((g) => String(g.type)),
        licenses: Array.isArray(inputs.licenses) ? inputs.licenses.map(String) : [],
        kmsKeySelfLink: text(object(inputs, "diskEncryptionKey"), "kmsKeySelfLink"),
        creationTimestamp: computeTimestamp(),
    };
    w.disks[name] = disk;
    return disk;
}

/** The outputs of a disk the world holds. */
function diskOutputs(w: GcpWorld, name: string, d: GcpDisk): Props {
    return {
        size: d.sizeGb,
        users: d.attachedTo ? [`${COMPUTE}${paths.instance(w.instances[d.attachedTo]?.project ?? d.project, d.zone, d.attachedTo)}`] : [],
    };
}

/**
 * A zonal persistent disk. Its insert is an operation (CREATING, then READY). Deleting it first
 * detaches it from the instances that use it, as Google's provider does; Compute Engine refuses
 * that for the boot disk of an instance that is not TERMINATED.
 */
export const disk: StandInResource = {
    // ForceNew in google_compute_disk's schema (hashicorp/terraform-provider-google at e03b7622a2,
    // google/services/compute/resource_compute_disk.go), as the Pulumi SDK names them. `size` changes
    // in place (its CustomizeDiff forces a new disk only to shrink it, which update() refuses here);
    // labels update in place.
    replaceOn: [
        "name",
        "architecture",
        "asyncPrimaryDisk",
        "description",
        "diskEncryptionKey",
        "enableConfidentialCompute",
        "guestOsFeatures",
        "image",
        "licenses",
        "params",
        "physicalBlockSizeBytes",
        "snapshot",
        "sourceDisk",
        "sourceImageEncryptionKey",
        "sourceInstantSnapshot",
        "sourceSnapshotEncryptionKey",
        "sourceStorageObject",
        "storagePool",
        "type",
        "zone",
        "project",
    ],
    async create(inputs, urn) {
        const project = required(inputs, "project");
        const zone = required(inputs, "zone");
        const name = text(inputs, "name") ?? autoName(urn);
        const made = await stepByStep(
            [(w) => attempt("Error creating Disk", () => void newDisk(w, inputs, name, project, zone))],
            (w) => {
                const d = w.disks[name];
                d.status = "READY";
                return { ...d, ...diskOutputs(w, name, d) };
            },
            () => pollOperation(inputs),
        );
        return {
            id: paths.disk(project, zone, name),
            outs: added(inputs, {
                name,
                selfLink: `${COMPUTE}${paths.disk(project, zone, name)}`,
                diskId: made.id,
                creationTimestamp: made.creationTimestamp,
                size: made.sizeGb,
                type: made.type,
                users: [],
                physicalBlockSizeBytes: 4096,
                ...labelOutputs(stringMap(inputs, "labels")),
            }),
        };
    },
    read(id) {
        const { project, zone, name } = zonal(id, "", "");
        return inWorld((w) => {
            const d = w.disks[name];
            if (!d || d.project !== project || d.zone !== zone) return undefined;
            return diskOutputs(w, name, d);
        });
    },
    update(id, olds, news) {
        const { project, zone, name } = zonal(id, "", "");
        return inWorld((w) =>
            attempt(`Error updating Disk "${id}"`, () => {
                const d = diskIn(w, project, zone, name);
                if (typeof news.size === "number" && news.size !== olds.size) {
                    if (news.size < d.sizeGb)
                        throw new Error(
                            googleApiError(
                                400,
                                `Invalid value for field 'sizeGb': '${news.size}'. New size must be larger than existing size '${d.sizeGb}'.`,
                                "invalid",
                            ),
                        );
                    d.sizeGb = news.size;
                }
                d.labels = stringMap(news, "labels");
                return { ...labelOutputs(d.labels), ...diskOutputs(w, name, d) };
            }),
        );
    },
    delete(id) {
        const { project, zone, name } = zonal(id, "", "");
        inWorld((w) => {
            const d = w.disks[name];
            if (!d || d.project !== project || d.zone !== zone) return;
            const user = d.attachedTo ? w.instances[d.attachedTo] : undefined;
            if (user && d.attachedTo) {
                const attached = user.disks.find((x) => x.source === name);
                if (attached?.boot && user.status !== "TERMINATED")
                    throw new ProviderError(
                        `Error detaching disk ${attached.deviceName ?? name} from instance ${user.project}/${user.zone}/${d.attachedTo}`,
                        googleApiError(
                            400,
                            "Invalid resource usage: 'To detach the boot disk, the instance must be in TERMINATED state.'.",
                            "invalidResourceUsage",
                        ),
                    );
                user.disks = user.disks.filter((x) => x.source !== name);
            }
            delete w.disks[name];
        });
    },
};

/**
 * A disk attached to an instance (not its boot disk): READ_WRITE, so one instance at a time.
 * Detaching it tells the rescue agent nothing: the agent sees the device go (the gcloud stand-in).
 */
export const attachedDisk: StandInResource = {
    // ForceNew in google_compute_attached_disk's schema (hashicorp/terraform-provider-google at
    // e03b7622a2, google/services/compute/resource_compute_attached_disk.go): every field.
    replaceOn: ["disk", "instance", "project", "zone", "deviceName", "mode", "interface"],
    create(inputs) {
        const project = required(inputs, "project");
        const zone = required(inputs, "zone");
        const i = zonal(required(inputs, "instance"), project, zone);
        const d = zonal(required(inputs, "disk"), project, zone);
        const deviceName = text(inputs, "deviceName") ?? d.name;
        inWorld((w) =>
            attempt(`Error attaching disk ${d.name} to instance ${i.name}`, () => {
                const instance = instanceIn(w, i.project, i.zone, i.name);
                const found = diskIn(w, d.project, d.zone, d.name);
                if (found.attachedTo)
                    throw new Error(
                        inUse(paths.disk(d.project, d.zone, d.name), paths.instance(found.project, found.zone, found.attachedTo)),
                    );
                if (instance.disks.some((x) => x.deviceName === deviceName))
                    throw new Error(
                        googleApiError(
                            400,
                            `Invalid value for field 'resource.deviceName': '${deviceName}'. Device name specified is already in use.`,
                            "invalid",
                        ),
                    );
                instance.disks.push({
                    source: d.name,
                    boot: false,
                    deviceName,
                    mode: text(inputs, "mode") ?? "READ_WRITE",
                    autoDelete: false,
                });
                found.attachedTo = i.name;
            }),
        );
        return { id: `${paths.instance(i.project, i.zone, i.name)}/${d.name}` };
    },
    read(id) {
        const m = /^projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)\/([^/]+)$/.exec(id);
        if (!m) return undefined;
        const [, project, zone, instance, diskName] = m;
        return inWorld((w) => {
            const i = w.instances[instance];
            const there = i && i.project === project && i.zone === zone && i.disks.some((x) => x.source === diskName && !x.boot);
            return there ? {} : undefined;
        });
    },
    delete(id) {
        const m = /^projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)\/([^/]+)$/.exec(id);
        if (!m) return;
        const [, project, zone, instance, diskName] = m;
        inWorld((w) => {
            const i = w.instances[instance];
            if (i && i.project === project && i.zone === zone) i.disks = i.disks.filter((x) => x.source !== diskName || x.boot);
            const d = w.disks[diskName];
            if (d?.attachedTo === instance) delete d.attachedTo;
        });
    },
};
