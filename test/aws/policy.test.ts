import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { cloudResourceTypes } from "../helpers/lab-run";
import { INSTANCE, op, repairEnv, rollbackEnv, run, swapEnv, swapped, world } from "./run-script";

const policy = JSON.parse(fs.readFileSync(path.join(__dirname, "../../components/aws/iam/deployer-policy.json"), "utf8")) as {
    Statement: {
        Sid: string;
        Effect: string;
        Action: string | string[];
        Resource: string | string[];
        Condition?: Record<string, Record<string, string>>;
    }[];
};
const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);
const allowed = new Set(policy.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => list(s.Action)));

/** `ec2 describe-instances` → `ec2:DescribeInstances`. */
const action = (service: string, op: string) =>
    `${service}:${op
        .split("-")
        .map((w) => w[0].toUpperCase() + w.slice(1))
        .join("")}`;

/** What the provider calls for each resource type the AWS path declares (create, read, update, delete). */
const RESOURCE_ACTIONS: Record<string, string[]> = {
    "aws:ebs/snapshot:Snapshot": ["ec2:CreateSnapshot", "ec2:DescribeSnapshots", "ec2:CreateTags"],
    "aws:ebs/volume:Volume": ["ec2:CreateVolume", "ec2:DescribeVolumes", "ec2:CreateTags", "ec2:DeleteVolume"],
    "aws:ebs/volumeCopy:VolumeCopy": ["ec2:CopyVolumes", "ec2:DescribeVolumes", "ec2:CreateTags"],
    "aws:ec2/volumeAttachment:VolumeAttachment": ["ec2:AttachVolume", "ec2:DetachVolume", "ec2:DescribeVolumes"],
    "aws:ec2/instance:Instance": [
        "ec2:RunInstances",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceAttribute",
        "ec2:TerminateInstances",
        "ec2:CreateTags",
        "iam:PassRole",
    ],
    "aws:ec2/securityGroup:SecurityGroup": [
        "ec2:CreateSecurityGroup",
        "ec2:DescribeSecurityGroups",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:DeleteSecurityGroup",
    ],
    "aws:iam/role:Role": ["iam:CreateRole", "iam:GetRole", "iam:DeleteRole", "iam:TagRole"],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["iam:AttachRolePolicy", "iam:ListAttachedRolePolicies", "iam:DetachRolePolicy"],
    "aws:iam/rolePolicy:RolePolicy": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
    "aws:iam/instanceProfile:InstanceProfile": [
        "iam:CreateInstanceProfile",
        "iam:GetInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:DeleteInstanceProfile",
    ],
    "aws:ssm/association:Association": [
        "ssm:CreateAssociation",
        "ssm:DescribeAssociation",
        "ssm:UpdateAssociation",
        "ssm:DeleteAssociation",
        "ssm:AddTagsToResource",
    ],
    "aws:ssm/document:Document": [
        "ssm:CreateDocument",
        "ssm:DescribeDocument",
        "ssm:GetDocument",
        "ssm:UpdateDocument",
        "ssm:DeleteDocument",
    ],
};

describe("AWS least-privilege policy (components/aws/iam/deployer-policy.json)", () => {
    it("covers every AWS CLI call the command scripts make", () => {
        const calls = [
            ...run("swap", swapEnv, world()).calls,
            ...run("repair", { ...repairEnv, ASSUME_ROLE_ARN: "arn:aws:iam::222222222222:role/rescue" }, world()).calls,
            ...run(
                "reboot",
                {
                    INSTANCE_ID: INSTANCE,
                    VM_LABEL: "x",
                    MAX_REBOOTS: "1",
                    REBOOT_TIMEOUT_SECONDS: "0",
                    MUST_RECOVER: "false",
                    BOOT_MARKER: "Ready",
                },
                world(),
            ).calls,
            ...run("rollback", rollbackEnv, swapped()).calls,
            ...run("restore-points", {}, world({ snapshots: {} })).calls,
        ];
        const needed = new Set(
            calls.map((c) => {
                const [service, command] = op(c).split(" ");
                return action(service, command);
            }),
        );
        for (const a of ["sts:AssumeRole", "ssm:SendCommand", "ec2:DetachVolume", "ec2:RebootInstances", "ec2:DescribeSnapshots"])
            assert.ok(needed.has(a), a);
        for (const a of needed) assert.ok(allowed.has(a), `${a} is not allowed`);
    });

    it("covers every resource type the AWS path declares, and lookups", async () => {
        const withKeySecret = "    bitlockerSecret: arn:aws:secretsmanager:us-east-1:123456789012:secret:web-1-Ab12Cd\n";
        for (const type of await cloudResourceTypes(
            `vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef0\n${withKeySecret}`,
        )) {
            assert.ok(RESOURCE_ACTIONS[type], `no list for ${type}: add it here and to the policy`);
            for (const a of RESOURCE_ACTIONS[type]) assert.ok(allowed.has(a), `${type} needs ${a}`);
        }
        for (const a of ["ec2:DescribeInstances", "ec2:DescribeSubnets", "ec2:DescribeImages", "sts:GetCallerIdentity"])
            assert.ok(allowed.has(a), a);
    });

    it("inline policies go only on rescue roles under the boundary the administrator made, and the boundary caps them at Systems Manager and reading secrets through Secrets Manager", () => {
        const deny = policy.Statement.find((s) => s.Effect === "Deny" && list(s.Action).includes("iam:PutRolePolicy"))!;
        assert.deepEqual(deny.Condition, {
            ArnNotLike: { "iam:PermissionsBoundary": "arn:aws:iam::*:policy/bootloop-rescue-rescue-boundary" },
        });
        assert.deepEqual(list(deny.Resource), ["arn:aws:iam::*:role/rescue-aws-*"]);
        for (const a of [
            "iam:PutRolePermissionsBoundary",
            "iam:DeleteRolePermissionsBoundary",
            "iam:CreatePolicy",
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
        ])
            assert.ok(!allowed.has(a), `${a} would let the deployer lift the boundary`);
        const boundary = JSON.parse(
            fs.readFileSync(path.join(__dirname, "../../components/aws/iam/rescue-boundary-policy.json"), "utf8"),
        ) as typeof policy;
        const capped = boundary.Statement.flatMap((s) => list(s.Action));
        assert.ok(
            capped.every(
                (a) => /^(ssm|ssmmessages|ec2messages):[A-Za-z]+$/.test(a) || a === "secretsmanager:GetSecretValue" || a === "kms:Decrypt",
            ),
            capped.join(),
        );
        assert.deepEqual(boundary.Statement.find((s) => list(s.Action).includes("kms:Decrypt"))!.Condition, {
            StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" },
        });
        // Every action the rescue role's own policies use is inside the boundary.
        const ssmCore = ["ssm:UpdateInstanceInformation", "ssmmessages:OpenControlChannel", "ec2messages:GetMessages"];
        for (const a of [...ssmCore, "secretsmanager:GetSecretValue", "kms:Decrypt"]) assert.ok(capped.includes(a), a);
    });

    it("is least privilege: no wildcard action, never deletes a snapshot, deletes only scratch volumes and rescue instances", () => {
        for (const a of allowed) assert.ok(!a.includes("*"), `wildcard action ${a}`);
        assert.ok(!allowed.has("ec2:DeleteSnapshot"), "backups can never be deleted with this policy");
        const del = policy.Statement.find((s) => list(s.Action).includes("ec2:DeleteVolume"))!;
        assert.deepEqual(del.Condition, { StringEquals: { "aws:ResourceTag/bootloop-rescue:role": "scratch" } });
        const term = policy.Statement.find((s) => list(s.Action).includes("ec2:TerminateInstances"))!;
        assert.deepEqual(term.Condition, { StringEquals: { "aws:ResourceTag/bootloop-rescue:managed-by": "bootloop-rescue" } });
        const pass = policy.Statement.find((s) => list(s.Action).includes("iam:PassRole"))!;
        assert.deepEqual(list(pass.Resource), ["arn:aws:iam::*:role/rescue-aws-*"]);
    });
});
