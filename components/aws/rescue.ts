import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { shortHash } from "../core/contract/identity";
import { GuestOs } from "../core/contract/vm";
import { LinuxRuleSet, RuleSet } from "../core/contract/settings";
import { distinctSecrets, RescueContext, RescueStep } from "../core/contract/cloud-path";
import { rescueCloudInit, rescueTools } from "../../rescue/payload";
import { AwsConfig } from "./config";
import { SECRET_ARN } from "./identity";
import { rescueAmi } from "./lookups";
import { TOOLS_WAIT_SECONDS } from "./step-waits";
import { toolsDeliveryKey, toolsPartDocuments, toolsWaitLines } from "./tools";

const VOLUME_ID_PATTERN = "^vol-([0-9a-f]{8}|[0-9a-f]{17})$";

/** The characters of evidence per command output (Systems Manager keeps 24,000). */
export const EVIDENCE_PART_CHARS = 20_000;
const EVIDENCE_PART_PATTERN = "^([1-9][0-9]{0,3})?$";

/**
 * The Systems Manager command document that repairs one attached volume on a rescue instance. It
 * carries no tools (they arrive in parts, tools.ts): it waits a bounded time for the tools of its
 * own version and runs on-rescue.sh from their folder, or prints why it cannot (exit 6). It takes
 * the volume id as a typed parameter with a strict allowed pattern, so no other text can reach
 * the script. A few KB, whatever the size of the engine.
 */
export function repairDocumentContent(ruleSet: RuleSet | LinuxRuleSet, guest: GuestOs = "windows"): string {
    const version = rescueTools().version;
    return JSON.stringify({
        schemaVersion: "2.2",
        description: `bootloop-rescue: repair one attached ${guest === "linux" ? "Linux" : "Windows"} disk offline (rescue tools ${version})`,
        parameters: {
            volumeId: { type: "String", description: "EBS volume id of the attached disk to repair", allowedPattern: VOLUME_ID_PATTERN },
            keySecret: {
                type: "String",
                description:
                    "empty, or the ARN of the Secrets Manager secret that holds the disk's BitLocker keys: the rescue instance reads it with its own role",
                default: "",
                allowedPattern: `^(${SECRET_ARN.source.slice(1, -1)})?$`,
            },
            evidencePart: {
                type: "String",
                description:
                    "empty: repair; a number: print that part of an evidence line too long for one command's output (repair.sh asks for them)",
                default: "",
                allowedPattern: EVIDENCE_PART_PATTERN,
            },
        },
        mainSteps: [
            {
                action: "aws:runShellScript",
                name: "repair",
                precondition: { StringEquals: ["platformType", "Linux"] },
                inputs: {
                    // One repair's own time limit (the wait for the tools included); queueing
                    // behind other seats is covered by the agent's worker count and the command's
                    // delivery timeout (repair.sh).
                    timeoutSeconds: String(1800 + TOOLS_WAIT_SECONDS),
                    // Systems Manager keeps the first 24,000 characters of output: a longer
                    // evidence line comes back in parts of EVIDENCE_MAX_CHARS.
                    runCommand: [
                        ...toolsWaitLines(version),
                        `export BOOTLOOP_RESCUE_LIB="$tools" TOOLS_VERSION=${version} DISK_HANDLE_KIND=aws-volume-id DISK_HANDLE='{{ volumeId }}' KEY_SECRET_KIND=aws-secretsmanager KEY_SECRET='{{ keySecret }}' EVIDENCE_ENCODING=gzip-base64 EVIDENCE_MAX_CHARS=${EVIDENCE_PART_CHARS} EVIDENCE_PART='{{ evidencePart }}' RULE_SET=${ruleSet}`,
                        'exec "$tools/on-rescue.sh"',
                    ],
                },
            },
        ],
    });
}

/**
 * The rescue instance's first boot: the NTFS tools, and a Systems Manager agent that runs as many
 * commands at once as the instance has seats (its default is 5), so the last disk's repair is not
 * queued behind the others until its delivery times out.
 */
export function rescueUserData(seats: number): string {
    return rescueCloudInit({
        files: [
            {
                path: "/etc/amazon/ssm/amazon-ssm-agent.json",
                content: JSON.stringify({ Mds: { CommandWorkersLimit: Math.max(5, seats) } }),
            },
        ],
        commands: ["snap restart amazon-ssm-agent || systemctl restart amazon-ssm-agent"],
    });
}

/**
 * Seconds Pulumi waits for each tools association to succeed on a new rescue instance: its agent
 * comes online a minute or two after the instance runs, and a part takes seconds.
 */
export const TOOLS_DELIVERY_SECONDS = 900;

/** The managed policy that caps rescue roles that read secrets (components/aws/iam/rescue-boundary-policy.json). */
export const RESCUE_BOUNDARY_POLICY = "bootloop-rescue-rescue-boundary";

/**
 * The policy that lets a rescue instance read exactly the given Secrets Manager secrets (full
 * ARNs): GetSecretValue on each, and kms:Decrypt only through Secrets Manager and only for those
 * secrets (their ARN is the encryption context Secrets Manager decrypts with), for secrets under
 * a customer-managed key. Nothing else.
 */
export function secretReadPolicy(arns: readonly string[]): string {
    const regions = [...new Set(arns.map((arn) => arn.split(":")[3]))].sort();
    const domain = (arn: string) => (arn.startsWith("arn:aws-cn:") ? "amazonaws.com.cn" : "amazonaws.com");
    const services = [...new Set(arns.map((arn) => `secretsmanager.${arn.split(":")[3]}.${domain(arn)}`))].sort();
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "ReadTheDisksKeys", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: [...arns] },
            {
                Sid: "DecryptThemThroughSecretsManager",
                Effect: "Allow",
                Action: "kms:Decrypt",
                Resource: regions.map((r) => `arn:${arns[0].split(":")[1]}:kms:${r}:*:key/*`),
                Condition: {
                    StringEquals: { "kms:ViaService": services },
                    "ForAnyValue:StringEquals": { "kms:EncryptionContext:SecretARN": [...arns] },
                },
            },
        ],
    });
}

/**
 * The rescue instances of one run, and what they share: per account an instance role that can
 * only talk to Systems Manager, per account and region the repair document and the tools' part
 * documents, per VPC a security group with no inbound rule. Each rescue instance gets the tools
 * once, by one State Manager association per part. Shared resources are children of the root, named from their scope.
 * A rescue instance that repairs disks whose keys are in Secrets Manager gets a role of its own
 * instead, which may also read exactly those secrets: it goes with the instance at teardown.
 */
export class AwsRescueFleet {
    private readonly profiles = new Map<string, aws.iam.InstanceProfile>();
    private readonly documents = new Map<string, aws.ssm.Document>();
    private readonly toolParts = new Map<string, { docs: aws.ssm.Document[]; delivery: string }>();
    private readonly tools = new Map<RescueStep, aws.ssm.Association[]>();
    private readonly groups = new Map<string, aws.ec2.SecurityGroup>();

    constructor(
        private readonly parent: pulumi.Resource,
        private readonly config: AwsConfig,
        private readonly providerOf: (account: string) => aws.Provider,
        private readonly tags: Record<string, string>,
        /** The engine's rule sets, the stack's `ruleSet` and `linuxRuleSet`: each part of its repair document. */
        private readonly ruleSets: Readonly<Record<GuestOs, RuleSet | LinuxRuleSet>>,
    ) {}

    private profile(account: string): aws.iam.InstanceProfile {
        let profile = this.profiles.get(account);
        if (!profile) {
            const name = `rescue-aws-${shortHash(`account ${account}`)}`;
            profile = this.rescueRole(name, "Systems Manager only", { parent: this.parent, provider: this.providerOf(account) }).profile;
            this.profiles.set(account, profile);
        }
        return profile;
    }

    /**
     * An instance role (Systems Manager, and when `secrets` are given, reading exactly those), its
     * profile, and its policies: what an instance must wait for before its repairs need them.
     */
    private rescueRole(name: string, purpose: string, opts: pulumi.CustomResourceOptions, secrets: readonly string[] = []) {
        const [, partition, , , account] = secrets[0]?.split(":") ?? [];
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: `bootloop-rescue rescue instances: ${purpose}`,
                // A role that reads secrets is capped by the boundary the account's administrator
                // created (iam/rescue-boundary-policy.json): the deployer may put inline policies
                // only on roles under it, so it can never make a rescue role more than that.
                permissionsBoundary: secrets.length ? `arn:${partition}:iam::${account}:policy/${RESCUE_BOUNDARY_POLICY}` : undefined,
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags: this.tags,
            },
            opts,
        );
        const ssm = new aws.iam.RolePolicyAttachment(
            `${name}-ssm`,
            { role: role.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" },
            opts,
        );
        const read = secrets.length
            ? new aws.iam.RolePolicy(`${name}-secrets`, { role: role.name, policy: secretReadPolicy(secrets) }, opts)
            : undefined;
        const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name, tags: this.tags }, opts);
        return { profile, policies: [ssm, ...(read ? [read] : [])] };
    }

    /**
     * The repair document of an account and region for a guest OS: the Windows one (its name
     * unchanged since before Linux guests), and the Linux one only where a Linux VM is repaired.
     * The rule set is in the document, as a constant: nothing of a VM reaches its script.
     */
    document(account: string, region: string, guest: GuestOs = "windows"): aws.ssm.Document {
        const key = `${account}/${region}`;
        let doc = this.documents.get(`${key} ${guest}`);
        if (!doc) {
            doc = new aws.ssm.Document(
                `rescue-aws-${shortHash(`document ${key}`)}-repair-${guest === "linux" ? "linux-" : ""}doc`,
                {
                    documentType: "Command",
                    documentFormat: "JSON",
                    content: repairDocumentContent(this.ruleSets[guest], guest),
                    region,
                    tags: this.tags,
                },
                { parent: this.parent, provider: this.providerOf(account) },
            );
            this.documents.set(`${key} ${guest}`, doc);
        }
        return doc;
    }

    /**
     * The tools' part documents of an account and region (tools.ts). Named from the parts' hash:
     * new tools are new documents (and new associations), never an update of ones in use.
     */
    private toolsParts(account: string, region: string): { docs: aws.ssm.Document[]; delivery: string } {
        const key = `${account}/${region}`;
        let found = this.toolParts.get(key);
        if (!found) {
            const parts = toolsPartDocuments();
            const delivery = toolsDeliveryKey(parts);
            const docs = parts.map(
                (part) =>
                    new aws.ssm.Document(
                        `rescue-aws-${shortHash(`document ${key}`)}-tools-${delivery}-${part.index}of${part.count}`,
                        { documentType: "Command", documentFormat: "JSON", content: part.content, region, tags: this.tags },
                        { parent: this.parent, provider: this.providerOf(account) },
                    ),
            );
            found = { docs, delivery };
            this.toolParts.set(key, found);
        }
        return found;
    }

    /** The associations that deliver the tools to a rescue instance: its repairs wait for them. */
    toolsOf(rescue: RescueStep): pulumi.Resource[] {
        return this.tools.get(rescue) ?? [];
    }

    private securityGroup(account: string, region: string, vpcId: string): aws.ec2.SecurityGroup {
        const key = `${account}/${region}/${vpcId}`;
        let group = this.groups.get(key);
        if (!group) {
            group = new aws.ec2.SecurityGroup(
                `rescue-aws-${shortHash(`sg ${key}`)}-sg`,
                {
                    description:
                        "bootloop-rescue rescue instances: no inbound; HTTPS out to Systems Manager, HTTP(S) out to the OS archive at first boot",
                    vpcId,
                    region,
                    ingress: [],
                    egress: [
                        {
                            description: "Systems Manager endpoints, OS package archive",
                            protocol: "tcp",
                            fromPort: 443,
                            toPort: 443,
                            cidrBlocks: ["0.0.0.0/0"],
                        },
                        {
                            description: "OS package archive (apt over HTTP, signed)",
                            protocol: "tcp",
                            fromPort: 80,
                            toPort: 80,
                            cidrBlocks: ["0.0.0.0/0"],
                        },
                    ],
                    revokeRulesOnDelete: true,
                    tags: this.tags,
                },
                { parent: this.parent, provider: this.providerOf(account) },
            );
            this.groups.set(key, group);
        }
        return group;
    }

    /**
     * One rescue instance: Linux, no public IP, IMDSv2 only, no inbound rule, SSM role (its own,
     * reading exactly the secrets of the disks it repairs, when there are any).
     */
    instance(ctx: RescueContext): RescueStep {
        const { scope: account, region, zone } = ctx.pool.placement;
        const facts = ctx.sample.facts;
        const subnetId = this.config.rescueSubnetIds[zone] ?? facts.subnetId;
        const provider = this.providerOf(account);
        const secrets = distinctSecrets(ctx.keySecrets);
        const own = secrets.length
            ? this.rescueRole(
                  ctx.member.name,
                  "Systems Manager, and the BitLocker key secrets of the disks this instance repairs",
                  pulumi.mergeOptions(ctx.opts, { provider }),
                  secrets,
              )
            : undefined;
        const instance = new aws.ec2.Instance(
            ctx.member.name,
            {
                ami: rescueAmi(region, provider, this.config),
                instanceType: this.config.rescueInstanceType,
                region,
                subnetId,
                associatePublicIpAddress: false,
                vpcSecurityGroupIds: [this.securityGroup(account, region, facts.vpcId).id],
                iamInstanceProfile: (own?.profile ?? this.profile(account)).name,
                metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
                rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: 16 },
                userData: rescueUserData(ctx.pool.capacity),
                tags: { ...this.tags, Name: ctx.member.name, "bootloop-rescue:role": "rescue" },
            },
            // Pinned for the life of the pool: the newest AMI (looked up on every run) or new user
            // data would stop or replace the instance and kill the repairs on it. A new image
            // applies to pools created after it; new tools reach a running instance by new associations.
            pulumi.mergeOptions(ctx.opts, {
                provider,
                dependsOn: own?.policies ?? [],
                ignoreChanges: ["ami", "userData"],
                customTimeouts: { create: "20m", delete: "20m" },
            }),
        );
        // What attaches to the instance (and so each repair) also waits for its role's policies,
        // which a later run may change (a new disk's secret) without touching the instance.
        const id = own ? pulumi.all([instance.id, ...own.policies.map((p) => p.id)]).apply(([id]) => id) : instance.id;
        const step = { resource: instance, id };
        // The tools, once per instance: an association per part runs its document on the instance
        // as soon as its agent is online, and Pulumi waits for each to succeed (a failed part is
        // an error of the run, with State Manager's reason: no repair could run).
        const { docs: parts, delivery } = this.toolsParts(account, region);
        this.tools.set(
            step,
            parts.map(
                (doc, i) =>
                    new aws.ssm.Association(
                        `${ctx.member.name}-tools-${delivery}-${i + 1}of${parts.length}`,
                        {
                            name: doc.name,
                            associationName: `bootloop-rescue-tools-${rescueTools().version}-${i + 1}of${parts.length}`,
                            targets: [{ key: "InstanceIds", values: [instance.id] }],
                            region,
                            waitForSuccessTimeoutSeconds: TOOLS_DELIVERY_SECONDS,
                            tags: this.tags,
                        },
                        pulumi.mergeOptions(ctx.opts, { provider }),
                    ),
            ),
        );
        return step;
    }
}
