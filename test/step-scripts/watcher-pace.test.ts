// base.sh names the watcher by what sizes its buckets too (issue #29 item 3): a stack's share of
// the scopes' budgets (BOOTLOOP_RATE_SHARE) and the buckets' rate scale (BOOTLOOP_RATE_SCALE), and
// the watcher it starts spends that share.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "../helpers/lab-run";
import { stopWatcher } from "../helpers/stand-in";

const root = path.resolve(__dirname, "../..");
const sh = (line: string, env: Record<string, string> = {}) =>
    spawnSync("/bin/bash", ["-c", line], { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH!, HOME: "/nonexistent", ...env } });
const dirOf = (env: Record<string, string>) => sh(`source ./components/core/scripts/base.sh; printf '%s' "$watch_dir"`, env).stdout;

describe("the watcher's identity includes its pace (base.sh)", () => {
    it("stacks with different shares, or rate scales, get a watcher each; the same share, the same watcher", () => {
        const plain = dirOf({});
        const tenth = dirOf({ BOOTLOOP_RATE_SHARE: "0.1" });
        assert.match(tenth, /\/bootloop-rescue-\d+-\d+-\d+$/);
        assert.notEqual(tenth, plain, "a share of 1/10 is not the whole budget's watcher");
        assert.notEqual(dirOf({ BOOTLOOP_RATE_SHARE: "0.25" }), tenth);
        assert.equal(dirOf({ BOOTLOOP_RATE_SHARE: "0.1", VM_LABEL: "another VM", STEP_TIMEOUT_SECONDS: "99" }), tenth);
        assert.notEqual(dirOf({ BOOTLOOP_RATE_SCALE: "1" }), plain);
        assert.notEqual(dirOf({ BOOTLOOP_RATE_SCALE: "1" }), dirOf({ BOOTLOOP_RATE_SCALE: "1000" }));
    });

    it("the watcher a step starts spends the step's share, and refuses one that is not a share", async function () {
        this.timeout(120_000);
        const dir = path.join(tempDir({}), "w");
        try {
            const started = sh(`source ./components/core/scripts/base.sh; watcher_start`, {
                BOOTLOOP_WATCH_DIR: dir,
                BOOTLOOP_HOME: root,
                BOOTLOOP_RATE_SHARE: "0.1",
                BOOTLOOP_RATE_SCALE: "1",
                BOOTLOOP_TIME_SCALE: "1000",
                BOOTLOOP_WATCHER_IDLE_SECONDS: "5",
            });
            assert.equal(started.status, 0, started.stderr);
            // The watcher says how it paces itself just after its endpoint is up: read until it has.
            const log = path.join(dir, "watcher.log");
            for (let i = 0; i < 200 && !/: up \(/.test(fs.readFileSync(log, "utf8")); i++) await new Promise((r) => setTimeout(r, 50));
            assert.match(fs.readFileSync(log, "utf8"), /share of each scope's budget 1\/10 \(0\.1\), rates × 1\)/);
        } finally {
            stopWatcher(dir);
        }
        const bad = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "cli/watcher.ts", tempDir({})], {
            cwd: root,
            encoding: "utf8",
            env: { ...process.env, BOOTLOOP_RATE_SHARE: "10%" },
            timeout: 60_000,
        });
        assert.notEqual(bad.status, 0);
        assert.match(bad.stderr, /BOOTLOOP_RATE_SHARE="10%" is not a share/);
    });
});
