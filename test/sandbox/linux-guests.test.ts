// A stack of Windows and Linux VMs on all three clouds recovers both (#31): each cloud's world is
// seeded from one mixed inventory (the Linux VMs panic at boot, the Windows ones bugcheck), the
// disks a chain makes before its repair are put in that world as the stand-in providers make them,
// and then the real step scripts run against the stand-in CLIs: the repair (AWS and GCP; Azure's
// is a Run Command, which the stand-in rescue VM runs) with the rule set the program gives each VM,
// and the swap waiting for the boot signal the program gives it. A Linux VM repaired with the
// Windows rule set (or the reverse) finds nothing to change and never boots, so every VM recovered
// proves each got its own OS's rule set and boot signal. (No engine: `npm run sandbox -- up` of
// such a stack is the same chain under the real engine.)
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import Ajv from "ajv";
import { repairDocumentContent } from "../../components/aws/rescue";
import { bootMarkerOf as awsMarker, readAwsConfig } from "../../components/aws/config";
import { bootMarkerOf as gcpMarker, readGcpConfig } from "../../components/gcp/config";
import { deviceName } from "../../components/gcp/steps";
import { LINUX_RULE_SET_ATTRIBUTE, RULE_SET_ATTRIBUTE } from "../../components/gcp/rescue";
import { repairScript } from "../../components/azure/steps";
import { VmEntry, guestOs } from "../../components/core/contract/vm";
import { ruleSetFor } from "../../components/core/contract/settings";
import { readSettings } from "../../components/core/settings";
import { inventoryContext } from "../../components/core/inventory/context";
import { parseYamlInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { builtClouds, identities } from "../../components/registry/inventory";
import { seedAwsWorld } from "../../sandbox/world/aws-seed";
import { seedGcpWorld } from "../../sandbox/world/gcp-seed";
import { seedAzureWorld } from "../../sandbox/world/azure-seed";
import { runOnRescueVm } from "../../sandbox/world/azure-rescue-run";
import { rescueTools } from "../../rescue/payload";
import { run as runAws } from "../aws/run-script";
import { run as runGcp } from "../gcp/run-script";
import { run as runAzure } from "../azure/run-script";

const MIXED = `vms:
  - cloud: aws
    region: us-east-1
    instanceId: i-0aaaaaaaaaaaaaa01
  - cloud: aws
    region: us-east-1
    instanceId: i-0aaaaaaaaaaaaaa02
    os: linux
  - cloud: azure
    subscriptionId: 11111111-2222-3333-4444-555555555555
    resourceGroup: rg-app
    vmName: app-01
  - cloud: azure
    subscriptionId: 11111111-2222-3333-4444-555555555555
    resourceGroup: rg-app
    vmName: db-01
    os: linux
  - cloud: gcp
    project: my-project
    zone: us-central1-a
    instance: web-1
  - cloud: gcp
    project: my-project
    zone: us-central1-a
    instance: rhel-1
    os: linux
`;

const noConfig = { get: () => undefined, kind: () => "missing" as const };
const settings = readSettings(
    { get: (k) => (k === "bootloop-rescue:inventory" ? "stacks/x.yaml" : undefined), kind: () => "missing", keys: () => [] },
    "Pulumi.x.yaml",
    new Map([
        ["aws", { max: 24 }],
        ["azure", { max: 16 }],
        ["gcp", { max: 64 }],
    ]),
);
const vms: VmEntry[] = validateInventory(parseYamlInventory("mixed.yaml", MIXED), inventoryContext(identities, builtClouds, noConfig));
const of = (cloud: string) => vms.filter((v) => v.cloud === cloud);

/** What a swap printed first: its report. */
const report = (stdout: string) => JSON.parse(stdout.trim().split("\n")[0]) as { status: string; reason?: string };
/** An evidence line as the rescue side sends it (gzip-base64), or as a step keeps it (packed), read back by the core helper. */
const evidenceOf = (line: string): any => {
    const last = line.trim().split("\n").pop()!;
    if (last.startsWith("gzip-base64:")) return JSON.parse(zlib.gunzipSync(Buffer.from(last.slice(12), "base64")).toString());
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the scripts' own decoder (plain JavaScript)
    return JSON.parse((require("../../components/core/scripts/evidence") as { unpack(l: string): string }).unpack(last));
};

describe("sandbox: Windows and Linux VMs on all three clouds", function () {
    this.timeout(300_000);

    it("each VM is repaired with its own OS's rule set and boots with its own OS's signal: every one recovers", () => {
        const outcome: Record<string, { os: string; evidence: any; status: string; console: string }> = {};

        // AWS: backup snapshot, scratch volume from it on a rescue instance with the tools of this
        // version, each OS's repair document; then repair.sh and swap.sh.
        {
            let w = seedAwsWorld(of("aws")) as any;
            const config = readAwsConfig(noConfig, "Pulumi.x.yaml");
            const rescue = "i-0bbbbbbbbbbbbbbb1";
            w.instances[rescue] = {
                state: "running",
                region: "us-east-1",
                availabilityZone: "us-east-1a",
                rootDeviceName: "/dev/sda1",
                blockDevices: { "/dev/sda1": "vol-0bbbbbbbbbbbbbbb0" },
                tags: { "bootloop-rescue:role": "rescue" },
            };
            w.ssm.instances[rescue] = { onlineAfterPolls: 0 };
            w.ssm.tools = { [rescue]: [rescueTools().version] };
            w.ssm.documents = {};
            for (const [n, vm] of of("aws").entries()) {
                const os = guestOs(vm);
                const root = w.instances[vm.fields.instanceId].blockDevices["/dev/sda1"];
                const [snap, scratch, fixed] = [`snap-0c${n}`, `vol-0c${n}`, `vol-0d${n}`].map((p) => p.padEnd(21, "0"));
                const doc = `rescue-aws-repair-${os}-doc`;
                w.ssm.documents[doc] = { versions: [repairDocumentContent(ruleSetFor(settings, vm), os)] };
                w.snapshots[snap] = { volumeId: root, state: "completed", progress: "100%", boots: false, region: "us-east-1" };
                w.volumes[scratch] = { ...w.volumes[root], state: "in-use", snapshotId: snap, tags: {} };
                delete w.volumes[scratch].guest; // a copy: the stand-in finds the guest by its lineage
                w.instances[rescue].blockDevices[`/dev/sd${"fg"[n]}`] = scratch;
                const repaired = runAws(
                    "repair",
                    {
                        RESCUE_INSTANCE_ID: rescue,
                        VOLUME_ID: scratch,
                        DOCUMENT_NAME: doc,
                        VM_LABEL: vm.label,
                        REPAIR_TIMEOUT_SECONDS: "60",
                    },
                    w,
                );
                assert.equal(repaired.code, 0, repaired.stderr);
                w = repaired.world;
                // The fixed volume: a copy of the repaired scratch volume (it boots when that does).
                w.volumes[fixed] = { ...w.volumes[scratch], state: "available", snapshotId: "", tags: {} };
                const swapped = runAws(
                    "swap",
                    {
                        INSTANCE_ID: vm.fields.instanceId,
                        ORIGINAL_VOLUME_ID: root,
                        FIXED_VOLUME_ID: fixed,
                        ROOT_DEVICE: "/dev/sda1",
                        VM_LABEL: vm.label,
                        BOOT_TIMEOUT_SECONDS: "60",
                        BOOT_MARKER: awsMarker(config, vm),
                    },
                    w,
                );
                assert.equal(swapped.code, 0, swapped.stderr);
                w = swapped.world;
                outcome[vm.label] = {
                    os,
                    evidence: evidenceOf(repaired.stdout),
                    status: report(swapped.stdout).status,
                    console: w.instances[vm.fields.instanceId].consoleOutput,
                };
            }
        }

        // GCP: backup snapshot, scratch disk from it attached to a rescue instance (its agent, the
        // stack's rule sets in its metadata) under the device name the program gives the VM's OS.
        {
            let w = seedGcpWorld(of("gcp")) as any;
            const config = readGcpConfig(noConfig, "Pulumi.x.yaml");
            const rescue = "rescue-gcp-1";
            w.instances[rescue] = {
                project: "my-project",
                zone: "us-central1-a",
                id: "7000000000000000001",
                status: "RUNNING",
                disks: [{ source: rescue, boot: true, deviceName: "persistent-disk-0" }],
                serial: "",
                agent: true,
                metadata: { [RULE_SET_ATTRIBUTE]: settings.ruleSet, [LINUX_RULE_SET_ATTRIBUTE]: settings.linuxRuleSet },
            };
            w.disks[rescue] = { project: "my-project", zone: "us-central1-a", status: "READY", boots: true, attachedTo: rescue };
            w.snapshots ??= {};
            for (const vm of of("gcp")) {
                const name = vm.fields.instance;
                w.snapshots[`${name}-backup`] = { ...w.disks[name], sourceDisk: `projects/my-project/zones/us-central1-a/disks/${name}` };
                const { guest, fault, attachedTo, ...shape } = w.disks[name];
                void [guest, fault, attachedTo];
                w.disks[`${name}-scratch`] = { ...shape, sourceSnapshot: `projects/my-project/global/snapshots/${name}-backup` };
                const device = deviceName(vm.slug, `${name}-scratch`, guestOs(vm));
                w.disks[`${name}-scratch`].attachedTo = rescue;
                w.instances[rescue].disks.push({ source: `${name}-scratch`, deviceName: device, mode: "READ_WRITE" });
                const repaired = runGcp(
                    "repair",
                    {
                        PROJECT: "my-project",
                        ZONE: "us-central1-a",
                        RESCUE_INSTANCE: rescue,
                        DEVICE_NAME: device,
                        VM_LABEL: vm.label,
                        REPAIR_TIMEOUT_SECONDS: "60",
                    },
                    w,
                );
                assert.equal(repaired.code, 0, repaired.stderr);
                w = repaired.world;
                // The fixed disk: a clone of the repaired scratch disk.
                w.disks[`${name}-fixed`] = { ...w.disks[`${name}-scratch`], attachedTo: undefined, sourceDisk: `${name}-scratch` };
                const swapped = runGcp(
                    "swap",
                    {
                        PROJECT: "my-project",
                        ZONE: "us-central1-a",
                        INSTANCE: name,
                        ORIGINAL_DISK: name,
                        FIXED_DISK: `${name}-fixed`,
                        VM_LABEL: vm.label,
                        BOOT_TIMEOUT_SECONDS: "60",
                        BOOT_MARKER: gcpMarker(config, vm),
                    },
                    w,
                );
                assert.equal(swapped.code, 0, swapped.stderr);
                w = swapped.world;
                outcome[vm.label] = {
                    os: guestOs(vm),
                    evidence: evidenceOf(repaired.stdout),
                    status: report(swapped.stdout).status,
                    console: w.instances[name].serial,
                };
            }
        }

        // Azure: the scratch disk (a copy of the original) at a LUN of a rescue VM; the repair Run
        // Command's script as the program writes it for the VM, run by the stand-in rescue VM; then
        // swap.sh, which reads the Run Command's evidence back and waits for the VM agent.
        {
            let w = seedAzureWorld(of("azure")) as any;
            const sub = "11111111-2222-3333-4444-555555555555";
            const disk = (name: string) => `/subscriptions/${sub}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/${name}`;
            const rescue = {
                name: "rescue-azure-1",
                resourceGroup: "rg-app",
                subscription: sub,
                location: "eastus2",
                zones: null,
                osType: "Linux",
                computerName: "rescue-azure-1",
                vmId: "00000000-0000-0000-0000-0000000000r1",
                osDisk: disk("rescue-azure-1-os"),
                power: "running",
                agent: "Ready",
                dataDisks: {} as Record<string, string>,
                rescueTools: rescueTools().version,
                vmSize: "Standard_D2s_v5",
                nics: [],
                tags: {},
                provisioningState: "Succeeded",
                timeCreated: "2024-07-19T06:00:00Z",
            };
            w.vms["rg-app/rescue-azure-1"] = rescue;
            for (const [lun, vm] of of("azure").entries()) {
                const name = vm.fields.vmName;
                const original = w.vms[`rg-app/${name}`.toLowerCase()].osDisk as string;
                const { guest, fault, attachedTo, ...shape } = w.disks[original.toLowerCase()];
                void [guest, fault, attachedTo];
                // The scratch disk: a copy of the backup of the original (the stand-in finds the guest by its lineage).
                const copy = (id: string, source: string, extra: object = {}) =>
                    (w.disks[id.toLowerCase()] = {
                        ...shape,
                        id,
                        name: id.split("/").pop(),
                        creationData: { createOption: "Copy", sourceResourceId: source },
                        tags: {},
                        ...extra,
                    });
                copy(disk(`${name}-scratch`), original, { attachedTo: "rg-app/rescue-azure-1" });
                rescue.dataDisks[String(lun)] = disk(`${name}-scratch`);
                // The repair Run Command, as the program writes it for this VM, run on the rescue VM.
                const ran = runOnRescueVm(
                    w,
                    rescue as never,
                    repairScript(ruleSetFor(settings, vm)),
                    { DISK_HANDLE: String(lun) },
                    `${name}-repair`,
                    new Date(),
                );
                assert.equal(ran.exitCode, 0, ran.error);
                w.runCommands = { ...(w.runCommands ?? {}), [`rg-app/rescue-azure-1/${name}-repair`]: ran.output };
                copy(disk(`${name}-fixed`), disk(`${name}-scratch`), { boots: w.disks[disk(`${name}-scratch`).toLowerCase()].boots });
                const swapped = runAzure(
                    "swap",
                    {
                        SUBSCRIPTION_ID: sub,
                        RESOURCE_GROUP: "rg-app",
                        VM_NAME: name,
                        ORIGINAL_DISK_ID: original,
                        FIXED_DISK_ID: disk(`${name}-fixed`),
                        VM_LABEL: vm.label,
                        BOOT_TIMEOUT_SECONDS: "60",
                        REPAIR_RUN_COMMAND_ID: `/subscriptions/${sub}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/rescue-azure-1/runCommands/${name}-repair`,
                    },
                    w,
                );
                assert.equal(swapped.code, 0, swapped.stderr);
                w = swapped.world;
                outcome[vm.label] = {
                    os: guestOs(vm),
                    evidence: evidenceOf(swapped.stdout),
                    status: report(swapped.stdout).status,
                    console: `VM agent ${w.vms[`rg-app/${name}`.toLowerCase()].agent}`,
                };
            }
        }

        // Every evidence document, the stand-ins' Linux ones too, is one the engine's schema allows.
        const schema = new Ajv({ allErrors: true }).compile(
            JSON.parse(fs.readFileSync(path.join(__dirname, "../../rescue/evidence.schema.json"), "utf8")),
        );
        for (const vm of vms) {
            const o = outcome[vm.label];
            // (A copy: the schema's type guard would narrow the evidence itself to unknown.)
            const document: unknown = o?.evidence;
            assert.ok(schema(document), `${vm.label}: ${JSON.stringify(schema.errors)}`);
            assert.ok(o, `${vm.label} ran`);
            assert.equal(o.status, "recovered", `${vm.label}: ${JSON.stringify(o)}`);
            assert.equal(o.evidence.outcome, "repaired", vm.label);
            if (guestOs(vm) === "linux") {
                assert.deepEqual(
                    o.evidence.rules.map((r: { id: string }) => r.id),
                    ["falcon-sensor-masked", "falcon-lsm-serviceable", "falcon-nf-netcontain", "falcon-kal"],
                    vm.label,
                );
                assert.ok(
                    o.evidence.linux.actions.every((a: { status: string }) => a.status === "changed"),
                    vm.label,
                );
                // AWS and GCP: the console reached a login prompt; Azure: the VM agent (its signal for either OS).
                assert.match(o.console, vm.cloud === "azure" ? /^VM agent Ready$/ : /login: \s*$/, `${vm.label} booted`);
            } else {
                assert.equal(o.evidence.volumes[0].matches[0].rule, "crowdstrike-channel-file-291", vm.label);
                assert.match(o.console, vm.cloud === "azure" ? /^VM agent Ready$/ : /Windows is (R|r)eady/, vm.label);
            }
        }
    });
});
