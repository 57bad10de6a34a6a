// The sandbox's stand-in aws provider, driven directly (no engine) against a world file seeded
// from an inventory: each resource type it serves lands in the world the stand-in CLI answers
// from, diffs ask for replacement exactly on the upstream ForceNew inputs, deletes refuse what the
// cloud refuses, lookups answer from the seeded world, and the repair the CLI simulates makes the
// repaired disk (and its copies) boot while the backup of the original does not. Then: a world
// seeded from stacks/dev.yaml answers every lookup the program makes for its AWS VMs.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { readAwsConfig } from "../../components/aws/config";
import { callerAccount, lookUpInstance, rescueAmi } from "../../components/aws/lookups";
import { TOOLS_DELIVERY_SECONDS, repairDocumentContent, secretReadPolicy } from "../../components/aws/rescue";
import { toolsPartDocuments } from "../../components/aws/tools";
import { rescueTools } from "../../rescue/payload";
import { VmEntry } from "../../components/core/contract/vm";
import { inventoryContext } from "../../components/core/inventory/context";
import { parseYamlInventory, readInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { NAMESPACE } from "../../components/core/contract/settings";
import { builtClouds, identities } from "../../components/registry/inventory";
import { configSourceOf, readStackConfig } from "../../components/tools/offline/stack-config";
import { awsStandIn } from "../../sandbox/providers/aws";
import { Props, providerOf } from "../../sandbox/providers/host";
import { AwsWorld } from "../../sandbox/world/aws-world";
import { seedAwsWorld } from "../../sandbox/world/aws-seed";
import { readWorld } from "../../sandbox/world/world-file";
import { run as runAwsScript } from "../aws/run-script";
import { RestoreListings } from "../../components/core/restore-listings";

const PROJECT = path.resolve(__dirname, "../..");
const CLI = path.join(PROJECT, "sandbox/cli/aws/aws");
const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bootloop-rescue/t/web-2-Ab12Cd";
const VM1 = "i-0aaaaaaaaaaaaaaa1";
const VM2 = "i-0aaaaaaaaaaaaaaa2";
const VM3 = "i-0aaaaaaaaaaaaaaa3";
const INVENTORY = `vms:
  - cloud: aws
    region: us-east-1
    instanceId: ${VM1}
    availabilityZone: us-east-1a
  - cloud: aws
    region: us-east-1
    instanceId: ${VM2}
    availabilityZone: us-east-1a
    bitlockerSecret: ${SECRET}
  - cloud: aws
    region: eu-west-1
    instanceId: ${VM3}
    strategy: restore
  - cloud: gcp
    project: my-project
    zone: us-central1-a
    instance: web-1
`;

/** The inventory's entries, validated as every run validates them. */
function entries(text: string): VmEntry[] {
    return validateInventory(
        parseYamlInventory("inventory.yaml", text),
        inventoryContext(identities, builtClouds, { get: () => undefined, kind: () => "missing" }),
    );
}

/**
 * The paths of a value the engine's wire cannot carry: the protocol's Struct has no undefined (the
 * provider server fails the whole call with "Unexpected struct type").
 */
function unwired(value: unknown, at = "outputs"): string[] {
    if (value === undefined) return [at];
    if (Array.isArray(value)) return value.flatMap((v, i) => unwired(v, `${at}[${i}]`));
    if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => unwired(v, `${at}.${k}`));
    return [];
}

const urn = (type: string, name: string) => `urn:pulumi:sbx::bootloop-rescue::${type}::${name}`;
const T = {
    snapshot: "aws:ebs/snapshot:Snapshot",
    volume: "aws:ebs/volume:Volume",
    copy: "aws:ebs/volumeCopy:VolumeCopy",
    attachment: "aws:ec2/volumeAttachment:VolumeAttachment",
    instance: "aws:ec2/instance:Instance",
    group: "aws:ec2/securityGroup:SecurityGroup",
    role: "aws:iam/role:Role",
    attachPolicy: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    profile: "aws:iam/instanceProfile:InstanceProfile",
    document: "aws:ssm/document:Document",
    association: "aws:ssm/association:Association",
};

describe("sandbox: the stand-in aws provider, against a seeded world (no engine)", function () {
    const vms = entries(INVENTORY);
    const p = providerOf(awsStandIn);
    let dir: string;
    let file: string;
    let saved: string | undefined;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbx-aws-"));
        file = path.join(dir, "aws-world.json");
        fs.writeFileSync(file, JSON.stringify(seedAwsWorld(vms)));
        saved = process.env.FAKE_AWS_STATE;
        process.env.FAKE_AWS_STATE = file;
    });
    afterEach(() => {
        if (saved === undefined) delete process.env.FAKE_AWS_STATE;
        else process.env.FAKE_AWS_STATE = saved;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const world = () => readWorld(file) as AwsWorld;
    /** The stand-in CLI's answer (JSON, or text with --output text), as a step script would get it. */
    function cli(...args: string[]): { code: number | null; out: any; stderr: string } {
        const r = spawnSync(CLI, ["--region", "us-east-1", ...args], {
            encoding: "utf8",
            env: { ...process.env, FAKE_AWS_STATE: file, FAKE_AWS_LOG: path.join(dir, "calls.log") },
        });
        let out: unknown = r.stdout;
        try {
            out = JSON.parse(r.stdout);
        } catch {
            /* text output */
        }
        return { code: r.status, out, stderr: r.stderr };
    }
    const create = async (type: string, name: string, inputs: Props) => {
        const made = await p.create!(urn(type, name), inputs);
        assert.deepEqual(unwired(made.outs), [], `${type} create`);
        const state = (await p.read!(made.id, urn(type, name), made.outs)).props as Props;
        assert.deepEqual(unwired(state), [], `${type} read`);
        // A second run with the same inputs, before or after a refresh, changes nothing.
        for (const olds of [made.outs, state])
            assert.equal((await p.diff!(made.id, urn(type, name), olds, inputs)).changes, false, `${type} diff`);
        return { id: made.id, outs: made.outs as Props };
    };
    const rootOf = (instanceId: string) => {
        const i = world().instances[instanceId];
        return i.blockDevices[i.rootDeviceName];
    };
    const invoke = async (token: string, args: Props) => {
        const outputs = (await p.invoke!(token, args)).outputs as Props;
        assert.deepEqual(unwired(outputs), [], token);
        return outputs;
    };

    /** A rescue instance as the program declares one: role, SSM policy, profile, security group, the newest Ubuntu AMI. */
    async function rescueInstance(region = "us-east-1", zone = "us-east-1a", withTools = true) {
        const role = await create(T.role, "rescue-role", {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        });
        const roleName = String(role.outs.name);
        await create(T.attachPolicy, "rescue-ssm", { role: roleName, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" });
        const profile = await create(T.profile, "rescue-profile", { role: roleName });
        const subnetId = Object.entries(world().subnets!).find(([, s]) => s.availabilityZone === zone)![0];
        const group = await create(T.group, "rescue-sg", { vpcId: world().subnets![subnetId].vpcId, region, ingress: [], egress: [] });
        const ami = await invoke("aws:ec2/getAmi:getAmi", {
            region,
            mostRecent: true,
            owners: ["099720109477"],
            filters: [
                { name: "name", values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] },
                { name: "architecture", values: ["x86_64"] },
            ],
        });
        const instance = await create(T.instance, "rescue-1", {
            ami: ami.id,
            instanceType: "m6i.large",
            region,
            subnetId,
            associatePublicIpAddress: false,
            vpcSecurityGroupIds: [group.id],
            iamInstanceProfile: profile.outs.name,
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: 16 },
            tags: { "bootloop-rescue:role": "rescue" },
        });
        const document = await create(T.document, "repair-doc", {
            documentType: "Command",
            documentFormat: "JSON",
            content: repairDocumentContent("crowdstrike-291"),
            region,
        });
        const r = { roleName, profile, group, instance, document: String(document.outs.name), subnetId };
        if (withTools) await deliverTools(instance.id, region);
        return r;
    }

    /** The tools' part documents, and an association per part targeting the instance, as the program declares them. */
    async function deliverTools(instanceId: string, region = "us-east-1", parts = toolsPartDocuments()) {
        const made = [];
        for (const part of parts) {
            const doc = await create(T.document, `tools-${part.index}of${part.count}`, {
                documentType: "Command",
                documentFormat: "JSON",
                content: part.content,
                region,
            });
            made.push(
                await create(T.association, `rescue-1-tools-${part.index}of${part.count}`, {
                    name: doc.outs.name,
                    targets: [{ key: "InstanceIds", values: [instanceId] }],
                    region,
                    waitForSuccessTimeoutSeconds: TOOLS_DELIVERY_SECONDS,
                }),
            );
        }
        return made;
    }

    /** The program's chain up to the repair: backup of the VM's root volume, scratch volume from it, attached to the rescue instance. */
    async function scratchOn(vm: string, rescue: string, device = "/dev/sdf") {
        const backup = await create(T.snapshot, `${vm}-backup`, {
            volumeId: rootOf(vm),
            region: "us-east-1",
            tags: { "bootloop-rescue:role": "backup" },
        });
        const scratch = await create(T.volume, `${vm}-scratch`, {
            availabilityZone: "us-east-1a",
            region: "us-east-1",
            snapshotId: backup.id,
            type: "gp3",
            encrypted: true,
        });
        const attachment = await create(T.attachment, `${vm}-attach`, {
            deviceName: device,
            volumeId: scratch.id,
            instanceId: rescue,
            region: "us-east-1",
        });
        return { backup, scratch, attachment };
    }

    /** Runs the repair document on the rescue instance for a volume through the CLI, as repair.sh does; the status and the evidence. */
    function repairWithCli(rescue: string, document: string, volumeId: string, keySecret = "") {
        const sent = cli(
            "ssm",
            "send-command",
            "--instance-ids",
            rescue,
            "--document-name",
            document,
            "--parameters",
            JSON.stringify({ volumeId: [volumeId], keySecret: [keySecret] }),
            "--timeout-seconds",
            "600",
            "--comment",
            `bootloop-rescue repair of ${volumeId}`,
        );
        assert.equal(sent.code, 0, sent.stderr);
        const commandId = String(sent.out.Command.CommandId);
        let status = "InProgress";
        for (let poll = 0; poll < 5 && status === "InProgress"; poll++)
            status = cli("ssm", "list-command-invocations", "--instance-id", rescue).out.CommandInvocations.find(
                (c: any) => c.CommandId === commandId,
            ).Status;
        const text = cli(
            "--output",
            "text",
            "ssm",
            "get-command-invocation",
            "--command-id",
            commandId,
            "--instance-id",
            rescue,
            "--query",
            "StandardOutputContent",
        ).out;
        // The last line of what the command printed: the evidence (the CLI stand-in prints it as JSON).
        return { status, evidence: typeof text === "string" ? JSON.parse(text.trim()) : text };
    }

    it("serves exactly the resource types and lookups components/aws declares and calls, by the SDK's tokens", () => {
        const source = fs
            .readdirSync(path.join(PROJECT, "components/aws"))
            .filter((f) => f.endsWith(".ts"))
            .map((f) => fs.readFileSync(path.join(PROJECT, "components/aws", f), "utf8"))
            .join("\n");
        const sdk = aws as unknown as Record<string, Record<string, any>>;
        const declared = [...source.matchAll(/new aws\.(\w+)\.(\w+)\(/g)].map(([, mod, cls]) => String(sdk[mod][cls].__pulumiType));
        const called = [...source.matchAll(/aws\.(?:(\w+)\.)?(get\w+)\(/g)].map(([, mod, fn]) => {
            const f = (mod ? sdk[mod][fn] : (aws as any)[fn]) as (...a: unknown[]) => unknown;
            return /invoke\("([^"]+)"/.exec(f.toString())![1];
        });
        assert.deepEqual(Object.keys(awsStandIn.resources).sort(), [...new Set(declared)].sort());
        assert.deepEqual(Object.keys(awsStandIn.invokes).sort(), [...new Set(called)].sort());
        assert.ok(/new aws\.Provider\(/.test(source), "explicit providers are declared (the engine configures them, nothing to serve)");
    });

    it("seeds each AWS VM running and boot-looping on its original root volume, leaves other clouds out, the same every time", () => {
        const w = world();
        assert.deepEqual(Object.keys(w.instances).sort(), [VM1, VM2, VM3]);
        for (const id of [VM1, VM2, VM3]) {
            assert.equal(w.instances[id].state, "running");
            assert.equal(w.volumes[rootOf(id)].boots, false, `${id} boots from a volume that boot-loops`);
        }
        assert.equal(w.instances[VM1].availabilityZone, "us-east-1a");
        assert.equal(w.volumes[rootOf(VM2)].bitlocker?.secretArn, SECRET);
        assert.equal(
            Object.values(w.secrets!).find((s) => s.arn === SECRET)?.versions.length,
            1,
            "the secret bitlockerSecret names holds the keys",
        );
        assert.deepEqual(seedAwsWorld(vms), seedAwsWorld(vms));
        // The CLI sees the same: the status check fails (it boot-loops).
        const status = cli("ec2", "describe-instance-status", "--instance-ids", VM1, "--include-all-instances");
        assert.equal(status.out.InstanceStatuses[0].InstanceStatus.Status, "impaired");
    });

    it("a snapshot is completed when create returns and boots as its volume did; replaced on volumeId, updated on tags; gone once deleted", async () => {
        const root = rootOf(VM1);
        const { id, outs } = await create(T.snapshot, "vm1-backup", { volumeId: root, region: "us-east-1", description: "backup" });
        assert.match(id, /^snap-0[0-9a-f]{16}$/);
        assert.equal(outs.ownerId, "123456789012");
        assert.equal(world().snapshots![id].state, "completed");
        assert.equal(world().snapshots![id].boots, false, "a backup of the original boot-loops as the original does");
        const described = cli("ec2", "describe-snapshots", "--snapshot-ids", id).out.Snapshots[0];
        assert.deepEqual([described.SnapshotId, described.VolumeId, described.State], [id, root, "completed"]);

        const olds = { ...outs, volumeId: root, region: "us-east-1", description: "backup" };
        const replace = await p.diff!(id, urn(T.snapshot, "vm1-backup"), olds, {
            volumeId: rootOf(VM2),
            region: "us-east-1",
            description: "backup",
        });
        assert.deepEqual(replace.replaces, ["volumeId"]);
        const update = await p.diff!(id, urn(T.snapshot, "vm1-backup"), olds, {
            volumeId: root,
            region: "us-east-1",
            description: "backup",
            tags: { a: "b" },
        });
        assert.deepEqual([update.changes, update.replaces], [true, []]);

        await p.delete!(id, urn(T.snapshot, "vm1-backup"), outs);
        assert.equal(world().snapshots![id], undefined);
        assert.equal((await p.read!(id, urn(T.snapshot, "vm1-backup"), outs)).props, undefined);
        assert.match(cli("ec2", "describe-snapshots", "--snapshot-ids", id).stderr, /InvalidSnapshot\.NotFound/);
    });

    it("a volume from a snapshot is available, encrypted and boot-looping like its source; the CLI describes it; zone and snapshot are checked", async () => {
        const backup = await create(T.snapshot, "vm1-backup", { volumeId: rootOf(VM1), region: "us-east-1" });
        const inputs = { availabilityZone: "us-east-1a", region: "us-east-1", snapshotId: backup.id, type: "gp3", encrypted: true };
        const { id, outs } = await create(T.volume, "vm1-scratch", inputs);
        assert.match(id, /^vol-0[0-9a-f]{16}$/);
        const v = world().volumes[id];
        assert.deepEqual(
            [v.state, v.boots, v.encrypted, v.kmsKeyId, v.iops],
            ["available", false, true, world().volumes[rootOf(VM1)].kmsKeyId, 3000],
        );
        assert.equal(cli("ec2", "describe-volumes", "--volume-ids", id).out.Volumes[0].State, "available");

        const olds = { ...outs, ...inputs };
        assert.deepEqual(
            (await p.diff!(id, urn(T.volume, "vm1-scratch"), olds, { ...inputs, snapshotId: "snap-0123456789abcdef0" })).replaces,
            ["snapshotId"],
        );
        assert.deepEqual((await p.diff!(id, urn(T.volume, "vm1-scratch"), olds, { ...inputs, size: 200 })).replaces, []);

        await assert.rejects(
            create(T.volume, "bad-zone", { ...inputs, availabilityZone: "eu-west-1a" }),
            /InvalidZone\.NotFound: The zone 'eu-west-1a' does not exist/,
        );
        await assert.rejects(
            create(T.volume, "bad-snapshot", { ...inputs, snapshotId: "snap-0123456789abcdef0" }),
            /InvalidSnapshot\.NotFound: The snapshot 'snap-0123456789abcdef0' does not exist/,
        );
    });

    it("a rescue instance runs from the Ubuntu AMI with its role, profile and security group; its SSM agent comes online; what is in use cannot be deleted", async () => {
        const r = await rescueInstance("us-east-1", "us-east-1a", false);
        assert.match(r.instance.id, /^i-0[0-9a-f]{16}$/);
        const described = cli("ec2", "describe-instances", "--instance-ids", r.instance.id).out.Reservations[0].Instances[0];
        assert.equal(described.State.Name, "running");
        assert.equal(described.BlockDeviceMappings[0].DeviceName, "/dev/sda1");
        assert.equal(world().volumes[described.BlockDeviceMappings[0].Ebs.VolumeId].size, 16);
        const pings = [0, 1, 2].map(
            () =>
                cli("ssm", "describe-instance-information", "--filters", `Key=InstanceIds,Values=${r.instance.id}`).out
                    .InstanceInformationList[0].PingStatus,
        );
        assert.deepEqual(pings, ["ConnectionLost", "ConnectionLost", "Online"]);
        assert.equal(world().iam!.instanceProfiles[String(r.profile.outs.name)].role, r.roleName);
        assert.ok(world().ssm.documents![r.document], "the repair document is in the world");

        const olds = { ...r.instance.outs, subnetId: r.subnetId, instanceType: "m6i.large", ami: r.instance.outs.ami };
        const instanceUrn = urn(T.instance, "rescue-1");
        assert.deepEqual((await p.diff!(r.instance.id, instanceUrn, olds, { ...olds, subnetId: "subnet-0123456789abcdef0" })).replaces, [
            "subnetId",
        ]);
        assert.deepEqual((await p.diff!(r.instance.id, instanceUrn, olds, { ...olds, instanceType: "m6i.xlarge" })).replaces, []);
        assert.deepEqual((await p.diff!(r.profile.id, urn(T.profile, "p"), { role: "a" }, { role: "b" })).replaces, []);
        assert.deepEqual((await p.diff!("x", urn(T.role, "r"), { path: "/" }, { path: "/rescue/" })).replaces, ["path"]);

        await assert.rejects(
            p.delete!(r.group.id, urn(T.group, "rescue-sg"), r.group.outs),
            /DependencyViolation: resource sg-\w+ has a dependent object/,
        );
        await assert.rejects(
            p.delete!(r.roleName, urn(T.role, "rescue-role"), {}),
            /DeleteConflict: Cannot delete entity, must detach all policies first/,
        );
        const { scratch } = await scratchOn(VM1, r.instance.id);
        await p.delete!(r.instance.id, instanceUrn, r.instance.outs);
        assert.equal(world().instances[r.instance.id], undefined);
        assert.equal(world().volumes[described.BlockDeviceMappings[0].Ebs.VolumeId], undefined, "its root volume went with it");
        assert.equal(world().volumes[scratch.id].state, "available", "a volume attached to it is detached");
        assert.equal((await p.read!(r.instance.id, instanceUrn, r.instance.outs)).props, undefined);
        await p.delete!(r.group.id, urn(T.group, "rescue-sg"), r.group.outs);
        assert.equal(world().securityGroups![r.group.id], undefined);
    });

    it("an attachment puts the scratch volume on the rescue instance; an attached volume cannot be deleted; detached, it can", async () => {
        const r = await rescueInstance();
        const { scratch, attachment } = await scratchOn(VM1, r.instance.id);
        assert.match(attachment.id, /^vai-\d+$/);
        const mappings = cli("ec2", "describe-instances", "--instance-ids", r.instance.id).out.Reservations[0].Instances[0]
            .BlockDeviceMappings;
        assert.ok(mappings.some((m: any) => m.DeviceName === "/dev/sdf" && m.Ebs.VolumeId === scratch.id));
        const attachUrn = urn(T.attachment, `${VM1}-attach`);
        const props = { deviceName: "/dev/sdf", volumeId: scratch.id, instanceId: r.instance.id, region: "us-east-1" };
        assert.deepEqual((await p.diff!(attachment.id, attachUrn, props, { ...props, deviceName: "/dev/sdg" })).replaces, ["deviceName"]);

        await assert.rejects(
            p.delete!(scratch.id, urn(T.volume, `${VM1}-scratch`), scratch.outs),
            new RegExp(`VolumeInUse: Volume ${scratch.id} is currently attached to ${r.instance.id}`),
        );
        await p.delete!(attachment.id, attachUrn, props);
        assert.equal(cli("ec2", "describe-volumes", "--volume-ids", scratch.id).out.Volumes[0].State, "available");
        assert.equal((await p.read!(attachment.id, attachUrn, props)).props, undefined);
        await p.delete!(scratch.id, urn(T.volume, `${VM1}-scratch`), scratch.outs);
        assert.equal(world().volumes[scratch.id], undefined);
        assert.equal((await p.read!(scratch.id, urn(T.volume, `${VM1}-scratch`), scratch.outs)).props, undefined);
    });

    it("the repair the CLI simulates makes the scratch volume boot, and so its copy; the backup of the original still boot-loops", async () => {
        const r = await rescueInstance();
        const { backup, scratch } = await scratchOn(VM1, r.instance.id);
        const repaired = repairWithCli(r.instance.id, r.document, scratch.id);
        assert.equal(repaired.status, "Success");
        assert.deepEqual([repaired.evidence.outcome, repaired.evidence.exitCode], ["repaired", 0]);
        assert.equal(repaired.evidence.volumes[0].matches[0].action, "quarantined");
        assert.equal(world().volumes[scratch.id].boots, true);

        const fixed = await create(T.copy, `${VM1}-fixed`, { sourceVolumeId: scratch.id, region: "us-east-1", volumeType: "gp3" });
        assert.deepEqual([world().volumes[fixed.id].boots, world().volumes[fixed.id].sourceVolume], [true, scratch.id]);
        assert.equal(fixed.outs.availabilityZone, "us-east-1a");
        assert.equal(cli("ec2", "describe-volumes", "--volume-ids", fixed.id).out.Volumes[0].State, "available");
        const copyProps = { sourceVolumeId: scratch.id, region: "us-east-1", volumeType: "gp3" };
        assert.deepEqual((await p.diff!(fixed.id, urn(T.copy, "f"), copyProps, { ...copyProps, sourceVolumeId: rootOf(VM2) })).replaces, [
            "sourceVolumeId",
        ]);
        assert.deepEqual((await p.diff!(fixed.id, urn(T.copy, "f"), copyProps, { ...copyProps, volumeType: "io2" })).replaces, []);

        assert.equal(world().snapshots![backup.id].boots, false);
        const fromBackup = await create(T.volume, "from-backup", {
            availabilityZone: "us-east-1a",
            region: "us-east-1",
            snapshotId: backup.id,
        });
        assert.equal(world().volumes[fromBackup.id].boots, false, "a volume from the backup of the original boot-loops");

        // Sent again, the repair of a repaired volume reports the repair it made.
        assert.equal(repairWithCli(r.instance.id, r.document, scratch.id).evidence.outcome, "repaired");
    });

    it("a BitLocker volume is repaired only once the rescue instance's role may read its key secret, as the program grants it", async () => {
        const r = await rescueInstance();
        const { scratch } = await scratchOn(VM2, r.instance.id);
        const denied = repairWithCli(r.instance.id, r.document, scratch.id, SECRET);
        assert.equal(denied.status, "Failed");
        assert.match(
            denied.evidence.message,
            new RegExp(`Secrets Manager denied role ${r.roleName} secretsmanager:GetSecretValue on ${SECRET.replace(/[/+]/g, "\\$&")}`),
        );
        assert.equal(world().volumes[scratch.id].boots, false);
        assert.equal(
            repairWithCli(r.instance.id, r.document, scratch.id).evidence.outcome,
            "locked",
            "no key secret: the volume stays locked",
        );

        const policy = await create(T.rolePolicy, "rescue-secrets", { role: r.roleName, policy: secretReadPolicy([SECRET]) });
        assert.equal(policy.id, `${r.roleName}:${String(policy.outs.name)}`);
        const repaired = repairWithCli(r.instance.id, r.document, scratch.id, SECRET);
        assert.deepEqual([repaired.status, repaired.evidence.outcome], ["Success", "repaired"]);
        assert.equal(repaired.evidence.partitions.find((x: any) => x.windows).unlockedWith.protector, "recovery-password");
        assert.equal(world().volumes[scratch.id].boots, true);
        await assert.rejects(p.delete!(r.roleName, urn(T.role, "rescue-role"), {}), /DeleteConflict/);
    });

    it("the tools reach a rescue instance by one association per part; a repair before them fails, naming them (exit 6); an association's document and instance are ForceNew", async () => {
        const r = await rescueInstance("us-east-1", "us-east-1a", false);
        const { scratch } = await scratchOn(VM1, r.instance.id);
        const early = repairWithCli(r.instance.id, r.document, scratch.id);
        assert.equal(early.status, "Failed");
        assert.deepEqual(
            [early.evidence.exitCode, early.evidence.message],
            [
                6,
                `rescue tools ${rescueTools().version} were not delivered to this rescue instance within 300 s (one State Manager association per part delivers them: see the association history of this instance)`,
            ],
        );
        assert.equal(world().volumes[scratch.id].boots, false, "nothing was repaired");

        const parts = toolsPartDocuments();
        const associations = await deliverTools(r.instance.id);
        assert.deepEqual(world().ssm.tools![r.instance.id], [rescueTools().version]);
        for (const a of associations) {
            assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
            assert.equal(world().ssm.associations![a.id].status, "Success");
        }
        assert.equal(parts.length, associations.length);
        const repaired = repairWithCli(r.instance.id, r.document, scratch.id);
        assert.deepEqual([repaired.status, repaired.evidence.outcome], ["Success", "repaired"]);

        const props = { name: "doc-a", targets: [{ key: "InstanceIds", values: [r.instance.id] }], region: "us-east-1" };
        const aUrn = urn(T.association, "a");
        assert.deepEqual((await p.diff!("x", aUrn, props, { ...props, name: "doc-b" })).replaces, ["name"]);
        assert.deepEqual((await p.diff!("x", aUrn, props, { ...props, associationName: "n" })).replaces, []);
        await p.delete!(associations[0].id, aUrn, associations[0].outs);
        assert.equal((await p.read!(associations[0].id, aUrn, associations[0].outs)).props, undefined);
    });

    it("tools parts that do not add up fail the association's create with State Manager's reason; nothing is installed", async () => {
        const r = await rescueInstance("us-east-1", "us-east-1a", false);
        const parts = toolsPartDocuments().map((part) =>
            part.index === 1
                ? { ...part, content: part.content.replace(/printf '%s' '([A-Za-z0-9+/]{8})/, "printf '%s' 'AAAAAAAA") }
                : part,
        );
        await assert.rejects(
            deliverTools(r.instance.id, "us-east-1", parts),
            /waiting for SSM Association \([0-9a-f-]{36}\) to be Success: unexpected state 'Failed', wanted target 'Success'\. last error: the \d+ parts of rescue tools [0-9a-f]{16} do not add up/,
        );
        assert.deepEqual(world().ssm.tools![r.instance.id] ?? [], []);
    });

    it("a repair document that is not in the world is refused by Systems Manager", async () => {
        const r = await rescueInstance();
        const { scratch } = await scratchOn(VM1, r.instance.id);
        await p.delete!(r.document, urn(T.document, "repair-doc"), {});
        assert.equal((await p.read!(r.document, urn(T.document, "repair-doc"), {})).props, undefined);
        const sent = cli(
            "ssm",
            "send-command",
            "--instance-ids",
            r.instance.id,
            "--document-name",
            r.document,
            "--parameters",
            `volumeId=${scratch.id}`,
        );
        assert.notEqual(sent.code, 0);
        assert.match(sent.stderr, new RegExp(`InvalidDocument.*Document with name ${r.document} does not exist`));
    });

    it("lookups answer from the seeded world; what is not there fails with the cloud's error naming it", async () => {
        const i = await invoke("aws:ec2/getInstance:getInstance", {
            instanceId: VM1,
            region: "us-east-1",
            filters: [{ name: "availability-zone", values: ["us-east-1a"] }],
        });
        const root = (i.rootBlockDevices as Props[])[0];
        assert.deepEqual([root.volumeId, root.deviceName, root.volumeType, root.encrypted], [rootOf(VM1), "/dev/sda1", "gp3", true]);
        assert.equal(i.availabilityZone, "us-east-1a");
        await assert.rejects(
            invoke("aws:ec2/getInstance:getInstance", {
                instanceId: VM1,
                region: "us-east-1",
                filters: [{ name: "availability-zone", values: ["us-east-1b"] }],
            }),
            /no matching EC2 Instance found \(instanceId i-0aaaaaaaaaaaaaaa1, availability-zone=us-east-1b in us-east-1\)/,
        );
        await assert.rejects(
            invoke("aws:ec2/getInstance:getInstance", { instanceId: "i-0bbbbbbbbbbbbbbb9", region: "us-east-1" }),
            /InvalidInstanceID\.NotFound: The instance ID 'i-0bbbbbbbbbbbbbbb9' does not exist/,
        );
        await assert.rejects(
            invoke("aws:ec2/getInstance:getInstance", { instanceId: VM3, region: "us-east-1" }),
            /InvalidInstanceID\.NotFound.*i-0aaaaaaaaaaaaaaa3.*in us-east-1/,
        );

        const subnet = await invoke("aws:ec2/getSubnet:getSubnet", { id: i.subnetId, region: "us-east-1" });
        assert.equal(subnet.vpcId, world().instances[VM1].vpcId);
        await assert.rejects(
            invoke("aws:ec2/getSubnet:getSubnet", { id: "subnet-0123456789abcdef0", region: "us-east-1" }),
            /InvalidSubnetID\.NotFound: The subnet ID 'subnet-0123456789abcdef0'/,
        );

        const ami = await invoke("aws:ec2/getAmi:getAmi", {
            region: "eu-west-1",
            mostRecent: true,
            owners: ["099720109477"],
            filters: [
                { name: "name", values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] },
                { name: "architecture", values: ["x86_64"] },
            ],
        });
        assert.equal(ami.name, "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240715");
        await assert.rejects(
            invoke("aws:ec2/getAmi:getAmi", {
                region: "eu-west-1",
                owners: ["099720109477"],
                filters: [{ name: "name", values: ["debian-*"] }],
            }),
            /no matching EC2 AMI found/,
        );
        assert.equal((await invoke("aws:index/getCallerIdentity:getCallerIdentity", {})).accountId, "123456789012");

        // The original a swap detached, as the lookup after an interrupted swap finds it: by the swap's tags.
        const tagged = {
            region: "us-east-1",
            filters: [
                { name: "tag:bootloop-rescue:instance", values: [VM1] },
                { name: "tag:bootloop-rescue:role", values: ["original-root"] },
            ],
        };
        assert.deepEqual((await invoke("aws:ebs/getEbsVolumes:getEbsVolumes", tagged)).ids, []);
        const tags = cli(
            "ec2",
            "create-tags",
            "--resources",
            rootOf(VM1),
            "--tags",
            "Key=bootloop-rescue:role,Value=original-root",
            `Key=bootloop-rescue:instance,Value=${VM1}`,
        );
        assert.equal(tags.code, 0, tags.stderr);
        assert.deepEqual((await invoke("aws:ebs/getEbsVolumes:getEbsVolumes", tagged)).ids, [rootOf(VM1)]);
        const v = await invoke("aws:ebs/getVolume:getVolume", {
            region: "us-east-1",
            filters: [{ name: "volume-id", values: [rootOf(VM1)] }],
        });
        assert.deepEqual(
            [v.volumeType, v.encrypted, v.tags],
            ["gp3", true, { "bootloop-rescue:role": "original-root", "bootloop-rescue:instance": VM1 }],
        );
        await assert.rejects(
            invoke("aws:ebs/getVolume:getVolume", {
                region: "us-east-1",
                filters: [{ name: "volume-id", values: ["vol-0123456789abcdef0"] }],
            }),
            /no matching EBS Volume found \(volume-id=vol-0123456789abcdef0 in us-east-1\)/,
        );
    });

    it("refuses a resource type and an invoke it does not serve, naming them", async () => {
        await assert.rejects(p.check!(urn("aws:s3/bucket:Bucket", "b"), {}, {}), /does not serve resource type aws:s3\/bucket:Bucket/);
        await assert.rejects(p.invoke!("aws:s3/getBucket:getBucket", {}), /does not serve invoke aws:s3\/getBucket:getBucket/);
    });

    it("a VM restored from a backup: the restore-points lookup lists the backups before and after the incident; a volume from the one before boots", async () => {
        // The listing is the account's, in the region; the lookup keeps the snapshots of the VM's volume.
        const run = runAwsScript("restore-points", { AWS_REGION: "eu-west-1" }, world());
        assert.equal(run.code, 0, run.stderr);
        const points = (JSON.parse(run.stdout) as { id: string; createdAt: string; state: string; source: string }[])
            .filter((x) => x.source === rootOf(VM3))
            .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
        assert.deepEqual(
            points.map((x) => [x.createdAt, x.state, x.source]),
            [
                ["2024-07-17T02:00:00.000Z", "ready", rootOf(VM3)],
                ["2024-07-18T02:00:00.000Z", "ready", rootOf(VM3)],
                ["2024-07-19T06:00:00.000Z", "ready", rootOf(VM3)],
            ],
        );
        const zone = world().instances[VM3].availabilityZone!;
        const good = await create(T.volume, "restored", {
            availabilityZone: zone,
            region: "eu-west-1",
            snapshotId: points[1].id,
            type: "gp3",
        });
        assert.equal(world().volumes[good.id].boots, true);
        const bad = await create(T.volume, "too-late", {
            availabilityZone: zone,
            region: "eu-west-1",
            snapshotId: points[2].id,
            type: "gp3",
        });
        assert.equal(world().volumes[bad.id].boots, false, "the backup taken after the faulty file arrived boot-loops");
    });
});

describe("sandbox: a world seeded from stacks/dev.yaml answers the program's lookups for its AWS VMs", function () {
    let dir: string;
    let saved: string | undefined;
    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbx-aws-dev-"));
        saved = process.env.FAKE_AWS_STATE;
        process.env.FAKE_AWS_STATE = path.join(dir, "aws-world.json");
        // Pulumi's mocks stand in for the engine; every lookup goes to the stand-in provider.
        const p = providerOf(awsStandIn);
        await pulumi.runtime.setMocks({
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs as Record<string, unknown> }),
            call: async (args) => (await p.invoke!(args.token, args.inputs)).outputs as Record<string, unknown>,
        });
    });
    after(() => {
        if (saved === undefined) delete process.env.FAKE_AWS_STATE;
        else process.env.FAKE_AWS_STATE = saved;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("caller account, each instance's lookup (zone, root volume, subnet, VPC) and each region's rescue AMI", async () => {
        // The stack's inventory, read and validated as `pulumi up` (and the sandbox's seeding) reads it.
        const source = configSourceOf(readStackConfig(PROJECT, "dev"));
        const vms = validateInventory(
            readInventory(source.get(`${NAMESPACE}:inventory`)!, PROJECT),
            inventoryContext(identities, builtClouds, source),
        ).filter((vm) => vm.cloud === "aws");
        assert.ok(vms.length >= 4, "dev has AWS VMs");
        fs.writeFileSync(process.env.FAKE_AWS_STATE!, JSON.stringify(seedAwsWorld(vms)));
        const world = readWorld(process.env.FAKE_AWS_STATE!) as AwsWorld;
        const config = readAwsConfig(source, "Pulumi.dev.yaml");
        const provider = new aws.Provider("aws-default", { region: "us-east-1" });
        const account = callerAccount(provider);
        assert.equal(await account, "123456789012");
        const listings = new RestoreListings();
        for (const vm of vms) {
            const resolved = await lookUpInstance(vm, provider, account, config, listings);
            const instance = world.instances[vm.fields.instanceId];
            assert.equal(resolved.originalDiskId, instance.blockDevices[instance.rootDeviceName], vm.label);
            assert.deepEqual(
                resolved.placement,
                { scope: "123456789012", region: vm.fields.region, zone: instance.availabilityZone },
                vm.label,
            );
            assert.equal(resolved.facts.vpcId, instance.vpcId, vm.label);
            if (vm.fields.availabilityZone) assert.equal(resolved.placement.zone, vm.fields.availabilityZone);
        }
        for (const region of new Set(vms.map((vm) => vm.fields.region))) {
            const ami = await new Promise<string>((resolve) => rescueAmi(region, provider, config).apply(resolve));
            assert.equal(world.images![ami]?.region, region);
            assert.match(world.images![ami].name, /ubuntu-noble-24\.04-amd64-server/);
        }
    });
});
