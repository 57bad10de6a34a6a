import { strict as assert } from "assert";
import { assertLogWithinEstimate } from "../helpers/commands";
import { chooseRestorePoint } from "../../components/core/restore-point";
import { FIXED, ORIGINAL, SUB, op, run, swapEnv, swapped, world } from "./run-script";

const VM = "rg-app/app-01";
const base = { SUBSCRIPTION_ID: SUB, RESOURCE_GROUP: "rg-app", VM_NAME: "app-01", VM_LABEL: "azure rg-app/app-01" };
const rebootEnv = { ...base, MAX_REBOOTS: "15", REBOOT_TIMEOUT_SECONDS: "1", MUST_RECOVER: "true" };
const rollbackEnv = { ...base, ORIGINAL_DISK_ID: ORIGINAL };
const CHANGING = /^(vm (deallocate|update|start|restart)|vm disk (attach|detach)|disk update)$/;
const snap = (n: string) => `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.Compute/snapshots/${n}`;

/** A world where the VM runs healthy on the fixed disk, as a finished swap leaves it. */

describe("Azure remedies (stand-in az CLI)", () => {
    describe("reboot", () => {
        it("a VM that picks up the reverted file at restart 3 stops there: 3 restarts, no disk touched", () => {
            const w = world();
            w.vms[VM].recoversAtReboot = 3;
            const r = run("reboot", rebootEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                ["vm restart", "vm restart", "vm restart"],
            );
            assert.deepEqual({ ...JSON.parse(r.stdout), timings: undefined }, { status: "recovered", attempts: 3, timings: undefined });
            assert.equal(r.world.vms[VM].osDisk, ORIGINAL);
        });

        it("a VM that never recovers is recorded failed after maxReboots restarts (its own outcome: the fleet goes on)", () => {
            const r = run("reboot", { ...rebootEnv, MAX_REBOOTS: "2" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.calls.filter((c) => op(c) === "vm restart").length, 2);
            assert.equal(JSON.parse(r.stdout).status, "failed");
            assert.match(r.stderr, /no healthy boot after 2 restarts; its disks are untouched/);
        });

        it("under reboot-then-repair it reports not-recovered instead, so the repair chain follows", () => {
            const r = run("reboot", { ...rebootEnv, MAX_REBOOTS: "2", MUST_RECOVER: "false" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.equal(JSON.parse(r.stdout).status, "not-recovered");
            assertLogWithinEstimate(r.stderr, 2, rebootEnv.VM_LABEL);
        });

        it("a deallocated VM is started rather than restarted", () => {
            const w = world();
            Object.assign(w.vms[VM], { power: "deallocated", recoversAtReboot: 0 });
            w.disks[ORIGINAL.toLowerCase()].boots = true;
            const r = run("reboot", rebootEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                ["vm start"],
            );
        });

        it("after a reboot that recovered the VM, the swap swaps nothing", () => {
            const r = run("swap", { ...swapEnv, REBOOT_STATUS: "recovered" }, world());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.calls.map(op), ["vm run-command show"], "only the evidence of the skipped repair is read");
            assert.equal(JSON.parse(r.stdout.split("\n")[0]).status, "recovered-by-reboot");
        });
    });

    describe("rollback", () => {
        it("sets the original OS disk back, keeps the fixed one, starts the VM", () => {
            const r = run("rollback", rollbackEnv, swapped());
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                ["vm deallocate", "vm update", "vm start"],
            );
            assert.equal(r.world.vms[VM].osDisk, ORIGINAL);
            assert.equal(r.world.vms[VM].power, "running");
            assert.equal(r.world.disks[FIXED.toLowerCase()].attachedTo, undefined, "the fixed disk is kept, detached");
            const report = JSON.parse(r.stdout);
            assert.equal(report.status, "rolled-back");
            assert.equal(report.replacedDiskId, FIXED);
        });

        it("a VM that was never swapped is a no-op with a message; a second rollback too", () => {
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

        /** swapped(), with the marks the swap script leaves on the original (replaced-by names the fixed disk). */
        const markedSwap = () => {
            const w = swapped();
            w.disks[ORIGINAL.toLowerCase()].tags = { "bootloop-rescue-role": "original-os", "bootloop-rescue-replaced-by": "app-01-fixed" };
            return w;
        };

        it("a rollback whose start was refused leaves the VM deallocated; the re-run starts it, and reports the disk it replaced", () => {
            const w = markedSwap();
            w.deny = { "vm start": true };
            const refused = run("rollback", rollbackEnv, w);
            assert.equal(refused.code, 1);
            assert.match(refused.stderr, /AuthorizationFailed/);
            assert.equal(refused.world.vms[VM].osDisk, ORIGINAL);
            assert.equal(refused.world.vms[VM].power, "deallocated");
            delete refused.world.deny;
            const again = run("rollback", rollbackEnv, refused.world);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(
                again.calls.map(op).filter((o) => CHANGING.test(o)),
                ["vm start"],
            );
            assert.equal(again.world.vms[VM].power, "running");
            const report = JSON.parse(again.stdout);
            assert.equal(report.status, "rolled-back");
            assert.equal(report.replacedDiskId, FIXED);
            assert.match(report.message, /started now/);
        });

        it("a rollback killed between its disk swap and its start: the re-run starts the VM, or fails with the reason", () => {
            const w = markedSwap();
            Object.assign(w.vms[VM], { power: "deallocated", osDisk: ORIGINAL, agent: "" });
            w.disks[ORIGINAL.toLowerCase()].attachedTo = VM;
            w.disks[FIXED.toLowerCase()].attachedTo = undefined;
            const r = run("rollback", rollbackEnv, w);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                ["vm start"],
            );
            assert.equal(r.world.vms[VM].power, "running");
            assert.equal(JSON.parse(r.stdout).replacedDiskId, FIXED);
            w.deny = { "vm start": true };
            const refused = run("rollback", rollbackEnv, w);
            assert.equal(refused.code, 1);
            assert.equal(refused.stdout, "", "no report: the step fails");
            assert.match(refused.stderr, /could not be started .*it stays deallocated/);
        });

        it("a second rollback of a running VM changes nothing and keeps the replaced disk in its report", () => {
            const first = run("rollback", rollbackEnv, markedSwap());
            assert.equal(JSON.parse(first.stdout).replacedDiskId, FIXED);
            const again = run("rollback", rollbackEnv, first.world);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(
                again.calls.map(op).filter((o) => CHANGING.test(o)),
                [],
            );
            const report = JSON.parse(again.stdout);
            assert.equal(report.status, "rolled-back");
            assert.equal(report.replacedDiskId, FIXED);
        });

        it("refuses an OS disk that is neither the original nor one of ours", () => {
            const w = swapped();
            w.disks[FIXED.toLowerCase()].tags = { "bootloop-rescue-role": "fixed", "bootloop-rescue-vm": "another-vm" };
            const r = run("rollback", rollbackEnv, w);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /neither the original .* nor a disk bootloop-rescue made for this VM/);
            assert.deepEqual(
                r.calls.map(op).filter((o) => CHANGING.test(o)),
                [],
            );
        });
    });

    describe("restore points", () => {
        const snapshots = {
            [snap("app-01-weekly")]: { source: ORIGINAL, timeCreated: "2024-07-14T01:00:00.0000000+00:00" },
            [snap("app-01-nightly")]: { source: ORIGINAL.toUpperCase(), timeCreated: "2024-07-19T02:00:00.1234567+00:00" },
            [snap("app-01-after")]: { source: ORIGINAL, timeCreated: "2024-07-19T07:00:00+00:00" },
            [snap("other")]: { source: FIXED, timeCreated: "2024-07-19T03:00:00+00:00" },
        };
        const choose = (out: string, explicit?: string, otherDiskAllowed?: boolean) =>
            chooseRestorePoint(JSON.parse(out), {
                explicit,
                before: "2024-07-19T04:09:00Z",
                disk: ORIGINAL,
                isOriginal: (source) => source.toLowerCase() === ORIGINAL.toLowerCase(),
                otherDiskAllowed,
            });

        // The lookup keeps the listed snapshots of the VM's own disk, its id in any case (azure/lookups.ts).
        const ofOriginal = (out: string) =>
            JSON.stringify(JSON.parse(out).filter((s: { source: string }) => s.source.toLowerCase() === ORIGINAL.toLowerCase()));

        it("lists the subscription's snapshots in one call, each with its disk; of the VM's, the newest before the cutoff wins", () => {
            const elsewhere = "00000000-0000-0000-0000-00000000000e";
            const foreign = {
                [`/subscriptions/${elsewhere}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/x`]: {
                    source: ORIGINAL,
                    timeCreated: "2024-07-19T03:00:00+00:00",
                },
            };
            const r = run("restore-points", { SUBSCRIPTION_ID: SUB }, { ...world(), snapshots: { ...snapshots, ...foreign } });
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.calls.map(op), ["snapshot list"]);
            assert.deepEqual(
                JSON.parse(r.stdout)
                    .map((s: any) => `${s.id} ${s.source}`)
                    .sort(),
                Object.entries(snapshots)
                    .map(([id, s]) => `${id} ${s.source}`)
                    .sort(),
                "every disk's snapshot of the subscription, and only its",
            );
            assert.deepEqual(choose(ofOriginal(r.stdout)), { id: snap("app-01-nightly"), createdAt: "2024-07-19T02:00:00Z" });
        });

        it("an explicit restoreFrom; one taken after the cutoff is refused", () => {
            const r = run("restore-points", { SUBSCRIPTION_ID: SUB, RESTORE_FROM: snap("app-01-weekly") }, { ...world(), snapshots });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(choose(r.stdout, snap("app-01-weekly")).id, snap("app-01-weekly"));
            const late = run("restore-points", { SUBSCRIPTION_ID: SUB, RESTORE_FROM: snap("app-01-after") }, { ...world(), snapshots });
            assert.throws(() => choose(late.stdout, snap("app-01-after")), /was taken at 2024-07-19T07:00:00Z, not before restoreBefore/);
        });

        it("an explicit restoreFrom of another disk's snapshot is refused unless the entry says so; the disk id's case does not matter", () => {
            const r = run("restore-points", { SUBSCRIPTION_ID: SUB, RESTORE_FROM: snap("other") }, { ...world(), snapshots });
            assert.throws(() => choose(r.stdout, snap("other")), /was taken from .*app-01-fixed, not from this VM's original OS disk/);
            assert.equal(choose(r.stdout, snap("other"), true).id, snap("other"));
            const upper = run("restore-points", { SUBSCRIPTION_ID: SUB, RESTORE_FROM: snap("app-01-nightly") }, { ...world(), snapshots });
            assert.equal(choose(upper.stdout, snap("app-01-nightly")).id, snap("app-01-nightly"));
        });

        it("no snapshot before the cutoff is a clear error", () => {
            const r = run("restore-points", { SUBSCRIPTION_ID: SUB }, { ...world(), snapshots: {} });
            assert.throws(
                () => choose(ofOriginal(r.stdout)),
                /no backup of its OS disk .* was taken before restoreBefore 2024-07-19T04:09:00Z \(none was found\)/,
            );
        });
    });
});
