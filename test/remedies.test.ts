import { strict as assert } from "assert";
import { planInventory } from "./helpers/lab-run";
import { assertRunsOnce, commandLineText } from "./helpers/commands";

// Every remedy on every built cloud, under the real program offline: the resources each declares.
const VMS: Record<string, (i: number) => string> = {
    aws: (i) => `  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcde${i}0\n`,
    azure: (i) =>
        `  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-0${i}\n`,
    gcp: (i) => `  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-${i}\n`,
};
const STRATEGIES = ["repair", "reboot", "reboot-then-repair", "restore"];
const inventory =
    "vms:\n" +
    Object.values(VMS)
        .flatMap((vm) => STRATEGIES.map((s, i) => `${vm(i)}    strategy: ${s}\n`))
        .join("");
const config = { "bootloop-rescue:acceptDataLoss": "true", "bootloop-rescue:maxReboots": "7", "bootloop-rescue:rebootTimeoutMinutes": "4" };
const RESTORED_TYPE: Record<string, string> = {
    aws: "aws:ebs/volume:Volume",
    azure: "azure-native:compute:Disk",
    gcp: "gcp:compute/disk:Disk",
};
const ORIGINAL_ENV: Record<string, string> = { aws: "ORIGINAL_VOLUME_ID", azure: "ORIGINAL_DISK_ID", gcp: "ORIGINAL_DISK" };
const FIXED_ENV: Record<string, string> = { aws: "FIXED_VOLUME_ID", azure: "FIXED_DISK_ID", gcp: "FIXED_DISK" };

describe("every remedy on every built cloud (offline plan)", () => {
    const planned = planInventory(inventory, config);

    it("declares the steps of each strategy, and nothing else, for each cloud", async () => {
        const { run, rs } = await planned;
        const expected: Record<string, string[]> = {
            repair: ["attach", "backup", "fixed", "repair", "scratch", "swap"],
            reboot: ["reboot"],
            "reboot-then-repair": ["attach", "backup", "fixed", "reboot", "repair", "scratch", "swap"],
            restore: ["restored", "swap"],
        };
        for (const vm of run.result.plan.vms) {
            const steps = rs.filter((r) => r.name.startsWith(`${vm.slug}-`)).map((r) => r.name.slice(vm.slug.length + 1));
            // Azure's repair Run Command is one resource; AWS and GCP repair through a command too.
            assert.deepEqual(steps.sort(), expected[vm.strategy], `${vm.cloud} ${vm.strategy}`);
            assert.equal(
                Boolean(vm.seat),
                vm.strategy === "repair" || vm.strategy === "reboot-then-repair",
                `${vm.label}: a rescue seat only when the chain may repair`,
            );
        }
    });

    it("reboot: a command with the configured restarts and wait; it must recover unless a repair follows", async () => {
        const { run, byName } = await planned;
        for (const vm of run.result.plan.vms.filter((v) => v.strategy.startsWith("reboot"))) {
            const reboot = byName.get(`${vm.slug}-reboot`)!;
            const env = reboot.inputs.environment as Record<string, string>;
            assert.equal(env.MAX_REBOOTS, "7");
            assert.equal(env.REBOOT_TIMEOUT_SECONDS, "240");
            assert.equal(env.MUST_RECOVER, String(vm.strategy === "reboot"), vm.label);
            assertRunsOnce(reboot);
            assert.ok(!reboot.inputs.delete, "deleting the reboot command undoes nothing");
        }
    });

    it("reboot-then-repair: the chain starts after the reboot, and its repair and swap are told the reboot's outcome", async () => {
        const { run, byName } = await planned;
        for (const vm of run.result.plan.vms.filter((v) => v.strategy === "reboot-then-repair")) {
            assert.ok(byName.get(`${vm.slug}-backup`)!.dependsOn.includes(`${vm.slug}-reboot`), vm.label);
            const swapEnv = byName.get(`${vm.slug}-swap`)!.inputs.environment as Record<string, string>;
            assert.ok("REBOOT_STATUS" in swapEnv, `${vm.label} swap`);
            const repair = byName.get(`${vm.slug}-repair`)!;
            const told =
                vm.cloud === "azure"
                    ? (repair.inputs.parameters as { name: string }[]).some((p) => p.name === "REBOOT_STATUS")
                    : "REBOOT_STATUS" in (repair.inputs.environment as object);
            assert.ok(told, `${vm.label} repair`);
        }
    });

    it("restore: a retained disk of the VM's cloud made from the restore point, naming the original; the swap puts it in", async () => {
        const { run, byName } = await planned;
        for (const vm of run.result.plan.vms.filter((v) => v.strategy === "restore")) {
            const restored = byName.get(`${vm.slug}-restored`)!;
            assert.equal(restored.type, RESTORED_TYPE[vm.cloud]);
            assert.equal(restored.retainOnDelete, true);
            const source =
                restored.inputs.snapshotId ??
                restored.inputs.snapshot ??
                (restored.inputs.creationData as { sourceResourceId?: string })?.sourceResourceId;
            assert.equal(source, vm.restorePoint!.id, vm.label);
            const marks = (restored.inputs.tags ?? restored.inputs.labels) as Record<string, string>;
            assert.ok(Object.values(marks).includes(vm.originalDiskId), `${vm.label}: the restored disk names the original`);
            const env = byName.get(`${vm.slug}-swap`)!.inputs.environment as Record<string, string>;
            assert.equal(env[ORIGINAL_ENV[vm.cloud]], vm.originalDiskId);
            assert.ok(byName.get(`${vm.slug}-swap`)!.dependsOn.includes(`${vm.slug}-restored`));
            // GCP names the disk by its (auto-generated) name, which the mocks leave unknown.
            if (vm.cloud !== "gcp") assert.equal(env[FIXED_ENV[vm.cloud]], `${vm.slug}-restored-id`);
            const record = run.outputs.vms[vm.key];
            assert.equal(record.recoveryPointAgeHours, 6, "the offline placeholder is six hours before the cutoff");
            assert.equal(record.recoveryPointTakenAt, vm.restorePoint!.createdAt);
        }
    });

    it("rollback: each listed VM gets only its rollback command, with its original disk", async () => {
        const labels = ["aws us-east-1/i-0123456789abcde00", "azure rg-app/app-00", "gcp my-project/us-central1-a/web-0"];
        const { run, rs, byName } = await planInventory(inventory, { ...config, "bootloop-rescue:rollback": JSON.stringify(labels) });
        const rolled = run.result.plan.vms.filter((v) => v.rollback);
        assert.deepEqual(rolled.map((v) => v.label).sort(), labels.sort());
        for (const vm of rolled) {
            assert.deepEqual(
                rs.filter((r) => r.name.startsWith(`${vm.slug}-`)).map((r) => r.name),
                [`${vm.slug}-rollback`],
            );
            const rollback = byName.get(`${vm.slug}-rollback`)!;
            assert.equal((rollback.inputs.environment as Record<string, string>)[ORIGINAL_ENV[vm.cloud]], vm.originalDiskId);
            assert.ok(!rollback.inputs.delete, "deleting the rollback command undoes nothing");
            assertRunsOnce(rollback);
            const text = commandLineText(String(rollback.inputs.create));
            for (const value of Object.values(vm.fields).filter((v) => v.length > 3))
                assert.ok(!text.includes(value), `${vm.label}: the rollback script holds no inventory value`);
        }
    });

    it("restore on any cloud needs acceptDataLoss; without it nothing is planned", async () => {
        await assert.rejects(planInventory(inventory, { ...config, "bootloop-rescue:acceptDataLoss": "false" }), (err: Error) => {
            assert.match(
                err.message,
                /Pulumi\.test\.yaml: bootloop-rescue:acceptDataLoss: strategy restore replaces the OS disk with a backup.*vms\[3\] aws us-east-1\/i-0123456789abcde30, vms\[7\] azure rg-app\/app-03, vms\[11\] gcp my-project\/us-central1-a\/web-3\)/,
            );
            return true;
        });
    });

    it("every new script is one text for every VM, with no inventory value in it", async () => {
        const { run, rs } = await planned;
        const values = run.result.plan.vms.flatMap((v) => Object.values(v.fields)).filter((v) => v.length > 3);
        for (const step of ["reboot", "swap"]) {
            for (const cloud of Object.keys(VMS)) {
                const texts = new Set(
                    rs
                        .filter(
                            (r) =>
                                r.type === "command:local:Command" &&
                                r.name.endsWith(`-${step}`) &&
                                run.result.plan.vms.some((v) => v.cloud === cloud && r.name === `${v.slug}-${step}`),
                        )
                        .map((r) => r.inputs.create),
                );
                assert.equal(texts.size, 1, `${cloud} ${step}`);
                for (const value of values)
                    assert.ok(!commandLineText(String([...texts][0])).includes(value), `${cloud} ${step} contains ${value}`);
            }
        }
    });
});
