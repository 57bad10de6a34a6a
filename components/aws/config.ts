import { InputError } from "../core/contract/problems";
import { ConfigReader, TagRules, readTags } from "../core/config-values";
import { declareCloudConfigKeys } from "../core/settings";
import { ConfigSource } from "../core/contract/settings";
import { LINUX_BOOT_MARKER } from "../core/contract/vm";

/** The AWS path's own settings. */
export interface AwsConfig {
    /** Rescue AMI per region; regions not listed use the newest Ubuntu 24.04 LTS AMI from Canonical. */
    rescueAmis: Record<string, string>;
    /** Instance type of the rescue instances (Nitro, so attached volumes appear as NVMe with their volume id). */
    rescueInstanceType: string;
    /** Subnet per availability zone for rescue instances; zones not listed use the affected instance's subnet. */
    rescueSubnetIds: Record<string, string>;
    /** Role to assume per account id, for inventories that span accounts. */
    assumeRoleArns: Record<string, string>;
    /** Extended regular expression that marks a healthy Windows boot in the console output. */
    bootMarker: string;
    /** Extended regular expression that marks a healthy Linux boot in the console output (a login prompt, cloud-init finished). */
    linuxBootMarker: string;
    /** The user's tags, on everything the stack creates (`awsTags`, else `tags`). */
    tags: Record<string, string>;
}

/** EC2 and IAM tags: keys of 1-128, values of at most 256 letters, digits, spaces and `_.:/=+-@`. */
export const AWS_TAG_RULES: TagRules = {
    noun: "tag",
    key: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u,
    value: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u,
    expected: "a key of 1-128 and a value of at most 256 letters, digits, spaces and _.:/=+-@",
    reservedPrefixes: ["aws:"],
    ownKeys: ["Name"],
};

/** The AWS config keys and what they mean (docs/reference.md, messages); declared to core, which refuses keys no cloud reads. */
export const AWS_CONFIG_KEYS: Record<string, string> = declareCloudConfigKeys("aws", {
    awsRescueAmis: "map region → AMI id for rescue instances (default: newest Canonical Ubuntu 24.04 LTS amd64 AMI)",
    awsRescueInstanceType: "rescue instance type, a Nitro type (default m6i.large)",
    awsRescueSubnetIds: "map availability zone → subnet id for rescue instances (default: the affected instance's subnet)",
    awsAssumeRoleArns: "map account id → IAM role ARN to assume for that account's VMs (default: the ambient credentials)",
    awsTags: "map of tags for everything the stack creates on aws, instead of tags (default: tags)",
    awsBootMarker: "regular expression marking a healthy Windows boot in the console output (default: Windows is Ready to use)",
    awsLinuxBootMarker: `regular expression marking a healthy Linux boot (entries with os: linux) in the console output (default: ${LINUX_BOOT_MARKER}, a login prompt or cloud-init's last line)`,
});

/** The console text that marks this VM's healthy boot: its guest OS's marker. */
export function bootMarkerOf(config: Pick<AwsConfig, "bootMarker" | "linuxBootMarker">, vm: { os?: "linux" }): string {
    return vm.os === "linux" ? config.linuxBootMarker : config.bootMarker;
}

/** Reads and validates the AWS config keys; throws an InputError listing every bad value. */
export function readAwsConfig(config: ConfigSource, stackFile: string): AwsConfig {
    const r = new ConfigReader(config, stackFile);
    const aws: AwsConfig = {
        rescueAmis: r.map(
            "awsRescueAmis",
            /^[a-z]{2}(-gov|-iso|-isob)?-[a-z]+-\d{1,2}$/,
            /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/,
            "region: ami-…",
        ),
        rescueInstanceType: r.text(
            "awsRescueInstanceType",
            /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
            "an instance type such as m6i.large",
            "m6i.large",
        ),
        rescueSubnetIds: r.map(
            "awsRescueSubnetIds",
            /^[a-z]{2}(-gov|-iso|-isob)?-[a-z]+-\d{1,2}[a-z]$/,
            /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/,
            "availability zone: subnet-…",
        ),
        assumeRoleArns: r.map(
            "awsAssumeRoleArns",
            /^\d{12}$/,
            /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
            "account id: arn:aws:iam::ACCOUNT:role/NAME",
        ),
        bootMarker: r.regex("awsBootMarker", "Windows is Ready to use"),
        linuxBootMarker: r.regex("awsLinuxBootMarker", LINUX_BOOT_MARKER),
        tags: readTags(r, config, "tags", "awsTags", AWS_TAG_RULES),
    };
    if (r.problems.length > 0) throw new InputError(r.problems);
    return aws;
}
