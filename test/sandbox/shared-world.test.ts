// Shards on one simulated cloud (`npm run sandbox -- share-world`): stacks whose VMs are in the same
// accounts, subscriptions and projects read and write one world, so their requests meet the same
// budgets and are counted together, as in the clouds. No engine: the stand-in CLIs are called as
// the steps call them, with each stack's own sandbox environment.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { standInDir } from "../../sandbox/cli/stand-ins";
import { PROJECT_DIR, SandboxLayout } from "../../sandbox/layout";
import { sandboxEnv } from "../../sandbox/run";
import { fleetInventory, writeFleetStack } from "../../sandbox/world/fleet-stack";
import { seedWorlds, stackInventory } from "../../sandbox/world/seed";
import { shareWorld } from "../../sandbox/world/shared";
import { readWorld } from "../../sandbox/world/world-file";

const AWS = path.join(standInDir("aws"), "aws");

/** Writes stack `stack` whose inventory is the entries `from`..`to` (exclusive) of the sandbox's mixed fleet. */
function writeSlice(dir: string, stack: string, from: number, to: number): void {
    writeFleetStack(stack, to, dir);
    const [head, ...entries] = fleetInventory(to).split(/(?=^ {2}- cloud:)/m);
    fs.writeFileSync(path.join(dir, `${stack}.yaml`), head + entries.slice(from, to).join(""));
}

describe("sandbox: shards on one simulated cloud (share-world)", function () {
    this.timeout(60_000);
    let root: string;
    let stacks: string;
    let layout: SandboxLayout;
    beforeEach(() => {
        // Inventories must be inside the project (the program's rule); .sandbox/ is ignored by git.
        // A fresh clone has no .sandbox/ until a sandbox command made it.
        fs.mkdirSync(path.join(PROJECT_DIR, ".sandbox"), { recursive: true });
        stacks = fs.mkdtempSync(path.join(PROJECT_DIR, ".sandbox", "test-shared-"));
        root = path.join(stacks, "sandbox");
        layout = new SandboxLayout(root, [stacks]);
        writeSlice(stacks, "sa", 0, 6);
        writeSlice(stacks, "sb", 6, 12);
    });
    afterEach(() => fs.rmSync(stacks, { recursive: true, force: true }));

    it("seeds one world per cloud from every stack's inventory, which each stack's stand-ins then read and write", function () {
        const a = stackInventory(layout, "sa");
        const b = stackInventory(layout, "sb");
        assert.equal(a.length + b.length, 12);
        assert.equal(new Set([...a, ...b].map((vm) => vm.key)).size, 12, "the two stacks are disjoint");

        const made = shareWorld(layout, "one-scope", ["sa", "sb"]);
        assert.deepEqual(made.stacks, ["sa", "sb"]);
        assert.deepEqual(made.vmsByCloud, { aws: 4, azure: 4, gcp: 4 });
        for (const cli of ["aws", "az", "gcloud"] as const) {
            assert.equal(layout.worldFile("sa", cli), layout.worldFile("sb", cli));
            assert.equal(path.dirname(layout.worldFile("sa", cli)), path.join(root, "worlds", "one-scope"));
        }
        const world = readWorld(layout.worldFile("sa", "aws")) as { instances: Record<string, unknown> };
        const awsIds = [...a, ...b].filter((vm) => vm.cloud === "aws").map((vm) => vm.fields.instanceId);
        assert.deepEqual(Object.keys(world.instances).sort(), [...awsIds].sort(), "every stack's AWS instances, in one world");
        // A member's first run finds its world there and seeds nothing of its own.
        assert.deepEqual(seedWorlds(layout, "sb", b), []);
        assert.equal(fs.existsSync(path.join(layout.stackDir("sb"), "aws-world.json")), false);

        // Stack sb's stand-in CLI sees stack sa's instance, and both stacks' calls are in one log.
        const vmOfA = a.find((vm) => vm.cloud === "aws")!;
        const vmOfB = b.find((vm) => vm.cloud === "aws" && vm.fields.region === vmOfA.fields.region)!;
        for (const [stack, vm] of [
            ["sb", vmOfA],
            ["sa", vmOfB],
        ] as const) {
            const env = { ...sandboxEnv(layout, stack), BOOTLOOP_RATE_SCALE: "1" };
            const r = spawnSync(
                AWS,
                ["--region", vm.fields.region, "--output", "json", "ec2", "describe-instances", "--instance-ids", vm.fields.instanceId],
                {
                    env,
                    encoding: "utf8",
                },
            );
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, new RegExp(vm.fields.instanceId));
        }
        const calls = fs.readFileSync(layout.callLog("sa", "aws"), "utf8").trim().split("\n");
        assert.equal(calls.length, 2, "both stacks' calls in the shared world's log");
        assert.equal(layout.callLog("sb", "aws"), layout.callLog("sa", "aws"));
        // A stack outside the world keeps its own.
        assert.equal(layout.sharedWorldOf("other"), undefined);
        assert.equal(layout.worldFile("other", "aws"), path.join(layout.stackDir("other"), "aws-world.json"));
    });

    it("refuses, writing nothing: a taken name, one stack, a stack listed twice or already sharing, a stack with a world of its own, a VM in two stacks", function () {
        const refused = (name: string, list: string[], pattern: RegExp) => {
            const before = fs.existsSync(layout.worldsDir) ? fs.readdirSync(layout.worldsDir).sort() : [];
            assert.throws(
                () => shareWorld(layout, name, list),
                (err: Error) => err.name === "InputError" && pattern.test(err.message),
            );
            const after = fs.existsSync(layout.worldsDir) ? fs.readdirSync(layout.worldsDir).sort() : [];
            assert.deepEqual(after, before, "nothing written");
        };
        refused("w", ["sa"], /at least two stacks/);
        refused("a.b", ["sa", "sb"], /world name "a\.b"/);
        refused("w", ["sa", "sa", "sb"], /listed twice/);
        writeSlice(stacks, "sc", 3, 9);
        refused("w", ["sa", "sc"], /VM .* is in stack sa too/);
        // A stack that ran before has a world of its own: it would be left behind.
        writeSlice(stacks, "sd", 12, 15);
        seedWorlds(layout, "sd", stackInventory(layout, "sd"));
        refused("w", ["sa", "sd"], /stack sd has a simulated cloud of its own already/);
        shareWorld(layout, "w", ["sa", "sb"]);
        refused("w", ["sa", "sb"], /the shared world w exists already/);
        writeSlice(stacks, "se", 15, 18);
        refused("w2", ["sa", "se"], /stack sa uses the shared world w already/);
    });
});
