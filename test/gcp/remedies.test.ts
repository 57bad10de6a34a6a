import { strict as assert } from "assert";
import { assertLogWithinEstimate } from "../helpers/commands";
import { chooseRestorePoint } from "../../components/core/restore-point";
import { op, run, swapEnv, swapped, world } from "./run-script";

const base = { PROJECT: "my-project", ZONE: "us-central1-a", INSTANCE: "web-1", VM_LABEL: "gcp my-project/us-central1-a/web-1" };
const rebootEnv = { ...base, MAX_REBOOTS: "15", REBOOT_TIMEOUT_SECONDS: "1", MUST_RECOVER: "true", BOOT_MARKER: "Windows is ready" };
const rollbackEnv = { ...base, ORIGINAL_DISK: "web-1" };
const CHANGING = /^(instances (stop|start|reset|detach-disk|attach-disk)|disks add-labels)$/;
const DISK_URL = "https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/disks/web-1";

/** A world where the instance boots healthy from the fixed disk, as a finished swap leaves it. */

describe("GCP remedies (stand-in gcloud CLI)", () => {
    describe("reboot", () => {
        it("an instance that picks up the reverted file at reset 3 stops there: 3 resets, no disk touched", () => {
            const w = world();
            w.instances["web-1"].recoversAtReboot = 3;
            const r = run("reboot", rebootEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                ["instances reset", "instances reset", "instances reset"],
            );
            assert.deepEqual({ ...JSON.parse(r.stdout), timings: undefined }, { status: "recovered", attempts: 3, timings: undefined });
            assert.deepEqual(r.world.instances["web-1"].disks, [{ source: "web-1", boot: true }]);
        });

        it("an old boot's marker in the serial output is not taken for a healthy boot", () => {
            const r = run("reboot", { ...rebootEnv, MAX_REBOOTS: "2" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.equal(JSON.parse(r.stdout).status, "failed", "the world's serial output starts with an earlier boot's marker");
            assert.equal(r.calls.filter((c) => op(c) === "instances reset").length, 2);
            assert.match(r.stderr, /no healthy boot after 2 restarts; its disks are untouched/);
        });

        it("under reboot-then-repair it reports not-recovered instead, so the repair chain follows", () => {
            const r = run("reboot", { ...rebootEnv, MAX_REBOOTS: "1", MUST_RECOVER: "false" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.equal(JSON.parse(r.stdout).status, "not-recovered");
            assertLogWithinEstimate(r.stderr, 1, rebootEnv.VM_LABEL);
        });

        it("after a reboot that recovered the instance, the swap swaps nothing", () => {
            const r = run("swap", { ...swapEnv, REBOOT_STATUS: "recovered" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.calls, []);
            assert.equal(JSON.parse(r.stdout).status, "recovered-by-reboot");
        });
    });

    describe("rollback", () => {
        it("attaches the original boot disk again, keeps the fixed one, starts the instance", () => {
            const r = run("rollback", rollbackEnv, swapped());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                ["instances stop", "instances detach-disk", "instances attach-disk", "instances start"],
            );
            assert.deepEqual(r.world.instances["web-1"].disks, [{ source: "web-1", boot: true }]);
            assert.equal(r.world.instances["web-1"].status, "RUNNING");
            assert.equal(r.world.disks["web-1-fixed"].attachedTo, undefined, "the fixed disk is kept, detached");
            assert.equal(JSON.parse(r.stdout).replacedDiskId, "web-1-fixed");
        });

        it("an instance that was never swapped is a no-op with a message; a second rollback too", () => {
            const never = run("rollback", rollbackEnv, world());
            assert.equal(never.code, 0, never.stderr);
            assert.deepEqual(
                never.calls.map(op).filter((o) => CHANGING.test(o)),
                [],
            );
            assert.equal(JSON.parse(never.stdout).status, "not-swapped");
            const first = run("rollback", rollbackEnv, swapped());
            const again = run("rollback", rollbackEnv, first.world);
            assert.deepEqual(
                again.calls.map(op).filter((o) => CHANGING.test(o)),
                [],
            );
            assert.match(JSON.parse(again.stdout).message, /rolled back before/);
        });

        /** swapped(), with the labels the swap script leaves on the original (replaced-by names the fixed disk). */
        const markedSwap = () => {
            const w = swapped();
            w.disks["web-1"].labels = {
                "bootloop-rescue-role": "original-boot",
                "bootloop-rescue-instance": "web-1",
                "bootloop-rescue-replaced-by": "web-1-fixed",
            };
            return w;
        };

        it("a rollback whose start was refused leaves the instance stopped; the re-run starts it, and reports the disk it replaced", () => {
            const w = markedSwap();
            w.deny = { "instances start": true };
            const refused = run("rollback", rollbackEnv, w);
            assert.equal(refused.code, 1);
            assert.match(refused.stderr, /compute\.instances\.start/);
            assert.deepEqual(refused.world.instances["web-1"].disks, [{ source: "web-1", boot: true }]);
            assert.equal(refused.world.instances["web-1"].status, "TERMINATED");
            delete refused.world.deny;
            const again = run("rollback", rollbackEnv, refused.world);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(
                again.calls.map(op).filter((o) => CHANGING.test(o)),
                ["instances start"],
            );
            assert.equal(again.world.instances["web-1"].status, "RUNNING");
            const report = JSON.parse(again.stdout);
            assert.equal(report.status, "rolled-back");
            assert.equal(report.replacedDiskId, "web-1-fixed");
            assert.match(report.message, /started now/);
        });

        it("a rollback killed between its attach and its start: the re-run starts the instance, or fails with the reason", () => {
            const w = markedSwap();
            Object.assign(w.instances["web-1"], { status: "TERMINATED", disks: [{ source: "web-1", boot: true }] });
            w.disks["web-1"].attachedTo = "web-1";
            w.disks["web-1-fixed"].attachedTo = undefined;
            const r = run("rollback", rollbackEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                ["instances start"],
            );
            assert.equal(r.world.instances["web-1"].status, "RUNNING");
            assert.equal(JSON.parse(r.stdout).replacedDiskId, "web-1-fixed");
            w.deny = { "instances start": true };
            const refused = run("rollback", rollbackEnv, w);
            assert.equal(refused.code, 1);
            assert.equal(refused.stdout, "", "no report: the step fails");
            assert.match(refused.stderr, /could not be started .*it stays stopped/);
        });

        it("a rollback cut between its detach and its attach (no boot disk): attaches the original, starts, and reports the disk the label names", () => {
            const w = markedSwap();
            Object.assign(w.instances["web-1"], { status: "TERMINATED", disks: [] });
            w.disks["web-1-fixed"].attachedTo = undefined;
            const r = run("rollback", rollbackEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                ["instances attach-disk", "instances start"],
                "nothing to detach",
            );
            assert.deepEqual(r.world.instances["web-1"].disks, [{ source: "web-1", boot: true }]);
            assert.equal(JSON.parse(r.stdout).replacedDiskId, "web-1-fixed");
        });

        it("a second rollback of a running instance changes nothing and keeps the replaced disk in its report", () => {
            const first = run("rollback", rollbackEnv, markedSwap());
            assert.equal(JSON.parse(first.stdout).replacedDiskId, "web-1-fixed");
            const again = run("rollback", rollbackEnv, first.world);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(
                again.calls.map(op).filter((o) => CHANGING.test(o)),
                [],
            );
            const report = JSON.parse(again.stdout);
            assert.equal(report.status, "rolled-back");
            assert.equal(report.replacedDiskId, "web-1-fixed");
        });

        it("refuses a boot disk that is neither the original nor one of ours", () => {
            const w = swapped();
            w.disks["web-1-fixed"].labels = {};
            const r = run("rollback", rollbackEnv, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /neither the original web-1 nor a disk bootloop-rescue made for this instance/);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                [],
            );
        });
    });

    describe("restore points", () => {
        const snapshots = {
            "web-1-weekly": { sourceDisk: DISK_URL, creationTimestamp: "2024-07-13T20:00:00.000-07:00" },
            "web-1-nightly": { sourceDisk: DISK_URL, creationTimestamp: "2024-07-18T19:00:00.000-07:00" },
            "web-1-after": { sourceDisk: DISK_URL, creationTimestamp: "2024-07-19T00:00:00.000-07:00" },
            "web-10-nightly": { sourceDisk: `${DISK_URL}0`, creationTimestamp: "2024-07-19T01:00:00.000Z" },
            golden: { project: "images-prj", sourceDisk: "x", creationTimestamp: "2024-06-01T00:00:00Z" },
        };
        const env = { PROJECT: "my-project" };
        const ORIGINAL_END = "/projects/my-project/zones/us-central1-a/disks/web-1";
        // The lookup keeps the listed snapshots of the VM's own boot disk (gcp/lookups.ts).
        const ofOriginal = (out: string) =>
            JSON.stringify(JSON.parse(out).filter((s: { source: string }) => s.source.endsWith(ORIGINAL_END)));
        const choose = (out: string, explicit?: string, otherDiskAllowed?: boolean) =>
            chooseRestorePoint(JSON.parse(out), {
                explicit,
                before: "2024-07-19T04:09:00Z",
                disk: "web-1",
                isOriginal: (source) => source.endsWith(ORIGINAL_END),
                otherDiskAllowed,
            });

        it("lists the project's snapshots in one call, each with its disk; of the VM's, the newest before the cutoff wins (time zones honoured)", () => {
            const r = run("restore-points", env, { ...world(), snapshots });
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.calls.map(op), ["snapshots list"]);
            assert.ok(
                r.calls.every((c) => !c.includes("--zone")),
                "snapshots are global: no --zone",
            );
            assert.deepEqual(
                JSON.parse(r.stdout).map((s: any) => `${s.id} ${s.source}`),
                [`web-1-weekly ${DISK_URL}`, `web-1-nightly ${DISK_URL}`, `web-1-after ${DISK_URL}`, `web-10-nightly ${DISK_URL}0`],
                "every disk's snapshot of the project, and only its",
            );
            assert.deepEqual(choose(ofOriginal(r.stdout)), { id: "web-1-nightly", createdAt: "2024-07-19T02:00:00Z" });
        });

        it("an explicit restoreFrom in another project is described there; a golden image of another disk needs restoreFromOtherDisk", () => {
            const r = run("restore-points", { ...env, RESTORE_FROM: "golden", SNAPSHOT_PROJECT: "images-prj" }, { ...world(), snapshots });
            assert.equal(r.code, 0, r.stderr);
            assert.throws(
                () => choose(r.stdout, "golden"),
                /restoreFrom golden was taken from x, not from this VM's original OS disk web-1/,
            );
            assert.equal(choose(r.stdout, "golden", true).id, "golden");
            const similar = run("restore-points", { ...env, RESTORE_FROM: "web-10-nightly" }, { ...world(), snapshots });
            assert.throws(
                () => choose(similar.stdout, "web-10-nightly"),
                /was taken from .*disks\/web-10, not from this VM's original OS disk web-1/,
                "web-10 is not web-1",
            );
        });

        it("no snapshot before the cutoff is a clear error", () => {
            const r = run("restore-points", env, { ...world(), snapshots: { "web-1-after": snapshots["web-1-after"] } });
            assert.throws(() => choose(ofOriginal(r.stdout)), /no backup of its OS disk web-1 was taken before restoreBefore/);
        });
    });
});
