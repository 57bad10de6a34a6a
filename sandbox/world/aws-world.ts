// The simulated AWS cloud's world, typed: the JSON file (FAKE_AWS_STATE) the stand-in CLI
// (sandbox/cli/aws/aws) reads and rewrites and the stand-in provider (sandbox/providers/aws.ts)
// creates resources in. The CLI's own fields come first in each shape (what the step scripts and
// the watcher observe); the rest are what the provider's resources and lookups need, which the
// CLI ignores. Absent optional maps are empty.
import { SandboxFault } from "./faults";
import { createHash } from "crypto";

/** An EC2 instance. */
export interface AwsInstance {
    /** pending, running, stopping, stopped (the CLI moves it on each poll). */
    state: string;
    /** Device name of the root volume (e.g. /dev/sda1). */
    rootDeviceName: string;
    /** Device name → attached volume id (the root device missing: no root volume attached). */
    blockDevices: Record<string, string>;
    /** The volume the instance last started from (what decides whether it boots). */
    bootedFrom?: string;
    region?: string;
    /** Owning account, when not the world's. */
    account?: string;
    availabilityZone?: string;
    /** "windows" for Windows instances (discovery filters on it). */
    platform?: string;
    tags?: Record<string, string>;
    /** What discovery's status listing shows (the CLI computes the targeted status itself). */
    instanceStatus?: string;
    systemStatus?: string;
    stopPolls?: number;
    bootPolls?: number;
    checkPolls?: number;
    consoleOutput?: string;
    /** What its console shows once it booted healthy, when not the world's `consoleOnBoot` (a Linux instance's login prompt). */
    consoleOnBoot?: string;
    /** It boots healthy from this many reboots on (it picked up the reverted file). */
    recoversAtReboot?: number;
    reboots?: number;
    subnetId?: string;
    vpcId?: string;
    imageId?: string;
    instanceType?: string;
    privateIp?: string;
    privateDnsName?: string;
    securityGroupIds?: string[];
    /** Name of the instance profile it runs with. */
    iamInstanceProfile?: string;
    launchTime?: string;
    userData?: string;
    metadataOptions?: Record<string, unknown>;
}

/** The BitLocker protection of a volume's Windows partition: its recovery keys are in this secret. */
export interface AwsBitLocker {
    secretArn: string;
}

/** An EBS volume. */
export interface AwsVolume {
    /** creating, available, attaching, in-use, detaching. */
    state: string;
    /** false: Windows on it boot-loops (the faulty channel file); absent or true: it boots. */
    boots?: boolean;
    /** A sandbox fault of the VM whose original root volume this is (sandbox/world/faults.ts). */
    fault?: SandboxFault;
    /** `linux`: the original root volume of a Linux VM (the stand-in repair traces copies back to it). */
    guest?: "linux";
    /** The stand-in repair moved its faulty file (a repair sent again lists that quarantine). */
    repaired?: boolean;
    tags?: Record<string, string>;
    region?: string;
    availabilityZone?: string;
    size?: number;
    type?: string;
    iops?: number;
    throughput?: number;
    encrypted?: boolean;
    kmsKeyId?: string;
    snapshotId?: string;
    /** Owning account, when not the world's. */
    account?: string;
    /** The volume an EBS CopyVolumes copy was made from. */
    sourceVolume?: string;
    createTime?: string;
    /** Deleted with the instance it is the root volume of (instances the provider launches). */
    deleteOnTermination?: boolean;
    bitlocker?: AwsBitLocker;
    /** Polls left while creating. */
    pollsToAvailable?: number;
}

/** An EBS snapshot. */
export interface AwsSnapshot {
    volumeId: string;
    startTime: string;
    /** pending, completed. */
    state?: string;
    ownerId?: string;
    progress?: string;
    /** Polls left while pending. */
    pollsToComplete?: number;
    /** What a volume made from it does: false boot-loops. */
    boots?: boolean;
    region?: string;
    size?: number;
    encrypted?: boolean;
    kmsKeyId?: string;
    description?: string;
    tags?: Record<string, string>;
    bitlocker?: AwsBitLocker;
}

/** A VPC subnet. */
export interface AwsSubnet {
    vpcId: string;
    availabilityZone: string;
    region: string;
    cidrBlock: string;
    account?: string;
    tags?: Record<string, string>;
}

/** An AMI. */
export interface AwsImage {
    name: string;
    ownerId: string;
    region: string;
    architecture: string;
    creationDate: string;
    description?: string;
    platform?: string;
    rootDeviceName: string;
}

/** A Secrets Manager secret, by name. */
export interface AwsSecret {
    arn: string;
    /** Every version's text, the current one last. */
    versions: string[];
    tags?: unknown;
}

/** A Systems Manager Run Command invocation (the CLI's). */
export interface AwsCommand {
    instance: string;
    document: string;
    volumeId: string;
    keySecret?: string;
    part?: number;
    comment?: string;
    polls: number;
    status?: string;
    timeoutSeconds?: string;
    /** The simulated repair engine ran for it. */
    ran?: boolean;
}

/** A Systems Manager document. */
export interface AwsDocument {
    content: string;
    documentType: string;
    documentFormat: string;
    region: string;
    account: string;
    createdDate: string;
    tags?: Record<string, string>;
    versions: string[];
}

/** A State Manager association (the program's: one tools part document applied to one instance). */
export interface AwsAssociation {
    /** The document it applies. */
    name: string;
    /** The instances it targets (InstanceIds). */
    instances: string[];
    associationName?: string;
    region: string;
    account: string;
    /** Pending, Success or Failed (its overview status). */
    status: string;
    /** What State Manager reports with a failure. */
    detailedStatus?: string;
    createdDate: string;
    tags?: Record<string, string>;
}

/** Systems Manager: managed instances, commands and what repairs printed. */
export interface AwsSsm {
    instances: Record<string, { onlineAfterPolls?: number }>;
    commands: Record<string, AwsCommand>;
    /** Volume id → the evidence document a repair of it prints. */
    evidence: Record<string, unknown>;
    outputs?: Record<string, string[]>;
    documents?: Record<string, AwsDocument>;
    /** Set: a repair whose volume has no evidence listed is run by the CLI's simulated repair engine. */
    repairEngine?: { version: string };
    associations?: Record<string, AwsAssociation>;
    /** Instance id → bundle sha256 → part number → the characters a tools part document wrote there. */
    toolParts?: Record<string, Record<string, Record<string, string>>>;
    /** Instance id → the versions of the rescue tools installed on it (what a repair document waits for). */
    tools?: Record<string, string[]>;
}

/** An IAM role, by name. */
export interface AwsRole {
    arn: string;
    roleId: string;
    assumeRolePolicy: string;
    description?: string;
    path: string;
    permissionsBoundary?: string;
    createDate: string;
    tags?: Record<string, string>;
    /** Managed policy ARNs attached. */
    attachedPolicies: string[];
    /** Inline policy name → document. */
    inlinePolicies: Record<string, string>;
}

/** An IAM instance profile, by name. */
export interface AwsInstanceProfile {
    arn: string;
    profileId: string;
    path: string;
    role?: string;
    createDate: string;
    tags?: Record<string, string>;
}

/** A customer managed IAM policy, by ARN (AWS managed policies, `arn:aws:iam::aws:policy/…`, always exist). */
export interface AwsManagedPolicy {
    name: string;
    document: string;
}

/** IAM (global). */
export interface AwsIam {
    roles: Record<string, AwsRole>;
    instanceProfiles: Record<string, AwsInstanceProfile>;
    policies?: Record<string, AwsManagedPolicy>;
}

/** A VPC security group. */
export interface AwsSecurityGroup {
    name: string;
    description: string;
    vpcId: string;
    region: string;
    ownerId: string;
    ingress: unknown[];
    egress: unknown[];
    tags?: Record<string, string>;
}

/** The whole AWS world. */
export interface AwsWorld {
    /** The ambient credentials' account. */
    account?: string;
    /** Regions describe-regions lists. */
    regions?: string[];
    /** Console output of an instance that booted healthy. */
    consoleOnBoot?: string;
    instances: Record<string, AwsInstance>;
    volumes: Record<string, AwsVolume>;
    snapshots?: Record<string, AwsSnapshot>;
    subnets?: Record<string, AwsSubnet>;
    images?: Record<string, AwsImage>;
    secrets?: Record<string, AwsSecret>;
    securityGroups?: Record<string, AwsSecurityGroup>;
    iam?: AwsIam;
    ssm: AwsSsm;
    /** Role ARNs STS refuses to let the ambient credentials assume (AccessDenied; the CLI's `sts assume-role` and the provider's). */
    unassumable?: string[];
    /** Ids handed out so far by the provider (makes the next one unique). */
    serial?: number;
}

/** The account a world acts in when it names none (the CLI's default too). */
export const DEFAULT_ACCOUNT = "123456789012";

/** The ARN of the AWS managed key EBS encrypts with by default (aws/ebs) in a region and account. */
export function awsManagedEbsKey(region: string, account: string): string {
    const hex = createHash("sha256").update(`aws/ebs ${region} ${account}`).digest("hex");
    return `arn:aws:kms:${region}:${account}:key/${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
