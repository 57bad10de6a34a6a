import { strict as assert } from "assert";
import { chainStepOf } from "../../components/core/contract/chain-steps";
import * as fs from "fs";
import * as path from "path";
import { SandboxSession } from "./engine-run";
import { SandboxLayout } from "../../sandbox/layout";
import { seedWorlds, stackInventory } from "../../sandbox/world/seed";

// Failures isolated, rollout still guarded, with the REAL engine: two VMs of wave 1 cannot be
// recovered for reasons of their own (the repair finds nothing it may change on one; the other's
// fixed disk never boots). Each ends its chain with status `failed`, its reason and what a person
// does next, and the rest of its wave recovers in the same `up`. The gate of wave 2 reads wave 1's
// outcomes: over the wave's failure budget (1) it stops the rollout, naming both VMs, and wave 2
// is untouched; once the operator raises the budget, the next `up` goes on with wave 2 only.

const ROOT = path.resolve(__dirname, "..", "..");
const STACK = "faults";

const VMS = {
    canary: "i-0a0000000000000a0",
    nothingFound: "i-0a0000000000000a1",
    neverBoots: "i-0a0000000000000a2",
    fine: "i-0a0000000000000a3",
    wave2: "i-0a0000000000000a4",
};

interface Record_ {
    label: string;
    wave: number;
    status: string;
    note?: string;
    nextStep?: string;
}

describe("sandbox: a VM that cannot be recovered is its own outcome; the wave gate holds the rollout to its failure budget, with the real engine", function () {
    this.timeout(20 * 60 * 1000);
    const sandbox = new SandboxSession();
    let stacks = "";
    let env: Record<string, string> = {};
    after(() => stacks && fs.rmSync(stacks, { recursive: true, force: true }));

    const stackFile = (budget: string) =>
        [
            "config:",
            `  bootloop-rescue:inventory: ${path.relative(ROOT, path.join(stacks, `${STACK}.yaml`))}`,
            '  bootloop-rescue:canary: "1"',
            '  bootloop-rescue:waveSize: "3"',
            `  bootloop-rescue:failureBudget: "${budget}"`,
            "",
        ].join("\n");

    before(() => {
        fs.mkdirSync(path.join(ROOT, ".sandbox"), { recursive: true });
        stacks = fs.mkdtempSync(path.join(ROOT, ".sandbox", "faults-stacks-"));
        env = { SANDBOX_STACKS: stacks };
        const entry = (id: string, fault?: string) => [
            "  - cloud: aws",
            "    region: us-east-1",
            `    instanceId: ${id}`,
            ...(fault ? [`    labels: { sandbox-fault: ${fault} }`] : []),
        ];
        fs.writeFileSync(
            path.join(stacks, `${STACK}.yaml`),
            [
                "vms:",
                ...entry(VMS.canary),
                ...entry(VMS.nothingFound, "repair-finds-nothing"),
                ...entry(VMS.neverBoots, "never-boots"),
                ...entry(VMS.fine),
                ...entry(VMS.wave2),
                "",
            ].join("\n"),
        );
        fs.writeFileSync(path.join(stacks, `Pulumi.${STACK}.yaml`), stackFile("1"));
    });

    const records = (): Record<string, Record_> =>
        JSON.parse(sandbox.ok(["stack", "output", "vms", "--json", "--stack", STACK], env).stdout) as Record<string, Record_>;
    const byInstance = (all: Record<string, Record_>, id: string) => Object.values(all).find((r) => r.label.endsWith(`/${id}`));
    type Aws = {
        instances: Record<string, { state: string; blockDevices: Record<string, string> }>;
        snapshots?: Record<string, { volumeId: string }>;
    };
    const aws = () => sandbox.world(STACK).aws as unknown as Aws;
    const root = (world: Aws, id: string) => world.instances[id].blockDevices["/dev/sda1"];
    // Each VM's original root volume, as seeded (the world command seeds it and changes nothing).
    const original: Record<string, string> = {};
    let afterFirst: Aws;

    it("the world as seeded: each VM boot-looping on its original disk", () => {
        // Seeded as the sandbox seeds a stack before its first run (no preview needed: the offline
        // plan's tests show the gates; this test's time goes to the two ups).
        const layout = new SandboxLayout(sandbox.dir, [stacks]);
        seedWorlds(layout, STACK, stackInventory(layout, STACK));
        const world = aws();
        for (const id of Object.values(VMS)) {
            original[id] = root(world, id);
            assert.match(original[id], /^vol-/, id);
            assert.equal(world.instances[id].state, "running", id);
        }
    });

    it("up: wave 1's two failures are recorded and the rest of wave 1 recovers; wave 2's gate, over budget, stops the rollout naming them", () => {
        const r = sandbox.run(["up", "--stack", STACK, "--yes", "--non-interactive", "--policy-pack", "policy"], env);
        assert.notEqual(r.status, 0, `the gate must stop the update:\n${r.stdout.slice(-4000)}`);
        const out = r.stdout + r.stderr;
        assert.match(out, /wave 1: 2 of 3 VMs failed, over its failure budget of 1: the rollout stops before wave 2/, out.slice(-6000));
        assert.match(out, new RegExp(`- aws us-east-1/${VMS.nothingFound}: the repair found no file its rules match`));
        assert.match(out, new RegExp(`- aws us-east-1/${VMS.neverBoots}: ${VMS.neverBoots} did not boot healthy`));

        // A failed update writes no stack outputs: the chains' outcomes are read from the world.
        const world = aws();
        afterFirst = world;
        // The VM whose repair found nothing was never stopped or swapped: it runs on its original disk.
        assert.equal(world.instances[VMS.nothingFound].state, "running");
        assert.equal(root(world, VMS.nothingFound), original[VMS.nothingFound]);
        // The one whose fixed disk never boots is on it, its original kept; the others recovered.
        for (const id of [VMS.neverBoots, VMS.canary, VMS.fine]) assert.notEqual(root(world, id), original[id], id);
        // Wave 2 was never touched: still on its original disk, and no backup of it was taken.
        assert.equal(root(world, VMS.wave2), original[VMS.wave2]);
        const backedUp = Object.values(world.snapshots ?? {}).map((snap) => snap.volumeId);
        assert.ok(!backedUp.includes(original[VMS.wave2]), "no backup of wave 2's disk");
        for (const id of [VMS.canary, VMS.nothingFound, VMS.neverBoots, VMS.fine])
            assert.ok(backedUp.includes(original[id]), `${id} backed up`);
    });

    it("the operator raises the budget: the next up goes on with wave 2 only; the records say who failed, why, and what to do", () => {
        fs.writeFileSync(path.join(stacks, `Pulumi.${STACK}.yaml`), stackFile("2"));
        sandbox.ok(["up", "--stack", STACK, "--yes", "--non-interactive", "--policy-pack", "policy"], env);
        // The gate checked again and passed: its report is in the stack's state.
        const state = JSON.parse(sandbox.ok(["stack", "export", "--stack", STACK], env).stdout) as {
            deployment: { resources: { urn: string; outputs?: { stdout?: string } }[] };
        };
        const gate = state.deployment.resources.find((res) => res.urn.endsWith("::wave-2-gate"));
        assert.deepEqual(JSON.parse(gate?.outputs?.stdout ?? "null"), {
            wave: 1,
            size: 3,
            failed: 2,
            budget: 2,
            nextWave: 2,
            passed: true,
        });
        const all = records();
        const rec = (id: string) => byInstance(all, id)!;
        for (const id of [VMS.canary, VMS.fine, VMS.wave2]) assert.equal(rec(id).status, "recovered", id);
        const nothing = rec(VMS.nothingFound);
        assert.equal(nothing.status, "failed");
        assert.match(nothing.note!, /found no file its rules match/);
        assert.match(nothing.nextStep!, /nothing was swapped; the VM and its original disk are untouched/);
        const never = rec(VMS.neverBoots);
        assert.equal(never.status, "failed");
        assert.match(never.note!, /did not boot healthy within \d+ s on the fixed volume/);
        assert.match(never.nextStep!, /roll it back/);
        // A recovered VM's record carries no failure fields.
        assert.equal(rec(VMS.fine).note, undefined);
        assert.equal(rec(VMS.fine).nextStep, undefined);
        // Nothing of wave 1 ran again: the failed VMs are where the first up left them.
        const world = aws();
        for (const id of [VMS.nothingFound, VMS.neverBoots])
            assert.deepEqual(world.instances[id].blockDevices, afterFirst.instances[id].blockDevices, id);
    });

    it("retry: 1 on one failed VM sends its repair again (a request of its own), makes a new fixed disk and swap, and touches no other VM; its first fixed disk stays in the cloud", () => {
        // The operator retries the VM whose repair found nothing (here its fault is still on the
        // disk, so the retry fails again: what this proves is what a retry touches).
        const inventory = path.join(stacks, `${STACK}.yaml`);
        const text = fs.readFileSync(inventory, "utf8");
        const marked = text.replace(`    instanceId: ${VMS.nothingFound}\n`, `    instanceId: ${VMS.nothingFound}\n    retry: 1\n`);
        assert.notEqual(marked, text);
        fs.writeFileSync(inventory, marked);
        const fixedOf = (world: Aws & { volumes: Record<string, { tags?: Record<string, string> }> }, id: string) =>
            Object.entries(world.volumes)
                .filter(([, v]) => v.tags?.["bootloop-rescue:role"] === "fixed" && v.tags["bootloop-rescue:original"] === original[id])
                .map(([volumeId]) => volumeId)
                .sort();
        const before = aws() as Aws & { volumes: Record<string, { tags?: Record<string, string> }> };
        assert.equal(fixedOf(before, VMS.nothingFound).length, 1);
        const names = () =>
            (
                JSON.parse(sandbox.ok(["stack", "export", "--stack", STACK], env).stdout) as {
                    deployment: { resources: { urn: string }[] };
                }
            ).deployment.resources
                .map((res) => res.urn.slice(res.urn.lastIndexOf("::") + 2))
                // The VMs' chain steps (the rescue VMs' tools documents are named by the tools' content).
                .filter((name) => chainStepOf(name) !== undefined);
        const namesBefore = new Set(names());
        type Ssm = { ssm: { commands: Record<string, { comment?: string }> } };
        const repairsSent = () => Object.values((aws() as unknown as Ssm).ssm.commands).map((c) => c.comment ?? "");
        const sentBefore = repairsSent();
        sandbox.ok(["up", "--stack", STACK, "--yes", "--non-interactive", "--policy-pack", "policy"], env);
        const namesAfter = new Set(names());
        const added = [...namesAfter].filter((n) => !namesBefore.has(n)).sort();
        const dropped = [...namesBefore].filter((n) => !namesAfter.has(n)).sort();
        assert.equal(added.length, 3, added.join(", "));
        assert.ok(
            added.every((n) => /-(repair|fixed|swap)2$/.test(n)),
            `only the retried VM's repair, fixed disk and swap are new: ${added.join(", ")}`,
        );
        assert.deepEqual(
            dropped,
            added.map((n) => n.slice(0, -1)),
            "and each replaces its first attempt",
        );
        // The engine ran again: a repair request of attempt 2 was sent, not the first one's result taken over.
        const sentNow = repairsSent();
        assert.equal(sentNow.length, sentBefore.length + 1, "one repair sent");
        const retried = sentNow.filter((c) => /^bootloop-rescue repair of vol-[0-9a-f]+, attempt 2$/.test(c));
        assert.equal(retried.length, 1, sentNow.join("\n"));
        assert.ok(!sentBefore.includes(retried[0]));
        const rec = byInstance(records(), VMS.nothingFound)!;
        assert.equal(rec.status, "failed");
        assert.equal((rec as Record_ & { retry?: number }).retry, 1);
        assert.match(rec.note!, /found no file its rules match/);
        // Both fixed disks are in the cloud: the first, forgotten by the stack, is never deleted.
        const world = aws() as typeof before;
        assert.equal(fixedOf(world, VMS.nothingFound).length, 2);
        assert.ok(fixedOf(world, VMS.nothingFound).includes(fixedOf(before, VMS.nothingFound)[0]));
        // No other VM was touched.
        for (const id of [VMS.canary, VMS.neverBoots, VMS.fine, VMS.wave2])
            assert.deepEqual(world.instances[id].blockDevices, before.instances[id].blockDevices, id);
        assert.equal(root(world, VMS.nothingFound), original[VMS.nothingFound]);
    });

    it("state-size weighs this stack's state per VM; a stack with no state is 'not measured', exit 1, never a figure", () => {
        const measured = sandbox.ok(["state-size", "--stack", STACK, "--json"], env);
        const size = JSON.parse(measured.stdout) as { vms: number };
        assert.equal(size.vms, 5, measured.stdout.slice(0, 2000));
        // A stack with a file and an inventory, never run: the engine has no state of it.
        fs.copyFileSync(path.join(stacks, `Pulumi.${STACK}.yaml`), path.join(stacks, "Pulumi.never-run.yaml"));
        const none = sandbox.run(["state-size", "--stack", "never-run"], env);
        assert.equal(none.status, 1);
        assert.match(none.stderr, /not measured/);
        assert.equal(none.stdout, "");
    });
});
