// What the stand-in aws provider's calls spend from the simulated AWS's budget (sandbox/cli/budget.js):
// the EC2 API each resource operation and lookup calls (RunInstances and TerminateInstances also
// spend their resource buckets, one token per instance), in the provider's account and the
// resource's region, from the same buckets as the stand-in CLI's calls; IAM, STS and Systems
// Manager calls are counted under no bucket. Throttled, the provider retries (sandbox/world/requests.ts)
// and in the end fails with EC2's RequestLimitExceeded, worded as the provider reports it.
import { ProviderCall } from "../host";
import { BudgetRequest, budget, spendAsProvider } from "../../world/requests";
import { World, worldFile } from "../../world/world-file";
import { AwsWorld } from "../../world/aws-world";
import { AWS_STATE, CloudError, accountOf, regionOf } from "./cloud";

/** Per resource type: the API of each operation (create, read, update, delete). */
const APIS: Record<string, Partial<Record<ProviderCall["op"], string>>> = {
    "aws:ebs/snapshot:Snapshot": { create: "CreateSnapshot", read: "DescribeSnapshots", update: "CreateTags", delete: "DeleteSnapshot" },
    "aws:ebs/volume:Volume": { create: "CreateVolume", read: "DescribeVolumes", update: "ModifyVolume", delete: "DeleteVolume" },
    "aws:ebs/volumeCopy:VolumeCopy": { create: "CopyVolumes", read: "DescribeVolumes", update: "CreateTags", delete: "DeleteVolume" },
    "aws:ec2/volumeAttachment:VolumeAttachment": { create: "AttachVolume", read: "DescribeVolumes", delete: "DetachVolume" },
    "aws:ec2/instance:Instance": {
        create: "RunInstances",
        read: "DescribeInstances",
        update: "ModifyInstanceAttribute",
        delete: "TerminateInstances",
    },
    "aws:ec2/securityGroup:SecurityGroup": {
        create: "CreateSecurityGroup",
        read: "DescribeSecurityGroups",
        update: "AuthorizeSecurityGroupIngress",
        delete: "DeleteSecurityGroup",
    },
    "aws:ec2/getInstance:getInstance": { invoke: "DescribeInstances" },
    "aws:ebs/getEbsVolumes:getEbsVolumes": { invoke: "DescribeVolumes" },
    "aws:ebs/getVolume:getVolume": { invoke: "DescribeVolumes" },
    "aws:ec2/getSubnet:getSubnet": { invoke: "DescribeSubnets" },
    "aws:ec2/getAmi:getAmi": { invoke: "DescribeImages" },
};

/** The scope of a call: its provider instance's account (./account.ts) and the resource's (or lookup's) region. */
export const scopeOf = (world: World, props: Record<string, unknown>): string => `${accountOf(world as AwsWorld)}/${regionOf(props)}`;

/** The request a provider call makes (a refresh or a lookup reads by id or with filters: the larger bucket). */
export function requestOf(world: World, call: ProviderCall): BudgetRequest {
    const api = APIS[call.token]?.[call.op];
    const scope = scopeOf(world, call.props);
    if (!api) return budget.awsOtherRequest(scope, `${call.token.split(":")[1]?.split("/")[0] ?? call.token} ${call.op}`);
    return budget.ec2Request(scope, api, { unfiltered: false, instances: /Instances$/.test(api) ? 1 : 0 });
}

/** Spends the requests `make` names from the AWS world's budget, failing as the provider reports EC2's throttling when its retries run out. */
function spend(make: (world: World) => BudgetRequest[]): Promise<void> | undefined {
    return spendAsProvider(
        worldFile(AWS_STATE),
        make,
        (r) =>
            new CloudError(
                "RequestLimitExceeded",
                "Request limit exceeded.",
                `calling ${r.api}`,
                `EC2: ${r.api}, exceeded maximum number of attempts, 25`,
            ),
    );
}

/** The stand-in provider's meter: one request per call. */
export const meter = (call: ProviderCall): Promise<void> | undefined => spend((world) => [requestOf(world, call)]);

/** A poll of a waiter: one Describe request of `api` in `props`' region. */
export const poll = (api: string, props: Record<string, unknown>): Promise<void> | undefined =>
    spend((world) => [budget.ec2Request(scopeOf(world, props), api, { unfiltered: false })]);

/** A poll of a waiter outside EC2 (Systems Manager's DescribeAssociation): counted, under no bucket. */
export const pollOther = (api: string, props: Record<string, unknown>): Promise<void> | undefined =>
    spend((world) => [budget.awsOtherRequest(scopeOf(world, props), api)]);
