// Teardown never stops, restarts or swaps a VM: a swap or reboot step that runs in teardown never
// finished before (finished steps are in state and never run again), and a person may have
// recovered or rolled the VM back since. Every cloud's scripts refuse, calling nothing.
import { strict as assert } from "assert";
import * as aws from "../aws/run-script";
import * as azure from "../azure/run-script";
import * as gcp from "../gcp/run-script";

const clouds = [
    {
        name: "aws",
        m: aws,
        reboot: { INSTANCE_ID: aws.INSTANCE, VM_LABEL: "aws us-east-1/i-0123456789abcdef0", BOOT_MARKER: "Windows is Ready to use" },
    },
    {
        name: "azure",
        m: azure,
        reboot: { SUBSCRIPTION_ID: azure.SUB, RESOURCE_GROUP: "rg-app", VM_NAME: "app-01", VM_LABEL: "azure rg-app/app-01" },
    },
    {
        name: "gcp",
        m: gcp,
        reboot: {
            PROJECT: "my-project",
            ZONE: "us-central1-a",
            INSTANCE: "web-1",
            VM_LABEL: "gcp my-project/us-central1-a/web-1",
            BOOT_MARKER: "Windows is ready",
        },
    },
] as const;

describe("teardown never performs a swap or a reboot", () => {
    for (const { name, m, reboot } of clouds) {
        it(`${name}: an unfinished swap or reboot step fails in teardown, saying what to do, and calls nothing`, () => {
            const run = m.run as (
                script: string,
                env: Record<string, string>,
                w: unknown,
            ) => { code: number | null; stderr: string; calls: string[][] };
            for (const [script, env] of [
                ["swap", m.swapEnv],
                ["reboot", { ...reboot, MAX_REBOOTS: "3", REBOOT_TIMEOUT_SECONDS: "1", MUST_RECOVER: "true" }],
            ] as const) {
                const r = run(script, { ...env, BOOTLOOP_TEARDOWN: "1" }, m.world());
                assert.equal(r.code, 1, `${script}: ${r.stderr}`);
                assert.match(
                    r.stderr,
                    new RegExp(
                        `teardown found no finished ${script} for this VM in the stack, and teardown never stops, restarts or swaps a VM; run without teardown until its chain completes \\(or roll it back\\), or remove it from the inventory`,
                    ),
                );
                assert.deepEqual(r.calls, [], script);
            }
        });
    }
});

describe("teardown: the steps that change a VM are told so", () => {
    it("every swap, reboot and repair command of a teardown plan carries BOOTLOOP_TEARDOWN=1 (ignored once the step is in state)", async () => {
        const { planInventory } = await import("../helpers/lab-run");
        const inventory =
            "vms:\n" +
            ["repair", "reboot-then-repair"]
                .flatMap((strategy, i) => [
                    `  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcde${i}0\n    strategy: ${strategy}\n`,
                    `  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-0${i}\n    strategy: ${strategy}\n`,
                    `  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-${i}\n    strategy: ${strategy}\n`,
                ])
                .join("");
        const down = await planInventory(inventory, { "bootloop-rescue:teardown": "true" });
        const steps = down.run.resources!.filter((r) => r.type === "command:local:Command" && /-(swap|reboot|repair)$/.test(r.name));
        assert.equal(steps.filter((r) => r.name.endsWith("-swap")).length, 6);
        assert.equal(steps.filter((r) => r.name.endsWith("-reboot")).length, 3);
        for (const r of steps) {
            assert.equal((r.inputs.environment as Record<string, string>).BOOTLOOP_TEARDOWN, "1", r.name);
            assert.ok(r.ignoreChanges.includes("environment"), `${r.name}: a finished step is not updated by it`);
        }
        const live = await planInventory(inventory);
        for (const r of live.run.resources!.filter((x) => x.type === "command:local:Command"))
            assert.equal((r.inputs.environment as Record<string, string> | undefined)?.BOOTLOOP_TEARDOWN, undefined, r.name);
    });
});
