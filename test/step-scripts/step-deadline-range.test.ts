import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { awsBuilt } from "../../components/aws/built";
import { azureBuilt } from "../../components/azure/built";
import { gcpBuilt } from "../../components/gcp/built";
import { ConfigSource } from "../../components/core/contract/settings";
import { readSettings } from "../../components/core/settings";
import { stepBudget } from "../../components/core/step-budget";

// Every step's deadline, at the largest settings the stack accepts, is one base.sh takes: a step
// whose STEP_TIMEOUT_SECONDS the script refuses would fail before its first call.

const BASE = fs.readFileSync(path.join(__dirname, "..", "..", "components", "core", "scripts", "base.sh"), "utf8");

function source(values: Record<string, string>): ConfigSource {
    return { get: (key) => values[key], kind: (key) => (values[key] === undefined ? "missing" : "plain") };
}

describe("step deadlines at the largest settings", () => {
    it("base.sh accepts every command step's STEP_TIMEOUT_SECONDS when every time setting is at its maximum", () => {
        const m = /\[\[ \$STEP_TIMEOUT_SECONDS =~ (\^\S+\$) \]\]/.exec(BASE);
        assert.ok(m, "base.sh checks STEP_TIMEOUT_SECONDS with a pattern");
        const accepted = new RegExp(m[1]);
        const largest = readSettings(
            source({
                "bootloop-rescue:inventory": "stacks/dev.yaml",
                "bootloop-rescue:maxReboots": "100",
                "bootloop-rescue:rebootTimeoutMinutes": "1440",
                "bootloop-rescue:bootTimeoutMinutes": "1440",
                "bootloop-rescue:repairTimeoutMinutes": "1440",
            }),
            "Pulumi.test.yaml",
            new Map([["aws", { max: 24 }]]),
        );
        let checked = 0;
        for (const cloud of [awsBuilt, azureBuilt, gcpBuilt]) {
            const w = cloud.stepWaits;
            for (const [step, waits] of Object.entries({
                reboot: w.reboot,
                repair: w.repair,
                swap: w.swap,
                rollback: w.rollback,
                attach: w.attach,
            })) {
                if (!waits) continue;
                const seconds = stepBudget(waits(largest)).stepTimeoutSeconds;
                assert.match(String(seconds), accepted, `${cloud.identity.cloud} ${step}: ${seconds} s`);
                checked++;
            }
        }
        assert.ok(checked >= 12, `every cloud's steps were checked: ${checked}`);
    });
});
