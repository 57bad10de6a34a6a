import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { parseEngineArgs } from "../../bench/engine/args";
import { engineFleet } from "../../bench/engine/fleet";
import { planShardSplit } from "../../bench/engine/shards/plan";
import { allShardsFigures, machineOomKills, machineShare } from "../../bench/engine/shards/machine";
import { renderShards } from "../../bench/engine/shards/render";
import { ShardsBenchResult, shardJobFiles, shardRunnerFigures, shardsFleet } from "../../bench/engine/shards/run";
import { splitFleet } from "../../bench/engine/shards/split";
import { budgetScopeOf } from "../../bench/engine/budget-scope";
import {
    ShardRun,
    budgetVerdict,
    scopeBudgets,
    shardMemoryVerdict,
    shardGateVerdict,
    shardStepsVerdict,
    shardWatchVerdict,
    shardsVerdict,
} from "../../bench/engine/shards/verdicts";
import { RequestFigures } from "../../sandbox/world/requests";
import { stepEvents } from "../helpers/step-events";
import { fleetInventory } from "../../sandbox/world/fleet-stack";

// The shards bench's parts (bench/engine/shards): --shards, the fleet in one scope per cloud, the
// split worked out before anything runs and the real `npm run shard`'s split read back, and the
// verdicts from fixtures of a shared world's counts, the shards' outcomes and their own runners'
// figures, and the header saying when the K runners share this machine. The real run (K ups at
// once, each in a runner cgroup of its own) is test/sandbox/engine-shards.test.ts.

const ROOT = path.resolve(__dirname, "..", "..");

describe("shards bench: --shards", () => {
    it("takes --shards K and leaves it out without the flag", () => {
        assert.equal(parseEngineArgs(["--fleet", "20", "--engine", "--shards", "6"]).shards, 6);
        assert.equal(parseEngineArgs(["--fleet=40", "--engine", "--shards=12"]).shards, 12);
        assert.equal("shards" in parseEngineArgs(["--fleet", "20", "--engine"]), false);
    });

    it("refuses each mistake, naming the flag", () => {
        const bad: [string[], RegExp][] = [
            [["--fleet", "20", "--engine", "--shards"], /--shards needs a value/],
            [["--fleet", "20", "--engine", "--shards", "0"], /--shards: "0" must be a whole number of shards from 2 to 100/],
            [
                ["--fleet", "20", "--engine", "--shards", "1"],
                /--shards: "1" must be .* from 2 to 100 \(the shards share one simulated world, which needs at least two stacks; leave --shards out for ONE up\)/,
            ],
            [["--fleet", "200", "--engine", "--shards", "101"], /--shards: "101"/],
            [["--fleet", "20", "--engine", "--shards", "2.5"], /--shards: "2.5"/],
            [["--fleet", "20", "--engine", "--shards", "6", "--shards", "6"], /--shards is given twice/],
            [["--fleet", "4", "--engine", "--shards", "5"], /--shards 5: more shards than the fleet's 4 VMs/],
        ];
        for (const [argv, message] of bad) assert.throws(() => parseEngineArgs(argv), message, argv.join(" "));
    });

    it("npm run bench exits 2 before anything runs when the fleet cannot be split into K shards, saying into how many it can", function () {
        this.timeout(60000);
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "bench/bench.ts", "--fleet", "20", "--engine", "--shards", "4"],
            { cwd: ROOT, encoding: "utf8" },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(
            r.stderr,
            /--shards 4: npm run shard never mixes clouds in a shard, so a fleet of 20 \(aws 7, azure 7, gcp 6\) splits into 3, 5, 6, 8/,
        );
        assert.match(r.stderr, /usage: npm run bench -- --fleet N \[--engine\] \[--shards K\]/);
    });

    it("npm run bench exits 2 for --shards 1 before anything runs: one stack cannot share a world", function () {
        this.timeout(60000);
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "bench/bench.ts", "--fleet", "4", "--engine", "--shards", "1"],
            { cwd: ROOT, encoding: "utf8" },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /--shards: "1" must be a whole number of shards from 2 to 100 \(the shards share one simulated world/);
    });
});

describe("shards bench: the fleet in one scope per cloud, and its split", () => {
    it("puts every VM of a cloud in one budget scope, each VM still its own", () => {
        const vms = (parse(fleetInventory(30, { oneScope: true })) as { vms: (Record<string, string> & { cloud: string })[] }).vms;
        const scopes = new Map<string, Set<string>>();
        for (const e of vms) scopes.set(e.cloud, (scopes.get(e.cloud) ?? new Set()).add(budgetScopeOf(e)));
        assert.deepEqual(
            [...scopes].map(([c, s]) => [c, [...s]]),
            [
                ["aws", ["aws default/us-east-1"]],
                ["azure", ["azure 11111111-2222-3333-4444-555555555555"]],
                ["gcp", ["gcp rescue-demo-0/us-central1"]],
            ],
        );
        // Zones still vary, and every VM keeps its own name.
        assert.equal(new Set(vms.filter((e) => e.cloud === "aws").map((e) => e.availabilityZone)).size, 3);
        assert.equal(new Set(vms.map((e) => e.instanceId ?? e.vmName ?? e.instance)).size, 30);
        // Without the option the samples spread over two scopes per cloud, as before.
        const spread = (parse(fleetInventory(30)) as { vms: (Record<string, string> & { cloud: string })[] }).vms;
        assert.equal(new Set(spread.map(budgetScopeOf)).size, 6);
    });

    it("works out the --max-vms that gives exactly K shards, and each shard's first VM", () => {
        const clouds = (n: number) => engineFleet(n, 0, { oneScope: true }).vms.map((v) => v.cloud);
        const p = planShardSplit(clouds(20), 6);
        assert.equal(p.maxVms, 4);
        assert.deepEqual(p.shardsPerCloud, { aws: 2, azure: 2, gcp: 2 });
        // aws is every third VM from 0: its 1st and 5th lead (0, 12); azure 1, 13; gcp 2, 14.
        assert.deepEqual(
            [...p.leaders].sort((a, b) => a - b),
            [0, 1, 2, 12, 13, 14],
        );
        assert.equal(planShardSplit(clouds(40), 12).maxVms, 4);
        assert.equal(planShardSplit(clouds(20), 20).maxVms, 1);
        assert.throws(() => planShardSplit(clouds(20), 4), /splits into 3, 5, 6, 8 … shards, not 4/);
        assert.throws(() => planShardSplit(clouds(20), 2), /splits into 3, 5 … shards, not 2/);
    });

    it("never makes a shard's first VM (its canary) one that never boots", () => {
        const { fleet, plan } = shardsFleet(40, 6, 12);
        assert.equal(fleet.bad.length, 6);
        for (const v of fleet.bad) assert.ok(!plan.leaders.has(v.index) && v.strategy === "repair", `${v.index}`);
        assert.throws(
            () => shardsFleet(6, 1, 6),
            /--bad 1: a fleet of 6 has 0 repair VMs besides the canaries \(6: each shard's first VM\)/,
        );
    });

    it("splits with the real npm run shard: K shards, each in one scope, rateShare 1/(its cloud's shards), stack files ready", function () {
        this.timeout(60000);
        const { fleet, plan } = shardsFleet(40, 3, 12);
        fs.mkdirSync(path.join(ROOT, ".bench"), { recursive: true });
        const dir = fs.mkdtempSync(path.join(ROOT, ".bench", "test-shards-"));
        try {
            const shards = splitFleet(dir, "t40", fleet, plan, 12, ROOT);
            assert.equal(shards.length, 12);
            assert.deepEqual(
                shards.map((s) => s.name),
                Array.from({ length: 12 }, (_, i) => `t40-${String(i).padStart(2, "0")}`),
            );
            for (const s of shards) {
                assert.equal(s.scopes.length, 1, `${s.name} in one scope`);
                // Four shards of each cloud share its one scope: each spends a quarter of its budget.
                assert.equal(s.rateShare, "1/4", s.name);
            }
            // aws 14 VMs, azure 13, gcp 13, at most 4 a shard, in the inventory's order.
            assert.deepEqual(
                shards.map((s) => `${s.vms[0].cloud} ${s.vms.length}`),
                ["aws 4", "aws 4", "aws 4", "aws 2", "azure 4", "azure 4", "azure 4", "azure 1", "gcp 4", "gcp 4", "gcp 4", "gcp 1"],
            );
            assert.equal(shards.flatMap((s) => s.bad).length, 3);
            assert.equal(new Set(shards.flatMap((s) => s.scopes)).size, 3);
            // The watch's and plan's stack file (npm run shard's own, with the base settings added) and the sandbox's copy.
            const own = parse(fs.readFileSync(path.join(dir, "split", "Pulumi.t40-05.yaml"), "utf8")) as { config: Record<string, string> };
            assert.deepEqual(own.config, {
                "bootloop-rescue:inventory": "stacks/t40-05.yaml",
                "bootloop-rescue:rateShare": "1/4",
                "bootloop-rescue:canary": "1",
                "bootloop-rescue:acceptDataLoss": "true",
            });
            const sandbox = parse(fs.readFileSync(path.join(dir, "stacks", "Pulumi.t40-05.yaml"), "utf8")) as {
                config: Record<string, string>;
            };
            assert.equal(
                sandbox.config["bootloop-rescue:inventory"],
                path.relative(ROOT, path.join(dir, "split", "stacks", "t40-05.yaml")),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

/** A class of requests in a scope, as the shared world's counts give it. */
function row(scope: string, cls: string, requests: number, throttled: number, peak = 1, perSecond = 20): RequestFigures {
    return {
        cloud: scope.split(" ")[0],
        scope: scope.split(" ")[1],
        cls,
        requests,
        throttled,
        byProviders: 0,
        throttledPercent: requests ? (100 * throttled) / requests : 0,
        peakPerSecond: peak,
        buckets: [
            { key: `${scope.split(" ")[1]}|${cls} vm x`, capacity: 100, perSecond },
            { key: `${scope.split(" ")[1]}|${cls}`, capacity: 50, perSecond: perSecond / 2 },
        ],
    };
}

describe("shards bench: verdicts from the shared world's counts and the shards' outcomes", () => {
    it("sums each scope's classes, keeps each class's peak beside its tightest bucket, and passes at most 5 % throttled", () => {
        const scopes = scopeBudgets([
            row("aws 1/us-east-1", "DescribeInstances", 900, 0, 12.5, 20),
            row("aws 1/us-east-1", "AttachVolume", 100, 5, 3, 2),
            row("gcp p/us-central1", "read requests", 400, 0),
        ]);
        assert.equal(scopes.length, 2);
        assert.deepEqual(
            { ...scopes[0], classes: undefined },
            { cloud: "aws", scope: "1/us-east-1", requests: 1000, throttled: 5, throttledPercent: 0.5, over: false, classes: undefined },
        );
        assert.deepEqual(scopes[0].classes[0], {
            cls: "DescribeInstances",
            requests: 900,
            throttled: 0,
            peakPerSecond: 12.5,
            limit: { capacity: 50, perSecond: 10, name: "DescribeInstances" },
            throttledPercent: 0,
            over: false,
        });
        const v = budgetVerdict(scopes, { expectedScopes: ["aws 1/us-east-1", "gcp p/us-central1"] });
        assert.equal(v.verdict, "PASS");
        assert.match(v.detail, /2 scopes, 3 classes; the most throttled aws 1\/us-east-1 AttachVolume: 5 of 100 \(5\.0 %\)$/);
    });

    it("fails a class over 5 % throttled, naming it, though its scope's other classes keep the scope under 5 %; not checked without counts", () => {
        const scopes = scopeBudgets([row("azure sub", "ARM reads", 100, 6), row("gcp p/r", "reads", 100, 5)]);
        assert.deepEqual(
            scopes.map((s) => s.over),
            [true, false],
        );
        const v = budgetVerdict(scopes);
        assert.equal(v.verdict, "FAIL");
        assert.match(v.detail, /over: azure sub ARM reads: 6 of 100 \(6\.0 %\)$/);
        // 20 of 10,020 in the scope (0.2 %), but every StartInstances throttled.
        const hidden = scopeBudgets([row("aws 1/r", "DescribeInstances", 10000, 0), row("aws 1/r", "StartInstances", 20, 20)]);
        assert.equal(hidden[0].throttledPercent < 5, true);
        assert.equal(hidden[0].over, true);
        assert.deepEqual(
            hidden[0].classes.map((c) => c.over),
            [false, true],
        );
        const h = budgetVerdict(hidden);
        assert.equal(h.verdict, "FAIL");
        assert.match(h.detail, /over: aws 1\/r StartInstances: 20 of 20 \(100\.0 %\)/);
        assert.equal(budgetVerdict(undefined).verdict, "not checked");
        assert.equal(budgetVerdict([]).verdict, "not checked");
        // A class with no published limit is counted, with none named.
        const free = scopeBudgets([{ ...row("aws 1/r", "ssm", 3, 0), buckets: [] }]);
        assert.equal(free[0].classes[0].limit, undefined);
    });

    it("is not checked when an expected scope has no request counted, or none at all; nor when a world's lock was taken over", () => {
        const scopes = scopeBudgets([row("aws 1/r", "DescribeInstances", 100, 0), row("gcp p/r", "reads", 0, 0)]);
        const missing = budgetVerdict(scopes, { expectedScopes: ["aws 1/r", "azure sub"] });
        assert.equal(missing.verdict, "not checked");
        assert.match(missing.detail, /no request counted in expected scope\(s\) azure sub;/);
        const zero = budgetVerdict(scopes, { expectedScopes: ["aws 1/r", "gcp p/r"] });
        assert.equal(zero.verdict, "not checked");
        assert.match(zero.detail, /expected scope\(s\) gcp p\/r;/);
        assert.equal(budgetVerdict(scopes, { expectedScopes: ["aws 1/r"] }).verdict, "PASS");
        const stolen = budgetVerdict(scopes, { expectedScopes: ["aws 1/r"], lockTakeovers: 2 });
        assert.equal(stolen.verdict, "not checked");
        assert.match(stolen.detail, /taken over from a stale holder 2 time\(s\): counts may be lost/);
    });

    it("judges each shard's steps against their customTimeouts, its gate queues and its watch by the single up's rules", () => {
        const outcomes = (recovered: number, failed: number) => ({
            recovered,
            failed,
            notFinished: 0,
            unexpectedFailures: [],
            badNotFailed: [],
            exact: true,
        });
        const steps = { steps: 8, ended: 8, over: [], failed: 0, longest: { name: "a-swap", seconds: 90, timeoutSeconds: 900 } };
        const gate = {
            steps: 8,
            read: 8,
            unread: [],
            overAllowance: [],
            deadlineAfterQueuing: [],
            totalQueued: 12,
            longest: { name: "a-swap", queued: 5, allowance: 600 },
        };
        const ok: ShardRun[] = [
            { name: "s-00", vms: 4, bad: 1, exits: { up: 0, watch: 1 }, outcomes: outcomes(3, 1), steps, gate },
            { name: "s-01", vms: 3, bad: 0, exits: { up: 0, watch: 0 }, outcomes: outcomes(3, 0), steps, gate },
        ];
        assert.equal(shardStepsVerdict(ok).verdict, "PASS");
        assert.equal(shardGateVerdict(ok).verdict, "PASS");
        assert.equal(shardWatchVerdict(ok).verdict, "PASS");
        // A step at its customTimeout in one shard fails the bound, naming the shard and the step.
        const late = shardStepsVerdict([ok[0], { ...ok[1], steps: { ...steps, over: ["b-swap"] } }]);
        assert.equal(late.verdict, "FAIL");
        assert.match(late.detail, /^s-01: .*over: b-swap/);
        assert.equal(shardStepsVerdict([ok[0], { ...ok[1], steps: undefined }]).verdict, "not checked");
        // Queued past the allowance, or a deadline reached after queuing: FAIL; a missing gate line: not checked.
        const queued = shardGateVerdict([{ ...ok[0], gate: { ...gate, overAllowance: ["a-swap"] } }, ok[1]]);
        assert.equal(queued.verdict, "FAIL");
        assert.match(queued.detail, /^s-00: queued past the allowance: a-swap/);
        assert.equal(shardGateVerdict([ok[0], { ...ok[1], gate: { ...gate, deadlineAfterQueuing: ["b-fix"] } }]).verdict, "FAIL");
        const unread = shardGateVerdict([ok[0], { ...ok[1], gate: { ...gate, read: 7, unread: ["b-fix"] } }]);
        assert.equal(unread.verdict, "not checked");
        assert.match(unread.detail, /s-01: .*no gate line: b-fix/);
        // The watch's exit code against the shard's records: 0 with a VM failed (or 3) disagrees.
        const watch = shardWatchVerdict([{ ...ok[0], exits: { up: 0, watch: 0 } }, ok[1]]);
        assert.equal(watch.verdict, "FAIL");
        assert.match(watch.detail, /^s-00: exit 0/);
        assert.equal(shardWatchVerdict([ok[0], { ...ok[1], exits: { up: 0, watch: 3 } }]).verdict, "FAIL");
        assert.equal(shardWatchVerdict([ok[0], { ...ok[1], exits: undefined }]).verdict, "not checked");
        for (const judge of [shardStepsVerdict, shardGateVerdict, shardWatchVerdict]) assert.equal(judge([]).verdict, "not checked");
    });

    it("reads each shard's exit codes and, from the events up-job.sh saved, its steps and gate queues; judges them", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shards-job-"));
        try {
            const steps = stepEvents("urn:pulumi:s::p::bootloop-rescue:core:Zone$command:local:Command");
            const pre = (name: string, at: number) => steps.pre(name, at, 600);
            const done = (name: string, at: number, queued: number) =>
                steps.done(name, at, { stderr: `bootloop-rescue-gate: queued=${queued} allowance=300 deadline=not-reached` });
            const write = (name: string, list: object[]) =>
                fs.writeFileSync(path.join(dir, `${name}.events.json`), list.map((e) => JSON.stringify(e)).join("\n"));
            // s-00: within its customTimeout, queued within its allowance. s-01: a step at its customTimeout
            // (600 s + the gate allowance 3,600 s + the report 120 s, whole minutes), queued past its allowance.
            write("s-00", [pre("a-swap", 100), done("a-swap", 190, 5)]);
            write("s-01", [pre("b-swap", 100), done("b-swap", 100 + 600 + 3600 + 120, 400)]);
            fs.writeFileSync(path.join(dir, "s-00.exits.json"), '{"up":0,"tee":0,"watch":0}\n');
            const s0 = shardJobFiles(dir, "s-00");
            assert.deepEqual(s0.exits, { up: 0, watch: 0 });
            assert.deepEqual([s0.steps?.steps, s0.steps?.over, s0.gate?.read, s0.gate?.overAllowance], [1, [], 1, []]);
            const s1 = shardJobFiles(dir, "s-01");
            assert.equal(s1.exits, undefined);
            assert.deepEqual([s1.steps?.over, s1.gate?.overAllowance], [["b-swap"], ["b-swap"]]);
            const runs: ShardRun[] = [
                { name: "s-00", vms: 1, bad: 0, ...s0 },
                { name: "s-01", vms: 1, bad: 0, ...s1 },
            ];
            assert.equal(shardStepsVerdict(runs).verdict, "FAIL");
            assert.equal(shardGateVerdict(runs).verdict, "FAIL");
            assert.equal(shardStepsVerdict([runs[0]]).verdict, "PASS");
            // A shard whose events were not saved: nothing read, not checked.
            const none = shardJobFiles(dir, "s-02");
            assert.deepEqual(none, {});
            assert.equal(shardGateVerdict([runs[0], { name: "s-02", vms: 1, bad: 0, ...none }]).verdict, "not checked");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("passes the shards when each up exited 0, recovered its VMs and failed its bad ones; fails one that did not; not checked when one could not be read", () => {
        const outcomes = (recovered: number, failed: number, notFinished: number, exact: boolean) => ({
            recovered,
            failed,
            notFinished,
            unexpectedFailures: [],
            badNotFailed: [],
            exact,
        });
        const ok: ShardRun[] = [
            { name: "s-00", vms: 4, bad: 1, rateShare: "1/2", exits: { up: 0, watch: 1 }, outcomes: outcomes(3, 1, 0, true) },
            { name: "s-01", vms: 3, bad: 0, rateShare: "1/2", exits: { up: 0, watch: 0 }, outcomes: outcomes(3, 0, 0, true) },
        ];
        const pass = shardsVerdict(ok);
        assert.equal(pass.verdict, "PASS");
        assert.equal(pass.detail, "2 shards, 6 VMs recovered of 6 expected");
        const unread: ShardRun = { name: "s-02", vms: 2, bad: 0 };
        const notChecked = shardsVerdict([...ok, unread]);
        assert.equal(notChecked.verdict, "not checked");
        assert.match(notChecked.detail, /s-02: its exit codes could not be read, its vms output could not be read$/);
        const noExits = shardsVerdict([ok[0], { ...ok[1], exits: undefined }]);
        assert.equal(noExits.verdict, "not checked");
        assert.match(noExits.detail, /s-01: its exit codes could not be read, 3 recovered/);
        const wrong: ShardRun = { ...ok[1], name: "s-03", outcomes: outcomes(1, 0, 2, false) };
        const fail = shardsVerdict([...ok, unread, wrong]);
        assert.equal(fail.verdict, "FAIL");
        assert.match(fail.detail, /not as expected: s-03: 1 recovered, 0 failed, 2 not finished$/);
        // An up that did not exit 0 fails its shard, its records as expected or not.
        const crashed = shardsVerdict([{ ...ok[0], exits: { up: 255, watch: 3 } }, ok[1]]);
        assert.equal(crashed.verdict, "FAIL");
        assert.match(crashed.detail, /s-00: up exited 255, 3 recovered, 1 failed, 0 not finished/);
        assert.equal(shardsVerdict([]).verdict, "not checked");
    });
});

/** A shard's runner figures (runner-cgroup.sh's, as shardRunnerFigures reads them). */
function figures(peakMb: number, oomKills = 0, cpuSeconds = 30, vms = 3) {
    return { wallSeconds: 100, cpuSeconds, cpuPerVm: cpuSeconds / vms, peakMb, oomKills, throttledPeriods: 2, cgroup: "v1" };
}

/** Shards with these runners' figures (undefined: not read). */
function withRunners(...runners: (ReturnType<typeof figures> | undefined)[]): ShardRun[] {
    return runners.map((runner, i) => ({ name: `s-0${i}`, vms: 3, bad: 0, ...(runner ? { runner } : {}) }));
}

describe("shards bench: each shard's runner's memory", () => {
    it("passes when every shard's runner peaked within 6 GB with no OOM kill, naming the largest; fails a shard over it or OOM-killed, naming it", () => {
        const pass = shardMemoryVerdict(withRunners(figures(2100), figures(2900), figures(2500)));
        assert.equal(pass.verdict, "PASS");
        assert.equal(pass.detail, "3 shards, none OOM-killed; the largest peak 2,900 MB (s-01)");
        assert.match(pass.bound, /≤ 6,144 MB and no OOM kill in each shard's runner/);
        const over = shardMemoryVerdict(withRunners(figures(2100), figures(6145)));
        assert.equal(over.verdict, "FAIL");
        assert.equal(over.detail, "s-01: peak 6,145 MB");
        const oom = shardMemoryVerdict(withRunners(figures(7100, 2), figures(2000)), 1, { shared: true, oomKills: 2 });
        assert.equal(oom.verdict, "FAIL");
        assert.match(
            oom.detail,
            /^s-00: the OOM killer ended 2 process\(es\) in its runner \(peak 7,100 MB\) \(its runner's limit, or the machine's memory/,
        );
        assert.equal(shardMemoryVerdict([]).verdict, "not checked");
    });

    it("is not checked when a shard's runner figures could not be read (never a pass), but still fails another shard's OOM kill", () => {
        const missing = shardMemoryVerdict(withRunners(figures(2100), undefined, figures(2000)));
        assert.equal(missing.verdict, "not checked");
        assert.match(
            missing.detail,
            /^s-01: its runner's figures could not be read \(runner-cgroup\.sh said why\); the largest peak 2,100 MB \(s-00\)$/,
        );
        assert.equal(shardMemoryVerdict(withRunners(undefined, undefined)).verdict, "not checked");
        assert.equal(shardMemoryVerdict(withRunners(undefined, figures(2000, 1))).verdict, "FAIL");
    });

    it("is not checked when the machine's OOM killer ended a process no shard's runner counted, or could not be asked on a shared machine", () => {
        const ok = withRunners(figures(2100), figures(2000));
        const unseen = shardMemoryVerdict(ok, 1, { shared: true, oomKills: 1 });
        assert.equal(unseen.verdict, "not checked");
        assert.match(unseen.detail, /the machine's OOM killer ended 1 process\(es\) during the run that no shard's runner counted/);
        // Not on a machine the runners fit either: any kill during the run puts the figures in doubt.
        assert.equal(shardMemoryVerdict(ok, 1, { shared: false, oomKills: 3 }).verdict, "not checked");
        const unasked = shardMemoryVerdict(ok, 1, { shared: true });
        assert.equal(unasked.verdict, "not checked");
        assert.match(unasked.detail, /oom_kill\) could not be read, and the runners' limits add up to more than it has/);
        assert.equal(shardMemoryVerdict(ok, 1, { shared: false }).verdict, "PASS");
        assert.equal(shardMemoryVerdict(ok, 1, { shared: true, oomKills: 0 }).verdict, "PASS");
    });

    it("does not judge the peaks when the CLI calls spent less than the real CLIs (they are understated), but still fails an OOM kill", () => {
        const scaled = shardMemoryVerdict(withRunners(figures(4258), figures(6500)), 0.1);
        assert.equal(scaled.verdict, "not checked");
        assert.match(scaled.detail, /spent 0\.1 of the real CLIs' cost.*the largest peak 6,500 MB \(s-01\)$/);
        assert.equal(shardMemoryVerdict(withRunners(figures(7100, 1), figures(2000)), 0.1).verdict, "FAIL");
    });

    it("reads a shard's runner report (CPU per VM of its shards' VMs); a missing one is no figure", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shards-runner-"));
        try {
            const file = path.join(dir, "s-00.runner.json");
            fs.writeFileSync(
                file,
                '{"cgroup":"v1","cpus":2,"memoryMb":7168,"wallSeconds":140.2,"cpuSeconds":60.0,"peakMb":2300,"oomKills":0,"throttledPeriods":7,"exit":0}\n',
            );
            assert.deepEqual(shardRunnerFigures(file, 4), {
                wallSeconds: 140.2,
                cpuSeconds: 60,
                cpuPerVm: 15,
                peakMb: 2300,
                oomKills: 0,
                throttledPeriods: 7,
                cgroup: "v1",
            });
            assert.equal(shardRunnerFigures(path.join(dir, "s-01.runner.json"), 4), undefined);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("shards bench: K runners on this one machine", () => {
    it("says the runners share the machine when their CPUs or memory add up to more than it has", () => {
        assert.deepEqual(machineShare(6, { cpus: 2, memoryMb: 7168 }, 2, 24105), { shared: true, runnersCpus: 12, runnersMemoryMb: 43008 });
        assert.equal(machineShare(2, { cpus: 2, memoryMb: 7168 }, 4, 24105).shared, false);
        assert.equal(machineShare(4, { cpus: 2, memoryMb: 7168 }, 8, 24105).shared, true, "memory alone");
        assert.equal(machineShare(3, { cpus: 4, memoryMb: 2048 }, 8, 24105).shared, true, "CPUs alone");
    });

    it("reads the machine's OOM kills from /proc/vmstat's text, and this machine's", () => {
        assert.equal(machineOomKills("pgfault 12\noom_kill 64\nnr_free_pages 3\n"), 64);
        assert.equal(machineOomKills("pgfault 12\n"), undefined);
        assert.equal(machineOomKills(undefined), undefined);
        assert.equal(typeof machineOomKills(fs.readFileSync("/proc/vmstat", "utf8")), "number");
    });

    it("adds the K runners up (CPU summed, the largest peak, the whole run's wall), and gives no sum when a shard's figures are missing", () => {
        const shards = withRunners(figures(2100, 0, 30), figures(2900, 1, 45));
        assert.deepEqual(allShardsFigures(shards, 321.5), {
            missing: [],
            figures: { cgroup: "v1", wallSeconds: 321.5, cpuSeconds: 75, peakMb: 2900, oomKills: 1, throttledPeriods: 4 },
        });
        assert.deepEqual(allShardsFigures(withRunners(figures(2100), undefined), 10), { missing: ["s-01"] });
        assert.deepEqual(allShardsFigures([], 10), { missing: [] });
    });

    it("says so in the header when the runners share the machine, and not when they fit", () => {
        const result = (shared: boolean): ShardsBenchResult => ({
            commit: "0123456789abcdef",
            uncommittedChanges: false,
            machine: { name: "m", cores: shared ? 2 : 4, memoryMb: 24105, loadAverage1m: { before: 1, after: 2 } },
            runner: { name: "2x7", cpus: 2, memoryMb: 7168 },
            vms: 6,
            bad: [],
            spend: { scale: 1, hold: [5, 15], seed: "s" },
            watcherPollSeconds: 60,
            runnerFigures: {
                wallSeconds: 200,
                cpuSeconds: 75,
                cpuPerVm: 12.5,
                peakMb: 2900,
                oomKills: 0,
                throttledPeriods: 4,
                cgroup: "v1",
            },
            split: { maxVms: 3, shardsPerCloud: { aws: 2 } },
            shards: withRunners(figures(2100), undefined).map((s) => ({ ...s, parallel: 4 })),
            machineShare: machineShare(2, { cpus: 2, memoryMb: 7168 }, shared ? 2 : 4, 24105),
            machineShared: machineShare(2, { cpus: 2, memoryMb: 7168 }, shared ? 2 : 4, 24105).shared,
            machineOomKills: 0,
            lockTakeovers: 0,
            requestsPerVm: {},
            cliSpend: { calls: 0, pricedByMedian: {}, held: { calls: 0, seconds: 0 }, cpuSeconds: 0, cpuTarget: 0, peakRssMb: 0 },
            cliCostSource: "c",
            verdicts: [],
        });
        const text = renderShards(result(true));
        assert.match(
            text,
            /\n {2}MACHINE SHARED: the 2 shards share this machine's 2 cores and 24,105 MB \(their runners' limits add up to 4 CPUs, 14,336 MB\), so wall time is longer and request rates lower than 2 real runners would make; the budget verdict is then judged under less pressure than a real incident\n/,
        );
        assert.match(text, /each shard in a runner cgroup of its own of 2 CPUs, 7,168 MB/);
        assert.match(
            text,
            /all 2 runners: wall 200\.0 s \(the whole run\); CPU 75\.0 s in all, 12\.50 s per VM; the largest peak memory 2,900 MB/,
        );
        assert.match(
            text,
            /\n {4}s-00 {11}100\.0 s, 30\.0 s CPU \(10\.00 s per VM\), peak 2,100 MB, no OOM, throttled 2\n {4}s-01 {11}NOT MEASURED/,
        );
        assert.doesNotMatch(renderShards(result(false)), /MACHINE SHARED/);
    });
});
