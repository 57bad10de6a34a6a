// The sandbox's stand-in aws provider, served as the engine runs it (one process, PULUMI_DEBUG_PROVIDERS)
// and spoken to over gRPC as the engine speaks to it: one connection per provider instance, each
// configured first with the variables the engine sends (pulumi v3.248.0 with @pulumi/aws 7.48.0
// sends `aws:config:assumeRoles` as a JSON-encoded list of {roleArn, sessionName}, and
// `aws:config:allowedAccountIds` as a JSON-encoded list). An instance that assumes a role acts in
// the role's account: what it creates lands there, with that account in ARNs and owner ids, its
// requests are counted in that account's budget, its lookups see that account's resources only,
// and the stand-in CLI with that role's credentials (ASIA + account) sees what it made. A role the
// world marks unassumable is refused with the provider's AccessDenied.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { ConfigureRequest, CreateRequest, InvokeRequest } from "@pulumi/pulumi/proto/provider_pb";
import { VmEntry } from "../../components/core/contract/vm";
import { inventoryContext } from "../../components/core/inventory/context";
import { parseYamlInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { builtClouds, identities } from "../../components/registry/inventory";
import { AwsWorld } from "../../sandbox/world/aws-world";
import { seedAwsWorld } from "../../sandbox/world/aws-seed";
import { readWorld } from "../../sandbox/world/world-file";

const PROJECT = path.resolve(__dirname, "../..");
const CLI = path.join(PROJECT, "sandbox/cli/aws/aws");
const AMBIENT = "123456789012";
const B = "222222222222";
const ROLE_B = `arn:aws:iam::${B}:role/rescue`;
const LOCKED = "arn:aws:iam::333333333333:role/rescue";
const VM_A = "i-0aaaaaaaaaaaaaaa1";
const VM_B = "i-0bbbbbbbbbbbbbbb1";
const INVENTORY = `vms:
  - cloud: aws
    region: us-east-1
    instanceId: ${VM_A}
    availabilityZone: us-east-1a
  - cloud: aws
    region: us-east-1
    instanceId: ${VM_B}
    availabilityZone: us-east-1a
    accountId: "${B}"
`;

/** The inventory's entries, validated as every run validates them. */
function entries(text: string): VmEntry[] {
    return validateInventory(
        parseYamlInventory("inventory.yaml", text),
        inventoryContext(identities, builtClouds, { get: () => undefined, kind: () => "missing" }),
    );
}

type Json = Record<string, unknown>;

/** One provider instance as the engine holds it: a connection of its own to the provider process. */
class Instance {
    private readonly client: ResourceProviderClient;
    constructor(port: number) {
        // A subchannel of its own: grpc-js would otherwise share one connection between clients of one address.
        this.client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
            "grpc.use_local_subchannel_pool": 1,
        });
    }
    /** Configure, with the variables the engine sends (`aws:config:KEY` → string). */
    configure(variables: Record<string, string>): Promise<void> {
        const request = new ConfigureRequest();
        for (const [k, v] of Object.entries({ "aws:config:region": "us-east-1", ...variables })) request.getVariablesMap().set(k, v);
        request.setAcceptsecrets(true).setAcceptresources(true);
        return new Promise((resolve, reject) => this.client.configure(request, (err) => (err ? reject(err) : resolve())));
    }
    invoke(tok: string, args: Json): Promise<Json> {
        const request = new InvokeRequest().setTok(tok).setArgs(Struct.fromJavaScript(args as never));
        return new Promise((resolve, reject) =>
            this.client.invoke(request, (err, res) => {
                if (err) return reject(err);
                const failures = res.getFailuresList();
                if (failures.length) return reject(new Error(failures.map((f) => f.getReason()).join("; ")));
                resolve(res.getReturn()?.toJavaScript() ?? {});
            }),
        );
    }
    create(type: string, name: string, inputs: Json): Promise<{ id: string; outs: Json }> {
        const request = new CreateRequest()
            .setUrn(`urn:pulumi:sbx::bootloop-rescue::${type}::${name}`)
            .setProperties(Struct.fromJavaScript(inputs as never));
        return new Promise((resolve, reject) =>
            this.client.create(request, (err, res) =>
                err ? reject(err) : resolve({ id: res.getId(), outs: res.getProperties()?.toJavaScript() ?? {} }),
            ),
        );
    }
    close(): void {
        this.client.close();
    }
}

/** Whether `work` is refused with a message that includes every one of `parts`. */
async function refused(work: Promise<unknown>, ...parts: string[]): Promise<void> {
    await assert.rejects(work, (err: Error) => {
        for (const part of parts) assert.ok(err.message.includes(part), `expected "${part}" in: ${err.message}`);
        return true;
    });
}

describe("sandbox: the stand-in aws provider acts in the account its assumeRoles names (served, over gRPC, as the engine calls it)", function () {
    let dir: string;
    let file: string;
    let child: ChildProcess;
    let port: number;
    const instances: Instance[] = [];
    const instance = () => {
        const made = new Instance(port);
        instances.push(made);
        return made;
    };
    const world = () => readWorld(file) as AwsWorld;
    const rootOf = (vm: string) => world().instances[vm].blockDevices[world().instances[vm].rootDeviceName];

    beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbx-aws-accounts-"));
        file = path.join(dir, "aws-world.json");
        const seeded = seedAwsWorld(entries(INVENTORY)) as AwsWorld;
        seeded.unassumable = [LOCKED];
        // An AMI of each account, to look up with owners: self.
        for (const [id, owner] of [
            ["ami-0aaaaaaaaaaaaaaa1", AMBIENT],
            ["ami-0bbbbbbbbbbbbbbb1", B],
        ])
            seeded.images![id] = {
                name: `golden-${owner}`,
                ownerId: owner,
                region: "us-east-1",
                architecture: "x86_64",
                creationDate: "2024-07-01T00:00:00.000Z",
                rootDeviceName: "/dev/sda1",
            };
        fs.writeFileSync(file, JSON.stringify(seeded));
        child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(PROJECT, "sandbox/providers/aws.ts")], {
            cwd: PROJECT,
            env: { ...process.env, FAKE_AWS_STATE: file, TS_NODE_TRANSPILE_ONLY: "true" },
            // Its own messages (the errors it answers with, and their stacks) go to a file beside the world.
            stdio: ["pipe", "pipe", fs.openSync(path.join(dir, "provider.log"), "a")],
        });
        port = await new Promise<number>((resolve, reject) => {
            let out = "";
            child.stdout!.on("data", (d: Buffer) => {
                out += d.toString();
                const m = /^(\d+)\s*\n/.exec(out);
                if (m) resolve(Number(m[1]));
            });
            child.on("exit", (code) => reject(new Error(`the stand-in aws provider ended (exit ${code}) before it said its port`)));
        });
    });
    afterEach(async () => {
        for (const i of instances.splice(0)) i.close();
        if (child.exitCode === null) {
            const gone = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGTERM");
            await gone;
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("two instances, one assuming a role in B: identity, creates, ARNs, owner ids and the budget scope are each instance's account", async () => {
        const ambient = instance();
        const inB = instance();
        await ambient.configure({});
        await inB.configure({
            "aws:config:assumeRoles": JSON.stringify([{ roleArn: ROLE_B, sessionName: "bootloop-rescue" }]),
            "aws:config:allowedAccountIds": JSON.stringify([B]),
        });

        const meA = await ambient.invoke("aws:index/getCallerIdentity:getCallerIdentity", {});
        const meB = await inB.invoke("aws:index/getCallerIdentity:getCallerIdentity", {});
        assert.equal(meA.accountId, AMBIENT);
        assert.equal(meA.arn, `arn:aws:iam::${AMBIENT}:user/discoverer`);
        assert.equal(meB.accountId, B);
        assert.equal(meB.arn, `arn:aws:sts::${B}:assumed-role/rescue/bootloop-rescue`);

        // B's VM is B's: its instance lookup answers in B, and the ambient instance does not see it (nor B the ambient VM).
        const vmB = await inB.invoke("aws:ec2/getInstance:getInstance", { instanceId: VM_B, region: "us-east-1" });
        assert.equal(vmB.arn, `arn:aws:ec2:us-east-1:${B}:instance/${VM_B}`);
        await refused(
            ambient.invoke("aws:ec2/getInstance:getInstance", { instanceId: VM_B, region: "us-east-1" }),
            "InvalidInstanceID.NotFound",
            VM_B,
        );
        await refused(
            inB.invoke("aws:ec2/getInstance:getInstance", { instanceId: VM_A, region: "us-east-1" }),
            "InvalidInstanceID.NotFound",
            VM_A,
        );
        const subnetB = await inB.invoke("aws:ec2/getSubnet:getSubnet", { id: world().instances[VM_B].subnetId, region: "us-east-1" });
        assert.equal(subnetB.ownerId, B);

        // A backup of B's VM, taken by B's instance: B owns it; the ambient instance cannot even see the volume.
        const backup = await inB.create("aws:ebs/snapshot:Snapshot", "vm-b-backup", { volumeId: rootOf(VM_B), region: "us-east-1" });
        assert.equal(backup.outs.ownerId, B);
        assert.equal(world().snapshots![backup.id].ownerId, B);
        await refused(
            ambient.create("aws:ebs/snapshot:Snapshot", "vm-b-backup-2", { volumeId: rootOf(VM_B), region: "us-east-1" }),
            "InvalidVolume.NotFound",
            rootOf(VM_B),
        );
        // A scratch volume from it lands in B, with B's ARN; the ambient instance cannot use B's snapshot.
        const scratch = await inB.create("aws:ebs/volume:Volume", "vm-b-scratch", {
            availabilityZone: "us-east-1a",
            region: "us-east-1",
            snapshotId: backup.id,
            type: "gp3",
        });
        assert.equal(scratch.outs.arn, `arn:aws:ec2:us-east-1:${B}:volume/${scratch.id}`);
        assert.equal(world().volumes[scratch.id].account, B);
        await refused(
            ambient.create("aws:ebs/volume:Volume", "stolen", {
                availabilityZone: "us-east-1a",
                region: "us-east-1",
                snapshotId: backup.id,
            }),
            "InvalidSnapshot.NotFound",
        );
        // The ambient instance's own volume stays in the ambient account.
        const mine = await ambient.create("aws:ebs/volume:Volume", "vm-a-scratch", {
            availabilityZone: "us-east-1a",
            region: "us-east-1",
            size: 8,
        });
        assert.equal(mine.outs.arn, `arn:aws:ec2:us-east-1:${AMBIENT}:volume/${mine.id}`);
        // Volume lookups are account-scoped too.
        const listedB = await inB.invoke("aws:ebs/getEbsVolumes:getEbsVolumes", { region: "us-east-1" });
        assert.deepEqual(listedB.ids, [rootOf(VM_B), scratch.id].sort());

        // Every request an instance made is counted in its own account's scope (a refused one too, as the cloud counts it).
        const counts = (world() as unknown as { budget: { counts: { aws: Record<string, Record<string, { requests: number }>> } } }).budget
            .counts.aws;
        assert.equal(counts[`${B}/us-east-1`]?.CreateSnapshot?.requests, 1, JSON.stringify(counts));
        assert.equal(counts[`${B}/us-east-1`]?.CreateVolume?.requests, 1);
        assert.equal(counts[`${AMBIENT}/us-east-1`]?.CreateSnapshot?.requests, 1, "the ambient instance's refused backup");
        assert.equal(counts[`${AMBIENT}/us-east-1`]?.CreateVolume?.requests, 2, "the ambient instance's refused volume and its own");

        // owners: self is each instance's own account.
        const amiB = await inB.invoke("aws:ec2/getAmi:getAmi", { region: "us-east-1", owners: ["self"], mostRecent: true });
        const amiA = await ambient.invoke("aws:ec2/getAmi:getAmi", { region: "us-east-1", owners: ["self"], mostRecent: true });
        assert.equal(amiB.id, "ami-0bbbbbbbbbbbbbbb1");
        assert.equal(amiA.id, "ami-0aaaaaaaaaaaaaaa1");

        // The steps' CLI with B's role credentials sees B's snapshot as its own; the ambient credentials do not.
        const snapshots = (key?: string) => {
            const r = spawnSync(CLI, ["--region", "us-east-1", "ec2", "describe-snapshots", "--owner-ids", "self"], {
                encoding: "utf8",
                env: { ...process.env, FAKE_AWS_STATE: file, FAKE_AWS_LOG: path.join(dir, "calls.log"), AWS_ACCESS_KEY_ID: key ?? "" },
            });
            assert.equal(r.status, 0, r.stderr);
            return (JSON.parse(r.stdout) as { Snapshots: { SnapshotId: string }[] }).Snapshots.map((s) => s.SnapshotId);
        };
        assert.ok(snapshots(`ASIA${B}`).includes(backup.id));
        assert.ok(!snapshots().includes(backup.id));
    });

    it("a role the world marks unassumable fails Configure with the provider's AccessDenied; its calls are refused, never made in the ambient account", async () => {
        // An instance in the ambient account is configured too: the refused one's calls must not run as it does.
        const ambientToo = instance();
        await ambientToo.configure({});
        const locked = instance();
        await refused(
            locked.configure({ "aws:config:assumeRoles": JSON.stringify([{ roleArn: LOCKED, sessionName: "bootloop-rescue" }]) }),
            "unable to validate AWS credentials",
            `IAM Role (${LOCKED}) cannot be assumed`,
            `api error AccessDenied: User: arn:aws:iam::${AMBIENT}:user/discoverer is not authorized to perform: sts:AssumeRole on resource: ${LOCKED}`,
        );
        await refused(
            locked.invoke("aws:index/getCallerIdentity:getCallerIdentity", {}),
            "this instance's Configure failed",
            "cannot be assumed",
        );
        await refused(
            locked.create("aws:ebs/volume:Volume", "nowhere", { availabilityZone: "us-east-1a", region: "us-east-1", size: 8 }),
            "this instance's Configure failed",
        );
        assert.equal(Object.values(world().volumes).filter((v) => v.size === 8).length, 0);
    });

    it("a call on a connection the engine never configured acts as the configured instances do when they all act alike, and is refused when they do not", async () => {
        const inB = instance();
        await inB.configure({ "aws:config:assumeRoles": JSON.stringify([{ roleArn: ROLE_B, sessionName: "bootloop-rescue" }]) });
        // A reconnected client (another port, not configured again) of the only instance: B's.
        const reconnected = instance();
        assert.equal((await reconnected.invoke("aws:index/getCallerIdentity:getCallerIdentity", {})).accountId, B);
        // Once an instance in another account is configured, such a call could be either's: refused.
        await instance().configure({});
        await refused(reconnected.invoke("aws:index/getCallerIdentity:getCallerIdentity", {}), "never configured", "do not all act alike");
    });

    it("an account outside allowedAccountIds is refused as the provider refuses it; a roleArn that is no role ARN is named", async () => {
        await refused(
            instance().configure({ "aws:config:allowedAccountIds": JSON.stringify([B]) }),
            `AWS account ID not allowed: ${AMBIENT}`,
        );
        await refused(
            instance().configure({ "aws:config:assumeRoles": JSON.stringify([{ roleArn: "rescue" }]) }),
            'aws:config:assumeRoles[0].roleArn: "rescue" is not an IAM role ARN',
        );
    });
});
