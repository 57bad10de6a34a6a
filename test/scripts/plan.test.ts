import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { planDocument, renderSummary } from "../../components/core/offline/render";
import { labInventory, runLab, tempDir } from "../helpers/lab-run";

const root = path.resolve(__dirname, "../..");

function plan(args: string[], cwd = root) {
    return spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(root, "scripts/plan.ts"), ...args], {
        cwd,
        encoding: "utf8",
        env: { ...process.env, INIT_CWD: cwd, TS_NODE_PROJECT: path.join(root, "tsconfig.json") },
    });
}

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
        assert.deepEqual(Object.keys(doc).filter((k) => ["vms", "waves", "rescuePools", "resources"].includes(k)).sort(), ["rescuePools", "resources", "vms", "waves"]);
        assert.equal(doc.vms.length, 2);
        assert.deepEqual(doc.waves.map((w: { wave: number }) => w.wave), [0, 1]);
        const r = doc.resources.find((x: { name: string }) => x.name.endsWith("-scratch"));
        assert.deepEqual(Object.keys(r).sort(), ["dependsOn", "ignoreChanges", "inputs", "name", "parent", "protect", "retainOnDelete", "type"]);
        assert.equal(r.type, "lab:compute:Disk");
        assert.ok(r.dependsOn.some((d: string) => d.endsWith("-backup")));
        assert.match(r.inputs.snapshot, /-backup-id$/);
    });

    it("the summary shows waves, rescue VMs per zone, steps per VM and counts", async () => {
        const run = await runLab(labInventory([{ machine: "m1" }, { machine: "m2", rack: "r2" }, { machine: "m3" }]));
        const text = renderSummary(run, "test");
        assert.match(text, /VMs: 3 \(lab 3\); strategies: repair 3/);
        assert.match(text, /wave 0 \(canary\): 1 VM: lab hq\/m1/);
        assert.match(text, /wave 1: 2 VMs: lab hq\/m2, lab hq\/m3/);
        assert.match(text, /lab lab-account \/ hq \/ hq-r1: 1 rescue VM for 2 disks \(up to 2 each\)/);
        assert.match(text, /-backup +lab:compute:Snapshot +\[kept on delete\]/);
        assert.match(text, /Resources: \d+ registered \([\d.]+ per VM, components included\)/);
    });
});
