// The stand-in CLIs run in-process (sandbox/cli/<cloud>/<cli>-cli.js, as the API front runs them) and
// as their executables (sandbox/cli/<cloud>/<cli>, as the step scripts run them): the same call on
// the same world gives the same exit code, stdout and stderr byte for byte, and leaves the same world
// behind; a large answer arrives whole through a pipe; a call that fails, or throws, releases the
// world's lock and leaves nothing behind for the next call of the same process.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DiscoveryCliName, standInDir } from "../../sandbox/cli/stand-ins";

/** A call's end, as run() returns it. */
interface CallResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** A stand-in's in-process entry: `run(argv, env)`. */
type Run = (argv: string[], env: Record<string, string | undefined>) => CallResult;

/** The in-process entry of a stand-in CLI. */
function entryOf(cli: DiscoveryCliName): Run {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the stand-ins are plain JavaScript modules, without types
    const mod = require(path.join(standInDir(cli), `${cli}-cli.js`)) as { run: Run };
    return mod.run;
}

const VARS: Record<DiscoveryCliName, [string, string]> = {
    aws: ["FAKE_AWS_STATE", "FAKE_AWS_LOG"],
    az: ["FAKE_AZ_STATE", "FAKE_AZ_LOG"],
    gcloud: ["FAKE_GCLOUD_STATE", "FAKE_GCLOUD_LOG"],
};
const SUB = "11111111-2222-3333-4444-555555555555";

/** An AWS world of `n` running instances in us-east-1, each tagged (600 of them list past 64 KB). */
const awsWorld = (n: number) => ({
    account: "123456789012",
    instances: Object.fromEntries(
        Array.from({ length: n }, (_, k) => [
            `i-${String(k).padStart(8, "0")}`,
            {
                state: k === 0 ? "stopped" : "running",
                rootDeviceName: "/dev/sda1",
                blockDevices: { "/dev/sda1": `vol-${k}` },
                availabilityZone: "us-east-1a",
                tags: { Name: `web-${k}`, team: "payments", note: "a tag long enough to make the listing large" },
            },
        ]),
    ),
    volumes: Object.fromEntries(Array.from({ length: n }, (_, k) => [`vol-${k}`, { state: "in-use" }])),
    ssm: { instances: {}, commands: {}, evidence: {} },
});
const azWorld = () => ({
    vms: {
        "rg/vm-1": {
            power: "running",
            agent: "Ready",
            osDisk: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/vm-1-os`,
        },
    },
    disks: {},
});
const gcpWorld = () => ({
    instances: { "web-1": { status: "RUNNING", zone: "us-central1-a", disks: [{ source: "web-1-boot", boot: true }], serial: "" } },
    disks: { "web-1-boot": { zone: "us-central1-a" } },
    projects: [{ projectId: "my-project", projectNumber: "424242424242" }],
});

/** Calls compared, per CLI: successes, an error exit, and (aws) an answer past 64 KB. */
const CALLS: { cli: DiscoveryCliName; world: () => unknown; argv: string[]; code: number; large?: boolean }[] = [
    {
        cli: "aws",
        world: () => awsWorld(3),
        argv: ["ec2", "describe-instances", "--instance-ids", "i-00000001", "--region", "us-east-1"],
        code: 0,
    },
    {
        cli: "aws",
        world: () => awsWorld(3),
        argv: ["ec2", "stop-instances", "--instance-ids", "i-00000002", "--region", "us-east-1"],
        code: 0,
    },
    {
        cli: "aws",
        world: () => awsWorld(3),
        argv: ["ec2", "start-instances", "--instance-ids", "i-missing", "--region", "us-east-1"],
        code: 254,
    },
    {
        cli: "aws",
        world: () => awsWorld(3),
        argv: ["ec2", "start-instances", "--instance-ids", "i-00000000", "--region", "us-east-1"],
        code: 0,
    },
    { cli: "aws", world: () => awsWorld(600), argv: ["ec2", "describe-instances", "--region", "us-east-1"], code: 0, large: true },
    { cli: "az", world: azWorld, argv: ["vm", "deallocate", "-g", "rg", "-n", "vm-1", "--subscription", SUB], code: 0 },
    { cli: "az", world: azWorld, argv: ["vm", "restart", "-g", "rg", "-n", "vm-missing", "--subscription", SUB], code: 1 },
    {
        cli: "gcloud",
        world: gcpWorld,
        argv: ["compute", "instances", "stop", "web-1", "--zone", "us-central1-a", "--project", "my-project"],
        code: 0,
    },
    {
        cli: "gcloud",
        world: gcpWorld,
        argv: ["compute", "instances", "start", "web-1", "--zone", "us-central1-a", "--project", "my-project"],
        code: 1,
    },
    { cli: "gcloud", world: gcpWorld, argv: ["compute", "disks", "describe", "web-1-boot", "--zone", "us-central1-a"], code: 0 },
];

/** A world with the budget's wall-clock stamps (bucket times, peak windows) left out: two runs differ only there. */
function timeless(world: Record<string, unknown>): unknown {
    return JSON.parse(JSON.stringify(world, (k, v: unknown) => (k === "at" || k === "windowStart" ? undefined : v)));
}

describe("sandbox: the stand-in CLIs in-process and as executables", function () {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbx-inproc-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A fresh world file and call log for `cli` under `name`, and the environment naming them. */
    const setUp = (cli: DiscoveryCliName, world: unknown, name: string) => {
        const state = path.join(dir, `${name}-world.json`);
        const log = path.join(dir, `${name}-calls.log`);
        fs.writeFileSync(state, JSON.stringify(world));
        fs.writeFileSync(log, "");
        const env: Record<string, string | undefined> = {
            ...process.env,
            // A refill so slow nothing comes back during the test: both runs spend from full buckets alike.
            BOOTLOOP_RATE_SCALE: "0.000001",
            BOOTLOOP_TIME_SCALE: "",
            FAKE_OUT_LOG: "",
            [VARS[cli][0]]: state,
            [VARS[cli][1]]: log,
        };
        return { state, log, env };
    };

    for (const [n, c] of CALLS.entries()) {
        it(`${c.cli} ${c.argv.slice(0, 3).join(" ")} (exit ${c.code}${c.large ? ", past 64 KB" : ""}): the same answer, exit code and world`, function () {
            const inProc = setUp(c.cli, c.world(), `in-${n}`);
            const exe = setUp(c.cli, c.world(), `exe-${n}`);
            const mine = entryOf(c.cli)(c.argv, inProc.env);
            const theirs = spawnSync(process.execPath, [path.join(standInDir(c.cli), c.cli), ...c.argv], {
                env: exe.env,
                encoding: "utf8",
                maxBuffer: 64 * 1024 * 1024,
            });
            assert.equal(theirs.error, undefined);
            assert.equal(mine.code, c.code, mine.stderr);
            assert.equal(theirs.status, c.code, theirs.stderr);
            assert.equal(mine.stdout, theirs.stdout);
            assert.equal(mine.stderr, theirs.stderr);
            if (c.code === 0) assert.equal(mine.stderr, "");
            else assert.match(mine.stderr, /not|does not exist/);
            if (c.large) {
                assert.ok(Buffer.byteLength(theirs.stdout) > 64 * 1024, `${Buffer.byteLength(theirs.stdout)} bytes`);
                assert.equal((JSON.parse(theirs.stdout) as { Reservations: unknown[] }).Reservations.length, 600);
            }
            assert.deepEqual(
                timeless(JSON.parse(fs.readFileSync(inProc.state, "utf8")) as Record<string, unknown>),
                timeless(JSON.parse(fs.readFileSync(exe.state, "utf8")) as Record<string, unknown>),
            );
            assert.equal(fs.readFileSync(inProc.log, "utf8"), fs.readFileSync(exe.log, "utf8"));
            assert.equal(fs.readFileSync(inProc.log, "utf8"), `${JSON.stringify(c.argv)}\n`);
            // The world is written compact, and its lock is gone.
            assert.doesNotMatch(fs.readFileSync(inProc.state, "utf8"), /\n/);
            assert.equal(fs.existsSync(`${inProc.state}.lock`), false);
            assert.equal(fs.existsSync(`${exe.state}.lock`), false);
        });
    }

    it("a call that fails releases the world's lock, and the next call of the process runs on its own world", function () {
        const run = entryOf("aws");
        const a = setUp("aws", awsWorld(3), "a");
        const failed = run(["ec2", "start-instances", "--instance-ids", "i-missing", "--region", "us-east-1"], a.env);
        assert.equal(failed.code, 254);
        assert.match(failed.stderr, /InvalidInstanceID\.NotFound/);
        assert.equal(fs.existsSync(`${a.state}.lock`), false);
        // A world the call cannot read: it throws inside (a crash of the stand-in), ends with code 1,
        // says the stand-in crashed, which one and on which call, then the stack; and still releases the lock.
        const broken = setUp("aws", {}, "broken");
        fs.writeFileSync(broken.state, "{ not json");
        const crashing = ["ec2", "describe-instances", "--instance-ids", "i-00000001", "--region", "us-east-1"];
        const thrown = run(crashing, broken.env);
        assert.equal(thrown.code, 1);
        assert.equal(thrown.stdout, "");
        const [said, ...stack] = thrown.stderr.split("\n");
        assert.equal(
            said,
            `aws (stand-in) crashed: an unexpected error in the call ${JSON.stringify(crashing)} (a fault of the stand-in, not an answer of the cloud):`,
        );
        assert.match(stack[0], /^SyntaxError: /);
        assert.match(stack[1], /^ +at /, "the stack follows");
        assert.equal(fs.existsSync(`${broken.state}.lock`), false);
        // Its executable says the same: the same first two lines, code 1, nothing on stdout.
        const exe = spawnSync(process.execPath, [path.join(standInDir("aws"), "aws"), ...crashing], { env: broken.env, encoding: "utf8" });
        assert.equal(exe.status, 1, exe.stderr);
        assert.equal(exe.stdout, "");
        assert.deepEqual(exe.stderr.split("\n").slice(0, 2), [said, stack[0]]);
        assert.equal(fs.existsSync(`${broken.state}.lock`), false);
        // The same process's next call, on another world: it changes that world alone, nothing carried over.
        const b = setUp("aws", awsWorld(2), "b");
        const start = ["ec2", "start-instances", "--instance-ids", "i-00000000", "--region", "us-east-1"];
        const started = run(start, b.env);
        assert.equal(started.code, 0, started.stderr);
        assert.equal(fs.readFileSync(b.log, "utf8"), `${JSON.stringify(start)}\n`);
        assert.equal(fs.existsSync(`${b.state}.lock`), false);
        const describe = ["ec2", "describe-instances", "--instance-ids", "i-00000000", "--region", "us-east-1"];
        const stateIn = (env: Record<string, string | undefined>) =>
            (JSON.parse(run(describe, env).stdout) as { Reservations: { Instances: { State: { Name: string } }[] }[] }).Reservations[0]
                .Instances[0].State.Name;
        assert.equal(stateIn(a.env), "stopped");
        assert.equal(stateIn(b.env), "running");
    });

    it("a process's next call reads the world again when another process wrote it since, even to the same size at once", function () {
        const run = entryOf("aws");
        const w = setUp("aws", awsWorld(2), "other-writer");
        const describe = ["ec2", "describe-instances", "--instance-ids", "i-00000001", "--region", "us-east-1"];
        const stateNow = () =>
            (JSON.parse(run(describe, w.env).stdout) as { Reservations: { Instances: { State: { Name: string } }[] }[] }).Reservations[0]
                .Instances[0].State.Name;
        assert.equal(stateNow(), "running");
        // Another process (a stand-in provider, an executable) changes the world in place, to a file
        // of the same size, within the same clock tick: no time or size could tell.
        const before = fs.readFileSync(w.state, "utf8");
        const after = before.replace('"i-00000001":{"state":"running"', '"i-00000001":{"state":"stopped"');
        assert.notEqual(after, before);
        assert.equal(after.length, before.length);
        const { mtime } = fs.statSync(w.state);
        fs.writeFileSync(w.state, after);
        fs.utimesSync(w.state, mtime, mtime);
        assert.equal(stateNow(), "stopped");
        assert.equal(stateNow(), "stopped", "and the answer it saved is the one the next call starts from");
        // A call that ends without saving leaves nothing cached: the file is read as it is.
        const failed = run(["ec2", "start-instances", "--instance-ids", "i-missing", "--region", "us-east-1"], w.env);
        assert.equal(failed.code, 254);
        assert.equal(stateNow(), "stopped");
    });

    it("a call names the missing world variable instead of touching a file", function () {
        const r = entryOf("gcloud")(["compute", "instances", "describe", "web-1"], { PATH: process.env.PATH, FAKE_GCLOUD_STATE: "" });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /FAKE_GCLOUD_STATE is not set/);
        assert.equal(r.stdout, "");
    });

    it("the call's environment, not the process's, sets the budget's pace and the caller's account", function () {
        const run = entryOf("aws");
        const w = setUp("aws", awsWorld(3), "pace");
        const who = run(["sts", "get-caller-identity", "--region", "us-east-1"], { ...w.env, AWS_ACCESS_KEY_ID: "ASIA999999999999" });
        assert.equal((JSON.parse(who.stdout) as { Account: string }).Account, "999999999999");
        // StartInstances' request bucket holds 5: refilled a billion times faster than real time, a 6th
        // and 7th start pass; frozen, the 6th is throttled at once.
        const stderrs = (scale: string) => {
            const world = setUp("aws", awsWorld(3), `pace-${scale}`);
            const argv = ["ec2", "start-instances", "--instance-ids", "i-missing", "--region", "us-east-1"];
            return Array.from({ length: 7 }, () => run(argv, { ...world.env, BOOTLOOP_RATE_SCALE: scale }).stderr);
        };
        assert.equal(stderrs("1000000000").filter((e) => /RequestLimitExceeded/.test(e)).length, 0);
        assert.deepEqual(
            stderrs("0.000001").map((e) => /RequestLimitExceeded/.test(e)),
            [false, false, false, false, false, true, true],
        );
    });
});
