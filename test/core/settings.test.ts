import { strict as assert } from "assert";
import { InputError, formatProblem } from "../../components/core/contract/problems";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { configSourceOf, readStackConfig } from "../../components/tools/offline/stack-config";
import * as pulumi from "@pulumi/pulumi";
import { paths } from "../../components/registry/clouds";
import { didYouMean } from "../../components/core/contract/nearest";
import { CONFIG_KEYS, defaultMaxInFlight, isKnownConfigKey, knownConfigKeys, readSettings } from "../../components/core/settings";
import { ConfigSource, LINUX_RULE_SETS, RULE_SETS, ruleSetFor } from "../../components/core/contract/settings";
import { runProjectScript, tempDir } from "../helpers/lab-run";

const clouds = new Map([
    ["aws", { max: 24 }],
    ["gcp", { max: 60 }],
]);

function source(values: Record<string, string>): ConfigSource {
    const full = Object.fromEntries(Object.entries(values).map(([k, v]) => [`bootloop-rescue:${k}`, v]));
    return { get: (k) => full[k], kind: (k) => (full[k] === undefined ? "missing" : "plain") };
}

function fails(values: Record<string, string>): string[] {
    try {
        readSettings(source(values), "Pulumi.test.yaml", clouds);
    } catch (err) {
        assert.ok(err instanceof InputError);
        for (const p of err.problems) assert.equal(p.file, "Pulumi.test.yaml");
        return err.problems.map((p) => `${p.field}: ${p.message}`);
    }
    assert.fail("expected settings to be rejected");
}

describe("stack settings", () => {
    it("defaults: canary of 1, every later VM in wave 1, no teardown, 15 restarts, the 04:09 UTC cutoff, no data loss accepted, no rollback", () => {
        const s = readSettings(source({ inventory: "stacks/dev.yaml" }), "Pulumi.test.yaml", clouds);
        assert.deepEqual(s, {
            inventory: "stacks/dev.yaml",
            canary: { count: 1 },
            waveSize: undefined,
            disksPerRescue: {},
            failureBudget: { percent: 5 },
            teardown: false,
            bootTimeoutMinutes: 20,
            repairTimeoutMinutes: 30,
            maxReboots: 15,
            rebootTimeoutMinutes: 5,
            restoreBefore: "2024-07-19T04:09:00Z",
            acceptDataLoss: false,
            rollback: [],
            maxInFlight: defaultMaxInFlight(),
            maxInFlightFrom: "runner",
            ruleSet: "crowdstrike-291",
            linuxRuleSet: "falcon-linux-2024",
            rateShare: 1,
        });
    });

    it("ruleSet: one of the engine's built-in rule sets (the same list repair-disk offers), or a problem naming the key", () => {
        assert.equal(
            readSettings(source({ inventory: "x.yaml", ruleSet: "crowdstrike-291-txr" }), "P", clouds).ruleSet,
            "crowdstrike-291-txr",
        );
        const found = fails({ inventory: "x.yaml", ruleSet: "my-own" });
        assert.deepEqual(found, [
            'bootloop-rescue:ruleSet: "my-own" is not a built-in rule set; expected crowdstrike-291 or crowdstrike-291-txr',
        ]);
        const help = spawnSync("python3", [path.join(__dirname, "../../rescue/repair-disk"), "--help"], { encoding: "utf8" }).stdout;
        assert.match(help.replace(/\s+/g, " "), new RegExp(`--rule-set \\{${[...RULE_SETS, ...LINUX_RULE_SETS].sort().join(",")}\\}`));
    });

    it("linuxRuleSet: the engine's rule set for Linux guests (falcon-linux-2024 by default), never a Windows one", () => {
        assert.equal(readSettings(source({ inventory: "x.yaml" }), "P", clouds).linuxRuleSet, "falcon-linux-2024");
        assert.equal(
            readSettings(source({ inventory: "x.yaml", linuxRuleSet: " falcon-linux-2024 " }), "P", clouds).linuxRuleSet,
            "falcon-linux-2024",
        );
        assert.deepEqual(fails({ inventory: "x.yaml", linuxRuleSet: "crowdstrike-291" }), [
            'bootloop-rescue:linuxRuleSet: "crowdstrike-291" is not a built-in rule set for Linux guests; expected falcon-linux-2024',
        ]);
        const settings = readSettings(source({ inventory: "x.yaml", ruleSet: "crowdstrike-291-txr" }), "P", clouds);
        assert.equal(ruleSetFor(settings, {}), "crowdstrike-291-txr");
        assert.equal(ruleSetFor(settings, { os: "linux" }), "falcon-linux-2024");
    });

    it("maxInFlight: 500 chains per core of the runner by default, at most 2000; a configured count wins", () => {
        assert.equal(defaultMaxInFlight(1), 500);
        assert.equal(defaultMaxInFlight(2), 1000);
        assert.equal(defaultMaxInFlight(64), 2000);
        const s = readSettings(source({ inventory: "x.yaml", maxInFlight: "50" }), "P", clouds);
        assert.equal(s.maxInFlight, 50);
        assert.equal(s.maxInFlightFrom, "config");
    });

    it("rejects a bad maxInFlight before anything is declared, naming the key", () => {
        for (const bad of ["0", "-3", "lots", "200000", "2.5"]) {
            const found = fails({ inventory: "x.yaml", maxInFlight: bad });
            assert.equal(found.length, 1, bad);
            assert.match(found[0], /^bootloop-rescue:maxInFlight: ".*" must be a whole number of VM chains from 1 to 100000$/);
        }
    });

    it("reads the remedies' settings: restarts, cutoff, data-loss acknowledgement, rollback as all or a list", () => {
        const s = readSettings(
            source({
                inventory: "x.yaml",
                maxReboots: "3",
                rebootTimeoutMinutes: "2",
                restoreBefore: "2024-07-19T04:00Z",
                acceptDataLoss: "true",
                rollback: '["aws us-east-1/i-1", "b"]',
            }),
            "P",
            clouds,
        );
        assert.equal(s.maxReboots, 3);
        assert.equal(s.rebootTimeoutMinutes, 2);
        assert.equal(s.restoreBefore, "2024-07-19T04:00:00Z");
        assert.equal(s.acceptDataLoss, true);
        assert.deepEqual(s.rollback, ["aws us-east-1/i-1", "b"]);
        assert.equal(readSettings(source({ inventory: "x.yaml", rollback: "all" }), "P", clouds).rollback, "all");
        assert.deepEqual(readSettings(source({ inventory: "x.yaml", rollback: "a, b" }), "P", clouds).rollback, ["a", "b"]);
    });

    it("rejects bad remedy settings, naming the key", () => {
        const found = fails({
            inventory: "x.yaml",
            maxReboots: "0",
            restoreBefore: "2024-07-19 04:09",
            acceptDataLoss: "yes",
            rollback: "[1, 2]",
        });
        assert.equal(found.length, 4);
        assert.ok(found.some((f) => /^bootloop-rescue:maxReboots: "0" must be a whole number of restarts from 1 to 100/.test(f)));
        assert.ok(found.some((f) => /^bootloop-rescue:restoreBefore: "2024-07-19 04:09" is not a UTC instant/.test(f)));
        assert.ok(found.some((f) => /^bootloop-rescue:acceptDataLoss: "yes" must be true or false/.test(f)));
        assert.ok(found.some((f) => /^bootloop-rescue:rollback: "\[1, 2\]" is not "all" or a list of VM names/.test(f)));
        assert.match(fails({ inventory: "x.yaml", restoreBefore: "2024-02-30T00:00:00Z" })[0], /not a UTC instant/);
    });

    it("reads counts, percentages, per-cloud disk limits and teardown", () => {
        const s = readSettings(
            source({ inventory: "stacks/a.csv", canary: "5%", waveSize: "100", disksPerRescue: '{"aws":20,"gcp":"16"}', teardown: "true" }),
            "P",
            clouds,
        );
        assert.deepEqual(s.canary, { percent: 5 });
        assert.equal(s.waveSize, 100);
        assert.deepEqual(s.disksPerRescue, { aws: 20, gcp: 16 });
        assert.equal(s.teardown, true);
        assert.deepEqual(readSettings(source({ inventory: "x.yaml", disksPerRescue: "8" }), "P", clouds).disksPerRescue, { "*": 8 });
    });

    it("reads the failure budget as a count or a percentage of the wave, and refuses anything else naming the key", () => {
        const budget = (text: string) => readSettings(source({ inventory: "x.yaml", failureBudget: text }), "P", clouds).failureBudget;
        assert.deepEqual(budget("0"), { count: 0 });
        assert.deepEqual(budget("3"), { count: 3 });
        assert.deepEqual(budget("2.5%"), { percent: 2.5 });
        for (const bad of ["-1", "lots", "101%", "5 %x"])
            assert.match(
                fails({ inventory: "x.yaml", failureBudget: bad })[0],
                /^bootloop-rescue:failureBudget: .* is not a VM count or a percentage of the wave/,
            );
    });

    it("requires the inventory and keeps it inside the project (machine-independent)", () => {
        assert.match(fails({})[0], /^bootloop-rescue:inventory: missing/);
        assert.match(fails({ inventory: "/home/me/inv.yaml" })[0], /inside the project folder/);
        assert.match(fails({ inventory: "../other/inv.yaml" })[0], /inside the project folder/);
    });

    /** A stack's config as Pulumi hands it over: every key listed, secrets marked. */
    function stack(values: Record<string, string>, secrets: string[] = []): ConfigSource {
        const full = Object.fromEntries(Object.entries(values).map(([k, v]) => [k.includes(":") ? k : `bootloop-rescue:${k}`, v]));
        return {
            get: (k) => full[k],
            kind: (k) => (full[k] === undefined ? "missing" : secrets.includes(k) ? "secret" : "plain"),
            keys: () => Object.keys(full),
        };
    }
    function problemsOf(config: ConfigSource): string[] {
        try {
            readSettings(config, "Pulumi.prod.yaml", clouds);
        } catch (err) {
            assert.ok(err instanceof InputError);
            return err.problems.map(formatProblem);
        }
        return [];
    }

    it("refuses a misspelt setting, naming the stack file and key and the setting meant, instead of ignoring it (wavesize would put every VM in one wave)", () => {
        assert.deepEqual(problemsOf(stack({ inventory: "x.yaml", wavesize: "2" })), [
            "Pulumi.prod.yaml: bootloop-rescue:wavesize: is not a setting of this project: did you mean waveSize? Nothing is declared until it is fixed or removed, as a misspelt setting would be ignored and its default used",
        ]);
        assert.match(problemsOf(stack({ inventory: "x.yaml", canery: "5%" }))[0], /bootloop-rescue:canery: .*did you mean canary\?/);
        assert.match(
            problemsOf(stack({ inventory: "x.yaml", tearDwon: "true" }))[0],
            /bootloop-rescue:tearDwon: .*did you mean teardown\?/,
        );
        assert.match(
            problemsOf(stack({ inventory: "x.yaml", awsRescueInstanceTyp: "m6i.large" }))[0],
            /did you mean awsRescueInstanceType\?/,
            "a cloud's key is suggested too",
        );
        assert.match(
            problemsOf(stack({ inventory: "x.yaml", colour: "blue" }))[0],
            /bootloop-rescue:colour: is not a setting of this project \(the settings are listed in docs\/reference\.md, "Stack config keys"\)/,
        );
        // Reported with the other problems, so one run shows them all.
        assert.equal(problemsOf(stack({ inventory: "x.yaml", wavesize: "2", teardown: "yes" })).length, 2);
    });

    it("knows every cloud's keys and the keys import-keys writes; leaves other namespaces and BitLocker secrets alone", () => {
        const every = Object.fromEntries(knownConfigKeys().map((k) => [k, "x"]));
        const found = problemsOf(stack(every));
        assert.ok(
            found.every((f) => !/is not a setting/.test(f)),
            found.join("\n"),
        );
        for (const p of paths)
            for (const key of Object.keys(p.configKeys)) assert.ok(knownConfigKeys().includes(key), `${p.identity.cloud}: ${key}`);
        assert.deepEqual(
            problemsOf(
                stack(
                    {
                        inventory: "x.yaml",
                        "bitlocker-app-01-1a2b3c4d": "k",
                        "bitlockerSecret-web-1-1a2b3c4d": "arn",
                        "app01-key": "k",
                        "aws:region": "us-east-1",
                        "gcp:project": "p",
                    },
                    ["bootloop-rescue:bitlocker-app-01-1a2b3c4d", "bootloop-rescue:app01-key"],
                ),
            ),
            [],
        );
        assert.match(
            problemsOf(stack({ inventory: "x.yaml", "app01-key": "k" }))[0],
            /bootloop-rescue:app01-key: is not a setting/,
            "a plain key is no BitLocker key",
        );
        assert.match(
            problemsOf(stack({ inventory: "x.yaml", waveSise: "2" }, ["bootloop-rescue:waveSise"]))[0],
            /did you mean waveSize\?/,
            "a secret close to a setting",
        );
    });

    it("every key the code reads is a known one: core's settings and every cloud's own", () => {
        const read = new Set<string>();
        const recording: ConfigSource = { get: (k) => void read.add(k), kind: (k) => (read.add(k), "missing"), keys: () => [] };
        try {
            readSettings(recording, "P", clouds);
        } catch {
            /* the inventory is missing: what matters is what was read */
        }
        for (const p of paths) p.configure(recording, "P");
        const ours = [...read].filter((k) => k.startsWith("bootloop-rescue:"));
        assert.ok(ours.length >= Object.keys(CONFIG_KEYS).length);
        for (const key of ours) assert.ok(isKnownConfigKey(key), `${key} is read but not known`);
    });

    it("without a key list, reads the stack's keys from the Pulumi runtime (as the program and the offline plan set them)", () => {
        try {
            pulumi.runtime.setAllConfig({
                "bootloop-rescue:inventory": "x.yaml",
                "bootloop-rescue:wavesize": "2",
                "bootloop-rescue:elsewhere": "1",
            });
            const config = stack({ inventory: "x.yaml", wavesize: "2" });
            const problems = problemsOf({ get: (key) => config.get(key), kind: (key) => config.kind(key) });
            assert.deepEqual(
                problems.map((p) => p.split(": ")[1]),
                ["bootloop-rescue:wavesize"],
                "keys this source does not have are not its own",
            );
        } finally {
            pulumi.runtime.setAllConfig({});
        }
    });

    it("npm run plan stops on a misspelt setting with the stack file and key, and plans nothing", function () {
        this.timeout(600_000);
        const dir = tempDir({
            "Pulumi.yaml": "name: bootloop-rescue\nruntime: nodejs\n",
            "Pulumi.typo.yaml": 'config:\n  bootloop-rescue:inventory: inv.yaml\n  bootloop-rescue:wavesize: "2"\n',
            "inv.yaml":
                "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef0\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef1\n",
        });
        const r = runProjectScript("plan", ["--stack", "typo"], dir, { BOOTLOOP_STACK_DIR: dir });
        assert.notEqual(r.status, 0, r.stdout);
        assert.match(r.stderr, /Pulumi\.typo\.yaml: bootloop-rescue:wavesize: is not a setting of this project: did you mean waveSize\?/);
        assert.doesNotMatch(r.stdout, /wave 1/);
    });

    it("the project's own stacks set only known keys", () => {
        const root = path.join(__dirname, "../..");
        const files = fs.readdirSync(root).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
        assert.ok(files.length > 0);
        for (const file of files) {
            const read = readStackConfig(root, file.slice("Pulumi.".length, -".yaml".length));
            const config = { ...configSourceOf(read), keys: () => Object.keys(read.values) };
            assert.ok(config.keys().length > 1, file);
            assert.deepEqual(
                problemsOf(config).filter((p) => /is not a setting/.test(p)),
                [],
                file,
            );
            assert.match(
                problemsOf({ ...config, keys: () => [...config.keys(), "bootloop-rescue:wavesize"] }).join("\n"),
                /wavesize: is not a setting/,
                "the check runs on this stack",
            );
        }
    });

    it("suggests only close names", () => {
        assert.equal(didYouMean("wavesize", ["waveSize", "canary"]), " (did you mean waveSize?)");
        assert.equal(didYouMean("waveSzie", ["waveSize"]), " (did you mean waveSize?)");
        assert.equal(didYouMean("x", ["canary"]), "");
        assert.equal(didYouMean("blastRadius", ["waveSize", "canary"]), "");
    });

    it("reports every bad value together, naming the key", () => {
        const found = fails({
            inventory: "x.yaml",
            canary: "lots",
            waveSize: "0",
            disksPerRescue: '{"aws":99,"oracle":1}',
            teardown: "yes",
        });
        assert.equal(found.length, 5);
        assert.ok(found.some((f) => /^bootloop-rescue:canary: "lots"/.test(f)));
        assert.ok(found.some((f) => /^bootloop-rescue:waveSize: "0" is not a positive/.test(f)));
        assert.ok(found.some((f) => /^bootloop-rescue:disksPerRescue: 99 for aws must be a whole number from 1 to 24/.test(f)));
        assert.ok(found.some((f) => /unknown cloud "oracle"/.test(f)));
        assert.ok(found.some((f) => /^bootloop-rescue:teardown: "yes" must be true or false/.test(f)));
    });
});
