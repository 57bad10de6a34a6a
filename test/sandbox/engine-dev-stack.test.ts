import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SUITE_ENV, SandboxSession, inWorld, worldIds } from "./engine-run";
import { KEPT_REGISTRATION_FRAMES } from "../../components/core/registration-trace";
import { programNodeArgs } from "../../components/tools/node-args";

const ROOT = path.resolve(__dirname, "..", "..");

// The dev stack through the REAL engine (the pinned pulumi CLI), the stand-in providers and CLIs
// on one simulated cloud: what a user's first run would meet, through `npm run incident` (the
// Automation API: plan, preview with the policy pack, up with live progress, report), then the
// single commands. Each step builds on the one before, as a person would run them.

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

    it("npm run incident -- --stack dev --sandbox --create --yes (in CI) takes the dev stack from the offline plan to the report: every VM recovered", () => {
        const page = path.join(sandbox.dir, "status-dev.html");
        const args = ["--stack", "dev", "--sandbox", "--create", "--yes", "--status-page", page];
        const r = spawnSync(process.execPath, [...programNodeArgs(), "-r", "ts-node/register/transpile-only", "cli/incident.ts", ...args], {
            cwd: ROOT,
            // CI is set and stdin is no terminal: --yes is what lets it run.
            env: { ...process.env, ...SUITE_ENV, SANDBOX_DIR: sandbox.dir, INIT_CWD: ROOT, CI: "true" },
            stdio: ["ignore", "pipe", "pipe"],
            encoding: "utf8",
            maxBuffer: 256 * 1024 * 1024,
        });
        const out = r.stdout;
        assert.equal(
            r.status,
            0,
            `npm run incident -- ${args.join(" ")} exited ${r.status}\n--- stdout\n${out.slice(-8000)}\n--- stderr\n${r.stderr.slice(-4000)}`,
        );
        const at = (text: string) => {
            const i = out.indexOf(text);
            assert.ok(i >= 0, `incident printed ${JSON.stringify(text)}:\n${out.slice(0, 3000)}`);
            return i;
        };
        // In order: plan, stack created, preflight (not in the sandbox), preview summary, --yes, progress, verdict, report.
        const order = [
            at("== 1/6 the offline plan\nbootloop-rescue offline plan: stack dev"),
            at("created stack dev (--create) in the sandbox"),
            at("preflight: not run (sandbox)"),
            at("Summary: stack dev, 11 VMs, the sandbox"),
            at("--yes: updating without asking"),
            at("update started: 11 VMs: 0 verified, 0 failed, 0 in flight, 11 waiting"),
            at("wave 0 (canary) of 2 done: 1 VM: 1 verified"),
            at("wave 1 of 2 done: 10 VMs: 10 verified, 0 failed"),
            at("update succeeded after "),
            at("# bootloop-rescue recovery report"),
            at("None: every VM is recovered."),
            at(`status page: ${page}\n11 of 11 VMs recovered in `),
        ];
        assert.deepEqual(
            [...order].sort((a, b) => a - b),
            order,
            "in this order",
        );
        assert.match(out, /VMs: 11 \(aws 5, azure 3, gcp 3\)/);
        assert.match(out, / {2}wave 0 \(canary\): 1 VM: aws 1 \(repair 1\)\n {2}wave 1: 10 VMs: aws 4 \(/);
        assert.match(out, / {2}the preview: create \d+\n {2}policy packs run by the preview: .*bootloop-rescue/, "the pack ran");
        // One line per change in a log: each VM backing up or repairing, swapping, and verified.
        for (const label of ["aws us-east-1/i-0123456789abcdef0", "azure rg-app/app-01", "gcp my-project/us-central1-a/web-1"]) {
            assert.match(out, new RegExp(`\\+[\\d a-z]+ ${label.replace(/[/.]/g, "\\$&")} \\(wave \\d\\): swapping · `), label);
            assert.match(out, new RegExp(`\\+[\\d a-z]+ ${label.replace(/[/.]/g, "\\$&")} \\(wave \\d\\): verified · `), label);
        }
        assert.equal((out.match(/ \(wave \d\): verified · /g) ?? []).length, 11, "every VM verified, once");
        assert.match(out, /11 of 11 verified, 0 failed, 0 in flight, 0 waiting · /);
        assert.doesNotMatch(out, /^(\+[^\n]* | {2})FAILED /m, "no failure line");
        assert.match(fs.readFileSync(page, "utf8"), /11 of 11 VMs recovered/);
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

    it("the state keeps the frames that declared each resource, not the program's whole call stack", () => {
        const state = JSON.parse(sandbox.ok(["stack", "export", ...STACK]).stdout) as {
            deployment: { resources: { urn: string; custom?: boolean; stackTrace?: unknown[] }[] };
        };
        const traced = state.deployment.resources.filter((r) => r.stackTrace !== undefined);
        // Every resource the program declared has its stack (the providers the engine makes have none).
        assert.ok(traced.length >= state.deployment.resources.length - 5, `${traced.length} of ${state.deployment.resources.length}`);
        for (const r of traced) assert.ok(r.stackTrace!.length <= KEPT_REGISTRATION_FRAMES, `${r.urn}: ${r.stackTrace!.length} frames`);
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
        const beforeWorld = sandbox.world("dev");
        const before = worldIds(beforeWorld);
        const inBefore = (r: { id?: string }) => !!r.id && inWorld(before, r.id);
        // The rescue tools on GCP: project metadata items, once per project (their ids are keys, not collections of the world).
        const toolItems = (worlds: Record<string, Record<string, unknown>>) =>
            Object.values(worlds).flatMap((w) =>
                Object.entries((w?.projectMetadata ?? {}) as Record<string, Record<string, string>>).flatMap(([project, items]) =>
                    Object.keys(items)
                        .filter((k) => k.startsWith("bootloop-rescue-tools-"))
                        .map((k) => `${project}/${k}`),
                ),
            );
        const itemsInState = state.deployment.resources.filter((r) => r.type === "gcp:compute/projectMetadataItem:ProjectMetadataItem");
        assert.ok(itemsInState.length >= 1, "the GCP rescue tools are in project metadata");
        assert.deepEqual(
            toolItems(beforeWorld)
                .map((k) => k.split("/")[1])
                .sort(),
            itemsInState.map((r) => r.id!).sort(),
            "the world holds the items the state holds",
        );
        const rescueVms = state.deployment.resources.filter(
            (r) =>
                inBefore(r) &&
                /^(aws:ec2\/instance:Instance|azure-native:compute:VirtualMachine|gcp:compute\/instance:Instance)$/.test(r.type),
        );
        const scratch = state.deployment.resources.filter((r) => inBefore(r) && r.urn.endsWith("-scratch"));
        assert.ok(rescueVms.length >= 3, `a rescue VM per cloud at least: ${rescueVms.length}`);
        assert.ok(scratch.length >= 3, `scratch disks on every cloud: ${scratch.length}`);
        sandbox.ok(["up", ...STACK, "--yes", "--non-interactive", "--skip-preview", "--config", "bootloop-rescue:teardown=true"]);
        const afterWorld = sandbox.world("dev");
        const ids = worldIds(afterWorld);
        for (const r of [...rescueVms, ...scratch])
            assert.ok(!inWorld(ids, r.id!), `${r.type} ${r.id} is still in the world after teardown`);
        assert.deepEqual(toolItems(afterWorld), [], "the tools' project metadata items went with the rescue instances");
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
