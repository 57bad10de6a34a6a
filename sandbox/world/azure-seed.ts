// The simulated Azure a stack's sandbox starts from: each Azure VM of the inventory running and
// boot-looping on its original OS disk (a disk that does not boot), with what the program's lookups
// (getVirtualMachine, getDisk, getNetworkInterface), the step scripts and discovery find there: its
// resource group, OS disk, network interface in a subnet, boot diagnostics with the stop error, the
// BitLocker key of an Azure Disk Encryption disk in its Key Vault, and, for strategy restore, the
// backups of its OS disk (one from before the incident, which boots, and one after, which does not).
// Deterministic: the same inventory gives the same world (ids and keys are derived from the VMs'
// identities, never drawn at random).
import { createHash } from "crypto";
import { VmEntry } from "../../components/core/contract/vm";
import { AzDisk, AzResourceGroup, AzSnapshot, AzSubnet, AzVm, AzureWorld, armId, idKey, parseArmId, scopeOfId, vmKey } from "./azure-model";
import { World } from "./world-file";
import { sandboxFaultOf } from "./faults";
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the stand-in CLIs' own module (plain JavaScript)
const linuxGuest = require("../cli/linux-guest.js") as { BOOT_LOOP: string };

/** When the seeded VMs and disks were made (long before the incident). */
const SEEDED_AT = "2024-03-04T09:00:00.0000000+00:00";
/** Backups of a restore VM's OS disk: the nightly one before the faulty update, which boots, and the one after. */
const BACKUPS = [
    { day: "20240718", at: "2024-07-18T22:00:00.0000000+00:00", boots: true },
    { day: "20240719", at: "2024-07-19T22:00:00.0000000+00:00", boots: false },
];
/** What the serial console of a VM that boot-loops on the faulty channel file shows (discovery reads it). */
const BOOT_LOG = [
    "Windows Boot Manager",
    "Your device ran into a problem and needs to restart.",
    "Stop code: PAGE_FAULT_IN_NONPAGED_AREA",
    "What failed: csagent.sys",
    "",
].join("\r\n");

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
/** A GUID derived from a text. */
const guid = (text: string) => {
    const h = sha(text);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** A BitLocker external key file (BEK) as ADE keeps it: a header and key material, derived from `text`. */
export function seededBek(text: string): Buffer {
    const material = createHash("sha512").update(`bek ${text}`).digest();
    return Buffer.concat([Buffer.from([0x7c, 0, 0, 0, 1, 0, 0, 0]), material, material.subarray(0, 52)]);
}

/** Where one inventory VM is, with its fields filled in where the inventory leaves them out. */
interface Placed {
    vm: VmEntry;
    sub: string;
    rg: string;
    name: string;
    location: string;
    zone: string;
    osDiskId: string;
    ade: boolean;
}

function place(vm: VmEntry): Placed {
    const f = vm.fields;
    const n = parseInt(sha(vm.key).slice(0, 8), 16);
    const location = f.location ?? ["eastus2", "westeurope"][n % 2];
    const osDiskId =
        f.osDiskId ??
        armId({
            subscription: f.subscriptionId,
            resourceGroup: f.resourceGroup,
            type: "Microsoft.Compute/disks",
            name: `${f.vmName}_OsDisk_1_${sha(`${vm.key} os disk`).slice(0, 32)}`,
        });
    return {
        vm,
        sub: f.subscriptionId,
        rg: f.resourceGroup,
        name: f.vmName,
        location,
        zone: f.zone ?? String(1 + (n % 3)),
        osDiskId,
        ade: f.diskEncryption === "ade",
    };
}

/** The initial world of the inventory's Azure VMs (entries of other clouds are ignored). */
export function seedAzureWorld(vms: readonly VmEntry[]): World {
    const placed = vms.filter((vm) => vm.cloud === "azure").map(place);
    const subscriptions = [...new Set(placed.map((p) => p.sub))];
    const world: AzureWorld = {
        subscription: subscriptions[0] ?? "11111111-2222-3333-4444-555555555555",
        subscriptions,
        accounts: subscriptions.map((id, i) => ({ id, name: `Subscription ${i + 1}`, state: "Enabled" })),
        resourceGroups: {},
        vms: {},
        disks: {},
        snapshots: {},
        runCommands: {},
        networkInterfaces: {},
        networkSecurityGroups: {},
        subnets: {},
        keyVault: { secrets: {}, keys: {} },
    };
    const group = (subscription: string, name: string, location: string) => {
        const rg: AzResourceGroup = { name, subscription, location };
        world.resourceGroups[name.toLowerCase()] ??= rg;
    };
    for (const p of placed) {
        group(p.sub, p.rg, p.location);
        const subnet = seedSubnet(world, p);
        const ref = scopeOfId(subnet.id)!;
        group(ref.subscription, ref.resourceGroup, p.location);
        const nicId = seedNic(world, p, subnet);
        const disk = seedOsDisk(world, p);
        group(disk.subscription, disk.resourceGroup, p.location);
        world.vms[vmKey(p.rg, p.name)] = seedVm(p, nicId);
        if (p.vm.strategy === "restore") seedBackups(world, p, disk);
    }
    return world;
}

/** The subnet the VM's network interface is in: the inventory's subnetId, or `default` of a network per group and location. */
function seedSubnet(world: AzureWorld, p: Placed): AzSubnet {
    const id =
        p.vm.fields.subnetId ??
        `${armId({ subscription: p.sub, resourceGroup: p.rg, type: "Microsoft.Network/virtualNetworks", name: `vnet-${p.location}` })}/subnets/default`;
    world.subnets[idKey(id)] ??= { id, name: id.split("/").pop()!, addressPrefix: "10.0.0.0/24", location: p.location };
    return world.subnets[idKey(id)];
}

function seedNic(world: AzureWorld, p: Placed, subnet: AzSubnet): string {
    const id = armId({ subscription: p.sub, resourceGroup: p.rg, type: "Microsoft.Network/networkInterfaces", name: `${p.name}-nic` });
    const inSubnet = Object.values(world.networkInterfaces).filter((n) => idKey(n.subnet) === idKey(subnet.id)).length;
    const mac = sha(`${p.vm.key} mac`).slice(0, 12).toUpperCase();
    world.networkInterfaces[idKey(id)] = {
        id,
        name: `${p.name}-nic`,
        location: p.location,
        subnet: subnet.id,
        privateIPAddress: `10.0.${Math.floor(inSubnet / 250)}.${4 + (inSubnet % 250)}`,
        virtualMachine: armId({ subscription: p.sub, resourceGroup: p.rg, type: "Microsoft.Compute/virtualMachines", name: p.name }),
        macAddress: mac.replace(/(..)(?!$)/g, "$1-"),
        resourceGuid: guid(`${p.vm.key} nic`),
        tags: {},
    };
    return id;
}

/** The ADE settings of the OS disk and its BEK in the group's vault. */
function seedAde(world: AzureWorld, p: Placed): { settings: Record<string, unknown>; bekSha256: string } {
    const vault = `kv-${sha(`${p.sub}/${p.rg}`.toLowerCase()).slice(0, 8)}`;
    const vaultId = armId({ subscription: p.sub, resourceGroup: p.rg, type: "Microsoft.KeyVault/vaults", name: vault });
    const secretUrl = `https://${vault}.vault.azure.net/secrets/${guid(`${p.vm.key} bek`)}/${sha(`${p.vm.key} bek version`).slice(0, 32)}`;
    const bek = seededBek(p.vm.key);
    world.keyVault.secrets[secretUrl.toLowerCase()] = {
        value: bek.toString("base64"),
        contentType: "BEK",
        tags: { DiskEncryptionKeyFileName: `${guid(`${p.vm.key} bek`).toUpperCase()}.BEK`, MachineName: p.name.toUpperCase() },
    };
    return {
        settings: {
            enabled: true,
            encryptionSettingsVersion: "1.1",
            encryptionSettings: [{ diskEncryptionKey: { secretUrl, sourceVault: { id: vaultId } } }],
        },
        bekSha256: createHash("sha256").update(bek).digest("hex"),
    };
}

function seedOsDisk(world: AzureWorld, p: Placed): AzDisk {
    const ref = parseArmId(p.osDiskId)!;
    const ade = p.ade ? seedAde(world, p) : undefined;
    const disk: AzDisk = {
        id: p.osDiskId,
        name: ref.name,
        resourceGroup: ref.resourceGroup,
        subscription: ref.subscription,
        location: p.location,
        zones: [p.zone],
        sku: { name: "Premium_LRS", tier: "Premium" },
        osType: p.vm.os === "linux" ? "Linux" : "Windows",
        hyperVGeneration: "V2",
        ...(ade ? {} : { securityProfile: { securityType: "TrustedLaunch" } }),
        encryption: { type: "EncryptionAtRestWithPlatformKey" },
        ...(ade ? { encryptionSettingsCollection: ade.settings } : {}),
        creationData: {
            createOption: "FromImage",
            imageReference: {
                id: `/Subscriptions/${p.sub}/Providers/Microsoft.Compute/Locations/${p.location}/Publishers/MicrosoftWindowsServer/ArtifactTypes/VMImage/Offers/WindowsServer/Skus/2022-datacenter-azure-edition/Versions/20348.2527.240605`,
            },
        },
        diskSizeGB: 128,
        tags: {},
        timeCreated: SEEDED_AT,
        uniqueId: guid(`${p.vm.key} os disk`),
        provisioningState: "Succeeded",
        boots: false,
        attachedTo: vmKey(p.rg, p.name),
        ...(ade ? { bitlocker: { bekSha256: [ade.bekSha256] } } : {}),
        ...(sandboxFaultOf(p.vm) ? { fault: sandboxFaultOf(p.vm) } : {}),
        // A Linux guest's disk: the stand-in repair reads it as one (and its copies, by their lineage).
        ...(p.vm.os === "linux" ? { guest: "linux" as const } : {}),
    };
    world.disks[idKey(p.osDiskId)] = disk;
    return disk;
}

function seedVm(p: Placed, nicId: string): AzVm {
    return {
        name: p.name,
        resourceGroup: p.rg,
        subscription: p.sub,
        location: p.location,
        zones: [p.zone],
        osType: p.vm.os === "linux" ? "Linux" : "Windows",
        computerName: p.name.replace(/[^A-Za-z0-9-]/g, "").slice(0, 15) || "WINDOWS",
        vmId: guid(`${p.vm.key} vmId`),
        osDisk: p.osDiskId,
        power: "running",
        agent: "",
        stopPolls: 1,
        bootPolls: 1,
        dataDisks: {},
        bootDiagnostics: true,
        bootLog: p.vm.os === "linux" ? linuxGuest.BOOT_LOOP : BOOT_LOG,
        ...(p.ade ? { ade: true } : { securityType: "TrustedLaunch" }),
        // Strategy reboot: the reverted channel file arrives at the third restart (Azure saw up to 15).
        // (A VM with a sandbox fault never does.)
        ...(p.vm.strategy === "reboot" && !sandboxFaultOf(p.vm) ? { recoversAtReboot: 3 } : {}),
        vmSize: "Standard_D4s_v5",
        nics: [nicId],
        tags: {},
        provisioningState: "Succeeded",
        timeCreated: SEEDED_AT,
    };
}

/** Strategy restore: the snapshots of the original OS disk (or the one restoreFrom names). */
function seedBackups(world: AzureWorld, p: Placed, disk: AzDisk): void {
    const snapshot = (name: string, at: string, boots: boolean, source: string): AzSnapshot => ({
        name,
        resourceGroup: p.rg,
        subscription: p.sub,
        location: p.location,
        source,
        timeCreated: at,
        state: "Succeeded",
        incremental: true,
        sku: { name: "Standard_ZRS", tier: "Standard" },
        osType: disk.osType,
        hyperVGeneration: disk.hyperVGeneration,
        ...(disk.securityProfile ? { securityProfile: disk.securityProfile } : {}),
        encryption: disk.encryption,
        ...(disk.encryptionSettingsCollection ? { encryptionSettingsCollection: disk.encryptionSettingsCollection } : {}),
        diskSizeGB: disk.diskSizeGB,
        tags: {},
        uniqueId: guid(`${p.vm.key} ${name}`),
        boots,
        ...(disk.bitlocker ? { bitlocker: disk.bitlocker } : {}),
    });
    const named = p.vm.restoreFrom && /\/providers\/Microsoft\.Compute\/snapshots\/[^/]+$/i.test(p.vm.restoreFrom) ? p.vm.restoreFrom : "";
    if (named) {
        // A golden image's snapshot (restoreFromOtherDisk) was taken of another disk.
        const ref = parseArmId(named)!;
        const source = p.vm.restoreFromOtherDisk
            ? armId({
                  subscription: ref.subscription,
                  resourceGroup: ref.resourceGroup,
                  type: "Microsoft.Compute/disks",
                  name: "golden-os",
              })
            : p.osDiskId;
        world.snapshots[named] = {
            ...snapshot(ref.name, BACKUPS[0].at, true, source),
            resourceGroup: ref.resourceGroup,
            subscription: ref.subscription,
        };
        world.resourceGroups[ref.resourceGroup.toLowerCase()] ??= {
            name: ref.resourceGroup,
            subscription: ref.subscription,
            location: p.location,
        };
        return;
    }
    for (const b of BACKUPS) {
        const name = `${p.name.slice(0, 60)}-nightly-${b.day}`;
        const id = armId({ subscription: p.sub, resourceGroup: p.rg, type: "Microsoft.Compute/snapshots", name });
        world.snapshots[id] = snapshot(name, b.at, b.boots, p.osDiskId);
    }
}
