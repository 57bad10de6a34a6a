import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { identities, paths } from "../../components/registry/clouds";
import { loadInventory } from "../../components/core/program";
import { planShards } from "../../components/core/plan/shard";
import { runProjectScript, tempDir } from "../helpers/lab-run";

const noConfig = { get: () => undefined, kind: () => "missing" as const };

const shard = (args: string[], cwd: string) => runProjectScript("shard", args, cwd);
const plan = (args: string[], cwd: string) => runProjectScript("plan", args, cwd);

/** An inventory of `n` AWS VMs in two regions and `m` GCP VMs. */
function fleet(n: number, m: number): string {
    const lines = ["defaults:", "  labels:", "    incident: cs-291", "vms:"];
    for (let i = 0; i < n; i++)
        lines.push(
            `  - cloud: aws`,
            `    region: ${i % 2 ? "eu-west-1" : "us-east-1"}`,
            `    instanceId: i-${(0x10000000 + i).toString(16)}`,
        );
    for (let i = 0; i < m; i++)
        lines.push(`  - cloud: gcp`, `    project: my-project`, `    zone: us-central1-a`, `    instance: web-${i}`);
    return lines.join("\n") + "\n";
}

function vmsOf(text: string) {
    const dir = tempDir({ "inv.yaml": text });
    return loadInventory("inv.yaml", dir, identities, paths, noConfig);
}

describe("sharding a large incident (npm run shard)", () => {
    it("puts the canary alone in the first shard, never mixes groups, and keeps every shard within --max-vms", () => {
        const vms = vmsOf(fleet(9, 5));
        const m = planShards(vms, identities, { name: "prod", maxVms: 3, by: "region", canary: 1 });
        assert.deepEqual(m.shards[0], { name: "prod-00", canary: true, group: "", vms: [vms[0].key] });
        const byKey = new Map(vms.map((v) => [v.key, v]));
        for (const s of m.shards.slice(1)) {
            assert.ok(s.vms.length >= 1 && s.vms.length <= 3, s.name);
            const regions = new Set(s.vms.map((k) => `${byKey.get(k)!.cloud}/${byKey.get(k)!.fields.region ?? "us-central1"}`));
            assert.equal(regions.size, 1, `${s.name} mixes ${[...regions].join(", ")}`);
        }
        assert.deepEqual(m.shards.flatMap((s) => s.vms).sort(), vms.map((v) => v.key).sort(), "every VM in exactly one shard");
        assert.deepEqual(planShards(vms, identities, { name: "prod", maxVms: 3, by: "region", canary: 1 }), m, "deterministic");
    });

    it("a later split keeps every VM in its shard: new VMs fill shards with room or new ones, gone VMs leave", () => {
        const before = vmsOf(fleet(6, 0));
        const first = planShards(before, identities, { name: "prod", maxVms: 2, by: "cloud", canary: 1 });
        const after = vmsOf(fleet(9, 0)).filter((v) => v.key !== before[3].key);
        const second = planShards(after, identities, { name: "prod", maxVms: 2, by: "cloud", canary: 1 }, first);
        for (const s of first.shards) {
            const now = second.shards.find((x) => x.name === s.name);
            for (const k of s.vms.filter((k) => k !== before[3].key)) assert.ok(now?.vms.includes(k), `${k} stays in ${s.name}`);
        }
        assert.ok(!second.shards.some((s) => s.vms.includes(before[3].key)), "a VM no longer listed leaves its shard");
        assert.ok(second.shards.every((s) => s.vms.length <= 2));
        assert.equal(second.shards.flatMap((s) => s.vms).length, after.length);
    });

    it("writes one inventory and one stack file per shard that plan on their own, and a manifest", () => {
        const dir = tempDir({
            "incident.yaml": fleet(7, 3),
            "Pulumi.base.yaml":
                'config:\n  bootloop-rescue:inventory: x.yaml\n  bootloop-rescue:waveSize: "10"\n  bootloop-rescue:bk:\n    secure: v1:abc\n',
        });
        fs.mkdirSync(path.join(dir, "stacks"));
        const out = shard(["--inventory", "incident.yaml", "--max-vms", "4", "--by", "cloud", "--out", dir, "--json"], dir);
        assert.equal(out.status, 0, out.stderr);
        const manifest = JSON.parse(out.stdout);
        assert.deepEqual(
            manifest.shards.map((s: { name: string; vms: string[] }) => [s.name, s.vms.length]),
            [
                ["incident-00", 1],
                ["incident-01", 4],
                ["incident-02", 2],
                ["incident-03", 3],
            ],
        );
        const stack = parse(fs.readFileSync(path.join(dir, "Pulumi.incident-00.yaml"), "utf8")).config;
        assert.equal(stack["bootloop-rescue:inventory"], "stacks/incident-00.yaml");
        assert.equal(stack["bootloop-rescue:canary"], "1");
        const inv = parse(fs.readFileSync(path.join(dir, "stacks", "incident-03.yaml"), "utf8"));
        assert.deepEqual(inv.defaults, { labels: { incident: "cs-291" } }, "defaults travel with every shard");
        assert.equal(inv.vms.length, 3);
        const planned = plan(["--inventory", path.join("stacks", "incident-03.yaml")], dir);
        assert.equal(planned.status, 0, planned.stderr);
        assert.match(planned.stdout, /VMs: 3 \(gcp 3\)/);
        assert.ok(fs.existsSync(path.join(dir, "stacks", "incident.shards.json")));
        // Again, unchanged: same shards, files rewritten in place (they are ours).
        const again = shard(["--inventory", "incident.yaml", "--max-vms", "4", "--by", "cloud", "--out", dir, "--json"], dir);
        assert.equal(again.status, 0, again.stderr);
        assert.deepEqual(JSON.parse(again.stdout).shards, manifest.shards);
    });

    it("never overwrites a stack file it did not write", () => {
        const dir = tempDir({ "incident.yaml": fleet(2, 0), "Pulumi.incident-01.yaml": "config: {}\n" });
        const out = shard(["--inventory", "incident.yaml", "--max-vms", "4", "--out", dir], dir);
        assert.equal(out.status, 1);
        assert.match(out.stderr, /Pulumi\.incident-01\.yaml: exists and was not written by npm run shard/);
        assert.equal(fs.readFileSync(path.join(dir, "Pulumi.incident-01.yaml"), "utf8"), "config: {}\n");
    });

    it("rejects bad arguments before anything is written, naming the argument", () => {
        const dir = tempDir({ "incident.yaml": fleet(2, 0) });
        for (const [args, message] of [
            [["--inventory", "incident.yaml"], /--max-vms is required/],
            [["--inventory", "incident.yaml", "--max-vms", "0"], /--max-vms: "0" must be a whole number from 1 to 100000/],
            [["--inventory", "incident.yaml", "--max-vms", "ten"], /--max-vms: "ten"/],
            [["--inventory", "incident.yaml", "--max-vms", "5", "--by", "zone"], /--by: "zone" must be one of cloud, region, account/],
            [["--inventory", "incident.yaml", "--max-vms", "5", "--canary", "9"], /--canary: "9" must be a whole number from 0 to 5/],
            [["--inventory", "incident.yaml", "--max-vms", "5", "--name", "a b"], /--name: "a b" is not a stack name/],
            [["--max-vms", "5", "--shards"], /unknown argument "--shards"/],
        ] as [string[], RegExp][]) {
            const out = shard([...args, "--out", dir], dir);
            assert.equal(out.status, 2, args.join(" "));
            assert.match(out.stderr, message);
            assert.match(out.stderr, /usage: npm run shard/);
        }
        assert.deepEqual(fs.readdirSync(dir), ["incident.yaml"], "nothing written");
    });

    it("an invalid inventory reports the same problems as npm run plan, and nothing is written", () => {
        const dir = tempDir({
            "bad.yaml": "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: 'i-1; reboot'\n  - cloud: gcp\n    project: p\n",
        });
        const out = shard(["--inventory", "bad.yaml", "--max-vms", "5", "--out", dir], dir);
        const planned = plan(["--inventory", "bad.yaml"], dir);
        assert.equal(out.status, 1);
        assert.equal(planned.status, 1);
        assert.equal(out.stderr, planned.stderr);
        assert.match(out.stderr, /bad\.yaml: vms\[0\] \(line 4\): instanceId: "i-1; reboot" is not valid/);
        assert.deepEqual(fs.readdirSync(dir), ["bad.yaml"]);
    });
});
