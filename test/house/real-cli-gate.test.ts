// The gate of the real-CLI checks (test/helpers/real-cli.ts): a check that cannot run is no pass.
// It fails, saying it was not checked and why, unless left out knowingly (BOOTLOOP_SKIP_REAL_CLI=1: pending).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { realCliGate, realCliMissing, realCliOrSkip } from "../helpers/real-cli";

/** A context that records whether the test was skipped (mocha's skip ends the test by throwing: so does this one). */
class Skipped extends Error {}
const context = () => ({
    skipped: false,
    skip() {
        this.skipped = true;
        throw new Skipped("skipped");
    },
});

describe("the real-CLI gate: a check that cannot run fails, saying not checked, unless left out knowingly", () => {
    it("a CLI missing, without BOOTLOOP_SKIP_REAL_CLI: a failure that says not checked, why, and how to leave it out", () => {
        assert.throws(
            () => realCliGate(() => "no gcloud", {}),
            (e: unknown) =>
                e instanceof Error &&
                /cannot run here: no gcloud \(not checked;/.test(e.message) &&
                /BOOTLOOP_SKIP_REAL_CLI=1 leaves it out knowingly\)$/.test(e.message),
        );
        // Only 1 leaves it out: any other value is no knowing choice.
        for (const value of ["0", "", "yes", "true", " 1"])
            assert.throws(
                () => realCliGate(() => "no az", { BOOTLOOP_SKIP_REAL_CLI: value }),
                /no az \(not checked;/,
                JSON.stringify(value),
            );
    });

    it("with BOOTLOOP_SKIP_REAL_CLI=1: skipped, saying so, whatever is installed (what is missing is not even asked)", () => {
        let asked = 0;
        const missing = () => (asked++, "no gcloud");
        assert.deepEqual(realCliGate(missing, { BOOTLOOP_SKIP_REAL_CLI: "1" }), { run: false, skipped: "BOOTLOOP_SKIP_REAL_CLI=1" });
        assert.deepEqual(
            realCliGate(() => undefined, { BOOTLOOP_SKIP_REAL_CLI: "1" }),
            { run: false, skipped: "BOOTLOOP_SKIP_REAL_CLI=1" },
        );
        assert.equal(asked, 0);
    });

    it("nothing missing and not left out: the check runs", () => {
        assert.deepEqual(
            realCliGate(() => undefined, {}),
            { run: true },
        );
    });

    it("names each CLI it cannot find on PATH; in a test, skips when left out knowingly and fails otherwise", function () {
        this.timeout(300_000);
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "no-clis-"));
        try {
            const env = { PATH: `${empty}:/nonexistent` };
            const missing = realCliMissing(["gcloud", "az"], env);
            assert.ok(missing?.startsWith("no gcloud, no az"), missing);
            // In a test: left out knowingly, skipped (mocha's skip); otherwise the gate's failure, not a skip.
            const left = context();
            assert.throws(() => realCliOrSkip(left, ["gcloud"], { ...env, BOOTLOOP_SKIP_REAL_CLI: "1" }), Skipped);
            assert.equal(left.skipped, true);
            const failed = context();
            assert.throws(() => realCliOrSkip(failed, ["gcloud"], env), /cannot run here: no gcloud.* \(not checked;/);
            assert.equal(failed.skipped, false);
        } finally {
            fs.rmSync(empty, { recursive: true, force: true });
        }
    });
});
