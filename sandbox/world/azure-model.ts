// The simulated Azure's world (FAKE_AZ_STATE) as the stand-in az CLI (sandbox/cli/azure/az) and
// the stand-in azure-native provider both read it: the CLI's fields (a VM's power, agent and disks,
// a disk's boots, attachedTo and tags, a snapshot's source, timeCreated and state, a Run Command's
// output) plus what the provider and its lookups need besides (locations, SKUs, encryption, network).
// Keys as the CLI keys them: VMs by "<group>/<name>", disks by their id, Run Commands by
// "<group>/<vm>/<name>", all lowercase; snapshots by their id as written (the CLI compares ids
// without regard to case).
import { SandboxFault } from "./faults";

/** A resource id's parts. */
export interface ArmRef {
    subscription: string;
    resourceGroup: string;
    /** `Microsoft.Compute/disks`, `Microsoft.Network/networkInterfaces`, … */
    type: string;
    name: string;
}

/** The id of a top-level resource: `/subscriptions/…/resourceGroups/…/providers/<type>/<name>`. */
export function armId(ref: ArmRef): string {
    return `/subscriptions/${ref.subscription}/resourceGroups/${ref.resourceGroup}/providers/${ref.type}/${ref.name}`;
}

/** The parts of a top-level resource id, or undefined when `id` is not one. */
export function parseArmId(id: string): ArmRef | undefined {
    const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+\/[^/]+)\/([^/]+)$/i.exec(id);
    return m ? { subscription: m[1], resourceGroup: m[2], type: m[3], name: m[4] } : undefined;
}

/** The subscription and resource group of any resource id (nested ones too), or undefined. */
export function scopeOfId(id: string): { subscription: string; resourceGroup: string } | undefined {
    const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\//i.exec(id);
    return m ? { subscription: m[1], resourceGroup: m[2] } : undefined;
}

/** The key of a VM in `world.vms`. */
export const vmKey = (resourceGroup: string, name: string): string => `${resourceGroup}/${name}`.toLowerCase();
/** The key of a Run Command in `world.runCommands`. */
export const runCommandKey = (resourceGroup: string, vm: string, name: string): string => `${resourceGroup}/${vm}/${name}`.toLowerCase();
/** The key of anything kept by id (disks, network interfaces, security groups, subnets, resource groups). */
export const idKey = (id: string): string => id.toLowerCase();

/** Where a resource group is: which subscription holds it (the provider's resources name only their group). */
export interface AzResourceGroup {
    name: string;
    subscription: string;
    location: string;
}

/** BitLocker on the volumes of a disk's data: the SHA-256 of each BEK file that unlocks it. Copies keep it. */
export interface AzBitlocker {
    bekSha256: string[];
}

/** What a repair left on a disk: the evidence of the run that repaired it (copies keep it). */
export interface AzRepairMark {
    runCommand: string;
    at: string;
}

/** A VM. The CLI's fields first (see sandbox/cli/azure/az), then the provider's. */
export interface AzVm {
    name: string;
    /** Its resource group as written (the key has it lowercase). */
    resourceGroup?: string;
    subscription: string;
    location: string;
    zones: string[] | null;
    osType: "Windows" | "Linux";
    computerName: string;
    vmId: string;
    /** The OS disk's id. */
    osDisk: string;
    power: string;
    agent: string;
    stopPolls?: number;
    bootPolls?: number;
    agentPolls?: number;
    /** LUN → data disk id. */
    dataDisks: Record<string, string>;
    bootDiagnostics?: boolean;
    bootLog?: string;
    securityType?: string;
    /** Azure Disk Encryption extension on the VM (discovery reads it). */
    ade?: boolean;
    /** Boots healthy from this restart on (the CLI's reboot model). */
    recoversAtReboot?: number;
    restarts?: number;
    vmSize: string;
    /** Network interface ids, the primary first. */
    nics: string[];
    tags: Record<string, string>;
    provisioningState: string;
    timeCreated: string;
    /** What goes with the VM when it is deleted (deleteOption Delete): its OS disk, its network interfaces. */
    deletes?: { osDisk: boolean; nics: boolean };
    /** The version of the bootloop-rescue tools a Run Command installed (rescue VMs). */
    rescueTools?: string;
    imageReference?: Record<string, string>;
}

/** A managed disk. The CLI's fields (boots, attachedTo, tags) and the model's. */
export interface AzDisk {
    id: string;
    name: string;
    resourceGroup: string;
    subscription: string;
    location: string;
    zones: string[] | null;
    sku: { name: string; tier: string };
    osType?: string;
    hyperVGeneration?: string;
    securityProfile?: { securityType: string };
    encryption: { type: string; diskEncryptionSetId?: string };
    encryptionSettingsCollection?: Record<string, unknown>;
    creationData: { createOption: string; sourceResourceId?: string; imageReference?: Record<string, string> };
    diskSizeGB: number;
    tags: Record<string, string>;
    timeCreated: string;
    uniqueId: string;
    provisioningState: string;
    /** Does Windows boot from it? false: it boot-loops (the CLI's model). */
    boots: boolean;
    /** The VM it is attached to ("<group>/<name>", as the CLI keeps it). */
    attachedTo?: string;
    bitlocker?: AzBitlocker;
    repaired?: AzRepairMark;
    /** A sandbox fault of the VM whose original OS disk this is (sandbox/world/faults.ts). */
    fault?: SandboxFault;
    /** `linux`: the original OS disk of a Linux VM (the stand-in repair traces copies back to it). */
    guest?: "linux";
}

/** A managed snapshot: the CLI's fields (source, timeCreated, state) and the model's. */
export interface AzSnapshot {
    name: string;
    resourceGroup: string;
    subscription: string;
    location: string;
    /** The disk it was taken of. */
    source: string;
    timeCreated: string;
    /** Its provisioning state: Creating, then Succeeded. */
    state: string;
    incremental: boolean;
    sku: { name: string; tier: string };
    osType?: string;
    hyperVGeneration?: string;
    securityProfile?: { securityType: string };
    encryption: { type: string; diskEncryptionSetId?: string };
    encryptionSettingsCollection?: Record<string, unknown>;
    diskSizeGB: number;
    tags: Record<string, string>;
    uniqueId: string;
    boots: boolean;
    bitlocker?: AzBitlocker;
    repaired?: AzRepairMark;
}

/** A Run Command on a VM, as `az vm run-command show --instance-view` reports it and the provider keeps it. */
export interface AzRunCommand {
    id: string;
    name: string;
    location: string;
    tags: Record<string, string>;
    provisioningState: string;
    executionState: string;
    exitCode: number;
    output: string;
    error: string;
    startTime: string;
    endTime: string;
}

/** A network interface. */
export interface AzNic {
    id: string;
    name: string;
    location: string;
    subnet: string;
    privateIPAddress: string;
    networkSecurityGroup?: string;
    /** The VM that uses it. */
    virtualMachine?: string;
    macAddress: string;
    resourceGuid: string;
    tags: Record<string, string>;
}

/** A network security group. */
export interface AzNsg {
    id: string;
    name: string;
    location: string;
    securityRules: unknown[];
    resourceGuid: string;
    tags: Record<string, string>;
}

/** A subnet of a virtual network. */
export interface AzSubnet {
    id: string;
    name: string;
    addressPrefix: string;
    location: string;
}

/** A Key Vault secret as the CLI's `az rest` answers it (ADE keeps a disk's BEK in one). */
export interface AzSecret {
    value: string;
    contentType: string;
    tags: Record<string, string>;
}

/** The whole simulated Azure. */
export interface AzureWorld {
    /** The CLI's default subscription, and every subscription it knows (others are SubscriptionNotFound). */
    subscription: string;
    subscriptions: string[];
    accounts: { id: string; name: string; state: string }[];
    resourceGroups: Record<string, AzResourceGroup>;
    vms: Record<string, AzVm>;
    disks: Record<string, AzDisk>;
    snapshots: Record<string, AzSnapshot>;
    runCommands: Record<string, AzRunCommand>;
    networkInterfaces: Record<string, AzNic>;
    networkSecurityGroups: Record<string, AzNsg>;
    subnets: Record<string, AzSubnet>;
    keyVault: { secrets: Record<string, AzSecret>; keys: Record<string, unknown> };
}

/** A VM's resource id, from its world record and key. */
export function vmIdOf(key: string, vm: AzVm): string {
    return armId({
        subscription: vm.subscription,
        resourceGroup: vm.resourceGroup ?? key.split("/")[0],
        type: "Microsoft.Compute/virtualMachines",
        name: vm.name,
    });
}

/** The world's snapshot whose id is `id` (ids compare without regard to case), with its key. */
export function findSnapshot(world: AzureWorld, id: string): [string, AzSnapshot] | undefined {
    const want = id.toLowerCase();
    return Object.entries(world.snapshots ?? {}).find(([k]) => k.toLowerCase() === want);
}
