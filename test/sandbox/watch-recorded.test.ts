import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

// `npm run watch` on what the REAL engine prints: `pulumi up --json` of the dev stack, recorded in
// the sandbox at 33d84a4 (`npm run sandbox -- up --stack dev --yes --skip-preview --json`, stdout,
// gzipped). The hand-built streams of test/helpers/engine-events.ts cover the failures; this one
// proves the watch reads the engine's own events, shapes and all.

const ROOT = path.resolve(__dirname, "..", "..");
const RECORDED = path.join(ROOT, "test/fixtures/engine-events/sandbox-dev-up.json.gz");

describe("npm run watch on a real engine's events (recorded in the sandbox)", function () {
    this.timeout(600_000);
    const events = zlib.gunzipSync(fs.readFileSync(RECORDED)).toString("utf8");

    it("is the engine's own stream: one JSON event per line, from the prelude to the summary, every step created", () => {
        const lines = events
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.ok("preludeEvent" in lines[0]);
        assert.ok(lines.some((e) => "summaryEvent" in e));
        const created = lines.filter((e) => "resOutputsEvent" in e).length;
        assert.equal(created, 90, "every resource of the dev stack's update");
    });

    it("follows it to the end: every VM of the plan verified, wave by wave, and the update succeeded (exit 0)", () => {
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "cli/watch.ts", "--stack", "dev"], {
            cwd: ROOT,
            input: events,
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
        assert.equal(r.status, 0, r.stderr + r.stdout.slice(-3000));
        assert.match(r.stdout, /^wave 0 \(canary\) of 2 done: 1 VM: 1 verified, 0 failed/m);
        assert.match(r.stdout, /^wave 1 of 2 done: 10 VMs: 10 verified, 0 failed/m);
        assert.match(r.stdout, /^bootloop-rescue dev: 11 VMs: 11 verified, 0 failed, 0 in flight, 0 waiting$/m);
        assert.match(r.stdout, /^update succeeded after \d+ s$/m);
    });
});
