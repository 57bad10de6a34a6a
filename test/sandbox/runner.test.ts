import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { spawnSync } from "child_process";
import { programNodeArgs } from "../../components/tools/node-args";
import { SandboxLayout } from "../../sandbox/layout";
import { absolutePaths, sandboxEnv, stackOf, writeProject } from "../../sandbox/run";
import { renderWorlds } from "../../sandbox/world/render";
import { standInDir } from "../../sandbox/cli/stand-ins";

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

    it("passes on none of the user's cloud credentials, and points every real CLI's sign-in at an empty folder", () => {
        const layout = new SandboxLayout(fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-")), [os.tmpdir()]);
        const user = {
            PATH: "/usr/bin",
            HOME: "/home/me",
            AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
            AWS_SECRET_ACCESS_KEY: "secret",
            AWS_SESSION_TOKEN: "token",
            AWS_PROFILE: "prod-admin",
            AWS_REGION: "eu-west-1",
            ARM_CLIENT_SECRET: "arm",
            AZURE_CLIENT_SECRET: "az",
            GOOGLE_APPLICATION_CREDENTIALS: "/home/me/key.json",
            CLOUDSDK_AUTH_ACCESS_TOKEN: "ya29",
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: "oidc",
            // Endpoints of the user's own (the watcher's SDK would send the sandbox's requests there).
            AWS_ENDPOINT_URL: "https://ec2.example.internal",
            AWS_ENDPOINT_URL_EC2: "https://vpce-0.ec2.us-east-1.vpce.amazonaws.com",
            AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
            AZURE_RESOURCE_MANAGER_ENDPOINT: "https://management.usgovcloudapi.net",
            CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: "https://compute.example.internal/compute/v1/",
        };
        const env = sandboxEnv(layout, "dev", user);
        for (const k of [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_EC2",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
            "AZURE_RESOURCE_MANAGER_ENDPOINT",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE",
        ])
            assert.equal(env[k], undefined, k);
        for (const k of [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "ARM_CLIENT_SECRET",
            "AZURE_CLIENT_SECRET",
        ])
            assert.equal(env[k], undefined, k);
        for (const k of ["GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
            assert.equal(env[k], undefined, k);
        assert.equal(env.AWS_REGION, "eu-west-1", "settings that are not credentials stay");
        assert.equal(env.HOME, "/home/me");
        for (const k of ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AZURE_CONFIG_DIR", "CLOUDSDK_CONFIG"]) {
            assert.ok(env[k]!.startsWith(layout.home), `${k}: ${env[k]}`);
            assert.ok(!fs.existsSync(env[k]!), `${k} holds no sign-in`);
        }
        assert.equal(env.AWS_EC2_METADATA_DISABLED, "true");
        assert.ok(Number(env.SHLVL) >= 1, "no step's bash takes itself for an ssh session (which reads ~/.bashrc)");
        // gcloud reads no GCE_METADATA_HOST: it asks GCE_METADATA_ROOT, unless metadata checks are off.
        assert.equal(env.CLOUDSDK_CORE_CHECK_GCE_METADATA, "false");
        assert.equal(env.GCE_METADATA_ROOT, "127.0.0.1:9");
        assert.equal(env.GCE_METADATA_IP, "127.0.0.1:9");
        assert.match(env.PATH!, /sandbox\/cli\/aws:.*sandbox\/cli\/azure:.*sandbox\/cli\/gcp:.*:\/usr\/bin$/, "the stand-ins come first");
        assert.equal(env.FAKE_AWS_STATE, layout.worldFile("dev", "aws"));
    });

    it("reads file and folder flags (policy pack, event log, config file) from where the user ran it, as pulumi would", () => {
        assert.deepEqual(
            absolutePaths(["up", "--policy-pack", "policy", "--event-log=up.events", "--yes", "--stack", "dev"], "/home/me/proj"),
            ["up", "--policy-pack", "/home/me/proj/policy", "--event-log=/home/me/proj/up.events", "--yes", "--stack", "dev"],
        );
        assert.deepEqual(absolutePaths(["preview", "--policy-pack", "/abs/pack"], "/x"), ["preview", "--policy-pack", "/abs/pack"]);
    });

    it("gives the engine a copy of the stack's file without the stack's own secrets provider and salt, keeping the salt the engine wrote; the stack's file is never written", () => {
        const stacks = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
        const layout = new SandboxLayout(fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-")), [stacks]);
        const original = path.join(stacks, "Pulumi.prod.yaml");
        const text =
            'secretsprovider: awskms://alias/prod\nencryptionsalt: v1:own:salt\nconfig:\n  bootloop-rescue:inventory: stacks/dev.yaml\n  bootloop-rescue:canary: "1"\n';
        fs.writeFileSync(original, text);
        writeProject(layout, "prod");
        const copy = path.join(layout.project, "Pulumi.prod.yaml");
        assert.deepEqual(parse(fs.readFileSync(copy, "utf8")), {
            config: { "bootloop-rescue:inventory": "stacks/dev.yaml", "bootloop-rescue:canary": "1" },
        });
        assert.ok(fs.existsSync(path.join(layout.project, "Pulumi.yaml")));
        fs.writeFileSync(copy, `encryptionsalt: v1:sandbox:salt\n${fs.readFileSync(copy, "utf8")}`);
        writeProject(layout, "prod");
        writeProject(layout, "prod");
        const again = parse(fs.readFileSync(copy, "utf8")) as Record<string, unknown>;
        assert.equal(again.encryptionsalt, "v1:sandbox:salt");
        assert.equal(again.secretsprovider, undefined);
        assert.equal(fs.readFileSync(original, "utf8"), text);
    });

    it("refuses a stack whose config holds secrets (secure:), naming the file and each key, and writes nothing", () => {
        const stacks = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
        const layout = new SandboxLayout(fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-")), [stacks]);
        fs.writeFileSync(
            path.join(stacks, "Pulumi.prod.yaml"),
            "config:\n  bootloop-rescue:inventory: stacks/dev.yaml\n  bootloop-rescue:web-2-key:\n    secure: AAABAxyz\n",
        );
        assert.throws(
            () => writeProject(layout, "prod"),
            (err: Error) => {
                assert.equal(err.name, "InputError");
                assert.match(
                    err.message,
                    /Pulumi\.prod\.yaml.*bootloop-rescue:web-2-key.*a secret \(secure:\), which the sandbox cannot decrypt/,
                );
                return true;
            },
        );
        assert.ok(!fs.existsSync(layout.project));
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
        const project = path.join(__dirname, "..", "..");
        // Inventories are read from inside the project only (as the program reads them); this folder is git-ignored.
        fs.mkdirSync(path.join(project, ".sandbox"), { recursive: true });
        const stacks = fs.mkdtempSync(path.join(project, ".sandbox", "runner-stacks-"));
        try {
            const root = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-"));
            const up = (stack: string) =>
                spawnSync(
                    process.execPath,
                    [...programNodeArgs(), "-r", "ts-node/register/transpile-only", "sandbox/run.ts", "up", "--stack", stack, "--yes"],
                    {
                        cwd: project,
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
            fs.writeFileSync(path.join(stacks, "bad.yaml"), "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-12345\n");
            fs.writeFileSync(
                path.join(stacks, "Pulumi.bad.yaml"),
                `config:\n  bootloop-rescue:inventory: ${path.relative(project, path.join(stacks, "bad.yaml"))}\n`,
            );
            const bad = up("bad");
            assert.equal(bad.status, 2, bad.stderr);
            assert.match(bad.stderr, /bad\.yaml: vms\[0\] \(line 4\): instanceId: "i-12345" is not valid/);
            // The program's own rule for the setting: an inventory outside the project is refused here too.
            fs.writeFileSync(
                path.join(stacks, "Pulumi.outside.yaml"),
                `config:\n  bootloop-rescue:inventory: ${path.join(stacks, "bad.yaml")}\n`,
            );
            const outside = up("outside");
            assert.equal(outside.status, 2, outside.stderr);
            assert.match(
                outside.stderr,
                /Pulumi\.outside\.yaml: bootloop-rescue:inventory: ".*bad\.yaml" must be a path inside the project folder/,
            );
            assert.deepEqual(fs.readdirSync(root), [], "nothing written");
        } finally {
            fs.rmSync(stacks, { recursive: true, force: true });
        }
    });

    it("fleet N writes the stack fleetN where the runner finds it (the project's stacks first), and refuses a count that is not one", function () {
        this.timeout(120_000);
        const dir = path.join(__dirname, "..", "..", ".sandbox", "fleet-stacks");
        const run = (args: string[]) =>
            spawnSync(process.execPath, [...programNodeArgs(), "-r", "ts-node/register/transpile-only", "sandbox/run.ts", ...args], {
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

    it("never runs without the engine it promises: no CLI and no Go ends 1 with the build's reason; `world` of a stack never run ends 1", function () {
        this.timeout(120_000);
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-"));
        const run = (args: string[]) =>
            spawnSync(process.execPath, [...programNodeArgs(), "-r", "ts-node/register/transpile-only", "sandbox/run.ts", ...args], {
                cwd: path.join(__dirname, "..", ".."),
                env: { ...process.env, SANDBOX_DIR: root, ENGINE_DIR: path.join(root, "no-engine"), PATH: "/usr/bin:/bin" },
                encoding: "utf8",
            });
        const up = run(["up", "--stack", "dev", "--yes"]);
        assert.equal(up.status, 1, up.stderr);
        assert.match(up.stderr, /engine: Go is not on PATH/);
        const world = run(["world", "--stack", "never-run"]);
        assert.equal(world.status, 1);
        assert.match(world.stderr, /stack never-run has no simulated cloud yet/);
        assert.equal(world.stdout, "");
        const size = run(["state-size", "--stack", "no-such-stack"]);
        assert.equal(size.status, 2, size.stderr);
        assert.match(size.stderr, /Pulumi\.no-such-stack\.yaml: no such stack file in /);
        assert.doesNotMatch(size.stderr, /ENOENT/);
        const requests = run(["world", "--requests", "--stack", "never-run"]);
        assert.equal(requests.status, 1);
        assert.match(requests.stderr, /stack never-run has no simulated cloud yet/);
    });

    it("`world --requests` reports the API requests the stack's simulated clouds answered, per cloud, scope and class", function () {
        this.timeout(120_000);
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-"));
        const layout = new SandboxLayout(root, [os.tmpdir()]);
        const file = layout.worldFile("counted", "aws");
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(
            file,
            JSON.stringify({ account: "123456789012", instances: {}, volumes: {}, ssm: { instances: {}, commands: {}, evidence: {} } }),
        );
        // Two calls of the stand-in AWS CLI against that world: each is one DescribeVolumes request.
        const aws = path.join(standInDir("aws"), "aws");
        const env = { ...process.env, FAKE_AWS_STATE: file, FAKE_AWS_LOG: path.join(root, "aws.log") };
        for (let i = 0; i < 2; i++) {
            const r = spawnSync(aws, ["ec2", "describe-volumes", "--region", "us-east-1", "--volume-ids", "vol-1"], {
                encoding: "utf8",
                env,
            });
            assert.ok(r.status !== null, r.stderr);
        }
        const report = spawnSync(
            process.execPath,
            [
                ...programNodeArgs(),
                "-r",
                "ts-node/register/transpile-only",
                "sandbox/run.ts",
                "world",
                "--requests",
                "--stack",
                "counted",
                "--json",
            ],
            {
                cwd: path.join(__dirname, "..", ".."),
                env: { ...process.env, SANDBOX_DIR: root },
                encoding: "utf8",
            },
        );
        assert.equal(report.status, 0, report.stderr);
        const { rows } = JSON.parse(report.stdout) as { rows: { cloud: string; scope: string; cls: string; requests: number }[] };
        const volumes = rows.filter((r) => r.cloud === "aws" && /DescribeVolumes/.test(r.cls));
        assert.equal(
            volumes.reduce((n, r) => n + r.requests, 0),
            2,
            report.stdout,
        );
    });

    it("measure.sh prints a figure only for what it measured: a command that leaves a process running gets none, is ended, and exits 2", function () {
        this.timeout(60_000);
        const script = path.join(__dirname, "..", "..", "scripts", "sandbox", "measure.sh");
        const ok = spawnSync("bash", [script, "bash", "-c", "exit 3"], { encoding: "utf8" });
        assert.equal(ok.status, 3, "the command's own exit code");
        assert.match(ok.stderr, /^measured: wall=[0-9.]+ cpu=[0-9.]+ peak_mb=\d+ exit=3$/m);
        const left = spawnSync("bash", [script, "bash", "-c", "setsid sleep 20 </dev/null >/dev/null 2>&1 & true"], { encoding: "utf8" });
        const survivor = spawnSync("pgrep", ["-f", "^sleep 20$"]).status === 0;
        spawnSync("pkill", ["-f", "^sleep 20$"]);
        assert.equal(left.status, 2, left.stderr);
        assert.match(left.stderr, /still run .*: not measured; they are ended/);
        assert.equal(survivor, false, "the process left running was ended");
        const groups = ["/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup"].filter((d) => fs.existsSync(d));
        const stale = groups.map((d) => path.join(d, `bootloop-measure-${left.pid}`)).filter((d) => fs.existsSync(d));
        assert.deepEqual(stale, [], "no cgroup of measure.sh left behind");
        assert.doesNotMatch(left.stderr, /measured: wall=/);
    });

    it("measure.sh with MEASURE_BY_PROCESS says which kind of process spent the CPU, and how much no sampled process accounts for", function () {
        this.timeout(120_000);
        const script = path.join(__dirname, "..", "..", "scripts", "sandbox", "measure.sh");
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "by-process-")), "cpu.tsv");
        // A busy node process given code on the command line (about 3 s of CPU), beside an idle script.
        const busy =
            "const t = () => { const u = process.cpuUsage(); return u.user + u.system; }; const end = t() + 3e6; while (t() < end);";
        // Then the script stays a while after reaping it: its children's CPU shows on its line. It stays
        // 4 s, so that a sampler slowed by a loaded machine (CI) still sees it after the reaping.
        const run = spawnSync("bash", [script, "bash", "-c", 'node -e "$0" & sleep 0.2; wait; sleep 4; true', busy], {
            encoding: "utf8",
            env: { ...process.env, MEASURE_BY_PROCESS: out },
        });
        assert.equal(run.status, 0, run.stderr);
        const rows = fs
            .readFileSync(out, "utf8")
            .trim()
            .split("\n")
            .map((l) => l.split("\t"));
        const node = rows.find((r) => r[2] === "node -e");
        assert.ok(node, fs.readFileSync(out, "utf8"));
        // Its last second may be missed (sampled once a second), never more than it spent.
        assert.ok(Number(node[0]) >= 1.5 && Number(node[0]) <= 3.5, `node -e: ${node[0]} s`);
        assert.equal(node[3], "1", "one such process");
        const parent = rows.find((r) => r[2] === "bash -c");
        assert.ok(parent && Number(parent[1]) >= 2.5, `bash -c's children: ${parent?.[1]} s`);
        assert.match(run.stderr, /^measured by process: +[0-9.]+ s {2}node -e \(1\), its children [0-9.]+ s$/m);
        assert.match(run.stderr, /^measured by process: +[0-9.]+ s {2}\(in processes shorter than a second, or their last second\)$/m);
        // A command shorter than the first sample: measured all the same, all of it unattributed.
        const short = spawnSync("bash", [script, "sleep", "0.2"], {
            encoding: "utf8",
            env: { ...process.env, MEASURE_BY_PROCESS: out },
            timeout: 30_000,
        });
        assert.equal(short.status, 0, short.stderr);
        assert.match(short.stderr, /^measured by process: +[0-9.]+ s {2}\(in processes shorter than a second, or their last second\)$/m);
        // A process that execs another program (the watcher starts as nohup) is named by what it became.
        const execs = spawnSync("bash", [script, "bash", "-c", 'sleep 1.5; exec nohup node -e "$0"', busy], {
            encoding: "utf8",
            env: { ...process.env, MEASURE_BY_PROCESS: out },
        });
        assert.equal(execs.status, 0, execs.stderr);
        assert.match(execs.stderr, /^measured by process: +[0-9.]+ s {2}node -e \(1\)/m);
        fs.rmSync(path.dirname(out), { recursive: true, force: true });
    });

    it("measure.sh whose sampler wrote no file says the per-process figures were not measured, and why, prints none and exits 2", function () {
        this.timeout(60_000);
        const script = path.join(__dirname, "..", "..", "scripts", "sandbox", "measure.sh");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "by-process-"));
        try {
            // FILE in a folder that does not exist: the sampler cannot write it. TMPDIR: measure.sh's own temporary file.
            const out = path.join(dir, "missing", "cpu.tsv");
            const run = spawnSync("bash", [script, "bash", "-c", "exit 0"], {
                encoding: "utf8",
                env: { ...process.env, MEASURE_BY_PROCESS: out, TMPDIR: dir },
                timeout: 30_000,
            });
            assert.equal(run.status, 2, run.stderr);
            assert.match(run.stderr, /^measured: wall=[0-9.]+ cpu=[0-9.]+ peak_mb=\d+ exit=0$/m, "the totals were measured");
            const line = `measured by process: not measured (the sampler wrote no ${out}; exit 1: cpu-by-process: cannot write ${out}: its folder ${path.dirname(out)} does not exist or is not writable: not measured)`;
            assert.ok(run.stderr.split("\n").includes(line), run.stderr);
            assert.doesNotMatch(run.stderr, /measured by process: +[0-9.]+ s/, "no per-process figure");
            assert.deepEqual(fs.readdirSync(dir), [], "nothing left behind");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the sampler that cannot read the cgroup's process list from the start says why, writes no file (no figure) and exits 1", function () {
        this.timeout(60_000);
        const sampler = path.join(__dirname, "..", "..", "scripts", "sandbox", "cpu-by-process.sh");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "by-process-"));
        try {
            const out = path.join(dir, "cpu.tsv");
            // Runs the sampler on `procs`, as root or through `asUser` (a command that runs another as a user).
            const sample = (procs: string, asUser: string[] = []) => {
                const argv = [...asUser, "bash", sampler, procs, out];
                return spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 30_000 });
            };
            const missing = sample(path.join(dir, "gone", "cgroup.procs"));
            assert.equal(missing.status, 1, missing.stderr);
            assert.equal(
                missing.stderr,
                `cpu-by-process: the cgroup's process list ${path.join(dir, "gone", "cgroup.procs")} does not exist: not measured\n`,
            );
            const folder = sample(dir);
            assert.equal(folder.status, 1, folder.stderr);
            assert.match(folder.stderr, /process list .* is not a file: not measured/);
            // A list its user may not read (as the sampler runs as nobody here; root reads any file).
            const locked = path.join(dir, "cgroup.procs");
            fs.writeFileSync(locked, `${process.pid}\n`, { mode: 0o000 });
            fs.chmodSync(dir, 0o777);
            const unreadable = sample(locked, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
            assert.equal(unreadable.status, 1, unreadable.stderr);
            assert.equal(unreadable.stderr, `cpu-by-process: the cgroup's process list ${locked} cannot be read: not measured\n`);
            assert.deepEqual(
                fs.readdirSync(dir),
                ["cgroup.procs"],
                "no figures file (an empty one would read as all of the CPU unattributed)",
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
