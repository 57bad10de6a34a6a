// The sandbox's stand-in gcp provider driven directly (no engine) on a world seeded from a small
// inventory: each resource type lands in the world where the stand-in gcloud sees it, operations
// that take time show their states on the way, copies keep whether their source boots, the rescue
// agent (simulated by the stand-in gcloud) repairs an attached disk and the real repair script
// reads its evidence, diffs ask for replacement only on the replaceOn properties, deletes refuse
// what Compute Engine refuses, lookups answer from the world or fail as Google's provider does.
// And a world seeded from stacks/dev.yaml answers every lookup the program makes for its GCP VMs.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import Ajv from "ajv";
import * as pulumi from "@pulumi/pulumi";
import { CreateResult } from "@pulumi/pulumi/provider";
import { lookUpInstance } from "../../components/gcp/lookups";
import { startupScript } from "../../components/gcp/rescue";
import { toolsItems } from "../../components/gcp/tools";
import { readGcpConfig } from "../../components/gcp/config";
import { bootVerdict } from "../../components/tools/discovery/types";
import { VmEntry } from "../../components/core/contract/vm";
import { NAMESPACE } from "../../components/core/contract/settings";
import { inventoryContext } from "../../components/core/inventory/context";
import { parseYamlInventory, readInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { DEFAULT_RESTORE_BEFORE } from "../../components/core/settings";
import { builtClouds, identities } from "../../components/registry/inventory";
import { configSourceOf, readStackConfig } from "../../components/tools/offline/stack-config";
import { gcpStandIn } from "../../sandbox/providers/gcp";
import { providerOf } from "../../sandbox/providers/host";
import { recoveryPassword, seedGcpWorld } from "../../sandbox/world/gcp-seed";
import { planInventory } from "../helpers/lab-run";
import { PROJECT_DIR, withStandInEnv } from "../helpers/stand-in";
import { repairEnv, run as runScript } from "../gcp/run-script";
import { RestoreListings } from "../../components/core/restore-listings";

const STAND_IN = path.join(PROJECT_DIR, "sandbox/cli/gcp");
const P = "my-project";
const Z = "us-central1-a";
const VM = (instance: string, extra: string[] = [], zone = Z) => [
    "  - cloud: gcp",
    `    project: ${P}`,
    `    zone: ${zone}`,
    `    instance: ${instance}`,
    ...extra.map((l) => `    ${l}`),
];
const INVENTORY = [
    "vms:",
    ...VM("web-1"),
    ...VM("web-2", ["bitlockerSecret: projects/my-project/secrets/web-2-bitlocker"]),
    ...VM("web-3", ["strategy: restore"], "us-central1-b"),
    ...VM("web-4", ["strategy: reboot"]),
    "  - cloud: aws",
    "    region: us-east-1",
    "    instanceId: i-0123456789abcdef0",
    "",
].join("\n");

const noConfig = { get: () => undefined, kind: () => "missing" as const };
const entries = (text: string): VmEntry[] =>
    validateInventory(parseYamlInventory("inv.yaml", text), inventoryContext(identities, builtClouds, noConfig));

const provider = providerOf(gcpStandIn);
const urn = (type: string, name: string) => `urn:pulumi:sbx::bootloop-rescue::${type}::${name}`;
const T = {
    snapshot: "gcp:compute/snapshot:Snapshot",
    disk: "gcp:compute/disk:Disk",
    attached: "gcp:compute/attachedDisk:AttachedDisk",
    instance: "gcp:compute/instance:Instance",
    firewall: "gcp:compute/firewall:Firewall",
    account: "gcp:serviceaccount/account:Account",
    reader: "gcp:secretmanager/secretIamMember:SecretIamMember",
    item: "gcp:compute/projectMetadataItem:ProjectMetadataItem",
};

/** A fresh world seeded from INVENTORY, named by FAKE_GCLOUD_STATE for the provider and the CLI. */
let file = "";
let dir = "";
function freshWorld(): void {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gcp-provider-"));
    file = path.join(dir, "world.json");
    fs.writeFileSync(file, JSON.stringify(seedGcpWorld(entries(INVENTORY))));
    fs.writeFileSync(path.join(dir, "calls.log"), "");
    process.env.FAKE_GCLOUD_STATE = file;
}
const world = (): any => JSON.parse(fs.readFileSync(file, "utf8"));

/** The stand-in gcloud on this world: exit code, stdout parsed when it is JSON, stderr. */
function gcloud(...args: string[]): { code: number | null; out: any; stderr: string } {
    const r = spawnSync(path.join(STAND_IN, "gcloud"), [...args, "--format", "json"], {
        encoding: "utf8",
        env: { ...process.env, FAKE_GCLOUD_STATE: file, FAKE_GCLOUD_LOG: path.join(dir, "calls.log") },
    });
    let out: unknown = r.stdout;
    try {
        out = JSON.parse(r.stdout);
    } catch {
        /* not JSON: kept as text */
    }
    return { code: r.status, out, stderr: r.stderr };
}

const create = (type: string, name: string, inputs: Record<string, unknown>) => provider.create!(urn(type, name), inputs);
const nameOf = (id: string) => id.split("/").pop()!;

/** A backup of web-1's boot disk, a scratch disk from it, and a rescue instance (with its account and firewall) it is attached to. */
async function chain(vm = "web-1", device = `br-${vm}-abcd1234-0a1b2c`) {
    const backup = await create(T.snapshot, `${vm}-backup`, { project: P, zone: Z, sourceDisk: `projects/${P}/zones/${Z}/disks/${vm}` });
    const scratch = await create(T.disk, `${vm}-scratch`, { project: P, zone: Z, snapshot: backup.id, type: "pd-balanced", size: 64 });
    const account = await create(T.account, "rescue-sa", { project: P, accountId: "br-rescue-1a2b3c4d" });
    const firewall = await create(T.firewall, "deny-in", {
        project: P,
        network: `https://www.googleapis.com/compute/v1/projects/${P}/global/networks/default`,
        direction: "INGRESS",
        priority: 0,
        denies: [{ protocol: "all" }],
    });
    const rescue = await create(T.instance, "rescue-gcp-1", {
        project: P,
        zone: Z,
        name: "rescue-gcp-1",
        machineType: "e2-standard-2",
        bootDisk: { initializeParams: { image: "debian-cloud/debian-12", size: 20, type: "pd-balanced" } },
        networkInterfaces: [{ subnetwork: `projects/${P}/regions/us-central1/subnetworks/default` }],
        metadata: { "enable-guest-attributes": "TRUE" },
        metadataStartupScript: "#!/bin/bash\ninstall /usr/local/lib/bootloop-rescue/rescue-agent.sh\n",
        serviceAccount: { email: account.outs.email, scopes: ["https://www.googleapis.com/auth/cloud-platform"] },
        labels: { "bootloop-rescue-role": "rescue" },
        allowStoppingForUpdate: true,
    });
    const attached = await create(T.attached, `${vm}-attach`, {
        project: P,
        zone: Z,
        disk: scratch.id,
        instance: rescue.id,
        deviceName: device,
        mode: "READ_WRITE",
    });
    return { backup, scratch, account, firewall, rescue, attached, device };
}

/** The rescue agent's result for `device` on the rescue instance, read as the watcher reads it (the first read finds none yet). */
function agentResult(rescue: string, device: string): { code: string; evidence: any } {
    const read = () =>
        gcloud("compute", "instances", "get-guest-attributes", rescue, "--zone", Z, "--project", P, "--query-path=bootloop-rescue/");
    const first = read();
    assert.equal(first.code, 1, "the agent takes a look before it publishes");
    const r = read();
    assert.equal(r.code, 0, r.stderr);
    const value = new Map((r.out as { key: string; value: string }[]).map((a) => [a.key, a.value]));
    let line = "";
    for (let i = 0; i < Number(value.get(`${device}-chunks`)); i++) line += value.get(`${device}-c${i}`);
    assert.match(line, /^gzip-base64:/);
    return { code: value.get(`${device}-code`)!, evidence: JSON.parse(zlib.gunzipSync(Buffer.from(line.slice(12), "base64")).toString()) };
}

describe("the sandbox's stand-in gcp provider", function () {
    this.timeout(120_000);
    beforeEach(freshWorld);

    it("seeds each GCP VM running and boot-looping on its original disk, with its key secret and restore points, the same each time", () => {
        const w = world();
        assert.deepEqual(Object.keys(w.instances).sort(), ["web-1", "web-2", "web-3", "web-4"], "the AWS VM is not GCP's");
        for (const name of ["web-1", "web-2", "web-3", "web-4"]) {
            const i = w.instances[name];
            assert.equal(i.status, "RUNNING", name);
            assert.deepEqual(
                i.disks.map((d: any) => [d.source, d.boot]),
                [[name, true]],
            );
            assert.equal(w.disks[name].boots, false, `${name}'s original does not boot`);
            assert.equal(w.disks[name].attachedTo, name);
            assert.ok(bootVerdict(i.serial, /Windows is ready/).bugcheck, `${name}'s serial port shows a stop error after its last boot`);
        }
        assert.equal(w.instances["web-4"].recoversAtReboot, 2, "strategy reboot: restarts bring it back");
        assert.equal(w.instances["web-1"].recoversAtReboot, undefined);
        assert.equal(w.disks["web-2"].bitlocker, true);
        assert.equal(w.secrets["web-2-bitlocker"].project, P);
        assert.match(w.secrets["web-2-bitlocker"].versions[0], /^(\d{6}-){7}\d{6}$/);
        assert.equal(w.secrets["web-2-bitlocker"].versions[0], recoveryPassword("projects/my-project/secrets/web-2-bitlocker"));
        const points = Object.entries(w.snapshots).map(([n, s]: [string, any]) => [n, s.boots, s.sourceDisk]);
        const source = "https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-b/disks/web-3";
        assert.deepEqual(points, [
            ["web-3-nightly-20240718", true, source],
            ["web-3-nightly-20240719", false, source],
        ]);
        assert.deepEqual(seedGcpWorld(entries(INVENTORY)), w, "deterministic");
        // Discovery's listing (gcloud compute instances list) sees them as Windows instances.
        const listed = gcloud("compute", "instances", "list", "--project", P);
        assert.equal(listed.code, 0, listed.stderr);
        assert.deepEqual(listed.out.map((i: any) => [i.name, i.disks[0].guestOsFeatures.length > 0]).sort(), [
            ["web-1", true],
            ["web-2", true],
            ["web-3", true],
            ["web-4", true],
        ]);
    });

    it("refuses an inventory the simulated GCP cannot hold: one instance name in two zones", () => {
        const twice = ["vms:", ...VM("web-1"), ...VM("web-1", [], "us-central1-b"), ""].join("\n");
        assert.throws(() => seedGcpWorld(entries(twice)), /instance web-1 is in the inventory twice .*keys instances by name/);
    });

    it("serves every resource type the GCP path declares (repair, BitLocker, reboot, restore)", async function () {
        this.timeout(300_000);
        const { rs } = await planInventory(INVENTORY.replace(/ {2}- cloud: aws[\s\S]*$/, ""), { "bootloop-rescue:acceptDataLoss": "true" });
        const types = [...new Set(rs.map((r) => r.type))].filter((t) => t.startsWith("gcp:"));
        assert.ok(types.length >= 7, types.join(", "));
        assert.deepEqual(
            types.filter((t) => !gcpStandIn.resources[t]),
            [],
        );
    });

    it("a snapshot is CREATING, then UPLOADING while its create runs, READY after; gcloud describes it", async () => {
        const making = create(T.snapshot, "web-1-backup", { project: P, zone: Z, sourceDisk: `projects/${P}/zones/${Z}/disks/web-1` });
        const seen = new Set<string>();
        let done = false;
        void making.then(() => (done = true));
        while (!done) {
            for (const s of Object.values<any>(world().snapshots)) if (s.sourceDisk.endsWith("/disks/web-1")) seen.add(s.status);
            await new Promise((r) => setTimeout(r, 20));
        }
        const made = await making;
        assert.ok(seen.has("CREATING") && seen.has("UPLOADING"), [...seen].join(", "));
        assert.match(made.id, /^projects\/my-project\/global\/snapshots\/web-1-backup-[0-9a-f]{7}$/);
        assert.equal(made.outs.name, nameOf(made.id));
        const described = gcloud("compute", "snapshots", "describe", nameOf(made.id), "--project", P);
        assert.equal(described.code, 0, described.stderr);
        assert.equal(described.out.status, "READY");
        assert.equal(described.out.sourceDisk, `https://www.googleapis.com/compute/v1/projects/${P}/zones/${Z}/disks/web-1`);
        assert.equal(world().snapshots[nameOf(made.id)].boots, false, "a backup of a boot-looping disk does not boot");
    });

    it("creates disks, a rescue instance, an attachment, a firewall rule, a service account and a key reader where gcloud and the world show them", async () => {
        const c = await chain();
        const w = world();
        const scratch = nameOf(c.scratch.id);
        assert.match(c.scratch.id, /^projects\/my-project\/zones\/us-central1-a\/disks\/web-1-scratch-[0-9a-f]{7}$/);
        assert.equal(c.scratch.outs.name, scratch);
        assert.deepEqual([w.disks[scratch].status, w.disks[scratch].sizeGb, w.disks[scratch].type], ["READY", 64, "pd-balanced"]);
        assert.equal(gcloud("compute", "disks", "describe", scratch, "--zone", Z, "--project", P).out.name, scratch);
        const rescue = gcloud("compute", "instances", "describe", "rescue-gcp-1", "--zone", Z, "--project", P);
        assert.equal(rescue.out.status, "RUNNING");
        assert.deepEqual(
            rescue.out.disks.map((d: any) => [nameOf(d.source), d.boot]),
            [
                ["rescue-gcp-1", true],
                [scratch, false],
            ],
            "its own boot disk (named after it) and the scratch disk",
        );
        assert.equal(c.rescue.id, "projects/my-project/zones/us-central1-a/instances/rescue-gcp-1");
        assert.equal(w.instances["rescue-gcp-1"].agent, true, "its startup script installs the agent, guest attributes are on");
        assert.equal(w.disks[scratch].attachedTo, "rescue-gcp-1");
        assert.equal(c.attached.id, `projects/${P}/zones/${Z}/instances/rescue-gcp-1/${scratch}`);
        assert.equal(c.account.outs.email, "br-rescue-1a2b3c4d@my-project.iam.gserviceaccount.com");
        assert.equal(c.account.id, `projects/${P}/serviceAccounts/${c.account.outs.email}`);
        assert.ok(w.serviceAccounts[c.account.outs.email]);
        assert.equal(w.firewalls[nameOf(c.firewall.id)].network, `projects/${P}/global/networks/default`);
        const reader = await create(T.reader, "reads-key", {
            project: P,
            secretId: `projects/${P}/secrets/web-2-bitlocker`,
            role: "roles/secretmanager.secretAccessor",
            member: `serviceAccount:${c.account.outs.email}`,
        });
        assert.equal(
            reader.id,
            `projects/${P}/secrets/web-2-bitlocker/roles/secretmanager.secretAccessor/serviceAccount:${c.account.outs.email}`,
        );
        assert.equal(typeof reader.outs.etag, "string");
        assert.deepEqual(world().secrets["web-2-bitlocker"].iam, [
            { role: "roles/secretmanager.secretAccessor", member: `serviceAccount:${c.account.outs.email}` },
        ]);
        assert.ok(gcloud("secrets", "list", "--project", P).out.some((s: any) => s.name === `projects/${P}/secrets/web-2-bitlocker`));
    });

    it("project metadata items hold the rescue tools where a rescue instance's startup script reads them: its agent runs only when they are all there and add up", async () => {
        const items = toolsItems("sbx");
        const rescue = (name: string) =>
            create(T.instance, name, {
                project: P,
                zone: Z,
                name,
                bootDisk: { initializeParams: { image: "debian-cloud/debian-12" } },
                networkInterfaces: [{ subnetwork: `projects/${P}/regions/us-central1/subnetworks/default` }],
                metadata: { "enable-guest-attributes": "TRUE" },
                metadataStartupScript: startupScript(items),
            });
        await rescue("rescue-early");
        assert.equal(world().instances["rescue-early"].agent, false, "created before its tools' items: its startup script fails");
        const made = [];
        for (const i of items) made.push(await create(T.item, `tools-${i.index}`, { project: P, key: i.key, value: i.value }));
        assert.deepEqual(
            made.map((m) => m.id),
            items.map((i) => i.key),
        );
        assert.deepEqual(
            Object.keys(world().projectMetadata[P]),
            items.map((i) => i.key),
        );
        await rescue("rescue-after");
        assert.equal(world().instances["rescue-after"].agent, true, "its startup script reads every item and they add up");
        // A value that does not add up (changed in place): the next instance gets no tools.
        const first = items[0];
        await provider.update!(first.key, urn(T.item, "tools-1"), made[0].outs, {
            project: P,
            key: first.key,
            value: `AAAA${first.value.slice(4)}`,
        });
        await rescue("rescue-altered");
        assert.equal(world().instances["rescue-altered"].agent, false);
        // Deleted: gone from the project's metadata; read says so.
        await provider.delete!(first.key, urn(T.item, "tools-1"), made[0].outs);
        assert.equal(world().projectMetadata[P][first.key], undefined);
        assert.deepEqual(await provider.read!(first.key, urn(T.item, "tools-1"), made[0].outs), {});
    });

    it("project metadata items: a key the project has, a value over 256 KiB and a project over 512 KB are refused", async () => {
        await create(T.item, "a", { project: P, key: "bootloop-rescue-tools-a", value: "x" });
        await assert.rejects(
            create(T.item, "a2", { project: P, key: "bootloop-rescue-tools-a", value: "y" }),
            /key bootloop-rescue-tools-a already present in metadata for project my-project/,
        );
        await assert.rejects(create(T.item, "big", { project: P, key: "big", value: "x".repeat(262_145) }), /exceeds 262144 bytes/);
        await create(T.item, "b", { project: P, key: "b", value: "x".repeat(262_144) });
        await assert.rejects(create(T.item, "c", { project: P, key: "c", value: "x".repeat(262_144) }), /must be less than 512 KB/);
        assert.deepEqual(Object.keys(world().projectMetadata[P]).sort(), ["b", "bootloop-rescue-tools-a"]);
    });

    it("the agent repairs an attached disk: repair.sh reads its evidence; the repaired disk and its clone boot, the backup and its copies do not", async () => {
        const c = await chain();
        const scratch = nameOf(c.scratch.id);
        // The real repair step, through the watcher, against this world (in a copy of it).
        const r = runScript("repair", { ...repairEnv, RESCUE_INSTANCE: "rescue-gcp-1", DEVICE_NAME: c.device }, world());
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^dict1-deflate-base64:/);
        assert.equal(r.world.disks[scratch].boots, true, "the script's reads ran the agent in its world");
        // And here, read as the watcher reads it.
        const { code, evidence } = agentResult("rescue-gcp-1", c.device);
        assert.equal(code, "0");
        assert.equal(evidence.outcome, "repaired");
        const validate = new Ajv({ allErrors: true }).compile(
            JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "rescue/evidence.schema.json"), "utf8")),
        );
        assert.ok(validate(evidence), JSON.stringify(validate.errors));
        assert.equal(world().disks[scratch].boots, true);
        const fixed = await create(T.disk, "web-1-fixed", { project: P, zone: Z, sourceDisk: c.scratch.id, type: "pd-balanced", size: 64 });
        const fromBackup = await create(T.disk, "web-1-restored", { project: P, zone: Z, snapshot: c.backup.id });
        const w = world();
        assert.equal(w.disks[nameOf(fixed.id)].boots, true, "a clone of the repaired disk boots");
        assert.equal(w.snapshots[nameOf(c.backup.id)].boots, false, "the backup does not");
        assert.equal(w.disks[nameOf(fromBackup.id)].boots, false, "nor a disk made from it");
        assert.equal(w.disks["web-1"].boots, false, "the original is never written");
        // Detached, the device is forgotten: its result goes with it.
        await provider.delete!(c.attached.id, urn(T.attached, "web-1-attach"), c.attached.outs);
        const after = gcloud("compute", "instances", "get-guest-attributes", "rescue-gcp-1", "--zone", Z, "--project", P);
        assert.equal(after.code, 1, "no result left for a device that went away");
    });

    it("a BitLocker disk is repaired only with its key secret named in the rescue instance's metadata and readable by its account", async () => {
        const c = await chain("web-2", "br-web-2-abcd1234-0a1b2c");
        const locked = agentResult("rescue-gcp-1", c.device);
        assert.deepEqual([locked.code, locked.evidence.outcome], ["4", "locked"], "no key secret named");
        assert.equal(world().disks[nameOf(c.scratch.id)].boots, false);

        const retry = async (device: string) => {
            await provider.delete!(c.attached.id, urn(T.attached, "x"), {});
            c.attached = await create(T.attached, "again", {
                project: P,
                zone: Z,
                disk: c.scratch.id,
                instance: c.rescue.id,
                deviceName: device,
            });
            return agentResult("rescue-gcp-1", device);
        };
        const olds = world().instances["rescue-gcp-1"];
        const metadata = { ...olds.metadata, "bootloop-rescue-secret-web-2-abcd1234": "projects/my-project/secrets/web-2-bitlocker" };
        await provider.update!(
            c.rescue.id,
            urn(T.instance, "rescue-gcp-1"),
            { metadata: olds.metadata },
            { metadata, allowStoppingForUpdate: true },
        );
        const denied = await retry("br-web-2-abcd1234-1a1b2c");
        assert.deepEqual([denied.code, denied.evidence.outcome], ["6", "error"]);
        assert.match(denied.evidence.message, /denied the rescue instance's service account secretmanager\.versions\.access/);

        await create(T.reader, "reads-key", {
            project: P,
            secretId: `projects/${P}/secrets/web-2-bitlocker`,
            role: "roles/secretmanager.secretAccessor",
            member: `serviceAccount:${c.account.outs.email}`,
        });
        const repaired = await retry("br-web-2-abcd1234-2a1b2c");
        assert.deepEqual([repaired.code, repaired.evidence.outcome], ["0", "repaired"]);
        assert.equal(world().disks[nameOf(c.scratch.id)].boots, true);
    });

    it("a diff on a replaceOn property asks for replacement; on another property, for an update in place", async () => {
        const cases: [string, Record<string, unknown>, string, unknown, string, unknown][] = [
            [T.snapshot, { sourceDisk: "a", labels: {} }, "sourceDisk", "b", "labels", { x: "y" }],
            [T.disk, { snapshot: "a", size: 64, labels: {} }, "snapshot", "b", "size", 128],
            [T.attached, { disk: "a", instance: "r", deviceName: "br-a" }, "deviceName", "br-b", "", undefined],
            [T.instance, { metadataStartupScript: "a", metadata: {}, bootDisk: {} }, "metadataStartupScript", "b", "metadata", { k: "v" }],
            [
                T.instance,
                { networkInterfaces: [{ subnetwork: "a" }], machineType: "e2" },
                "networkInterfaces",
                [{ subnetwork: "b" }],
                "machineType",
                "n2",
            ],
            [T.firewall, { network: "n", direction: "INGRESS", priority: 0 }, "direction", "EGRESS", "network", "m"],
            [T.account, { accountId: "a", displayName: "d" }, "accountId", "b", "displayName", "e"],
            [T.reader, { secretId: "s", member: "m", role: "r" }, "member", "n", "", undefined],
            [T.item, { project: P, key: "k", value: "v" }, "key", "l", "value", "w"],
        ];
        for (const [type, olds, replaced, newValue, updated, updatedValue] of cases) {
            assert.ok(gcpStandIn.resources[type].replaceOn.includes(replaced), `${type} ${replaced}`);
            const replace = await provider.diff!("id", urn(type, "r"), olds, { ...olds, [replaced]: newValue });
            assert.deepEqual([replace.changes, replace.replaces], [true, [replaced]], `${type} ${replaced}`);
            if (!updated) continue;
            assert.ok(!gcpStandIn.resources[type].replaceOn.includes(updated), `${type} ${updated}`);
            const update = await provider.diff!("id", urn(type, "r"), olds, { ...olds, [updated]: updatedValue });
            assert.deepEqual([update.changes, update.replaces], [true, []], `${type} ${updated}`);
        }
        const same = await provider.diff!("id", urn(T.disk, "r"), { snapshot: "a" }, { snapshot: "a" });
        assert.equal(same.changes, false);
    });

    it("every replaceOn property is an input of the @pulumi/gcp class it stands in for", () => {
        const modules: Record<string, string> = {
            [T.snapshot]: "compute/snapshot",
            [T.disk]: "compute/disk",
            [T.attached]: "compute/attachedDisk",
            [T.instance]: "compute/instance",
            [T.firewall]: "compute/firewall",
            [T.account]: "serviceaccount/account",
            [T.reader]: "secretmanager/secretIamMember",
            [T.item]: "compute/projectMetadataItem",
        };
        assert.deepEqual(Object.keys(modules).sort(), Object.keys(gcpStandIn.resources).sort());
        for (const [type, module] of Object.entries(modules)) {
            const js = fs.readFileSync(require.resolve(`@pulumi/gcp/${module}`), "utf8");
            assert.ok(js.includes(`__pulumiType = '${type}'`), type);
            const inputs = new Set([...js.matchAll(/resourceInputs\["(\w+)"\] = args\?\./g)].map((m) => m[1]));
            assert.deepEqual(
                gcpStandIn.resources[type].replaceOn.filter((k) => !inputs.has(k)),
                [],
                type,
            );
        }
    });

    it("deletes each resource from the world; read() then says it is gone", async () => {
        const c = await chain();
        const reader = await create(T.reader, "reads-key", {
            project: P,
            secretId: `projects/${P}/secrets/web-2-bitlocker`,
            role: "roles/secretmanager.secretAccessor",
            member: `serviceAccount:${c.account.outs.email}`,
        });
        const fixed = await create(T.disk, "web-1-fixed", { project: P, zone: Z, sourceDisk: c.scratch.id });
        const order: [string, CreateResult][] = [
            [T.reader, reader],
            [T.attached, c.attached],
            [T.disk, c.scratch],
            [T.disk, fixed],
            [T.snapshot, c.backup],
            [T.instance, c.rescue],
            [T.firewall, c.firewall],
            [T.account, c.account],
        ];
        for (const [type, made] of order) {
            const before = await provider.read!(made.id, urn(type, "r"), made.outs);
            assert.equal(before.id, made.id, `${type} is there before`);
            await provider.delete!(made.id, urn(type, "r"), made.outs);
            const after = await provider.read!(made.id, urn(type, "r"), made.outs);
            assert.deepEqual(after, {}, `${type} is gone (read answers no id)`);
        }
        const w = world();
        assert.deepEqual(w.secrets["web-2-bitlocker"].iam, []);
        assert.equal(w.disks[nameOf(c.scratch.id)], undefined);
        assert.equal(w.disks["rescue-gcp-1"], undefined, "the rescue instance's boot disk went with it");
        assert.deepEqual(Object.keys(w.instances).sort(), ["web-1", "web-2", "web-3", "web-4"]);
        assert.deepEqual(w.firewalls, {});
        assert.deepEqual(w.serviceAccounts, {});
        const gone = gcloud("compute", "disks", "describe", nameOf(fixed.id), "--zone", Z, "--project", P);
        assert.equal(gone.code, 1);
        assert.match(gone.stderr, /was not found/);
    });

    it("refuses what Compute Engine refuses, with its error", async () => {
        const original = `projects/${P}/zones/${Z}/disks/web-1`;
        await assert.rejects(
            Promise.resolve(provider.delete!(original, urn(T.disk, "x"), {})),
            /Error detaching disk persistent-disk-0 from instance my-project\/us-central1-a\/web-1: googleapi: Error 400: Invalid resource usage: 'To detach the boot disk, the instance must be in TERMINATED state.'\., invalidResourceUsage/,
        );
        assert.equal(world().disks["web-1"].attachedTo, "web-1", "nothing was detached");
        const c = await chain();
        await assert.rejects(
            create(T.attached, "twice", {
                project: P,
                zone: Z,
                disk: c.scratch.id,
                instance: "projects/my-project/zones/us-central1-a/instances/web-2",
            }),
            new RegExp(
                `The disk resource '${c.scratch.id}' is already being used by 'projects/my-project/zones/us-central1-a/instances/rescue-gcp-1', resourceInUseByAnotherResource`,
            ),
        );
        await assert.rejects(
            create(T.instance, "rescue-gcp-1", {
                project: P,
                zone: Z,
                name: "rescue-gcp-1",
                bootDisk: { initializeParams: { image: "debian-cloud/debian-12" } },
                networkInterfaces: [{ subnetwork: `projects/${P}/regions/us-central1/subnetworks/default` }],
            }),
            /Error creating instance: googleapi: Error 409: The resource 'projects\/my-project\/zones\/us-central1-a\/instances\/rescue-gcp-1' already exists, alreadyExists/,
        );
        await assert.rejects(
            create(T.disk, "from-nothing", { project: P, zone: Z, snapshot: `projects/${P}/global/snapshots/nope` }),
            /Error creating Disk: googleapi: Error 404: The resource 'projects\/my-project\/global\/snapshots\/nope' was not found, notFound/,
        );
        await assert.rejects(
            create(T.disk, "smaller", { project: P, zone: Z, snapshot: c.backup.id, size: 10 }),
            /Requested disk size cannot be smaller than the source size \(64 GB\)/,
        );
        await assert.rejects(
            create(T.instance, "elsewhere", {
                project: P,
                zone: Z,
                name: "elsewhere",
                bootDisk: { initializeParams: { image: "debian-cloud/debian-12" } },
                networkInterfaces: [{ subnetwork: `projects/${P}/regions/us-central1/subnetworks/nope` }],
            }),
            /The resource 'projects\/my-project\/regions\/us-central1\/subnetworks\/nope' was not found, notFound/,
        );
        await assert.rejects(
            create(T.reader, "no-secret", {
                project: P,
                secretId: `projects/${P}/secrets/nope`,
                role: "roles/secretmanager.secretAccessor",
                member: "user:a@b.c",
            }),
            /googleapi: Error 404: Secret \[projects\/\d{12}\/secrets\/nope\] not found\., notFound/,
        );
        await assert.rejects(
            create(T.account, "again", { project: P, accountId: "br-rescue-1a2b3c4d" }),
            /Service account br-rescue-1a2b3c4d already exists within project projects\/my-project\., alreadyExists/,
        );
        assert.equal(world().instances.elsewhere, undefined, "a refused create leaves nothing behind");
    });

    it("lookups answer from the seeded world; a missing instance or disk fails with the provider's not-found error", async () => {
        const found = (await provider.invoke!("gcp:compute/getInstance:getInstance", { name: "web-2", zone: Z, project: P })).outputs;
        assert.equal(found.bootDisks[0].source, `https://www.googleapis.com/compute/v1/projects/${P}/zones/${Z}/disks/web-2`);
        assert.equal(
            found.networkInterfaces[0].subnetwork,
            `https://www.googleapis.com/compute/v1/projects/${P}/regions/us-central1/subnetworks/default`,
        );
        assert.equal(found.currentStatus, "RUNNING");
        const disk = (await provider.invoke!("gcp:compute/getDisk:getDisk", { name: "web-2", zone: Z, project: P })).outputs;
        assert.deepEqual(
            [disk.type, disk.size, disk.users],
            ["pd-balanced", 64, [`https://www.googleapis.com/compute/v1/projects/${P}/zones/${Z}/instances/web-2`]],
        );
        assert.ok(disk.guestOsFeatures.some((g: any) => g.type === "WINDOWS"));
        await assert.rejects(
            provider.invoke!("gcp:compute/getInstance:getInstance", { name: "web-9", zone: Z, project: P }),
            /^Error: projects\/my-project\/zones\/us-central1-a\/instances\/web-9 not found$/,
        );
        await assert.rejects(
            provider.invoke!("gcp:compute/getDisk:getDisk", { name: "web-3", zone: Z, project: P }),
            /projects\/my-project\/zones\/us-central1-a\/disks\/web-3 not found/,
            "web-3's disk is in us-central1-b",
        );
    });

    it("refuses a resource type and an invoke it does not serve, naming them", async () => {
        await assert.rejects(
            provider.create!(urn("gcp:compute/image:Image", "x"), {}),
            /stand-in gcp provider does not serve resource type gcp:compute\/image:Image/,
        );
        await assert.rejects(
            provider.invoke!("gcp:compute/getImage:getImage", {}),
            /stand-in gcp provider does not serve invoke gcp:compute\/getImage:getImage/,
        );
    });

    it("the restore-points script finds the seeded pre-incident snapshot of a restore VM", () => {
        // The listing is the project's; the lookup keeps the snapshots of the VM's boot disk.
        const r = runScript("restore-points", { PROJECT: P }, world());
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
            JSON.parse(r.stdout)
                .filter((p: any) => p.source.endsWith(`/projects/${P}/zones/us-central1-b/disks/web-3`))
                .map((p: any) => [p.id, p.state]),
            [
                ["web-3-nightly-20240718", "ready"],
                ["web-3-nightly-20240719", "ready"],
            ],
        );
    });
});

describe("a GCP world seeded from stacks/dev.yaml", function () {
    this.timeout(120_000);

    it("answers every lookup the GCP path makes for each of its GCP VMs", async () => {
        const config = configSourceOf(readStackConfig(PROJECT_DIR, "dev"));
        const vms = validateInventory(
            readInventory(config.get(`${NAMESPACE}:inventory`)!, PROJECT_DIR),
            inventoryContext(identities, builtClouds, config),
        ).filter((vm) => vm.cloud === "gcp");
        assert.ok(vms.length >= 3, "dev.yaml has GCP VMs");
        const seeded: any = seedGcpWorld(vms);
        const served = new Set<string>();
        await withStandInEnv(
            { world: seeded, standInDir: STAND_IN, stateVar: "FAKE_GCLOUD_STATE", logVar: "FAKE_GCLOUD_LOG" },
            async () => {
                await pulumi.runtime.setMocks({
                    newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
                    call: async (c) => {
                        served.add(c.token);
                        if (c.token === "command:local:run") {
                            // The restore lookup's script, run for real against the stand-in gcloud.
                            const env = c.inputs.environment as Record<string, string>;
                            const r = spawnSync("/bin/bash", ["-c", String(c.inputs.command)], {
                                encoding: "utf8",
                                cwd: PROJECT_DIR,
                                env: { ...process.env, ...env },
                            });
                            if (r.status !== 0) throw new Error(r.stderr);
                            return { stdout: r.stdout, stderr: r.stderr };
                        }
                        return (await provider.invoke!(c.token, c.inputs)).outputs;
                    },
                });
                const gcp = readGcpConfig(config, "Pulumi.dev.yaml");
                const listings = new RestoreListings();
                for (const vm of vms) {
                    const restore = vm.strategy === "restore" ? { before: DEFAULT_RESTORE_BEFORE } : undefined;
                    const found = await lookUpInstance(vm, gcp, listings, undefined, restore);
                    assert.equal(found.originalDiskId, vm.fields.bootDisk ?? vm.fields.instance, vm.label);
                    const facts = found.facts;
                    assert.deepEqual(
                        [facts.currentBootDisk, facts.diskType, facts.diskSize, facts.network],
                        [
                            found.originalDiskId,
                            "pd-balanced",
                            "64",
                            `https://www.googleapis.com/compute/v1/projects/${vm.fields.project}/global/networks/default`,
                        ],
                        vm.label,
                    );
                    assert.ok(facts.guestOsFeatures.split(",").includes("WINDOWS"), vm.label);
                    assert.ok(
                        seeded.subnetworks[facts.subnetwork.replace("https://www.googleapis.com/compute/v1/", "")],
                        `${vm.label}: its rescue subnetwork exists`,
                    );
                    if (vm.fields.bitlockerSecret)
                        assert.ok(seeded.secrets[vm.fields.bitlockerSecret.split("/")[3]], `${vm.label}: its key secret exists`);
                    if (restore) assert.match(found.restorePoint!.id, /-nightly-20240718$/, vm.label);
                }
            },
        );
        assert.ok(served.has("gcp:compute/getInstance:getInstance") && served.has("gcp:compute/getDisk:getDisk"), [...served].join(", "));
    });
});
