import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { defaultBad, parseEngineArgs } from "../../bench/engine/args";
import { CPU_PER_VM_BOUND, PEAK_MB_BOUND, Verdict, exitCodeOf, throttleVerdict, verdicts } from "../../bench/engine/bounds";
import { countCalls, summarizeSpend } from "../../bench/engine/calls";
import { engineFleet } from "../../bench/engine/fleet";
import { VmRecordLike, outcomesOf } from "../../bench/engine/outcomes";
import { NotMeasurable, checkRunnerFits } from "../../bench/engine/run";
import { benchPollSeconds } from "../../bench/engine/poll";
import { SpendSettings, costOf, holdSeconds, isSynchronous, priceTable, shapeOf } from "../../bench/engine/spend";
import { customTimeoutSeconds, stepTimes } from "../../bench/engine/timeouts";
import { CliCostFile } from "../../bench/fleet/cli-cost-prices";
import { stepEvents } from "../helpers/step-events";

// The engine bench's pure parts (bench/engine): a CLI call's argument list to its cost shape and
// price, the bounds' verdicts, the arguments, the fleet's bad VMs, the outcomes, the steps against
// their customTimeouts; and, in a second or two, the wrapper spending a call's cost before it hands
// the call to the next CLI of its name, and the runner cgroup's refusal of a runner larger than the
// machine. The real run (one `up` in a runner's cgroup) takes minutes: it is the bench, not a test.

const ROOT = path.resolve(__dirname, "..", "..");
const COSTS = JSON.parse(fs.readFileSync(path.join(ROOT, "bench/fleet/cli-cost.json"), "utf8")) as CliCostFile;
const CLI_OF: Record<string, string> = { aws: "aws", azure: "az", gcp: "gcloud" };
const settings = (over: Partial<SpendSettings> = {}): SpendSettings => ({
    table: priceTable(COSTS),
    scale: 1,
    hold: [20, 40],
    seed: "s",
    ...over,
});

describe("engine bench: a CLI call's cost shape and price", () => {
    it("maps every argument list cli-cost.json measured back to its own shape", () => {
        const measured = COSTS.calls.filter((c) => c.ok);
        assert.ok(measured.length >= 20);
        for (const c of measured) assert.equal(shapeOf(CLI_OF[c.cloud], c.argv), c.shape, JSON.stringify(c.argv));
    });

    it("names the shapes of the calls the step scripts make in the sandbox (global options skipped, words up to the first option)", () => {
        assert.equal(
            shapeOf("aws", ["--region", "us-east-1", "--output", "text", "ssm", "get-command-invocation", "--command-id", "x"]),
            "aws ssm get-command-invocation",
        );
        assert.equal(shapeOf("az", ["vm", "run-command", "show", "--subscription", "s", "-g", "g"]), "az vm run-command");
        assert.equal(shapeOf("az", ["rest", "--method", "get", "--url", "https://x"]), "az rest");
        assert.equal(shapeOf("az", ["vm", "disk", "attach", "--vm-name", "r"]), "az vm disk");
        assert.equal(
            shapeOf("gcloud", ["compute", "instances", "get-guest-attributes", "rescue-0", "--zone", "z", "--query-path=bootloop-rescue/"]),
            "gcloud compute instances get-guest-attributes",
        );
        assert.throws(() => shapeOf("kubectl", ["get"]), /not a cloud CLI/);
    });

    it("prices a measured shape at its figures and an unmeasured one at its cloud's median, saying which", () => {
        const s = settings();
        const own = costOf(s, "aws", ["--region", "r", "--output", "json", "ec2", "describe-instances", "--filters", "x"]);
        const measured = COSTS.calls.find((c) => c.shape === "aws ec2 describe-instances");
        assert.ok(measured?.ok);
        assert.deepEqual(
            [own.priced, own.cpuSeconds, own.peakRssMb, own.wallSeconds],
            ["measured", measured.cpuSeconds, measured.peakRssMb, measured.wallSeconds],
        );
        const other = costOf(s, "aws", ["--region", "r", "--output", "json", "ec2", "create-tags", "--resources", "v"]);
        assert.equal(other.priced, "median");
        assert.equal(other.cpuSeconds, s.table.aws.median.cpuSeconds);
        const awsCpu = COSTS.calls.flatMap((c) => (c.ok && c.cloud === "aws" ? [c.cpuSeconds] : [])).sort((a, b) => a - b);
        const m = awsCpu.length >> 1;
        assert.equal(s.table.aws.median.cpuSeconds, awsCpu.length % 2 ? awsCpu[m] : (awsCpu[m - 1] + awsCpu[m]) / 2);
        assert.throws(() => priceTable({ calls: COSTS.calls.filter((c) => c.cloud !== "gcp") }), /no measured call for gcp/);
    });

    it("holds a synchronous attach, detach, label or tag call 20-40 s (seeded), never one with --no-wait or --async, and no AWS call", () => {
        assert.equal(isSynchronous("az", ["vm", "disk", "attach", "--vm-name", "r"]), true);
        assert.equal(isSynchronous("az", ["disk", "update", "--ids", "d", "--set", "tags.a=b"]), true);
        assert.equal(isSynchronous("az", ["vm", "deallocate", "-n", "x", "--no-wait"]), false);
        assert.equal(isSynchronous("gcloud", ["compute", "instances", "detach-disk", "web-0", "--disk", "d"]), true);
        assert.equal(isSynchronous("gcloud", ["compute", "disks", "add-labels", "web-0", "--labels", "a=b"]), true);
        assert.equal(isSynchronous("gcloud", ["compute", "instances", "stop", "web-0", "--async"]), false);
        assert.equal(isSynchronous("aws", ["--region", "r", "ec2", "attach-volume", "--volume-id", "v"]), false);
        const attach = ["vm", "disk", "attach", "--vm-name", "rescue-0", "--name", "disk-1"];
        const a = costOf(settings(), "az", attach);
        assert.ok(a.synchronous && a.wallSeconds >= 20 && a.wallSeconds <= 40, String(a.wallSeconds));
        assert.equal(costOf(settings(), "az", attach).wallSeconds, a.wallSeconds, "the same seed and call hold the same time");
        const seeds = new Set(["a", "b", "c", "d", "e"].map((seed) => costOf(settings({ seed }), "az", attach).wallSeconds));
        assert.ok(seeds.size > 1, "the seed moves the hold");
        const scaled = costOf(settings({ scale: 0.1, hold: [30, 30] }), "az", attach);
        assert.ok(Math.abs(scaled.wallSeconds - 3) < 1e-9 && Math.abs(scaled.cpuSeconds - a.cpuSeconds * 0.1) < 1e-9);
        assert.equal(scaled.peakRssMb, a.peakRssMb, "memory is not scaled");
        // The hold is one function (the API front's GCP operations take it too): the synchronous call's wall, 0 for any other.
        assert.equal(holdSeconds(settings(), "az", attach), a.wallSeconds);
        const gcpAttach = ["compute", "instances", "attach-disk", "web-1", "--disk", "d", "--boot", "--project", "p", "--zone", "z"];
        assert.equal(holdSeconds(settings(), "gcloud", gcpAttach), costOf(settings(), "gcloud", gcpAttach).wallSeconds);
        assert.equal(holdSeconds(settings(), "gcloud", ["compute", "instances", "stop", "web-1", "--async"]), 0);
        assert.equal(holdSeconds(settings(), "gcloud", ["compute", "instances", "reset", "web-1"]), 0);
    });
});

describe("engine bench: the wrapper spends a call's cost, then hands the call on", () => {
    it("runs the next CLI of its name on PATH with the same arguments and exit code, after logging what it spent", function () {
        this.timeout(30000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-wrapper-"));
        try {
            const standIn = path.join(dir, "stand-in");
            fs.mkdirSync(standIn);
            fs.writeFileSync(path.join(standIn, "gcloud"), '#!/usr/bin/env bash\nprintf "%s|" "$@"\nexit 7\n', { mode: 0o755 });
            const costs = path.join(dir, "costs.json");
            fs.writeFileSync(costs, JSON.stringify(settings({ scale: 0.05, hold: [0, 0] })));
            const log = path.join(dir, "spend.log");
            const bin = path.join(ROOT, "bench/engine/bin");
            const r = spawnSync(path.join(bin, "gcloud"), ["compute", "instances", "list", "--filter=name=( a b )", "--quiet"], {
                env: {
                    ...process.env,
                    PATH: `${bin}:${standIn}:${process.env.PATH}`,
                    BENCH_ENGINE_COSTS: costs,
                    BENCH_ENGINE_SPEND_LOG: log,
                },
                encoding: "utf8",
            });
            assert.equal(r.status, 7, r.stderr);
            assert.equal(r.stdout, "compute|instances|list|--filter=name=( a b )|--quiet|");
            const spent = summarizeSpend(fs.readFileSync(log, "utf8"));
            assert.equal(spent.calls, 1);
            const price = COSTS.calls.find((c) => c.shape === "gcloud compute instances list");
            assert.ok(price?.ok);
            assert.ok(spent.cpuSeconds >= price.cpuSeconds * 0.05, `spent ${spent.cpuSeconds} s`);
            assert.ok(spent.peakRssMb >= price.peakRssMb, `peak ${spent.peakRssMb} MB`);
            // Without a stand-in after it on PATH, the wrapper refuses rather than call itself.
            const alone = spawnSync(path.join(bin, "gcloud"), ["compute", "instances", "list"], {
                env: { ...process.env, PATH: `${bin}:/usr/bin:/bin`, BENCH_ENGINE_COSTS: costs },
                encoding: "utf8",
            });
            assert.notEqual(alone.status, 0);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("engine bench: the bounds' verdicts", () => {
    const outcomes = { recovered: 19, failed: 1, notFinished: 0, unexpectedFailures: [], badNotFailed: [], exact: true };
    const steps = { steps: 40, ended: 40, over: [], failed: 0, longest: { name: "x-swap", seconds: 90, timeoutSeconds: 9000 } };
    const base = { vms: 20, bad: 1, spendScale: 1, outcomes, steps, watchExit: 1 };
    const of = (all: Verdict[], word: string) => all.find((v) => v.bound.includes(word))!;

    it("passes CPU and memory within the bounds and fails them beyond", () => {
        const ok = verdicts({ ...base, runner: { cpuSeconds: CPU_PER_VM_BOUND * 20, peakMb: PEAK_MB_BOUND, oomKills: 0 } });
        assert.equal(of(ok, "CPU").verdict, "PASS");
        assert.equal(of(ok, "peak memory").verdict, "PASS");
        assert.equal(of(ok, "never to boot").verdict, "PASS");
        assert.equal(of(ok, "customTimeout").verdict, "PASS");
        assert.equal(of(ok, "watch").verdict, "PASS");
        const over = verdicts({ ...base, runner: { cpuSeconds: CPU_PER_VM_BOUND * 20 + 1, peakMb: PEAK_MB_BOUND + 1, oomKills: 0 } });
        assert.equal(of(over, "CPU").verdict, "FAIL");
        assert.equal(of(over, "peak memory").verdict, "FAIL");
        assert.equal(exitCodeOf(over), 3);
    });

    it("fails the memory bound on an OOM kill and does not judge that run's CPU", () => {
        const oom = verdicts({ ...base, runner: { cpuSeconds: 1, peakMb: 7168, oomKills: 2 } });
        assert.equal(of(oom, "peak memory").verdict, "FAIL");
        assert.match(of(oom, "peak memory").detail, /OOM/);
        assert.equal(of(oom, "CPU").verdict, "not checked");
    });

    it("says not checked for what it could not measure, never PASS, and exits 4 for it", () => {
        const none = verdicts({ vms: 20, bad: 1, spendScale: 1 });
        for (const v of none) assert.equal(v.verdict, "not checked", v.bound);
        assert.equal(exitCodeOf(none), 4);
        const scaled = verdicts({ ...base, spendScale: 0.1, runner: { cpuSeconds: 1, peakMb: 1, oomKills: 0 } });
        assert.equal(of(scaled, "CPU").verdict, "not checked");
        assert.equal(of(scaled, "throttled").verdict, "not checked");
        assert.equal(exitCodeOf(scaled), 4);
        assert.equal(exitCodeOf([{ bound: "b", verdict: "PASS", detail: "" }]), 0);
    });

    it("judges throttling per scope and class from the simulated clouds' counts: at most 5 % in every class passes, more in any one fails", () => {
        const cls = (cloud: string, name: string, requests: number, throttled: number) => ({
            cloud,
            scope: `${cloud}-scope`,
            cls: name,
            requests,
            throttled,
        });
        const ok = of(
            verdicts({ ...base, requests: [cls("aws", "DescribeInstances", 1000, 50), cls("azure", "ARM reads", 200, 0)] }),
            "throttled",
        );
        assert.equal(ok.verdict, "PASS");
        assert.match(ok.detail, /the most throttled aws aws-scope DescribeInstances: 50 of 1000 \(5\.0 %\)/);
        const over = of(
            verdicts({ ...base, requests: [cls("aws", "DescribeInstances", 1000, 10), cls("gcp", "reads", 100, 6)] }),
            "throttled",
        );
        assert.equal(over.verdict, "FAIL");
        assert.match(over.detail, /over: gcp gcp-scope reads: 6 of 100/);
        // A class wholly throttled fails though its scope's many reads keep the scope under 5 %.
        const hidden = of(
            verdicts({ ...base, requests: [cls("aws", "DescribeInstances", 10000, 0), cls("aws", "StartInstances", 20, 20)] }),
            "throttled",
        );
        assert.equal(hidden.verdict, "FAIL");
        assert.match(hidden.detail, /over: aws aws-scope StartInstances: 20 of 20 \(100\.0 %\)/);
        assert.equal(of(verdicts({ ...base, requests: [] }), "throttled").verdict, "not checked");
        // A world's lock taken over from a stale holder: a count may be lost, so not a pass.
        const stolen = of(verdicts({ ...base, requests: [cls("aws", "DescribeInstances", 1000, 0)], lockTakeovers: 1 }), "throttled");
        assert.equal(stolen.verdict, "not checked");
        assert.match(stolen.detail, /lock was taken over from a stale holder 1 time/);
    });

    it("judges every scope and class by one rule, the shards' too: an expected scope without requests is not checked", () => {
        const rows = [{ cloud: "aws", scope: "1/r", cls: "DescribeInstances", requests: 10, throttled: 0 }];
        assert.equal(throttleVerdict(rows, { expected: ["aws 1/r"] }).verdict, "PASS");
        // An AWS entry naming no account is the caller's own account, which the simulated cloud counts under its id.
        const own = [{ cloud: "aws", scope: "123456789012/us-east-1", cls: "describe", requests: 10, throttled: 0 }];
        assert.equal(throttleVerdict(own, { expected: ["aws default/us-east-1"] }).verdict, "PASS");
        assert.equal(throttleVerdict(own, { expected: ["aws default/eu-west-1"] }).verdict, "not checked");
        const missing = throttleVerdict(rows, { expected: ["aws 1/r", "gcp p/r"] });
        assert.equal(missing.verdict, "not checked");
        assert.match(missing.detail, /no request counted in expected scope\(s\) gcp p\/r/);
        const zero = throttleVerdict([...rows, { cloud: "gcp", scope: "p/r", cls: "reads", requests: 0, throttled: 0 }], {
            expected: ["aws 1/r", "gcp p/r"],
        });
        assert.equal(zero.verdict, "not checked");
        // An over class fails whatever else is missing.
        assert.equal(throttleVerdict([{ ...rows[0], throttled: 1 }], { expected: ["aws 1/r", "gcp p/r"] }).verdict, "FAIL");
    });

    it("fails the outcome bound when a good VM failed, a bad one did not, or a VM did not finish; and a watch that disagrees", () => {
        const wrong = { ...outcomes, recovered: 18, failed: 1, notFinished: 1, exact: false };
        assert.equal(of(verdicts({ ...base, outcomes: wrong }), "never to boot").verdict, "FAIL");
        assert.equal(of(verdicts({ ...base, watchExit: 0 }), "watch").verdict, "FAIL");
        assert.equal(of(verdicts({ ...base, watchExit: 3 }), "watch").verdict, "FAIL");
        assert.equal(of(verdicts({ ...base, steps: { ...steps, over: ["x-swap"] } }), "customTimeout").verdict, "FAIL");
        assert.equal(of(verdicts({ ...base, steps: { ...steps, ended: 39 } }), "customTimeout").verdict, "not checked");
    });
});

describe("engine bench: arguments", () => {
    it("takes the flags with their defaults", () => {
        assert.deepEqual(parseEngineArgs(["--fleet", "20"]), parseEngineArgs(["--fleet", "20", "--engine"]), "--engine may be left out");
        const a = parseEngineArgs(["--fleet", "20", "--engine"]);
        assert.deepEqual(a, {
            n: 20,
            bad: 1,
            runner: "2x7",
            json: false,
            spendScale: 1,
            hold: [20, 40],
            seed: "bootloop-rescue",
            keep: false,
        });
        const b = parseEngineArgs([
            "--engine",
            "--fleet=250",
            "--runner",
            "4x16",
            "--bad",
            "0",
            "--spend-scale",
            "0.1",
            "--hold",
            "1-2",
            "--seed",
            "x",
            "--json",
            "--keep",
        ]);
        assert.deepEqual(b, { n: 250, bad: 0, runner: "4x16", json: true, spendScale: 0.1, hold: [1, 2], seed: "x", keep: true });
        assert.deepEqual([defaultBad(1), defaultBad(2), defaultBad(149), defaultBad(150), defaultBad(1000)], [0, 1, 1, 2, 10]);
    });

    it("has the watcher look every 15 s shortened as the waits are (0.5 s at the sandbox's 30), unless POLL_SECONDS is set", () => {
        assert.equal(benchPollSeconds({}), "0.5");
        assert.equal(benchPollSeconds({ BOOTLOOP_WAIT_SCALE: "60" }), "0.25");
        assert.equal(
            benchPollSeconds({ BOOTLOOP_WAIT_SCALE: "nonsense" }),
            "0.5",
            "the sandbox's own scale when the setting is not a number",
        );
        assert.equal(benchPollSeconds({ POLL_SECONDS: "0", BOOTLOOP_WAIT_SCALE: "60" }), "0", "an explicit setting is kept");
    });

    it("refuses each mistake, naming the flag", () => {
        const bad: [string[], RegExp][] = [
            [["--engine"], /--fleet N is required/],
            [["--fleet", "0", "--engine"], /--fleet/],
            [["--fleet", "20", "--engine", "--runner", "8x32"], /--runner/],
            [["--fleet", "20", "--engine", "--hold", "40-20"], /--hold/],
            [["--fleet", "20", "--engine", "--spend-scale", "2"], /--spend-scale/],
            [["--fleet", "20", "--engine", "--bad", "-1"], /--bad needs a value|--bad/],
            [["--fleet", "20", "--engine", "--cloud", "aws"], /model bench/],
            [["--fleet", "20", "--engine", "--fleet", "30"], /given twice/],
            [["--fleet", "20", "--engine", "--seed", "a b"], /--seed/],
            [["--fleet", "20", "--engine", "--what"], /unknown argument/],
        ];
        for (const [argv, message] of bad) assert.throws(() => parseEngineArgs(argv), message, argv.join(" "));
    });

    it("npm run bench routes --fleet N --engine to the engine bench, which exits 2 on a mistake before anything runs", function () {
        this.timeout(60000);
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "bench/bench.ts", "--fleet", "3", "--engine", "--bad", "3"],
            {
                cwd: ROOT,
                encoding: "utf8",
            },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /--bad 3: a fleet of 3 has 2 repair VMs besides the canary/);
        assert.match(r.stderr, /usage: npm run bench -- --fleet N \[--engine\]/);
        assert.equal(r.stdout, "");
    });

    it("refuses a runner larger than the machine: not measured, never a figure", () => {
        assert.throws(
            () => checkRunnerFits({ cpus: 4, memoryMb: 16384 }, "4x16", 2, 24000),
            (e: Error) => e instanceof NotMeasurable && /4 CPUs/.test(e.message),
        );
        assert.throws(() => checkRunnerFits({ cpus: 2, memoryMb: 7168 }, "2x7", 2, 4000), NotMeasurable);
        checkRunnerFits({ cpus: 2, memoryMb: 7168 }, "2x7", 2, 24000);
        const r = spawnSync(
            "bash",
            [
                path.join(ROOT, "scripts/sandbox/runner-cgroup.sh"),
                "--cpus",
                "999",
                "--memory-mb",
                "100",
                "--report",
                "/nonexistent/r.json",
                "--",
                "true",
            ],
            {
                encoding: "utf8",
            },
        );
        assert.equal(r.status, 4, r.stderr);
        assert.match(r.stderr, /larger than this machine.*not measured/);
        const usage = spawnSync("bash", [path.join(ROOT, "scripts/sandbox/runner-cgroup.sh"), "--cpus", "2", "--", "true"], {
            encoding: "utf8",
        });
        assert.equal(usage.status, 2);
    });
});

describe("engine bench: the fleet, its outcomes, calls and steps", () => {
    it("makes K repair VMs never boot, never the canary, spread over the clouds", () => {
        const f = engineFleet(60, 6);
        assert.equal(f.vms.length, 60);
        assert.equal(f.bad.length, 6);
        for (const v of f.bad) assert.ok(v.index > 0 && v.strategy === "repair");
        assert.deepEqual(new Set(f.bad.map((v) => v.cloud)), new Set(["aws", "azure", "gcp"]));
        assert.equal(f.inventory.match(/sandbox-fault: never-boots/g)?.length, 6);
        assert.throws(() => engineFleet(3, 3), /2 repair VMs besides the canary/);
        assert.equal(engineFleet(1, 0).bad.length, 0);
    });

    it("finds the bad VMs failed and the rest recovered by their records, and says what is wrong otherwise", () => {
        const f = engineFleet(6, 1);
        const rec = (i: number, status: string): [string, VmRecordLike] => {
            const v = f.vms[i];
            return [`k${i}`, { cloud: v.cloud, label: `${v.cloud} somewhere/${v.name}`, status }];
        };
        const badIndex = f.bad[0].index;
        const all = Object.fromEntries(
            f.vms.map((v) => rec(v.index, v.index === badIndex ? "failed" : v.index === 1 ? "recovered-by-reboot" : "recovered")),
        );
        assert.deepEqual(outcomesOf(all, f.vms, f.bad), {
            recovered: 5,
            failed: 1,
            notFinished: 0,
            unexpectedFailures: [],
            badNotFailed: [],
            exact: true,
        });
        const other = badIndex === 2 ? 3 : 2;
        const mixed = { ...all, ...Object.fromEntries([rec(other, "failed"), rec(badIndex, "recovered")]) };
        const o = outcomesOf(mixed, f.vms, f.bad);
        assert.equal(o.exact, false);
        assert.deepEqual(o.unexpectedFailures, [`${f.vms[other].cloud} ${f.vms[other].name}`]);
        assert.deepEqual(o.badNotFailed, [`${f.bad[0].cloud} ${f.bad[0].name}`]);
        const missing = Object.fromEntries(Object.entries(all).slice(1));
        assert.equal(outcomesOf(missing, f.vms, f.bad).notFinished, 1);
    });

    it("counts calls per cloud and shape from the call logs, and sums the spend log", () => {
        const calls = countCalls(
            {
                aws: '["--region","r","--output","json","ec2","stop-instances","--instance-ids","i-1"]\n["--region","r","--output","json","ec2","stop-instances"]\n',
                gcloud: '["compute","instances","list","--zones","z"]\n',
            },
            (cloud) => (cloud === "aws" ? 4 : 1),
        );
        const none = { requests: 0, perVm: 0, byShape: {} };
        assert.deepEqual(calls.aws, { calls: 2, perVm: 0.5, byShape: { "aws ec2 stop-instances": 2 }, api: none });
        assert.deepEqual(calls.gcp, { calls: 1, perVm: 1, byShape: { "gcloud compute instances list": 1 }, api: none });
        assert.equal(calls.azure, undefined);
        const line = (shape: string, priced: string, synchronous: boolean, wall: number) =>
            JSON.stringify({ shape, priced, synchronous, cpuSeconds: 1, wallSeconds: wall, spent: { cpuSeconds: 1.01, peakRssMb: 80 } });
        const s = summarizeSpend(
            [line("az vm disk", "median", true, 30), line("az vm show", "measured", false, 1), line("az vm disk", "median", true, 25)].join(
                "\n",
            ),
        );
        assert.deepEqual(s.pricedByMedian, { "az vm disk": 2 });
        assert.deepEqual(s.held, { calls: 2, seconds: 55 });
        assert.ok(Math.abs(s.cpuSeconds - 3.03) < 1e-9 && s.cpuTarget === 3 && s.peakRssMb === 80);
    });

    it("takes the watcher's API requests (the front's log) out of the CLI calls and counts them apart; a front line the CLI log lacks is an error", () => {
        const list = '["--region","r","--output","json","ec2","describe-instance-status","--instance-ids","i-1"]';
        const stop = '["--region","r","--output","json","ec2","stop-instances","--instance-ids","i-1"]';
        const calls = countCalls(
            { aws: [list, stop, list].join("\n") },
            () => 2,
            `{"cli":"aws","argv":${list}}\n{"cli":"aws","argv":${list}}\n`,
        );
        assert.deepEqual(calls.aws, {
            calls: 1,
            perVm: 0.5,
            byShape: { "aws ec2 stop-instances": 1 },
            api: { requests: 2, perVm: 1, byShape: { "aws ec2 describe-instance-status": 2 } },
        });
        assert.throws(() => countCalls({ aws: stop }, () => 1, `{"cli":"aws","argv":${list}}`), /not in aws-calls.log as often/);
        assert.throws(() => countCalls({ aws: stop }, () => 1, `{"cli":"kubectl","argv":[]}`), /not \{cli, argv\}/);
    });

    it("times each command step from the engine's events against the customTimeout its deadline gives it", () => {
        const { pre, done } = stepEvents("urn:pulumi:s::p::command:local:Command");
        assert.equal(customTimeoutSeconds(600), Math.ceil((600 + 3600 + 120) / 60) * 60);
        const limit = customTimeoutSeconds(60);
        const events = [
            pre("a-repair", 100, 60),
            pre("gate", 100),
            pre("b-swap", 100, 60),
            pre("c-swap", 100, 60),
            done("a-repair", 150),
            done("b-swap", 100 + limit, { failed: true }),
            done("gate", 101),
        ]
            .map((e) => JSON.stringify(e, null, 4))
            .join("\n");
        const t = stepTimes(events);
        assert.deepEqual(
            { steps: t.steps, ended: t.ended, over: t.over, failed: t.failed },
            { steps: 3, ended: 2, over: ["b-swap"], failed: 1 },
        );
        assert.deepEqual(t.longest, { name: "b-swap", seconds: limit, timeoutSeconds: limit });
    });
});
