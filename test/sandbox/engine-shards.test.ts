import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { RUNNERS } from "../../bench/engine/args";
import { machineShare } from "../../bench/engine/shards/machine";
import type { ShardsBenchResult } from "../../bench/engine/shards/run";

// The shards bench for real, as small as a shared scope allows (`npm run bench -- --fleet 4 --engine
// --shards 4 --bad 0 --spend-scale 0.1 --hold 1-2`, as root: a runner cgroup is written): the fleet's
// four VMs, one scope per cloud, split by the real `npm run shard` into four one-VM shards (AWS's two
// share its scope, rateShare 1/2 each), on one simulated world, their four REAL-engine ups at once,
// each in a 2x7 runner cgroup of its own (as CI runs each shard on a runner of its own). Its figures
// are the bench's; here what it must find: every shard recovered, both AWS shards' requests in the
// one scope's count, no scope or class over its budget, each shard's steps, gate queues and watch as
// they should be, each shard's own runner's figures read and added up; the peaks not judged at
// --spend-scale 0.1 (understated), so the bench exits 4; the four runners said to share this machine
// when their limits add up to more than it has. Minutes: the engine lane.

const ROOT = path.resolve(__dirname, "..", "..");

describe("shards bench: four real-engine ups at once on one shared world", function () {
    this.timeout(20 * 60 * 1000);

    it("splits, runs the shards at once each in a runner cgroup of its own, and passes all but memory (not checked at 0.1): every shard recovered, no scope over its budget", () => {
        const r = spawnSync(
            process.execPath,
            [
                "-r",
                "ts-node/register/transpile-only",
                "bench/bench.ts",
                ...["--fleet", "4", "--engine", "--shards", "4", "--bad", "0", "--spend-scale", "0.1", "--hold", "1-2", "--json"],
            ],
            { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 28 },
        );
        assert.equal(r.status, 4, `exit ${r.status}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
        const result = JSON.parse(r.stdout) as ShardsBenchResult;
        assert.deepEqual(
            result.verdicts.map((v) => [v.bound.split(" ").slice(0, 4).join(" "), v.verdict]),
            [
                ["≤ 5 % of", "PASS"],
                ["every shard's up exited", "PASS"],
                ["no step ended by", "PASS"],
                ["no deadline spent queuing", "PASS"],
                ["npm run watch read", "PASS"],
                ["peak memory ≤ 6,144", "not checked"],
            ],
            JSON.stringify(result.verdicts, null, 1),
        );
        assert.equal(result.lockTakeovers, 0);
        assert.deepEqual(result.split, { maxVms: 1, shardsPerCloud: { aws: 2, azure: 1, gcp: 1 } });
        assert.deepEqual(
            result.shards.map((s) => [s.name, s.vms, s.rateShare ?? "1", s.exits?.up, s.outcomes?.recovered, s.outcomes?.exact]),
            [
                ["shards4-00", 1, "1/2", 0, 1, true],
                ["shards4-01", 1, "1/2", 0, 1, true],
                ["shards4-02", 1, "1", 0, 1, true],
                ["shards4-03", 1, "1", 0, 1, true],
            ],
        );
        // One AWS scope for both AWS shards: each launched its own rescue instance, counted together.
        const aws = (result.budgets ?? []).filter((s) => s.cloud === "aws");
        assert.equal(aws.length, 1, JSON.stringify(result.budgets?.map((s) => `${s.cloud} ${s.scope}`)));
        const launches = aws[0].classes.find((c) => c.cls.startsWith("RunInstances"));
        assert.ok(launches && launches.requests >= 2, JSON.stringify(aws[0].classes));
        // Each shard's own runner measured it; together: CPU summed, the largest peak, the whole run's wall.
        const all = result.runnerFigures;
        assert.ok(all, result.notMeasured);
        let cpu = 0;
        for (const s of result.shards) {
            const f = s.runner;
            assert.ok(f && f.oomKills === 0 && f.cpuSeconds > 0 && f.peakMb > 0, `${s.name}: ${JSON.stringify(f)}`);
            assert.ok(f.wallSeconds <= all.wallSeconds + 1 && f.peakMb <= all.peakMb, `${s.name}: ${JSON.stringify(f)}`);
            cpu += f.cpuSeconds;
        }
        assert.ok(Math.abs(all.cpuSeconds - cpu) < 0.01 && all.oomKills === 0, JSON.stringify(all));
        assert.equal(result.machineShared, machineShare(4, RUNNERS["2x7"], os.cpus().length, os.totalmem() / 1048576).shared);
        assert.match(result.verdicts[5].detail, /the largest peak [\d,]+ MB \(shards4-0\d\)$/);
    });
});
