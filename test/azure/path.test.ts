import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Provider } from "@pulumi/azure-native/provider";
import { lookUpVm } from "../../components/azure/lookups";
import { unusableSshKey } from "../../components/azure/rescue";
import { repairScript, swapEvidence } from "../../components/azure/steps";
import { RESCUE_LIB, rescueTools } from "../../rescue/payload";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packEvidence, unpackEvidence } from "../../components/core/cloud-steps";
import { PlannedResource } from "../../components/tools/offline/capture";
import { assertRestoreLookup, planInventory } from "../helpers/lab-run";
import * as zlib from "zlib";
import { RestoreListings } from "../../components/core/restore-listings";

const SUB = "11111111-2222-3333-4444-555555555555";
const SUB2 = "99999999-2222-3333-4444-555555555555";

function inventory(vms: { name: string; sub?: string; zone?: string; extra?: string }[]): string {
    return (
        "vms:\n" +
        vms
            .map(
                (v) =>
                    `  - cloud: azure\n    subscriptionId: ${v.sub ?? SUB}\n    resourceGroup: rg-app\n    vmName: ${v.name}\n    location: eastus2\n    zone: ${v.zone ?? "1"}\n${v.extra ?? ""}`,
            )
            .join("")
    );
}

const plan = planInventory;

describe("Azure path under Pulumi mocks", () => {
    it("declares the chain per VM: snapshot, scratch disk, attach, Run Command, fixed disk, swap", async () => {
        const { run, byName } = await plan(inventory([{ name: "app-01" }]));
        const slug = run.result.plan.vms[0].slug;
        const steps: [string, string][] = [
            ["backup", "azure-native:compute:Snapshot"],
            ["scratch", "azure-native:compute:Disk"],
            ["attach", "command:local:Command"],
            ["repair", "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"],
            ["fixed", "azure-native:compute:Disk"],
            ["swap", "command:local:Command"],
        ];
        const zone = byName.get(`${slug}-backup`)!.parent!;
        for (const [i, [step, type]] of steps.entries()) {
            const r = byName.get(`${slug}-${step}`)!;
            assert.equal(r.type, type, step);
            assert.equal(r.parent, zone);
            if (i > 0) assert.ok(r.dependsOn.includes(`${slug}-${steps[i - 1][0]}`), `${step} depends on ${steps[i - 1][0]}`);
        }
        const repair = byName.get(`${slug}-repair`)!;
        assert.equal(repair.inputs.treatFailureAsDeploymentFailure, true);
        assert.equal(repair.inputs.asyncExecution, false);
        assert.deepEqual(
            (repair.inputs.parameters as any[]).map((p) => `${p.name}=${p.value}`),
            ["DISK_HANDLE=0"],
        );
        assert.match((repair.inputs.source as any).script, /exec \/usr\/local\/lib\/bootloop-rescue\/on-rescue\.sh/);
        assert.equal((byName.get(`${slug}-backup`)!.inputs as any).incremental, true);
    });

    it("copies what the swap needs to every disk: generation, security type, SKU, zone; keeps backup and fixed disk", async () => {
        const { run, byName, rs } = await plan(inventory([{ name: "app-01" }]));
        const slug = run.result.plan.vms[0].slug;
        for (const step of ["backup", "scratch", "fixed"]) {
            const i = byName.get(`${slug}-${step}`)!.inputs as any;
            assert.equal(i.hyperVGeneration, "V2", step);
            assert.equal(i.osType, "Windows", step);
            assert.deepEqual(i.securityProfile, { securityType: "TrustedLaunch" }, step);
        }
        for (const step of ["scratch", "fixed"]) {
            const i = byName.get(`${slug}-${step}`)!.inputs as any;
            assert.deepEqual(i.sku, { name: "Premium_LRS" });
            assert.deepEqual(i.zones, ["1"]);
        }
        assert.deepEqual(
            rs
                .filter((r) => r.retainOnDelete)
                .map((r) => r.name.replace(`${slug}-`, ""))
                .sort(),
            ["backup", "fixed"],
        );
    });

    it("rescue VMs: no public IP, an NSG whose only inbound rule denies all, no password, data disks left to the attach commands", async () => {
        const { ofType } = await plan(inventory([{ name: "app-01" }]));
        const [nic] = ofType("azure-native:network:NetworkInterface");
        assert.ok((nic.inputs.ipConfigurations as any[]).every((c) => !c.publicIPAddress));
        const [nsg] = ofType("azure-native:network:NetworkSecurityGroup");
        const inbound = (nsg.inputs.securityRules as any[]).filter((r) => r.direction === "Inbound");
        assert.deepEqual(
            inbound.map((r) => [r.access, r.sourceAddressPrefix, r.destinationPortRange]),
            [["Deny", "*", "*"]],
        );
        const [vm] = ofType("azure-native:compute:VirtualMachine");
        const linux = (vm.inputs.osProfile as any).linuxConfiguration;
        assert.equal(linux.disablePasswordAuthentication, true);
        assert.equal((vm.inputs.osProfile as any).adminPassword, undefined);
        assert.equal(linux.ssh.publicKeys[0].keyData, unusableSshKey());
        assert.equal((vm.inputs.hardwareProfile as any).vmSize, "Standard_D4s_v5", "8 disks per rescue VM by default");
        assert.match(Buffer.from(String((vm.inputs.osProfile as any).customData), "base64").toString(), /ntfs-3g/);
        // Pinned for the life of the pool: a new image or cloud-init never replaces a rescue VM with repairs in flight.
        assert.deepEqual(vm.ignoreChanges, ["storageProfile.dataDisks", "storageProfile.imageReference", "osProfile.customData"]);
    });

    it("allocates distinct LUNs per rescue VM and pools per zone", async () => {
        const vms = [...Array(10).keys()].map((i) => ({ name: `app-${i}`, zone: "1" })).concat([{ name: "web-1", zone: "2" }]);
        const { ofType, run } = await plan(inventory(vms));
        assert.equal(ofType("azure-native:compute:VirtualMachine").length, 3, "10 disks in zone 1 at 8 per rescue VM → 2, zone 2 → 1");
        const seats = ofType("command:local:Command")
            .filter((c) => c.name.endsWith("-attach"))
            .map((c) => `${(c.inputs.environment as any).RESCUE_VM_ID}#${(c.inputs.environment as any).LUN}`);
        assert.equal(new Set(seats).size, 11);
        assert.deepEqual(
            run.result.plan.rescuePools.map((p) => p.placement.zone),
            ["1", "2"],
        );
    });

    it("spans subscriptions with a provider each", async () => {
        const { ofType } = await plan(inventory([{ name: "app-01" }, { name: "app-02", sub: SUB2 }]));
        assert.deepEqual(
            ofType("pulumi:providers:azure-native")
                .map((p) => p.inputs.subscriptionId)
                .sort(),
            [SUB, SUB2],
        );
    });

    it("gates the second wave on the canary's verified boot", async () => {
        const { run, byName } = await plan(inventory([{ name: "app-01" }, { name: "app-02" }]));
        const [canary, second] = run.result.plan.waves.map((w) => run.result.plan.vms.find((v) => v.key === w.vms[0])!.slug);
        assert.deepEqual(byName.get("wave-1-gate")!.dependsOn, [`${canary}-swap`]);
        assert.deepEqual(byName.get(`${second}-backup`)!.dependsOn, ["wave-1-gate"]);
    });

    it("teardown: no rescue VM, NIC, NSG, scratch disk, attachment or Run Command; backup, fixed disk and swap (with the evidence) stay", async () => {
        const inv = inventory([{ name: "app-01" }, { name: "app-02" }]);
        const live = await plan(inv);
        const down = await plan(inv, { "bootloop-rescue:teardown": "true" });
        const types = new Set(down.rs.map((r) => r.type));
        for (const t of [
            "azure-native:compute:VirtualMachine",
            "azure-native:network:NetworkInterface",
            "azure-native:network:NetworkSecurityGroup",
            "azure-native:compute:VirtualMachineRunCommandByVirtualMachine",
        ])
            assert.ok(!types.has(t), t);
        assert.ok(!down.rs.some((r) => /-(scratch|attach)$/.test(r.name)));
        const kept = (rs: PlannedResource[]) =>
            rs
                .filter((r) => /-(backup|fixed|swap)$/.test(r.name))
                .map((r) => `${r.type} ${r.name}`)
                .sort();
        assert.deepEqual(kept(down.rs), kept(live.rs));
        const fixed = down.rs.find((r) => r.name.endsWith("-fixed"))!;
        assert.deepEqual(
            fixed.dependsOn.filter((d) => d.endsWith("-backup")).length,
            1,
            "without a repair step, the fixed disk follows the backup",
        );
    });

    it("the swap reads the evidence back from the repair Run Command (kept in its output, not an input); the tools travel once per rescue VM", async () => {
        const { run, byName } = await plan(inventory([{ name: "app-01" }, { name: "app-02" }]));
        const vm = run.result.plan.vms[0];
        const env = byName.get(`${vm.slug}-swap`)!.inputs.environment as Record<string, string>;
        assert.equal(env.REPAIR_RUN_COMMAND_ID, `${vm.slug}-repair-id`, "the repair Run Command's id (offline: the mocks' placeholder)");
        assert.ok(!("EVIDENCE" in env), "the evidence is no input: state would keep it twice");
        assert.ok(byName.get(`${vm.slug}-swap`)!.ignoreChanges.includes("environment"), "kept as first written");
        const runCommands = run.resources!.filter((r) => r.type.endsWith("VirtualMachineRunCommandByVirtualMachine"));
        const tools = runCommands.filter((r) => r.name.endsWith("-tools"));
        assert.equal(tools.length, 1, "one tools Run Command for the one rescue VM");
        assert.ok(String((tools[0].inputs.source as { script: string }).script).length > 10_000, "the tools travel there");
        for (const r of runCommands.filter((x) => x.name.endsWith("-repair"))) {
            assert.ok(String((r.inputs.source as { script: string }).script).length < 300, `${r.name} carries only a few lines`);
            assert.ok(r.dependsOn.includes(tools[0].name), `${r.name} waits for the tools`);
        }
    });

    it("passes a BitLocker recovery password only as a protected parameter, a secret", async () => {
        const key = "000000-111111-222222-333333-444444-555555-666666-000011";
        const { rs } = await plan(
            inventory([{ name: "app-01", extra: "    bitlockerKey: app01-key\n" }]),
            { "bootloop-rescue:app01-key": key },
            ["bootloop-rescue:app01-key"],
        );
        const repair = rs.find((r) => r.type.endsWith("VirtualMachineRunCommandByVirtualMachine") && r.name.endsWith("-repair"))!;
        assert.deepEqual(repair.inputs.protectedParameters, [{ name: "BITLOCKER_KEY", value: "[secret]" }]);
        assert.ok(!JSON.stringify(rs).includes("333333"), "the key appears nowhere in the plan");
    });

    it("the repair Run Command's script runs on-rescue.sh for a LUN with the stack's rule set, packed, asking for this version of the tools", async () => {
        const lib = fs.mkdtempSync(path.join(os.tmpdir(), "rescue-lib-"));
        try {
            // on-rescue.sh refuses other versions (its own test); here, what the script hands it.
            fs.writeFileSync(
                path.join(lib, "on-rescue.sh"),
                '#!/bin/sh\necho "$TOOLS_VERSION $DISK_HANDLE_KIND $DISK_HANDLE $EVIDENCE_ENCODING $RULE_SET"\n',
                { mode: 0o755 },
            );
            const script = repairScript("crowdstrike-291-txr").split(RESCUE_LIB).join(lib);
            const ok = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH, DISK_HANDLE: "7" } });
            assert.equal(ok.status, 0, ok.stderr);
            assert.equal(ok.stdout, `${rescueTools().version} azure-lun 7 gzip-base64 crowdstrike-291-txr\n`);
        } finally {
            fs.rmSync(lib, { recursive: true, force: true });
        }
        const { rs } = await plan(inventory([{ name: "app-01" }]), { "bootloop-rescue:ruleSet": "crowdstrike-291-txr" });
        const repair = rs.find((r) => r.type.endsWith("VirtualMachineRunCommandByVirtualMachine") && r.name.endsWith("-repair"))!;
        assert.equal(
            (repair.inputs.source as { script: string }).script,
            repairScript("crowdstrike-291-txr"),
            "the stack's ruleSet reaches the Run Command",
        );
    });

    it("a Linux VM's repair Run Command runs the stack's linuxRuleSet, a Windows VM's beside it its ruleSet; its swap waits for the VM agent, as a Windows VM's does", async () => {
        const { rs } = await plan(inventory([{ name: "app-01" }, { name: "db-01", extra: "    os: linux\n" }]), {
            "bootloop-rescue:ruleSet": "crowdstrike-291-txr",
        });
        const script = (vm: string) =>
            (
                rs.find(
                    (r) =>
                        r.type.endsWith("VirtualMachineRunCommandByVirtualMachine") && r.name.startsWith(vm) && r.name.endsWith("-repair"),
                )!.inputs.source as { script: string }
            ).script;
        assert.equal(script("db-01"), repairScript("falcon-linux-2024"));
        assert.equal(script("app-01"), repairScript("crowdstrike-291-txr"));
        assert.match(script("db-01"), / RULE_SET=falcon-linux-2024 exec /);
        // Its disks are Linux disks (Azure boots an OS disk by its osType).
        for (const step of ["backup", "fixed"]) {
            const disk = rs.find((r) => r.name.startsWith("db-01") && r.name.endsWith(`-${step}`))!;
            assert.equal((disk.inputs as { osType: string }).osType, "Linux", step);
        }
        // The boot signal on Azure is the VM agent (Windows and Linux alike): no marker in the swap.
        const swap = rs.find((r) => r.name.startsWith("db-01") && r.name.endsWith("-swap"))!;
        assert.ok(!("BOOT_MARKER" in (swap.inputs.environment as object)));
    });

    it("takes the evidence from after the swap's report; a swap of an earlier version keeps it in its environment", () => {
        const evidence = JSON.stringify({ outcome: "repaired", volumes: [] });
        const report = JSON.stringify({ status: "recovered" });
        assert.equal(swapEvidence(`${report}\n${packEvidence(evidence)}`, { VM_NAME: "app-01" }), evidence);
        assert.equal(swapEvidence(report, { VM_NAME: "app-01", EVIDENCE: packEvidence(evidence) }), evidence);
        assert.equal(
            JSON.parse(swapEvidence(report, { VM_NAME: "app-01" })).outcome,
            "unknown",
            "never the report in place of the evidence",
        );
        assert.equal(JSON.parse(swapEvidence("", undefined)).outcome, "unknown");
    });

    it("decodes the evidence the Run Command printed, plain or gzip-base64, and says when it is truncated", () => {
        const evidence = JSON.stringify({ outcome: "repaired" });
        assert.equal(unpackEvidence(`noise\n${evidence}\n`), evidence);
        assert.equal(unpackEvidence(`gzip-base64:${zlib.gzipSync(evidence).toString("base64")}`), evidence);
        assert.match(unpackEvidence("gzip-base64:H4sIAAAA"), /"outcome":"unknown".*truncated/);
        assert.equal(unpackEvidence(packEvidence(evidence)), evidence);
        assert.equal(packEvidence(evidence), packEvidence(evidence), "the same bytes on every run");
    });
});

describe("Azure lookups refuse what the swap cannot handle, before anything is declared", () => {
    const entry = {
        index: 0,
        cloud: "azure",
        fields: { subscriptionId: SUB, resourceGroup: "rg", vmName: "vm1" },
        key: "k",
        label: "azure rg/vm1",
        slug: "vm1-x",
        strategy: "repair" as const,
        labels: {},
    };
    async function lookUp(vm: Record<string, unknown>, fields: Record<string, string> = {}, os?: "linux", diskAnswer: object = {}) {
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) => {
                if (c.token.endsWith("getVirtualMachine")) return vm;
                if (c.token.endsWith("getDisk")) return { sku: { name: "Premium_LRS" }, hyperVGeneration: "V2", ...diskAnswer };
                return {
                    ipConfigurations: [
                        { subnet: { id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s" } },
                    ],
                };
            },
        });
        const provider = new Provider("p", {});
        return lookUpVm(
            { ...entry, ...(os ? { os } : {}), fields: { ...entry.fields, ...fields } },
            provider,
            { rescueImage: { publisher: "", offer: "", sku: "", version: "" }, rescueSubnetIds: {}, tags: {} },
            new RestoreListings(),
        );
    }
    const disk = { osType: "Windows", managedDisk: { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/os` } };
    const nic = {
        networkInterfaces: [{ id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic` }],
    };

    it("a pinned subnet is where the zone's rescue VM goes", async () => {
        const subnet = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/rescue`;
        const r = await lookUp({ location: "eastus2", storageProfile: { osDisk: disk }, networkProfile: nic }, { subnetId: subnet });
        assert.equal(r.facts.subnetId, subnet);
    });

    it("finds placement and facts of a good VM", async () => {
        const r = await lookUp({ location: "eastus2", zones: ["2"], storageProfile: { osDisk: disk }, networkProfile: nic });
        assert.deepEqual(r.placement, { scope: SUB, region: "eastus2", zone: "2" });
        assert.equal(r.originalDiskId, disk.managedDisk.id);
    });

    it("a Linux VM is looked up when its entry says os: linux; a Windows one under os: linux, or one with Azure Disk Encryption, is refused", async () => {
        const linuxDisk = { ...disk, osType: "Linux" };
        const r = await lookUp({ location: "eastus2", storageProfile: { osDisk: linuxDisk }, networkProfile: nic }, {}, "linux");
        assert.equal(r.originalDiskId, disk.managedDisk.id);
        await assert.rejects(
            lookUp({ location: "eastus2", storageProfile: { osDisk: disk }, networkProfile: nic }, {}, "linux"),
            /runs Windows, not Linux as its entry's os: linux says/,
        );
        await assert.rejects(
            lookUp({ location: "eastus2", storageProfile: { osDisk: linuxDisk }, networkProfile: nic }, {}, "linux", {
                encryptionSettingsCollection: {
                    enabled: true,
                    encryptionSettings: [
                        {
                            diskEncryptionKey: {
                                secretUrl: "https://kv.vault.azure.net/secrets/s/1",
                                sourceVault: { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv` },
                            },
                        },
                    ],
                },
            }),
            /Azure Disk Encryption \(dm-crypt on Linux\)/,
        );
    });

    for (const [name, vm, fields, message] of [
        [
            "a scale set member",
            {
                location: "eastus2",
                virtualMachineScaleSet: {
                    id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss`,
                },
                storageProfile: { osDisk: disk },
                networkProfile: nic,
            },
            {},
            /member of scale set web-vmss, which would replace it while its OS disk is swapped; remove it from the scale set/,
        ],
        [
            "a confidential VM",
            {
                location: "eastus2",
                securityProfile: { securityType: "ConfidentialVM" },
                storageProfile: { osDisk: disk },
                networkProfile: nic,
            },
            {},
            /confidential VM/,
        ],
        [
            "an ephemeral OS disk",
            { location: "eastus2", storageProfile: { osDisk: { ...disk, diffDiskSettings: { option: "Local" } } }, networkProfile: nic },
            {},
            /ephemeral OS disk/,
        ],
        [
            "an unmanaged OS disk",
            { location: "eastus2", storageProfile: { osDisk: { osType: "Windows", vhd: { uri: "https://x" } } }, networkProfile: nic },
            {},
            /not a managed disk/,
        ],
        [
            "a Linux VM",
            { location: "eastus2", storageProfile: { osDisk: { ...disk, osType: "Linux" } }, networkProfile: nic },
            {},
            /runs Linux, not Windows/,
        ],
        [
            "a VM elsewhere than the inventory says",
            { location: "westeurope", storageProfile: { osDisk: disk }, networkProfile: nic },
            { location: "eastus2" },
            /in westeurope, not in eastus2/,
        ],
        [
            "an OS disk other than the inventory pins",
            { location: "eastus2", storageProfile: { osDisk: disk }, networkProfile: nic },
            { osDiskId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/other` },
            /its OS disk is .*\/os, not .*\/other as the inventory says/,
        ],
    ] as const) {
        it(`refuses ${name}`, async () => {
            await assert.rejects(lookUp(vm, fields), message);
        });
    }
});

describe("Azure lookups after a swap, and of restore points", () => {
    const disk = (n: string) => `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/${n}`;
    const snap = (n: string) => `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/${n}`;
    const entry = {
        index: 0,
        cloud: "azure",
        fields: { subscriptionId: SUB, resourceGroup: "rg", vmName: "vm1" },
        key: "k",
        label: "azure rg/vm1",
        slug: "vm1-x",
        labels: {},
    };
    async function lookUp(diskTags: Record<string, string>, strategy: "repair" | "restore" = "repair", snapshots: unknown[] = []) {
        const runs: Record<string, string>[] = [];
        await pulumi.runtime.setMocks({
            newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
            call: (c) => {
                if (c.token.endsWith("getVirtualMachine"))
                    return {
                        location: "eastus2",
                        storageProfile: { osDisk: { osType: "Windows", managedDisk: { id: disk("vm1-fixed") } } },
                        networkProfile: {
                            networkInterfaces: [
                                { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic` },
                            ],
                        },
                    };
                if (c.token.endsWith("getDisk")) return { sku: { name: "Premium_LRS" }, tags: diskTags };
                if (c.token === "command:local:run") {
                    runs.push(c.inputs.environment);
                    return { stdout: JSON.stringify(snapshots), stderr: "" };
                }
                return {
                    ipConfigurations: [
                        { subnet: { id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s" } },
                    ],
                };
            },
        });
        const config = { rescueImage: { publisher: "", offer: "", sku: "", version: "" }, rescueSubnetIds: {}, tags: {} };
        const resolved = await lookUpVm(
            { ...entry, strategy },
            new Provider("p", {}),
            config,
            new RestoreListings(),
            strategy === "restore" ? { before: "2024-07-19T04:09:00Z" } : undefined,
        );
        return { resolved, runs };
    }

    it("a VM running on our fixed disk: the original is the one the fixed disk names", async () => {
        const { resolved } = await lookUp({ "bootloop-rescue-role": "fixed", "bootloop-rescue-original": disk("vm1_OsDisk") });
        assert.equal(resolved.originalDiskId, disk("vm1_OsDisk"));
        assert.equal(resolved.facts.currentOsDiskId, disk("vm1-fixed"));
        await assert.rejects(lookUp({ "bootloop-rescue-role": "fixed" }), /does not name the original OS disk/);
    });

    it("strategy restore: the newest snapshot of the original before the cutoff", async () => {
        const found = await lookUp({ "bootloop-rescue-role": "restored", "bootloop-rescue-original": disk("vm1_OsDisk") }, "restore", [
            { id: snap("a"), createdAt: "2024-07-18T23:00:00+00:00", state: "ready", source: disk("VM1_OSDISK") },
            { id: snap("b"), createdAt: "2024-07-19T04:30:00+00:00", state: "ready", source: disk("vm1_OsDisk") },
            { id: snap("c"), createdAt: "2024-07-19T01:00:00+00:00", state: "ready", source: disk("vm2_OsDisk") },
        ]);
        assertRestoreLookup(found, {
            restorePoint: { id: snap("a"), createdAt: "2024-07-18T23:00:00Z" },
            why: "of the original (its id in any case), even after a swap: another disk's newer snapshot is not its",
            listings: [{ SUBSCRIPTION_ID: SUB, RESTORE_BEFORE: "2024-07-19T04:09:00Z", BOOTLOOP_LOOKUP: "azure-restore-points" }],
            listingsWhy: "the subscription's listing: no disk named",
        });
        const kept = await lookUp(
            {
                "bootloop-rescue-role": "restored",
                "bootloop-rescue-original": disk("vm1_OsDisk"),
                "bootloop-rescue-restored-from": snap("a"),
                "bootloop-rescue-restore-point-taken": "2024-07-18t23-00-00z",
            },
            "restore",
            [],
        );
        assert.deepEqual(kept.resolved.restorePoint, { id: snap("a"), createdAt: "2024-07-18T23:00:00Z" });
        assert.equal(kept.runs.length, 0, "a VM already on its restored disk keeps the restore point it names");
    });
});
