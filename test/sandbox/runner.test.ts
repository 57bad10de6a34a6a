import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { SandboxLayout } from "../../sandbox/layout";
import { absolutePaths, stackOf, writeProject } from "../../sandbox/run";
import { renderWorlds } from "../../sandbox/world/render";

// The sandbox runner's own parts: which stack a pulumi command line names, the engine's project
// folder (the project's stack file is never written), and the world as text.

describe("sandbox: the runner", () => {
    it("takes the stack from --stack, -s, --stack= and `stack rm NAME`, and dev when none is named", () => {
        assert.equal(stackOf(["up", "--stack", "prod", "--yes"]), "prod");
        assert.equal(stackOf(["up", "-s", "eu"]), "eu");
        assert.equal(stackOf(["preview", "--stack=blue"]), "blue");
        assert.equal(stackOf(["-s=green", "refresh"]), "green");
        assert.equal(stackOf(["up", "--yes"]), "dev");
        assert.equal(stackOf(["stack", "rm", "sbx-azure", "--yes"]), "sbx-azure");
        assert.equal(stackOf(["stack", "rm", "--yes", "--force", "old"]), "old");
        assert.equal(stackOf(["stack", "output", "vms", "--stack", "prod"]), "prod");
    });

    it("reads file and folder flags (policy pack, event log, config file) from where the user ran it, as pulumi would", () => {
        assert.deepEqual(
            absolutePaths(["up", "--policy-pack", "policy", "--event-log=up.events", "--yes", "--stack", "dev"], "/home/me/proj"),
            ["up", "--policy-pack", "/home/me/proj/policy", "--event-log=/home/me/proj/up.events", "--yes", "--stack", "dev"],
        );
        assert.deepEqual(absolutePaths(["preview", "--policy-pack", "/abs/pack"], "/x"), ["preview", "--policy-pack", "/abs/pack"]);
    });

    it("gives the engine a copy of the stack's file and keeps the salt the engine wrote there; the project's file is never written", () => {
        const layout = new SandboxLayout(fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-")));
        const original = path.join(__dirname, "..", "..", "Pulumi.dev.yaml");
        const before = fs.readFileSync(original, "utf8");
        writeProject(layout, "dev");
        const copy = path.join(layout.project, "Pulumi.dev.yaml");
        assert.equal(fs.readFileSync(copy, "utf8"), before);
        assert.ok(fs.existsSync(path.join(layout.project, "Pulumi.yaml")));
        fs.writeFileSync(copy, `encryptionsalt: v1:abc:def\n${before}`);
        writeProject(layout, "dev");
        assert.equal(fs.readFileSync(copy, "utf8"), `encryptionsalt: v1:abc:def\n${before}`);
        assert.equal(fs.readFileSync(original, "utf8"), before);
    });

    it("prints each cloud's collections with each object's state, boot disk and tags, and leaves counters out", () => {
        const text = renderWorlds({
            aws: {
                instances: { "i-1": { state: "running", rootDeviceName: "/dev/sda1", tags: { Name: "web" } } },
                volumes: { "vol-1": { state: "in-use", boots: false, tags: {} } },
                throttle: {},
                account: "123456789012",
            },
            gcloud: { instances: {} },
        });
        assert.equal(
            text,
            [
                "AWS (aws)",
                "  instances (1)",
                "    i-1  state=running  rootDeviceName=/dev/sda1  tags: Name=web",
                "  volumes (1)",
                "    vol-1  state=in-use  boots=false",
                "GCP (gcloud)",
                "",
            ].join("\n"),
        );
    });

    it("refuses a stack whose inventory is invalid with exit 2, naming the file, entry and field, before anything is built or written", () => {
        const stacks = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-"));
        fs.writeFileSync(path.join(stacks, "bad.yaml"), "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-12345\n");
        fs.writeFileSync(path.join(stacks, "Pulumi.bad.yaml"), `config:\n  bootloop-rescue:inventory: ${path.join(stacks, "bad.yaml")}\n`);
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "sandbox/run.ts", "up", "--stack", "bad", "--yes"],
            {
                cwd: path.join(__dirname, "..", ".."),
                env: {
                    ...process.env,
                    SANDBOX_DIR: root,
                    SANDBOX_STACKS: stacks,
                    ENGINE_DIR: path.join(root, "no-engine"),
                    PATH: "/usr/bin:/bin",
                },
                encoding: "utf8",
            },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /bad\.yaml: vms\[0\] \(line 4\): instanceId: "i-12345" is not valid/);
        assert.deepEqual(fs.readdirSync(root), [], "nothing written");
    });

    it("fleet N writes the stack fleetN where the runner finds it (the project's stacks first), and refuses a count that is not one", () => {
        const dir = path.join(__dirname, "..", "..", ".sandbox", "fleet-stacks");
        const run = (args: string[]) =>
            spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "sandbox/run.ts", ...args], {
                cwd: path.join(__dirname, "..", ".."),
                encoding: "utf8",
            });
        const made = run(["fleet", "15"]);
        assert.equal(made.status, 0, made.stderr);
        assert.equal(made.stdout.split("\n")[0], path.join(dir, "Pulumi.fleet15.yaml"));
        const inventory = fs.readFileSync(path.join(dir, "fleet15.yaml"), "utf8");
        assert.equal((inventory.match(/^ {2}- cloud: /gm) ?? []).length, 15);
        for (const s of ["repair", "reboot", "restore"]) assert.match(inventory, new RegExp(`strategy: ${s}$`, "m"));
        const layout = new SandboxLayout(fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-")));
        assert.equal(layout.stacks("fleet15"), dir);
        assert.equal(layout.stacks("dev"), path.join(__dirname, "..", ".."));
        assert.equal(run(["fleet", "many"]).status, 2);
        assert.equal(run(["fleet", "0"]).status, 2);
    });
});
