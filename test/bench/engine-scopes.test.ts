import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { parseEngineArgs } from "../../bench/engine/args";
import { ClassCount, throttleVerdict, verdicts } from "../../bench/engine/bounds";
import { engineFleet, writeEngineStack } from "../../bench/engine/fleet";
import { renderEngine } from "../../bench/engine/render";
import { EngineBenchResult } from "../../bench/engine/run";
import { budgetScopeOf } from "../../bench/engine/budget-scope";
import { readAwsConfig } from "../../components/aws/config";
import { inventoryContext } from "../../components/core/inventory/context";
import { parseYamlInventory } from "../../components/core/inventory/read";
import { validateInventory } from "../../components/core/inventory/validate";
import { builtClouds, identities } from "../../components/registry/inventory";
import { configSourceOf, readStackConfig } from "../../components/tools/offline/stack-config";
import { DEFAULT_ACCOUNT } from "../../sandbox/world/aws-world";
import { fleetInventory, writeFleetStack } from "../../sandbox/world/fleet-stack";
import { RequestFigures } from "../../sandbox/world/requests";

// The engine bench spread over K scopes per cloud (--scopes K, #29): the fleet's placement (VM k of
// a cloud in scope k mod K: AWS accounts, the ambient one and others through a role; Azure
// subscriptions; GCP projects), the stack config the program needs for it, read back by the
// program's own readers, the flag's refusals, and the budget verdict expecting every scope.

type Entry = Record<string, string> & { cloud: string };
const entriesOf = (text: string) => (parse(text) as { vms: Entry[] }).vms;

/** The VMs of each cloud, in inventory order. */
function byCloud(vms: readonly Entry[]): Map<string, Entry[]> {
    const out = new Map<string, Entry[]>();
    for (const e of vms) out.set(e.cloud, [...(out.get(e.cloud) ?? []), e]);
    return out;
}

describe("engine bench --scopes: the fleet over K scopes per cloud", () => {
    it("puts VM k of every cloud in scope k mod K, K distinct scopes per cloud, each VM still its own", () => {
        for (const k of [1, 3, 7]) {
            const vms = entriesOf(fleetInventory(60, { scopes: k }));
            const clouds = byCloud(vms);
            assert.deepEqual([...clouds.keys()], ["aws", "azure", "gcp"]);
            for (const [cloud, list] of clouds) {
                const scopes = list.map(budgetScopeOf);
                // The first K VMs name K different scopes, and VM j is in the scope of VM j mod K.
                assert.equal(new Set(scopes.slice(0, k)).size, k, `${cloud} K=${k}: ${scopes.slice(0, k).join(", ")}`);
                assert.equal(new Set(scopes).size, k, `${cloud} K=${k}`);
                scopes.forEach((s, j) => assert.equal(s, scopes[j % k], `${cloud} VM ${j} with K=${k}`));
            }
            assert.equal(new Set(vms.map((e) => e.instanceId ?? e.vmName ?? e.instance)).size, 60);
        }
        const aws = byCloud(entriesOf(fleetInventory(15, { scopes: 3 }))).get("aws")!;
        // AWS: scope 0 is the ambient account (no accountId), the others name theirs; one region, zones vary.
        assert.deepEqual(aws.map(budgetScopeOf), [
            "aws default/us-east-1",
            "aws 210000000001/us-east-1",
            "aws 210000000002/us-east-1",
            "aws default/us-east-1",
            "aws 210000000001/us-east-1",
        ]);
        assert.equal(aws[0].accountId, undefined);
        assert.ok(new Set(aws.map((e) => e.availabilityZone)).size > 1);
        const scoped = byCloud(entriesOf(fleetInventory(15, { scopes: 3 })));
        assert.deepEqual(scoped.get("azure")!.map(budgetScopeOf).slice(0, 3), [
            "azure 11111111-2222-3333-4444-555555555555",
            "azure 11111111-2222-3333-4444-555555555556",
            "azure 11111111-2222-3333-4444-555555555557",
        ]);
        assert.deepEqual(new Set(scoped.get("azure")!.map((e) => e.location)), new Set(["eastus2"]));
        assert.deepEqual(scoped.get("gcp")!.map(budgetScopeOf).slice(0, 3), [
            "gcp rescue-demo-0/us-central1",
            "gcp rescue-demo-1/us-central1",
            "gcp rescue-demo-2/us-central1",
        ]);
        // No AWS account of the fleet is the sandbox's ambient one, but scope 0.
        const accounts = entriesOf(fleetInventory(150, { scopes: 50 })).map((e) => e.accountId);
        assert.equal(accounts.includes(DEFAULT_ACCOUNT), false);
        assert.equal(new Set(accounts.filter((a) => a)).size, 49);
    });

    it("writes a stack the program reads: every entry valid, a role for every other AWS account, none for the ambient one", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-scopes-"));
        try {
            const fleet = engineFleet(12, 1, { scopes: 3 });
            const folders = writeEngineStack(dir, "engine12", fleet, dir);
            for (const folder of [folders.stacks, folders.watch]) {
                const config = configSourceOf(readStackConfig(folder, "engine12"));
                const inventory = path.join(folder, config.get("bootloop-rescue:inventory")!);
                const vms = validateInventory(
                    parseYamlInventory(inventory, fs.readFileSync(inventory, "utf8")),
                    inventoryContext(identities, builtClouds, config),
                );
                assert.equal(vms.length, 12);
                const roles = readAwsConfig(config, `Pulumi.engine12.yaml in ${folder}`).assumeRoleArns;
                const others = [...new Set(vms.filter((v) => v.cloud === "aws" && v.fields.accountId).map((v) => v.fields.accountId))];
                assert.deepEqual(others, ["210000000001", "210000000002"]);
                assert.deepEqual(Object.keys(roles).sort(), others);
                for (const [account, role] of Object.entries(roles)) assert.equal(role.split(":")[4], account);
                // The bad VM is still labelled, the canary still the first.
                assert.equal(vms.filter((v) => v.labels["sandbox-fault"] === "never-boots").length, 1);
            }
            assert.equal(fleet.scopes.length, 9);
            assert.match(fleet.placement, /^3 scopes per cloud/);
            // The samples' placement needs no role; one scope per cloud neither.
            assert.deepEqual(engineFleet(12, 1).config, {});
            assert.deepEqual(engineFleet(12, 1, { scopes: 1 }).config, {});
            // A fleet with fewer AWS VMs than scopes names roles only for the accounts it uses.
            assert.deepEqual(Object.keys(engineFleet(4, 0, { scopes: 5 }).config["bootloop-rescue:awsAssumeRoleArns"]), ["210000000001"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the sandbox's own stack writer writes the roles too", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-scopes-"));
        try {
            writeFleetStack("fleet9", 9, dir, { scopes: 3 });
            const config = configSourceOf(readStackConfig(dir, "fleet9"));
            assert.deepEqual(readAwsConfig(config, "Pulumi.fleet9.yaml").assumeRoleArns, {
                "210000000001": "arn:aws:iam::210000000001:role/bootloop-rescue",
                "210000000002": "arn:aws:iam::210000000002:role/bootloop-rescue",
            });
            writeFleetStack("fleet9b", 9, dir);
            assert.equal(configSourceOf(readStackConfig(dir, "fleet9b")).get("bootloop-rescue:awsAssumeRoleArns"), undefined);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses scopes with oneScope, or out of 1 to 50", () => {
        assert.throws(() => fleetInventory(6, { scopes: 2, oneScope: true }), /scopes and oneScope are exclusive/);
        assert.throws(() => fleetInventory(6, { scopes: 0 }), /scopes 0 must be a whole number from 1 to 50/);
        assert.throws(() => fleetInventory(6, { scopes: 51 }), /scopes 51 must be/);
        assert.throws(() => fleetInventory(6, { scopes: 1.5 }), /scopes 1.5 must be/);
    });
});

describe("engine bench --scopes: arguments", () => {
    it("takes --scopes K from 1 to 50; absent, the samples' placement", () => {
        assert.equal(parseEngineArgs(["--fleet", "12", "--scopes", "3"]).scopes, 3);
        assert.equal(parseEngineArgs(["--fleet=12", "--scopes=50"]).scopes, 50);
        assert.equal(parseEngineArgs(["--fleet", "12", "--scopes", "1"]).scopes, 1);
        assert.equal("scopes" in parseEngineArgs(["--fleet", "12"]), false);
    });

    it("refuses each mistake, naming the flag, and --scopes with --shards", () => {
        const bad: [string[], RegExp][] = [
            [["--fleet", "12", "--scopes", "0"], /--scopes: "0" must be a whole number of scopes per cloud from 1 to 50/],
            [["--fleet", "12", "--scopes", "51"], /--scopes: "51" must be/],
            [["--fleet", "12", "--scopes", "x"], /--scopes: "x" must be/],
            [["--fleet", "12", "--scopes", "-1"], /--scopes: "-1" must be/],
            [["--fleet", "12", "--scopes"], /--scopes needs a value/],
            [["--fleet", "12", "--scopes", "2", "--scopes", "3"], /--scopes is given twice/],
            [["--fleet", "12", "--shards", "3", "--scopes", "2"], /--scopes cannot go with --shards/],
            [["--fleet", "12", "--scopes", "2", "--shards", "3"], /--scopes cannot go with --shards/],
        ];
        for (const [argv, message] of bad) assert.throws(() => parseEngineArgs(argv), message, argv.join(" "));
    });
});

describe("engine bench --scopes: the budget verdict expects every scope", () => {
    const fleet = engineFleet(12, 1, { scopes: 3 });
    // What the simulated clouds count: the ambient account under its id, the others under theirs.
    const counted = (scope: string): ClassCount => {
        const [cloud, rest] = [scope.slice(0, scope.indexOf(" ")), scope.slice(scope.indexOf(" ") + 1)];
        return { cloud, scope: rest.replace(/^default\//, `${DEFAULT_ACCOUNT}/`), cls: "describe", requests: 10, throttled: 0 };
    };
    const judge = (rows: ClassCount[]) =>
        verdicts({ vms: 12, bad: 1, spendScale: 1, requests: rows, expectedScopes: fleet.scopes }).find((v) => /throttled/.test(v.bound))!;

    it("passes when every one of the K scopes per cloud was counted", () => {
        assert.equal(fleet.scopes.length, 9);
        const v = judge(fleet.scopes.map(counted));
        assert.equal(v.verdict, "PASS", v.detail);
        assert.match(v.detail, /^9 scopes/);
    });

    it("is not checked, never PASS, when a scope has no request, naming it", () => {
        for (const missing of fleet.scopes) {
            const v = judge(fleet.scopes.filter((s) => s !== missing).map(counted));
            assert.equal(v.verdict, "not checked", missing);
            assert.ok(v.detail.includes(`no request counted in expected scope(s) ${missing};`), v.detail);
        }
    });

    it("never takes another named account's requests for the ambient account's", () => {
        const withoutAmbient = fleet.scopes.filter((s) => s !== "aws default/us-east-1").map(counted);
        assert.equal(judge(withoutAmbient).verdict, "not checked");
        // Alone, the ambient scope is any account's count in its region (the caller's own id is not known).
        assert.equal(throttleVerdict([counted("aws 210000000001/us-east-1")], { expected: ["aws default/us-east-1"] }).verdict, "PASS");
    });
});

describe("engine bench --scopes: the run's text", () => {
    it("says the placement and each scope's requests, the providers' share apart", () => {
        const row = (cloud: string, scope: string, requests: number, byProviders: number) =>
            ({ cloud, scope, cls: "c", requests, throttled: 0, byProviders, throttledPercent: 0 }) as unknown as RequestFigures;
        const result = {
            vms: 12,
            bad: [],
            placement: engineFleet(12, 1, { scopes: 3 }).placement,
            commit: "0123456789",
            uncommittedChanges: false,
            machine: { name: "m", cores: 2, memoryMb: 1024, loadAverage1m: { before: 0, after: 0 } },
            runner: { name: "2x7", cpus: 2, memoryMb: 7168 },
            parallel: 30,
            spend: { scale: 1, hold: [20, 40], seed: "s" },
            notMeasured: "none",
            cliSpend: { cpuSeconds: 0, calls: 0, cpuTarget: 0, peakRssMb: 0, held: { calls: 0, seconds: 0 }, pricedByMedian: {} },
            cliCostSource: "test",
            exits: {},
            calls: {},
            requests: [
                row("aws", "210000000001/us-east-1", 5, 0),
                row("aws", "123456789012/us-east-1", 7, 3),
                row("aws", "123456789012/us-east-1", 1, 1),
            ],
            requestsPerVm: {},
            verdicts: [],
        } as unknown as EngineBenchResult;
        const text = renderEngine(result);
        assert.match(
            text,
            /\n {2}placement: 3 scopes per cloud \(AWS accounts, Azure subscriptions, GCP projects; VM k of a cloud in scope k mod 3\)\n/,
        );
        assert.match(text, /API requests per scope \(.*\): aws 123456789012\/us-east-1 8 \(4\), aws 210000000001\/us-east-1 5 \(0\)\n/);
    });
});
