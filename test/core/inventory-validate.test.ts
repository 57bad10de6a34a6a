import { strict as assert } from "assert";
import { identities } from "../../components/registry/clouds";
import { InputError, Problem, formatProblem } from "../../components/core/contract/problems";
import { parseCsvInventory, parseYamlInventory } from "../../components/core/inventory/read";
import { ValidationContext } from "../../components/core/inventory/entry-fields";
import { validateInventory } from "../../components/core/inventory/validate";
import { Strategy } from "../../components/core/contract/remedies";
import { VmEntry } from "../../components/core/contract/vm";

const allBuilt: ValidationContext = {
    configNamespace: "bootloop-rescue",
    identities,
    built: new Map([
        ["aws", { strategies: ["repair", "reboot", "restore"] as Strategy[], bitlocker: { stackConfig: true as const } }],
        ["azure", { strategies: ["repair", "reboot", "restore"] as Strategy[], bitlocker: { stackConfig: true as const } }],
        ["gcp", { strategies: ["repair", "reboot", "restore"] as Strategy[], bitlocker: { stackConfig: true as const } }],
    ]),
    configKind: (key) => (key === "bootloop-rescue:app01-bitlocker" ? "secret" : key === "bootloop-rescue:plain-key" ? "plain" : "missing"),
    configValue: () => undefined,
};

const AWS = "  - cloud: aws\n    region: us-east-1\n    instanceId: i-0123456789abcdef0\n";
const AZURE = "  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg-app\n    vmName: app-01\n";
const GCP = "  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: web-1\n";

function validate(yaml: string, ctx: ValidationContext = allBuilt): VmEntry[] {
    return validateInventory(parseYamlInventory("stacks/bad.yaml", yaml), ctx);
}

function problems(yaml: string, ctx: ValidationContext = allBuilt): Problem[] {
    try {
        validate(yaml, ctx);
    } catch (err) {
        assert.ok(err instanceof InputError);
        return err.problems;
    }
    assert.fail("expected the inventory to be rejected");
}

describe("inventory validation", () => {
    it("accepts the three clouds and fills defaults", () => {
        const vms = validate(
            `defaults:\n  strategy: reboot\n  labels: { incident: cs-291 }\nvms:\n${AWS}${AZURE}${GCP}    labels: { app: web }\n`,
        );
        assert.deepEqual(
            vms.map((v) => v.label),
            ["aws us-east-1/i-0123456789abcdef0", "azure rg-app/app-01", "gcp my-project/us-central1-a/web-1"],
        );
        assert.ok(vms.every((v) => v.strategy === "reboot"));
        assert.deepEqual(vms[2].labels, { incident: "cs-291", app: "web" });
        assert.equal(vms[0].slug.length <= 30, true);
        assert.match(vms[1].slug, /^app-01-[0-9a-f]{8}$/);
    });

    it("reads retry: a count from 0 (the first attempt, as when absent) to 99, given per VM", () => {
        const vms = validate(`vms:\n${AWS}    retry: 2\n${AZURE}    retry: 0\n${GCP}    retry: "1"\n`);
        assert.deepEqual(
            vms.map((v) => v.retry),
            [2, undefined, 1],
        );
    });

    it("reads os: linux per entry or from defaults, carrying it only for Linux (Windows when absent)", () => {
        const vms = validate(`defaults:\n  os: linux\nvms:\n${AWS}${AZURE}    os: windows\n${GCP}`);
        assert.deepEqual(
            vms.map((v) => v.os),
            ["linux", undefined, "linux"],
        );
        assert.ok(!("os" in vms[1]), "a Windows entry carries no os field");
        assert.equal(validate(`vms:\n${AWS}`)[0].os, undefined);
    });

    it("refuses a BitLocker key on a Linux entry, the stack-config key and the cloud's secret field alike", () => {
        const found = problems(`vms:\n${AZURE}    os: linux\n    bitlockerKey: app01-bitlocker\n`);
        assert.deepEqual(
            found.map((p) => p.field),
            ["bitlockerKey"],
        );
        assert.match(found[0].message, /BitLocker key, and this entry is os: linux/);
        const secretField: ValidationContext = {
            ...allBuilt,
            built: new Map([
                ["gcp", { strategies: ["repair"] as Strategy[], bitlocker: { stackConfig: "no", secretField: "bitlockerSecret" } }],
            ]),
        };
        const gcp = problems(`vms:\n${GCP}    os: linux\n    bitlockerSecret: projects/my-project/secrets/web-keys\n`, secretField);
        assert.deepEqual(
            gcp.map((p) => [p.field, p.vm]),
            [["bitlockerSecret", "gcp my-project/us-central1-a/web-1"]],
        );
        // The same key on a Windows entry is fine.
        assert.equal(validate(`vms:\n${AZURE}    bitlockerKey: app01-bitlocker\n`)[0].bitlockerKey, "bootloop-rescue:app01-bitlocker");
    });

    it("never applies keys imported by name to a Linux entry", () => {
        const imported: ValidationContext = {
            ...allBuilt,
            configKind: (key) => (key.startsWith("bootloop-rescue:bitlocker-") ? "secret" : "missing"),
        };
        const [windows, linux] = validate(`vms:\n${AZURE}${AWS}    os: linux\n`, imported);
        assert.match(windows.bitlockerKey ?? "", /^bootloop-rescue:bitlocker-/);
        assert.equal(linux.bitlockerKey, undefined);
    });

    it("accepts CSV entries, Azure zones written as numbers and a secret bitlockerKey", () => {
        const csv = parseCsvInventory(
            "x.csv",
            "cloud,subscriptionId,resourceGroup,vmName,zone,bitlockerKey,wave\nazure,11111111-2222-3333-4444-555555555555,rg,vm1,2,app01-bitlocker,3\n",
        );
        const [vm] = validateInventory(csv, allBuilt);
        assert.equal(vm.fields.zone, "2");
        assert.equal(vm.wave, 3);
        assert.equal(vm.bitlockerKey, "bootloop-rescue:app01-bitlocker");
        const [yamlVm] = validate(`vms:\n${AZURE}    zone: 1\n`);
        assert.equal(yamlVm.fields.zone, "1");
    });

    // One bad inventory per error kind. Each must name the file, the entry (index and line) and the field.
    const cases: { name: string; yaml: string; field: string; message: RegExp; entry?: number }[] = [
        { name: "unknown field", yaml: `vms:\n${AWS}    colour: blue\n`, field: "colour", message: /unknown field/ },
        {
            name: "field of another cloud",
            yaml: `vms:\n${AWS}    vmName: app-01\n`,
            field: "vmName",
            message: /not a field of aws entries \(it belongs to azure\)/,
        },
        {
            name: "missing required field",
            yaml: "vms:\n  - cloud: aws\n    region: us-east-1\n",
            field: "instanceId",
            message: /missing; expected an EC2 instance id/,
        },
        {
            name: "malformed instance id",
            yaml: "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: i-12345\n",
            field: "instanceId",
            message: /"i-12345" is not valid/,
        },
        {
            name: "malformed region",
            yaml: "vms:\n  - cloud: aws\n    region: US-EAST-1\n    instanceId: i-0123456789abcdef0\n",
            field: "region",
            message: /not valid; expected an AWS region/,
        },
        {
            name: "availability zone outside the region",
            yaml: `vms:\n${AWS}    availabilityZone: us-west-2a\n`,
            field: "availabilityZone",
            message: /not in region "us-east-1"/,
        },
        {
            name: "malformed subscription GUID",
            yaml: "vms:\n  - cloud: azure\n    subscriptionId: 1111-2222\n    resourceGroup: rg\n    vmName: vm\n",
            field: "subscriptionId",
            message: /subscription GUID/,
        },
        {
            name: "resource group with forbidden characters",
            yaml: "vms:\n  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg app\n    vmName: vm\n",
            field: "resourceGroup",
            message: /resource group name/,
        },
        {
            name: "VM name ending in a hyphen",
            yaml: "vms:\n  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg\n    vmName: app-\n",
            field: "vmName",
            message: /VM name/,
        },
        {
            name: "GCP instance name in capitals",
            yaml: "vms:\n  - cloud: gcp\n    project: my-project\n    zone: us-central1-a\n    instance: Web-1\n",
            field: "instance",
            message: /instance name/,
        },
        {
            name: "GCP zone malformed",
            yaml: "vms:\n  - cloud: gcp\n    project: my-project\n    zone: us-central1\n    instance: web-1\n",
            field: "zone",
            message: /zone such as/,
        },
        {
            name: "unknown cloud",
            yaml: "vms:\n  - cloud: oracle\n    instance: x\n",
            field: "cloud",
            message: /unknown cloud "oracle"; expected one of aws, azure, gcp/,
        },
        { name: "missing cloud", yaml: "vms:\n  - region: us-east-1\n", field: "cloud", message: /missing; expected one of/ },
        { name: "unknown strategy", yaml: `vms:\n${GCP}    strategy: pray\n`, field: "strategy", message: /"pray" is not a strategy/ },
        {
            name: "restoreFromOtherDisk without restoreFrom",
            yaml: `vms:\n${AWS}    strategy: restore\n    restoreFromOtherDisk: true\n`,
            field: "restoreFromOtherDisk",
            message: /only valid with restoreFrom/,
        },
        {
            name: "restoreFromOtherDisk not a boolean",
            yaml: `vms:\n${AWS}    strategy: restore\n    restoreFrom: snap-0123456789abcdef0\n    restoreFromOtherDisk: maybe\n`,
            field: "restoreFromOtherDisk",
            message: /"maybe" is not valid; expected true or false/,
        },
        {
            name: "restoreFrom without strategy restore",
            yaml: `vms:\n${AWS}    restoreFrom: snap-0123456789abcdef0\n`,
            field: "restoreFrom",
            message: /only valid with strategy "restore"/,
        },
        {
            name: "restoreFrom of the wrong shape",
            yaml: `vms:\n${AWS}    strategy: restore\n    restoreFrom: ami-0123\n`,
            field: "restoreFrom",
            message: /EBS snapshot id/,
        },
        {
            name: "bitlockerKey naming no config key",
            yaml: `vms:\n${AWS}    bitlockerKey: nope\n`,
            field: "bitlockerKey",
            message: /names config key "bootloop-rescue:nope", which this stack does not set/,
        },
        {
            name: "bitlockerKey naming another namespace's secret",
            yaml: `vms:\n${AWS}    bitlockerKey: aws:secretKey\n`,
            field: "bitlockerKey",
            message:
                /names config key "aws:secretKey" of another namespace; BitLocker keys must be keys of this project \(bootloop-rescue:…\)/,
        },
        {
            name: "bitlockerKey naming a plain config key",
            yaml: `vms:\n${AWS}    bitlockerKey: plain-key\n`,
            field: "bitlockerKey",
            message: /is not a secret/,
        },
        {
            name: "bitlockerKey holding a recovery password",
            yaml: `vms:\n${AWS}    bitlockerKey: 111111-222222-333333-444444-555555-666666-777777-888888\n`,
            field: "bitlockerKey",
            message: /never the recovery password itself/,
        },
        { name: "negative wave", yaml: `vms:\n${AWS}    wave: -1\n`, field: "wave", message: /not a wave number/ },
        { name: "fractional wave", yaml: `vms:\n${AWS}    wave: 1.5\n`, field: "wave", message: /not a wave number/ },
        {
            name: "negative retry",
            yaml: `vms:\n${AWS}    retry: -1\n`,
            field: "retry",
            message: /not a retry count; expected an integer from 0 to 99/,
        },
        { name: "retry over 99", yaml: `vms:\n${AWS}    retry: 100\n`, field: "retry", message: /not a retry count/ },
        {
            name: "retry misspelt",
            yaml: `vms:\n${AWS}    retries: 1\n`,
            field: "retries",
            message: /unknown field \(did you mean retry\?\)/,
        },
        { name: "retry as a word", yaml: `vms:\n${AWS}    retry: yes\n`, field: "retry", message: /not a retry count/ },
        {
            name: "retry in defaults",
            yaml: `defaults:\n  retry: 1\nvms:\n${AWS}`,
            field: "defaults.retry",
            message: /cannot be set in defaults/,
        },
        {
            name: "unknown os",
            yaml: `vms:\n${AWS}    os: linx\n`,
            field: "os",
            message: /"linx" is not a guest OS \(did you mean linux\?\); expected one of windows, linux/,
        },
        {
            name: "os not a word",
            yaml: `vms:\n${AWS}    os: [linux]\n`,
            field: "os",
            message: /is not a guest OS; expected one of windows, linux/,
        },
        { name: "os misspelt", yaml: `vms:\n${AWS}    oss: linux\n`, field: "oss", message: /unknown field \(did you mean os\?\)/ },
        {
            name: "unknown os in defaults",
            yaml: `defaults:\n  os: Linux2\nvms:\n${AWS}`,
            field: "os",
            message: /"Linux2" is not a guest OS \(did you mean linux\?\)/,
        },
        { name: "labels not a map", yaml: `vms:\n${AWS}    labels: [a, b]\n`, field: "labels", message: /must be a map/ },
        {
            name: "label value with a newline",
            yaml: `vms:\n${AWS}    labels: { app: "a\\nb" }\n`,
            field: "labels",
            message: /without control characters/,
        },
        {
            name: "shell metacharacters in an instance id",
            yaml: "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: 'i-0123456789abcdef0; rm -rf /'\n",
            field: "instanceId",
            message: /not valid/,
        },
        {
            name: "command substitution in a VM name",
            yaml: "vms:\n  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: rg\n    vmName: $(reboot)\n",
            field: "vmName",
            message: /not valid/,
        },
        {
            name: "newline in a resource group",
            yaml: 'vms:\n  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: "rg\\necho pwned"\n    vmName: vm\n',
            field: "resourceGroup",
            message: /"rg\\necho pwned" is not valid/,
        },
        {
            name: "path traversal in a project",
            yaml: "vms:\n  - cloud: gcp\n    project: ../../etc\n    zone: us-central1-a\n    instance: web-1\n",
            field: "project",
            message: /project id/,
        },
        {
            name: "path traversal in a resource group",
            yaml: "vms:\n  - cloud: azure\n    subscriptionId: 11111111-2222-3333-4444-555555555555\n    resourceGroup: ../rg\n    vmName: vm\n",
            field: "resourceGroup",
            message: /not valid/,
        },
        {
            name: "identity given as a map",
            yaml: "vms:\n  - cloud: aws\n    region: us-east-1\n    instanceId: { id: i-0123456789abcdef0 }\n",
            field: "instanceId",
            message: /not valid/,
        },
        {
            name: "bad defaults field",
            yaml: `defaults:\n  instanceIdx: 1\nvms:\n${AWS}`,
            field: "defaults.instanceIdx",
            message: /cannot be set in defaults/,
        },
    ];
    for (const c of cases) {
        it(`rejects: ${c.name}`, () => {
            const found = problems(c.yaml);
            const p = found.find((x) => x.field === c.field);
            assert.ok(p, `no problem for field ${c.field}; got ${found.map(formatProblem).join(" | ")}`);
            assert.match(p.message, c.message);
            assert.equal(p.file, "stacks/bad.yaml");
            if (!c.field.startsWith("defaults.")) {
                assert.equal(p.entry, c.entry ?? 0);
                assert.ok(p.line !== undefined && p.line >= 2, "line of the entry or field");
            }
            // The rendered message names file, entry and field on one line.
            assert.match(
                formatProblem(p),
                new RegExp(`^stacks/bad\\.yaml(: vms\\[\\d+\\])? \\(line \\d+.*\\): ${c.field.replace(".", "\\.")}: `),
            );
        });
    }

    it("never suggests a recovery password as a command argument: the passwords go on standard input, or through npm run import-keys", () => {
        const messages = [
            ...problems(`vms:\n${AWS}    bitlockerKey: nope\n`),
            ...problems(`vms:\n${AWS}    bitlockerKey: plain-key\n`),
            ...problems(`vms:\n${AWS}    bitlockerKey: 111111-222222-333333-444444-555555-666666-777777-888888\n`),
        ].map((p) => p.message);
        assert.equal(messages.length, 3);
        for (const message of messages) {
            const commands = [...message.matchAll(/`(pulumi config set[^`]*)`/g)].map((m) => m[1]);
            for (const command of commands) {
                // `pulumi config set [--secret] KEY` and nothing after the key but a redirection of standard input.
                assert.match(command, /^pulumi config set --secret \S+( < \S+)?$/, `a value given as an argument in: ${message}`);
            }
            assert.match(message, /standard input|npm run import-keys/, message);
            assert.doesNotMatch(message, /<recovery password>|<key>|<password>/i, message);
        }
    });

    it("a misspelt field is refused with the field meant, in entries and in defaults", () => {
        const found = problems(
            `defaults:\n  stratgy: reboot\nvms:\n${AWS}    bitlockerkey: app01-bitlocker\n  - cloud: aws\n    Region: us-east-1\n    instanceId: i-0123456789abcdef1\n`,
        ).map(formatProblem);
        assert.ok(
            found.some((f) =>
                /^stacks\/bad\.yaml \(line 2\): defaults\.stratgy: cannot be set in defaults \(did you mean strategy\?\)/.test(f),
            ),
            found.join("\n"),
        );
        assert.ok(
            found.some((f) =>
                /^stacks\/bad\.yaml: vms\[0\] \(line \d+, aws us-east-1\/i-0123456789abcdef0\): bitlockerkey: unknown field \(did you mean bitlockerKey\?\)$/.test(
                    f,
                ),
            ),
            found.join("\n"),
        );
        assert.ok(
            found.some((f) => /^stacks\/bad\.yaml: vms\[1\] \(line \d+\): Region: unknown field \(did you mean region\?\)$/.test(f)),
            found.join("\n"),
        );
        const far = problems(`vms:\n${AWS}    costCentre: x\n`).map(formatProblem);
        assert.match(far[0], /costCentre: unknown field$/, "no guess for a name close to nothing");
    });

    it("rejects the same VM twice, naming both entries", () => {
        const [p] = problems(`vms:\n${AWS}${GCP}${AWS}`);
        assert.equal(p.entry, 2);
        assert.match(p.message, /the same VM as vms\[0\] \(line 2\)/);
        assert.equal(p.vm, "aws us-east-1/i-0123456789abcdef0");
    });

    it("rejects the same VM spelled with different letter case", () => {
        const [p] = problems(`vms:\n${AZURE}${AZURE.replace("rg-app", "RG-App").replace("app-01", "APP-01")}`);
        assert.equal(p.entry, 1);
        assert.match(p.message, /the same VM as vms\[0\].*letter case/);
    });

    it("rejects a cloud whose recovery path is not built, never skipping it", () => {
        const ctx = {
            ...allBuilt,
            built: new Map([["aws", { strategies: ["repair"] as Strategy[], bitlocker: { stackConfig: true as const } }]]),
        };
        const found = problems(`vms:\n${AWS}${GCP}`, ctx);
        assert.equal(found.length, 1);
        assert.equal(found[0].entry, 1);
        assert.match(found[0].message, /the gcp recovery path is not built yet \(built: aws\)/);
    });

    it("rejects a strategy the cloud's path does not implement", () => {
        const ctx = {
            ...allBuilt,
            built: new Map([["aws", { strategies: ["repair"] as Strategy[], bitlocker: { stackConfig: true as const } }]]),
        };
        const [p] = problems(`vms:\n${AWS}    strategy: reboot\n`, ctx);
        assert.equal(p.field, "strategy");
        assert.match(p.message, /not available for aws in this version \(available: repair\)/);
    });

    it("rejects a bitlockerKey for a cloud path that cannot unlock BitLocker", () => {
        const ctx = {
            ...allBuilt,
            built: new Map([
                [
                    "aws",
                    {
                        strategies: ["repair"] as Strategy[],
                        bitlocker: { stackConfig: "keys come from the secret store: name it in bitlockerSecret" },
                    },
                ],
            ]),
        };
        const [p] = problems(`vms:\n${AWS}    bitlockerKey: app01-bitlocker\n`, ctx);
        assert.equal(p.field, "bitlockerKey");
        assert.match(p.message, /keys come from the secret store: name it in bitlockerSecret/);
    });

    it("finds the keys npm run import-keys stored for a VM by its stem: a secret config key, or a secret-store reference; the entry's own field wins", () => {
        const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bootloop-rescue/dev/x-Ab12Cd";
        const first = (yaml: string, ctx: ValidationContext) => validateInventory(parseYamlInventory("inv.yaml", yaml), ctx)[0];
        const slugOf = (yaml: string) => first(yaml, allBuilt).slug;
        const [aws, azure] = [slugOf(`vms:\n${AWS}`), slugOf(`vms:\n${AZURE}`)];
        const stored: Record<string, { kind: "secret" | "plain"; value?: string }> = {
            [`bootloop-rescue:bitlocker-${azure}`]: { kind: "secret" },
            [`bootloop-rescue:bitlockerSecret-${aws}`]: { kind: "plain", value: ARN },
        };
        const ctx: ValidationContext = {
            ...allBuilt,
            built: new Map([
                [
                    "aws",
                    {
                        strategies: ["repair"] as Strategy[],
                        bitlocker: { stackConfig: "use bitlockerSecret", secretField: "bitlockerSecret" },
                    },
                ],
                ["azure", { strategies: ["repair"] as Strategy[], bitlocker: { stackConfig: true as const } }],
            ]),
            configKind: (key) => stored[key]?.kind ?? allBuilt.configKind(key),
            configValue: (key) => stored[key]?.value,
        };
        assert.equal(first(`vms:\n${AZURE}`, ctx).bitlockerKey, `bootloop-rescue:bitlocker-${azure}`);
        assert.equal(
            first(`vms:\n${AZURE}    bitlockerKey: app01-bitlocker\n`, ctx).bitlockerKey,
            "bootloop-rescue:app01-bitlocker",
            "the entry's own key wins",
        );
        assert.equal(first(`vms:\n${AWS}`, ctx).fields.bitlockerSecret, ARN);
        const own = ARN.replace("Ab12Cd", "Zz99Yy");
        assert.equal(first(`vms:\n${AWS}    bitlockerSecret: ${own}\n`, ctx).fields.bitlockerSecret, own);
        stored[`bootloop-rescue:bitlockerSecret-${aws}`].value = "arn:aws:secretsmanager:us-east-1:123456789012:secret:partial";
        const [p] = problems(`vms:\n${AWS}`, ctx);
        assert.equal(p.field, "bitlockerSecret");
        assert.match(
            p.message,
            new RegExp(
                `stack config key "bootloop-rescue:bitlockerSecret-${aws}" \\(written by npm run import-keys\\) holds .* which is not valid`,
            ),
        );
    });

    it("reports every problem of every entry together", () => {
        const found = problems(
            `vms:\n  - cloud: aws\n    region: nowhere\n    instanceId: x\n    colour: red\n${AZURE}  - cloud: gcp\n    project: P\n    zone: z\n    instance: web-1\n`,
        );
        assert.deepEqual(found.map((p) => `${p.entry}:${p.field}`).sort(), ["0:colour", "0:instanceId", "0:region", "2:project", "2:zone"]);
        const err = new InputError(found);
        assert.match(err.message, /^5 problems in the input; nothing was declared:/);
    });
});

describe("cloud identities", () => {
    it("their synthetic samples are valid and distinct", () => {
        for (const identity of identities) {
            const yaml =
                "vms:\n" +
                [0, 1, 2, 3, 4, 5, 6]
                    .map(
                        (i) =>
                            `  - cloud: ${identity.cloud}\n` +
                            Object.entries(identity.sample(i))
                                .map(([k, v]) => `    ${k}: "${v}"\n`)
                                .join(""),
                    )
                    .join("");
            const vms = validate(yaml);
            assert.equal(new Set(vms.map((v) => v.key)).size, 7, identity.cloud);
        }
    });
});
