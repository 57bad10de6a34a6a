// The simulated GCP's world as the gcloud stand-in (sandbox/cli/gcp/gcloud) reads it, typed for the
// stand-in provider and the seed that write it, and the names Compute Engine gives its resources.
// Compute Engine resources are keyed by name, as the stand-in CLI looks them up; each also says the
// project and zone it is in, which the provider's lookups and refreshes check.
import { SandboxFault } from "./faults";

/** A project, as `gcloud projects list` answers (discovery) and Secret Manager names it by number. */
export interface GcpProject {
    projectId: string;
    name: string;
    lifecycleState: string;
    projectNumber: string;
}

/** One disk of an instance: its disk's name, whether it boots the instance, and its device name. */
export interface GcpInstanceDisk {
    source: string;
    boot: boolean;
    deviceName?: string;
    mode?: string;
    autoDelete?: boolean;
}

/** A network interface: network and subnetwork as resource paths (projects/P/…). */
export interface GcpNic {
    network: string;
    subnetwork: string;
    networkIp: string;
}

/**
 * An instance. The CLI moves `status` (stop → STOPPING → TERMINATED after `stopPolls` looks, start
 * → STAGING → RUNNING), writes the Windows boot marker to `serial` once a bootable boot disk runs
 * (after `bootPolls` looks), and, where `agent` is set, runs the rescue agent on its `br-…` disks.
 */
export interface GcpInstance {
    project: string;
    zone: string;
    id: string;
    status: string;
    disks: GcpInstanceDisk[];
    serial: string;
    /** A Windows licence on its boot disk (what discovery looks for). */
    windows?: boolean;
    /** `linux`: a Linux guest (its serial port shows a login prompt once it boots, not Windows' marker). */
    guest?: "linux";
    stopPolls?: number;
    bootPolls?: number;
    /** Restarts after which it boots even on a disk that does not (the reverted file picked up). */
    recoversAtReboot?: number;
    machineType?: string;
    networkInterfaces?: GcpNic[];
    metadata?: Record<string, string>;
    labels?: Record<string, string>;
    tags?: string[];
    /** The service account it runs as (its email). */
    serviceAccount?: string;
    /** It runs the bootloop-rescue agent (its startup script installs it and guest attributes are on). */
    agent?: boolean;
    /** Reads of its guest attributes before the agent publishes a disk's result (default 1). */
    agentPolls?: number;
    /** The agent's repairs under way: per device name, the reads left before it publishes. */
    agentRuns?: Record<string, number>;
    creationTimestamp?: string;
}

/**
 * A zonal persistent disk. `boots: false` is a disk Windows does not boot from (the faulty channel
 * file is on it); the rescue agent's repair sets it true. Copies (snapshots, disks made from them
 * or from a disk) keep `boots`, `windows` and `bitlocker`.
 */
export interface GcpDisk {
    project: string;
    zone: string;
    id: string;
    status: string;
    type: string;
    sizeGb: number;
    boots?: boolean;
    windows?: boolean;
    /** Its Windows volume is BitLocker-encrypted: the agent needs the key secret to repair it. */
    bitlocker?: boolean;
    /** The instance it is attached to (a READ_WRITE disk has at most one). */
    attachedTo?: string;
    labels?: Record<string, string>;
    description?: string;
    guestOsFeatures?: string[];
    licenses?: string[];
    kmsKeySelfLink?: string;
    /** What it was made from: a snapshot or disk path, or an image. */
    sourceSnapshot?: string;
    sourceDisk?: string;
    sourceImage?: string;
    /** The rescue agent repaired it (its evidence was published). */
    repaired?: boolean;
    /** A sandbox fault of the VM whose original boot disk this is (sandbox/world/faults.ts). */
    fault?: SandboxFault;
    /** `linux`: the original boot disk of a Linux VM (the stand-in agent traces copies back to it). */
    guest?: "linux";
    creationTimestamp?: string;
}

/** A snapshot (global), with the disk it was taken from as a self link (restore-points reads it). */
export interface GcpSnapshot {
    project: string;
    id: string;
    status: string;
    sourceDisk: string;
    creationTimestamp: string;
    diskSizeGb: number;
    boots?: boolean;
    windows?: boolean;
    bitlocker?: boolean;
    labels?: Record<string, string>;
    description?: string;
    guestOsFeatures?: string[];
    licenses?: string[];
    kmsKeySelfLink?: string;
}

/** A guest attribute as `gcloud compute instances get-guest-attributes` lists it. */
export interface GcpGuestAttribute {
    namespace: string;
    key: string;
    value: string;
}

/** A Secret Manager secret, as the CLI's `secrets` commands keep it, with its IAM members. */
export interface GcpSecret {
    project: string;
    versions: string[];
    labels?: string | Record<string, string>;
    replication?: string;
    iam?: { role: string; member: string }[];
}

/** A VPC network and a subnetwork, by path. */
export interface GcpNetwork {
    project: string;
    name: string;
    autoCreateSubnetworks: boolean;
}
export interface GcpSubnetwork {
    project: string;
    region: string;
    name: string;
    network: string;
    ipCidrRange: string;
}

/** A firewall rule (global), by name. */
export interface GcpFirewall {
    project: string;
    id: string;
    network: string;
    direction: string;
    priority: number;
    denies?: unknown[];
    allows?: unknown[];
    sourceRanges?: string[];
    targetTags?: string[];
    description?: string;
}

/** A service account, by email. */
export interface GcpServiceAccount {
    project: string;
    accountId: string;
    uniqueId: string;
    displayName?: string;
    description?: string;
}

/** The whole world of the simulated GCP. */
export interface GcpWorld {
    projects: GcpProject[];
    instances: Record<string, GcpInstance>;
    disks: Record<string, GcpDisk>;
    snapshots: Record<string, GcpSnapshot>;
    guestAttributes: Record<string, GcpGuestAttribute[]>;
    secrets: Record<string, GcpSecret>;
    networks: Record<string, GcpNetwork>;
    subnetworks: Record<string, GcpSubnetwork>;
    firewalls: Record<string, GcpFirewall>;
    serviceAccounts: Record<string, GcpServiceAccount>;
    /** Project-wide metadata (what instances read at project/attributes/KEY): per project id, key → value. */
    projectMetadata: Record<string, Record<string, string>>;
    throttle?: Record<string, number>;
    deny?: Record<string, boolean>;
}

/** Compute Engine's API root: self links are this and a resource path. */
export const COMPUTE = "https://www.googleapis.com/compute/v1/";

/** A resource path from a self link or path (`https://…/v1/projects/P/…` → `projects/P/…`). */
export function pathOf(link: string): string {
    return link.startsWith(COMPUTE) ? link.slice(COMPUTE.length) : link.replace(/^\/+/, "");
}

/** The last segment of a path or link: a resource's name. */
export function nameOf(link: string): string {
    return link.split("/").pop() ?? link;
}

/** The region of a zone (`us-central1-a` → `us-central1`). */
export function regionOf(zone: string): string {
    return zone.replace(/-[a-z]$/, "");
}

/** Resource paths as Compute Engine writes them. */
export const paths = {
    instance: (project: string, zone: string, name: string) => `projects/${project}/zones/${zone}/instances/${name}`,
    disk: (project: string, zone: string, name: string) => `projects/${project}/zones/${zone}/disks/${name}`,
    snapshot: (project: string, name: string) => `projects/${project}/global/snapshots/${name}`,
    network: (project: string, name: string) => `projects/${project}/global/networks/${name}`,
    subnetwork: (project: string, region: string, name: string) => `projects/${project}/regions/${region}/subnetworks/${name}`,
    firewall: (project: string, name: string) => `projects/${project}/global/firewalls/${name}`,
    zone: (project: string, zone: string) => `projects/${project}/zones/${zone}`,
    diskType: (project: string, zone: string, type: string) => `projects/${project}/zones/${zone}/diskTypes/${type}`,
    machineType: (project: string, zone: string, type: string) => `projects/${project}/zones/${zone}/machineTypes/${type}`,
};

/** An empty world (every collection there, nothing in it). */
export function emptyGcpWorld(): GcpWorld {
    return {
        projects: [],
        instances: {},
        disks: {},
        snapshots: {},
        guestAttributes: {},
        secrets: {},
        networks: {},
        subnetworks: {},
        firewalls: {},
        serviceAccounts: {},
        projectMetadata: {},
    };
}

/** The world as this module types it, every collection there (a world another writer left without one gets it). */
export function gcpWorldOf(world: Record<string, unknown>): GcpWorld {
    const w = world as unknown as GcpWorld;
    const empty = emptyGcpWorld();
    for (const key of Object.keys(empty) as (keyof GcpWorld)[]) {
        if (w[key] === undefined) (w as unknown as Record<string, unknown>)[key] = empty[key];
    }
    return w;
}
