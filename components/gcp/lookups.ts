import * as gcp from "@pulumi/gcp";
import { shortHash } from "../core/contract/identity";
import { VmEntry } from "../core/contract/vm";
import { scaleGroupMember } from "../core/contract/scale-group";
import { managedGroup } from "./identity";
import { Resolved, RestoreLookup } from "../core/contract/cloud-path";
import { chooseRestorePoint, listRestorePoints, markedRestorePoint, offlineRestorePoints } from "../core/restore-point";
import { RestoreListings } from "../core/restore-listings";
import { REMEDIES } from "../core/contract/remedies";
import { GcpConfig } from "./config";
import { offlineRestoreAnswer, withPlaceholders } from "../tools/offline/placeholders";
import { gcpScript } from "./scripts";

/** What the steps need to know about an instance, found by lookup (strings, as facts are). */
export interface GcpFacts {
    /** The boot disk the instance runs on now (the original, or a disk of ours after a swap; "none" when a swap was interrupted with none attached). */
    currentBootDisk: string;
    /** Boot disk properties the copies keep. */
    diskType: string;
    diskSize: string;
    guestOsFeatures: string;
    licenses: string;
    kmsKeySelfLink: string;
    /** Network and subnetwork the zone's rescue instance joins. */
    network: string;
    subnetwork: string;
}

const lastSegment = (url: string) => url.split("/").pop() ?? url;

/**
 * Looks up an instance and its boot disk. What the swap cannot handle is refused here, before
 * anything is declared: no boot disk, or one encrypted with a customer-supplied key (it cannot be
 * copied without the raw key). A restore point is searched for in the run's `listings` (one per
 * project).
 */
export async function lookUpInstance(
    vm: VmEntry,
    config: GcpConfig,
    listings: RestoreListings,
    provider?: gcp.Provider,
    restore?: RestoreLookup,
): Promise<Resolved> {
    const f = vm.fields;
    const found = await gcp.compute.getInstance({ name: f.instance, zone: f.zone, project: f.project }, { provider });
    const group = /\/instanceGroupManagers\/([^/]+)$/.exec(found.metadata?.["created-by"] ?? "")?.[1];
    if (group) throw scaleGroupMember(managedGroup(group));
    const boot = found.bootDisks?.[0];
    if (boot?.source && (boot.diskEncryptionKeyRaw || boot.diskEncryptionKeyRsa))
        throw new Error("its boot disk uses a customer-supplied encryption key, which cannot be copied without the raw key");
    const current = boot?.source ? lastSegment(boot.source) : "none";
    const disk = boot?.source
        ? await gcp.compute.getDisk({ name: current, zone: f.zone, project: f.project }, { provider })
        : await detachedBootDisk(vm, provider);
    const original = boot?.source ? originalDisk(current, disk.labels ?? {}) : disk.name;
    if (f.bootDisk && f.bootDisk !== original) throw new Error(`its boot disk is ${original}, not ${f.bootDisk} as the inventory says`);
    const nic = found.networkInterfaces?.[0];
    if (!nic) throw new Error("it has no network interface to place a rescue instance beside");
    const region = f.zone.replace(/-[a-z]$/, "");
    const facts: GcpFacts = {
        currentBootDisk: current,
        diskType: lastSegment(disk.type || "pd-balanced"),
        diskSize: String(disk.size ?? ""),
        guestOsFeatures: (disk.guestOsFeatures ?? []).map((g) => g.type).join(","),
        licenses: (disk.licenses ?? []).join(","),
        kmsKeySelfLink: disk.diskEncryptionKeys?.[0]?.kmsKeySelfLink ?? boot?.kmsKeySelfLink ?? "",
        network: nic.network,
        subnetwork: f.subnetwork ?? config.rescueSubnetworks[region] ?? nic.subnetwork,
    };
    const marks = disk.labels ?? {};
    const marked =
        marks["bootloop-rescue-role"] === "restored" && marks["bootloop-rescue-restore-project"]
            ? markedRestorePoint(marks["bootloop-rescue-restored-from"], marks["bootloop-rescue-restore-point-taken"])
            : undefined;
    const restorePoint =
        restore &&
        ((marked && { ...marked, id: `projects/${marks["bootloop-rescue-restore-project"]}/global/snapshots/${marked.id}` }) ??
            (await findRestorePoint(vm, original, restore.before, listings)));
    return { placement: { scope: f.project, region, zone: f.zone }, originalDiskId: original, facts: { ...facts }, restorePoint };
}

/**
 * An instance without a boot disk: a swap (or rollback) interrupted between detaching the original
 * and attaching the other. The original (the inventory's bootDisk, else GCE's default name, the
 * instance's), detached and labelled by the swap as this instance's original boot disk, lets the
 * swap or rollback finish.
 */
async function detachedBootDisk(vm: VmEntry, provider?: gcp.Provider): Promise<gcp.compute.GetDiskResult> {
    const f = vm.fields;
    const name = f.bootDisk ?? f.instance;
    let disk: gcp.compute.GetDiskResult | undefined;
    try {
        disk = await gcp.compute.getDisk({ name, zone: f.zone, project: f.project }, { provider });
    } catch {
        disk = undefined;
    }
    const labels = disk?.labels ?? {};
    const ours = labels["bootloop-rescue-role"] === "original-boot" && (labels["bootloop-rescue-instance"] ?? f.instance) === f.instance;
    if (!disk || !ours || (disk.users ?? []).length > 0) {
        throw new Error(
            `it has no boot disk, and ${name} is not its original boot disk detached by bootloop-rescue (label bootloop-rescue-role=original-boot); if a swap was interrupted, name the original with bootDisk in the inventory`,
        );
    }
    return disk;
}

/** Roles our fixed and restored disks carry; such a disk names the original it replaced. */
const OURS = ["fixed", "restored"];
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The original boot disk: the current one, unless that is a disk of ours, which names it. */
function originalDisk(current: string, labels: Record<string, string>): string {
    if (!OURS.includes(labels["bootloop-rescue-role"] ?? "")) return current;
    const original = labels["bootloop-rescue-original"] ?? "";
    if (!NAME.test(original))
        throw new Error(
            `it boots from ${current}, a bootloop-rescue disk that does not name the original boot disk it replaced (label bootloop-rescue-original)`,
        );
    return original;
}

/** A restoreFrom as the snapshot's project (the VM's own when it names none) and name. */
function namedSnapshot(vm: VmEntry): { project: string; name: string } | undefined {
    const named = vm.restoreFrom ? /^(?:projects\/([^/]+)\/global\/snapshots\/)?(.+)$/.exec(vm.restoreFrom) : null;
    return named ? { project: named[1] ?? vm.fields.project, name: named[2] } : undefined;
}

/**
 * Strategy restore: the entry's restoreFrom (looked up alone), or the newest ready snapshot of the
 * original before the cutoff, from the one listing of the project's snapshots.
 */
async function findRestorePoint(vm: VmEntry, original: string, before: string, listings: RestoreListings) {
    const named = namedSnapshot(vm);
    const sourceEnd = `/projects/${vm.fields.project}/zones/${vm.fields.zone}/disks/${original}`;
    const isOriginal = (source: string) => source.endsWith(sourceEnd);
    const list = (extra: Record<string, string> = {}) =>
        listRestorePoints("gcp-restore-points", gcpScript("restore-points"), {
            PROJECT: vm.fields.project,
            RESTORE_BEFORE: before,
            ...extra,
        });
    const candidates = named
        ? await list({ RESTORE_FROM: named.name, SNAPSHOT_PROJECT: named.project })
        : await listings.ofDisk(JSON.stringify([vm.fields.project, before]), list, isOriginal);
    const point = chooseRestorePoint(candidates, {
        explicit: named?.name,
        before,
        disk: original,
        isOriginal,
        otherDiskAllowed: vm.restoreFromOtherDisk,
    });
    const project = named ? named.project : vm.fields.project;
    return { id: `projects/${project}/global/snapshots/${point.id}`, createdAt: point.createdAt };
}

/** The offline plan's boot disk of an instance: the inventory's bootDisk, else the instance's name (GCE's default). */
const offlineBootDisk = (instance: string, entry: VmEntry | undefined) => entry?.fields.bootDisk ?? instance;

/** Placeholders for the offline plan, from the lookup's own arguments: never a real resource. */
export function offlineGcpLookup(
    token: string,
    inputs: Record<string, unknown>,
    vms: readonly VmEntry[] = [],
): Record<string, unknown> | undefined {
    const project = String(inputs.project);
    const zone = String(inputs.zone);
    const region = zone.replace(/-[a-z]$/, "");
    switch (token) {
        case "command:local:run": {
            const env = (inputs.environment ?? {}) as Record<string, string>;
            if (env.BOOTLOOP_LOOKUP !== "gcp-restore-points") return undefined;
            // The restore VMs of the listed project (their lookup asks for it), or the one naming RESTORE_FROM.
            const scoped = vms.filter((v) => REMEDIES[v.strategy].restores && v.fields.project === env.PROJECT);
            const sourceOf = (v: VmEntry) =>
                `https://www.googleapis.com/compute/v1/projects/${v.fields.project}/zones/${v.fields.zone}/disks/${offlineBootDisk(v.fields.instance, v)}`;
            const points = env.RESTORE_FROM
                ? scoped
                      .filter((v) => {
                          const named = namedSnapshot(v);
                          return named?.name === env.RESTORE_FROM && named.project === (env.SNAPSHOT_PROJECT || env.PROJECT);
                      })
                      .slice(0, 1)
                      .map((v) => ({ id: env.RESTORE_FROM, source: sourceOf(v) }))
                : scoped
                      .filter((v) => !v.restoreFrom)
                      .map((v) => ({ id: `${offlineBootDisk(v.fields.instance, v).slice(0, 50)}-nightly`, source: sourceOf(v) }));
            return offlineRestoreAnswer(offlineRestorePoints(env, points), env.RESTORE_FROM, (id) => [
                id,
                `projects/${env.SNAPSHOT_PROJECT || env.PROJECT}/global/snapshots/${id}`,
            ]);
        }
        case "gcp:compute/getInstance:getInstance": {
            const entry = vms.find((v) => v.fields.project === project && v.fields.zone === zone && v.fields.instance === inputs.name);
            // GCE names a boot disk after its instance unless told otherwise: a guess, offline.
            const bootDisk = offlineBootDisk(String(inputs.name), entry);
            const network = `projects/${project}/global/networks/default`;
            const subnetwork = `projects/${project}/regions/${region}/subnetworks/default-${shortHash(region).slice(0, 4)}`;
            const answer = {
                name: inputs.name,
                zone,
                project,
                bootDisks: [{ source: `projects/${project}/zones/${zone}/disks/${bootDisk}`, deviceName: "persistent-disk-0" }],
                networkInterfaces: [{ network, subnetwork }],
            };
            return withPlaceholders(
                answer,
                [entry?.fields.bootDisk ? undefined : bootDisk, network, subnetwork],
                entry ? [entry.key] : undefined,
            );
        }
        case "gcp:compute/getDisk:getDisk": {
            const type = `projects/${project}/zones/${zone}/diskTypes/pd-balanced`;
            const license = `projects/windows-cloud/global/licenses/windows-server-2022-dc`;
            const answer = {
                name: inputs.name,
                type,
                size: 64,
                guestOsFeatures: [{ type: "WINDOWS" }, { type: "MULTI_IP_SUBNET" }, { type: "UEFI_COMPATIBLE" }],
                licenses: [license],
                diskEncryptionKeys: [],
            };
            return withPlaceholders(answer, [type, license]);
        }
        default:
            return undefined;
    }
}
