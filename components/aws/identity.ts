import type { ScaleGroup } from "../core/contract/scale-group";
import { CloudIdentity, hexId } from "../core/contract/identity";

const REGION =
    /^(us|eu|ap|sa|ca|me|af|il|mx|cn)(-gov|-iso|-isob)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}$/;

/**
 * The full ARN of a Secrets Manager secret (its name ends in a hyphen and six random characters),
 * so an IAM policy can name exactly it: a partial ARN would need a wildcard. (repair.sh checks
 * the same pattern in bash: keep the two alike.)
 */
export const SECRET_ARN =
    /^arn:aws(-cn|-us-gov)?:secretsmanager:[a-z]{2}(-gov)?-[a-z]+-[0-9]{1,2}:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6}$/;

/** How an EC2 instance is named in the inventory. */
export const awsIdentity: CloudIdentity = {
    cloud: "aws",
    fields: [
        { name: "region", required: true, pattern: REGION, expected: "an AWS region such as us-east-1" },
        {
            name: "instanceId",
            required: true,
            pattern: /^i-([0-9a-f]{8}|[0-9a-f]{17})$/,
            expected: "an EC2 instance id: i- followed by 8 or 17 lowercase hex digits",
        },
        { name: "accountId", required: false, pattern: /^\d{12}$/, expected: "a 12-digit AWS account id" },
        {
            name: "availabilityZone",
            required: false,
            pattern: /^[a-z]{2}(-gov|-iso|-isob)?-[a-z]+-\d{1,2}[a-z]$/,
            expected: "an availability zone such as us-east-1a",
        },
        {
            name: "rootVolumeId",
            required: false,
            pattern: /^vol-([0-9a-f]{8}|[0-9a-f]{17})$/,
            expected: "an EBS volume id (the root volume the lookup must find)",
        },
        {
            name: "rootDeviceName",
            required: false,
            pattern: /^\/dev\/(sd[a-z]|xvd[a-z])[0-9]?$/,
            expected: "a root device name such as /dev/sda1",
        },
        {
            name: "bitlockerSecret",
            required: false,
            pattern: SECRET_ARN,
            expected:
                "the full ARN of a Secrets Manager secret in the VM's account, with its 6-character suffix (as `aws secretsmanager describe-secret --secret-id NAME --query ARN` prints it), holding the OS volume's BitLocker recovery passwords or BEK",
        },
        {
            name: "subnetId",
            required: false,
            pattern: /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/,
            expected: "a subnet id for this zone's rescue instance",
        },
    ],
    restoreFrom: { pattern: /^snap-([0-9a-f]{8}|[0-9a-f]{17})$/, expected: "an EBS snapshot id: snap- followed by 8 or 17 hex digits" },
    crossCheck(f) {
        const az = f.availabilityZone;
        if (az && f.region && !(az.startsWith(f.region) && az.length === f.region.length + 1)) {
            return [{ field: "availabilityZone", message: `${JSON.stringify(az)} is not in region ${JSON.stringify(f.region)}` }];
        }
        return [];
    },
    key: (f) => `${f.region}/${f.instanceId}`.toLowerCase(),
    label: (f) => `aws ${f.region}/${f.instanceId}`,
    shortName: (f) => f.instanceId,
    placement: (f) => ({ scope: f.accountId ?? "", region: f.region, zone: f.availabilityZone ?? "" }),
    sample: (i) => {
        const region = ["us-east-1", "eu-west-1"][i % 2];
        return { region, instanceId: `i-${hexId(i, 17)}`, availabilityZone: `${region}${"abc"[Math.floor(i / 2) % 3]}` };
    },
};

/** An EC2 Auto Scaling group, and how a member leaves it (the chain's lookup and discovery say the same). */
export function autoScalingGroup(name: string): ScaleGroup {
    return {
        name: `Auto Scaling group ${name}`,
        leave: "detach it from the group (aws autoscaling detach-instances, or put it in standby) first",
    };
}
