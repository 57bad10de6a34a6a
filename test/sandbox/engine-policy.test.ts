import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { SandboxSession } from "./engine-run";

// The policy pack through the REAL engine (`up --policy-pack policy`): a mandatory violation stops
// the update before its first step, so the simulated cloud is exactly as it was seeded and the stack
// holds no resource. The violation is one an operator can really make: a BitLocker recovery password
// pasted into a label, which every resource of the VM would carry as a tag.

const ROOT = path.resolve(__dirname, "..", "..");
const PASSWORD = "123456-234567-345678-456789-567890-678901-789012-890123";

describe("sandbox: a mandatory policy violation stops the update, with the real engine", function () {
    this.timeout(20 * 60 * 1000);
    const sandbox = new SandboxSession();
    // Inventories are read from inside the project only (settings.ts); this folder is git-ignored
    // (and absent from a fresh clone until a sandbox run makes it).
    let stacks = "";
    let env: Record<string, string> = {};
    after(() => stacks && fs.rmSync(stacks, { recursive: true, force: true }));

    before(() => {
        fs.mkdirSync(path.join(ROOT, ".sandbox"), { recursive: true });
        stacks = fs.mkdtempSync(path.join(ROOT, ".sandbox", "policy-stacks-"));
        env = { SANDBOX_STACKS: stacks };
        fs.writeFileSync(
            path.join(stacks, "leak.yaml"),
            [
                "vms:",
                "  - cloud: aws",
                "    region: us-east-1",
                "    instanceId: i-0123456789abcdef0",
                `    labels: { ticket: "${PASSWORD}" }`,
                "",
            ].join("\n"),
        );
        fs.writeFileSync(
            path.join(stacks, "Pulumi.leak.yaml"),
            [
                "config:",
                `  bootloop-rescue:inventory: ${path.relative(ROOT, path.join(stacks, "leak.yaml"))}`,
                '  bootloop-rescue:canary: "1"',
                "",
            ].join("\n"),
        );
    });

    it("up --policy-pack policy names the mandatory policy and the resource, and changes nothing", () => {
        const r = sandbox.run(["up", "--stack", "leak", "--yes", "--non-interactive", "--policy-pack", "policy"], env);
        assert.notEqual(r.status, 0, `the update must not succeed:\n${r.stdout.slice(-4000)}`);
        assert.match(r.stdout, /\[mandatory\]\s+inventory-secrets-stay-secret/, r.stdout.slice(-4000));
        assert.match(r.stdout, /-backup: tags\.ticket holds a BitLocker recovery password/);
        // The password itself is in no message: the policy names where it is, never what it is.
        assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), "the recovery password is not printed");

        // Nothing was created: the world is as seeded (the VM running on its original disk, no
        // snapshot, volume or rescue instance), no CLI was called, and the stack holds no resource.
        const aws = sandbox.world("leak").aws as Record<string, Record<string, { state?: string; tags?: unknown }>>;
        assert.deepEqual(Object.keys(aws.instances), ["i-0123456789abcdef0"]);
        assert.equal(aws.instances["i-0123456789abcdef0"].state, "running");
        assert.equal(Object.keys(aws.volumes).length, 1, JSON.stringify(aws.volumes));
        assert.equal(Object.keys(aws.snapshots ?? {}).length, 0, JSON.stringify(aws.snapshots));
        const calls = fs.readFileSync(path.join(sandbox.dir, "stacks", "leak", "aws-calls.log"), "utf8");
        assert.equal(calls, "", "no step script ran");
        const state = JSON.parse(sandbox.ok(["stack", "export", "--stack", "leak"], env).stdout) as {
            deployment: { resources?: { type: string }[] };
        };
        assert.deepEqual(
            (state.deployment.resources ?? []).filter((res) => !res.type.startsWith("pulumi:")),
            [],
            "the stack holds no resource",
        );
    });
});
