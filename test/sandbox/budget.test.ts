// The simulated clouds' request budgets (sandbox/cli/budget.js, sandbox/world/requests.ts): token
// buckets at the published limits kept in the world, shared by every stand-in CLI process and the
// stand-in providers, and the count of API requests the report reads. No timed assertions: the
// buckets are driven with explicit times, and the CLIs run with a rate scale so small that nothing
// refills while they run.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsWatch } from "../../components/aws/watch";
import { azureWatch } from "../../components/azure/watch";
import { gcpWatch } from "../../components/gcp/watch";
import { standInDir } from "../../sandbox/cli/stand-ins";
import { providerOf } from "../../sandbox/providers/host";
import { awsStandIn } from "../../sandbox/providers/aws";
import { budget, renderRequests, requestFigures, requestsReport, scopeTotals } from "../../sandbox/world/requests";
import { SandboxLayout } from "../../sandbox/layout";
import { World, readWorld } from "../../sandbox/world/world-file";

const AWS = path.join(standInDir("aws"), "aws");
const AZ = path.join(standInDir("az"), "az");
const GCLOUD = path.join(standInDir("gcloud"), "gcloud");
const ACCOUNT = "123456789012";
const SUB = "11111111-2222-3333-4444-555555555555";
/** A refill so slow that no token comes back while a test runs (cloud seconds per wall second). */
const FROZEN = "0.000001";

const awsWorld = () => ({
    instances: {
        "i-1": { state: "stopped", rootDeviceName: "/dev/sda1", blockDevices: { "/dev/sda1": "vol-1" } },
        "i-2": { state: "running", rootDeviceName: "/dev/sda1", blockDevices: { "/dev/sda1": "vol-2" } },
        "i-3": { state: "running", rootDeviceName: "/dev/sda1", blockDevices: { "/dev/sda1": "vol-3" } },
    },
    volumes: { "vol-1": { state: "in-use" }, "vol-2": { state: "in-use" }, "vol-3": { state: "in-use" } },
    ssm: { instances: {}, commands: {}, evidence: {} },
});
const azVm = (name: string) => ({
    power: "running",
    agent: "Ready",
    osDisk: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/${name}-os`,
});
const azWorld = () => ({ vms: { "rg/vm-1": azVm("vm-1"), "rg/vm-2": azVm("vm-2"), "rg/vm-3": azVm("vm-3") }, disks: {} });
const gcpWorld = () => ({
    instances: Object.fromEntries(
        ["web-1", "web-2", "web-3"].map((n) => [
            n,
            { status: "RUNNING", zone: "us-central1-a", disks: [{ source: `${n}-boot`, boot: true }], serial: "" },
        ]),
    ),
    disks: {},
    projects: [{ projectId: "my-project", projectNumber: "424242424242" }],
});
const vmId = (name: string) => `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${name}`;

describe("sandbox: the simulated clouds' request budgets", function () {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbx-budget-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A world file of `cli` holding `world`. */
    const worldFile = (cli: string, world: unknown): string => {
        const file = path.join(dir, `${cli}-world.json`);
        fs.writeFileSync(file, JSON.stringify(world));
        return file;
    };
    const envOf = (
        files: { aws?: string; az?: string; gcloud?: string },
        scale: Record<string, string> = { BOOTLOOP_RATE_SCALE: FROZEN },
    ) => ({
        ...process.env,
        BOOTLOOP_RATE_SCALE: "",
        BOOTLOOP_TIME_SCALE: "",
        ...scale,
        FAKE_AWS_STATE: files.aws ?? "",
        FAKE_AWS_LOG: path.join(dir, "aws.log"),
        FAKE_AZ_STATE: files.az ?? "",
        FAKE_AZ_LOG: path.join(dir, "az.log"),
        FAKE_GCLOUD_STATE: files.gcloud ?? "",
        FAKE_GCLOUD_LOG: path.join(dir, "gcloud.log"),
    });
    const run = (cli: string, args: string[], env: NodeJS.ProcessEnv) => spawnSync(cli, args, { encoding: "utf8", env });
    /** The counts of a class in a scope, as the world keeps them. */
    const counted = (world: World, cloud: string, scope: string, cls: string) =>
        (world.budget.counts[cloud][scope] as Record<string, { requests: number; throttled: number }>)[cls];

    it("a bucket empties at its size and refills at the published rate times the rate scale; a throttled request takes nothing", () => {
        const world: World = {};
        const start = budget.ec2Request(`${ACCOUNT}/us-east-1`, "StartInstances", { instances: 1 });
        // StartInstances: a request bucket of 5 refilling 2 a second (EC2's uncategorized actions).
        assert.deepEqual(
            start.buckets.map((b) => [b.key, b.capacity, b.perSecond, b.cost]),
            [
                [`${ACCOUNT}/us-east-1|StartInstances`, 5, 2, 1],
                [`${ACCOUNT}/us-east-1|StartInstances instances`, 1000, 2, 1],
            ],
        );
        const t0 = 1_000_000;
        for (let n = 0; n < 5; n++) assert.deepEqual(budget.spend(world, start, t0, 1), { ok: true });
        assert.deepEqual(budget.spend(world, start, t0, 1), {
            ok: false,
            bucket: `${ACCOUNT}/us-east-1|StartInstances`,
            retryAfterSeconds: 1,
        });
        // Half a second at scale 1 brings one token back (2/s); the throttled request took none.
        assert.deepEqual(budget.spend(world, start, t0 + 499, 1).ok, false);
        assert.deepEqual(budget.spend(world, start, t0 + 500, 1), { ok: true });
        assert.equal(budget.spend(world, start, t0 + 500, 1).ok, false);
        // At scale 1000 the same token comes back in half a millisecond of wall time.
        assert.equal(budget.spend(world, start, t0 + 501, 1000).ok, true);
        // Refilling stops at the bucket's size: an hour later, five go through and the sixth does not.
        for (let n = 0; n < 5; n++) assert.equal(budget.spend(world, start, t0 + 3_600_000, 1).ok, true);
        assert.equal(budget.spend(world, start, t0 + 3_600_000, 1).ok, false);
        const c = counted(world, "aws", `${ACCOUNT}/us-east-1`, "StartInstances");
        assert.deepEqual([c.requests, c.throttled], [16, 4]);
        // The resource bucket (1000, 2/s) spends one token per instance that got through: full again after the hour, less those five.
        assert.equal(Math.round(world.budget.buckets[`${ACCOUNT}/us-east-1|StartInstances instances`].tokens), 995);
    });

    it("BOOTLOOP_RATE_SCALE sets the refill per wall second, else BOOTLOOP_TIME_SCALE, else 1 (real time)", () => {
        assert.equal(budget.rateScale({ BOOTLOOP_RATE_SCALE: "1", BOOTLOOP_TIME_SCALE: "1000" }), 1);
        assert.equal(budget.rateScale({ BOOTLOOP_TIME_SCALE: "1000" }), 1000);
        assert.equal(budget.rateScale({ BOOTLOOP_RATE_SCALE: "", BOOTLOOP_TIME_SCALE: "250" }), 250);
        assert.equal(budget.rateScale({}), 1);
        assert.equal(budget.rateScale({ BOOTLOOP_RATE_SCALE: "fast", BOOTLOOP_TIME_SCALE: "-3" }), 1);
        // Through a CLI: the same emptied bucket refuses at BOOTLOOP_RATE_SCALE=1 (no token in the
        // process's lifetime would do) … and at the sandbox's BOOTLOOP_TIME_SCALE=1e9 refills at once.
        const file = worldFile("aws", awsWorld());
        const empty = () => {
            const w = JSON.parse(fs.readFileSync(file, "utf8"));
            w.budget = { buckets: { [`${ACCOUNT}/us-east-1|StartInstances`]: { tokens: 0, at: Date.now() + 60_000 } }, counts: {} };
            fs.writeFileSync(file, JSON.stringify(w));
        };
        empty();
        const args = ["--region", "us-east-1", "ec2", "start-instances", "--instance-ids", "i-1"];
        assert.equal(run(AWS, args, envOf({ aws: file }, { BOOTLOOP_RATE_SCALE: "1" })).status, 254);
        const w = JSON.parse(fs.readFileSync(file, "utf8"));
        w.budget.buckets[`${ACCOUNT}/us-east-1|StartInstances`].at = Date.now() - 1;
        fs.writeFileSync(file, JSON.stringify(w));
        assert.equal(run(AWS, args, envOf({ aws: file }, { BOOTLOOP_TIME_SCALE: "1000000000" })).status, 0);
    });

    it("one VM's own bucket refills in cloud time (BOOTLOOP_TIME_SCALE), a scope's in the rate scale's: a bench's compressed restarts meet the per-VM limit as the cloud's would", () => {
        const world: World = {};
        const update = budget.armRequest(SUB, "restart", "write", "Update VM", "rg/vm-1");
        const env = { BOOTLOOP_RATE_SCALE: "1", BOOTLOOP_TIME_SCALE: "1000" };
        const [subscription, vm] = [update.buckets.find((b) => !b.perObject)!, update.buckets.find((b) => b.perObject)!];
        assert.match(vm.key, / vm rg\/vm-1$/);
        assert.equal(subscription.perObject, undefined);
        // Every token of both spent at t0; one wall second later the VM's bucket (4 a minute, in
        // cloud time at 1000x: 66 cloud seconds' worth) is full again, the subscription's ARM writes
        // (10 a second, in real time) hold 10.
        const t0 = 5_000_000;
        const buckets = {
            [vm.key]: { tokens: 0, at: t0 },
            [subscription.key]: { tokens: 0, at: t0 },
            [`${SUB}|Compute Update VM`]: { tokens: 1500, at: t0 },
        };
        world.budget = { buckets, counts: {} };
        assert.deepEqual(
            budget.spend(world, update, t0 + 1000, budget.rateScale(env), budget.objectScale(budget.rateScale(env), env)),
            { ok: true },
            "with BOOTLOOP_TIME_SCALE in force",
        );
        const held = world.budget.buckets as Record<string, { tokens: number }>;
        assert.equal(Math.round(held[vm.key].tokens), 11);
        assert.equal(Math.round(held[subscription.key].tokens), 9);
        assert.equal(budget.objectScale(1, env), 1000);
        assert.equal(budget.objectScale(0.5, {}), 0.5, "no time scale: the rate scale");
    });

    it("a burst over the limit is throttled with each cloud's own error, which the watcher takes for throttling", () => {
        // AWS: StartInstances' bucket of 5; the sixth in a burst gets RequestLimitExceeded.
        const stopped = awsWorld();
        for (let n = 4; n <= 6; n++) (stopped.instances as Record<string, unknown>)[`i-${n}`] = { ...stopped.instances["i-1"] };
        for (const i of Object.values(stopped.instances)) i.state = "stopped";
        const aws = worldFile("aws", stopped);
        const start = (i: number) => ["--region", "us-east-1", "ec2", "start-instances", "--instance-ids", `i-${i}`];
        for (let n = 1; n <= 5; n++) assert.equal(run(AWS, start(n), envOf({ aws })).status, 0, `start ${n}`);
        const stop = ["--region", "us-east-1", "ec2", "stop-instances", "--instance-ids", "i-1"];
        assert.equal(run(AWS, stop, envOf({ aws })).status, 0, "StopInstances spends a bucket of its own");
        const awsOver = run(AWS, start(6), envOf({ aws }));
        assert.equal(awsOver.status, 254);
        assert.equal(
            awsOver.stderr,
            "\nAn error occurred (RequestLimitExceeded) when calling the StartInstances operation (reached max retries: 2): Request limit exceeded.\n",
        );
        assert.ok(awsWatch.throttling(awsOver.stderr) && awsWatch.transient(awsOver.stderr));
        assert.equal(readWorld(aws).instances["i-6"].state, "stopped", "the throttled start changed nothing");

        // Azure: Compute's Update VM policy allows a VM a burst of 12 (4 a minute after).
        const az = worldFile("az", azWorld());
        const restart = ["vm", "restart", "-g", "rg", "-n", "vm-1", "--subscription", SUB];
        for (let n = 0; n < 12; n++) {
            const w = JSON.parse(fs.readFileSync(az, "utf8"));
            w.vms["rg/vm-1"].power = "running";
            fs.writeFileSync(az, JSON.stringify(w));
            assert.equal(run(AZ, restart, envOf({ az })).status, 0, `restart ${n + 1}`);
        }
        const w = JSON.parse(fs.readFileSync(az, "utf8"));
        w.vms["rg/vm-1"].power = "running";
        fs.writeFileSync(az, JSON.stringify(w));
        const azOver = run(AZ, restart, envOf({ az }));
        assert.equal(azOver.status, 1);
        assert.match(
            azOver.stderr,
            /^ERROR: \(TooManyRequests\) The server rejected the request because too many requests have been received for this subscription\. Operation group 'Update VM' for this virtual machine: please try again after '15' seconds\.\nCode: TooManyRequests\n$/,
        );
        assert.ok(azureWatch.throttling(azOver.stderr) && azureWatch.transient(azOver.stderr));
        assert.equal(
            run(AZ, ["vm", "restart", "-g", "rg", "-n", "vm-2", "--subscription", SUB], envOf({ az })).status,
            0,
            "another VM has its own",
        );

        // GCP: the per-minute read quota, emptied, refuses a describe with Compute Engine's quota error.
        const gcloud = worldFile("gcloud", gcpWorld());
        const g = JSON.parse(fs.readFileSync(gcloud, "utf8"));
        g.budget = { buckets: { "my-project/us-central1|read": { tokens: 0, at: Date.now() + 60_000 } }, counts: {} };
        fs.writeFileSync(gcloud, JSON.stringify(g));
        const gOver = run(
            GCLOUD,
            ["compute", "instances", "describe", "web-1", "--zone", "us-central1-a", "--project", "my-project"],
            envOf({ gcloud }),
        );
        assert.equal(gOver.status, 1);
        assert.equal(
            gOver.stderr,
            "ERROR: (gcloud.compute.instances.describe) Could not fetch resource:\n - Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per region' of service 'compute.googleapis.com' for consumer 'project_number:424242424242'.\n",
        );
        assert.ok(gcpWatch.throttling(gOver.stderr));
        const reads = counted(readWorld(gcloud), "gcp", "my-project/us-central1", "read");
        assert.deepEqual([reads.requests, reads.throttled], [1, 1]);
    });

    it("a batched call counts as the cloud counts it: az --ids one request per VM; describe-instances and a filtered list one request", () => {
        const az = worldFile("az", azWorld());
        assert.equal(run(AZ, ["vm", "get-instance-view", "--ids", vmId("vm-1"), vmId("vm-2"), vmId("vm-3")], envOf({ az })).status, 0);
        const lowCost = counted(readWorld(az), "azure", SUB, "Low Cost Get VM (ARM read)");
        assert.equal(lowCost.requests, 3);
        // Each VM's own Low Cost Get bucket spent one token (36 when full).
        for (const vm of ["vm-1", "vm-2", "vm-3"])
            assert.equal(Math.round(readWorld(az).budget.buckets[`${SUB}|Compute Low Cost Get VM vm rg/${vm}`].tokens), 35);

        const aws = worldFile("aws", awsWorld());
        const described = run(
            AWS,
            ["--region", "us-east-1", "ec2", "describe-instances", "--instance-ids", "i-1", "i-2", "i-3"],
            envOf({ aws }),
        );
        assert.equal(described.status, 0);
        assert.equal(JSON.parse(described.stdout).Reservations.length, 3);
        // No filter, no pagination: the smaller bucket (50, 10/s), one token for the three ids.
        const d = counted(readWorld(aws), "aws", `${ACCOUNT}/us-east-1`, "DescribeInstances (unfiltered non-mutating)");
        assert.equal(d.requests, 1);
        assert.equal(Math.round(readWorld(aws).budget.buckets[`${ACCOUNT}/us-east-1|DescribeInstances (unfiltered)`].tokens), 49);
        run(AWS, ["--region", "us-east-1", "ec2", "describe-instances", "--filters", "Name=instance-id,Values=i-1,i-2"], envOf({ aws }));
        assert.equal(counted(readWorld(aws), "aws", `${ACCOUNT}/us-east-1`, "DescribeInstances (non-mutating)").requests, 1);
        // StopInstances of two instances: one request token, two resource tokens.
        run(AWS, ["--region", "us-east-1", "ec2", "stop-instances", "--instance-ids", "i-2", "i-3"], envOf({ aws }));
        assert.equal(Math.round(readWorld(aws).budget.buckets[`${ACCOUNT}/us-east-1|StopInstances instances`].tokens), 998);

        const gcloud = worldFile("gcloud", gcpWorld());
        run(
            GCLOUD,
            ["compute", "instances", "list", "--zones", "us-central1-a", "--filter=name=( web-1 web-2 web-3 )", "--project", "my-project"],
            envOf({ gcloud }),
        );
        assert.equal(counted(readWorld(gcloud), "gcp", "my-project/us-central1", "list").requests, 1);
        // A stop is a mutation and, waited for, one poll of its operation.
        run(GCLOUD, ["compute", "instances", "stop", "web-1", "--zone", "us-central1-a", "--project", "my-project"], envOf({ gcloud }));
        assert.equal(counted(readWorld(gcloud), "gcp", "my-project/us-central1", "mutation").requests, 1);
        assert.equal(counted(readWorld(gcloud), "gcp", "my-project/us-central1", "operation read").requests, 1);
    });

    it("two stand-in CLI processes and the stand-in provider spend from one bucket of one world", async () => {
        const aws = worldFile("aws", awsWorld());
        // DescribeVolumes with a filter (the CLI) and the provider's getVolume lookup: one bucket, 3 tokens left.
        const w = JSON.parse(fs.readFileSync(aws, "utf8"));
        const key = `${ACCOUNT}/us-east-1|DescribeVolumes`;
        w.budget = { buckets: { [key]: { tokens: 3, at: Date.now() + 60_000 } }, counts: {} };
        fs.writeFileSync(aws, JSON.stringify(w));
        const env = envOf({ aws });
        const args = ["--region", "us-east-1", "ec2", "describe-volumes", "--filters", "Name=volume-id,Values=vol-1"];
        const both = await Promise.all(
            [1, 2].map(
                () =>
                    new Promise<number | null>((resolve) => {
                        const child = spawn(AWS, args, { env, stdio: "ignore" });
                        child.on("close", resolve);
                    }),
            ),
        );
        assert.deepEqual(both, [0, 0]);
        const saved = { state: process.env.FAKE_AWS_STATE, scale: process.env.BOOTLOOP_RATE_SCALE };
        process.env.FAKE_AWS_STATE = aws;
        process.env.BOOTLOOP_RATE_SCALE = FROZEN;
        try {
            await providerOf(awsStandIn).invoke!("aws:ebs/getVolume:getVolume", {
                region: "us-east-1",
                filters: [{ name: "volume-id", values: ["vol-1"] }],
            }).catch(() => undefined);
        } finally {
            if (saved.state === undefined) delete process.env.FAKE_AWS_STATE;
            else process.env.FAKE_AWS_STATE = saved.state;
            if (saved.scale === undefined) delete process.env.BOOTLOOP_RATE_SCALE;
            else process.env.BOOTLOOP_RATE_SCALE = saved.scale;
        }
        const after = readWorld(aws);
        assert.ok(after.budget.buckets[key].tokens < 1e-3, `no token left: ${after.budget.buckets[key].tokens}`);
        assert.equal(counted(after, "aws", `${ACCOUNT}/us-east-1`, "DescribeVolumes (non-mutating)").requests, 3);
        // The next CLI call finds the bucket the provider emptied.
        assert.equal(run(AWS, args, env).status, 254);
    });

    it("the report gives per cloud and scope each class's requests, throttled, % throttled and peak rate against its bucket", () => {
        const world: World = {};
        const t0 = 5_000_000;
        const describe = budget.ec2Request(`${ACCOUNT}/eu-west-1`, "DescribeInstances", { unfiltered: true });
        for (let n = 0; n < 60; n++) budget.spend(world, describe, t0, 1); // 50 pass, 10 throttled, in one window
        const read = budget.armRequest(SUB, "VirtualMachines.InstanceView", "read", "Low Cost Get VM", "rg/vm-1");
        budget.spend(world, read, t0, 1);
        const rows = requestFigures({ aws: world, az: world });
        const d = rows.find((r) => r.cloud === "aws")!;
        assert.deepEqual(
            [d.scope, d.cls, d.requests, d.throttled, d.throttledPercent, d.peakPerSecond],
            [
                `${ACCOUNT}/eu-west-1`,
                "DescribeInstances (unfiltered non-mutating)",
                60,
                10,
                (100 * 10) / 60,
                60 / budget.PEAK_WINDOW_SECONDS,
            ],
        );
        assert.deepEqual(d.buckets, [{ key: `${ACCOUNT}/eu-west-1|DescribeInstances (unfiltered)`, capacity: 50, perSecond: 10 }]);
        const a = rows.find((r) => r.cloud === "azure")!;
        assert.deepEqual([a.scope, a.cls, a.requests, a.throttled], [SUB, "Low Cost Get VM (ARM read)", 1, 0]);
        assert.deepEqual(
            a.buckets.map((b) => [b.capacity, Math.round(b.perSecond * 60)]),
            [
                [250, 1500],
                [24000, 8000],
                [36, 12],
            ],
        );
        assert.deepEqual(scopeTotals(rows), [
            { cloud: "aws", scope: `${ACCOUNT}/eu-west-1`, requests: 60, throttled: 10, throttledPercent: (100 * 10) / 60 },
            { cloud: "azure", scope: SUB, requests: 1, throttled: 0, throttledPercent: 0 },
        ]);
        const text = renderRequests(rows);
        assert.equal(
            text,
            `aws ${ACCOUNT}/eu-west-1: 60 requests, 10 throttled (16.7 %)\n` +
                `  DescribeInstances (unfiltered non-mutating): 60 requests, 10 throttled (16.7 %), peak 6.0/s; bucket 50 refilling 10/s (DescribeInstances (unfiltered))\n` +
                `azure ${SUB}: 1 requests, 0 throttled (0.0 %)\n` +
                `  Low Cost Get VM (ARM read): 1 requests, 0 throttled (0.0 %), peak 0.10/s; bucket 36 refilling 0.20/s (Compute Low Cost Get VM, per VM)\n`,
        );
        assert.equal(renderRequests([]), "no API requests counted yet\n");

        // For a stack: its world files as they are; JSON with the totals per scope; none yet, exit 1.
        const layout = new SandboxLayout(dir);
        assert.equal(requestsReport(layout, "s1", false).code, 1);
        fs.mkdirSync(layout.stackDir("s1"), { recursive: true });
        fs.writeFileSync(layout.worldFile("s1", "aws"), JSON.stringify(world));
        assert.deepEqual(requestsReport(layout, "s1", false), {
            code: 0,
            stdout: renderRequests(rows.filter((r) => r.cloud === "aws")),
            stderr: "",
        });
        const json = JSON.parse(requestsReport(layout, "s1", true).stdout);
        assert.deepEqual(json.totals, [
            { cloud: "aws", scope: `${ACCOUNT}/eu-west-1`, requests: 60, throttled: 10, throttledPercent: (100 * 10) / 60 },
        ]);
        assert.equal(json.rows.length, 1);
    });
});

describe("sandbox: the AWS stand-in's Systems Manager status of a repair", function () {
    it("ends Success for the engine's exit codes 0, 3, 4 and 5 (on-rescue.sh exits 0 for them off Azure) and Failed for 6", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sbx-ssm-"));
        try {
            const onRescue = fs.readFileSync(path.join(__dirname, "..", "..", "rescue", "on-rescue.sh"), "utf8");
            assert.match(onRescue, /case \$code in 3 \| 4 \| 5\) exit 0 ;; esac/, "on-rescue.sh still exits 0 for 3, 4 and 5");
            const statuses: Record<number, string[]> = {};
            for (const code of [0, 3, 4, 5, 6]) {
                const file = path.join(dir, `world-${code}.json`);
                fs.writeFileSync(
                    file,
                    JSON.stringify({
                        instances: {},
                        volumes: {},
                        ssm: {
                            instances: {},
                            commands: { "c-1": { instance: "i-r", document: "repair", volumeId: "vol-9", polls: 0 } },
                            evidence: { "vol-9": { outcome: "x", exitCode: code } },
                        },
                    }),
                );
                const env = { ...process.env, FAKE_AWS_STATE: file, FAKE_AWS_LOG: path.join(dir, "log") };
                const list = spawnSync(AWS, ["--region", "us-east-1", "ssm", "list-command-invocations", "--instance-id", "i-r"], {
                    encoding: "utf8",
                    env,
                });
                const one = spawnSync(
                    AWS,
                    ["--region", "us-east-1", "ssm", "get-command-invocation", "--command-id", "c-1", "--instance-id", "i-r"],
                    {
                        encoding: "utf8",
                        env,
                    },
                );
                statuses[code] = [JSON.parse(list.stdout).CommandInvocations[0].Status, JSON.parse(one.stdout).Status];
            }
            assert.deepEqual(statuses, {
                0: ["Success", "Success"],
                3: ["Success", "Success"],
                4: ["Success", "Success"],
                5: ["Success", "Success"],
                6: ["Failed", "Failed"],
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
