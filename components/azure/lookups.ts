import * as compute from "@pulumi/azure-native/compute";
import * as network from "@pulumi/azure-native/network";
import { Provider } from "@pulumi/azure-native/provider";
import { shortHash } from "../core/contract/identity";
import { VmEntry } from "../core/contract/vm";
import { scaleGroupMember } from "../core/contract/scale-group";
import { scaleSetOf } from "./identity";
import { Resolved, RestoreLookup } from "../core/contract/cloud-path";
import { chooseRestorePoint, listRestorePoints, markedRestorePoint, offlineRestorePoints } from "../core/restore-point";
import { RestoreListings } from "../core/restore-listings";
import { REMEDIES } from "../core/contract/remedies";
import { AzureConfig } from "./config";
import { azureScript } from "./scripts";
import { adeKeys, adeOf, fetchAdeBeks } from "./ade";
import { SECRET_LOOKUP } from "../gate/secret-lookup";
import { offlineRestoreAnswer, withPlaceholders } from "../tools/offline/placeholders";

/** What the steps need to know about a VM, found by lookup (strings, as facts are). */
export interface AzureFacts {
    /** The OS disk the VM runs on now (the original, or a disk of ours after a swap). */
    currentOsDiskId: string;
    /** Disk properties a later OS-disk swap needs on the copies. */
    osDiskSku: string;
    hyperVGeneration: string;
    securityType: string;
    diskEncryptionSetId: string;
    encryptionType: string;
    /** The OS disk's Azure Disk Encryption settings (JSON of an AdeCollection); "" without ADE. */
    adeSettings: string;
    /** Subnet the zone's rescue VM joins. */
    subnetId: string;
}

/** Parts of an Azure resource id: subscription, resource group, name. */
export function parseResourceId(id: string): { subscription: string; resourceGroup: string; name: string } {
    const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/[^/]+\/[^/]+\/([^/]+)/i.exec(id);
    if (!m) throw new Error(`not an Azure resource id: ${id}`);
    return { subscription: m[1], resourceGroup: m[2], name: m[3] };
}

/**
 * Looks up a VM, its OS disk and its subnet. What would stop the OS-disk swap is refused here,
 * before anything is declared, with the reason: unmanaged or ephemeral OS disks, confidential VMs,
 * a VM whose OS is not its entry's `os`, Azure Disk Encryption on a Linux VM, and a location or
 * zone that differs from the inventory's. A restore point is searched for in the run's `listings`
 * (one per subscription).
 */
export async function lookUpVm(
    vm: VmEntry,
    provider: Provider,
    config: AzureConfig,
    listings: RestoreListings,
    restore?: RestoreLookup,
): Promise<Resolved> {
    const f = vm.fields;
    const found = await compute.getVirtualMachine({ resourceGroupName: f.resourceGroup, vmName: f.vmName }, { provider });
    const scaleSet = found.virtualMachineScaleSet?.id;
    if (scaleSet) throw scaleGroupMember(scaleSetOf(scaleSet));
    const os = found.storageProfile?.osDisk;
    if (!os?.managedDisk?.id)
        throw new Error("its OS disk is not a managed disk; unmanaged (VHD) OS disks cannot be repaired by this version");
    if (os.diffDiskSettings) throw new Error("it has an ephemeral OS disk, which holds no state to repair: reimage the VM instead");
    // The entry's os says which the VM runs (Windows by default): a Linux VM needs os: linux.
    const expected = vm.os === "linux" ? "Linux" : "Windows";
    if (os.osType && os.osType !== expected)
        throw new Error(
            `it runs ${os.osType}, not ${expected}${os.osType === "Linux" ? " (give its entry os: linux)" : vm.os === "linux" ? " as its entry's os: linux says" : ""}`,
        );
    const securityType = found.securityProfile?.securityType ?? "";
    if (securityType === "ConfidentialVM")
        throw new Error(
            "it is a confidential VM; its OS disk is bound to the VM's guest state and cannot be repaired offline on a rescue VM",
        );
    const zone = found.zones?.[0] ?? "";
    if (f.location && f.location !== found.location)
        throw new Error(`it is in ${found.location}, not in ${f.location} as the inventory says`);
    if (f.zone && f.zone !== zone) throw new Error(`it is in zone ${zone || "(none)"}, not in zone ${f.zone} as the inventory says`);
    const diskRef = parseResourceId(os.managedDisk.id);
    const disk = await compute.getDisk({ resourceGroupName: diskRef.resourceGroup, diskName: diskRef.name }, { provider });
    const original = originalDisk(os.managedDisk.id, disk.tags ?? {});
    if (f.osDiskId && f.osDiskId.toLowerCase() !== original.toLowerCase())
        throw new Error(`its OS disk is ${original}, not ${f.osDiskId} as the inventory says`);
    const ade = adeOf({ vmOsDisk: os.encryptionSettings, disk: disk.encryptionSettingsCollection });
    if (ade && vm.os === "linux")
        throw new Error(
            "its OS disk has Azure Disk Encryption (dm-crypt on Linux), which the repair engine cannot open: recover it by hand",
        );
    if (f.diskEncryption && f.diskEncryption !== (ade ? "ade" : "none"))
        throw new Error(
            `its OS disk ${ade ? "has" : "does not have"} Azure Disk Encryption on, not ${f.diskEncryption} as the inventory says`,
        );
    const nicId = found.networkProfile?.networkInterfaces?.[0]?.id;
    if (!nicId) throw new Error("it has no network interface to place a rescue VM beside");
    const nicRef = parseResourceId(nicId);
    const nic = await network.getNetworkInterface(
        { resourceGroupName: nicRef.resourceGroup, networkInterfaceName: nicRef.name },
        { provider },
    );
    const subnetId = f.subnetId ?? config.rescueSubnetIds[found.location] ?? nic.ipConfigurations?.[0]?.subnet?.id;
    if (!subnetId) throw new Error("its network interface has no subnet");
    const facts: AzureFacts = {
        currentOsDiskId: os.managedDisk.id,
        osDiskSku: disk.sku?.name ?? "Premium_LRS",
        hyperVGeneration: disk.hyperVGeneration ?? "V1",
        securityType: disk.securityProfile?.securityType ?? securityType,
        diskEncryptionSetId: disk.encryption?.diskEncryptionSetId ?? "",
        encryptionType: disk.encryption?.type ?? "",
        adeSettings: ade ? JSON.stringify(ade) : "",
        subnetId,
    };
    const marks = disk.tags ?? {};
    const restorePoint =
        restore &&
        ((marks["bootloop-rescue-role"] === "restored"
            ? markedRestorePoint(marks["bootloop-rescue-restored-from"], marks["bootloop-rescue-restore-point-taken"])
            : undefined) ??
            (await findRestorePoint(vm, original, restore.before, listings)));
    // The BEKs are fetched only while the VM still runs on its original disk: once a disk of ours
    // is in, its repair is done.
    const onOriginal = original.toLowerCase() === os.managedDisk.id.toLowerCase();
    const fetchBeks = ade && onOriginal ? () => fetchAdeBeks(vm, adeKeys(ade)) : undefined;
    return {
        placement: { scope: f.subscriptionId.toLowerCase(), region: found.location, zone },
        originalDiskId: original,
        facts: { ...facts },
        restorePoint,
        fetchBeks,
    };
}

/** Roles our fixed and restored disks carry; such a disk names the original it replaced. */
const OURS = ["fixed", "restored"];
const DISK_ID =
    /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[A-Za-z0-9_.()-]{1,90}\/providers\/Microsoft\.Compute\/disks\/[A-Za-z0-9_.-]{1,80}$/;

/** The original OS disk: the current one, unless that is a disk of ours, which names it. */
function originalDisk(current: string, tags: Record<string, string>): string {
    if (!OURS.includes(tags["bootloop-rescue-role"] ?? "")) return current;
    const original = tags["bootloop-rescue-original"] ?? "";
    if (!DISK_ID.test(original))
        throw new Error(
            `it runs on ${current}, a bootloop-rescue disk that does not name the original OS disk it replaced (tag bootloop-rescue-original)`,
        );
    return original;
}

/**
 * Strategy restore: the entry's restoreFrom (looked up alone), or the newest snapshot of the
 * original before the cutoff, from the one listing of the subscription's snapshots.
 */
async function findRestorePoint(vm: VmEntry, original: string, before: string, listings: RestoreListings) {
    const subscription = vm.fields.subscriptionId.toLowerCase();
    const isOriginal = (source: string) => source.toLowerCase() === original.toLowerCase();
    const list = (extra: Record<string, string> = {}) =>
        listRestorePoints("azure-restore-points", azureScript("restore-points"), {
            SUBSCRIPTION_ID: vm.fields.subscriptionId,
            RESTORE_BEFORE: before,
            ...extra,
        });
    const candidates = vm.restoreFrom
        ? await list({ RESTORE_FROM: vm.restoreFrom })
        : await listings.ofDisk(JSON.stringify([subscription, before]), list, isOriginal);
    return chooseRestorePoint(candidates, {
        explicit: vm.restoreFrom,
        before,
        disk: original,
        isOriginal,
        otherDiskAllowed: vm.restoreFromOtherDisk,
    });
}

/** The OS disk name of an offline-plan VM placeholder. */
const offlineOsDiskName = (vmName: string) => `${vmName}_OsDisk_1_${shortHash(vmName)}`;

/** The offline plan's OS disk of a VM: the inventory's osDiskId, else one named as Azure names them, in the VM's resource group. */
function offlineOsDiskId(sub: string, rg: string, vmName: string, entry: VmEntry | undefined): string {
    return (
        entry?.fields.osDiskId ??
        `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/disks/${offlineOsDiskName(vmName)}`
    );
}

/** ADE settings for the offline plan: a vault per resource group, a BEK per disk wrapped by the vault's KEK. */
function offlineAdeSettings(rg: string, disk: string) {
    const vault = `kv-${shortHash(rg)}`;
    const vaultId = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${vault}`;
    const version = (text: string) => [1, 2, 3, 4].map((i) => shortHash(`${i} ${text}`)).join("");
    return {
        enabled: true,
        encryptionSettingsVersion: "1.1",
        encryptionSettings: [
            {
                diskEncryptionKey: {
                    secretUrl: `https://${vault}.vault.azure.net/secrets/bek-${shortHash(disk)}/${version(disk)}`,
                    sourceVault: { id: vaultId },
                },
                keyEncryptionKey: {
                    keyUrl: `https://${vault}.vault.azure.net/keys/ade-kek/${version(vault)}`,
                    sourceVault: { id: vaultId },
                },
            },
        ],
    };
}

/**
 * Placeholders for the offline plan, from the lookup's arguments and the inventory entry they name
 * (its subscription, and its location and zone when given): never a real resource.
 */
export function offlineAzureLookup(
    token: string,
    inputs: Record<string, unknown>,
    vms: readonly VmEntry[],
): Record<string, unknown> | undefined {
    const h = (text: string) => shortHash(text);
    switch (token) {
        case "azure-native:compute:getVirtualMachine": {
            const rg = String(inputs.resourceGroupName);
            const name = String(inputs.vmName);
            const entry = vms.find(
                (v) => v.fields.resourceGroup.toLowerCase() === rg.toLowerCase() && v.fields.vmName.toLowerCase() === name.toLowerCase(),
            );
            const sub = entry?.fields.subscriptionId ?? "00000000-0000-0000-0000-000000000000";
            const n = parseInt(h(`${rg}/${name}`), 16);
            const location = entry?.fields.location ?? ["eastus2", "westeurope"][n % 2];
            const zone = entry?.fields.zone ?? String(1 + (n % 3));
            const osDiskId = offlineOsDiskId(sub, rg, name, entry);
            const nicId = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/networkInterfaces/${name}-nic`;
            const answer = {
                id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`,
                name,
                location,
                zones: [zone],
                securityProfile: { securityType: "TrustedLaunch" },
                storageProfile: { osDisk: { osType: entry?.os === "linux" ? "Linux" : "Windows", managedDisk: { id: osDiskId } } },
                networkProfile: { networkInterfaces: [{ id: nicId }] },
            };
            const invented = [
                entry?.fields.location ? undefined : location,
                entry?.fields.zone ? undefined : zone,
                entry?.fields.osDiskId ? undefined : osDiskId,
                nicId,
                entry ? undefined : sub,
            ];
            return withPlaceholders(answer, invented, entry ? [entry.key] : undefined);
        }
        case "azure-native:compute:getDisk": {
            const rg = String(inputs.resourceGroupName);
            const osDiskName = (v: VmEntry) =>
                v.fields.osDiskId ? parseResourceId(v.fields.osDiskId).name : offlineOsDiskName(v.fields.vmName);
            const ade = vms.some(
                (v) =>
                    v.fields.diskEncryption === "ade" &&
                    v.fields.resourceGroup.toLowerCase() === rg.toLowerCase() &&
                    osDiskName(v).toLowerCase() === String(inputs.diskName).toLowerCase(),
            );
            const disk = {
                name: inputs.diskName,
                sku: { name: "Premium_LRS" },
                hyperVGeneration: "V2",
                osType: "Windows",
                securityProfile: { securityType: "TrustedLaunch" },
                encryption: { type: "EncryptionAtRestWithPlatformKey" },
                diskSizeGB: 128,
            };
            if (!ade) return withPlaceholders(disk, []);
            const settings = offlineAdeSettings(rg, String(inputs.diskName));
            const urls = settings.encryptionSettings.flatMap((e) => [
                e.diskEncryptionKey.secretUrl,
                e.diskEncryptionKey.sourceVault.id,
                e.keyEncryptionKey.keyUrl,
                e.keyEncryptionKey.sourceVault.id,
            ]);
            return withPlaceholders({ ...disk, encryptionSettingsCollection: settings }, urls);
        }
        case "azure-native:network:getNetworkInterface": {
            const rg = String(inputs.resourceGroupName);
            const subnetId = `/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/vnet-${h(rg)}/subnets/default`;
            return withPlaceholders({ ipConfigurations: [{ subnet: { id: subnetId } }] }, [subnetId]);
        }
        case "command:local:run": {
            const env = (inputs.environment ?? {}) as Record<string, string>;
            if (env.BOOTLOOP_LOOKUP !== "azure-restore-points") return undefined;
            // The restore VMs of the listed subscription (their lookup asks for it), or the one naming RESTORE_FROM.
            const sub = String(env.SUBSCRIPTION_ID).toLowerCase();
            const scoped = vms.filter((v) => REMEDIES[v.strategy].restores && v.fields.subscriptionId.toLowerCase() === sub);
            const diskOf = (v: VmEntry) => offlineOsDiskId(v.fields.subscriptionId, v.fields.resourceGroup, v.fields.vmName, v);
            const points = env.RESTORE_FROM
                ? scoped
                      .filter((v) => v.restoreFrom?.toLowerCase() === env.RESTORE_FROM.toLowerCase())
                      .slice(0, 1)
                      .map((v) => ({ id: env.RESTORE_FROM, source: diskOf(v) }))
                : scoped
                      .filter((v) => !v.restoreFrom)
                      .map(diskOf)
                      .map((id) => {
                          const disk = parseResourceId(id);
                          return {
                              id: `/subscriptions/${disk.subscription}/resourceGroups/${disk.resourceGroup}/providers/Microsoft.Compute/snapshots/${disk.name.slice(0, 60)}-nightly`,
                              source: id,
                          };
                      });
            return offlineRestoreAnswer(offlineRestorePoints(env, points), env.RESTORE_FROM);
        }
        case SECRET_LOOKUP: {
            if (inputs.lookup !== "azure-ade-key") return undefined;
            // A stand-in key file: the plan keeps it as a secret, as it keeps the real one.
            return {
                stdout: Buffer.from(
                    `offline plan placeholder, no key fetched: ${(inputs.environment as Record<string, string>).SECRET_URL}`.padEnd(
                        96,
                        ".",
                    ),
                ).toString("base64"),
            };
        }
        case "azure-native:compute:getVirtualMachineRunCommandByVirtualMachine":
            return {
                instanceView: {
                    exitCode: 0,
                    output: JSON.stringify({
                        tool: "bootloop-rescue/repair-disk",
                        outcome: "planned",
                        message: "offline plan: no repair ran",
                    }),
                },
            };
        default:
            return undefined;
    }
}
