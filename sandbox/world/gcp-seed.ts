// The simulated GCP at the start of a sandbox run: the inventory's GCP instances, each running and
// boot-looping on its original boot disk (Windows, the faulty channel file on it: it does not
// boot), with what the program's lookups and the step scripts find there: projects, the default
// network and its subnetworks, the inventory's rescue subnetworks, the Secret Manager secrets
// `bitlockerSecret` names (recovery passwords for BitLocker-encrypted boot disks), and for strategy
// restore the snapshots of the original disk, one taken before the incident (it boots) and one
// after (it does not). Deterministic: the same inventory gives the same world.
import { sandboxFaultOf } from "./faults";
import { createHash } from "crypto";
import { VmEntry } from "../../components/core/contract/vm";
import { World } from "./world-file";
import { COMPUTE, GcpWorld, emptyGcpWorld, paths, regionOf } from "./gcp-world";

/** A digest of `text` for deterministic ids, numbers and passwords. */
const digest = (text: string) => createHash("sha256").update(text).digest();

/** `count` decimal digits derived from `text` (never starting with 0). */
function digits(text: string, count: number): string {
    const bytes = digest(text);
    let out = String(1 + (bytes[0] % 9));
    for (let i = 1; out.length < count; i++) out += String(bytes[i % bytes.length] % 10);
    return out;
}

/** A BitLocker recovery password: 8 groups of 6 digits, each a multiple of 11. */
export function recoveryPassword(seed: string): string {
    const bytes = digest(`recovery ${seed}`);
    return Array.from({ length: 8 }, (_, i) => String(((bytes[2 * i] * 256 + bytes[2 * i + 1]) % 65536) * 11).padStart(6, "0")).join("-");
}

/** When the faulty channel file arrived (2024-07-19 04:09 UTC); backups before it boot, those after do not. */
const BEFORE_INCIDENT = "2024-07-18T16:00:00.000-07:00";
const AFTER_INCIDENT = "2024-07-19T16:00:00.000-07:00";

/** What serial port 1 of a boot-looping Windows instance shows: an earlier healthy boot, then stop errors. */
const BOOT_LOOP = [
    "GCEGuestAgent: Windows is ready",
    "*** STOP: 0x00000050 (PAGE_FAULT_IN_NONPAGED_AREA) csagent.sys",
    "Resetting...",
    "*** STOP: 0x00000050 (PAGE_FAULT_IN_NONPAGED_AREA) csagent.sys",
    "Resetting...",
    "",
].join("\n");

/** What a copy of a Windows Server 2022 boot disk keeps (the lookups read them, the copies repeat them). */
const WINDOWS_FEATURES = ["WINDOWS", "MULTI_IP_SUBNET", "UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE", "GVNIC"];
const WINDOWS_LICENSE = "projects/windows-cloud/global/licenses/windows-server-2022-dc";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the stand-in CLIs' own module (plain JavaScript)
const linuxGuest = require("../cli/linux-guest.js") as { BOOT_LOOP: string };

/** What a copy of a RHEL 9 boot disk keeps. */
const LINUX_FEATURES = ["UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE", "SEV_CAPABLE", "GVNIC"];
const LINUX_LICENSE = "projects/rhel-cloud/global/licenses/rhel-9-server";

/** Restarts after which an instance of strategy reboot boots (it picks up the reverted file). */
const REBOOTS_TO_RECOVER = 2;

/** Adds a project, its default network and the default subnetwork of `region` (once each). */
function placeProject(w: GcpWorld, project: string, region: string): void {
    if (!w.projects.some((p) => p.projectId === project))
        w.projects.push({ projectId: project, name: project, lifecycleState: "ACTIVE", projectNumber: digits(`project ${project}`, 12) });
    const network = paths.network(project, "default");
    w.networks[network] ??= { project, name: "default", autoCreateSubnetworks: true };
    const subnetwork = paths.subnetwork(project, region, "default");
    w.subnetworks[subnetwork] ??= { project, region, name: "default", network, ipCidrRange: `10.${digest(region)[0] % 200}.0.0/20` };
}

/** Adds a subnetwork the inventory names for a rescue instance (`projects/P/regions/R/subnetworks/N`). */
function placeSubnetwork(w: GcpWorld, path: string): void {
    const [, project, region, name] = /^projects\/([^/]+)\/regions\/([^/]+)\/subnetworks\/([^/]+)$/.exec(path)!;
    placeProject(w, project, region);
    w.subnetworks[path] ??= {
        project,
        region,
        name,
        network: paths.network(project, "default"),
        ipCidrRange: `10.${200 + (digest(path)[0] % 50)}.0.0/24`,
    };
}

/** Adds the secret `bitlockerSecret` names, holding the disk's recovery password (as many versions as it names). */
function placeSecret(w: GcpWorld, name: string, instance: string): void {
    const [, project, secret, version] = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/(\d+|latest))?$/.exec(name)!;
    const versions = version && version !== "latest" ? Number(version) : 1;
    const existing = w.secrets[secret];
    if (existing && existing.project !== project)
        throw new Error(
            `secret ${secret} is named in two projects (${existing.project}, ${project}): the simulated GCP keys secrets by name`,
        );
    const password = recoveryPassword(name.replace(/\/versions\/.*$/, ""));
    w.secrets[secret] = {
        project,
        versions: Array.from({ length: Math.max(versions, existing?.versions.length ?? 0) }, () => password),
        labels: { "bootloop-rescue-instance": instance },
        replication: "automatic",
        iam: [],
    };
}

/** The snapshots of a restore VM's original disk: the one it names, else nightly ones before and after the incident. */
function placeRestorePoints(w: GcpWorld, vm: VmEntry, disk: string): void {
    const { project, zone } = vm.fields;
    const sourceDisk = `${COMPUTE}${paths.disk(project, zone, disk)}`;
    const shape = { diskSizeGb: 64, windows: true, guestOsFeatures: WINDOWS_FEATURES, licenses: [WINDOWS_LICENSE], labels: {} };
    const named = vm.restoreFrom ? /^(?:projects\/([^/]+)\/global\/snapshots\/)?(.+)$/.exec(vm.restoreFrom) : null;
    const points = named
        ? [{ name: named[2], project: named[1] ?? project, at: BEFORE_INCIDENT, boots: true }]
        : [
              { name: `${disk.slice(0, 46)}-nightly-20240718`, project, at: BEFORE_INCIDENT, boots: true },
              { name: `${disk.slice(0, 46)}-nightly-20240719`, project, at: AFTER_INCIDENT, boots: false },
          ];
    for (const p of points) {
        if (w.snapshots[p.name]) throw new Error(`snapshot ${p.name} would be seeded twice: the simulated GCP keys snapshots by name`);
        w.snapshots[p.name] = {
            ...shape,
            project: p.project,
            id: digits(`snapshot ${p.project}/${p.name}`, 19),
            status: "READY",
            sourceDisk,
            creationTimestamp: p.at,
            boots: p.boots,
            bitlocker: !!vm.fields.bitlockerSecret,
        };
    }
}

/** The GCP instances of `vms` (other clouds' entries are skipped), boot-looping, in a world of their own. */
export function seedGcpWorld(vms: readonly VmEntry[]): World {
    const w = emptyGcpWorld();
    for (const vm of vms.filter((v) => v.cloud === "gcp")) {
        const { project, zone, instance } = vm.fields;
        const disk = vm.fields.bootDisk ?? instance;
        const region = regionOf(zone);
        const other = w.instances[instance];
        if (other)
            throw new Error(
                `${vm.label}: instance ${instance} is in the inventory twice (also in ${other.project}/${other.zone}): the simulated GCP keys instances by name`,
            );
        if (w.disks[disk])
            throw new Error(`${vm.label}: disk ${disk} is another instance's boot disk: the simulated GCP keys disks by name`);
        placeProject(w, project, region);
        if (vm.fields.subnetwork) placeSubnetwork(w, vm.fields.subnetwork);
        const fault = sandboxFaultOf(vm);
        const linux = vm.os === "linux";
        w.disks[disk] = {
            project,
            zone,
            id: digits(`disk ${vm.key}`, 19),
            status: "READY",
            type: "pd-balanced",
            sizeGb: 64,
            boots: false,
            windows: !linux,
            // A Linux guest's disk: the stand-in agent reads it as one (and its copies, by their lineage).
            ...(linux ? { guest: "linux" as const } : {}),
            bitlocker: !!vm.fields.bitlockerSecret,
            attachedTo: instance,
            labels: {},
            guestOsFeatures: linux ? LINUX_FEATURES : WINDOWS_FEATURES,
            licenses: [linux ? LINUX_LICENSE : WINDOWS_LICENSE],
            sourceImage: linux
                ? "projects/rhel-cloud/global/images/rhel-9-v20240709"
                : "projects/windows-cloud/global/images/windows-server-2022-dc-v20240709",
            creationTimestamp: "2024-03-04T09:30:00.000-08:00",
            ...(fault ? { fault } : {}),
        };
        w.instances[instance] = {
            project,
            zone,
            id: digits(`instance ${vm.key}`, 19),
            status: "RUNNING",
            windows: !linux,
            ...(linux ? { guest: "linux" as const } : {}),
            disks: [{ source: disk, boot: true, deviceName: "persistent-disk-0", mode: "READ_WRITE", autoDelete: true }],
            serial: linux ? linuxGuest.BOOT_LOOP : BOOT_LOOP,
            stopPolls: 1,
            bootPolls: 1,
            // (A VM with a sandbox fault never does.)
            ...(vm.strategy === "reboot" && !fault ? { recoversAtReboot: REBOOTS_TO_RECOVER } : {}),
            machineType: "n2-standard-4",
            networkInterfaces: [
                {
                    network: paths.network(project, "default"),
                    subnetwork: paths.subnetwork(project, region, "default"),
                    networkIp: `10.${digest(region)[0] % 200}.0.${2 + (digest(vm.key)[0] % 250)}`,
                },
            ],
            metadata: {},
            labels: {},
            tags: [],
            creationTimestamp: "2024-03-04T09:30:00.000-08:00",
        };
        if (vm.fields.bitlockerSecret) placeSecret(w, vm.fields.bitlockerSecret, instance);
        if (vm.strategy === "restore") placeRestorePoints(w, vm, disk);
    }
    return w;
}
