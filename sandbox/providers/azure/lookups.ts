// The lookups of the stand-in azure-native provider, answered from the simulated Azure as Resource
// Manager answers a GET (the fields the program reads, and those around them), or with its
// ResourceNotFound naming what was asked.
import { Props, StandInInvoke } from "../host";
import { AzDisk, AzNic, AzVm, AzureWorld, armId, idKey, parseArmId, vmIdOf, vmKey } from "../../world/azure-model";
import { ArmError, clean, idIn, notFound, request, peekWorld } from "./arm";

/** An argument the lookup needs, or the provider's refusal naming it. */
function arg(args: Props, key: string, token: string): string {
    const v = args[key];
    if (typeof v !== "string" || !v) throw new Error(`${token}: missing required argument '${key}'`);
    return v;
}

/** A lookup in a resource group the world does not have: ResourceGroupNotFound. */
function checkGroup(world: AzureWorld, rg: string, path: string): void {
    if (!(world.resourceGroups ?? {})[rg.toLowerCase()])
        throw new ArmError(404, "ResourceGroupNotFound", `Resource group '${rg}' could not be found.`, request("GET", path));
}

/** The entry of `map` (keyed by lowercase id) whose id ends in `/resourceGroups/<rg>/providers/<type>/<name>`. */
function byName<T>(map: Record<string, T> | undefined, rg: string, type: string, name: string): [string, T] | undefined {
    const tail = `/resourcegroups/${rg}/providers/${type}/${name}`.toLowerCase();
    return Object.entries(map ?? {}).find(([k]) => k.endsWith(tail));
}

/** A VM as GET virtualMachines/{vmName} answers it. */
function vmModel(world: AzureWorld, key: string, v: AzVm) {
    const id = vmIdOf(key, { ...v, name: v.name ?? key.split("/")[1], subscription: v.subscription ?? world.subscription });
    const disk = v.osDisk ? world.disks[idKey(v.osDisk)] : undefined;
    const extra = v as AzVm & { vmss?: string; unmanaged?: boolean; ephemeral?: boolean };
    return clean({
        id,
        name: v.name ?? key.split("/")[1],
        type: "Microsoft.Compute/virtualMachines",
        location: v.location ?? "eastus2",
        zones: v.zones ?? undefined,
        tags: v.tags ?? {},
        vmId: v.vmId,
        provisioningState: v.provisioningState ?? "Succeeded",
        timeCreated: v.timeCreated,
        hardwareProfile: { vmSize: v.vmSize ?? "Standard_D4s_v5" },
        storageProfile: {
            osDisk: {
                osType: v.osType ?? "Windows",
                name: v.osDisk ? v.osDisk.split("/").pop() : undefined,
                createOption: "FromImage",
                caching: "ReadWrite",
                managedDisk: extra.unmanaged ? undefined : { id: v.osDisk, storageAccountType: disk?.sku?.name ?? "Premium_LRS" },
                vhd: extra.unmanaged
                    ? {
                          uri: `https://${(v.name ?? "vm")
                              .toLowerCase()
                              .replace(/[^a-z0-9]/g, "")
                              .slice(0, 20)}disks.blob.core.windows.net/vhds/osdisk.vhd`,
                      }
                    : undefined,
                diffDiskSettings: extra.ephemeral ? { option: "Local", placement: "CacheDisk" } : undefined,
                diskSizeGB: disk?.diskSizeGB ?? 127,
                deleteOption: v.deletes?.osDisk ? "Delete" : "Detach",
            },
            dataDisks: Object.entries(v.dataDisks ?? {}).map(([lun, diskId]) => ({
                lun: Number(lun),
                name: diskId.split("/").pop(),
                createOption: "Attach",
                caching: "None",
                managedDisk: { id: diskId },
                deleteOption: "Detach",
            })),
        },
        osProfile: { computerName: v.computerName ?? v.name, adminUsername: v.osType === "Linux" ? "rescue" : "azureadmin" },
        networkProfile: { networkInterfaces: (v.nics ?? []).map((nic, i) => ({ id: nic, primary: i === 0 })) },
        securityProfile: v.securityType
            ? {
                  securityType: v.securityType,
                  uefiSettings: v.securityType === "TrustedLaunch" ? { secureBootEnabled: true, vTpmEnabled: true } : undefined,
              }
            : undefined,
        virtualMachineScaleSet: extra.vmss
            ? {
                  id: armId({
                      subscription: v.subscription ?? world.subscription,
                      resourceGroup: key.split("/")[0],
                      type: "Microsoft.Compute/virtualMachineScaleSets",
                      name: extra.vmss,
                  }),
              }
            : undefined,
        diagnosticsProfile: { bootDiagnostics: { enabled: Boolean(v.bootDiagnostics) } },
    });
}

/** A disk as GET disks/{diskName} answers it. */
function diskModel(world: AzureWorld, key: string, d: Partial<AzDisk>) {
    const id = d.id ?? key;
    const vm = d.attachedTo ? world.vms[d.attachedTo] : undefined;
    return clean({
        id,
        name: d.name ?? id.split("/").pop(),
        type: "Microsoft.Compute/disks",
        location: d.location ?? "eastus2",
        zones: d.zones ?? undefined,
        tags: d.tags ?? {},
        sku: d.sku ?? { name: "Premium_LRS", tier: "Premium" },
        osType: d.osType,
        hyperVGeneration: d.hyperVGeneration,
        securityProfile: d.securityProfile,
        encryption: d.encryption ?? { type: "EncryptionAtRestWithPlatformKey" },
        encryptionSettingsCollection: d.encryptionSettingsCollection,
        creationData: d.creationData ?? { createOption: "Empty" },
        diskSizeGB: d.diskSizeGB ?? 128,
        diskSizeBytes: (d.diskSizeGB ?? 128) * 2 ** 30,
        diskState: !vm ? "Unattached" : vm.power === "deallocated" ? "Reserved" : "Attached",
        managedBy: vm && d.attachedTo ? vmIdOf(d.attachedTo, vm) : undefined,
        provisioningState: d.provisioningState ?? "Succeeded",
        timeCreated: d.timeCreated,
        uniqueId: d.uniqueId,
    });
}

/** A network interface as GET networkInterfaces/{name} answers it. */
function nicModel(n: AzNic) {
    return clean({
        id: n.id,
        name: n.name,
        type: "Microsoft.Network/networkInterfaces",
        location: n.location,
        tags: n.tags ?? {},
        provisioningState: "Succeeded",
        macAddress: n.macAddress,
        primary: true,
        resourceGuid: n.resourceGuid,
        ipConfigurations: [
            {
                id: `${n.id}/ipConfigurations/ipconfig1`,
                name: "ipconfig1",
                type: "Microsoft.Network/networkInterfaces/ipConfigurations",
                privateIPAddress: n.privateIPAddress,
                privateIPAllocationMethod: "Dynamic",
                privateIPAddressVersion: "IPv4",
                primary: true,
                provisioningState: "Succeeded",
                subnet: { id: n.subnet },
            },
        ],
        networkSecurityGroup: n.networkSecurityGroup ? { id: n.networkSecurityGroup } : undefined,
        virtualMachine: n.virtualMachine ? { id: n.virtualMachine } : undefined,
    });
}

const GET_VM = "azure-native:compute:getVirtualMachine";
const GET_DISK = "azure-native:compute:getDisk";
const GET_NIC = "azure-native:network:getNetworkInterface";

/** The lookups the program makes, by token. */
export const azureLookups: Readonly<Record<string, StandInInvoke>> = {
    [GET_VM]: (args) => {
        const rg = arg(args, "resourceGroupName", GET_VM);
        const name = arg(args, "vmName", GET_VM);
        return peekWorld((world) => {
            const path = idIn(world, rg, "Microsoft.Compute/virtualMachines", name);
            const v = world.vms[vmKey(rg, name)];
            if (!v) {
                checkGroup(world, rg, path);
                throw notFound("Microsoft.Compute/virtualMachines", name, rg, path);
            }
            return vmModel(world, vmKey(rg, name), v);
        });
    },
    [GET_DISK]: (args) => {
        const rg = arg(args, "resourceGroupName", GET_DISK);
        const name = arg(args, "diskName", GET_DISK);
        return peekWorld((world) => {
            const path = idIn(world, rg, "Microsoft.Compute/disks", name);
            const found = byName(world.disks, rg, "Microsoft.Compute/disks", name);
            if (!found) {
                checkGroup(world, rg, path);
                throw notFound("Microsoft.Compute/disks", name, rg, path);
            }
            return diskModel(world, parseArmId(found[0]) ? found[0] : path, found[1]);
        });
    },
    [GET_NIC]: (args) => {
        const rg = arg(args, "resourceGroupName", GET_NIC);
        const name = arg(args, "networkInterfaceName", GET_NIC);
        return peekWorld((world) => {
            const path = idIn(world, rg, "Microsoft.Network/networkInterfaces", name);
            const found = byName(world.networkInterfaces, rg, "Microsoft.Network/networkInterfaces", name);
            if (!found) {
                checkGroup(world, rg, path);
                throw notFound("Microsoft.Network/networkInterfaces", name, rg, path);
            }
            return nicModel(found[1]);
        });
    },
};
