// Linux guests keep each VM's state as small as Windows ones: their rule set, device names and boot
// markers are constants of a few bytes, and nothing else of the VM's chain differs.
import { strict as assert } from "assert";
import { estimateState } from "../../components/tools/offline/fleet";
import { planInventory } from "../helpers/lab-run";

const ENTRIES = [
    "  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcde9X\n",
    "  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-9X\n",
    "  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-9X\n",
];

describe("state of Linux guests", () => {
    it("a Linux VM's state is at most 64 bytes more than its Windows twin's on every cloud, for repair and reboot-then-repair", async () => {
        for (const strategy of ["repair", "reboot-then-repair"]) {
            // One chain in flight per VM (maxInFlight covers them all), so no VM waits on another's lane.
            const inventory =
                "vms:\n" +
                ENTRIES.flatMap((entry) => [
                    `${entry.replace("X", "0")}    strategy: ${strategy}\n`,
                    `${entry.replace("X", "1")}    strategy: ${strategy}\n    os: linux\n`,
                ]).join("");
            const { run } = await planInventory(inventory, { "bootloop-rescue:maxInFlight": "100", "bootloop-rescue:canary": "0" });
            const vms = run.result.plan.vms;
            assert.equal(vms.filter((v) => v.os === "linux").length, 3);
            for (const cloud of ["aws", "azure", "gcp"]) {
                const windows = vms.find((v) => v.cloud === cloud && v.os === undefined)!;
                const linux = vms.find((v) => v.cloud === cloud && v.os === "linux")!;
                const size = (slug: string) => {
                    const one = { ...run.result.plan, vms: vms.filter((v) => v.slug === slug) };
                    return estimateState(
                        run.resources!.filter((r) => r.name.startsWith(`${slug}-`)),
                        one,
                    ).maxVmBytes;
                };
                const [w, l] = [size(windows.slug), size(linux.slug)];
                assert.ok(w > 5_000, `${windows.label} (${strategy}): ${w} bytes`);
                assert.ok(l - w <= 64, `${linux.label} (${strategy}): ${l} bytes, its Windows twin ${w}`);
            }
        }
    });
});
