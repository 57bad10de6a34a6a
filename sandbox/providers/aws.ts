// The sandbox's stand-in for the `aws` provider (@pulumi/aws 7.48.0): the resource types and
// lookups components/aws declares and calls, acting on the simulated AWS world (FAKE_AWS_STATE),
// the file the stand-in CLI (sandbox/cli/aws/aws) reads and rewrites. `pulumi:providers:aws` (the
// explicit providers per account) needs nothing here: the engine configures it.
import { StandInProvider, serve } from "./host";
import { snapshot, volume, volumeAttachment, volumeCopy } from "./aws/ebs";
import { instance, securityGroup } from "./aws/ec2";
import { instanceProfile, role, rolePolicy, rolePolicyAttachment } from "./aws/iam";
import { getAmi, getCallerIdentity, getEbsVolumes, getInstance, getSubnet, getVolume } from "./aws/lookups";
import { document } from "./aws/ssm";

/** The stand-in aws provider: every resource type and invoke components/aws uses, by token. */
export const awsStandIn: StandInProvider = {
    name: "aws",
    version: "7.48.0",
    resources: {
        "aws:ebs/snapshot:Snapshot": snapshot,
        "aws:ebs/volume:Volume": volume,
        "aws:ebs/volumeCopy:VolumeCopy": volumeCopy,
        "aws:ec2/volumeAttachment:VolumeAttachment": volumeAttachment,
        "aws:ec2/instance:Instance": instance,
        "aws:ec2/securityGroup:SecurityGroup": securityGroup,
        "aws:iam/role:Role": role,
        "aws:iam/rolePolicy:RolePolicy": rolePolicy,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": rolePolicyAttachment,
        "aws:iam/instanceProfile:InstanceProfile": instanceProfile,
        "aws:ssm/document:Document": document,
    },
    invokes: {
        "aws:ec2/getInstance:getInstance": getInstance,
        "aws:ebs/getEbsVolumes:getEbsVolumes": getEbsVolumes,
        "aws:ebs/getVolume:getVolume": getVolume,
        "aws:ec2/getSubnet:getSubnet": getSubnet,
        "aws:ec2/getAmi:getAmi": getAmi,
        "aws:index/getCallerIdentity:getCallerIdentity": getCallerIdentity,
    },
};

if (require.main === module) void serve(awsStandIn);
