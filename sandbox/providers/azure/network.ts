// Network interfaces and network security groups of the stand-in azure-native provider
// (azure-native:network:NetworkInterface, azure-native:network:NetworkSecurityGroup): a rescue VM's
// interface in an existing subnet, with its security group. Neither can be deleted while in use, as
// in Azure.
import { randomBytes, randomUUID } from "crypto";
import { Props, StandInResource } from "../host";
import { AzNic, AzNsg, AzureWorld, idKey } from "../../world/azure-model";
import {
    ArmError,
    alreadyExists,
    autoName,
    clean,
    groupOf,
    idIn,
    location,
    obj,
    request,
    required,
    tagsOf,
    peekWorld,
    withWorld,
    text,
} from "./arm";

/** A reference to a resource that is not there (or not in the same region), as Resource Manager refuses it. */
function badReference(target: string, from: string): ArmError {
    return new ArmError(
        400,
        "InvalidResourceReference",
        `Resource ${target} referenced by resource ${from} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
        request("PUT", from),
    );
}

const nsgOuts = (g: AzNsg) => ({
    name: g.name,
    type: "Microsoft.Network/networkSecurityGroups",
    provisioningState: "Succeeded",
    resourceGuid: g.resourceGuid,
});

/** azure-native:network:NetworkSecurityGroup. */
export const networkSecurityGroupResource: StandInResource = {
    // Replaced when a path parameter changes (networkSecurityGroupName, resourceGroupName): azure-native's
    // Diff replaces on every path parameter (provider/pkg/provider/diff.go), and the schema marks no
    // other property willReplaceOnChanges (danielrbradley/pulumi-azure-native-schema,
    // network/resources/NetworkSecurityGroup.yaml).
    replaceOn: ["networkSecurityGroupName", "resourceGroupName"],
    create(inputs, urn) {
        const rg = required(inputs, "resourceGroupName", "azure-native:network:NetworkSecurityGroup");
        const name = (inputs.networkSecurityGroupName as string | undefined) ?? autoName(urn);
        return withWorld((world) => {
            const id = idIn(world, rg, "Microsoft.Network/networkSecurityGroups", name);
            const group = groupOf(world, rg, "PUT", id);
            world.networkSecurityGroups ??= {};
            if (world.networkSecurityGroups[idKey(id)]) throw alreadyExists(id);
            const g: AzNsg = {
                id,
                name,
                location: location(inputs.location, group.location),
                securityRules: clean((inputs.securityRules as unknown[] | undefined) ?? []),
                resourceGuid: randomUUID(),
                tags: tagsOf(inputs.tags),
            };
            world.networkSecurityGroups[idKey(id)] = g;
            return { id, outs: nsgOuts(g) };
        });
    },
    read(id) {
        return peekWorld((world) => {
            const g = (world.networkSecurityGroups ?? {})[idKey(id)];
            return g ? { ...nsgOuts(g), tags: g.tags } : undefined;
        });
    },
    update(id, _olds, news) {
        return withWorld((world) => {
            const g = (world.networkSecurityGroups ?? {})[idKey(id)];
            if (!g) throw new ArmError(404, "ResourceNotFound", `The Resource '${id}' was not found.`, request("PUT", id));
            g.securityRules = clean((news.securityRules as unknown[] | undefined) ?? []);
            g.tags = tagsOf(news.tags);
            return nsgOuts(g);
        });
    },
    delete(id) {
        withWorld((world) => {
            const g = (world.networkSecurityGroups ?? {})[idKey(id)];
            if (!g) return;
            const users = Object.values(world.networkInterfaces ?? {}).filter(
                (n) => n.networkSecurityGroup && idKey(n.networkSecurityGroup) === idKey(id),
            );
            if (users.length)
                throw new ArmError(
                    400,
                    "InUseNetworkSecurityGroupCannotBeDeleted",
                    `Network security group ${g.id} cannot be deleted because it is in use by the following resources: ${users.map((n) => n.id).join(", ")}. In order to delete the Network security group, remove the association with the resource(s). To learn how to do this, see aka.ms/deletensg.`,
                    request("DELETE", id),
                );
            delete world.networkSecurityGroups[idKey(id)];
        });
    },
};

const nicOuts = (n: AzNic) =>
    clean({
        name: n.name,
        type: "Microsoft.Network/networkInterfaces",
        provisioningState: "Succeeded",
        macAddress: n.macAddress,
        resourceGuid: n.resourceGuid,
        virtualMachine: n.virtualMachine ? { id: n.virtualMachine } : undefined,
    });

/** The subnet and security group a NIC's inputs name, checked against the world. */
function references(world: AzureWorld, inputs: Props, id: string, where: string) {
    const ipConfig = obj((inputs.ipConfigurations as unknown[] | undefined)?.[0]);
    const subnetId = text(obj(ipConfig.subnet).id);
    const subnet = (world.subnets ?? {})[idKey(subnetId)];
    if (!subnet || subnet.location !== where) throw badReference(subnetId || "(no subnet)", id);
    const nsgId = obj(inputs.networkSecurityGroup).id as string | undefined;
    if (nsgId && (world.networkSecurityGroups ?? {})[idKey(nsgId)]?.location !== where) throw badReference(nsgId, id);
    return { subnet, nsgId };
}

/** azure-native:network:NetworkInterface: an interface with one dynamic private address in an existing subnet. */
export const networkInterfaceResource: StandInResource = {
    // Replaced when a path parameter changes (networkInterfaceName, resourceGroupName): azure-native's
    // Diff replaces on every path parameter (provider/pkg/provider/diff.go), and the schema marks no
    // other property willReplaceOnChanges (danielrbradley/pulumi-azure-native-schema,
    // network/resources/NetworkInterface.yaml).
    replaceOn: ["networkInterfaceName", "resourceGroupName"],
    create(inputs, urn) {
        const rg = required(inputs, "resourceGroupName", "azure-native:network:NetworkInterface");
        const name = (inputs.networkInterfaceName as string | undefined) ?? autoName(urn);
        return withWorld((world) => {
            const id = idIn(world, rg, "Microsoft.Network/networkInterfaces", name);
            const group = groupOf(world, rg, "PUT", id);
            world.networkInterfaces ??= {};
            if (world.networkInterfaces[idKey(id)]) throw alreadyExists(id);
            const where = location(inputs.location, group.location);
            const { subnet, nsgId } = references(world, inputs, id, where);
            const taken = Object.values(world.networkInterfaces).filter((n) => idKey(n.subnet) === idKey(subnet.id)).length;
            const mac = randomBytes(6).toString("hex").toUpperCase();
            const nic: AzNic = {
                id,
                name,
                location: where,
                subnet: subnet.id,
                privateIPAddress: `10.0.${Math.floor(taken / 250)}.${4 + (taken % 250)}`,
                ...(nsgId ? { networkSecurityGroup: nsgId } : {}),
                macAddress: mac.replace(/(..)(?!$)/g, "$1-"),
                resourceGuid: randomUUID(),
                tags: tagsOf(inputs.tags),
            };
            world.networkInterfaces[idKey(id)] = nic;
            return { id, outs: nicOuts(nic) };
        });
    },
    read(id) {
        return peekWorld((world) => {
            const n = (world.networkInterfaces ?? {})[idKey(id)];
            return n ? { ...nicOuts(n), tags: n.tags } : undefined;
        });
    },
    update(id, _olds, news) {
        return withWorld((world) => {
            const n = (world.networkInterfaces ?? {})[idKey(id)];
            if (!n) throw new ArmError(404, "ResourceNotFound", `The Resource '${id}' was not found.`, request("PUT", id));
            const { subnet, nsgId } = references(world, news, id, n.location);
            n.subnet = subnet.id;
            n.networkSecurityGroup = nsgId;
            n.tags = tagsOf(news.tags);
            return nicOuts(n);
        });
    },
    delete(id) {
        withWorld((world) => {
            const n = (world.networkInterfaces ?? {})[idKey(id)];
            if (!n) return;
            if (n.virtualMachine)
                throw new ArmError(
                    400,
                    "NicInUse",
                    `Network Interface ${n.id} is used by existing resource ${n.virtualMachine}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.`,
                    request("DELETE", id),
                );
            delete world.networkInterfaces[idKey(id)];
        });
    },
};
