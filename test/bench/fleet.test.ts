import { strict as assert } from "assert";
import { parseFleetArgs, runFleet } from "../../bench/fleet/bench";

describe("fleet benchmark (the real step scripts and the watcher against the fake cloud)", function () {
    this.timeout(240_000);

    it("recovers every VM of a small mixed fleet through throttling, except those made never to boot, each failed with its reason", async () => {
        const r = await runFleet({ vms: 9, cloud: "mixed", timeScale: 60, throttleShare: 0.2, maxInFlight: 9, neverBootEvery: 3 });
        assert.deepEqual(
            r.failedChains.map((f) => f.vm),
            ["aws fleet/2", "azure fleet/2", "gcp fleet/2"],
        );
        assert.match(
            r.failedChains[0].reason,
            /did not boot healthy within \d+ s on the fixed volume .* is untouched and kept for rollback/,
        );
        assert.match(r.failedChains[1].reason, /did not report its VM agent Ready within \d+ s on the fixed disk/);
        assert.match(r.failedChains[2].reason, /did not show the boot marker on serial port 1 within \d+ s/);
        for (const cloud of ["aws", "azure", "gcp"] as const) {
            assert.equal(r.clouds[cloud]!.recovered, 2, cloud);
            assert.ok(r.clouds[cloud]!.cliCallsPerVm > 4, `${cloud} made its calls`);
        }
        assert.ok(r.throttledShare > 0.1, "throttling was injected");
        assert.ok(r.peakCliProcesses >= 1 && r.peakCliProcesses <= 64);
        assert.ok(r.peakRunnerMb > 0);
    });

    it("rejects bad arguments, naming them", () => {
        assert.throws(() => parseFleetArgs(["--fleet", "0"]), /--fleet: "0" must be a whole number of VMs/);
        assert.throws(() => parseFleetArgs(["--fleet", "10", "--cloud", "oracle"]), /--cloud: "oracle"/);
        assert.throws(() => parseFleetArgs(["--fleet", "10", "--shards", "2"]), /unknown argument "--shards"/);
        assert.equal(parseFleetArgs(["--fleet", "10", "--json"]).maxInFlight, 10);
    });
});
