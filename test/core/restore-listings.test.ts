// Restore points are listed once per scope (an AWS account's region, an Azure subscription, a GCP
// project) per program run, and shared by every restore VM of the scope: the real program, run
// under mocks with each cloud's listing answered here and counted.
import { strict as assert } from "assert";
import { paths as builtPaths, identities } from "../../components/registry/clouds";
import { CloudPath } from "../../components/core/contract/cloud-path";
import { InputError, formatProblem } from "../../components/core/contract/problems";
import { RestoreCandidate } from "../../components/core/restore-point";
import { RestoreListings } from "../../components/core/restore-listings";
import { runOffline } from "../../components/tools/offline/run";
import { tempDir } from "../helpers/lab-run";

const BEFORE = "2024-07-19T04:09:00Z";

describe("RestoreListings", () => {
    it("lists a scope once for every VM that asks, even all at once; another scope, or another run, lists again", async () => {
        const listed: string[] = [];
        const list = (scope: string) => async () => {
            listed.push(scope);
            await new Promise((r) => setImmediate(r));
            return [{ id: `${scope}-1`, createdAt: "2024-07-18T00:00:00Z", state: "ready", source: scope }];
        };
        const run = new RestoreListings();
        const answers = await Promise.all([run.of("a", list("a")), run.of("a", list("a")), run.of("b", list("b")), run.of("a", list("a"))]);
        assert.deepEqual(listed, ["a", "b"]);
        assert.equal(answers[0], answers[1], "the same answer, not a copy");
        assert.deepEqual(await new RestoreListings().of("a", list("a")), answers[0]);
        assert.deepEqual(listed, ["a", "b", "a"], "a new run sees the backups taken since");
    });

    it("keeps of one listing the backups of the disk asked for", async () => {
        const run = new RestoreListings();
        const all: RestoreCandidate[] = ["d1", "d2", "d1"].map((source, i) => ({ id: `s${i}`, createdAt: "x", state: "ready", source }));
        assert.deepEqual(
            (
                await run.ofDisk(
                    "a",
                    () => Promise.resolve(all),
                    (s) => s === "d1",
                )
            ).map((c) => c.id),
            ["s0", "s2"],
        );
        assert.deepEqual(
            (
                await run.ofDisk(
                    "a",
                    () => Promise.resolve([]),
                    (s) => s === "d2",
                )
            ).map((c) => c.id),
            ["s1"],
        );
    });

    it("a failed listing fails every VM that asks with the same reason, and is not run again", async () => {
        let calls = 0;
        const run = new RestoreListings();
        const failing = () => {
            calls++;
            return Promise.reject(new Error("AccessDenied: not allowed to list"));
        };
        const settled = await Promise.allSettled([run.of("a", failing), run.of("a", failing)]);
        assert.deepEqual(
            settled.map((s) => (s.status === "rejected" ? (s.reason as Error).message : "listed")),
            ["AccessDenied: not allowed to list", "AccessDenied: not allowed to list"],
        );
        await assert.rejects(run.of("a", failing), /AccessDenied/);
        assert.equal(calls, 1);
    });
});

/** One cloud's case: an inventory, how a listing's scope is named, and the snapshots each scope holds. */
interface Case {
    cloud: string;
    inventory: string;
    /** The scope a listing's environment names. */
    scopeOf(env: Record<string, string>): string;
    /** Each scope's snapshots, as its restore-points script would print them. */
    snapshots: Record<string, RestoreCandidate[]>;
    /** Each restore VM's label → the id of the restore point it must get. */
    expected: Record<string, string>;
    /** The scope whose listing fails in the failure case, and the labels of its VMs. */
    failing: { scope: string; vms: string[] };
    /** A restore VM of the first scope that names its backup (restoreFrom): its inventory entry, label and restore point. */
    named: { entry: string; label: string; id: string };
}

const ready = (id: string, createdAt: string, source: string): RestoreCandidate => ({ id, createdAt, state: "ready", source });

const AWS: Case = (() => {
    const vol = (n: number) => `vol-0${String(n).repeat(16)}`;
    const vm = (i: number, region: string, volume: string, account?: string) =>
        `  - cloud: aws\n    region: ${region}\n    instanceId: i-0${String(i).repeat(16)}\n    rootVolumeId: ${volume}\n    strategy: restore\n` +
        (account ? `    accountId: "${account}"\n` : "");
    return {
        cloud: "aws",
        inventory:
            "vms:\n" + vm(1, "us-east-1", vol(1)) + vm(2, "us-east-1", vol(2)) + vm(3, "us-east-1", vol(3)) + vm(4, "eu-west-1", vol(4)),
        scopeOf: (env) => `${env.ACCOUNT_ID ?? "?"} ${env.AWS_REGION}`,
        snapshots: {
            "123456789012 us-east-1": [
                ready("snap-0a0000000000000a1", "2024-07-18T01:00:00.000Z", vol(1)),
                ready("snap-0a0000000000000a2", "2024-07-19T02:00:00.000Z", vol(1)),
                ready("snap-0a0000000000000a3", "2024-07-19T05:00:00.000Z", vol(1)),
                ready("snap-0b0000000000000b1", "2024-07-19T03:00:00.000Z", vol(2)),
                ready("snap-0c0000000000000c1", "2024-07-18T22:00:00.000Z", vol(3)),
                ready("snap-0c0000000000000c2", "2024-07-19T03:30:00.000Z", vol(4)),
            ],
            "123456789012 eu-west-1": [
                ready("snap-0d0000000000000d1", "2024-07-18T03:00:00.000Z", vol(4)),
                ready("snap-0d0000000000000d2", "2024-07-19T04:00:00.000Z", vol(1)),
            ],
        },
        expected: {
            "aws us-east-1/i-01111111111111111": "snap-0a0000000000000a2",
            "aws us-east-1/i-02222222222222222": "snap-0b0000000000000b1",
            "aws us-east-1/i-03333333333333333": "snap-0c0000000000000c1",
            "aws eu-west-1/i-04444444444444444": "snap-0d0000000000000d1",
        },
        failing: {
            scope: "123456789012 us-east-1",
            vms: ["aws us-east-1/i-01111111111111111", "aws us-east-1/i-02222222222222222", "aws us-east-1/i-03333333333333333"],
        },
        named: {
            entry: vm(5, "us-east-1", vol(5)) + "    restoreFrom: snap-0e0000000000000e1\n",
            label: "aws us-east-1/i-05555555555555555",
            id: "snap-0e0000000000000e1",
        },
    };
})();

const SUB_A = "11111111-2222-3333-4444-555555555555";
const SUB_B = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const AZURE: Case = (() => {
    const disk = (sub: string, name: string) => `/subscriptions/${sub}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/${name}`;
    const snap = (sub: string, name: string) => `/subscriptions/${sub}/resourceGroups/rg-app/providers/Microsoft.Compute/snapshots/${name}`;
    const vm = (sub: string, name: string) =>
        `  - cloud: azure\n    subscriptionId: ${sub}\n    resourceGroup: rg-app\n    vmName: ${name}\n    osDiskId: ${disk(sub, `${name}-os`)}\n    strategy: restore\n`;
    return {
        cloud: "azure",
        inventory: "vms:\n" + vm(SUB_A, "app-01") + vm(SUB_A, "app-02") + vm(SUB_A, "app-03") + vm(SUB_B, "app-04"),
        scopeOf: (env) => env.SUBSCRIPTION_ID.toLowerCase(),
        snapshots: {
            [SUB_A]: [
                ready(snap(SUB_A, "app-01-a"), "2024-07-18T02:00:00+00:00", disk(SUB_A, "app-01-os")),
                // Resource Manager may spell an id in another case: it is the same disk.
                ready(snap(SUB_A, "app-01-b"), "2024-07-19T02:00:00+00:00", disk(SUB_A, "APP-01-OS")),
                ready(snap(SUB_A, "app-02-a"), "2024-07-19T01:00:00+00:00", disk(SUB_A, "app-02-os")),
                ready(snap(SUB_A, "app-02-late"), "2024-07-19T05:00:00+00:00", disk(SUB_A, "app-02-os")),
                ready(snap(SUB_A, "app-03-a"), "2024-07-18T23:00:00+00:00", disk(SUB_A, "app-03-os")),
                ready(snap(SUB_A, "app-04-elsewhere"), "2024-07-19T03:00:00+00:00", disk(SUB_A, "app-04-os")),
            ],
            [SUB_B]: [ready(snap(SUB_B, "app-04-a"), "2024-07-18T20:00:00+00:00", disk(SUB_B, "app-04-os"))],
        },
        expected: {
            "azure rg-app/app-01": snap(SUB_A, "app-01-b"),
            "azure rg-app/app-02": snap(SUB_A, "app-02-a"),
            "azure rg-app/app-03": snap(SUB_A, "app-03-a"),
            "azure rg-app/app-04": snap(SUB_B, "app-04-a"),
        },
        failing: { scope: SUB_A, vms: ["azure rg-app/app-01", "azure rg-app/app-02", "azure rg-app/app-03"] },
        named: {
            entry: vm(SUB_A, "app-05") + `    restoreFrom: ${snap(SUB_A, "app-05-golden")}\n`,
            label: "azure rg-app/app-05",
            id: snap(SUB_A, "app-05-golden"),
        },
    };
})();

const GCP: Case = (() => {
    const src = (project: string, zone: string, disk: string) =>
        `https://www.googleapis.com/compute/v1/projects/${project}/zones/${zone}/disks/${disk}`;
    const vm = (project: string, zone: string, instance: string) =>
        `  - cloud: gcp\n    project: ${project}\n    zone: ${zone}\n    instance: ${instance}\n    strategy: restore\n`;
    return {
        cloud: "gcp",
        // web-1 twice, in two zones of one project: a disk is named by its project, zone and name.
        inventory:
            "vms:\n" +
            vm("web-prod", "us-central1-a", "web-1") +
            vm("web-prod", "us-central1-b", "web-1") +
            vm("web-prod", "us-central1-a", "web-2") +
            vm("web-test", "us-central1-a", "web-1"),
        scopeOf: (env) => env.PROJECT,
        snapshots: {
            "web-prod": [
                ready("web-1-a-old", "2024-07-18T01:00:00.000-07:00", src("web-prod", "us-central1-a", "web-1")),
                ready("web-1-a", "2024-07-18T20:00:00.000-07:00", src("web-prod", "us-central1-a", "web-1")),
                ready("web-1-b", "2024-07-18T19:00:00.000-07:00", src("web-prod", "us-central1-b", "web-1")),
                ready("web-2-a", "2024-07-18T18:00:00.000-07:00", src("web-prod", "us-central1-a", "web-2")),
                ready("web-2-late", "2024-07-18T22:00:00.000-07:00", src("web-prod", "us-central1-a", "web-2")),
                ready("x-web-1", "2024-07-18T20:30:00.000-07:00", src("web-prod", "us-central1-a", "x-web-1")),
            ],
            "web-test": [ready("web-1-test", "2024-07-17T00:00:00.000Z", src("web-test", "us-central1-a", "web-1"))],
        },
        expected: {
            "gcp web-prod/us-central1-a/web-1": "projects/web-prod/global/snapshots/web-1-a",
            "gcp web-prod/us-central1-b/web-1": "projects/web-prod/global/snapshots/web-1-b",
            "gcp web-prod/us-central1-a/web-2": "projects/web-prod/global/snapshots/web-2-a",
            "gcp web-test/us-central1-a/web-1": "projects/web-test/global/snapshots/web-1-test",
        },
        failing: {
            scope: "web-prod",
            vms: ["gcp web-prod/us-central1-a/web-1", "gcp web-prod/us-central1-b/web-1", "gcp web-prod/us-central1-a/web-2"],
        },
        named: {
            entry: vm("web-prod", "us-central1-a", "web-5") + "    restoreFrom: web-5-golden\n",
            label: "gcp web-prod/us-central1-a/web-5",
            id: "projects/web-prod/global/snapshots/web-5-golden",
        },
    };
})();

/**
 * Runs the real program on the case's inventory, every lookup answered by the built paths' offline
 * placeholders except the cloud's restore-point listings, answered from the case (or failed for
 * the scope `failing`) and counted per scope. `offline`: the listings too are answered by the
 * offline plan's placeholders (as `npm run plan` answers them), with the named VM added.
 */
function plan(c: Case, failing?: string, offline = false) {
    const listed: string[] = [];
    const named: string[] = [];
    const paths: CloudPath[] = builtPaths.map((p) =>
        p.identity.cloud !== c.cloud
            ? p
            : {
                  ...p,
                  offlineLookup: (token, inputs, vms) => {
                      const env = (inputs.environment ?? {}) as Record<string, string>;
                      if (token !== "command:local:run" || env.BOOTLOOP_LOOKUP !== `${c.cloud}-restore-points`)
                          return p.offlineLookup(token, inputs, vms);
                      if (env.RESTORE_FROM) {
                          named.push(env.RESTORE_FROM);
                          return p.offlineLookup(token, inputs, vms);
                      }
                      const scope = c.scopeOf(env);
                      listed.push(scope);
                      if (offline) return p.offlineLookup(token, inputs, vms);
                      // A listing that failed: what the script printed is no JSON list (the mocks keep no thrown reason).
                      if (scope === failing) return { stdout: `listing ${scope}: AccessDenied`, stderr: "" };
                      return { stdout: JSON.stringify(c.snapshots[scope.toLowerCase()] ?? c.snapshots[scope] ?? []), stderr: "" };
                  },
              },
    );
    const run = () =>
        runOffline({
            stack: "test",
            config: { values: { "bootloop-rescue:inventory": "inv.yaml", "bootloop-rescue:acceptDataLoss": "true" }, secretKeys: [] },
            baseDir: tempDir({ "inv.yaml": c.inventory + (offline ? c.named.entry : "") }),
            identities,
            paths,
            details: false,
        });
    return { listed, named, run };
}

for (const c of [AWS, AZURE, GCP]) {
    describe(`${c.cloud}: restore points listed once per scope per program run`, () => {
        it("several restore VMs of a scope and one of another: one listing per scope; each VM gets its own disk's newest backup before the cutoff", async function () {
            this.timeout(120_000);
            const { listed, run } = plan(c);
            const done = await run();
            assert.deepEqual([...listed].sort(), Object.keys(c.snapshots).sort(), "one listing per scope");
            const points = Object.fromEntries(done.result.plan.vms.map((v) => [v.label, v.restorePoint?.id]));
            assert.deepEqual(points, c.expected);
            for (const v of done.result.plan.vms) assert.ok(Date.parse(v.restorePoint!.createdAt) < Date.parse(BEFORE), v.label);
            // Another run in the same process lists again: nothing is kept between runs.
            await run();
            assert.deepEqual([...listed].sort(), [...Object.keys(c.snapshots), ...Object.keys(c.snapshots)].sort());
        });

        it("a failing listing fails each VM of its scope with the same reason, naming the VM; the scope is listed once", async function () {
            this.timeout(120_000);
            const { listed, run } = plan(c, c.failing.scope);
            const err = await run().then(
                () => assert.fail("the run must stop"),
                (e: unknown) => e,
            );
            assert.ok(err instanceof InputError, String(err));
            const problems = err.problems;
            assert.deepEqual(problems.map((p) => p.vm).sort(), [...c.failing.vms].sort(), problems.map(formatProblem).join("\n"));
            for (const p of problems)
                assert.match(
                    p.message,
                    new RegExp(
                        `^lookup failed: the ${c.cloud}-restore-points lookup printed no JSON list: listing ${c.failing.scope}: AccessDenied$`,
                    ),
                );
            assert.equal(new Set(problems.map((p) => p.message)).size, 1, "the same reason for each");
            assert.equal(listed.filter((s) => s === c.failing.scope).length, 1);
        });

        it("npm run plan answers a scope's one listing with a placeholder for each of its restore VMs; a restoreFrom is looked up alone", async function () {
            this.timeout(120_000);
            const { listed, named, run } = plan(c, undefined, true);
            const done = await run();
            assert.deepEqual([...listed].sort(), Object.keys(c.snapshots).sort(), "one listing per scope");
            assert.equal(named.length, 1, "the named backup, once");
            assert.ok(c.named.id.endsWith(named[0]), named[0]);
            const vms = done.result.plan.vms;
            assert.deepEqual(
                vms.map((v) => v.label).sort(),
                [...Object.keys(c.expected), c.named.label].sort(),
                "every restore VM planned",
            );
            const listedVms = vms.filter((v) => v.label !== c.named.label);
            for (const v of listedVms) {
                assert.ok(done.placeholders.is(v.restorePoint!.id, v.key), `${v.label}: ${v.restorePoint!.id} is marked invented`);
                assert.ok(Date.parse(v.restorePoint!.createdAt) < Date.parse(BEFORE), v.label);
            }
            const own = vms.find((v) => v.label === c.named.label)!;
            assert.equal(own.restorePoint!.id, c.named.id);
            assert.ok(!done.placeholders.is(own.restorePoint!.id, own.key), "a restoreFrom the inventory names is a fact");
        });
    });
}
