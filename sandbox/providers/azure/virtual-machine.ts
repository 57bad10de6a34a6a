// Virtual machines of the stand-in azure-native provider (azure-native:compute:VirtualMachine): the
// rescue VMs. Made from an image with a new OS disk (which boots) and existing network interfaces;
// the VM is starting until its creation ends, then running with its agent Ready. Deleting it
// deletes what its deleteOptions say (OS disk, interfaces) and its Run Commands, and detaches its
// data disks.
import { randomBytes, randomUUID } from "crypto";
import { Props, StandInResource } from "../host";
import { AzDisk, AzVm, AzureWorld, armId, idKey, parseArmId, vmKey } from "../../world/azure-model";
import { pollOperation } from "./budget";
import {
    ArmError,
    LRO,
    alreadyExists,
    azureTime,
    clean,
    groupOf,
    idIn,
    location,
    obj,
    request,
    required,
    settle,
    tagsOf,
    peekWorld,
    withWorld,
    text,
} from "./arm";

const TYPE = "Microsoft.Compute/virtualMachines";

/** The network interfaces a VM's inputs name, with their deleteOptions; each must exist in the VM's region. */
function interfaces(world: AzureWorld, inputs: Props, vmId: string, where: string): { ids: string[]; deleteAll: boolean } {
    const list = ((obj(inputs.networkProfile).networkInterfaces as unknown[] | undefined) ?? []).map(obj);
    if (list.length === 0)
        throw new ArmError(400, "InvalidParameter", "Required parameter 'networkProfile' is missing (null).", request("PUT", vmId));
    const ids = list.map((n) => text(n.id));
    for (const id of ids) {
        const nic = (world.networkInterfaces ?? {})[idKey(id)];
        if (!nic || nic.location !== where)
            throw new ArmError(
                400,
                "InvalidResourceReference",
                `Resource ${id} referenced by resource ${vmId} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
                request("PUT", vmId),
            );
        if (nic.virtualMachine && idKey(nic.virtualMachine) !== idKey(vmId))
            throw new ArmError(
                400,
                "NicInUseWithOtherVm",
                `Network interface ${id} is already in use by another virtual machine ${nic.virtualMachine}.`,
                request("PUT", vmId),
            );
    }
    return { ids, deleteAll: list.every((n) => n.deleteOption === "Delete") };
}

/** The outputs the provider adds for a VM. */
const vmOuts = (v: AzVm) => ({
    name: v.name,
    type: TYPE,
    vmId: v.vmId,
    provisioningState: v.provisioningState,
    timeCreated: v.timeCreated,
});

/** The key of the VM an id names. */
function keyOf(id: string): string {
    const ref = parseArmId(id);
    return ref ? vmKey(ref.resourceGroup, ref.name) : id.toLowerCase();
}

/** azure-native:compute:VirtualMachine. */
export const virtualMachineResource: StandInResource = {
    // Replaced when a path parameter changes (resourceGroupName, vmName): azure-native's Diff replaces
    // on every path parameter (provider/pkg/provider/diff.go), and the VirtualMachine schema marks no
    // other property willReplaceOnChanges (danielrbradley/pulumi-azure-native-schema,
    // compute/resources/VirtualMachine.yaml; properties Azure refuses to change after creation, such
    // as osProfile.computerName, fail the update instead: pulumi-azure-native#577).
    replaceOn: ["resourceGroupName", "vmName"],
    async create(inputs) {
        const rg = required(inputs, "resourceGroupName", "azure-native:compute:VirtualMachine");
        const name = required(inputs, "vmName", "azure-native:compute:VirtualMachine");
        const id = withWorld((world) => {
            const vmId = idIn(world, rg, TYPE, name);
            const group = groupOf(world, rg, "PUT", vmId);
            if (world.vms[vmKey(rg, name)]) throw alreadyExists(vmId);
            const where = location(inputs.location, group.location);
            const nics = interfaces(world, inputs, vmId, where);
            const storage = obj(inputs.storageProfile);
            const osDiskIn = obj(storage.osDisk);
            const os = obj(inputs.osProfile);
            const linux = Object.keys(obj(os.linuxConfiguration)).length > 0;
            const zones = Array.isArray(inputs.zones) ? inputs.zones.map(String) : null;
            const diskName = `${name}_OsDisk_1_${randomBytes(16).toString("hex")}`;
            const diskId = armId({ subscription: group.subscription, resourceGroup: rg, type: "Microsoft.Compute/disks", name: diskName });
            const sku = text(obj(osDiskIn.managedDisk).storageAccountType, "Premium_LRS");
            const disk: AzDisk = {
                id: diskId,
                name: diskName,
                resourceGroup: rg,
                subscription: group.subscription,
                location: where,
                zones,
                sku: { name: sku, tier: sku.startsWith("Premium") ? "Premium" : "Standard" },
                osType: linux ? "Linux" : "Windows",
                hyperVGeneration: "V2",
                encryption: { type: "EncryptionAtRestWithPlatformKey" },
                creationData: { createOption: "FromImage", imageReference: clean(obj(storage.imageReference)) as Record<string, string> },
                diskSizeGB: linux ? 30 : 127,
                tags: {},
                timeCreated: azureTime(),
                uniqueId: randomUUID(),
                provisioningState: "Succeeded",
                boots: true,
                attachedTo: vmKey(rg, name),
            };
            world.disks[idKey(diskId)] = disk;
            for (const nicId of nics.ids) world.networkInterfaces[idKey(nicId)].virtualMachine = vmId;
            world.vms[vmKey(rg, name)] = clean({
                name,
                resourceGroup: rg,
                subscription: group.subscription,
                location: where,
                zones,
                osType: linux ? "Linux" : "Windows",
                computerName: text(os.computerName, name),
                vmId: randomUUID(),
                osDisk: diskId,
                power: "starting",
                agent: "",
                dataDisks: {},
                bootDiagnostics: obj(obj(inputs.diagnosticsProfile).bootDiagnostics).enabled === true,
                securityType: obj(inputs.securityProfile).securityType as string | undefined,
                vmSize: text(obj(inputs.hardwareProfile).vmSize, "Standard_D2s_v5"),
                nics: nics.ids,
                tags: tagsOf(inputs.tags),
                provisioningState: "Creating",
                timeCreated: azureTime(),
                deletes: { osDisk: osDiskIn.deleteOption === "Delete", nics: nics.deleteAll },
                imageReference: clean(obj(storage.imageReference)) as Record<string, string>,
            } satisfies AzVm);
            return vmId;
        });
        let polls = 0;
        await settle(
            (world) => {
                const v = world.vms[keyOf(id)];
                if (!v) throw new Error(`the VM ${id} was deleted while it was being created`);
                if (++polls >= LRO.polls) Object.assign(v, { provisioningState: "Succeeded", power: "running", agent: "Ready" });
                return v.provisioningState === "Succeeded";
            },
            () => pollOperation(inputs, `${rg}/${name}`),
        );
        return { id, outs: withWorld((world) => vmOuts(world.vms[keyOf(id)])) };
    },
    read(id) {
        return peekWorld((world) => {
            const v = world.vms[keyOf(id)];
            return v ? { ...vmOuts(v), tags: v.tags } : undefined;
        });
    },
    update(id, _olds, news) {
        return withWorld((world) => {
            const v = world.vms[keyOf(id)];
            if (!v)
                throw new ArmError(
                    404,
                    "ResourceNotFound",
                    `The Resource '${TYPE}/${id.split("/").pop()}' was not found.`,
                    request("PUT", id),
                );
            v.tags = tagsOf(news.tags);
            v.vmSize = text(obj(news.hardwareProfile).vmSize, v.vmSize);
            return vmOuts(v);
        });
    },
    delete(id) {
        withWorld((world) => {
            const key = keyOf(id);
            const v = world.vms[key];
            if (!v) return;
            for (const runKey of Object.keys(world.runCommands ?? {})) if (runKey.startsWith(`${key}/`)) delete world.runCommands[runKey];
            for (const diskId of Object.values(v.dataDisks ?? {})) {
                const d = world.disks[idKey(diskId)];
                if (d) d.attachedTo = undefined;
            }
            const os = world.disks[idKey(v.osDisk)];
            if (v.deletes?.osDisk) delete world.disks[idKey(v.osDisk)];
            else if (os) os.attachedTo = undefined;
            for (const nicId of v.nics ?? []) {
                if (v.deletes?.nics) delete world.networkInterfaces[idKey(nicId)];
                else if (world.networkInterfaces?.[idKey(nicId)]) world.networkInterfaces[idKey(nicId)].virtualMachine = undefined;
            }
            delete world.vms[key];
        });
    },
};
