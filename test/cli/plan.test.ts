import { strict as assert } from "assert";
import * as path from "path";
import { planDocument, renderSummary } from "../../components/tools/offline/render";
import * as fs from "fs";
import { PACKED_EVIDENCE_BYTES, RECORD_EVIDENCE_BYTES, estimateState } from "../../components/tools/offline/fleet";
import { packEvidence } from "../../components/core/cloud-steps";
import { abridgeEvidence } from "../../components/core/evidence-record";
import { labInventory, planInventory, runLab, runProjectScript, tempDir } from "../helpers/lab-run";

const root = path.resolve(__dirname, "../..");

const plan = (args: string[], cwd = root) => runProjectScript("plan", args, cwd);

describe("npm run plan", () => {
    it("exits non-zero on an invalid inventory, errors on stderr and nothing on stdout", () => {
        const dir = tempDir({ "bad.yaml": "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: 'i-1; reboot'\n" });
        const out = plan(["--inventory", "bad.yaml", "--json"], dir);
        assert.equal(out.status, 1);
        assert.equal(out.stdout, "");
        assert.match(out.stderr, /bad\.yaml: vms\[0\] \(line 4\): instanceId: "i-1; reboot" is not valid/);
    });

    it("names the stack file when a stack does not exist", () => {
        const out = plan(["--stack", "nope"]);
        assert.equal(out.status, 1);
        assert.equal(out.stdout, "");
        assert.match(out.stderr, /Pulumi\.nope\.yaml: no such stack file/);
    });

    it("--json on a pipe is written whole, however large (the dev stack's plan is over 64 KB)", () => {
        const out = plan(["--stack", "dev", "--json"]);
        assert.equal(out.status, 0, out.stderr);
        assert.ok(out.stdout.length > 65536, `${out.stdout.length} bytes`);
        assert.ok(Array.isArray(JSON.parse(out.stdout).resources));
    });

    it("takes --allow-skipped only with --preflight (exit 2, its usage)", () => {
        const out = plan(["--stack", "dev", "--allow-skipped"]);
        assert.equal(out.status, 2);
        assert.equal(out.stdout, "");
        assert.match(out.stderr, /--allow-skipped only goes with --preflight/);
        assert.match(out.stderr, /usage: npm run plan .*--preflight \[--allow-skipped\]/);
    });

    it("rejects unknown arguments with its usage", () => {
        const out = plan(["--stack"]);
        assert.equal(out.status, 2);
        assert.match(out.stderr, /usage: npm run plan/);
    });
});

describe("offline plan output", () => {
    it("--json has vms, waves, rescuePools and every resource with options, dependencies and inputs", async () => {
        const run = await runLab(labInventory([{ machine: "m1" }, { machine: "m2" }]));
        const doc = JSON.parse(JSON.stringify(planDocument(run, "test"))) as Record<string, any>;
        assert.deepEqual(
            Object.keys(doc)
                .filter((k) => ["vms", "waves", "rescuePools", "resources"].includes(k))
                .sort(),
            ["rescuePools", "resources", "vms", "waves"],
        );
        assert.equal(doc.vms.length, 2);
        assert.deepEqual(
            doc.waves.map((w: { wave: number }) => w.wave),
            [0, 1],
        );
        const r = doc.resources.find((x: { name: string }) => x.name.endsWith("-scratch"));
        assert.deepEqual(Object.keys(r).sort(), [
            "dependsOn",
            "ignoreChanges",
            "inputs",
            "name",
            "parent",
            "placeholders",
            "protect",
            "retainOnDelete",
            "type",
        ]);
        assert.deepEqual(r.placeholders, ["snapshot"], "the backup's id is the offline plan's, not a cloud's");
        assert.equal(r.type, "lab:compute:Disk");
        assert.ok(r.dependsOn.some((d: string) => d.endsWith("-backup")));
        assert.match(r.inputs.snapshot, /-backup-id$/);
    });

    it("the summary shows waves, rescue VMs per zone, steps per VM and counts", async () => {
        const run = await runLab(labInventory([{ machine: "m1" }, { machine: "m2", rack: "r2" }, { machine: "m3" }]));
        const text = renderSummary(run, "test");
        assert.match(text, /VMs: 3 \(lab 3\); strategies: repair 3/);
        assert.match(text, /wave 0 \(canary\): 1 VM \(may fail: 0\): lab hq\/m1/);
        assert.match(text, /wave 1: 2 VMs \(may fail: 0\): lab hq\/m2, lab hq\/m3/);
        assert.match(text, /failureBudget: 5% of each wave after the canary/);
        assert.match(text, /lab lab-account \/ hq \/ hq-r1: 1 rescue VM for 2 disks \(up to 2 each\)/);
        assert.match(text, /-backup +lab:compute:Snapshot +\[kept on delete\]/);
        assert.match(text, /Resources: \d+ registered \([\d.]+ per VM, components included\)/);
    });

    it("names the VMs a run retries, with the retry, in the summary and in --json", async () => {
        const run = await runLab(labInventory([{ machine: "m1" }, { machine: "m2", retry: 2 }]));
        assert.match(
            renderSummary(run, "test"),
            /Retries \(retry: in the entry; each attempt's steps are resources of their own, [^)]*\): lab hq\/m2 \(retry 2\)\n/,
        );
        const doc = planDocument(run, "test") as { vms: { label: string; retry?: number }[] };
        assert.deepEqual(
            doc.vms.map((v) => [v.label, v.retry]),
            [
                ["lab hq/m1", undefined],
                ["lab hq/m2", 2],
            ],
        );
        assert.doesNotMatch(renderSummary(await runLab(labInventory([{ machine: "m1" }])), "test"), /Retries/);
    });

    it("prints the chains in flight, the --parallel to use and the state per VM; --json carries them", async () => {
        const inventory =
            "vms:\n" +
            ["repair", "reboot-then-repair", "reboot"]
                .flatMap((strategy, i) => [
                    `  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcde${i}0\n    strategy: ${strategy}\n`,
                    `  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-0${i}\n    strategy: ${strategy}\n`,
                    `  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-${i}\n    strategy: ${strategy}\n`,
                ])
                .join("");
        const { run } = await planInventory(inventory, { "bootloop-rescue:maxInFlight": "4" });
        const text = renderSummary(run, "test");
        assert.match(text, /In flight: at most 4 VM chains at once \(maxInFlight\); the others wait their turn in wave order\./);
        const parallel = Number(/Run: pulumi up --parallel (\d+)/.exec(text)![1]);
        const rescueVms = run.result.plan.rescuePools.reduce((n, p) => n + p.members.length, 0);
        assert.equal(parallel, 4 + rescueVms + 10);
        assert.match(text, /State: about [\d.]+ KB per VM \(largest [\d.]+ KB, .*\), \d+ KB shared/);
        const doc = JSON.parse(JSON.stringify(planDocument(run, "test")));
        assert.equal(doc.maxInFlight, 4);
        assert.equal(doc.recommendedParallel, parallel);
        // The largest VM is a reboot-then-repair one whose every restart failed (how close the
        // estimate is to what the engine keeps: state-estimate.test.ts).
        assert.ok(
            doc.stateEstimate.perVmBytes > 5_000 && doc.stateEstimate.perVmBytes < doc.stateEstimate.maxVmBytes,
            String(doc.stateEstimate.perVmBytes),
        );
        assert.match(doc.stateEstimate.maxVm, /app-01|i-0123456789abcde10|web-1/);
        const repairs = await planInventory(inventory.replace(/strategy: [a-z-]+/g, "strategy: repair"));
        const repairState = estimateState(repairs.run.resources!, repairs.run.result.plan);
        assert.ok(repairState.maxVmBytes < doc.stateEstimate.maxVmBytes, `${repairState.maxVm}: ${repairState.maxVmBytes}`);
        assert.equal(repairs.run.result.plan.vms.length, 9);
        // A retry renames the retried steps (…-repair2): they still count as their VM's, and it stays under the bound.
        const retried = await planInventory(inventory.replace(/strategy: [a-z-]+/g, "strategy: repair\n    retry: 1"));
        const retriedState = estimateState(retried.run.resources!, retried.run.result.plan);
        assert.ok(retried.run.resources!.some((r) => r.name.endsWith("-repair2")));
        assert.ok(
            Math.abs(retriedState.perVmBytes - repairState.perVmBytes) <= 100,
            `${retriedState.perVmBytes} vs ${repairState.perVmBytes}`,
        );
        assert.ok(
            Math.abs(retriedState.sharedBytes - repairState.sharedBytes) <= 1_000,
            `${retriedState.sharedBytes} vs ${repairState.sharedBytes}`,
        );
        assert.ok(
            Math.abs(retriedState.maxVmBytes - repairState.maxVmBytes) <= 100,
            `${retriedState.maxVmBytes} vs ${repairState.maxVmBytes}`,
        );
        // The estimate counts the evidence as the demo disk's engine run printed it.
        const demo = JSON.stringify(JSON.parse(fs.readFileSync(path.join(__dirname, "../fixtures/demo-evidence.json"), "utf8")));
        const near = (measured: number, constant: number) =>
            assert.ok(Math.abs(measured - constant) <= 0.05 * constant, `${measured} vs ${constant}`);
        near(packEvidence(demo).length, PACKED_EVIDENCE_BYTES);
        near(abridgeEvidence(demo, `${repairs.run.result.plan.vms[0].slug}-repair`).length, RECORD_EVIDENCE_BYTES);
        // No command keeps its script text: a line naming the script by path.
        for (const r of run.resources!.filter((x) => x.type === "command:local:Command"))
            assert.ok(String(r.inputs.create).length < 200, r.name);
    });
});

describe("offline plan placeholders: invented values are marked, never facts, and never refuse real input", () => {
    const inventory = [
        "vms:",
        // Nothing but the identity: account, zone and root volume are invented.
        "  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef0",
        // A real account's secret on a VM in the ambient account (no accountId).
        "  - cloud: aws\n    region: us-east-1\n    instanceId: i-0fedcba9876543210\n    bitlockerSecret: arn:aws:secretsmanager:us-east-1:210987654321:secret:bootloop-rescue/prod/web-02-Ab12Cd",
        // Everything stated: nothing invented for it.
        "  - cloud: aws\n    region: eu-west-1\n    instanceId: i-0aaaabbbbccccdddd\n    accountId: '444455556666'\n    availabilityZone: eu-west-1c\n    rootVolumeId: vol-0aaaabbbbccccdddd",
        "  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-01",
        "  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-02\n    location: eastus2\n    zone: '2'\n    osDiskId: /subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-app/providers/Microsoft.Compute/disks/app-02-os",
        "  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-1",
        "  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-2\n    bootDisk: web-2-boot",
        "  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-3\n    strategy: restore",
        "  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-4\n    strategy: restore\n    restoreFrom: web-4-before-incident",
        "",
    ].join("\n");
    let planned: Awaited<ReturnType<typeof planInventory>>;
    let doc: Record<string, any>;
    const vm = (label: string) => doc.vms.find((v: { label: string }) => v.label === label);
    before(async () => {
        planned = await planInventory(inventory, { "bootloop-rescue:acceptDataLoss": "true" });
        doc = JSON.parse(JSON.stringify(planDocument(planned.run, "test")));
    });

    it("a bitlockerSecret in a real account is not refused because the plan invented the ambient account", () => {
        const secretVm = vm("aws us-east-1/i-0fedcba9876543210");
        assert.equal(secretVm.placement.scope, "210987654321");
        assert.ok(secretVm.placeholders.includes("placement.scope"), "the ambient account is still a guess");
    });

    it("--json lists each VM's invented values (account, zone, disk id, restore point); stated ones are facts", () => {
        assert.match(doc.placeholderNote, /invented offline/);
        assert.deepEqual(vm("aws us-east-1/i-0123456789abcdef0").placeholders, ["placement.scope", "placement.zone", "originalDiskId"]);
        assert.equal(vm("aws eu-west-1/i-0aaaabbbbccccdddd").placeholders, undefined);
        assert.deepEqual(vm("azure rg-app/app-01").placeholders, ["placement.region", "placement.zone", "originalDiskId"]);
        assert.equal(vm("azure rg-app/app-02").placeholders, undefined);
        assert.deepEqual(vm("gcp my-project/us-central1-a/web-1").placeholders, ["originalDiskId"]);
        assert.equal(vm("gcp my-project/us-central1-a/web-2").placeholders, undefined);
        assert.deepEqual(vm("gcp my-project/us-central1-a/web-3").placeholders, [
            "originalDiskId",
            "restorePoint.id",
            "restorePoint.createdAt",
            "recoveryPointAgeHours",
        ]);
        assert.deepEqual(
            vm("gcp my-project/us-central1-a/web-4").placeholders,
            ["originalDiskId", "restorePoint.createdAt", "recoveryPointAgeHours"],
            "a restoreFrom the inventory names is a fact",
        );
    });

    it("--json marks invented pool placements and resource inputs; a value the inventory states is not marked", () => {
        const pool = (zone: string) => doc.rescuePools.find((p: { placement: { zone: string } }) => p.placement.zone === zone);
        assert.deepEqual(pool("eu-west-1c").placeholders, undefined);
        assert.ok(doc.rescuePools.some((p: any) => p.cloud === "aws" && p.placeholders?.includes("placement.zone")));
        const rescue = doc.resources.find((r: any) => r.type === "aws:ec2/instance:Instance" && r.inputs.availabilityZone !== "eu-west-1c");
        assert.ok(rescue.placeholders.includes("subnetId") && rescue.placeholders.includes("ami"), JSON.stringify(rescue.placeholders));
        const backup = doc.resources.find((r: any) => r.name.startsWith("i-0aaaabbbbccccdddd-") && r.name.endsWith("-backup"));
        assert.equal(backup.inputs.volumeId, "vol-0aaaabbbbccccdddd");
        assert.ok(!(backup.placeholders ?? []).includes("volumeId"), "a root volume the inventory names is a fact");
        // What a path names: `a.b[0].c` under the inputs.
        const at = (inputs: unknown, p: string) => p.split(/\.|(?=\[)/).reduce((o: any, k) => o?.[/^\[(\d+)\]$/.exec(k)?.[1] ?? k], inputs);
        assert.equal(
            at(
                rescue.inputs,
                rescue.placeholders.find((p: string) => p.startsWith("vpcSecurityGroupIds")),
            ),
            rescue.inputs.vpcSecurityGroupIds[0],
        );
        const stated = ["web-1", "web-2-boot", "my-project", "us-central1-a", "444455556666", "eu-west-1c", "eastus2"];
        for (const r of doc.resources)
            for (const p of r.placeholders ?? [])
                assert.ok(!stated.includes(at(r.inputs, p)), `${r.name}: ${p} is stated by the inventory`);
    });

    it("the summary marks each invented value (placeholder) and leaves the stated ones alone", () => {
        const text = renderSummary(planned.run, "test");
        assert.match(text, /a value marked \(placeholder\) was invented, not found/);
        assert.match(text, /aws 210987654321 \(placeholder\) \/ us-east-1 \/ us-east-1[abc] \(placeholder\): /);
        assert.match(text, /aws 444455556666 \/ eu-west-1 \/ eu-west-1c: /);
        assert.match(text, /azure 11111111-2222-3333-4444-555555555555 \/ eastus2 \/ 2: /);
        assert.match(text, /gcp my-project \/ us-central1 \/ us-central1-a: /);
        assert.match(
            text,
            /web-3: projects\/my-project\/global\/snapshots\/web-3-nightly \(placeholder\), taken [0-9T:-]+Z \(placeholder\), recovery point 6\.0 h \(placeholder\) before the cutoff/,
        );
        assert.match(text, /web-4: projects\/my-project\/global\/snapshots\/web-4-before-incident, taken [0-9T:-]+Z \(placeholder\)/);
    });
});
