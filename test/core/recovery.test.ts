import { strict as assert } from "assert";
import { InputError } from "../../components/core/contract/problems";
import { PlannedResource } from "../../components/tools/offline/capture";
import { labInventory, recordOf, registrationsBeforeFailure, runLab } from "../helpers/lab-run";
import { labCalls, labPath } from "../fixtures/lab-cloud";
import { STRATEGIES } from "../../components/core/contract/remedies";

const byName = (rs: PlannedResource[]) => new Map(rs.map((r) => [r.name, r]));

/** Every resource `name` depends on, directly or transitively. */
function closure(rs: PlannedResource[], name: string): Set<string> {
    const m = byName(rs);
    const seen = new Set<string>();
    const stack = [...(m.get(name)?.dependsOn ?? [])];
    while (stack.length) {
        const n = stack.pop()!;
        if (seen.has(n)) continue;
        seen.add(n);
        stack.push(...(m.get(n)?.dependsOn ?? []));
    }
    return seen;
}

describe("recovery under Pulumi mocks (lab cloud)", () => {
    it("declares each VM's chain in order, every step depending on the one before", async () => {
        const run = await runLab(labInventory([{ machine: "m1" }]));
        const rs = run.resources!;
        const slug = run.result.plan.vms[0].slug;
        const m = byName(rs);
        const zone = m.get(`${slug}-backup`)!.parent!;
        assert.equal(m.get(zone)!.type, "bootloop-rescue:core:Zone");
        assert.equal(m.get(zone)!.parent, "recovery");
        assert.match(zone, /^zone-lab-hq-r1-[0-9a-f]{8}$/);
        const chain = ["backup", "scratch", "attach", "repair", "fixed", "swap"].map((s) => `${slug}-${s}`);
        for (const [i, name] of chain.entries()) {
            assert.equal(m.get(name)!.parent, zone, `${name} is a child of its zone's component`);
            if (i > 0) assert.ok(m.get(name)!.dependsOn.includes(chain[i - 1]), `${name} depends on ${chain[i - 1]}`);
        }
        // The attachment also depends on its rescue VM, through its inputs.
        const rescue = run.result.plan.vms[0].seat!.member;
        assert.ok(m.get(`${slug}-attach`)!.dependsOn.includes(rescue));
        assert.equal(m.get(rescue)!.parent, zone, "the rescue VM belongs to the same zone");
    });

    it("maxInFlight: at most that many chains at once, the others waiting their turn in wave order", async () => {
        const machines = [1, 2, 3, 4, 5, 6].map((i) => ({ machine: `m${i}`, strategy: i % 2 ? "repair" : "reboot" }));
        const paths = { paths: [labPath({ strategies: STRATEGIES })] };
        const run = await runLab(labInventory(machines), { "bootloop-rescue:maxInFlight": "2" }, paths);
        const rs = run.resources!;
        const m = byName(rs);
        const wave1 = run.result.plan.waves[1].vms.map((k) => run.result.plan.vms.find((v) => v.key === k)!);
        const first = (v: (typeof wave1)[number]) => `${v.slug}-${v.strategy === "reboot" ? "reboot" : "backup"}`;
        const last = (v: (typeof wave1)[number]) => `${v.slug}-${v.strategy === "reboot" ? "reboot" : "swap"}`;
        assert.equal(wave1.length, 5);
        for (const [i, vm] of wave1.entries()) {
            const deps = m.get(first(vm))!.dependsOn;
            assert.ok(deps.includes("wave-1-gate"), `${vm.label} waits for the wave gate`);
            if (i < 2) assert.ok(!deps.some((d) => wave1.some((o) => d === last(o))), `${vm.label} starts at once`);
            else assert.ok(deps.includes(last(wave1[i - 2])), `${vm.label} starts after ${wave1[i - 2].label} verified its boot`);
            // Never two chains in one lane: nothing else of the wave is waited for.
            assert.equal(deps.filter((d) => wave1.some((o) => d === last(o))).length, i < 2 ? 0 : 1);
        }
        // Without the setting, nothing waits for a lane on a small stack.
        const free = await runLab(labInventory(machines), {}, paths);
        const chains = free.resources!.filter((r) => !r.name.startsWith("wave-"));
        assert.ok(
            chains.every(
                (r) => !r.dependsOn.some((d) => /-(swap|reboot)$/.test(d) && !r.name.startsWith(d.replace(/-(swap|reboot)$/, ""))),
            ),
        );
    });

    it("retains backups and fixed disks on delete, and only those", async () => {
        const run = await runLab(labInventory([{ machine: "m1" }, { machine: "m2" }]));
        const retained = run.resources!.filter((r) => r.retainOnDelete).map((r) => r.name.replace(/^.*-/, ""));
        assert.deepEqual(retained.sort(), ["backup", "backup", "fixed", "fixed"]);
    });

    it("gates every wave on the boot verification of every VM of the wave before", async () => {
        const layouts: { machines: { machine: string; wave?: number }[]; config: Record<string, string>; waves: number[] }[] = [
            { machines: [1, 2, 3, 4].map((i) => ({ machine: `m${i}` })), config: {}, waves: [0, 1] },
            {
                machines: [1, 2, 3, 4, 5].map((i) => ({ machine: `m${i}` })),
                config: { "bootloop-rescue:canary": "2", "bootloop-rescue:waveSize": "2" },
                waves: [0, 1, 2],
            },
            {
                machines: [{ machine: "a", wave: 5 }, { machine: "b", wave: 2 }, { machine: "c" }],
                config: { "bootloop-rescue:canary": "0" },
                waves: [0, 2, 5],
            },
        ];
        for (const layout of layouts) {
            const run = await runLab(labInventory(layout.machines), layout.config);
            const { plan } = run.result;
            assert.deepEqual(
                plan.waves.map((w) => w.wave),
                layout.waves,
            );
            const slugOf = new Map(plan.vms.map((v) => [v.key, v.slug]));
            for (let i = 1; i < plan.waves.length; i++) {
                for (const key of plan.waves[i].vms) {
                    const first = `${slugOf.get(key)}-backup`;
                    const deps = closure(run.resources!, first);
                    for (const earlier of plan.waves.slice(0, i).flatMap((w) => w.vms)) {
                        assert.ok(deps.has(`${slugOf.get(earlier)}-swap`), `${first} waits for ${earlier}'s verified boot`);
                    }
                    // ...but never on its own wave.
                    for (const peer of plan.waves[i].vms) assert.ok(!deps.has(`${slugOf.get(peer)}-swap`));
                }
            }
            for (const key of plan.waves[0].vms) {
                assert.ok(
                    ![...closure(run.resources!, `${slugOf.get(key)}-backup`)].some((d) => d.endsWith("-swap")),
                    "the first wave waits for nothing",
                );
            }
            const gates = run.resources!.filter((r) => r.type === "command:local:Command");
            assert.equal(gates.length, layout.waves.length - 1, "one gate per wave after the first");
        }
    });

    it("pools rescue VMs per zone and seats each disk once", async () => {
        const run = await runLab(labInventory([1, 2, 3, 4, 5].map((i) => ({ machine: `m${i}`, rack: i <= 3 ? "r1" : "r2" }))));
        const rescues = run.resources!.filter((r) => r.type === "lab:compute:RescueVm");
        assert.equal(rescues.length, 3, "r1: 3 disks at 2 per rescue VM → 2; r2: 2 disks → 1");
        const seats = run
            .resources!.filter((r) => r.type === "lab:compute:Attachment")
            .map((r) => `${String(r.inputs.vm)}/${String(r.inputs.slot)}`);
        assert.equal(new Set(seats).size, 5);
    });

    it("honours disksPerRescue from config", async () => {
        const run = await runLab(labInventory([1, 2, 3, 4, 5].map((i) => ({ machine: `m${i}` }))), {
            "bootloop-rescue:disksPerRescue": "5",
        });
        assert.equal(run.resources!.filter((r) => r.type === "lab:compute:RescueVm").length, 1);
    });

    it("teardown declares no rescue VM, scratch disk or attachment, and keeps backups, fixed disks and records", async () => {
        const inv = labInventory([{ machine: "m1" }, { machine: "m2" }]);
        const live = await runLab(inv);
        const down = await runLab(inv, { "bootloop-rescue:teardown": "true" });
        const types = (rs: PlannedResource[]) => rs.map((r) => r.type);
        assert.ok(!types(down.resources!).includes("lab:compute:RescueVm"));
        assert.ok(!types(down.resources!).includes("lab:compute:Attachment"));
        assert.ok(!down.resources!.some((r) => r.name.endsWith("-scratch")));
        const kept = (rs: PlannedResource[]) =>
            rs
                .filter((r) => /-(backup|fixed|repair|swap)$/.test(r.name))
                .map((r) => `${r.type} ${r.name}`)
                .sort();
        assert.deepEqual(kept(down.resources!), kept(live.resources!), "the same retained resources, under the same names");
        assert.deepEqual(Object.keys(down.outputs.vms).sort(), Object.keys(live.outputs.vms).sort());
    });

    it("keeps every other VM's resource names when a VM is added or removed", async () => {
        const names = async (machines: string[]) =>
            new Set((await runLab(labInventory(machines.map((machine) => ({ machine }))))).resources!.map((r) => `${r.type} ${r.name}`));
        const base = await names(["m1", "m2", "m3"]);
        const added = await names(["m0", "m1", "m2", "m3"]);
        const removed = await names(["m1", "m3"]);
        const perVm = (set: Set<string>) => [...set].filter((n) => !/RescueVm|local:Command/.test(n));
        for (const n of perVm(base)) {
            assert.ok(added.has(n), `adding m0 kept ${n}`);
            if (!/m2/.test(n)) assert.ok(removed.has(n), `removing m2 kept ${n}`);
        }
    });

    it("retry: declares the steps after the disk is in reach anew for that VM alone; its backup, scratch copy and attachment, and every other VM, keep their names", async () => {
        const machines = [
            { machine: "m1" },
            { machine: "m2", retry: 1 },
            { machine: "m3", strategy: "reboot", retry: 2 },
            { machine: "m4", strategy: "reboot-then-repair", retry: 1 },
            { machine: "m5", strategy: "restore", restoreFrom: "snap-9", retry: 1 },
        ];
        const paths = { paths: [labPath({ strategies: STRATEGIES })] };
        const config = { "bootloop-rescue:acceptDataLoss": "true" };
        const run = await runLab(labInventory(machines), config, paths);
        const first = await runLab(labInventory(machines.map((m) => ({ ...m, retry: undefined }))), config, paths);
        const names = new Set(run.resources!.map((r) => r.name));
        const before = new Set(first.resources!.map((r) => r.name));
        const slug = (machine: string) => run.result.plan.vms.find((v) => v.fields.machine === machine)!.slug;
        const renamed = [
            ...["repair", "fixed", "swap"].map((s) => [`${slug("m2")}-${s}`, `${slug("m2")}-${s}2`]),
            [`${slug("m3")}-reboot`, `${slug("m3")}-reboot3`],
            ...["repair", "fixed", "swap"].map((s) => [`${slug("m4")}-${s}`, `${slug("m4")}-${s}2`]),
            ...["restored", "swap"].map((s) => [`${slug("m5")}-${s}`, `${slug("m5")}-${s}2`]),
        ];
        for (const [old, retried] of renamed) {
            assert.ok(before.has(old) && !names.has(old), `${old} is replaced`);
            assert.ok(names.has(retried), `by ${retried}`);
        }
        const replaced = new Set(renamed.map(([old]) => old));
        const added = new Set(renamed.map(([, retried]) => retried));
        for (const n of before) if (!replaced.has(n)) assert.ok(names.has(n), `${n} is kept`);
        assert.deepEqual([...names].filter((n) => !before.has(n)).sort(), [...added].sort(), "nothing else is new");
        // The retried steps still run in order, after the same attachment, and the record says which attempt it is.
        const m = byName(run.resources!);
        assert.ok(m.get(`${slug("m2")}-repair2`)!.dependsOn.includes(`${slug("m2")}-attach`));
        assert.ok(m.get(`${slug("m2")}-fixed2`)!.dependsOn.includes(`${slug("m2")}-repair2`));
        assert.ok(m.get(`${slug("m4")}-backup`)!.dependsOn.includes(`${slug("m4")}-reboot`), "the reboot before a repair is not retried");
        const retries = await Promise.all(
            machines.map(
                async ({ machine }) => (await recordOf(run, run.result.plan.vms.find((v) => v.fields.machine === machine)!.key)).retry,
            ),
        );
        assert.deepEqual(retries, [undefined, 1, 2, 1, 1]);
    });

    it("passes a BitLocker key to the steps as a secret, shown as [secret] in the plan", async () => {
        const run = await runLab(
            labInventory([{ machine: "m1", bitlockerKey: "m1-key" }]),
            { "bootloop-rescue:m1-key": "111111-222222" },
            { secretKeys: ["bootloop-rescue:m1-key"] },
        );
        const repair = run.resources!.find((r) => r.name.endsWith("-repair"))!;
        assert.equal(repair.inputs.key, "[secret]");
        assert.ok(!JSON.stringify(run.resources).includes("111111-222222"));
        assert.deepEqual(run.result.keySources, { [run.result.plan.vms[0].key]: ["stack config"] });
    });

    it("key files the cloud keeps for a disk reach its repair as a secret, fetched only for VMs whose disk this run repairs", async () => {
        const BEK = "QkVLLWZpbGUtb2YtbTE=";
        const beks = { m1: BEK, m2: "QkVLLW0y", m3: "QkVLLW0z", m4: "QkVLLW00" };
        const paths = [labPath({ strategies: STRATEGIES, beks })];
        const machines = [
            { machine: "m1" },
            { machine: "m2", strategy: "reboot-then-repair" },
            { machine: "m3", strategy: "reboot" },
            { machine: "m4", strategy: "restore" },
        ];
        labCalls.length = 0;
        const accept = { "bootloop-rescue:acceptDataLoss": "true" };
        const run = await runLab(labInventory(machines), accept, { paths });
        assert.deepEqual(
            labCalls.filter((c) => c.startsWith("fetchBeks:")),
            ["fetchBeks:lab hq/m1", "fetchBeks:lab hq/m2"],
        );
        const repair = run.resources!.find((r) => r.name.startsWith(run.result.plan.vms[0].slug) && r.name.endsWith("-repair"))!;
        assert.equal(repair.inputs.bek, "[secret]");
        assert.ok(!JSON.stringify(run.resources).includes(BEK) && !JSON.stringify(run.result.plan).includes(BEK), "never in the plan");
        assert.deepEqual(run.result.keySources, { [run.result.plan.vms[0].key]: ["cloud"], [run.result.plan.vms[1].key]: ["cloud"] });

        // Neither in teardown nor for a VM rolled back: nothing is repaired then.
        labCalls.length = 0;
        await runLab(labInventory(machines), { ...accept, "bootloop-rescue:teardown": "true" }, { paths });
        await runLab(labInventory(machines), { ...accept, "bootloop-rescue:rollback": "all" }, { paths });
        assert.deepEqual(
            labCalls.filter((c) => c.startsWith("fetchBeks:")),
            [],
        );
    });

    it("a secret-store secret reaches the repair of its VM and the rescue VM serving it, only while this run repairs that disk", async () => {
        const paths = [labPath({ strategies: STRATEGIES })];
        const machines = [
            { machine: "m1", keySecret: "vault/k1" },
            { machine: "m2", keySecret: "vault/shared" },
            { machine: "m3", keySecret: "vault/shared" },
            { machine: "m4", keySecret: "vault/k4", strategy: "reboot" },
            { machine: "m5" },
        ];
        const run = await runLab(labInventory(machines), {}, { paths });
        const m = byName(run.resources!);
        const vm = (machine: string) => run.result.plan.vms.find((v) => v.fields.machine === machine)!;
        assert.equal(m.get(`${vm("m1").slug}-repair`)!.inputs.keySecret, "vault/k1");
        assert.equal(m.get(`${vm("m5").slug}-repair`)!.inputs.keySecret, "");
        // Each rescue VM names exactly the secrets of the VMs it repairs, each once.
        const served = new Map<string, string[]>();
        for (const v of run.result.plan.vms)
            if (v.seat) served.set(v.seat.member, [...(served.get(v.seat.member) ?? []), v.fields.machine]);
        const expected = (ms: string[]) => [...new Set(ms.flatMap((x) => machines.find((y) => y.machine === x)!.keySecret ?? []))].sort();
        assert.ok(served.size > 1, "the lab pool has more than one rescue VM");
        for (const [member, ms] of served) assert.deepEqual(m.get(member)!.inputs.keySecrets, expected(ms), member);
        assert.ok(
            ![...served.keys()].some((member) => (m.get(member)!.inputs.keySecrets as string[]).includes("vault/k4")),
            "a rebooted VM's secret is read by no rescue VM",
        );
        assert.deepEqual(run.result.keySources, {
            [vm("m1").key]: ["secret store"],
            [vm("m2").key]: ["secret store"],
            [vm("m3").key]: ["secret store"],
        });

        const rolledBack = await runLab(labInventory(machines), { "bootloop-rescue:rollback": "all" }, { paths });
        assert.deepEqual(rolledBack.result.keySources, {});
    });

    it("a key the cloud will not hand over stops that VM like a failed lookup, before anything is declared", async () => {
        const paths = [
            labPath({
                beks: {
                    m2: new Error(
                        "key vault kv-1 did not let the deployer read the BEK secret; the deployer needs Microsoft.KeyVault/vaults/secrets/getSecret/action",
                    ),
                },
            }),
        ];
        const { error, registered } = await registrationsBeforeFailure(labInventory([{ machine: "m1" }, { machine: "m2" }]), {}, paths);
        assert.ok(error instanceof InputError);
        assert.deepEqual(
            error.problems.map((p) => [p.entry, p.vm]),
            [[1, "lab hq/m2"]],
        );
        assert.match(error.message, /lookup failed: key vault kv-1 did not let the deployer read the BEK secret; .*getSecret\/action/);
        assert.deepEqual(
            registered.filter((r) => r.startsWith("lab:")),
            [],
        );
    });

    it("declares nothing when the inventory or the settings are invalid", async () => {
        const badInventory = await registrationsBeforeFailure(
            labInventory([{ machine: "m1" }]) + "  - cloud: lab\n    site: hq\n    rack: r1\n    machine: M!\n",
        );
        assert.ok(badInventory.error instanceof InputError && /vms\[1\].*machine/.test(badInventory.error.message));
        assert.deepEqual(badInventory.registered, []);
        const badConfig = await registrationsBeforeFailure(labInventory([{ machine: "m1" }]), { "bootloop-rescue:canary": "x" });
        assert.ok(badConfig.error instanceof InputError && /bootloop-rescue:canary/.test(badConfig.error.message));
        assert.deepEqual(badConfig.registered, []);
    });

    it("reports every failed lookup with its entry, before any cloud resource is declared", async () => {
        const err = await runLab(
            labInventory([{ machine: "m1" }, { machine: "m2" }, { machine: "m3" }]),
            {},
            { paths: [labPath({ failLookup: ["m1", "m3"] })] },
        ).then(
            () => assert.fail("expected lookups to fail"),
            (e: unknown) => e,
        );
        assert.ok(err instanceof InputError);
        assert.deepEqual(
            err.problems.map((p) => [p.entry, p.message]),
            [
                [0, "lookup failed: machine m1 not found"],
                [2, "lookup failed: machine m3 not found"],
            ],
        );
    });
});
