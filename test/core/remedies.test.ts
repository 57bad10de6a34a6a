import { strict as assert } from "assert";
import { InputError } from "../../components/core/contract/problems";
import { STRATEGIES } from "../../components/core/contract/remedies";
import { PlannedResource } from "../../components/tools/offline/capture";
import { labInventory, recordOf, registrationsBeforeFailure, runLab } from "../helpers/lab-run";
import { labPath } from "../fixtures/lab-cloud";

const every = { paths: [labPath({ strategies: STRATEGIES })] };
const steps = (rs: PlannedResource[], slug: string) =>
    rs.filter((r) => r.name.startsWith(`${slug}-`)).map((r) => r.name.slice(slug.length + 1));
const named = (rs: PlannedResource[], name: string) => rs.find((r) => r.name === name)!;

describe("remedies under Pulumi mocks (lab cloud)", () => {
    it("reboot: one reboot step that must recover; no disk, no rescue VM; the record counts the restarts", async () => {
        const run = await runLab(labInventory([{ machine: "m1", strategy: "reboot" }]), {}, every);
        const rs = run.resources!;
        const slug = run.result.plan.vms[0].slug;
        assert.deepEqual(steps(rs, slug), ["reboot"]);
        assert.equal(named(rs, `${slug}-reboot`).inputs.mustRecover, true);
        assert.ok(!rs.some((r) => r.type === "lab:compute:RescueVm"), "no rescue VM for a zone that only reboots");
        const record = await recordOf(run, run.result.plan.vms[0].key);
        assert.equal(record.status, "recovered-by-reboot");
        assert.equal(record.rebootAttempts, 3);
        assert.equal(record.fixedDiskId, "");
    });

    it("reboot-then-repair: the reboot first, then the whole repair chain, told the reboot's outcome", async () => {
        const run = await runLab(labInventory([{ machine: "m1", strategy: "reboot-then-repair" }]), {}, every);
        const rs = run.resources!;
        const slug = run.result.plan.vms[0].slug;
        assert.deepEqual(steps(rs, slug).sort(), ["attach", "backup", "fixed", "reboot", "repair", "scratch", "swap"]);
        assert.equal(named(rs, `${slug}-reboot`).inputs.mustRecover, false);
        assert.ok(named(rs, `${slug}-backup`).dependsOn.includes(`${slug}-reboot`), "the chain starts after the reboot step");
        assert.equal(named(rs, `${slug}-swap`).inputs.rebootStatus, "recovered", "the swap knows the reboot brought the VM back");
        assert.ok(run.result.plan.vms[0].seat, "it holds a rescue seat in case the reboot does not help");
        assert.equal((await recordOf(run, run.result.plan.vms[0].key)).rebootAttempts, 3);
    });

    it("restore: a retained disk from the restore point, then the swap; the record shows the recovery-point age", async () => {
        const run = await runLab(
            labInventory([{ machine: "m1", strategy: "restore", restoreFrom: "snap-42" }]),
            { "bootloop-rescue:acceptDataLoss": "true" },
            every,
        );
        const rs = run.resources!;
        const slug = run.result.plan.vms[0].slug;
        assert.deepEqual(steps(rs, slug), ["restored", "swap"]);
        assert.equal(named(rs, `${slug}-restored`).retainOnDelete, true);
        assert.equal(named(rs, `${slug}-restored`).inputs.snapshot, "snap-42");
        assert.ok(named(rs, `${slug}-swap`).dependsOn.includes(`${slug}-restored`));
        assert.ok(!rs.some((r) => r.type === "lab:compute:RescueVm"));
        const record = await recordOf(run, run.result.plan.vms[0].key);
        assert.equal(record.backupId, "snap-42");
        assert.equal(record.recoveryPointAgeHours, 6, "taken 22:09 UTC the day before the 04:09 cutoff");
        assert.equal(record.recoveryPointTakenAt, "2024-07-18T22:09:00Z");
    });

    it("restore without acceptDataLoss stops the run before anything is declared, naming the stack file, key and VMs", async () => {
        const { error, registered } = await registrationsBeforeFailure(
            labInventory([{ machine: "m1" }, { machine: "m2", strategy: "restore" }]),
            {},
            every.paths,
        );
        assert.ok(error instanceof InputError);
        assert.match(
            error.message,
            /Pulumi\.test\.yaml: bootloop-rescue:acceptDataLoss: strategy restore replaces the OS disk with a backup, and data written after that backup is lost \(vms\[1\] lab hq\/m2\)/,
        );
        assert.deepEqual(registered, []);
    });

    it("rollback: only a rollback step for the VMs listed (by label or key); the others keep their chains and names", async () => {
        const inv = labInventory([{ machine: "m1" }, { machine: "m2" }, { machine: "m3" }]);
        const before = await runLab(inv, {}, every);
        const run = await runLab(inv, { "bootloop-rescue:rollback": '["LAB hq/m2"]' }, every);
        const rs = run.resources!;
        const [m1, m2, m3] = ["m1", "m2", "m3"].map((m) => run.result.plan.vms.find((v) => v.fields.machine === m)!);
        assert.deepEqual(steps(rs, m2.slug), ["rollback"]);
        assert.equal(named(rs, `${m2.slug}-rollback`).inputs.original, "disk-m2");
        assert.equal(m2.seat, undefined, "no rescue seat for a VM being rolled back");
        for (const vm of [m1, m3]) assert.deepEqual(steps(rs, vm.slug), steps(before.resources!, vm.slug));
        const record = await recordOf(run, m2.key);
        assert.equal(record.status, "rolled-back");
        assert.equal(record.note, "swapped back");
        const all = await runLab(inv, { "bootloop-rescue:rollback": "all", "bootloop-rescue:teardown": "true" }, every);
        assert.deepEqual(
            all.resources!.filter((r) => r.type.startsWith("lab:")).map((r) => r.name.replace(/^.*-/, "")),
            ["rollback", "rollback", "rollback"],
        );
        assert.equal(
            all.resources!.filter((r) => r.type === "command:local:Command").length,
            1,
            "rollbacks follow the waves too: one gate",
        );
    });

    it("a restore VM being rolled back needs no restore point and no data-loss acknowledgement", async () => {
        const run = await runLab(labInventory([{ machine: "m1", strategy: "restore" }]), { "bootloop-rescue:rollback": "all" }, every);
        const [vm] = run.result.plan.vms;
        assert.equal(vm.restorePoint, undefined, "core asked the lookup for no restore point");
        assert.deepEqual(steps(run.resources!, vm.slug), ["rollback"]);
    });

    it("a rollback naming no VM of the inventory stops the run before anything is declared", async () => {
        const { error, registered } = await registrationsBeforeFailure(
            labInventory([{ machine: "m1" }]),
            { "bootloop-rescue:rollback": "lab hq/m9" },
            every.paths,
        );
        assert.ok(error instanceof InputError);
        assert.match(error.message, /Pulumi\.test\.yaml: bootloop-rescue:rollback: "lab hq\/m9" is not a VM of the inventory/);
        assert.deepEqual(registered, []);
    });

    it("waves gate every strategy: a later wave's first step waits for the last step of each earlier VM", async () => {
        const run = await runLab(
            labInventory([
                { machine: "a", strategy: "reboot" },
                { machine: "b", strategy: "restore", wave: 1 },
                { machine: "c", strategy: "reboot-then-repair", wave: 1 },
                { machine: "d", wave: 2 },
            ]),
            { "bootloop-rescue:acceptDataLoss": "true" },
            every,
        );
        const rs = run.resources!;
        const slug = (m: string) => run.result.plan.vms.find((v) => v.fields.machine === m)!.slug;
        const gate = (n: number) => named(rs, `wave-${n}-gate`);
        assert.deepEqual(gate(1).dependsOn, [`${slug("a")}-reboot`]);
        assert.deepEqual(gate(2).dependsOn.sort(), [`${slug("b")}-swap`, `${slug("c")}-swap`].sort());
        assert.ok(named(rs, `${slug("b")}-restored`).dependsOn.includes("wave-1-gate"));
        assert.ok(named(rs, `${slug("c")}-reboot`).dependsOn.includes("wave-1-gate"));
        assert.ok(named(rs, `${slug("d")}-backup`).dependsOn.includes("wave-2-gate"));
    });
});
