import { strict as assert } from "assert";
import { buildPlan, failureBudgetOf } from "../../components/core/plan/plan";
import { PlacedVm, PlanSettings } from "../../components/core/contract/plan";
import { assignWaves, canaryCount } from "../../components/core/plan/waves";
import { vmSlug } from "../../components/core/contract/identity";

function vm(i: number, zone = "z1", extra: Partial<PlacedVm> = {}): PlacedVm {
    const key = `site/m${String(i).padStart(3, "0")}`;
    return {
        index: i,
        cloud: "lab",
        fields: { machine: `m${i}` },
        key,
        label: `lab ${key}`,
        slug: vmSlug("lab", key, `m${i}`),
        strategy: "repair",
        labels: {},
        placement: { scope: "acct", region: "r", zone },
        originalDiskId: `disk-m${i}`,
        facts: {},
        rollback: false,
        ...extra,
    };
}

const settings = (over: Partial<PlanSettings> = {}): PlanSettings => ({
    canary: { count: 1 },
    failureBudget: { percent: 5 },
    disksPerRescue: () => 3,
    stack: "dev",
    ...over,
});

describe("recovery plan", () => {
    describe("waves", () => {
        it("gives the first wave (the canary) a failure budget of 0 and each later wave its count or percentage, rounded down", () => {
            const vms = Array.from({ length: 41 }, (_, i) => vm(i));
            const budgets = (failureBudget: PlanSettings["failureBudget"]) =>
                buildPlan(vms, settings({ waveSize: 20, failureBudget })).waves.map((w) => [w.vms.length, w.failureBudget]);
            assert.deepEqual(budgets({ percent: 5 }), [
                [1, 0],
                [20, 1],
                [20, 1],
            ]);
            assert.deepEqual(budgets({ percent: 4.9 }), [
                [1, 0],
                [20, 0],
                [20, 0],
            ]);
            assert.deepEqual(budgets({ count: 3 }), [
                [1, 0],
                [20, 3],
                [20, 3],
            ]);
            assert.deepEqual(
                budgets({ count: 50 }),
                [
                    [1, 0],
                    [20, 20],
                    [20, 20],
                ],
                "never more than the wave",
            );
            assert.equal(failureBudgetOf({ percent: 100 }, 7), 7);
        });

        it("puts the first inventory entry alone in the canary wave and the rest in wave 1 by default", () => {
            const plan = buildPlan([vm(2), vm(0), vm(1)], settings());
            assert.deepEqual(
                plan.waves.map((w) => [w.wave, w.vms.length]),
                [
                    [0, 1],
                    [1, 2],
                ],
            );
            assert.deepEqual(plan.waves[0].vms, ["site/m000"]);
        });

        it("splits later waves by waveSize", () => {
            const waves = assignWaves(
                [...Array(8).keys()].map((i) => ({ key: `k${i}`, index: i })),
                { canary: { count: 2 }, waveSize: 3 },
            );
            assert.deepEqual([...waves.values()], [0, 0, 1, 1, 1, 2, 2, 2]);
        });

        it("sizes a percentage canary with at least one VM", () => {
            assert.equal(canaryCount({ canary: { percent: 5 } }, 1000), 50);
            assert.equal(canaryCount({ canary: { percent: 1 } }, 10), 1);
            assert.equal(canaryCount({ canary: { percent: 0 } }, 10), 0);
            assert.equal(canaryCount({ canary: { count: 5 } }, 3), 3);
        });

        it("keeps explicit waves and numbers the others around them", () => {
            const plan = buildPlan([vm(0), vm(1, "z1", { wave: 7 }), vm(2), vm(3)], settings({ waveSize: 1 }));
            assert.deepEqual(
                plan.waves.map((w) => [w.wave, w.vms]),
                [
                    [0, ["site/m000"]],
                    [1, ["site/m002"]],
                    [2, ["site/m003"]],
                    [7, ["site/m001"]],
                ],
            );
        });

        it("with no canary, every VM is in wave 0", () => {
            const plan = buildPlan([vm(0), vm(1)], settings({ canary: { count: 0 } }));
            assert.deepEqual(
                plan.waves.map((w) => w.wave),
                [0],
            );
        });
    });

    describe("rescue pools", () => {
        it("gives each zone ceil(disks / capacity) rescue VMs with distinct slots", () => {
            const vms = [...Array(7).keys()].map((i) => vm(i, i < 5 ? "z1" : "z2"));
            const plan = buildPlan(vms, settings());
            assert.deepEqual(
                plan.rescuePools.map((p) => [p.placement.zone, p.members.map((m) => m.vms.length)]),
                [
                    ["z1", [3, 2]],
                    ["z2", [2]],
                ],
            );
            const seats = plan.vms.map((v) => `${v.seat!.member}#${v.seat!.slot}`);
            assert.equal(new Set(seats).size, 7);
            assert.ok(plan.vms.every((v) => v.seat!.slot < 3));
        });

        it("groups by cloud, scope, region and zone, and only VMs that need a rescue", () => {
            const vms = [
                vm(0),
                vm(1, "z1", { placement: { scope: "other", region: "r", zone: "z1" } }),
                vm(2, "z1", { strategy: "reboot" }),
            ];
            const plan = buildPlan(vms, settings());
            assert.equal(plan.rescuePools.length, 2);
            assert.equal(plan.vms.find((v) => v.strategy === "reboot")!.seat, undefined);
        });

        it("names rescue VMs from the stack too: two stacks (shards) in one zone never share a name, one stack's names never change", () => {
            const vms = [...Array(6).keys()].map((i) => vm(i));
            const names = (stack: string, list = vms) =>
                buildPlan(list, settings({ stack })).rescuePools.flatMap((p) => p.members.map((m) => m.name));
            const a = names("incident-01");
            const b = names("incident-02", vms.slice(3));
            assert.equal(a.length, 2);
            for (const n of [...a, ...b]) assert.match(n, /^rescue-lab-z1-[0-9a-f]{8}-\d$/);
            assert.deepEqual(
                a.filter((n) => b.includes(n)),
                [],
                "no rescue VM name of one stack is another's",
            );
            assert.deepEqual(names("incident-01"), a, "the same stack gets the same names");
        });

        it("uses the per-cloud capacity", () => {
            const plan = buildPlan(
                [...Array(10).keys()].map((i) => vm(i)),
                settings({ disksPerRescue: (c) => (c === "lab" ? 4 : 1) }),
            );
            assert.equal(plan.rescuePools[0].members.length, 3);
            assert.equal(plan.rescuePools[0].capacity, 4);
        });
    });

    it("is deterministic and independent of inventory order for pools", () => {
        const vms = [...Array(9).keys()].map((i) => vm(i, `z${i % 2}`));
        const a = buildPlan(vms, settings());
        const b = buildPlan(vms, settings());
        assert.deepEqual(a, b);
        const shuffled = [...vms].reverse().map((v, i) => ({ ...v, index: i }));
        const c = buildPlan(shuffled, settings({ canary: { count: 0 } }));
        const d = buildPlan(vms, settings({ canary: { count: 0 } }));
        assert.deepEqual(c.rescuePools, d.rescuePools);
    });

    it("adding a VM in a later wave moves no other VM's seat, and no name changes", () => {
        const before = buildPlan(
            [...Array(5).keys()].map((i) => vm(i)),
            settings(),
        );
        const after = buildPlan([...[...Array(5).keys()].map((i) => vm(i)), vm(99, "z1", { wave: 9 })], settings());
        for (const v of before.vms) {
            const same = after.vms.find((x) => x.key === v.key)!;
            assert.deepEqual(same.seat, v.seat);
            assert.equal(same.slug, v.slug);
        }
        const removed = buildPlan(
            [...Array(5).keys()].filter((i) => i !== 2).map((i) => vm(i)),
            settings(),
        );
        for (const v of removed.vms) assert.equal(v.slug, before.vms.find((x) => x.key === v.key)!.slug);
    });
});
