// The sandbox's stand-in for the `aws` provider (@pulumi/aws 7.48.0): the resource types and
// lookups components/aws declares and calls, acting on the simulated AWS world (FAKE_AWS_STATE),
// the file the stand-in CLI (sandbox/cli/aws/aws) reads and rewrites. Each provider instance (the
// program's explicit provider per account, and the default one) acts in the account its
// configuration names: the role it assumes (`assumeRoles`), else the ambient credentials'
// (./aws/account.ts).
import { Props, StandInInvoke, StandInProvider, StandInResource, serve } from "./host";
import { snapshot, volume, volumeAttachment, volumeCopy } from "./aws/ebs";
import { instance, securityGroup } from "./aws/ec2";
import { instanceProfile, role, rolePolicy, rolePolicyAttachment } from "./aws/iam";
import { getAmi, getCallerIdentity, getEbsVolumes, getInstance, getSubnet, getVolume } from "./aws/lookups";
import { association, document } from "./aws/ssm";
import { meter } from "./aws/budget";
import { configureAws } from "./aws/account";
import { AWS_STATE } from "./aws/cloud";
import { readWorld, worldFile } from "../world/world-file";
import { AwsWorld } from "../world/aws-world";

/**
 * A value as the engine's wire takes it: the protocol's Struct has no `undefined` (the provider
 * server fails the whole call with "Unexpected struct type"), so absent fields are left out.
 */
const wire = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** A resource whose outputs go over the wire without undefined fields. */
function wired(r: StandInResource): StandInResource {
    return {
        replaceOn: r.replaceOn,
        create: async (inputs, urn) => wire(await r.create(inputs, urn)),
        read: r.read && (async (id, props) => wire(await r.read!(id, props))),
        update: r.update && (async (id, olds, news) => wire((await r.update!(id, olds, news)) as Props | undefined)),
        delete: r.delete && ((id, props) => r.delete!(id, props)),
    };
}

/** A lookup whose answer goes over the wire without undefined fields. */
const wiredInvoke =
    (invoke: StandInInvoke): StandInInvoke =>
    async (args) =>
        wire(await invoke(args));

/** The stand-in aws provider: every resource type and invoke components/aws uses, by token. */
export const awsStandIn: StandInProvider = {
    name: "aws",
    version: "7.48.0",
    resources: {
        "aws:ebs/snapshot:Snapshot": wired(snapshot),
        "aws:ebs/volume:Volume": wired(volume),
        "aws:ebs/volumeCopy:VolumeCopy": wired(volumeCopy),
        "aws:ec2/volumeAttachment:VolumeAttachment": wired(volumeAttachment),
        "aws:ec2/instance:Instance": wired(instance),
        "aws:ec2/securityGroup:SecurityGroup": wired(securityGroup),
        "aws:iam/role:Role": wired(role),
        "aws:iam/rolePolicy:RolePolicy": wired(rolePolicy),
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": wired(rolePolicyAttachment),
        "aws:iam/instanceProfile:InstanceProfile": wired(instanceProfile),
        "aws:ssm/document:Document": wired(document),
        "aws:ssm/association:Association": wired(association),
    },
    meter,
    configure: (config) => configureAws(readWorld(worldFile(AWS_STATE)) as AwsWorld, config),
    invokes: {
        "aws:ec2/getInstance:getInstance": wiredInvoke(getInstance),
        "aws:ebs/getEbsVolumes:getEbsVolumes": wiredInvoke(getEbsVolumes),
        "aws:ebs/getVolume:getVolume": wiredInvoke(getVolume),
        "aws:ec2/getSubnet:getSubnet": wiredInvoke(getSubnet),
        "aws:ec2/getAmi:getAmi": wiredInvoke(getAmi),
        "aws:index/getCallerIdentity:getCallerIdentity": wiredInvoke(getCallerIdentity),
    },
};

if (require.main === module) void serve(awsStandIn);
