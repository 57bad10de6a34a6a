// The sandbox's stand-in azure-native provider driven directly (no engine) on a world seeded from a
// small inventory: each resource type lands in the world where the stand-in az sees it, copies keep
// whether their source boots, the repair Run Command repairs the disk at its LUN (and the real swap
// script then recovers the VM), diffs ask for replacement only on the replaceOn properties, deletes
// refuse what Azure refuses, lookups answer from the world or fail as Resource Manager does. And a
// world seeded from stacks/dev.yaml answers every lookup the program makes for its Azure VMs.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import Ajv from "ajv";
import * as pulumi from "@pulumi/pulumi";
import { Provider } from "@pulumi/azure-native/provider";
import { lookUpVm } from "../../components/azure/lookups";
import { readAzureConfig } from "../../components/azure/config";
import { toolsScript } from "../../components/azure/rescue";
import { repairScript } from "../../components/azure/steps";
import { VmEntry } from "../../components/core/contract/vm";
import { NAMESPACE } from "../../components/core/contract/settings";
import { inventoryContext } from "../../components/core/inventory/context";
import { parseYamlInventory, readInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { DEFAULT_RESTORE_BEFORE } from "../../components/core/settings";
import { builtClouds, identities } from "../../components/registry/inventory";
import { configSourceOf, readStackConfig } from "../../components/tools/offline/stack-config";
import { azureStandIn } from "../../sandbox/providers/azure";
import { providerOf } from "../../sandbox/providers/host";
import { seedAzureWorld } from "../../sandbox/world/azure-seed";
import { readWorld } from "../../sandbox/world/world-file";
import { planInventory } from "../helpers/lab-run";
import { PROJECT_DIR, withStandInEnv } from "../helpers/stand-in";
import { STAND_IN, run as runScript } from "../azure/run-script";
import { RestoreListings } from "../../components/core/restore-listings";

const SUB = "11111111-2222-3333-4444-555555555555";
const RG = "rg-app";
const INVENTORY = [
    "vms:",
    ...["app-01", "app-02", "app-03"].flatMap((name) => [
        "  - cloud: azure",
        `    subscriptionId: ${SUB}`,
        `    resourceGroup: ${RG}`,
        `    vmName: ${name}`,
        "    location: eastus2",
        "    zone: 1",
        ...(name === "app-02" ? ["    diskEncryption: ade"] : name === "app-03" ? ["    strategy: restore"] : []),
    ]),
    "",
].join("\n");

const noConfig = { get: () => undefined, kind: () => "missing" as const };
const entries = (text: string): VmEntry[] =>
    validateInventory(parseYamlInventory("inv.yaml", text), inventoryContext(identities, builtClouds, noConfig));

const provider = providerOf(azureStandIn);
const urn = (type: string, name: string) => `urn:pulumi:sbx::bootloop-rescue::${type}::${name}`;
const T = {
    snapshot: "azure-native:compute:Snapshot",
    disk: "azure-native:compute:Disk",
    vm: "azure-native:compute:VirtualMachine",
    run: "azure-native:compute:VirtualMachineRunCommandByVirtualMachine",
    nic: "azure-native:network:NetworkInterface",
    nsg: "azure-native:network:NetworkSecurityGroup",
};
const diskId = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/${name}`;
const vmId = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`;
const SUBNET = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet-eastus2/subnets/default`;

let file = "";
const world = () => readWorld(file);
/** The stand-in az run on the world file; its JSON answer (or text), exit code and stderr. */
function az(...args: string[]) {
    const r = spawnSync(path.join(STAND_IN, "az"), args, {
        encoding: "utf8",
        env: { ...process.env, FAKE_AZ_STATE: file, FAKE_AZ_LOG: `${file}.log` },
    });
    let json: any;
    try {
        json = JSON.parse(r.stdout);
    } catch {
        json = undefined;
    }
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** The original OS disk of a seeded VM (as the world's VM names it). */
const originalOf = (name: string): string => world().vms[`${RG}/${name}`].osDisk;

const create = (type: string, name: string, inputs: Record<string, unknown>) => provider.create!(urn(type, name), inputs);

/** A rescue VM in the seeded subnet, with its security group and interface; its id and the NIC's. */
async function rescueVm(name = "rescue-azure-test-1") {
    const nsg = await create(T.nsg, `${name}-nsg`, { resourceGroupName: RG, location: "eastus2", securityRules: [] });
    const nic = await create(T.nic, `${name}-nic`, {
        resourceGroupName: RG,
        location: "eastus2",
        ipConfigurations: [{ name: "ipconfig", subnet: { id: SUBNET }, privateIPAllocationMethod: "Dynamic" }],
        networkSecurityGroup: { id: nsg.id },
    });
    const vm = await create(T.vm, name, {
        resourceGroupName: RG,
        vmName: name,
        location: "eastus2",
        zones: ["1"],
        hardwareProfile: { vmSize: "Standard_D2s_v5" },
        storageProfile: {
            imageReference: { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" },
            osDisk: { createOption: "FromImage", managedDisk: { storageAccountType: "StandardSSD_LRS" }, deleteOption: "Delete" },
        },
        osProfile: { computerName: name, adminUsername: "rescue", linuxConfiguration: { disablePasswordAuthentication: true } },
        networkProfile: { networkInterfaces: [{ id: nic.id, primary: true, deleteOption: "Delete" }] },
        diagnosticsProfile: { bootDiagnostics: { enabled: true } },
        tags: { "bootloop-rescue-role": "rescue" },
    });
    return { name, vm, nic, nsg };
}

/** A copy of `source` (a disk or snapshot id) as the chain makes its disks. */
const copy = (name: string, source: string, tags: Record<string, string> = {}) =>
    create(T.disk, name, {
        resourceGroupName: RG,
        location: "eastus2",
        zones: ["1"],
        sku: { name: "Premium_LRS" },
        creationData: { createOption: "Copy", sourceResourceId: source },
        osType: "Windows",
        hyperVGeneration: "V2",
        tags,
    });
const backupOf = (vm: string) =>
    create(T.snapshot, `${vm}-bk`, {
        resourceGroupName: RG,
        location: "eastus2",
        creationData: { createOption: "Copy", sourceResourceId: originalOf(vm) },
        incremental: true,
    });

/** A Run Command on the rescue VM `vm`. */
const runCommand = (vm: string, name: string, script: string, parameters: { name: string; value: string }[] = [], extra = {}) =>
    create(T.run, name, {
        resourceGroupName: RG,
        vmName: vm,
        location: "eastus2",
        source: { script },
        parameters,
        asyncExecution: false,
        treatFailureAsDeploymentFailure: true,
        timeoutInSeconds: 3600,
        ...extra,
    });

/** The repair's evidence document from the output the CLI shows (the last line, gzip-base64). */
function evidenceOf(output: string): any {
    const line = output.trim().split("\n").pop()!;
    assert.match(line, /^gzip-base64:/);
    return JSON.parse(zlib.gunzipSync(Buffer.from(line.slice("gzip-base64:".length), "base64")).toString());
}

describe("sandbox: the stand-in azure-native provider", function () {
    const saved = { state: process.env.FAKE_AZ_STATE, log: process.env.FAKE_AZ_LOG };
    beforeEach(() => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "az-provider-"));
        file = path.join(dir, "world.json");
        fs.writeFileSync(file, JSON.stringify(seedAzureWorld(entries(INVENTORY))));
        fs.writeFileSync(`${file}.log`, "");
        process.env.FAKE_AZ_STATE = file;
        process.env.FAKE_AZ_LOG = `${file}.log`;
    });
    after(() => {
        for (const [k, v] of [
            ["FAKE_AZ_STATE", saved.state],
            ["FAKE_AZ_LOG", saved.log],
        ] as const)
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
    });

    it("seeds each VM running and boot-looping on its original OS disk, the same world for the same inventory", () => {
        assert.deepEqual(seedAzureWorld(entries(INVENTORY)), world(), "deterministic");
        for (const name of ["app-01", "app-02", "app-03"]) {
            const v = world().vms[`${RG}/${name}`];
            assert.equal(v.power, "running");
            assert.equal(world().disks[v.osDisk.toLowerCase()].boots, false);
            assert.equal(world().disks[v.osDisk.toLowerCase()].attachedTo, `${RG}/${name}`);
        }
        // The CLI watches it: running, but the agent never turns Ready.
        for (let i = 0; i < 4; i++) {
            const view = az("vm", "get-instance-view", "--ids", vmId("app-01")).json;
            assert.deepEqual(
                view.instanceView.statuses.map((s: { code: string }) => s.code),
                ["ProvisioningState/succeeded", "PowerState/running"],
            );
            assert.equal(view.instanceView.vmAgent, undefined);
        }
        // Strategy restore: a backup from before the incident and one from after, both of the original.
        const listed = az("snapshot", "list", "--subscription", SUB).json;
        assert.deepEqual(
            listed.map((s: any) => [s.id.split("/").pop(), s.timeCreated.slice(0, 10), s.creationData.sourceResourceId]),
            [
                ["app-03-nightly-20240718", "2024-07-18", originalOf("app-03")],
                ["app-03-nightly-20240719", "2024-07-19", originalOf("app-03")],
            ],
        );
    });

    it("a backup snapshot is Creating while the provider waits, then Succeeded; the CLI sees both, and its source", async () => {
        const pending = backupOf("app-01");
        const id = Object.keys(world().snapshots).find((k) => k.includes("/snapshots/app-01-bk"))!;
        assert.match(
            id,
            new RegExp(`^/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft\\.Compute/snapshots/app-01-bk[0-9a-f]{8}$`),
        );
        assert.equal(az("snapshot", "show", "--ids", id).json.provisioningState, "Creating");
        const made = await pending;
        assert.equal(made.id, id);
        assert.equal(made.outs.provisioningState, "Succeeded");
        const shown = az("snapshot", "show", "--ids", id).json;
        assert.equal(shown.provisioningState, "Succeeded");
        assert.equal(shown.creationData.sourceResourceId, originalOf("app-01"));
        assert.equal(world().snapshots[id].boots, false, "a backup of the original does not boot");
    });

    it("a disk copied from a snapshot keeps whether it boots, and carries its tags where the CLI reads them", async () => {
        const backup = await backupOf("app-03");
        const disk = await copy("app-03-copy", backup.id, { "bootloop-rescue-role": "scratch" });
        assert.match(disk.id, /\/providers\/Microsoft\.Compute\/disks\/app-03-copy[0-9a-f]{8}$/);
        assert.equal(world().disks[disk.id.toLowerCase()].boots, false);
        assert.deepEqual(az("disk", "show", "--ids", disk.id).json, { id: disk.id, tags: { "bootloop-rescue-role": "scratch" } });
        const good = Object.keys(world().snapshots).find((k) => k.endsWith("-nightly-20240718"))!;
        const restored = await copy("app-03-restored", good);
        assert.equal(world().disks[restored.id.toLowerCase()].boots, true, "the backup from before the incident boots");
        await assert.rejects(copy("x", diskId("nope")), /ERROR CODE: NotFound[\s\S]*Resource nope is not found/);
        await assert.rejects(
            create(T.disk, "y", { resourceGroupName: "rg-none", creationData: { createOption: "Copy", sourceResourceId: backup.id } }),
            /ERROR CODE: ResourceGroupNotFound[\s\S]*Resource group 'rg-none' could not be found/,
        );
    });

    it("a rescue VM in the VM's subnet starts, then runs with its agent Ready; the CLI shows it; in-use network pieces cannot go", async () => {
        const r = await rescueVm();
        assert.equal(r.vm.id, vmId(r.name));
        assert.equal(r.vm.outs.name, r.name, "the tools Run Command names the VM by this output");
        const v = world().vms[`${RG}/${r.name}`];
        assert.deepEqual([v.power, v.agent, v.osType], ["running", "Ready", "Linux"]);
        assert.equal(world().disks[v.osDisk.toLowerCase()].boots, true);
        assert.deepEqual(az("vm", "show", "--ids", r.vm.id).json.storageProfile.osDisk.managedDisk, { id: v.osDisk });
        assert.equal(world().networkInterfaces[r.nic.id.toLowerCase()].virtualMachine, r.vm.id);
        await assert.rejects(
            provider.delete!(r.nic.id, urn(T.nic, `${r.name}-nic`), r.nic.outs),
            /ERROR CODE: NicInUse[\s\S]*is used by existing resource/,
        );
        await assert.rejects(
            provider.delete!(r.nsg.id, urn(T.nsg, `${r.name}-nsg`), r.nsg.outs),
            /ERROR CODE: InUseNetworkSecurityGroupCannotBeDeleted[\s\S]*in use by the following resources/,
        );
        await assert.rejects(
            create(T.nic, "stray-nic", {
                resourceGroupName: RG,
                location: "eastus2",
                ipConfigurations: [{ subnet: { id: `${SUBNET}x` } }],
            }),
            /ERROR CODE: InvalidResourceReference[\s\S]*subnets\/defaultx referenced by resource/,
        );
        await assert.rejects(rescueVm(), /cannot create already existing resource/);
    });

    it("the repair runs only after the tools, repairs the disk at its LUN, and the fixed disk made from it boots: the real swap recovers the VM", async () => {
        const r = await rescueVm();
        const backup = await backupOf("app-01");
        const scratch = await copy("app-01-scratch", backup.id);
        assert.equal(
            az("vm", "disk", "attach", "--subscription", SUB, "-g", RG, "--vm-name", r.name, "--name", scratch.id, "--lun", "3").code,
            0,
        );
        const repair = (name: string) => runCommand(r.name, name, repairScript("crowdstrike-291"), [{ name: "DISK_HANDLE", value: "3" }]);

        await assert.rejects(
            repair("app-01-early"),
            /ERROR CODE: VMExtensionProvisioningError[\s\S]*exit code 6: bootloop-rescue: rescue tools [0-9a-f]{16} are not installed/,
        );
        assert.equal(world().disks[scratch.id.toLowerCase()].boots, false, "nothing repaired without the tools");

        await runCommand(r.name, `${r.name}-tools`, toolsScript());
        const made = await repair("app-01-fix");
        assert.equal(made.id, `${vmId(r.name)}/runCommands/app-01-fix`);
        assert.equal(made.outs.instanceView, undefined, "the evidence stays out of the Run Command's state");
        assert.equal(world().disks[scratch.id.toLowerCase()].boots, true, "the repaired disk boots");

        // What the swap reads back: the CLI's instance view, the evidence a valid repair-disk document.
        const view = az(
            "vm",
            "run-command",
            "show",
            "--subscription",
            SUB,
            "-g",
            RG,
            "--vm-name",
            r.name,
            "--run-command-name",
            "app-01-fix",
            "--instance-view",
        );
        assert.deepEqual([view.json.instanceView.executionState, view.json.instanceView.exitCode], ["Succeeded", 0]);
        const evidence = evidenceOf(view.json.instanceView.output);
        assert.deepEqual([evidence.outcome, evidence.exitCode, evidence.disk.path], ["repaired", 0, "/dev/disk/azure/scsi1/lun3"]);
        const schema = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "rescue/evidence.schema.json"), "utf8"));
        const validate = new Ajv({ strict: false }).compile(schema);
        assert.ok(validate(evidence), JSON.stringify(validate.errors));

        const fixed = await copy("app-01-fixed", scratch.id, { "bootloop-rescue-role": "fixed", "bootloop-rescue-vm": "app-01" });
        const unrepaired = await copy("app-01-unrepaired", backup.id);
        assert.deepEqual([world().disks[fixed.id.toLowerCase()].boots, world().disks[unrepaired.id.toLowerCase()].boots], [true, false]);

        const swapEnv = (fixedId: string) => ({
            SUBSCRIPTION_ID: SUB,
            RESOURCE_GROUP: RG,
            VM_NAME: "app-01",
            ORIGINAL_DISK_ID: originalOf("app-01"),
            FIXED_DISK_ID: fixedId,
            VM_LABEL: "azure rg-app/app-01",
            BOOT_TIMEOUT_SECONDS: "30",
            REPAIR_RUN_COMMAND_ID: made.id,
        });
        const swapped = runScript("swap", swapEnv(fixed.id), world());
        assert.equal(swapped.code, 0, swapped.stderr);
        assert.match(swapped.stdout, /"status":"recovered"/);
        assert.deepEqual([swapped.world.vms[`${RG}/app-01`].osDisk, swapped.world.vms[`${RG}/app-01`].agent], [fixed.id, "Ready"]);
        // A fixed disk that does not boot is the VM's own outcome: recorded failed, the fleet goes on.
        const neverBoots = runScript("swap", { ...swapEnv(unrepaired.id), BOOT_TIMEOUT_SECONDS: "2" }, world());
        assert.equal(neverBoots.code, 0, neverBoots.stderr);
        assert.match(neverBoots.stdout, /"status":"failed"/);
        assert.match(neverBoots.stderr, /did not report its VM agent Ready/);
    });

    it("an ADE disk stays locked without its BEK; with the BEK the vault holds (read by ade-key.sh) it is repaired", async () => {
        const r = await rescueVm();
        await runCommand(r.name, `${r.name}-tools`, toolsScript());
        const scratch = await copy("app-02-scratch", (await backupOf("app-02")).id);
        az("vm", "disk", "attach", "--subscription", SUB, "-g", RG, "--vm-name", r.name, "--name", scratch.id, "--lun", "0");
        const params = [{ name: "DISK_HANDLE", value: "0" }];
        await assert.rejects(
            runCommand(r.name, "app-02-locked", repairScript("crowdstrike-291"), params),
            /exit code 4: repair-disk: locked: partition\(s\) 3 are BitLocker-encrypted and no key was given/,
        );
        const settings = world().disks[originalOf("app-02").toLowerCase()].encryptionSettingsCollection;
        const secretUrl = settings.encryptionSettings[0].diskEncryptionKey.secretUrl;
        const key = runScript("ade-key", { SECRET_URL: secretUrl, KEK_URL: "", VM_LABEL: "azure rg-app/app-02" }, world());
        assert.equal(key.code, 0, key.stderr);
        await runCommand(r.name, "app-02-fix", repairScript("crowdstrike-291"), params, {
            protectedParameters: [{ name: "BITLOCKER_BEK", value: key.stdout.trim() }],
        });
        assert.equal(world().disks[scratch.id.toLowerCase()].boots, true);
        const out = world().runCommands[`${RG}/${r.name}/app-02-fix`.toLowerCase()].output;
        assert.deepEqual(evidenceOf(out).partitions[2].unlockedWith, { protector: "external-key", keyId: null, tries: 1 });
        const { keyVault, ...rest } = world();
        assert.ok(JSON.stringify(keyVault).includes(key.stdout.trim()), "the vault holds the BEK");
        assert.ok(!JSON.stringify(rest).includes(key.stdout.trim().slice(0, 24)), "and nothing else in the world does");
    });

    it("a diff on a replaceOn property asks for replacement, on any other property for an update", async () => {
        for (const [type, served] of Object.entries(azureStandIn.resources)) {
            assert.ok(served.replaceOn.length > 0, type);
            const olds = { resourceGroupName: RG, location: "eastus2", tags: { a: "1" } };
            for (const key of served.replaceOn) {
                const d = await provider.diff!("id", urn(type, "x"), olds, { ...olds, [key]: "other" });
                assert.deepEqual(d.replaces, [key], `${type} ${key}`);
            }
            const update = await provider.diff!("id", urn(type, "x"), olds, { ...olds, tags: { a: "2" }, location: "westeurope" });
            assert.deepEqual([update.changes, update.replaces], [true, []], type);
        }
    });

    it("deletes: an attached disk is refused with Azure's code; a deleted resource is gone and read() finds nothing", async () => {
        const r = await rescueVm();
        await runCommand(r.name, `${r.name}-tools`, toolsScript());
        const backup = await backupOf("app-01");
        const scratch = await copy("app-01-scratch", backup.id);
        az("vm", "disk", "attach", "--subscription", SUB, "-g", RG, "--vm-name", r.name, "--name", scratch.id, "--lun", "1");
        await assert.rejects(
            provider.delete!(scratch.id, urn(T.disk, "app-01-scratch"), scratch.outs),
            new RegExp(`ERROR CODE: OperationNotAllowed[\\s\\S]*Disk ${scratch.outs.name} is attached to VM ${vmId(r.name)}\\.`),
        );
        const read = (type: string, id: string, outs: any) => provider.read!(id, urn(type, "x"), outs);
        assert.equal((await read(T.disk, scratch.id, scratch.outs)).id, scratch.id, "there while attached");

        // The VM goes with its OS disk, interface and Run Commands; its data disk is detached, then deletable.
        const rescueOs = world().vms[`${RG}/${r.name}`].osDisk;
        const tools = `${vmId(r.name)}/runCommands/${r.name}-tools`;
        await provider.delete!(r.vm.id, urn(T.vm, r.name), r.vm.outs);
        assert.equal(world().vms[`${RG}/${r.name}`], undefined);
        assert.equal(world().disks[rescueOs.toLowerCase()], undefined, "deleteOption Delete");
        assert.equal(world().disks[scratch.id.toLowerCase()].attachedTo, undefined);
        for (const [type, id, outs] of [
            [T.vm, r.vm.id, r.vm.outs],
            [T.nic, r.nic.id, r.nic.outs],
            [T.run, tools, {}],
        ] as const)
            assert.deepEqual(await read(type, id, outs), {}, `${type} is gone`);
        await provider.delete!(r.nic.id, urn(T.nic, "x"), r.nic.outs); // gone already: nothing to do

        for (const [type, made] of [
            [T.disk, scratch],
            [T.snapshot, backup],
            [T.nsg, r.nsg],
        ] as const) {
            await provider.delete!(made.id, urn(type, "x"), made.outs);
            assert.deepEqual(await read(type, made.id, made.outs), {}, `${type} is gone`);
        }
        assert.equal(az("disk", "show", "--ids", scratch.id).code, 1);
        assert.equal(az("snapshot", "show", "--ids", backup.id).code, 1);
    });

    it("lookups answer from the world; what is not there fails with Resource Manager's error naming it", async () => {
        const invoke = (token: string, args: Record<string, unknown>) => provider.invoke!(token, args).then((r): any => r.outputs);
        const vm = await invoke("azure-native:compute:getVirtualMachine", { resourceGroupName: RG, vmName: "app-01" });
        assert.equal(vm.id, vmId("app-01"));
        assert.deepEqual([vm.location, vm.zones, vm.storageProfile.osDisk.osType], ["eastus2", ["1"], "Windows"]);
        assert.equal(vm.storageProfile.osDisk.managedDisk.id, originalOf("app-01"));
        const nicId = vm.networkProfile.networkInterfaces[0].id;
        const disk = await invoke("azure-native:compute:getDisk", {
            resourceGroupName: RG,
            diskName: originalOf("app-01").split("/").pop(),
        });
        assert.deepEqual(
            [disk.id, disk.sku.name, disk.hyperVGeneration, disk.diskState, disk.managedBy],
            [originalOf("app-01"), "Premium_LRS", "V2", "Attached", vmId("app-01")],
        );
        const ade = await invoke("azure-native:compute:getDisk", {
            resourceGroupName: RG,
            diskName: originalOf("app-02").split("/").pop(),
        });
        assert.equal(ade.encryptionSettingsCollection.enabled, true);
        const nic = await invoke("azure-native:network:getNetworkInterface", {
            resourceGroupName: RG,
            networkInterfaceName: nicId.split("/").pop(),
        });
        assert.equal(nic.ipConfigurations[0].subnet.id, SUBNET);

        await assert.rejects(
            invoke("azure-native:compute:getVirtualMachine", { resourceGroupName: RG, vmName: "app-09" }),
            /ERROR CODE: ResourceNotFound[\s\S]*The Resource 'Microsoft\.Compute\/virtualMachines\/app-09' under resource group 'rg-app' was not found/,
        );
        await assert.rejects(
            invoke("azure-native:compute:getDisk", { resourceGroupName: RG, diskName: "gone" }),
            /ResourceNotFound[\s\S]*'Microsoft\.Compute\/disks\/gone' under resource group 'rg-app'/,
        );
        await assert.rejects(
            invoke("azure-native:network:getNetworkInterface", { resourceGroupName: RG, networkInterfaceName: "gone-nic" }),
            /ResourceNotFound[\s\S]*'Microsoft\.Network\/networkInterfaces\/gone-nic'/,
        );
        await assert.rejects(
            invoke("azure-native:compute:getVirtualMachine", { resourceGroupName: "rg-else", vmName: "app-01" }),
            /ERROR CODE: ResourceGroupNotFound[\s\S]*Resource group 'rg-else' could not be found/,
        );
    });

    it("an unknown resource type and an unknown invoke are refused, naming them", async () => {
        await assert.rejects(
            create("azure-native:storage:StorageAccount", "sa", {}),
            /stand-in azure-native provider does not serve resource type azure-native:storage:StorageAccount/,
        );
        await assert.rejects(
            provider.invoke!("azure-native:compute:getSnapshot", {}),
            /stand-in azure-native provider does not serve invoke azure-native:compute:getSnapshot/,
        );
    });

    it("serves every azure-native resource type the program declares, for every strategy", async () => {
        const strategies = ["repair", "reboot", "reboot-then-repair", "restore"];
        const inventory =
            INVENTORY +
            strategies
                .map(
                    (s, i) =>
                        `  - cloud: azure\n    subscriptionId: ${SUB}\n    resourceGroup: ${RG}\n    vmName: s-${i}\n    strategy: ${s}\n`,
                )
                .join("");
        const { rs } = await planInventory(inventory, { "bootloop-rescue:acceptDataLoss": "true" });
        const declared = [...new Set(rs.map((r) => r.type))].filter((t) => t.startsWith("azure-native:"));
        assert.ok(declared.length >= 6, declared.join(", "));
        assert.deepEqual(
            declared.filter((t) => !azureStandIn.resources[t]),
            [],
        );
    });
});

describe("sandbox: a world seeded from stacks/dev.yaml answers every lookup the program makes", () => {
    it("for each Azure VM of the dev stack: the VM, its OS disk, its interface, a restore VM's backup and an ADE VM's BEK", async () => {
        const config = configSourceOf(readStackConfig(PROJECT_DIR, "dev"));
        const vms = validateInventory(
            readInventory(config.get(`${NAMESPACE}:inventory`)!, PROJECT_DIR),
            inventoryContext(identities, builtClouds, config),
        ).filter((vm) => vm.cloud === "azure");
        assert.ok(vms.length >= 3, "dev.yaml has Azure VMs");
        const seeded = seedAzureWorld(vms);
        const served = new Set<string>();
        await withStandInEnv({ world: seeded, standInDir: STAND_IN, stateVar: "FAKE_AZ_STATE", logVar: "FAKE_AZ_LOG" }, async () => {
            await pulumi.runtime.setMocks({
                newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
                call: (c) => {
                    served.add(c.token);
                    if (c.token === "command:local:run") {
                        // The restore lookup's script, run for real against the stand-in az.
                        const env = c.inputs.environment as Record<string, string>;
                        const r = spawnSync("/bin/bash", ["-c", String(c.inputs.command)], {
                            encoding: "utf8",
                            cwd: PROJECT_DIR,
                            env: { ...process.env, ...env },
                        });
                        if (r.status !== 0) throw new Error(r.stderr);
                        return { stdout: r.stdout, stderr: r.stderr };
                    }
                    const answer = azureStandIn.invokes[c.token];
                    if (!answer) throw new Error(`not served: ${c.token}`);
                    return answer(c.inputs);
                },
            });
            const azure = readAzureConfig(config, "Pulumi.dev.yaml");
            const listings = new RestoreListings();
            for (const vm of vms) {
                const restore = vm.strategy === "restore" ? { before: DEFAULT_RESTORE_BEFORE } : undefined;
                const found = await lookUpVm(vm, new Provider(`p-${vm.slug}`, {}), azure, listings, restore);
                const original = seeded.vms[`${vm.fields.resourceGroup}/${vm.fields.vmName}`.toLowerCase()].osDisk;
                assert.equal(found.originalDiskId, original, vm.label);
                assert.deepEqual(
                    found.placement,
                    { scope: vm.fields.subscriptionId, region: vm.fields.location, zone: vm.fields.zone },
                    vm.label,
                );
                assert.equal((found.facts as any).subnetId.endsWith("/subnets/default"), true, vm.label);
                if (restore) assert.match(found.restorePoint!.id, /-nightly-20240718$/, "the backup from before the incident");
                if (vm.fields.diskEncryption === "ade") {
                    const bek = await found.fetchBeks!();
                    assert.equal(Buffer.from(bek, "base64").length, 124, "a BEK file, from the seeded vault");
                } else assert.equal(found.fetchBeks, undefined);
            }
        });
        assert.deepEqual([...served].filter((t) => t.startsWith("azure-native:")).sort(), [
            "azure-native:compute:getDisk",
            "azure-native:compute:getVirtualMachine",
            "azure-native:network:getNetworkInterface",
        ]);
    });
});
