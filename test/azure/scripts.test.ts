import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { FIXED, MUTATING, ORIGINAL, RESCUE_ID, SCRATCH, STAND_IN, SUB, attachEnv, disk, op, run, swapEnv, world } from "./run-script";
import { evidenceAfterReport } from "../../components/core/cloud-steps";
import { azureScript } from "../../components/azure/scripts";
import { FAR_DEADLINES, runTogether } from "../helpers/stand-in";

describe("Azure command scripts (stand-in az CLI)", () => {
    describe("swap + start + verify", () => {
        it("deallocates, tags the original, sets the fixed OS disk, starts and waits for the VM agent", () => {
            const r = run("swap", swapEnv, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                ["vm deallocate", "disk update", "vm update", "vm start"],
            );
            assert.equal(r.world.vms["rg-app/app-01"].osDisk, FIXED);
            assert.equal(r.world.vms["rg-app/app-01"].agent, "Ready");
            // The watcher's looks: requests of Resource Manager (the API front asks the stand-in for one VM each), one token for all.
            const looks = r.calls.filter((c) => op(c) === "vm get-instance-view");
            assert.ok(looks.length >= 2, `${looks.length} looks`);
            for (const c of looks)
                assert.deepEqual(c.slice(2), [
                    "--ids",
                    `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01`,
                    "--output",
                    "json",
                    "--only-show-errors",
                ]);
            assert.equal(r.calls.filter((c) => op(c) === "account get-access-token").length, 1);
            assert.equal(r.world.tokensIssued, 1);
            assert.equal(r.world.disks[ORIGINAL.toLowerCase()].attachedTo, undefined, "original detached, kept");
            assert.equal(r.world.disks[ORIGINAL.toLowerCase()].tags["bootloop-rescue-role"], "original-os");
            const [reportLine, evidenceLine, ...rest] = r.stdout.split("\n");
            const report = JSON.parse(reportLine);
            assert.equal(report.status, "recovered");
            assert.equal(report.evidence, undefined, "the report does not repeat the evidence");
            // The evidence, read back from the repair Run Command (gzip-base64), follows the report
            // once, packed as the state keeps it.
            assert.match(evidenceLine, /^dict1-deflate-base64:/);
            assert.deepEqual(rest, []);
            assert.equal(evidenceAfterReport(r.stdout), '{"outcome":"repaired"}');
            const read = r.calls.filter((c) => op(c) === "vm run-command show");
            assert.equal(read.length, 1);
            assert.deepEqual(read[0].slice(3, 11), [
                "--subscription",
                SUB,
                "-g",
                "rg-app",
                "--vm-name",
                "rescue-azure-1-0",
                "--run-command-name",
                "app-01-repair-5f2a",
            ]);
        });

        it("makes the swap's deallocate, OS disk swap and start as Resource Manager requests of the watcher (the front's log), not az processes; the tag by az", () => {
            // The run's folder (its stand-in logs and the front's api-calls.log) under a temporary folder of this test's own.
            const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "az-actions-"));
            const saved = process.env.TMPDIR;
            process.env.TMPDIR = tmp;
            try {
                const r = run("swap", swapEnv, world());
                assert.equal(r.code, 0, r.stderr);
                const [runDir] = fs.readdirSync(tmp).filter((f) => f.startsWith("script-"));
                const viaApi = fs
                    .readFileSync(path.join(tmp, runDir, "api-calls.log"), "utf8")
                    .split("\n")
                    .filter(Boolean)
                    .map((l) => JSON.parse(l) as { cli: string; argv: string[] })
                    .filter((l) => MUTATING.test(op(l.argv)));
                const mutating = r.calls.filter((c) => MUTATING.test(op(c)));
                assert.deepEqual(mutating.map(op), ["vm deallocate", "disk update", "vm update", "vm start"]);
                // Every mutating call but the tag was a request the front answered (the same argv): no az process made it.
                assert.deepEqual(
                    viaApi,
                    mutating.filter((c) => op(c) !== "disk update").map((argv) => ({ cli: "az", argv })),
                );
                assert.deepEqual(viaApi[1].argv, [
                    "vm",
                    "update",
                    "--subscription",
                    SUB,
                    "-g",
                    "rg-app",
                    "-n",
                    "app-01",
                    "--os-disk",
                    FIXED,
                    "--no-wait",
                    "--output",
                    "json",
                    "--only-show-errors",
                ]);
            } finally {
                if (saved === undefined) delete process.env.TMPDIR;
                else process.env.TMPDIR = saved;
                fs.rmSync(tmp, { recursive: true, force: true });
            }
        });

        it("finishes with a gate of one place: reading the evidence back and packing it never wait on each other", () => {
            // Packing while the read still ran once held the gate's every place (a fleet's swaps
            // each packing, each read waiting): with one place, that is one swap.
            const r = run("swap", { ...swapEnv, BOOTLOOP_MAX_CLI_PROCESSES: "1" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.equal(evidenceAfterReport(r.stdout), '{"outcome":"repaired"}');
        });

        it("a repair Run Command it cannot read (gone, or no repair in this stack) leaves an evidence line saying so; the swap still succeeds", () => {
            for (const [env, w, why] of [
                [swapEnv, { ...world(), runCommands: {} }, /the repair Run Command app-01-repair-5f2a could not be read/],
                [{ ...swapEnv, REPAIR_RUN_COMMAND_ID: "" }, world(), /no repair Run Command ran for this VM in this stack/],
            ] as const) {
                const r = run("swap", env, w);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(JSON.parse(r.stdout.split("\n")[0]).status, "recovered");
                const evidence = JSON.parse(evidenceAfterReport(r.stdout));
                assert.equal(evidence.outcome, "unknown");
                assert.match(evidence.message, why);
                assert.match(r.stderr, why);
            }
        });

        it("refuses a Run Command id that is not one, before any call", () => {
            for (const bad of [
                `${RESCUE_ID}/runCommands/x;reboot`,
                `${RESCUE_ID}/runCommands/a/../b`,
                "/subscriptions/x/runCommands/y",
                `${RESCUE_ID}/extensions/x`,
            ]) {
                const r = run("swap", { ...swapEnv, REPAIR_RUN_COMMAND_ID: bad }, world());
                assert.equal(r.code, 1, bad);
                assert.match(r.stderr, /REPAIR_RUN_COMMAND_ID/);
                assert.deepEqual(r.calls, [], bad);
            }
        });

        it("a VM already running on the fixed disk with its agent ready is left alone", () => {
            const w = world();
            w.vms["rg-app/app-01"] = { power: "running", osDisk: FIXED, agent: "Ready" };
            const r = run("swap", swapEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
            );
            assert.equal(JSON.parse(r.stdout.split("\n")[0]).alreadyRecovered, true);
        });

        it("after a repair that failed for a reason of the VM's own (read back from its Run Command), swaps nothing and records it failed, keeping the evidence", () => {
            const w = world();
            const locked = JSON.stringify({ outcome: "locked", exitCode: 4, message: "no key unlocked partition 3" });
            w.runCommands["rg-app/rescue-azure-1-0/app-01-repair-5f2a"] = `log\ngzip-base64:${zlib.gzipSync(locked).toString("base64")}`;
            const r = run("swap", swapEnv, w);
            assert.equal(r.code, 0, r.stderr);
            const report = JSON.parse(r.stdout.split("\n")[0]);
            assert.equal(report.status, "failed");
            assert.match(report.reason, /BitLocker-encrypted and no key given unlocked it \(no key unlocked partition 3\)/);
            assert.match(report.nextStep, /npm run import-keys/);
            assert.equal(evidenceAfterReport(r.stdout), locked, "the evidence is kept");
            assert.deepEqual(r.calls.map(op), ["vm run-command show"], "one call: the evidence read back; the VM is untouched");
        });

        it("a VM that never reports ready is recorded failed (its own outcome: the fleet goes on); the original OS disk is untouched", () => {
            const w = world();
            w.disks[FIXED.toLowerCase()].boots = false;
            const r = run("swap", { ...swapEnv, BOOT_TIMEOUT_SECONDS: "2", POLL_SECONDS: "0.2" }, w);
            assert.equal(r.code, 0, r.stderr);
            const report = JSON.parse(r.stdout.split("\n")[0]);
            assert.equal(report.status, "failed");
            assert.match(report.reason, /did not report its VM agent Ready within 2 s on the fixed disk \(power running, agent none\)/);
            assert.match(report.nextStep, /check its boot diagnostics .*the original OS disk .* is untouched and kept for rollback/);
            assert.equal(r.world.disks[ORIGINAL.toLowerCase()].attachedTo, undefined);
            assert.ok(!r.calls.some((c) => c.includes(ORIGINAL) && op(c) !== "disk update"), "only tagged");
        });

        it("retries HTTP 429 throttling with backoff", () => {
            const w = world();
            w.throttle = { "vm deallocate": 2, "vm get-instance-view": 1 };
            const r = run("swap", { ...swapEnv, ...FAR_DEADLINES }, w);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.calls.filter((c) => op(c) === "vm deallocate").length, 3);
            // Made by the watcher (components/azure/actions.ts), the retried call's log line names the cloud's error (base.sh's api path).
            assert.match(
                r.stderr,
                /vm deallocate was throttled or busy \(try 1\); retrying in [0-9.]+s: Status: 429 Too Many Requests, TooManyRequests: /,
            );
        });

        it("refuses an OS disk it does not know", () => {
            const w = world();
            w.vms["rg-app/app-01"].osDisk = disk("rg-app", "other");
            const r = run("swap", swapEnv, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /neither the original nor the fixed disk; someone changed it/);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
            );
        });

        it("keeps metacharacters inert: refused before any call", () => {
            const marker = path.join(os.tmpdir(), `pwned-az-${process.pid}`);
            for (const [key, value] of [
                ["VM_NAME", `app-01; touch ${marker}`],
                ["RESOURCE_GROUP", `$(touch ${marker})`],
                ["FIXED_DISK_ID", `${FIXED}\`touch ${marker}\``],
                ["SUBSCRIPTION_ID", "x"],
            ]) {
                const r = run("swap", { ...swapEnv, [key]: value }, world());
                assert.equal(r.code, 1, key);
                assert.match(r.stderr, new RegExp(`${key} has an unexpected value`));
                assert.deepEqual(r.calls, []);
            }
            assert.ok(!fs.existsSync(marker));
        });
    });

    describe("attach and detach (teardown)", () => {
        it("attaches to one rescue VM run one at a time, in order, instead of colliding and retrying", async () => {
            const w = world();
            w.attachMs = 400;
            const disks = ["d1", "d2", "d3"].map((n) => disk("rg-app", n));
            for (const d of disks) w.disks[d.toLowerCase()] = {};
            const { runs, world: after } = await runTogether({
                scripts: disks.map((d, i) => ({ script: azureScript("attach"), env: { ...attachEnv, DISK_ID: d, LUN: String(i + 1) } })),
                world: w,
                standInDir: STAND_IN,
                stateVar: "FAKE_AZ_STATE",
                logVar: "FAKE_AZ_LOG",
            });
            for (const r of runs) assert.equal(r.code, 0, r.stderr);
            assert.equal(after.conflicts ?? 0, 0, "no attach found the rescue VM busy with another");
            assert.deepEqual(after.vms["rg-app/rescue-azure-1-0"].dataDisks, { 1: disks[0], 2: disks[1], 3: disks[2] });
        });

        it("attaches the scratch disk at its LUN, retrying while the rescue VM is busy", () => {
            const w = world();
            w.vms["rg-app/rescue-azure-1-0"].busy = 2;
            const r = run("attach", attachEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.world.vms["rg-app/rescue-azure-1-0"].dataDisks["3"], SCRATCH);
            assert.equal(r.calls.filter((c) => op(c) === "vm disk attach").length, 3);
        });

        it("is idempotent, and never replaces another disk at the LUN", () => {
            const w = world();
            w.vms["rg-app/rescue-azure-1-0"].dataDisks = { "3": SCRATCH };
            w.disks[SCRATCH.toLowerCase()].attachedTo = "rg-app/rescue-azure-1-0";
            const again = run("attach", attachEnv, w);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(
                again.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
            );
            const taken = world();
            taken.vms["rg-app/rescue-azure-1-0"].dataDisks = { "3": disk("rg-app", "other") };
            const r = run("attach", attachEnv, taken);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /LUN 3 of rescue VM rescue-azure-1-0 already holds another disk/);
        });

        it("detach takes the scratch disk off the rescue VM, and is a no-op when it or the VM is gone", () => {
            const w = world();
            w.vms["rg-app/rescue-azure-1-0"].dataDisks = { "3": SCRATCH };
            w.disks[SCRATCH.toLowerCase()].attachedTo = "rg-app/rescue-azure-1-0";
            const r = run("detach", attachEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.world.vms["rg-app/rescue-azure-1-0"].dataDisks, {});
            assert.equal(run("detach", attachEnv, r.world).code, 0);
            const gone = world();
            delete gone.vms["rg-app/rescue-azure-1-0"];
            const g = run("detach", attachEnv, gone);
            assert.equal(g.code, 0, g.stderr);
            assert.match(g.stderr, /is gone; nothing to detach/);
        });
    });
});
