// Shards that share a cloud scope split its request budget (issue #29 item 3): `npm run shard`
// writes each shard's rateShare, keeps it across re-splits, and with --scopes-apart refuses a split
// that would put one scope in shards that run at once.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PassThrough } from "stream";
import { parse } from "yaml";
import { identities, paths } from "../../components/registry/clouds";
import { cloudWatches } from "../../components/registry/watchers";
import { InputError } from "../../components/core/contract/problems";
import { parseRateShare } from "../../components/core/rate-share";
import { runShardCommand, ShardCommandArgs } from "../../components/tools/offline/shard-command";
import { RateScopeOf, SharedManifest } from "../../components/tools/offline/shard-share";
import { runProjectScript, tempDir } from "../helpers/lab-run";

const rateScopeOf: RateScopeOf = (cloud) => (cloudWatches.find((c) => c.cloud === cloud)?.regionalLimits ? "region" : "scope");

type Vm = { cloud: "aws" | "azure" | "gcp"; n: number; region?: string; account?: string; subscription?: string };

/** An inventory: AWS instances (one account and region unless said), Azure VMs of one subscription, GCP instances of one project. */
function inventory(vms: Vm[]): string {
    const lines = ["vms:"];
    for (const v of vms) {
        if (v.cloud === "aws")
            lines.push(
                "  - cloud: aws",
                `    region: ${v.region ?? "us-east-1"}`,
                ...(v.account ? [`    accountId: "${v.account}"`] : []),
                `    instanceId: i-${(0x10000000 + v.n).toString(16)}`,
            );
        else if (v.cloud === "azure")
            lines.push(
                "  - cloud: azure",
                `    subscriptionId: ${v.subscription ?? "11111111-2222-3333-4444-555555555555"}`,
                "    resourceGroup: rg-app",
                `    vmName: app-${v.n}`,
                `    location: ${v.region ?? "eastus2"}`,
            );
        else
            lines.push("  - cloud: gcp", "    project: my-project", `    zone: ${v.region ?? "us-central1"}-a`, `    instance: web-${v.n}`);
    }
    return lines.join("\n") + "\n";
}

const many = (cloud: Vm["cloud"], count: number, from = 0, extra: Partial<Vm> = {}): Vm[] =>
    Array.from({ length: count }, (_, i) => ({ cloud, n: from + i, ...extra }));

/** Runs `npm run shard` in this process on `dir`; the manifest it printed (--json), or the InputError it threw. */
function shard(dir: string, args: Partial<ShardCommandArgs>): SharedManifest & { threw?: InputError } {
    const { text, threw } = shardText(dir, { json: true, ...args });
    return threw ? { name: "", by: "cloud", maxVms: 0, shards: [], threw } : (JSON.parse(text) as SharedManifest);
}

/** Runs `npm run shard` in this process on `dir`: what it printed, or the InputError it threw. */
function shardText(dir: string, args: Partial<ShardCommandArgs>): { text: string; threw?: InputError } {
    const stdout = new PassThrough();
    let text = "";
    stdout.on("data", (d: Buffer) => (text += d.toString()));
    try {
        runShardCommand(
            { inventory: "incident.yaml", maxVms: "500", canary: "0", by: "cloud", json: false, ...args },
            { cwd: dir, projectDir: dir, stackDir: dir, env: {}, stdin: new PassThrough(), stdout, stderr: new PassThrough() },
            { identities, paths, rateScopeOf },
        );
    } catch (err) {
        if (err instanceof InputError) return { text, threw: err };
        throw err;
    }
    return { text };
}

const stackOf = (dir: string, name: string) =>
    (parse(fs.readFileSync(path.join(dir, `Pulumi.${name}.yaml`), "utf8")) as { config: Record<string, string> }).config;

describe("shards that share a scope split its request budget (npm run shard)", () => {
    it("5,000 VMs in one scope per cloud as 10 shards of 500 each: every shard 1/10, and 10 × 1/10 ≤ 1 in every scope", function () {
        this.timeout(300_000);
        const dir = tempDir({ "incident.yaml": inventory([...many("aws", 5000), ...many("azure", 5000), ...many("gcp", 5000)]) });
        const m = shard(dir, {});
        assert.equal(m.threw, undefined, m.threw?.message);
        assert.equal(m.shards.length, 30);
        const scopeOfShard = new Map<string, string>();
        for (const s of m.shards) {
            assert.equal(s.vms.length, 500, s.name);
            assert.equal(s.rateShare, "1/10", s.name);
            assert.equal(stackOf(dir, s.name)["bootloop-rescue:rateShare"], "1/10", `Pulumi.${s.name}.yaml`);
            scopeOfShard.set(s.name, s.group);
        }
        // The arithmetic: per scope, the sum of the shares of the shards that spend it.
        const sum = new Map<string, number>();
        for (const s of m.shards) sum.set(s.group, (sum.get(s.group) ?? 0) + parseRateShare(s.rateShare!)!);
        assert.deepEqual([...sum.keys()].sort(), ["aws", "azure", "gcp"]);
        for (const [scope, total] of sum) assert.ok(Math.abs(total - 1) < 1e-9 && total <= 1 + 1e-12, `${scope}: 10 × 1/10 = ${total}`);
    });

    it("each shard's share is 1 / the most shards on any scope it touches; AWS scopes are an account and region, Azure's a subscription", () => {
        const dir = tempDir({
            "incident.yaml": inventory([
                ...many("aws", 4, 0, { region: "us-east-1" }),
                ...many("aws", 2, 100, { region: "eu-west-1" }),
                ...many("azure", 2, 0, { region: "eastus2" }),
                ...many("azure", 2, 10, { region: "westeurope" }),
                ...many("gcp", 2),
            ]),
        });
        const m = shard(dir, { maxVms: "2", by: "region" });
        const share = Object.fromEntries(
            m.shards.map((s) => [s.group, [...m.shards.filter((x) => x.group === s.group).map((x) => x.rateShare ?? "1")]]),
        );
        assert.deepEqual(share["aws/us-east-1"], ["1/2", "1/2"], "us-east-1: two shards of one account and region");
        assert.deepEqual(share["aws/eu-west-1"], ["1"], "eu-west-1 is a scope of its own: its shard keeps the whole budget");
        assert.deepEqual(share["azure/eastus2"], ["1/2"], "two regions, one subscription: one budget for both shards");
        assert.deepEqual(share["azure/westeurope"], ["1/2"]);
        assert.deepEqual(share["gcp/us-central1"], ["1"]);
        assert.equal(stackOf(dir, m.shards.find((s) => s.group === "aws/eu-west-1")!.name)["bootloop-rescue:rateShare"], undefined);
    });

    it("the canary shard runs alone, first: it keeps the base share and is not counted among the others; a base share is split", () => {
        const dir = tempDir({
            "incident.yaml": inventory(many("aws", 7)),
            "Pulumi.prod.yaml": 'config:\n  bootloop-rescue:inventory: x.yaml\n  bootloop-rescue:rateShare: "1/2"\n',
        });
        const m = shard(dir, { maxVms: "2", canary: "1", stack: "prod" });
        assert.deepEqual(
            m.shards.map((s) => [s.name, s.canary, s.rateShare]),
            [
                ["incident-00", true, "1/2"],
                ["incident-01", false, "1/6"],
                ["incident-02", false, "1/6"],
                ["incident-03", false, "1/6"],
            ],
        );
        assert.equal(stackOf(dir, "incident-02")["bootloop-rescue:rateShare"], "1/6");
        const bad = tempDir({
            "incident.yaml": inventory(many("aws", 2)),
            "Pulumi.prod.yaml": 'config:\n  bootloop-rescue:rateShare: "half"\n',
        });
        assert.match(shard(bad, { stack: "prod" }).threw!.message, /Pulumi\.prod\.yaml: bootloop-rescue:rateShare: "half" is not a share/);
    });

    it("a re-split never gives a shard more than it had: a grown scope lowers every share, a shrunken one keeps them", () => {
        const dir = tempDir({ "incident.yaml": inventory(many("aws", 6)) });
        assert.deepEqual(
            shard(dir, { maxVms: "2" }).shards.map((s) => s.rateShare),
            ["1/3", "1/3", "1/3"],
        );
        fs.writeFileSync(path.join(dir, "incident.yaml"), inventory(many("aws", 8)));
        const grown = shard(dir, { maxVms: "2" });
        assert.deepEqual(
            grown.shards.map((s) => [s.name, s.rateShare]),
            [
                ["incident-00", "1/4"],
                ["incident-01", "1/4"],
                ["incident-02", "1/4"],
                ["incident-03", "1/4"],
            ],
        );
        fs.writeFileSync(path.join(dir, "incident.yaml"), inventory(many("aws", 4)));
        const shrunk = shard(dir, { maxVms: "2" });
        assert.deepEqual(
            shrunk.shards.map((s) => [s.name, s.rateShare]),
            [
                ["incident-00", "1/4"],
                ["incident-01", "1/4"],
            ],
            "two shards left, each keeps 1/4: the manifest is what the shards that ran were given",
        );
        assert.equal(stackOf(dir, "incident-01")["bootloop-rescue:rateShare"], "1/4");
    });

    it("--scopes-apart refuses a split that puts one scope in shards that run at once, says what to do, and writes nothing", () => {
        const dir = tempDir({
            "incident.yaml": inventory([
                ...many("aws", 3, 0, { account: "111111111111" }),
                ...many("aws", 1, 10, { account: "222222222222" }),
            ]),
        });
        const refused = shard(dir, { maxVms: "2", by: "account", scopesApart: true });
        assert.ok(refused.threw);
        assert.deepEqual(
            refused.threw.problems.map((p) => `${p.file}: ${p.message}`),
            [
                "incident.yaml: --scopes-apart: scope aws/111111111111/us-east-1 has 3 VMs in 2 shards (incident-00, incident-01) that would run at once and share its request budget; give --max-vms room for all of them in one shard, or leave out --scopes-apart and let the shards split the budget (rateShare 1/2 each)",
            ],
        );
        assert.deepEqual(fs.readdirSync(dir), ["incident.yaml"], "nothing written");
        const apart = shard(dir, { maxVms: "3", by: "account", scopesApart: true });
        assert.equal(apart.threw, undefined);
        assert.deepEqual(
            apart.shards.map((s) => s.rateShare),
            [undefined, undefined],
            "each scope one shard's: the whole budget",
        );
    });

    it("says which scopes the shards share; the command line takes --scopes-apart", function () {
        this.timeout(120_000);
        const dir = tempDir({ "incident.yaml": inventory(many("aws", 4)) });
        const { text } = shardText(dir, { maxVms: "2" });
        assert.match(text, /incident-00 +2 VMs {2}aws {2}rateShare 1\/2/);
        assert.match(
            text,
            /1 scope is shared by shards that run at once; each such shard spends its rateShare of their request budgets:\n {2}aws\/default\/us-east-1: 2 shards/,
        );
        const refused = runProjectScript(
            "shard",
            ["--inventory", "incident.yaml", "--max-vms", "2", "--canary", "0", "--scopes-apart", "--out", dir],
            dir,
        );
        assert.equal(refused.status, 1, refused.stderr);
        assert.match(refused.stderr, /--scopes-apart: scope aws\/default\/us-east-1 has 4 VMs in 2 shards/);
    });
});
