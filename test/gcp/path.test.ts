import { strict as assert } from "assert";
import { deviceName } from "../../components/gcp/steps";
import { RESCUE_TAG, startupScript } from "../../components/gcp/rescue";
import { toolsItems } from "../../components/gcp/tools";
import { rescueTools } from "../../rescue/payload";
import { PlannedResource } from "../../components/tools/offline/capture";
import { LINUX_BOOT_MARKER } from "../../components/core/contract/vm";
import { assertRestoreLookup, planInventory } from "../helpers/lab-run";
import { RestoreListings } from "../../components/core/restore-listings";

function inventory(vms: { name: string; project?: string; zone?: string }[]): string {
    return (
        "vms:\n" +
        vms
            .map(
                (v) =>
                    `  - cloud: gcp\n    project: ${v.project ?? "my-project"}\n    zone: ${v.zone ?? "us-central1-a"}\n    instance: ${v.name}\n`,
            )
            .join("")
    );
}

const plan = (inv: string, config: Record<string, string> = {}) => planInventory(inv, config);

/** The GCP settings a lookup is given in these tests. */
const LOOKUP_CONFIG = {
    rescueImage: "i",
    rescueMachineType: "m",
    rescueSubnetworks: {},
    bootMarker: "x",
    linuxBootMarker: "login:",
    labels: {},
};

describe("GCP path under Pulumi mocks", () => {
    it("declares the chain per instance with types, parent and dependencies; copies keep the boot disk's shape", async () => {
        const { run, byName } = await plan(inventory([{ name: "web-1" }]));
        const slug = run.result.plan.vms[0].slug;
        const steps: [string, string][] = [
            ["backup", "gcp:compute/snapshot:Snapshot"],
            ["scratch", "gcp:compute/disk:Disk"],
            ["attach", "gcp:compute/attachedDisk:AttachedDisk"],
            ["repair", "command:local:Command"],
            ["fixed", "gcp:compute/disk:Disk"],
            ["swap", "command:local:Command"],
        ];
        for (const [i, [step, type]] of steps.entries()) {
            const r = byName.get(`${slug}-${step}`)!;
            assert.equal(r.type, type, step);
            if (i > 0) assert.ok(r.dependsOn.includes(`${slug}-${steps[i - 1][0]}`), `${step} depends on ${steps[i - 1][0]}`);
        }
        for (const step of ["scratch", "fixed"]) {
            const i = byName.get(`${slug}-${step}`)!.inputs as any;
            assert.equal(i.type, "pd-balanced", step);
            assert.equal(i.size, 64);
            assert.deepEqual(
                i.guestOsFeatures.map((g: any) => g.type),
                ["WINDOWS", "MULTI_IP_SUBNET", "UEFI_COMPATIBLE"],
            );
            assert.deepEqual(i.licenses, ["projects/windows-cloud/global/licenses/windows-server-2022-dc"]);
        }
        assert.equal(
            (byName.get(`${slug}-fixed`)!.inputs as any).sourceDisk,
            (byName.get(`${slug}-attach`)!.inputs as any).disk,
            "the fixed disk clones the scratch disk",
        );
        const attach = byName.get(`${slug}-attach`)!.inputs as any;
        assert.match(attach.deviceName, /^br-[a-z0-9-]+-[0-9a-f]{6}$/);
        assert.equal((byName.get(`${slug}-repair`)!.inputs.environment as any).DEVICE_NAME, attach.deviceName);
    });

    it("keeps backups and fixed disks on delete", async () => {
        const { rs, run } = await plan(inventory([{ name: "web-1" }]));
        const slug = run.result.plan.vms[0].slug;
        assert.deepEqual(
            rs
                .filter((r) => r.retainOnDelete)
                .map((r) => r.name.replace(`${slug}-`, ""))
                .sort(),
            ["backup", "fixed"],
        );
    });

    it("a retried VM's attempt is in its rescue instance's metadata, where the agent reads it; the others have none", async () => {
        const text = inventory([{ name: "web-1" }, { name: "web-2" }]).replace(/(instance: web-1\n)/, "$1    retry: 1\n");
        assert.match(text, /retry: 1/);
        const { ofType, run } = await plan(text);
        const slug = (n: string) => run.result.plan.vms.find((v) => v.fields.instance === n)!.slug;
        const metadata = Object.assign(
            {},
            ...ofType("gcp:compute/instance:Instance").map((i) => i.inputs.metadata as Record<string, string>),
        );
        assert.equal(metadata[`bootloop-rescue-attempt-${slug("web-1")}`], "2");
        assert.equal(metadata[`bootloop-rescue-attempt-${slug("web-2")}`], undefined);
        const repair = run.resources!.find((r) => r.name === `${slug("web-1")}-repair2`)!;
        assert.equal(
            (repair.inputs.environment as Record<string, string>).REPAIR_ATTEMPT,
            "2",
            "its repair waits for that attempt's result",
        );
    });

    it("the rescue tools are project metadata items, once per project for every rescue instance there, which each instance waits for", async () => {
        const { ofType } = await plan(
            inventory([{ name: "web-1" }, { name: "web-2", zone: "us-central1-b" }, { name: "web-3", project: "other-project" }]),
        );
        const instances = ofType("gcp:compute/instance:Instance");
        const items = ofType("gcp:compute/projectMetadataItem:ProjectMetadataItem");
        assert.equal(instances.length, 3, "a rescue instance per zone");
        const expected = toolsItems("test");
        for (const project of ["my-project", "other-project"]) {
            const own = items.filter((i) => i.inputs.project === project);
            assert.deepEqual(
                own.map((i) => [i.inputs.key, i.inputs.value]),
                expected.map((i) => [i.key, i.value]),
                project,
            );
            for (const instance of instances.filter((i) => i.inputs.project === project)) {
                for (const item of own) assert.ok(instance.dependsOn.includes(item.name), `${instance.name} waits for ${item.name}`);
                assert.equal(instance.inputs.metadataStartupScript, startupScript(expected));
            }
        }
        assert.equal(items.length, 2 * expected.length, "once per project, not per instance");
    });

    it("a stack that shares its projects with other stacks (rateShare under 1: shards) keeps the tools in each rescue instance's startup script", async () => {
        const { ofType } = await plan(inventory([{ name: "web-1" }]), { "bootloop-rescue:rateShare": "1/4" });
        assert.deepEqual(ofType("gcp:compute/projectMetadataItem:ProjectMetadataItem"), []);
        const [instance] = ofType("gcp:compute/instance:Instance");
        assert.equal(instance.inputs.metadataStartupScript, startupScript());
        assert.ok(String(instance.inputs.metadataStartupScript).includes(rescueTools().install), "the tools inline");
        assert.doesNotMatch(String(instance.inputs.metadataStartupScript), /Environment=BOOTLOOP_RESCUE_LIB|bootloop-rescue-tools-/);
    });

    it("rescue instances: no external IP, deny-all ingress for their tag, a role-less service account, attached disks ignored", async () => {
        const { ofType } = await plan(inventory([{ name: "web-1" }]));
        const [instance] = ofType("gcp:compute/instance:Instance");
        assert.ok((instance.inputs.networkInterfaces as any[]).every((n) => !n.accessConfigs || n.accessConfigs.length === 0));
        assert.deepEqual(instance.inputs.tags, [RESCUE_TAG]);
        assert.equal((instance.inputs.metadata as any)["enable-guest-attributes"], "TRUE");
        assert.equal(
            (instance.inputs.metadata as any)["bootloop-rescue-rule-set"],
            "crowdstrike-291",
            "the agent reads the stack's rule set here",
        );
        const txr = await plan(inventory([{ name: "web-1" }]), { "bootloop-rescue:ruleSet": "crowdstrike-291-txr" });
        assert.equal(
            (txr.ofType("gcp:compute/instance:Instance")[0].inputs.metadata as any)["bootloop-rescue-rule-set"],
            "crowdstrike-291-txr",
        );
        assert.match(String(instance.inputs.metadataStartupScript), /bootloop-rescue-agent\.service/);
        assert.deepEqual((instance.inputs.serviceAccount as any).scopes, ["https://www.googleapis.com/auth/cloud-platform"]);
        // Attached disks are the seats'; the startup script (the tools), the image and the service
        // account (a new scope would stop the instance) are pinned for the life of the pool, so a
        // new version never stops or replaces an instance with repairs in flight.
        assert.deepEqual(instance.ignoreChanges, [
            "attachedDisks",
            "metadataStartupScript",
            "bootDisk.initializeParams.image",
            "serviceAccount",
        ]);
        // The startup script carries no tools: it reads them from the project's metadata items.
        assert.ok(String(instance.inputs.metadataStartupScript).length < 16 * 1024);
        const [rule] = ofType("gcp:compute/firewall:Firewall");
        assert.equal(rule.inputs.direction, "INGRESS");
        assert.deepEqual(rule.inputs.denies, [{ protocol: "all" }]);
        assert.equal(rule.inputs.priority, 0);
        assert.deepEqual(rule.inputs.targetTags, [RESCUE_TAG]);
        assert.equal(ofType("gcp:compute/firewall:Firewall").filter((r) => r.inputs.allows).length, 0, "no allow rule at all");
        for (const t of ofType("").map((r) => r.type)) assert.ok(!/IAMMember|IAMBinding|IAMPolicy/.test(t));
        assert.ok(!ofType("gcp:projects/iAMMember:IAMMember").length);
    });

    it("BitLocker keys in Secret Manager: the rescue account may read exactly its disks' secrets, the metadata names each disk's secret, never a key", async () => {
        const keys = "projects/my-project/secrets/web-1-keys";
        const shared = "projects/keys-project/secrets/fleet-keys/versions/7";
        const inv = inventory([{ name: "web-1" }, { name: "web-2" }, { name: "web-3" }, { name: "web-4" }])
            .replace("instance: web-1\n", `instance: web-1\n    bitlockerSecret: ${keys}\n`)
            .replace("instance: web-2\n", `instance: web-2\n    bitlockerSecret: ${shared}\n`)
            .replace("instance: web-3\n", `instance: web-3\n    bitlockerSecret: ${shared}\n    strategy: reboot\n`);
        const { ofType, run, byName } = await plan(inv);
        const vm = (n: string) => run.result.plan.vms.find((v) => v.fields.instance === n)!;
        const [instance] = ofType("gcp:compute/instance:Instance");
        const metadata = instance.inputs.metadata as Record<string, string>;
        assert.equal(metadata[`bootloop-rescue-secret-${vm("web-1").slug}`], keys);
        assert.equal(metadata[`bootloop-rescue-secret-${vm("web-2").slug}`], shared);
        assert.equal(
            Object.keys(metadata).filter((k) => k.startsWith("bootloop-rescue-secret-")).length,
            2,
            "a rebooted VM's and a keyless VM's disks name none",
        );
        const readers = ofType("gcp:secretmanager/secretIamMember:SecretIamMember");
        assert.deepEqual(readers.map((r) => [r.inputs.project, r.inputs.secretId, r.inputs.role]).sort(), [
            ["keys-project", "projects/keys-project/secrets/fleet-keys", "roles/secretmanager.secretAccessor"],
            ["my-project", "projects/my-project/secrets/web-1-keys", "roles/secretmanager.secretAccessor"],
        ]);
        // A disk's attachment (so its repair) waits for the binding through the instance's id.
        for (const r of readers) assert.ok(byName.get(`${vm("web-1").slug}-attach`)!.dependsOn.includes(r.name), r.name);
        assert.deepEqual(run.result.keySources, { [vm("web-1").key]: ["secret store"], [vm("web-2").key]: ["secret store"] });
        // No binding at teardown: the rescue instances and what they could read are gone.
        const down = await plan(inv, { "bootloop-rescue:teardown": "true" });
        assert.equal(down.ofType("gcp:secretmanager/secretIamMember:SecretIamMember").length, 0);
    });

    it("a bitlockerKey (stack config) on GCP points to bitlockerSecret; a malformed secret name is refused", async () => {
        await assert.rejects(
            planInventory(
                inventory([{ name: "web-1" }]).replace("instance: web-1\n", "instance: web-1\n    bitlockerKey: k\n"),
                { "bootloop-rescue:k": "x" },
                ["bootloop-rescue:k"],
            ),
            /on gcp, BitLocker keys never pass through the deployer or instance metadata: put them in a Secret Manager secret and name it in bitlockerSecret/,
        );
        await assert.rejects(
            plan(
                inventory([{ name: "web-1" }]).replace("instance: web-1\n", "instance: web-1\n    bitlockerSecret: projects/p/secrets/s\n"),
            ),
            /bitlockerSecret: "projects\/p\/secrets\/s" is not valid; expected a Secret Manager secret/,
        );
    });

    it("pools per zone, spans projects, and gates waves", async () => {
        const { ofType, run, byName } = await plan(
            inventory([{ name: "web-1" }, { name: "web-2", zone: "us-central1-b" }, { name: "db-1", project: "other-project" }]),
        );
        assert.equal(ofType("gcp:compute/instance:Instance").length, 3);
        assert.deepEqual(
            new Set(ofType("gcp:compute/instance:Instance").map((i) => i.inputs.project)),
            new Set(["my-project", "other-project"]),
        );
        const canary = run.result.plan.vms.find((v) => v.key === run.result.plan.waves[0].vms[0])!.slug;
        assert.deepEqual(byName.get("wave-1-gate")!.dependsOn, [`${canary}-swap`]);
    });

    it("teardown: no rescue instance, firewall, scratch disk or attachment; retained resources and commands stay", async () => {
        const inv = inventory([{ name: "web-1" }, { name: "web-2" }]);
        const live = await plan(inv);
        const down = await plan(inv, { "bootloop-rescue:teardown": "true" });
        for (const t of [
            "gcp:compute/instance:Instance",
            "gcp:compute/firewall:Firewall",
            "gcp:compute/attachedDisk:AttachedDisk",
            "gcp:serviceaccount/account:Account",
        ])
            assert.equal(down.ofType(t).length, 0, t);
        assert.ok(!down.rs.some((r) => r.name.endsWith("-scratch")));
        const kept = (rs: PlannedResource[]) =>
            rs
                .filter((r) => /-(backup|fixed|repair|swap)$/.test(r.name))
                .map((r) => `${r.type} ${r.name}`)
                .sort();
        assert.deepEqual(kept(down.rs), kept(live.rs));
    });

    it("device names are valid, stable for a scratch disk and new for a new one", () => {
        const a = deviceName("web-1-c4685001", "projects/p/zones/z/disks/web-1-scratch-aaaa");
        assert.match(a, /^br-[a-z0-9-]{1,59}$/);
        assert.equal(a, deviceName("web-1-c4685001", "projects/p/zones/z/disks/web-1-scratch-aaaa"));
        assert.notEqual(a, deviceName("web-1-c4685001", "projects/p/zones/z/disks/web-1-scratch-bbbb"));
        // The longest stem, of a Linux guest: still a name the agent takes (repair.sh's pattern too).
        const long = deviceName("a-very-long-instance-name-that-goes-on-and-on-7f3a1b2c", "projects/p/zones/z/disks/x", "linux");
        assert.match(long, /^br-[a-z0-9-]{1,59}$/);
        assert.match(long, /-[0-9a-f]{6}-linux$/);
        assert.ok(!/-linux$/.test(a), "a Windows disk's name never ends -linux (a hash is hex)");
    });

    it("a Linux VM's disk is attached as …-linux (the agent repairs it with the instance's Linux rule set, the stack's linuxRuleSet, in the metadata) and its boot is the Linux serial marker", async () => {
        const { run, byName, ofType } = await plan(
            inventory([{ name: "web-1" }, { name: "db-1" }]).replace(/(instance: db-1\n)/, "$1    os: linux\n"),
        );
        const [windows, linux] = run.result.plan.vms;
        assert.equal(linux.os, "linux");
        const input = (vm: string, step: string) => byName.get(`${vm}-${step}`)!.inputs as any;
        assert.match(input(linux.slug, "attach").deviceName, /^br-[a-z0-9-]+-[0-9a-f]{6}-linux$/);
        assert.match(input(windows.slug, "attach").deviceName, /^br-[a-z0-9-]+-[0-9a-f]{6}$/);
        assert.equal(input(linux.slug, "repair").environment.DEVICE_NAME, input(linux.slug, "attach").deviceName);
        const [instance] = ofType("gcp:compute/instance:Instance");
        assert.equal((instance.inputs.metadata as any)["bootloop-rescue-linux-rule-set"], "falcon-linux-2024");
        assert.equal((instance.inputs.metadata as any)["bootloop-rescue-rule-set"], "crowdstrike-291");
        assert.equal(input(linux.slug, "swap").environment.BOOT_MARKER, LINUX_BOOT_MARKER);
        assert.match(input(windows.slug, "swap").environment.BOOT_MARKER, /^Windows is ready/);
        const custom = await plan(inventory([{ name: "db-1" }]).replace(/(instance: db-1\n)/, "$1    os: linux\n"), {
            "bootloop-rescue:gcpLinuxBootMarker": "db-1 login:",
        });
        const slug = custom.run.result.plan.vms[0].slug;
        assert.equal((custom.byName.get(`${slug}-swap`)!.inputs.environment as any).BOOT_MARKER, "db-1 login:");
    });
});

describe("GCP lookups and what the inventory pins", () => {
    it("a pinned subnetwork places the zone's rescue instance; a pinned boot disk is the one backed up", async () => {
        const sub = "projects/my-project/regions/us-central1/subnetworks/rescue";
        const { ofType } = await plan(
            inventory([{ name: "web-1" }]).replace(
                "instance: web-1\n",
                `instance: web-1\n    bootDisk: web-1-os\n    subnetwork: ${sub}\n`,
            ),
        );
        assert.equal((ofType("gcp:compute/instance:Instance")[0].inputs.networkInterfaces as any[])[0].subnetwork, sub);
        assert.equal(ofType("gcp:compute/snapshot:Snapshot")[0].inputs.sourceDisk, "web-1-os");
    });

    it("refuses a pinned boot disk the instance does not boot from", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { lookUpInstance } = await import("../../components/gcp/lookups");
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) =>
                c.token.endsWith("getInstance")
                    ? { bootDisks: [{ source: "projects/p/zones/z/disks/web-1" }], networkInterfaces: [{ network: "n", subnetwork: "s" }] }
                    : { type: "pd-balanced", size: 50 },
        });
        const entry = {
            index: 0,
            cloud: "gcp",
            key: "k",
            label: "gcp x",
            slug: "s",
            strategy: "repair" as const,
            labels: {},
            fields: { project: "my-project", zone: "us-central1-a", instance: "web-1", bootDisk: "other" },
        };
        await assert.rejects(
            lookUpInstance(entry, LOOKUP_CONFIG, new RestoreListings()),
            /its boot disk is web-1, not other as the inventory says/,
        );
    });

    it("refuses an instance a managed instance group created: the group would recreate it mid-swap", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { lookUpInstance } = await import("../../components/gcp/lookups");
        const createdBy = "projects/123456789012/zones/us-central1-a/instanceGroupManagers/web-mig";
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) =>
                c.token.endsWith("getInstance")
                    ? {
                          metadata: { "created-by": createdBy },
                          bootDisks: [{ source: "projects/p/zones/z/disks/web-1" }],
                          networkInterfaces: [{ network: "n", subnetwork: "s" }],
                      }
                    : { type: "pd-balanced", size: 50 },
        });
        const entry = {
            index: 0,
            cloud: "gcp",
            key: "k",
            label: "gcp x",
            slug: "s",
            strategy: "repair" as const,
            labels: {},
            fields: { project: "my-project", zone: "us-central1-a", instance: "web-1" },
        };
        await assert.rejects(
            lookUpInstance(entry, LOOKUP_CONFIG, new RestoreListings()),
            /member of managed instance group web-mig, .*abandon it from the group/,
        );
    });
});

describe("GCP lookups of an instance an interrupted swap left without a boot disk", () => {
    const config = LOOKUP_CONFIG;
    async function lookUp(
        disks: Record<string, { labels: Record<string, string>; users?: string[] }>,
        fields: Record<string, string> = {},
    ) {
        const pulumi = await import("@pulumi/pulumi");
        const { lookUpInstance } = await import("../../components/gcp/lookups");
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) => {
                if (c.token.endsWith("getInstance")) return { bootDisks: [], networkInterfaces: [{ network: "n", subnetwork: "s" }] };
                const d = disks[c.inputs.name];
                if (!d) throw new Error(`disk ${c.inputs.name} not found`);
                return { name: c.inputs.name, type: "pd-ssd", size: 80, labels: d.labels, users: d.users ?? [] };
            },
        });
        const entry = {
            index: 0,
            cloud: "gcp",
            key: "k",
            label: "gcp x",
            slug: "s",
            labels: {},
            strategy: "repair" as const,
            fields: { project: "my-project", zone: "us-central1-a", instance: "web-1", ...fields },
        };
        return lookUpInstance(entry, config, new RestoreListings());
    }
    const detached = {
        labels: {
            "bootloop-rescue-role": "original-boot",
            "bootloop-rescue-instance": "web-1",
            "bootloop-rescue-replaced-by": "web-1-fixed",
        },
    };

    it("finds the original the swap detached and labelled, so the swap or rollback can finish", async () => {
        const resolved = await lookUp({ "web-1": detached });
        assert.equal(resolved.originalDiskId, "web-1");
        assert.equal(resolved.facts.currentBootDisk, "none");
        assert.equal(resolved.facts.diskType, "pd-ssd");
        const pinned = await lookUp({ "web-1-os": detached }, { bootDisk: "web-1-os" });
        assert.equal(pinned.originalDiskId, "web-1-os", "the inventory's bootDisk names it");
    });

    it("refuses, saying what to do, when no such disk exists, it is not ours, it is another instance's, or it is in use", async () => {
        const why =
            /it has no boot disk, and web-1 is not its original boot disk detached by bootloop-rescue \(label bootloop-rescue-role=original-boot\); if a swap was interrupted, name the original with bootDisk in the inventory/;
        await assert.rejects(lookUp({}), why);
        await assert.rejects(lookUp({ "web-1": { labels: {} } }), why);
        await assert.rejects(lookUp({ "web-1": { labels: { ...detached.labels, "bootloop-rescue-instance": "web-2" } } }), why);
        await assert.rejects(lookUp({ "web-1": { ...detached, users: ["projects/p/zones/z/instances/other"] } }), why);
    });
});

describe("GCP lookups after a swap, and of restore points", () => {
    const entry = {
        index: 0,
        cloud: "gcp",
        key: "k",
        label: "gcp x",
        slug: "s",
        labels: {},
        fields: { project: "my-project", zone: "us-central1-a", instance: "web-1" },
    };
    const config = LOOKUP_CONFIG;
    async function lookUp(
        labels: Record<string, string>,
        strategy: "repair" | "restore" = "repair",
        snapshots: unknown[] = [],
        restoreFrom?: string,
    ) {
        const pulumi = await import("@pulumi/pulumi");
        const { lookUpInstance } = await import("../../components/gcp/lookups");
        const runs: Record<string, string>[] = [];
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) => {
                if (c.token.endsWith("getInstance"))
                    return {
                        bootDisks: [{ source: "projects/p/zones/z/disks/web-1-fixed" }],
                        networkInterfaces: [{ network: "n", subnetwork: "s" }],
                    };
                if (c.token === "command:local:run") {
                    runs.push(c.inputs.environment);
                    return { stdout: JSON.stringify(snapshots), stderr: "" };
                }
                return { type: "pd-balanced", size: 50, labels };
            },
        });
        const resolved = await lookUpInstance(
            { ...entry, strategy, restoreFrom },
            config,
            new RestoreListings(),
            undefined,
            strategy === "restore" ? { before: "2024-07-19T04:09:00Z" } : undefined,
        );
        return { resolved, runs };
    }

    it("an instance booting from our fixed disk: the original is the one the fixed disk names", async () => {
        const { resolved } = await lookUp({ "bootloop-rescue-role": "fixed", "bootloop-rescue-original": "web-1" });
        assert.equal(resolved.originalDiskId, "web-1");
        assert.equal(resolved.facts.currentBootDisk, "web-1-fixed");
        await assert.rejects(lookUp({ "bootloop-rescue-role": "fixed" }), /does not name the original boot disk/);
    });

    it("strategy restore: the newest snapshot before the cutoff, as a full path; an explicit one in another project", async () => {
        const source = (disk: string) => `https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/disks/${disk}`;
        const snapshots = [
            { id: "web-1-a", createdAt: "2024-07-18T21:30:00.000-07:00", state: "ready", source: source("web-1-fixed") },
            { id: "web-1-b", createdAt: "2024-07-18T20:00:00.000-07:00", state: "ready", source: source("web-1-fixed") },
            { id: "other", createdAt: "2024-07-18T20:30:00.000-07:00", state: "ready", source: source("x-web-1-fixed") },
        ];
        assertRestoreLookup(await lookUp({}, "restore", snapshots), {
            restorePoint: { id: "projects/my-project/global/snapshots/web-1-b", createdAt: "2024-07-19T03:00:00Z" },
            why: "an instance never swapped: its current boot disk is the original; a disk whose name ends the same is another",
            listings: [{ PROJECT: "my-project", RESTORE_BEFORE: "2024-07-19T04:09:00Z", BOOTLOOP_LOOKUP: "gcp-restore-points" }],
            listingsWhy: "the project's listing: no disk named",
        });
        const named = await lookUp(
            {},
            "restore",
            [
                {
                    id: "golden",
                    createdAt: "2024-06-01T00:00:00Z",
                    state: "ready",
                    source: "https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/disks/web-1-fixed",
                },
            ],
            "projects/images-prj/global/snapshots/golden",
        );
        assert.deepEqual(named.resolved.restorePoint, {
            id: "projects/images-prj/global/snapshots/golden",
            createdAt: "2024-06-01T00:00:00Z",
        });
        assert.equal(named.runs[0].SNAPSHOT_PROJECT, "images-prj");
        assert.equal(named.runs[0].RESTORE_FROM, "golden");
        const marks = {
            "bootloop-rescue-role": "restored",
            "bootloop-rescue-original": "web-1",
            "bootloop-rescue-restored-from": "web-1-b",
            "bootloop-rescue-restore-project": "my-project",
            "bootloop-rescue-restore-point-taken": "2024-07-19t03-00-00z",
        };
        const kept = await lookUp(marks, "restore", []);
        assert.deepEqual(kept.resolved.restorePoint, {
            id: "projects/my-project/global/snapshots/web-1-b",
            createdAt: "2024-07-19T03:00:00Z",
        });
        assert.equal(kept.runs.length, 0, "an instance already on its restored disk keeps the restore point it names");
    });
});
