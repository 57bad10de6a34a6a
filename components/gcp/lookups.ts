import * as gcp from "@pulumi/gcp";
import { shortHash } from "../core/identity";
import { VmEntry } from "../core/inventory/validate";
import { Resolved } from "../core/steps";
import { GcpConfig } from "./config";

/** What the steps need to know about an instance, found by lookup (strings, as facts are). */
export interface GcpFacts {
    /** The boot disk's name (never written; snapshotted, then kept for rollback). */
    bootDisk: string;
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
 * copied without the raw key).
 */
export async function lookUpInstance(vm: VmEntry, config: GcpConfig, provider?: gcp.Provider): Promise<Resolved> {
    const f = vm.fields;
    const found = await gcp.compute.getInstance({ name: f.instance, zone: f.zone, project: f.project }, { provider });
    const boot = found.bootDisks?.[0];
    if (!boot?.source) throw new Error("it has no boot disk");
    if (boot.diskEncryptionKeyRaw || boot.diskEncryptionKeyRsa) throw new Error("its boot disk uses a customer-supplied encryption key, which cannot be copied without the raw key");
    if (f.bootDisk && f.bootDisk !== lastSegment(boot.source)) throw new Error(`its boot disk is ${lastSegment(boot.source)}, not ${f.bootDisk} as the inventory says`);
    const disk = await gcp.compute.getDisk({ name: lastSegment(boot.source), zone: f.zone, project: f.project }, { provider });
    const nic = found.networkInterfaces?.[0];
    if (!nic) throw new Error("it has no network interface to place a rescue instance beside");
    const region = f.zone.replace(/-[a-z]$/, "");
    const facts: GcpFacts = {
        bootDisk: lastSegment(boot.source),
        diskType: lastSegment(disk.type || "pd-balanced"),
        diskSize: String(disk.size ?? ""),
        guestOsFeatures: (disk.guestOsFeatures ?? []).map((g) => g.type).join(","),
        licenses: (disk.licenses ?? []).join(","),
        kmsKeySelfLink: disk.diskEncryptionKeys?.[0]?.kmsKeySelfLink ?? boot.kmsKeySelfLink ?? "",
        network: nic.network,
        subnetwork: f.subnetwork ?? config.rescueSubnetworks[region] ?? nic.subnetwork,
    };
    return { placement: { scope: f.project, region, zone: f.zone }, facts: { ...facts } };
}

/** Placeholders for the offline plan, from the lookup's own arguments: never a real resource. */
export function offlineGcpLookup(token: string, inputs: Record<string, unknown>, vms: readonly VmEntry[] = []): Record<string, unknown> | undefined {
    const project = String(inputs.project);
    const zone = String(inputs.zone);
    const region = zone.replace(/-[a-z]$/, "");
    switch (token) {
        case "gcp:compute/getInstance:getInstance": {
            const entry = vms.find((v) => v.fields.project === project && v.fields.zone === zone && v.fields.instance === inputs.name);
            return {
                name: inputs.name,
                zone,
                project,
                bootDisks: [{ source: `projects/${project}/zones/${zone}/disks/${entry?.fields.bootDisk ?? String(inputs.name)}`, deviceName: "persistent-disk-0" }],
                networkInterfaces: [{ network: `projects/${project}/global/networks/default`, subnetwork: `projects/${project}/regions/${region}/subnetworks/default-${shortHash(region).slice(0, 4)}` }],
            };
        }
        case "gcp:compute/getDisk:getDisk":
            return {
                name: inputs.name,
                type: `projects/${project}/zones/${zone}/diskTypes/pd-balanced`,
                size: 64,
                guestOsFeatures: [{ type: "WINDOWS" }, { type: "MULTI_IP_SUBNET" }, { type: "UEFI_COMPATIBLE" }],
                licenses: [`projects/windows-cloud/global/licenses/windows-server-2022-dc`],
                diskEncryptionKeys: [],
            };
        default:
            return undefined;
    }
}
