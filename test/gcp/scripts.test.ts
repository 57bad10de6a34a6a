import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { MUTATING, op, repairEnv, run, swapEnv, world } from "./run-script";
import { FAR_DEADLINES } from "../helpers/stand-in";
import { unpackEvidence } from "../../components/core/cloud-steps";

/** Guest attributes as the rescue agent publishes them. */
function published(device: string, evidence: Record<string, unknown>, code = 0) {
    const line = `gzip-base64:${zlib.gzipSync(JSON.stringify(evidence)).toString("base64")}`;
    const chunks = line.match(/.{1,240}/g)!;
    return [
        ...chunks.map((c, i) => ({ namespace: "bootloop-rescue", key: `${device}-c${i}`, value: c })),
        { namespace: "bootloop-rescue", key: `${device}-code`, value: String(code) },
        { namespace: "bootloop-rescue", key: `${device}-chunks`, value: String(chunks.length) },
    ];
}

describe("GCP command scripts (stand-in gcloud)", () => {
    describe("swap + start + verify", () => {
        it("stops, labels and detaches the original, attaches the fixed disk as boot disk, starts and waits for a new boot marker", () => {
            const r = run("swap", swapEnv, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                ["instances stop", "disks add-labels", "instances detach-disk", "instances attach-disk", "instances start"],
            );
            assert.deepEqual(r.world.instances["web-1"].disks, [{ source: "web-1-fixed", boot: true }]);
            assert.equal(r.world.disks["web-1"].attachedTo, undefined, "original kept, detached");
            assert.equal(r.world.disks["web-1"].labels["bootloop-rescue-role"], "original-boot");
            assert.equal(r.world.disks["web-1"].labels["bootloop-rescue-instance"], "web-1", "a re-run after the detach finds it by this");
            assert.equal(JSON.parse(r.stdout).status, "recovered");
        });

        it("a marker from an earlier boot does not count: a fixed disk that never boots is recorded failed, the original untouched", () => {
            const w = world();
            w.disks["web-1-fixed"].boots = false;
            const r = run("swap", { ...swapEnv, BOOT_TIMEOUT_SECONDS: "2", POLL_SECONDS: "0.2" }, w);
            assert.equal(r.code, 0, r.stderr);
            const report = JSON.parse(r.stdout);
            assert.equal(report.status, "failed");
            assert.match(
                report.reason,
                /did not show the boot marker on serial port 1 within 2 s on the fixed disk web-1-fixed \(status RUNNING\)/,
            );
            assert.match(report.nextStep, /the original boot disk web-1 is untouched/);
            assert.ok(
                r.calls.some(
                    (c) => op(c) === "instances get-serial-port-output" && c.includes("--start") && c[c.indexOf("--start") + 1] !== "0",
                ),
                "reads only output after the start",
            );
        });

        it("notes where the fixed disk's boot output begins (when it stopped the instance) on the original disk", () => {
            const w = world();
            w.instances["web-1"].serial = "GCEGuestAgent: Windows is ready\nold boot, then the crash\n";
            const r = run("swap", swapEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.world.disks["web-1"].labels["bootloop-rescue-serial-from"], String(w.instances["web-1"].serial.length));
        });

        it("an instance already running on the fixed disk, with a boot marker after the noted offset, is left alone", () => {
            const w = world();
            const before = "GCEGuestAgent: Windows is ready\nStopping\n";
            w.instances["web-1"] = {
                status: "RUNNING",
                disks: [{ source: "web-1-fixed", boot: true }],
                serial: `${before}GCEGuestAgent: Windows is ready\n`,
            };
            w.disks["web-1"].attachedTo = undefined;
            w.disks["web-1"].labels = { "bootloop-rescue-serial-from": String(before.length) };
            const r = run("swap", swapEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
            );
            assert.equal(JSON.parse(r.stdout).alreadyRecovered, true);
        });

        it("a boot marker from before the swap (an earlier boot in the serial output) never counts on a re-run", () => {
            for (const labels of [{ "bootloop-rescue-serial-from": "60" }, {}]) {
                const w = world();
                // Booted once long ago (the marker), then boot-looping on the fixed disk.
                w.instances["web-1"] = {
                    status: "RUNNING",
                    disks: [{ source: "web-1-fixed", boot: true }],
                    serial: "GCEGuestAgent: Windows is ready\n".padEnd(60, ".") + "crash\n",
                };
                w.disks["web-1"].attachedTo = undefined;
                w.disks["web-1"].labels = labels;
                w.disks["web-1-fixed"].boots = false;
                const r = run("swap", { ...swapEnv, BOOT_TIMEOUT_SECONDS: "2", POLL_SECONDS: "0.2" }, w);
                assert.equal(r.code, 0, JSON.stringify(labels));
                assert.equal(JSON.parse(r.stdout).status, "failed");
                assert.match(
                    r.stderr,
                    /FAILED: web-1 did not show the boot marker on serial port 1 within 2 s on the fixed disk web-1-fixed/,
                );
                if (!labels["bootloop-rescue-serial-from" as keyof typeof labels])
                    assert.match(r.stderr, /no record of where this boot's serial output begins; only output from now on counts/);
            }
        });

        it("retries rate-limit errors with backoff", () => {
            const w = world();
            w.throttle = { "instances stop": 2, "instances describe": 1 };
            const r = run("swap", { ...swapEnv, ...FAR_DEADLINES }, w);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.calls.filter((c) => op(c) === "instances stop").length, 3);
            // Made by the watcher as a request, the retry's log line also carries the API's error (base.sh).
            assert.match(r.stderr, /instances stop was throttled or busy \(try 1\); retrying in [0-9.]+s: [^\n]*rateLimitExceeded/);
        });

        it("keeps metacharacters inert: refused before any call", () => {
            const marker = path.join(os.tmpdir(), `pwned-gc-${process.pid}`);
            for (const [key, value] of [
                ["INSTANCE", `web-1; touch ${marker}`],
                ["PROJECT", `$(touch ${marker})`],
                ["FIXED_DISK", "../web-1"],
                ["ZONE", "us-central1-a --project=evil"],
            ]) {
                const r = run("swap", { ...swapEnv, [key]: value }, world());
                assert.equal(r.code, 1, key);
                assert.deepEqual(r.calls, [], key);
            }
            assert.ok(!fs.existsSync(marker));
        });
    });

    describe("repair through the rescue agent's guest attributes", () => {
        it("waits for the agent's result and prints the evidence", () => {
            const w = world();
            w.guestAttributes["rescue-1"] = published("br-web-1-abc123", {
                outcome: "repaired",
                exitCode: 0,
                message: "ok",
                matches: "x".repeat(2000),
            });
            const r = run("repair", repairEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /^dict1-deflate-base64:/, "printed packed, as the state keeps it");
            assert.equal(JSON.parse(unpackEvidence(r.stdout)).outcome, "repaired");
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
                "the deployer only reads",
            );
        });

        it("a repair that failed for a reason not the VM's own fails the step with the engine's reason", () => {
            const w = world();
            w.guestAttributes["rescue-1"] = published(
                "br-web-1-abc123",
                { outcome: "error", exitCode: 6, message: "the rescue instance lacks ntfs-3g" },
                6,
            );
            const r = run("repair", repairEnv, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /repair failed: error: the rescue instance lacks ntfs-3g/);
        });

        it("a repair that failed for a reason of the VM's own (no Windows) keeps its evidence and succeeds: the swap records it", () => {
            const w = world();
            const evidence = { outcome: "no-windows", exitCode: 3, message: "no Windows installation on this disk" };
            w.guestAttributes["rescue-1"] = published("br-web-1-abc123", evidence, 3);
            const r = run("repair", repairEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(JSON.parse(unpackEvidence(r.stdout)).outcome, "no-windows");
        });

        it("no result within the timeout fails with what the rescue instance needs", () => {
            const r = run("repair", { ...repairEnv, REPAIR_TIMEOUT_SECONDS: "1", POLL_SECONDS: "0.2" }, world());
            assert.equal(r.code, 1);
            assert.match(r.stderr, /published no result for br-web-1-abc123 within 1 s .*egress/);
        });

        it("a retry (REPAIR_ATTEMPT 2) waits for the result published with its attempt, never the first attempt's", () => {
            const w = world();
            const first = published("br-web-1-abc123", { outcome: "nothing-to-do", exitCode: 0, message: "attempt 1" });
            w.guestAttributes["rescue-1"] = first;
            const stale = run("repair", { ...repairEnv, REPAIR_ATTEMPT: "2", REPAIR_TIMEOUT_SECONDS: "1", POLL_SECONDS: "0.2" }, w);
            assert.equal(stale.code, 1, "the first attempt's result (no attempt published) is not the retry's");
            assert.match(
                stale.stderr,
                /published no result of attempt 2 for br-web-1-abc123 within 1 s \(a rescue instance made before retries/,
            );
            w.guestAttributes["rescue-1"] = [
                ...published("br-web-1-abc123", { outcome: "repaired", exitCode: 0, message: "attempt 2" }),
                { namespace: "bootloop-rescue", key: "br-web-1-abc123-attempt", value: "2" },
            ];
            const retried = run("repair", { ...repairEnv, REPAIR_ATTEMPT: "2" }, w);
            assert.equal(retried.code, 0, retried.stderr);
            assert.equal(JSON.parse(unpackEvidence(retried.stdout)).message, "attempt 2");
            // The first attempt still reads its own result (published with attempt 1, or none).
            w.guestAttributes["rescue-1"] = [...first, { namespace: "bootloop-rescue", key: "br-web-1-abc123-attempt", value: "1" }];
            assert.equal(run("repair", repairEnv, w).code, 0);
        });

        it("the sandbox's stand-in agent repairs a disk again for a retry the instance's metadata names, and publishes the attempt (as the real agent does)", () => {
            const w = world();
            w.instances["rescue-1"] = {
                status: "RUNNING",
                agent: true,
                agentPolls: 0,
                metadata: {},
                disks: [
                    { source: "rescue-1", boot: true },
                    { source: "web-1-scratch", deviceName: "br-web-1-abc123" },
                ],
                serial: "",
            };
            w.disks["web-1-scratch"] = { sourceDisk: "web-1", boots: false };
            const first = run("repair", repairEnv, w);
            assert.equal(first.code, 0, first.stderr);
            const attempt = (x: any) => x.guestAttributes["rescue-1"].find((a: any) => a.key === "br-web-1-abc123-attempt")?.value;
            assert.equal(attempt(first.world), "1");
            first.world.instances["rescue-1"].metadata["bootloop-rescue-attempt-web-1"] = "2";
            const retry = run("repair", { ...repairEnv, REPAIR_ATTEMPT: "2" }, first.world);
            assert.equal(retry.code, 0, retry.stderr);
            assert.equal(attempt(retry.world), "2");
        });

        it("ignores other devices' results, and refuses malformed device names", () => {
            const w = world();
            w.guestAttributes["rescue-1"] = published("br-other-999999", { outcome: "repaired", exitCode: 0, message: "" });
            const r = run("repair", { ...repairEnv, REPAIR_TIMEOUT_SECONDS: "1", POLL_SECONDS: "0.2" }, w);
            assert.equal(r.code, 1);
            assert.equal(run("repair", { ...repairEnv, DEVICE_NAME: "sda" }, world()).code, 1);
        });
    });
});
