import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FIXED, INSTANCE, MUTATING, ORIGINAL, RESCUE, SCRATCH, op, repairEnv, run, swapEnv, world } from "./run-script";
import { FAR_DEADLINES } from "../helpers/stand-in";
import { unpackEvidence } from "../../components/core/cloud-steps";

describe("AWS command scripts (stand-in aws CLI)", () => {
    describe("swap + start + verify", () => {
        it("stops, keeps and tags the original, attaches the fixed volume at the root device, starts and verifies the boot", () => {
            const r = run("swap", swapEnv, world());
            assert.equal(r.code, 0, r.stderr);
            const mutations = r.calls.map(op).filter((o) => MUTATING.test(o));
            assert.deepEqual(mutations, [
                "ec2 stop-instances",
                "ec2 create-tags",
                "ec2 detach-volume",
                "ec2 attach-volume",
                "ec2 start-instances",
            ]);
            const i = r.world.instances[INSTANCE];
            assert.equal(i.state, "running");
            assert.deepEqual(i.blockDevices, { "/dev/sda1": FIXED });
            assert.equal(r.world.volumes[ORIGINAL].state, "available", "original kept, detached, not deleted");
            assert.equal(r.world.volumes[ORIGINAL].tags["bootloop-rescue:role"], "original-root");
            assert.equal(r.world.volumes[ORIGINAL].tags["bootloop-rescue:instance"], INSTANCE);
            assert.equal(
                r.world.volumes[ORIGINAL].tags["bootloop-rescue:device"],
                "/dev/sda1",
                "a re-run after the detach finds the device here",
            );
            const report = JSON.parse(r.stdout);
            assert.equal(report.status, "recovered");
            assert.equal(report.alreadyRecovered, false);
            assert.equal(report.bootMarker, "found");
            assert.deepEqual(Object.keys(report.timings), ["stopSeconds", "swapSeconds", "bootSeconds", "totalSeconds"]);
        });

        it("an instance already running healthy on the fixed volume is left alone: no call that changes anything", () => {
            const w = world();
            w.instances[INSTANCE] = {
                state: "running",
                rootDeviceName: "/dev/sda1",
                blockDevices: { "/dev/sda1": FIXED },
                bootedFrom: FIXED,
                checkPolls: 0,
                consoleOutput: "Windows is Ready to use",
            };
            const r = run("swap", swapEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
            );
            assert.equal(JSON.parse(r.stdout).alreadyRecovered, true);
        });

        it("an instance that never passes its status checks is recorded failed (its own outcome: the fleet goes on); the original root volume stays untouched", () => {
            const w = world();
            w.volumes[FIXED].boots = false;
            const r = run("swap", { ...swapEnv, BOOT_TIMEOUT_SECONDS: "2", POLL_SECONDS: "0.2" }, w);
            assert.equal(r.code, 0, r.stderr);
            const report = JSON.parse(r.stdout);
            assert.equal(report.status, "failed");
            assert.match(report.reason, /did not boot healthy within 2 s on the fixed volume vol-0222222222222222b/);
            assert.match(report.nextStep, /original root volume vol-0111111111111111a is untouched and kept for rollback/);
            assert.match(r.stderr, /FAILED: i-[0-9a-f]+ did not boot healthy/);
            assert.equal(r.world.volumes[ORIGINAL].state, "available");
            assert.ok(
                !r.calls.some((c) => c.includes(ORIGINAL) && /attach-volume|delete/.test(op(c))),
                "nothing but the detach touched the original",
            );
        });

        it("after a repair that failed for a reason of the VM's own (REPAIR_FAILED), swaps nothing and records it failed, calling nothing", () => {
            const r = run(
                "swap",
                { ...swapEnv, REPAIR_FAILED: "the disk is locked; <b>$(reboot)</b>", REPAIR_NEXT_STEP: "give its key, then retry" },
                world(),
            );
            assert.equal(r.code, 0, r.stderr);
            const report = JSON.parse(r.stdout);
            assert.deepEqual(
                [report.status, report.reason, report.nextStep],
                ["failed", "the disk is locked; <b>$(reboot)</b>", "give its key, then retry"],
            );
            assert.deepEqual(r.calls, [], "no call at all");
            assert.equal(r.world.instances[INSTANCE].state, world().instances[INSTANCE].state, "the VM is untouched");
        });

        it("retries throttled calls with jittered backoff, and the watcher retries its throttled polls (that a throttled poll never counts against a wait is the watcher's own test)", () => {
            const r = run(
                "swap",
                { ...swapEnv, ...FAR_DEADLINES },
                world({ throttle: { "ec2 stop-instances": 2, "ec2 describe-instances": 3, "ec2 describe-instance-status": 3 } }),
            );
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.calls.filter((c) => op(c) === "ec2 stop-instances").length, 3);
            assert.match(r.stderr, /ec2 stop-instances was throttled or busy \(try 1\); retrying in [0-9.]+s/);
            assert.equal(JSON.parse(r.stdout).status, "recovered");
        });

        it("retries a throttled call until the step's deadline, then fails with the cloud's message", () => {
            // 8 s: enough for three tries with backoff even on a loaded runner (each stand-in call starts a Node process).
            const r = run("swap", { ...swapEnv, STEP_TIMEOUT_SECONDS: "8" }, world({ throttle: { "ec2 stop-instances": 1e6 } }));
            assert.notEqual(r.code, 0);
            assert.ok(r.calls.filter((c) => op(c) === "ec2 stop-instances").length > 2, "retried more than twice");
            assert.match(r.stderr, /ec2 stop-instances failed: .*RequestLimitExceeded/);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o) && o !== "ec2 stop-instances"),
                [],
            );
        });

        it("a permanent error (access denied) fails at once with the cloud's message, no retry", () => {
            const r = run("swap", swapEnv, world({ deny: { "ec2 stop-instances": true } }));
            assert.equal(r.code, 1);
            assert.equal(r.calls.filter((c) => op(c) === "ec2 stop-instances").length, 1);
            assert.match(r.stderr, /ec2 stop-instances failed: .*UnauthorizedOperation/);
        });

        it("an observation that can never be made is reported as such, never as a timeout of the VM", () => {
            const r = run("swap", swapEnv, world({ throttle: { "ec2 describe-instances": 1e6 } }));
            assert.equal(r.code, 1);
            assert.match(r.stderr, /no observation could be made since the deadline passed .*RequestLimitExceeded/);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
            );
        });

        it("forces the stop of an instance that will not stop", () => {
            const w = world();
            w.instances[INSTANCE].stuckUnlessForced = true;
            const r = run("swap", { ...swapEnv, STOP_TIMEOUT_SECONDS: "1", POLL_SECONDS: "0.2" }, w);
            assert.equal(r.code, 0, r.stderr);
            assert.ok(r.calls.some((c) => op(c) === "ec2 stop-instances" && c.includes("--force")));
        });

        it("resumes a swap that stopped after the detach", () => {
            const w = world();
            w.instances[INSTANCE] = { state: "stopped", rootDeviceName: "/dev/sda1", blockDevices: {}, bootPolls: 1 };
            w.volumes[ORIGINAL].state = "available";
            const r = run("swap", swapEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                ["ec2 attach-volume", "ec2 start-instances"],
            );
        });

        it("refuses when the root device holds a volume it does not know", () => {
            const w = world();
            w.instances[INSTANCE].blockDevices["/dev/sda1"] = "vol-0999999999999999f";
            const r = run("swap", swapEnv, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /holds vol-0999999999999999f, neither the original .* nor the fixed/);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
            );
        });

        it("keeps inputs with shell metacharacters inert: refused before any call, nothing executed", () => {
            const marker = path.join(os.tmpdir(), `pwned-${process.pid}`);
            for (const [key, value] of [
                ["INSTANCE_ID", `i-0123456789abcdef0; touch ${marker}`],
                ["FIXED_VOLUME_ID", `$(touch ${marker})`],
                ["ROOT_DEVICE", `/dev/sda1\`touch ${marker}\``],
            ]) {
                const r = run("swap", { ...swapEnv, [key]: value }, world());
                assert.equal(r.code, 1, key);
                assert.match(r.stderr, new RegExp(`${key} has an unexpected value; refusing to run`));
                assert.deepEqual(r.calls, [], `${key}: no AWS call made`);
            }
            const labelled = run("swap", { ...swapEnv, VM_LABEL: `$(touch ${marker}) \`touch ${marker}\`` }, world());
            assert.equal(labelled.code, 0);
            assert.ok(labelled.stderr.includes(`$(touch ${marker})`), "the label is printed literally");
            assert.ok(!fs.existsSync(marker), "nothing was executed");
        });
    });

    describe("repair through Systems Manager", () => {
        it("waits for the agent, sends the document with the volume id, and prints the evidence", () => {
            const r = run("repair", repairEnv, world());
            assert.equal(r.code, 0, r.stderr);
            const send = r.calls.find((c) => op(c) === "ssm send-command")!;
            assert.deepEqual(send.slice(send.indexOf("--parameters"), send.indexOf("--parameters") + 2), [
                "--parameters",
                `{"volumeId":["${SCRATCH}"],"keySecret":[""]}`,
            ]);
            assert.ok(send.includes("bootloop-rescue-repair-abc"));
            assert.match(r.stdout, /^dict1-deflate-base64:/, "printed packed, as the state keeps it");
            assert.equal(JSON.parse(unpackEvidence(r.stdout)).outcome, "repaired");
        });

        it("takes over a repair of the volume an interrupted run sent (running or done) instead of sending it again", () => {
            for (const status of ["InProgress", "Success"]) {
                const w = world();
                w.ssm.commands["00000009-1111-2222-3333-444455556666"] = {
                    instance: RESCUE,
                    document: "bootloop-rescue-repair-abc",
                    volumeId: SCRATCH,
                    polls: status === "InProgress" ? 2 : 0,
                };
                const r = run("repair", repairEnv, w);
                assert.equal(r.code, 0, r.stderr);
                assert.ok(!r.calls.some((c) => op(c) === "ssm send-command"), `${status}: nothing sent again`);
                assert.match(
                    r.stderr,
                    new RegExp(`sent earlier \\(Systems Manager command 00000009-1111-2222-3333-444455556666, ${status}\\) is taken over`),
                );
                assert.equal(JSON.parse(unpackEvidence(r.stdout)).outcome, "repaired");
            }
        });

        it("a retry (REPAIR_ATTEMPT 2) is sent anew though the first attempt's command succeeded, its attempt in the comment; a re-run of the retry takes the retry's over", () => {
            const w = world();
            w.ssm.commands["00000009-1111-2222-3333-444455556666"] = {
                instance: RESCUE,
                document: "bootloop-rescue-repair-abc",
                volumeId: SCRATCH,
                polls: 0,
            };
            const retry = run("repair", { ...repairEnv, REPAIR_ATTEMPT: "2" }, w);
            assert.equal(retry.code, 0, retry.stderr);
            const sent = retry.calls.filter((c) => op(c) === "ssm send-command");
            assert.equal(sent.length, 1, "the first attempt's command is not taken over");
            assert.equal(sent[0][sent[0].indexOf("--comment") + 1], `bootloop-rescue repair of ${SCRATCH}, attempt 2`);
            const again = run("repair", { ...repairEnv, REPAIR_ATTEMPT: "2" }, retry.world);
            assert.equal(again.code, 0, again.stderr);
            assert.ok(!again.calls.some((c) => op(c) === "ssm send-command"), "the retry's own command is taken over");
            assert.equal(run("repair", { ...repairEnv, REPAIR_ATTEMPT: "0" }, w).code, 1, "an attempt is 1 or more");
        });

        it("sends the repair anew when the earlier one failed, or was for another volume", () => {
            for (const earlier of [
                { volumeId: SCRATCH, status: "Failed" },
                { volumeId: "vol-0999999999999999f", status: "InProgress" },
            ]) {
                const w = world();
                w.ssm.commands["00000009-1111-2222-3333-444455556666"] = {
                    instance: RESCUE,
                    document: "bootloop-rescue-repair-abc",
                    polls: 0,
                    ...earlier,
                };
                const r = run("repair", repairEnv, w);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.calls.filter((c) => op(c) === "ssm send-command").length, 1, JSON.stringify(earlier));
            }
        });

        it("a repair that printed no evidence says so, with the Systems Manager status", () => {
            const w = world();
            w.ssm.evidence[SCRATCH] = undefined;
            const r = run("repair", repairEnv, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /the repair printed no evidence \(Systems Manager status Failed\)/);
        });

        it("a repair that failed for a reason not the VM's own fails the step with the engine's reason", () => {
            const w = world();
            w.ssm.evidence[SCRATCH] = {
                tool: "bootloop-rescue/repair-disk",
                outcome: "error",
                exitCode: 6,
                message: "ntfs-3g is missing on the rescue instance",
            };
            const r = run("repair", repairEnv, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /repair failed: error: ntfs-3g is missing/);
            assert.equal(r.stdout, "");
        });

        it("a repair that failed for a reason of the VM's own (a locked disk) keeps its evidence and succeeds: the swap records it", () => {
            const w = world();
            const locked = {
                tool: "bootloop-rescue/repair-disk",
                outcome: "locked",
                exitCode: 4,
                message: "partition(s) 3 are BitLocker-encrypted and no recovery password was given",
            };
            w.ssm.evidence[SCRATCH] = locked;
            const r = run("repair", repairEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(JSON.parse(unpackEvidence(r.stdout)), locked);
        });

        it("a rescue instance that never comes online fails with the reason and what it needs", () => {
            const w = world();
            w.ssm.instances[RESCUE].onlineAfterPolls = 1e6;
            const r = run("repair", { ...repairEnv, REPAIR_TIMEOUT_SECONDS: "1", POLL_SECONDS: "0.2" }, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /did not come online in Systems Manager within 1 s .*VPC endpoints/);
            assert.deepEqual(
                r.calls.map(op).filter((o) => MUTATING.test(o)),
                [],
            );
        });

        it("in teardown, a VM that never finished its repair fails clearly and calls nothing", () => {
            const r = run("repair", { ...repairEnv, BOOTLOOP_TEARDOWN: "1" }, world());
            assert.equal(r.code, 1);
            assert.match(r.stderr, /teardown found no finished repair/);
            assert.deepEqual(r.calls, []);
        });

        it("names the secret that holds the disk's keys to the document (a reference: the rescue instance reads it); anything else is refused before any call", () => {
            const arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:bootloop-rescue/dev/web=1+a-AbCdEf";
            const w = world();
            const r = run("repair", { ...repairEnv, KEY_SECRET: arn }, w);
            assert.equal(r.code, 0, r.stderr);
            const send = r.calls.find((c) => op(c) === "ssm send-command")!;
            assert.deepEqual(JSON.parse(send[send.indexOf("--parameters") + 1]), { volumeId: [SCRATCH], keySecret: [arn] });
            assert.equal((Object.values(r.world.ssm.commands)[0] as { keySecret: string }).keySecret, arn);
            for (const bad of [
                `${arn}"],"volumeId":["vol-1`,
                "arn:aws:secretsmanager:us-east-1:111122223333:secret:x",
                "111111-222222-333333-444444-555555-666666-777777-888888",
            ]) {
                const refused = run("repair", { ...repairEnv, KEY_SECRET: bad }, world());
                assert.equal(refused.code, 1, bad);
                assert.deepEqual(refused.calls, [], bad);
            }
        });

        it("refuses a volume id with shell metacharacters before any call", () => {
            const r = run("repair", { ...repairEnv, VOLUME_ID: "vol-0333333333333333c volumeId=vol-1" }, world());
            assert.equal(r.code, 1);
            assert.deepEqual(r.calls, []);
        });
    });
});
