// EC2 in the simulated AWS world: security groups and instances (the rescue instances). An
// instance launches pending, with a root volume made from its AMI (it boots: a Linux image), and
// the provider returns once it runs; its Systems Manager agent comes online a few polls later (the
// CLI's describe-instance-information). Terminating it deletes its root volume and detaches the rest.
import { Props, StandInResource } from "../host";
import { AwsInstance, AwsWorld, awsManagedEbsKey } from "../../world/aws-world";
import { accountOf, autoName, hexOf, inWorld, isMine, newId, ownerOf, refuse, regionOf, tagsOf, waitUntil } from "./cloud";
import { inMyAccount } from "./iam";
import { pollInstance } from "./moves";
import { bool, num, required, str, strings } from "./values";
import { poll } from "./budget";

/** The VPC `vpcId` exists in `region` (for the acting account) when one of its subnets there is in it. */
const vpcExists = (world: AwsWorld, vpcId: string, region: string) =>
    Object.values(world.subnets ?? {}).some((s) => s.vpcId === vpcId && s.region === region && isMine(world, s));

/** The acting account's security group `id`, or undefined (another account's is not there for it). */
const groupOf = (world: AwsWorld, id: string) => {
    const g = world.securityGroups?.[id];
    return g && g.ownerId === accountOf(world) ? g : undefined;
};

/** A security group's outputs. */
function groupOuts(world: AwsWorld, id: string): Props {
    const g = world.securityGroups![id];
    return {
        arn: `arn:aws:ec2:${g.region}:${g.ownerId}:security-group/${id}`,
        description: g.description,
        egress: g.egress,
        ingress: g.ingress,
        name: g.name,
        namePrefix: "",
        ownerId: g.ownerId,
        region: g.region,
        tags: g.tags ?? {},
        tagsAll: g.tags ?? {},
        vpcId: g.vpcId,
    };
}

/**
 * aws:ec2/securityGroup:SecurityGroup. Replaced on a change of description, name, namePrefix or
 * vpcId (ForceNew in terraform-provider-aws internal/service/ec2/vpc_security_group.go) and of
 * region (internal/provider/sdkv2/region.go); its rules change in place.
 */
export const securityGroup: StandInResource = {
    replaceOn: ["description", "name", "namePrefix", "vpcId", "region"],
    create: (inputs, urn) =>
        inWorld((world) => {
            const region = regionOf(inputs);
            const name =
                str(inputs, "name") ?? (str(inputs, "namePrefix") ? `${str(inputs, "namePrefix")}${hexOf(urn, 26)}` : autoName(world, urn));
            const vpcId = required(inputs, "vpcId", "Security Group");
            const doing = `creating Security Group (${name})`;
            if (!vpcExists(world, vpcId, region))
                refuse(doing, "EC2: CreateSecurityGroup", "InvalidVpcID.NotFound", `The vpc ID '${vpcId}' does not exist`);
            world.securityGroups = world.securityGroups ?? {};
            if (Object.values(world.securityGroups).some((g) => g.name === name && g.vpcId === vpcId && g.ownerId === accountOf(world)))
                refuse(
                    doing,
                    "EC2: CreateSecurityGroup",
                    "InvalidGroup.Duplicate",
                    `The security group '${name}' already exists for VPC '${vpcId}'`,
                );
            const id = newId(world, "sg", urn);
            world.securityGroups[id] = {
                name,
                description: str(inputs, "description") ?? "Managed by Pulumi",
                vpcId,
                region,
                ownerId: accountOf(world),
                ingress: (inputs.ingress as unknown[]) ?? [],
                egress: (inputs.egress as unknown[]) ?? [],
                tags: tagsOf(inputs),
            };
            return { id, outs: groupOuts(world, id) };
        }),
    read: (id) => inWorld((world) => (groupOf(world, id) ? groupOuts(world, id) : undefined)),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const g = groupOf(world, id);
            if (!g)
                refuse(
                    `updating Security Group (${id})`,
                    "EC2: DescribeSecurityGroups",
                    "InvalidGroup.NotFound",
                    `The security group '${id}' does not exist`,
                );
            g.ingress = (news.ingress as unknown[]) ?? [];
            g.egress = (news.egress as unknown[]) ?? [];
            g.tags = tagsOf(news);
            return groupOuts(world, id);
        }),
    delete: (id) =>
        inWorld((world) => {
            if (!groupOf(world, id)) return;
            const user = Object.entries(world.instances).find(([, i]) => i.securityGroupIds?.includes(id));
            if (user)
                refuse(
                    `deleting Security Group (${id})`,
                    "EC2: DeleteSecurityGroup",
                    "DependencyViolation",
                    `resource ${id} has a dependent object`,
                );
            delete world.securityGroups![id];
        }),
};

/**
 * An instance's outputs as the provider reads them back. Not rootBlockDevice: the provider fills in
 * its computed fields (volume id, device) without a diff, which the host's whole-value diff would
 * take for a change of the input on every run after a refresh.
 */
function instanceOuts(world: AwsWorld, id: string, i: AwsInstance): Props {
    return {
        arn: `arn:aws:ec2:${i.region ?? "us-east-1"}:${ownerOf(world, i)}:instance/${id}`,
        availabilityZone: i.availabilityZone,
        iamInstanceProfile: i.iamInstanceProfile ?? "",
        instanceState: i.state,
        instanceType: i.instanceType,
        ipv6Addresses: [],
        outpostArn: "",
        passwordData: "",
        primaryNetworkInterfaceId: `eni-0${hexOf(`eni ${id}`, 16)}`,
        privateDns: i.privateDnsName ?? "",
        privateIp: i.privateIp ?? "",
        publicDns: "",
        publicIp: "",
        region: i.region,
        subnetId: i.subnetId,
        tags: i.tags ?? {},
        tagsAll: i.tags ?? {},
        tenancy: "default",
        vpcSecurityGroupIds: i.securityGroupIds ?? [],
    };
}

/** A private address in the subnet's range (its /24), from the instance's id. */
function privateIpIn(cidr: string, seed: string): string {
    const [a, b, c] = cidr.split("/")[0].split(".");
    return `${a}.${b}.${c}.${4 + (parseInt(hexOf(seed, 4), 16) % 250)}`;
}

/**
 * aws:ec2/instance:Instance. Replaced on a change of the inputs ForceNew in terraform-provider-aws
 * internal/service/ec2/ec2_instance.go (as stored: ami, associate_public_ip_address,
 * availability_zone, cpu_options, ebs_block_device, ebs_optimized, enclave_options,
 * ephemeral_block_device, hibernation, host_id, ipv6_address_count, ipv6_addresses, key_name,
 * launch_template, network_interface, placement_group, placement_partition_number,
 * private_dns_name_options, private_ip, security_groups, subnet_id, tenancy; for cpu_options,
 * ebs_block_device, enclave_options and network_interface every nested field is) and of region
 * (internal/provider/sdkv2/region.go). root_block_device changes in place except its encrypted and
 * kms_key_id, which force a new instance but which the host's top-level diff cannot single out;
 * user_data changes in place unless user_data_replace_on_change (the program does not set it). The
 * 7.x inputs that version lacks (primaryNetworkInterface, secondaryNetworkInterfaces,
 * placementGroupId, instanceMarketOptions, enablePrimaryIpv6) are not listed: not read, not guessed.
 */
export const instance: StandInResource = {
    replaceOn: [
        "ami",
        "associatePublicIpAddress",
        "availabilityZone",
        "cpuOptions",
        "ebsBlockDevices",
        "ebsOptimized",
        "enclaveOptions",
        "ephemeralBlockDevices",
        "hibernation",
        "hostId",
        "ipv6AddressCount",
        "ipv6Addresses",
        "keyName",
        "launchTemplate",
        "networkInterfaces",
        "placementGroup",
        "placementPartitionNumber",
        "privateDnsNameOptions",
        "privateIp",
        "securityGroups",
        "subnetId",
        "tenancy",
        "region",
    ],
    async create(inputs, urn) {
        const region = regionOf(inputs);
        const id = inWorld((world) => {
            const doing = "creating EC2 Instance";
            const op = "EC2: RunInstances";
            const ami = required(inputs, "ami", "EC2 Instance");
            const image = world.images?.[ami];
            if (!image || image.region !== region) refuse(doing, op, "InvalidAMIID.NotFound", `The image id '[${ami}]' does not exist`);
            const subnetId = required(inputs, "subnetId", "EC2 Instance");
            const subnet = world.subnets?.[subnetId];
            if (!subnet || subnet.region !== region || !isMine(world, subnet))
                refuse(doing, op, "InvalidSubnetID.NotFound", `The subnet ID '${subnetId}' does not exist`);
            const groups = strings(inputs, "vpcSecurityGroupIds");
            for (const g of groups)
                if (groupOf(world, g)?.vpcId !== subnet.vpcId)
                    refuse(doing, op, "InvalidGroup.NotFound", `The security group '${g}' does not exist in VPC '${subnet.vpcId}'`);
            const profile = str(inputs, "iamInstanceProfile");
            const profileArn = profile ? world.iam?.instanceProfiles[profile]?.arn : undefined;
            if (profile && !(profileArn && inMyAccount(world, profileArn)))
                refuse(
                    doing,
                    op,
                    "InvalidParameterValue",
                    `Value (${profile}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
                );
            const instanceId = newId(world, "i", urn);
            const rootSpec = (inputs.rootBlockDevice as Props | undefined) ?? {};
            const rootVolume = newId(world, "vol", `${urn} root`);
            const type = str(rootSpec, "volumeType") ?? "gp2";
            const encrypted = bool(rootSpec, "encrypted") ?? false;
            world.volumes[rootVolume] = {
                account: accountOf(world),
                state: "in-use",
                boots: true,
                region,
                availabilityZone: subnet.availabilityZone,
                size: num(rootSpec, "volumeSize") ?? 8,
                type,
                ...(type === "gp3" ? { iops: num(rootSpec, "iops") ?? 3000, throughput: num(rootSpec, "throughput") ?? 125 } : {}),
                encrypted,
                kmsKeyId: encrypted ? (str(rootSpec, "kmsKeyId") ?? awsManagedEbsKey(region, accountOf(world))) : undefined,
                createTime: new Date().toISOString(),
                deleteOnTermination: bool(rootSpec, "deleteOnTermination") ?? true,
                tags: {},
            };
            const privateIp = privateIpIn(subnet.cidrBlock, instanceId);
            world.instances[instanceId] = {
                account: accountOf(world),
                state: "pending",
                region,
                availabilityZone: subnet.availabilityZone,
                rootDeviceName: image.rootDeviceName,
                blockDevices: { [image.rootDeviceName]: rootVolume },
                bootedFrom: rootVolume,
                subnetId,
                vpcId: subnet.vpcId,
                imageId: ami,
                instanceType: str(inputs, "instanceType") ?? "m6i.large",
                privateIp,
                privateDnsName: `ip-${privateIp.replace(/\./g, "-")}.${region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`}`,
                securityGroupIds: groups,
                iamInstanceProfile: profile,
                launchTime: new Date().toISOString(),
                userData: str(inputs, "userData"),
                metadataOptions: (inputs.metadataOptions as Record<string, unknown>) ?? {},
                tags: tagsOf(inputs),
                stopPolls: 1,
                bootPolls: 1,
            };
            // Its Systems Manager agent registers a little after the instance runs.
            world.ssm.instances[instanceId] = { onlineAfterPolls: 2 };
            return instanceId;
        });
        await waitUntil(
            `EC2 Instance (${id}) create`,
            (world) => pollInstance(world, id) === "running",
            () => poll("DescribeInstances", inputs),
        );
        return { id, outs: inWorld((world) => instanceOuts(world, id, world.instances[id])) };
    },
    read: (id) =>
        inWorld((world) =>
            world.instances[id] && isMine(world, world.instances[id]) ? instanceOuts(world, id, world.instances[id]) : undefined,
        ),
    update: (id, _olds, news) =>
        inWorld((world) => {
            const i = world.instances[id];
            if (!i || !isMine(world, i))
                refuse(
                    `updating EC2 Instance (${id})`,
                    "EC2: DescribeInstances",
                    "InvalidInstanceID.NotFound",
                    `The instance ID '${id}' does not exist`,
                );
            const profile = str(news, "iamInstanceProfile");
            const profileArn = profile ? world.iam?.instanceProfiles[profile]?.arn : undefined;
            if (profile && !(profileArn && inMyAccount(world, profileArn)))
                refuse(
                    `updating EC2 Instance (${id})`,
                    "EC2: ReplaceIamInstanceProfileAssociation",
                    "InvalidParameterValue",
                    `Value (${profile}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
                );
            i.iamInstanceProfile = profile;
            i.instanceType = str(news, "instanceType") ?? i.instanceType;
            i.securityGroupIds = strings(news, "vpcSecurityGroupIds");
            i.userData = str(news, "userData");
            i.tags = tagsOf(news);
            return instanceOuts(world, id, i);
        }),
    delete: (id) =>
        inWorld((world) => {
            const i = world.instances[id];
            if (!i || !isMine(world, i)) return;
            // Terminated: the root volume goes with it (DeleteOnTermination), the others are detached.
            for (const volumeId of Object.values(i.blockDevices)) {
                const v = world.volumes[volumeId];
                if (!v) continue;
                if (v.deleteOnTermination) delete world.volumes[volumeId];
                else v.state = "available";
            }
            delete world.ssm.instances[id];
            delete world.instances[id];
        }),
};
