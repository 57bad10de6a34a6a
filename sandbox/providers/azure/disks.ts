// Managed snapshots and disks of the stand-in azure-native provider (azure-native:compute:Snapshot,
// azure-native:compute:Disk), copied from a disk or snapshot of the simulated Azure: a copy keeps
// what its source holds (whether Windows boots from it, BitLocker, a repair's mark), so a disk
// made from a repaired disk boots and one made from the original's backup does not.
import { randomUUID } from "crypto";
import { Props, StandInResource } from "../host";
import { AzDisk, AzSnapshot, AzureWorld, findSnapshot, idKey, parseArmId, vmIdOf } from "../../world/azure-model";
import { pollOperation } from "./budget";
import {
    ArmError,
    LRO,
    alreadyExists,
    autoName,
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

/** What a copy takes from its source: the disk's shape and what its data holds. */
type Source = Pick<
    AzDisk,
    | "osType"
    | "hyperVGeneration"
    | "securityProfile"
    | "encryption"
    | "encryptionSettingsCollection"
    | "diskSizeGB"
    | "boots"
    | "bitlocker"
    | "repaired"
>;

/** The disk or snapshot a Copy names; NotFound (as Resource Manager says it) when there is none. */
function sourceOf(world: AzureWorld, inputs: Props, path: string): { id: string; source: Source } {
    const creation = obj(inputs.creationData);
    if (creation.createOption !== "Copy")
        throw new Error(
            `the sandbox's stand-in azure-native provider makes disks and snapshots by createOption Copy only, not ${String(creation.createOption)}`,
        );
    const id = text(creation.sourceResourceId);
    const disk = world.disks[idKey(id)];
    const snapshot = findSnapshot(world, id)?.[1];
    const source = disk ?? snapshot;
    if (!source) throw new ArmError(404, "NotFound", `Resource ${id.split("/").pop() || id} is not found.`, request("PUT", path));
    return { id, source };
}

const SKU_TIERS: Record<string, string> = {
    Premium_LRS: "Premium",
    Premium_ZRS: "Premium",
    StandardSSD_LRS: "Standard",
    StandardSSD_ZRS: "Standard",
    Standard_LRS: "Standard",
    Standard_ZRS: "Standard",
    PremiumV2_LRS: "Premium",
    UltraSSD_LRS: "Ultra",
};
const skuOf = (v: unknown, fallback: string) => {
    const name = text(obj(v).name, fallback);
    return { name, tier: SKU_TIERS[name] ?? "Standard" };
};

/** The copy's shape: its inputs where given, else its source's. */
function shape(inputs: Props, source: Source) {
    return clean({
        osType: (inputs.osType as string | undefined) ?? source.osType,
        hyperVGeneration: (inputs.hyperVGeneration as string | undefined) ?? source.hyperVGeneration,
        securityProfile: (inputs.securityProfile as AzDisk["securityProfile"]) ?? source.securityProfile,
        encryption: (inputs.encryption as AzDisk["encryption"]) ?? source.encryption ?? { type: "EncryptionAtRestWithPlatformKey" },
        encryptionSettingsCollection:
            (inputs.encryptionSettingsCollection as Record<string, unknown> | undefined) ?? source.encryptionSettingsCollection,
        diskSizeGB: (inputs.diskSizeGB as number | undefined) ?? source.diskSizeGB ?? 128,
        boots: source.boots !== false,
        bitlocker: source.bitlocker,
        repaired: source.repaired,
    });
}

const gib = (gb: number) => gb * 2 ** 30;

/** The outputs the provider adds for a snapshot (never an input's own value, so a refresh shows no change). */
const snapshotOuts = (s: AzSnapshot) => ({
    name: s.name,
    type: "Microsoft.Compute/snapshots",
    provisioningState: s.state,
    timeCreated: s.timeCreated,
    uniqueId: s.uniqueId,
    diskSizeBytes: gib(s.diskSizeGB),
    diskState: "Unattached",
});

/** azure-native:compute:Snapshot: a (by default incremental) snapshot copied from a disk. */
export const snapshotResource: StandInResource = {
    // Replaced when a path parameter changes (resourceGroupName, snapshotName): azure-native's Diff
    // replaces on every path parameter (provider/pkg/provider/diff.go, calculateDetailedDiff), and the
    // Snapshot schema marks no other property willReplaceOnChanges (danielrbradley/pulumi-azure-native-schema,
    // compute/resources/Snapshot.yaml). A new location is an update there too (pulumi-azure-native#3053).
    replaceOn: ["resourceGroupName", "snapshotName"],
    async create(inputs, urn) {
        const rg = required(inputs, "resourceGroupName", "azure-native:compute:Snapshot");
        const name = (inputs.snapshotName as string | undefined) ?? autoName(urn);
        const id = withWorld((world) => {
            const path = idIn(world, rg, "Microsoft.Compute/snapshots", name);
            const group = groupOf(world, rg, "PUT", path);
            if (findSnapshot(world, path)) throw alreadyExists(path);
            const { id: source, source: from } = sourceOf(world, inputs, path);
            const incremental = inputs.incremental === true;
            world.snapshots[path] = {
                name,
                resourceGroup: rg,
                subscription: group.subscription,
                location: location(inputs.location, group.location),
                source,
                timeCreated: azureTime(),
                state: "Creating",
                incremental,
                sku: skuOf(inputs.sku, "Standard_LRS"),
                tags: tagsOf(inputs.tags),
                uniqueId: randomUUID(),
                ...shape(inputs, from),
            };
            return path;
        });
        let polls = 0;
        await settle(
            (world) => {
                const s = findSnapshot(world, id)?.[1];
                if (!s) throw new Error(`the snapshot ${id} was deleted while it was being created`);
                if (++polls >= LRO.polls) s.state = "Succeeded";
                return s.state === "Succeeded";
            },
            () => pollOperation(inputs),
        );
        return { id, outs: withWorld((world) => snapshotOuts(findSnapshot(world, id)![1])) };
    },
    read(id) {
        return peekWorld((world) => {
            const s = findSnapshot(world, id)?.[1];
            return s ? { ...snapshotOuts(s), tags: s.tags } : undefined;
        });
    },
    update(id, _olds, news) {
        return withWorld((world) => {
            const s = findSnapshot(world, id)?.[1];
            if (!s) throw notFoundById(id);
            s.tags = tagsOf(news.tags);
            return snapshotOuts(s);
        });
    },
    delete(id) {
        withWorld((world) => {
            const found = findSnapshot(world, id);
            if (found) delete world.snapshots[found[0]];
        });
    },
};

/** The outputs the provider adds for a disk: its state now (attached or not, and to which VM). */
function diskOuts(world: AzureWorld, d: AzDisk) {
    const vm = d.attachedTo ? world.vms[d.attachedTo] : undefined;
    return {
        name: d.name,
        type: "Microsoft.Compute/disks",
        provisioningState: d.provisioningState,
        timeCreated: d.timeCreated,
        uniqueId: d.uniqueId,
        diskSizeBytes: gib(d.diskSizeGB),
        diskState: !vm ? "Unattached" : vm.power === "deallocated" ? "Reserved" : "Attached",
        ...(vm && d.attachedTo ? { managedBy: vmIdOf(d.attachedTo, vm) } : {}),
    };
}

const notFoundById = (id: string) => {
    const ref = parseArmId(id);
    return new ArmError(
        404,
        "ResourceNotFound",
        `The Resource '${ref?.type ?? "Microsoft.Compute/disks"}/${ref?.name ?? id}' under resource group '${ref?.resourceGroup ?? ""}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
        request("PATCH", id),
    );
};

/** azure-native:compute:Disk: a managed disk copied from a snapshot or a disk. */
export const diskResource: StandInResource = {
    // Replaced when a path parameter changes (resourceGroupName, diskName): azure-native's Diff
    // replaces on every path parameter (provider/pkg/provider/diff.go), and the Disk schema marks no
    // other property willReplaceOnChanges (danielrbradley/pulumi-azure-native-schema,
    // compute/resources/Disk.yaml; creationData is create-only in Azure, but not marked so).
    replaceOn: ["diskName", "resourceGroupName"],
    async create(inputs, urn) {
        const rg = required(inputs, "resourceGroupName", "azure-native:compute:Disk");
        const name = (inputs.diskName as string | undefined) ?? autoName(urn);
        const id = withWorld((world) => {
            const path = idIn(world, rg, "Microsoft.Compute/disks", name);
            const group = groupOf(world, rg, "PUT", path);
            if (world.disks[idKey(path)]) throw alreadyExists(path);
            const { source, id: sourceId } = sourceOf(world, inputs, path);
            const disk: AzDisk = {
                id: path,
                name,
                resourceGroup: rg,
                subscription: group.subscription,
                location: location(inputs.location, group.location),
                zones: Array.isArray(inputs.zones) ? inputs.zones.map(String) : null,
                sku: skuOf(inputs.sku, "Standard_LRS"),
                creationData: { createOption: "Copy", sourceResourceId: sourceId },
                tags: tagsOf(inputs.tags),
                timeCreated: azureTime(),
                uniqueId: randomUUID(),
                provisioningState: "Creating",
                ...shape(inputs, source),
            };
            world.disks[idKey(path)] = disk;
            return path;
        });
        let polls = 0;
        await settle(
            (world) => {
                const d = world.disks[idKey(id)];
                if (!d) throw new Error(`the disk ${id} was deleted while it was being created`);
                if (++polls >= LRO.polls) d.provisioningState = "Succeeded";
                return d.provisioningState === "Succeeded";
            },
            () => pollOperation(inputs),
        );
        return { id, outs: withWorld((world) => diskOuts(world, world.disks[idKey(id)])) };
    },
    read(id) {
        return peekWorld((world) => {
            const d = world.disks[idKey(id)];
            return d ? { ...diskOuts(world, d), tags: d.tags } : undefined;
        });
    },
    update(id, _olds, news) {
        return withWorld((world) => {
            const d = world.disks[idKey(id)];
            if (!d) throw notFoundById(id);
            d.tags = tagsOf(news.tags);
            if (news.sku) d.sku = skuOf(news.sku, d.sku.name);
            if (typeof news.diskSizeGB === "number") d.diskSizeGB = news.diskSizeGB;
            return diskOuts(world, d);
        });
    },
    delete(id) {
        withWorld((world) => {
            const d = world.disks[idKey(id)];
            if (!d) return;
            const vm = d.attachedTo ? world.vms[d.attachedTo] : undefined;
            if (vm && d.attachedTo)
                throw new ArmError(
                    409,
                    "OperationNotAllowed",
                    `Disk ${d.name} is attached to VM ${vmIdOf(d.attachedTo, vm)}.`,
                    request("DELETE", id),
                );
            delete world.disks[idKey(id)];
        });
    },
};
