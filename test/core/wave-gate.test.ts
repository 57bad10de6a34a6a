import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

// The wave gate's check (components/core/scripts/gate.js) as its command runs it: everything from
// the environment, one JSON report on stdout, the failed VMs named on stderr.
const GATE = path.resolve(__dirname, "../../components/core/scripts/gate.js");

function gate(env: Record<string, string>) {
    const r = spawnSync(process.execPath, [GATE], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const base = { WAVE: "1", WAVE_SIZE: "40", BUDGET: "2", NEXT_WAVE: "2" };

describe("the wave gate's check", () => {
    it("passes within the wave's budget, saying how many failed; the report is JSON", () => {
        const r = gate({ ...base, FAILED_COUNT: "2", FAILED: "aws r/i-1\tno key\naws r/i-2\tdid not boot\n" });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), { wave: 1, size: 40, failed: 2, budget: 2, nextWave: 2, passed: true });
        assert.match(r.stderr, /wave 1: 2 of 40 VMs failed, within its failure budget of 2; wave 2 goes on/);
        const none = gate({ ...base, FAILED_COUNT: "0", FAILED: "" });
        assert.equal(none.code, 0);
        assert.equal(none.stderr, "", "nothing to say when none failed");
    });

    it("stops the rollout over budget, naming the VMs listed with their reasons (control characters out) and counting the rest", () => {
        const r = gate({ ...base, FAILED_COUNT: "75", FAILED: "aws r/i-1\tno key\u001b[2J\naws r/i-2\tstatus unknown\n" });
        assert.equal(r.code, 1);
        assert.equal(JSON.parse(r.stdout).passed, false);
        assert.match(r.stderr, /^wave 1: 75 of 40 VMs failed, over its failure budget of 2: the rollout stops before wave 2\./);
        assert.match(r.stderr, /\n {2}- aws r\/i-1: no key \[2J\n {2}- aws r\/i-2: status unknown\n/);
        assert.match(r.stderr, /… and 73 more/);
        assert.ok(!r.stderr.includes("\u001b"), "no escape reaches the terminal");
    });

    it("passes without a check in teardown, which must never be blocked", () => {
        const r = gate({ ...base, FAILED_COUNT: "40", FAILED: "aws r/i-1\tno key\n", TEARDOWN: "1" });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).teardown, true);
    });

    it("refuses an environment it cannot read (exit 2), never passing by default", () => {
        for (const bad of [{ BUDGET: "" }, { BUDGET: "two" }, { FAILED_COUNT: "-1" }]) {
            const r = gate({ ...base, FAILED_COUNT: "0", ...bad });
            assert.equal(r.code, 2, JSON.stringify(bad));
            assert.equal(r.stdout, "");
        }
    });
});
