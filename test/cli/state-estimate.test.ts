// The offline plan's state estimate against what the real engine keeps. The fixture is
// `npm run sandbox -- state-size --json` after the dev stack's `up` with the real engine (its
// commit and machine are in it); a change to what a chain declares moves both, and this test
// then asks for the fixture to be measured again.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { identities, paths } from "../../components/registry/clouds";
import { estimateStateByVm } from "../../components/tools/offline/fleet";
import { runOffline } from "../../components/tools/offline/run";
import { readStackConfig } from "../../components/tools/offline/stack-config";

const ROOT = path.resolve(__dirname, "..", "..");

interface EngineStateSize {
    commit: string;
    sharedBytes: number;
    groups: { cloud: string; strategy: string; vms: number; bytesPerVm: number }[];
}

/** How far the estimate of a chain may be from the engine's, as a share of the engine's. */
const CHAIN_TOLERANCE = 0.12;
/** The same for what the VMs share (rescue VMs, their payloads, providers, gates). */
const SHARED_TOLERANCE = 0.15;

describe("the offline plan's state estimate, against the real engine's", function () {
    this.timeout(120_000);
    const measured = JSON.parse(
        fs.readFileSync(path.join(__dirname, "../fixtures/engine-state/dev-state-size.json"), "utf8"),
    ) as EngineStateSize;

    it("each VM's chain and record of the dev stack is within 12 % of what the engine kept, a reboot's never under it", async () => {
        const run = await runOffline({
            stack: "dev",
            config: readStackConfig(ROOT, "dev"),
            baseDir: ROOT,
            identities,
            paths,
            details: true,
        });
        const { perVm, sharedBytes } = estimateStateByVm(run.resources!, run.result.plan);
        assert.equal(perVm.size, run.result.plan.vms.length);
        for (const group of measured.groups) {
            const vms = run.result.plan.vms.filter((v) => v.cloud === group.cloud && v.strategy === group.strategy);
            assert.equal(
                vms.length,
                group.vms,
                `${group.cloud} ${group.strategy}: the dev stack changed since ${measured.commit}; measure again`,
            );
            const estimate = vms.reduce((n, v) => n + perVm.get(v.slug)!, 0) / vms.length;
            const what = `${group.cloud} ${group.strategy}: estimated ${Math.round(estimate)} bytes, the engine kept ${group.bytesPerVm} at ${measured.commit}`;
            // A reboot's log is estimated for every restart failing (the worst case, which a
            // reboot-then-repair VM meets); the measured VM came back at an earlier restart.
            if (group.strategy === "reboot") assert.ok(estimate >= group.bytesPerVm, what);
            else assert.ok(Math.abs(estimate - group.bytesPerVm) <= CHAIN_TOLERANCE * group.bytesPerVm, what);
        }
        assert.ok(
            Math.abs(sharedBytes - measured.sharedBytes) <= SHARED_TOLERANCE * measured.sharedBytes,
            `shared: estimated ${sharedBytes} bytes, the engine kept ${measured.sharedBytes} at ${measured.commit}`,
        );
    });
});
