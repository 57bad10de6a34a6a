// The stack's share of each scope's request budget (`rateShare`, issue #29 item 3): how it is
// written and refused, and how it reaches every command of the stack and the scripts run outside one.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { InputError, formatProblem } from "../../components/core/contract/problems";
import { ConfigSource } from "../../components/core/contract/settings";
import { CONFIG_KEYS, readSettings } from "../../components/core/settings";
import {
    describeRateShare,
    parseRateShare,
    rateShareText,
    setStackScriptEnvironment,
    stackScriptEnvironment,
} from "../../components/core/rate-share";
import { runCloudScript } from "../../components/gate/secret-lookup";
import { planInventory } from "../helpers/lab-run";

const clouds = new Map([["aws", { max: 24 }]]);

function stack(values: Record<string, string>): ConfigSource {
    const full = Object.fromEntries(Object.entries(values).map(([k, v]) => [`bootloop-rescue:${k}`, v]));
    return { get: (k) => full[k], kind: (k) => (full[k] === undefined ? "missing" : "plain"), keys: () => Object.keys(full) };
}

function problemsOf(values: Record<string, string>): string[] {
    try {
        readSettings(stack(values), "Pulumi.shard-03.yaml", clouds);
    } catch (err) {
        assert.ok(err instanceof InputError);
        return err.problems.map(formatProblem);
    }
    return [];
}

describe("rateShare: the stack's share of each scope's request budget", () => {
    it("reads a decimal or a fraction from 0 (excluded) to 1; 1 when unset", () => {
        const share = (text?: string) =>
            readSettings(stack({ inventory: "x.yaml", ...(text === undefined ? {} : { rateShare: text }) }), "P", clouds).rateShare;
        assert.equal(share(), 1);
        assert.equal(share("0.25"), 0.25);
        assert.equal(share("1/4"), 0.25);
        assert.equal(share(" 1 / 10 "), 0.1);
        assert.equal(share("1"), 1);
        assert.equal(share(".5"), 0.5);
        assert.equal(share("3/3"), 1);
        assert.ok(CONFIG_KEYS.rateShare.includes("1/4"), "the reference's text names the fraction form");
    });

    it("refuses anything else with the house's error: the stack file, the key, what is expected", () => {
        for (const bad of ["0", "0/4", "1/0", "1.5", "5/4", "-0.5", "25%", "a quarter", "", "1e-3", "0x1"])
            assert.deepEqual(
                problemsOf({ inventory: "x.yaml", rateShare: bad }),
                [
                    `Pulumi.shard-03.yaml: bootloop-rescue:rateShare: ${JSON.stringify(bad)} is not a share of the scopes' request budgets: a decimal or a fraction greater than 0 and at most 1, e.g. 0.25 or 1/4`,
                ],
                bad,
            );
    });

    it("a misspelt key names the setting meant, instead of leaving the whole budget to the stack", () => {
        assert.match(problemsOf({ inventory: "x.yaml", rateshare: "1/4" })[0], /bootloop-rescue:rateshare: .*did you mean rateShare\?/);
        assert.match(problemsOf({ inventory: "x.yaml", rateShares: "1/4" })[0], /did you mean rateShare\?/);
    });

    it("is written for the environment as the shortest decimal that reads back the same, and shown as a fraction where it is one", () => {
        assert.equal(rateShareText(0.1), "0.1");
        assert.equal(parseRateShare(rateShareText(1 / 3)), 1 / 3);
        assert.equal(describeRateShare(1), "1");
        assert.equal(describeRateShare(0.1), "1/10 (0.1)");
        assert.equal(describeRateShare(0.3), "0.3");
    });

    it("reaches every step command the stack declares, on every cloud, as BOOTLOOP_RATE_SHARE; nothing is added at the default", async function () {
        this.timeout(120_000);
        const inventory = fs.readFileSync(path.join(__dirname, "../../stacks/dev.yaml"), "utf8");
        const shared = await planInventory(inventory, { "bootloop-rescue:rateShare": "1/4", "bootloop-rescue:acceptDataLoss": "true" });
        const commands = shared.ofType("command:local:Command");
        const clouds = new Set(
            commands.map((c) => String((c.inputs.create as string) ?? "").match(/run\.sh (\w+)\//)?.[1]).filter(Boolean),
        );
        assert.deepEqual([...clouds].sort(), ["aws", "azure", "gcp"], "commands of every cloud were declared");
        assert.ok(commands.length >= 10);
        const steps = commands.filter((c) => String(c.inputs.create).includes("components/core/scripts/run.sh"));
        const gates = commands.filter((c) => !steps.includes(c));
        assert.ok(gates.length > 0 && gates.every((g) => /gate\.js/.test(String(g.inputs.create))), "the other commands are wave gates");
        for (const c of steps) assert.equal((c.inputs.environment as Record<string, unknown>).BOOTLOOP_RATE_SHARE, "0.25", c.name);
        // A wave gate calls no cloud: a new share is no reason to check it again.
        for (const g of gates) assert.equal((g.inputs.environment as Record<string, unknown>).BOOTLOOP_RATE_SHARE, undefined, g.name);
        assert.ok(
            steps.some((c) => /-attach$/.test(c.name)),
            "Azure's attach, a command outside core's step settings, has it too",
        );
        // Each step's own environment stays: the share is added, nothing replaced.
        const swaps = commands.filter((c) => /-swap$/.test(c.name));
        assert.ok(swaps.length > 0);
        for (const s of swaps) assert.ok((s.inputs.environment as Record<string, unknown>).STEP_TIMEOUT_SECONDS, s.name);
        assert.deepEqual(stackScriptEnvironment(), { BOOTLOOP_RATE_SHARE: "0.25" }, "the lookups' scripts get it too");

        const whole = await planInventory(inventory, { "bootloop-rescue:acceptDataLoss": "true" });
        for (const c of whole.ofType("command:local:Command"))
            assert.equal((c.inputs.environment as Record<string, unknown>).BOOTLOOP_RATE_SHARE, undefined, c.name);
        assert.deepEqual(stackScriptEnvironment(), {});
    });

    it("scripts the program runs outside a command (secret lookups, key stores) get it in their environment", async () => {
        try {
            setStackScriptEnvironment(0.25);
            assert.equal(await runCloudScript("test", 'printf "%s" "${BOOTLOOP_RATE_SHARE-unset}"', {}), "0.25");
            setStackScriptEnvironment(1);
            assert.equal(await runCloudScript("test", 'printf "%s" "${BOOTLOOP_RATE_SHARE-unset}"', {}), "unset");
        } finally {
            setStackScriptEnvironment(1);
        }
    });
});

describe("the restore-point lookups (an invoke) carry the share", () => {
    it("listRestorePoints hands the command provider the stack's share with the lookup's own environment", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { listRestorePoints } = await import("../../components/core/restore-point");
        const seen: Record<string, string>[] = [];
        await pulumi.runtime.setMocks(
            {
                newResource: (r) => ({ id: `${r.name}-id`, state: r.inputs }),
                call: (c) => {
                    seen.push((c.inputs as { environment: Record<string, string> }).environment);
                    return { stdout: "[]", stderr: "" };
                },
            },
            "bootloop-rescue",
            "test",
            true,
        );
        try {
            setStackScriptEnvironment(0.5);
            await listRestorePoints("aws-restore-points", "true", { REGION: "us-east-1" });
            setStackScriptEnvironment(1);
            await listRestorePoints("aws-restore-points", "true", { REGION: "us-east-1" });
        } finally {
            setStackScriptEnvironment(1);
        }
        assert.deepEqual(seen, [
            { REGION: "us-east-1", BOOTLOOP_RATE_SHARE: "0.5", BOOTLOOP_LOOKUP: "aws-restore-points" },
            { REGION: "us-east-1", BOOTLOOP_LOOKUP: "aws-restore-points" },
        ]);
    });
});

describe("npm run plan shows the share when it is not 1", () => {
    it("one line in the summary and the field in the JSON; nothing at the default", async function () {
        this.timeout(120_000);
        const { renderSummary, planDocument } = await import("../../components/tools/offline/render");
        const { runLab, labInventory } = await import("../helpers/lab-run");
        const inventory = labInventory([{ machine: "m1" }, { machine: "m2" }]);
        const shared = await runLab(inventory, { "bootloop-rescue:rateShare": "1/10" }, { details: false });
        assert.match(
            renderSummary(shared, "Pulumi.test.yaml"),
            /Request budgets: this stack's watcher spends 1\/10 \(0\.1\) of each cloud scope's published limits \(rateShare\)/,
        );
        assert.equal(planDocument(shared, "Pulumi.test.yaml").rateShare, 0.1);
        const whole = await runLab(inventory, {}, { details: false });
        assert.doesNotMatch(renderSummary(whole, "Pulumi.test.yaml"), /Request budgets/);
        assert.equal(planDocument(whole, "Pulumi.test.yaml").rateShare, 1);
    });
});
