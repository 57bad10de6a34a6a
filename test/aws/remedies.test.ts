import { strict as assert } from "assert";
import { assertLogWithinEstimate } from "../helpers/commands";
import { chooseRestorePoint } from "../../components/core/restore-point";
import { FIXED, INSTANCE, ORIGINAL, op, repairEnv, rollbackEnv, run, swapEnv, swapped, world } from "./run-script";

const rebootEnv = {
    INSTANCE_ID: INSTANCE,
    VM_LABEL: "aws us-east-1/i-0123456789abcdef0",
    MAX_REBOOTS: "15",
    REBOOT_TIMEOUT_SECONDS: "1",
    MUST_RECOVER: "true",
    BOOT_MARKER: "Windows is Ready to use",
};
const ROLLBACK_MUTATING = /^ec2 (stop-instances|start-instances|detach-volume|attach-volume|reboot-instances|create-tags)$/;

describe("AWS remedies (stand-in aws CLI)", () => {
    describe("reboot", () => {
        it("a VM that picks up the reverted file at restart 3 stops there: 3 restarts, no disk touched", () => {
            const w = world();
            w.instances[INSTANCE].recoversAtReboot = 3;
            const r = run("reboot", rebootEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                ["ec2 reboot-instances", "ec2 reboot-instances", "ec2 reboot-instances"],
            );
            const report = JSON.parse(r.stdout);
            assert.equal(report.status, "recovered");
            assert.equal(report.attempts, 3);
            assert.deepEqual(r.world.instances[INSTANCE].blockDevices, { "/dev/sda1": ORIGINAL }, "the root volume is unchanged");
            assert.match(r.stderr, /booted healthy after restart 3/);
        });

        it("a VM that never recovers is recorded failed after maxReboots restarts (its own outcome: the fleet goes on), naming what to do next", () => {
            const r = run("reboot", { ...rebootEnv, MAX_REBOOTS: "3", REBOOT_TIMEOUT_SECONDS: "1" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.calls.filter((c) => op(c) === "ec2 reboot-instances").length, 3);
            const report = JSON.parse(r.stdout);
            assert.deepEqual([report.status, report.attempts, report.reason], ["failed", 3, "no healthy boot after 3 restarts"]);
            assert.match(report.nextStep, /recover it with strategy reboot-then-repair, repair or restore; its disks are untouched/);
            assert.match(r.stderr, /FAILED: no healthy boot after 3 restarts; its disks are untouched/);
        });

        it("under reboot-then-repair a VM that never recovers reports not-recovered, so the repair chain follows", () => {
            const r = run("reboot", { ...rebootEnv, MAX_REBOOTS: "2", REBOOT_TIMEOUT_SECONDS: "1", MUST_RECOVER: "false" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual({ ...JSON.parse(r.stdout), timings: undefined }, { status: "not-recovered", attempts: 2, timings: undefined });
            assertLogWithinEstimate(r.stderr, 2, rebootEnv.VM_LABEL);
        });

        it("a VM that already boots healthy gets no restart at all", () => {
            const w = swapped();
            const r = run("reboot", rebootEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                [],
            );
            assert.equal(JSON.parse(r.stdout).attempts, 0);
        });

        it("refuses a malformed restart count before any call", () => {
            const r = run("reboot", { ...rebootEnv, MAX_REBOOTS: "3; reboot" }, world());
            assert.equal(r.code, 1);
            assert.deepEqual(r.calls, []);
        });
    });

    describe("reboot-then-repair after a reboot that recovered the VM", () => {
        it("the repair runs nothing and records that it was skipped", () => {
            const r = run("repair", { ...repairEnv, REBOOT_STATUS: "recovered" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.calls, []);
            assert.equal(JSON.parse(r.stdout).outcome, "skipped");
        });

        it("the swap swaps nothing: status recovered-by-reboot, no call", () => {
            const r = run("swap", { ...swapEnv, REBOOT_STATUS: "recovered" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.calls, []);
            assert.equal(JSON.parse(r.stdout).status, "recovered-by-reboot");
        });

        it("after a reboot that did not recover it, the swap goes ahead", () => {
            const r = run("swap", { ...swapEnv, REBOOT_STATUS: "not-recovered" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.equal(JSON.parse(r.stdout).status, "recovered");
            assert.ok(r.calls.map(op).includes("ec2 attach-volume"));
        });
    });

    describe("rollback", () => {
        it("swaps the original root volume back in, keeps the fixed one detached, and starts the instance", () => {
            const r = run("rollback", rollbackEnv, swapped());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                ["ec2 stop-instances", "ec2 detach-volume", "ec2 attach-volume", "ec2 start-instances"],
            );
            assert.deepEqual(r.world.instances[INSTANCE].blockDevices, { "/dev/sda1": ORIGINAL });
            assert.equal(r.world.instances[INSTANCE].state, "running");
            assert.equal(r.world.volumes[FIXED].state, "available", "the fixed volume is kept");
            const report = JSON.parse(r.stdout);
            assert.equal(report.status, "rolled-back");
            assert.equal(report.replacedDiskId, FIXED);
        });

        it("a VM that was never swapped is a no-op with a message", () => {
            const r = run("rollback", rollbackEnv, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                [],
            );
            const report = JSON.parse(r.stdout);
            assert.equal(report.status, "not-swapped");
            assert.match(report.message, /was never swapped/);
        });

        it("rolling back twice changes nothing the second time", () => {
            const first = run("rollback", rollbackEnv, swapped());
            const again = run("rollback", rollbackEnv, first.world);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(
                again.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                [],
            );
            assert.match(JSON.parse(again.stdout).message, /rolled back before/);
        });

        /** swapped(), with the marks the swap script leaves on the original (replaced-by names the fixed volume). */
        const markedSwap = () => {
            const w = swapped();
            w.volumes[ORIGINAL].tags = {
                "bootloop-rescue:role": "original-root",
                "bootloop-rescue:instance": INSTANCE,
                "bootloop-rescue:replaced-by": FIXED,
                "bootloop-rescue:device": "/dev/sda1",
            };
            return w;
        };

        it("a rollback whose start was refused leaves the VM stopped; the re-run starts it, and reports the volume it replaced", () => {
            const w = markedSwap();
            w.deny = { "ec2 start-instances": true };
            const refused = run("rollback", rollbackEnv, w);
            assert.equal(refused.code, 1);
            assert.match(refused.stderr, /UnauthorizedOperation/);
            assert.deepEqual(refused.world.instances[INSTANCE].blockDevices, { "/dev/sda1": ORIGINAL });
            assert.equal(refused.world.instances[INSTANCE].state, "stopped");
            delete refused.world.deny;
            const again = run("rollback", rollbackEnv, refused.world);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(
                again.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                ["ec2 start-instances"],
            );
            assert.equal(again.world.instances[INSTANCE].state, "running");
            const report = JSON.parse(again.stdout);
            assert.equal(report.status, "rolled-back");
            assert.equal(report.replacedDiskId, FIXED);
            assert.match(report.message, /started now/);
        });

        it("a rollback killed between its attach and its start: the re-run starts the VM, or fails with the reason", () => {
            const w = markedSwap();
            w.instances[INSTANCE] = { ...w.instances[INSTANCE], state: "stopped", blockDevices: { "/dev/sda1": ORIGINAL } };
            w.volumes[ORIGINAL].state = "in-use";
            w.volumes[FIXED].state = "available";
            const r = run("rollback", rollbackEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                ["ec2 start-instances"],
            );
            assert.equal(r.world.instances[INSTANCE].state, "running");
            assert.equal(JSON.parse(r.stdout).replacedDiskId, FIXED);
            w.deny = { "ec2 start-instances": true };
            const refused = run("rollback", rollbackEnv, w);
            assert.equal(refused.code, 1);
            assert.equal(refused.stdout, "", "no report: the step fails");
            assert.match(refused.stderr, /could not be started .*it stays stopped/);
        });

        it("a rollback cut between its detach and its attach (no root volume): attaches the original, starts, and reports the volume the mark names", () => {
            const w = markedSwap();
            w.instances[INSTANCE] = { ...w.instances[INSTANCE], state: "stopped", blockDevices: {} };
            w.volumes[FIXED].state = "available";
            const r = run("rollback", rollbackEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                ["ec2 attach-volume", "ec2 start-instances"],
                "nothing to detach",
            );
            assert.deepEqual(r.world.instances[INSTANCE].blockDevices, { "/dev/sda1": ORIGINAL });
            assert.equal(JSON.parse(r.stdout).replacedDiskId, FIXED);
        });

        it("a second rollback of a running VM changes nothing and keeps the replaced volume in its report", () => {
            const first = run("rollback", rollbackEnv, markedSwap());
            assert.equal(JSON.parse(first.stdout).replacedDiskId, FIXED);
            const again = run("rollback", rollbackEnv, first.world);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(
                again.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                [],
            );
            const report = JSON.parse(again.stdout);
            assert.equal(report.status, "rolled-back");
            assert.equal(report.replacedDiskId, FIXED);
        });

        it("refuses a root volume that is neither the original nor one of ours", () => {
            const w = swapped();
            w.volumes[FIXED].tags = {};
            const r = run("rollback", rollbackEnv, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /neither the original .* nor a volume bootloop-rescue made for this instance/);
            assert.deepEqual(
                r.calls.map(op).filter((o) => ROLLBACK_MUTATING.test(o)),
                [],
            );
        });
    });

    describe("restore points", () => {
        const snapshots = {
            "snap-0000000000000000a": { volumeId: ORIGINAL, startTime: "2024-07-18T02:00:00.000Z" },
            "snap-0000000000000000b": { volumeId: ORIGINAL, startTime: "2024-07-19T01:30:00.000Z" },
            "snap-0000000000000000c": { volumeId: ORIGINAL, startTime: "2024-07-19T06:00:00.000Z" },
            "snap-0000000000000000d": { volumeId: "vol-0999999999999999f", startTime: "2024-07-19T03:00:00.000Z" },
            // Another region's snapshot of the same volume id: never in this region's listing.
            "snap-0000000000000000f": { volumeId: ORIGINAL, startTime: "2024-07-19T02:00:00.000Z", region: "eu-west-1" },
        };
        const env = { ACCOUNT_ID: "123456789012" };
        // The lookup keeps the listed snapshots of the VM's own volume before choosing (aws/lookups.ts).
        const ofOriginal = (out: string) => JSON.stringify(JSON.parse(out).filter((s: { source: string }) => s.source === ORIGINAL));
        const choose = (out: string, explicit?: string, otherDiskAllowed?: boolean) =>
            chooseRestorePoint(JSON.parse(out), {
                explicit,
                before: "2024-07-19T04:09:00Z",
                disk: ORIGINAL,
                isOriginal: (source) => source === ORIGINAL,
                otherDiskAllowed,
            });

        it("lists the account's snapshots in the region in one call, each with its volume; of the VM's, the newest before the cutoff wins", () => {
            const r = run("restore-points", env, world({ snapshots }));
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.calls.map(op), ["ec2 describe-snapshots"]);
            assert.ok(r.calls[0].includes("--owner-ids") && r.calls[0].includes("self"), r.calls[0].join(" "));
            assert.ok(!r.calls[0].includes("--filters"), "no filter: one listing serves every volume of the account");
            assert.equal(r.calls[0][r.calls[0].indexOf("--page-size") + 1], "1000", "paged, as EC2 asks of a listing that may be large");
            assert.deepEqual(
                JSON.parse(r.stdout)
                    .map((s: any) => `${s.id} ${s.source}`)
                    .sort(),
                [
                    `snap-0000000000000000a ${ORIGINAL}`,
                    `snap-0000000000000000b ${ORIGINAL}`,
                    `snap-0000000000000000c ${ORIGINAL}`,
                    "snap-0000000000000000d vol-0999999999999999f",
                ],
            );
            assert.deepEqual(choose(ofOriginal(r.stdout)), { id: "snap-0000000000000000b", createdAt: "2024-07-19T01:30:00Z" });
        });

        it("in another account (its role assumed), the backups listed are that account's own (--owner-ids self), never the runner's", () => {
            const owned = {
                "snap-0000000000000001a": { volumeId: ORIGINAL, startTime: "2024-07-18T02:00:00.000Z", ownerId: "210000000001" },
                "snap-0000000000000001b": { volumeId: ORIGINAL, startTime: "2024-07-18T03:00:00.000Z" },
            };
            const r = run(
                "restore-points",
                { ...env, ASSUME_ROLE_ARN: "arn:aws:iam::210000000001:role/bootloop-rescue" },
                world({ snapshots: owned }),
            );
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                JSON.parse(r.stdout).map((s: any) => s.id),
                ["snap-0000000000000001a"],
            );
        });

        it("an explicit restoreFrom is looked up by id", () => {
            const r = run("restore-points", { ...env, RESTORE_FROM: "snap-0000000000000000a" }, world({ snapshots }));
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(choose(r.stdout, "snap-0000000000000000a"), {
                id: "snap-0000000000000000a",
                createdAt: "2024-07-18T02:00:00Z",
            });
        });

        it("an explicit restoreFrom of another volume's snapshot is refused, naming both, unless the entry says so", () => {
            const r = run("restore-points", { ...env, RESTORE_FROM: "snap-0000000000000000d" }, world({ snapshots }));
            assert.equal(r.code, 0, r.stderr);
            assert.throws(
                () => choose(r.stdout, "snap-0000000000000000d"),
                new RegExp(
                    `restoreFrom snap-0000000000000000d was taken from vol-0999999999999999f, not from this VM's original OS disk ${ORIGINAL}; name a backup of this VM's disk, or set restoreFromOtherDisk: true`,
                ),
            );
            assert.equal(choose(r.stdout, "snap-0000000000000000d", true).id, "snap-0000000000000000d");
        });

        it("no snapshot before the cutoff is a clear error", () => {
            const r = run("restore-points", env, world({ snapshots: { "snap-0000000000000000c": snapshots["snap-0000000000000000c"] } }));
            assert.throws(
                () => choose(ofOriginal(r.stdout)),
                /no backup of its OS disk vol-0111111111111111a was taken before restoreBefore 2024-07-19T04:09:00Z \(1 found, all from 2024-07-19T06:00:00Z or later\)/,
            );
        });

        it("an explicit id that does not exist fails in the lookup", () => {
            const r = run("restore-points", { ...env, RESTORE_FROM: "snap-0000000000000000e" }, world({ snapshots }));
            assert.equal(r.code, 1);
            assert.match(r.stderr, /InvalidSnapshot.NotFound/);
        });
    });
});
