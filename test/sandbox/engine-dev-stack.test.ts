import { strict as assert } from "assert";
import { SandboxSession, inWorld, worldIds } from "./engine-run";

// The dev stack through the REAL engine (the pinned pulumi CLI), the stand-in providers and CLIs
// on one simulated cloud: what a user's first `pulumi up` would meet. Each step builds on the one
// before, as a person would run them.

interface VmOutput {
    status: string;
    strategy: string;
    backupId?: string;
    originalDiskId?: string;
    fixedDiskId?: string;
}

describe("sandbox: the dev stack with the real engine", function () {
    this.timeout(30 * 60 * 1000);
    const sandbox = new SandboxSession();
    const STACK = ["--stack", "dev"];
    let vms: Record<string, VmOutput> = {};

    it("preview, with the policy pack, plans the recovery without changing the simulated cloud", () => {
        const r = sandbox.ok(["preview", ...STACK, "--non-interactive", "--policy-pack", "policy"]);
        assert.match(r.stdout, /to create/);
        assert.match(r.stdout, /Policies:[\s\S]*bootloop-rescue/, "the pack ran");
        const before = JSON.stringify(sandbox.world("dev"));
        sandbox.ok(["preview", ...STACK, "--non-interactive"]);
        assert.equal(JSON.stringify(sandbox.world("dev")), before);
    });

    it("up recovers every VM of the inventory in one run", () => {
        sandbox.ok(["up", ...STACK, "--yes", "--non-interactive", "--skip-preview"]);
        vms = JSON.parse(sandbox.ok(["stack", "output", "vms", "--json", ...STACK]).stdout) as Record<string, VmOutput>;
        assert.equal(Object.keys(vms).length, 11);
        // A `reboot` VM that came back at a restart is `recovered-by-reboot`.
        for (const [key, vm] of Object.entries(vms)) assert.match(vm.status, /^recovered(-by-reboot)?$/, `${key}: ${JSON.stringify(vm)}`);
    });

    it("state-size weighs the state the engine keeps: every VM's chain found, by cloud and strategy", () => {
        assert.ok(Object.keys(vms).length > 0, "the up before recorded its VMs");
        const size = JSON.parse(sandbox.ok(["state-size", ...STACK, "--json"]).stdout) as {
            vms: number;
            totalBytes: number;
            sharedBytes: number;
            unmatchedBytes: number;
            groups: { cloud: string; strategy: string; vms: number; bytesPerVm: number }[];
        };
        assert.equal(size.vms, 11);
        assert.equal(size.unmatchedBytes, 0, "every chain resource belongs to a VM of the output");
        assert.equal(
            size.groups.reduce((n, g) => n + g.vms, 0),
            11,
        );
        const chains = size.groups.reduce((n, g) => n + g.vms * g.bytesPerVm, 0);
        assert.ok(
            Math.abs(size.totalBytes - size.sharedBytes - chains) <= size.groups.reduce((n, g) => n + g.vms / 2, 0),
            "chains and shared make the whole",
        );
        for (const g of size.groups) assert.ok(g.bytesPerVm > 1000, `${g.cloud} ${g.strategy}: ${g.bytesPerVm} bytes`);
    });

    it("the world holds each repaired VM's backup, its original disk and its fixed disk", () => {
        assert.ok(Object.keys(vms).length > 0, "the up before recorded its VMs");
        const ids = worldIds(sandbox.world("dev"));
        for (const [key, vm] of Object.entries(vms)) {
            if (vm.strategy === "reboot") continue;
            for (const id of [vm.backupId, vm.originalDiskId, vm.fixedDiskId].filter((x): x is string => !!x))
                assert.ok(inWorld(ids, id), `${key}: ${id} is not in the world`);
        }
    });

    it("a second up changes nothing", () => {
        sandbox.ok(["up", ...STACK, "--yes", "--non-interactive", "--expect-no-changes"]);
    });

    it("refresh reads every resource back from the world, and finds nothing changed", () => {
        sandbox.ok(["refresh", ...STACK, "--yes", "--non-interactive", "--expect-no-changes"]);
    });

    it("teardown (up with teardown=true) removes the rescue VMs and every scratch disk, and keeps every backup, original and fixed disk and every VM's record", () => {
        assert.ok(Object.keys(vms).length > 0, "the up before recorded its VMs");
        const state = JSON.parse(sandbox.ok(["stack", "export", ...STACK]).stdout) as {
            deployment: { resources: { urn: string; id?: string; type: string }[] };
        };
        const before = worldIds(sandbox.world("dev"));
        const inBefore = (r: { id?: string }) => !!r.id && inWorld(before, r.id);
        const rescueVms = state.deployment.resources.filter(
            (r) =>
                inBefore(r) &&
                /^(aws:ec2\/instance:Instance|azure-native:compute:VirtualMachine|gcp:compute\/instance:Instance)$/.test(r.type),
        );
        const scratch = state.deployment.resources.filter((r) => inBefore(r) && r.urn.endsWith("-scratch"));
        assert.ok(rescueVms.length >= 3, `a rescue VM per cloud at least: ${rescueVms.length}`);
        assert.ok(scratch.length >= 3, `scratch disks on every cloud: ${scratch.length}`);
        sandbox.ok(["up", ...STACK, "--yes", "--non-interactive", "--skip-preview", "--config", "bootloop-rescue:teardown=true"]);
        const ids = worldIds(sandbox.world("dev"));
        for (const r of [...rescueVms, ...scratch])
            assert.ok(!inWorld(ids, r.id!), `${r.type} ${r.id} is still in the world after teardown`);
        for (const [key, vm] of Object.entries(vms))
            for (const id of [vm.backupId, vm.originalDiskId, vm.fixedDiskId].filter((x): x is string => !!x))
                assert.ok(inWorld(ids, id), `${key}: ${id} went with teardown`);
        const after = JSON.parse(sandbox.ok(["stack", "output", "vms", "--json", ...STACK]).stdout) as Record<string, VmOutput>;
        assert.deepEqual(
            Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v.status])),
            Object.fromEntries(Object.entries(vms).map(([k, v]) => [k, v.status])),
            "every VM's record stays",
        );
    });

    it("destroy after teardown deletes nothing more in the world, leaves the stack empty, and keeps every backup, original and fixed disk", () => {
        assert.ok(Object.keys(vms).length > 0, "the up before recorded its VMs");
        // What destroy would remove from the world: every resource of the state that the world holds and the program does not keep.
        const state = JSON.parse(sandbox.ok(["stack", "export", ...STACK]).stdout) as {
            deployment: { resources: { id?: string; type: string; retainOnDelete?: boolean }[] };
        };
        const before = worldIds(sandbox.world("dev"));
        const removable = state.deployment.resources.filter((r) => r.id && !r.retainOnDelete && inWorld(before, r.id));
        assert.deepEqual(
            removable.map((r) => `${r.type} ${r.id}`),
            [],
            "teardown removed all of the rescue machinery already",
        );
        sandbox.ok(["destroy", ...STACK, "--yes", "--non-interactive"]);
        const after = JSON.parse(sandbox.ok(["stack", "export", ...STACK]).stdout) as { deployment: { resources?: unknown[] } };
        assert.deepEqual(after.deployment.resources ?? [], [], "the stack is empty");
        const ids = worldIds(sandbox.world("dev"));
        for (const [key, vm] of Object.entries(vms))
            for (const id of [vm.backupId, vm.originalDiskId, vm.fixedDiskId].filter((x): x is string => !!x))
                assert.ok(inWorld(ids, id), `${key}: ${id} went with destroy`);
    });
});
