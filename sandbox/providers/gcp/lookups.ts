// The lookups (data sources) the GCP path makes, answered from the world: an instance with its
// boot disk and network, and a disk. A thing that is not there fails as Google's provider says
// it (`projects/P/zones/Z/instances/N not found`).
import { Props, StandInInvoke } from "../host";
import { COMPUTE, GcpDisk, GcpInstance, GcpWorld, paths } from "../../world/gcp-world";
import { required, text } from "./google-api";
import { inWorld, zonal } from "./store";

const link = (path: string) => `${COMPUTE}${path}`;

/** Where a lookup looks: its selfLink, or its name, zone and project. */
function placeOf(args: Props): { project: string; zone: string; name: string } {
    const self = text(args, "selfLink");
    if (self) return zonal(self, "", "");
    return { project: required(args, "project"), zone: required(args, "zone"), name: required(args, "name") };
}

/** A disk as the instance lists it, in the data source's shape. */
function attached(w: GcpWorld, i: GcpInstance, d: GcpInstance["disks"][number]) {
    const disk = w.disks[d.source];
    return {
        source: link(paths.disk(disk?.project ?? i.project, disk?.zone ?? i.zone, d.source)),
        deviceName: d.deviceName ?? d.source,
        mode: d.mode ?? "READ_WRITE",
        autoDelete: d.autoDelete ?? d.boot,
        diskEncryptionKeyRaw: "",
        diskEncryptionKeyRsa: "",
        diskEncryptionKeySha256: "",
        kmsKeySelfLink: disk?.kmsKeySelfLink ?? "",
    };
}

/** An instance as gcp.compute.getInstance answers it. */
function instanceResult(w: GcpWorld, name: string, i: GcpInstance): Props {
    const self = paths.instance(i.project, i.zone, name);
    const boot = i.disks.filter((d) => d.boot);
    return {
        id: self,
        name,
        project: i.project,
        zone: i.zone,
        selfLink: link(self),
        instanceId: i.id,
        currentStatus: i.status,
        desiredStatus: "",
        machineType: i.machineType ?? "n2-standard-4",
        hostname: "",
        creationTimestamp: i.creationTimestamp ?? "",
        bootDisks: boot.map((d) => ({ ...attached(w, i, d), initializeParams: [] })),
        attachedDisks: i.disks.filter((d) => !d.boot).map((d) => attached(w, i, d)),
        scratchDisks: [],
        networkInterfaces: (i.networkInterfaces ?? []).map((n, k) => ({
            name: `nic${k}`,
            network: link(n.network),
            subnetwork: link(n.subnetwork),
            subnetworkProject: /^projects\/([^/]+)/.exec(n.subnetwork)?.[1] ?? i.project,
            networkIp: n.networkIp,
            stackType: "IPV4_ONLY",
            accessConfigs: [],
            aliasIpRanges: [],
        })),
        metadata: i.metadata ?? {},
        metadataStartupScript: "",
        labels: i.labels ?? {},
        effectiveLabels: i.labels ?? {},
        pulumiLabels: i.labels ?? {},
        tags: i.tags ?? [],
        serviceAccounts: i.serviceAccount ? [{ email: i.serviceAccount, scopes: ["https://www.googleapis.com/auth/cloud-platform"] }] : [],
        confidentialInstanceConfigs: [],
        deletionProtection: false,
    };
}

/** A disk as gcp.compute.getDisk answers it. */
function diskResult(w: GcpWorld, name: string, d: GcpDisk): Props {
    const self = paths.disk(d.project, d.zone, name);
    const user = d.attachedTo ? w.instances[d.attachedTo] : undefined;
    return {
        id: self,
        name,
        project: d.project,
        zone: d.zone,
        selfLink: link(self),
        diskId: d.id,
        type: d.type,
        size: d.sizeGb,
        labels: d.labels ?? {},
        effectiveLabels: d.labels ?? {},
        pulumiLabels: d.labels ?? {},
        description: d.description ?? "",
        guestOsFeatures: (d.guestOsFeatures ?? []).map((type) => ({ type })),
        licenses: (d.licenses ?? []).map((l) => (l.startsWith("https://") ? l : link(l))),
        diskEncryptionKeys: d.kmsKeySelfLink
            ? [{ kmsKeySelfLink: d.kmsKeySelfLink, kmsKeyServiceAccount: "", rawKey: "", rsaEncryptedKey: "", sha256: "" }]
            : [],
        users: user && d.attachedTo ? [link(paths.instance(user.project, user.zone, d.attachedTo))] : [],
        snapshot: d.sourceSnapshot ? link(d.sourceSnapshot) : "",
        sourceDisk: d.sourceDisk ? link(d.sourceDisk) : "",
        image: d.sourceImage ?? "",
        creationTimestamp: d.creationTimestamp ?? "",
        physicalBlockSizeBytes: 4096,
        architecture: "X86_64",
    };
}

/** gcp.compute.getInstance: the instance, or `projects/P/zones/Z/instances/N not found`. */
export const getInstance: StandInInvoke = (args) => {
    const { project, zone, name } = placeOf(args);
    return inWorld((w) => {
        const i = w.instances[name];
        if (!i || i.project !== project || i.zone !== zone) throw new Error(`${paths.instance(project, zone, name)} not found`);
        return instanceResult(w, name, i);
    });
};

/** gcp.compute.getDisk: the disk, or `projects/P/zones/Z/disks/N not found`. */
export const getDisk: StandInInvoke = (args) => {
    const { project, zone, name } = placeOf(args);
    return inWorld((w) => {
        const d = w.disks[name];
        if (!d || d.project !== project || d.zone !== zone) throw new Error(`${paths.disk(project, zone, name)} not found`);
        return diskResult(w, name, d);
    });
};
