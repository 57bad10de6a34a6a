import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { packEvidence } from "../../components/core/cloud-steps";
import { abridgeEvidence } from "../../components/core/evidence-record";
import { StackExport, fullEvidence } from "../../components/tools/report/full-evidence";
import { runProjectScript, tempDir } from "../helpers/lab-run";

const root = path.resolve(__dirname, "../..");
const DEMO = fs.readFileSync(path.join(__dirname, "../fixtures/demo-evidence.json"), "utf8").trim();
const STACK = "urn:pulumi:prod::bootloop-rescue";
const command = (name: string, outputs: Record<string, unknown>) => ({
    urn: `${STACK}::bootloop-rescue:core:Recovery$command:local:Command::${name}`,
    type: "command:local:Command",
    outputs,
});
const record = (key: string, evidence: string) => ({
    key,
    label: `aws us-east-1/${key}`,
    cloud: "aws",
    strategy: "repair",
    wave: 0,
    status: "recovered",
    evidence,
});

/** An export as `pulumi stack export` prints it: the stack's outputs (the records) and the commands. */
function stackExport(vms: Record<string, unknown>, commands: unknown[]): StackExport {
    return {
        deployment: {
            resources: [
                { urn: `${STACK}::pulumi:pulumi:Stack::bootloop-rescue-prod`, type: "pulumi:pulumi:Stack", outputs: { vms } },
                ...(commands as never[]),
            ],
        },
    };
}

/** Three VMs as three paths keep their evidence: a repair's output (AWS, GCP), a swap's after its report (Azure), and an earlier swap's environment. */
const ok = stackExport(
    {
        "i-1": record("i-1", abridgeEvidence(DEMO, "i-1-abc-repair")),
        "app-1": record("app-1", abridgeEvidence(DEMO, "app-1-abc-swap")),
        "app-2": record("app-2", abridgeEvidence(DEMO, "app-2-abc-swap")),
        "i-2": { ...record("i-2", ""), strategy: "reboot" },
    },
    [
        command("i-1-abc-repair", { stdout: `bootloop-rescue: repaired\n${packEvidence(DEMO)}` }),
        command("app-1-abc-swap", {
            stdout: `{"status":"recovered","timings":{}}\n${packEvidence(DEMO)}`,
            environment: { VM_NAME: "app-1" },
        }),
        command("app-2-abc-swap", { stdout: '{"status":"recovered","timings":{}}', environment: { EVIDENCE: packEvidence(DEMO) } }),
    ],
);

const evidenceCli = (args: string[], env: Record<string, string> = {}, cwd = root) => runProjectScript("evidence", args, cwd, env);

describe("the full evidence, from the stack's state", () => {
    it("finds each repaired VM's document where its path kept it, decoded and matching the record's hash", () => {
        const found = fullEvidence(ok);
        assert.deepEqual(
            found.map((f) => [f.key, f.keptBy]),
            [
                ["i-1", "i-1-abc-repair"],
                ["app-1", "app-1-abc-swap"],
                ["app-2", "app-2-abc-swap"],
            ],
        );
        for (const f of found) assert.equal(f.document, DEMO);
    });

    it("one VM by key or label (any case); a VM it does not know, or one with no evidence, is an error naming it", () => {
        assert.deepEqual(
            fullEvidence(ok, "app-1").map((f) => f.key),
            ["app-1"],
        );
        assert.deepEqual(
            fullEvidence(ok, "AWS US-EAST-1/I-1").map((f) => f.key),
            ["i-1"],
        );
        assert.throws(() => fullEvidence(ok, "nope"), /no VM "nope" in the stack's records/);
        assert.throws(() => fullEvidence(ok, "i-2"), /aws us-east-1\/i-2: its strategy \(or rollback\) repaired no disk/);
    });

    it("a record of an earlier version carries the whole document: that is it", () => {
        const old = stackExport({ a: record("a", DEMO) }, []);
        assert.deepEqual(
            fullEvidence(old).map((f) => [f.document, f.keptBy]),
            [[DEMO, ""]],
        );
    });

    it("refuses a document that does not match the record, a missing keeper, and an output kept as a secret", () => {
        const tampered = stackExport({ a: record("a", abridgeEvidence(DEMO, "a-repair")) }, [
            command("a-repair", { stdout: packEvidence(DEMO.replace("repaired", "nothing-to-do")) }),
        ]);
        assert.throws(
            () => fullEvidence(tampered),
            /aws us-east-1\/a: the output of a-repair holds no evidence matching its record \(sha256 [0-9a-f]{64}\)/,
        );
        const gone = stackExport({ a: record("a", abridgeEvidence(DEMO, "a-repair")) }, []);
        assert.throws(() => fullEvidence(gone), /aws us-east-1\/a: the stack has no resource a-repair, which kept its evidence/);
        const secret = stackExport({ a: record("a", abridgeEvidence(DEMO, "a-repair")) }, [
            command("a-repair", {
                stdout: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" },
            }),
        ]);
        assert.throws(() => fullEvidence(secret), /a-repair keeps its output as a secret/);
        const prefix = stackExport({ a: record("a", abridgeEvidence(DEMO, "x-repair")) }, [
            command("xx-repair", { stdout: packEvidence(DEMO) }),
        ]);
        assert.throws(() => fullEvidence(prefix), /no resource x-repair/, "a resource whose name only ends the same is not it");
    });

    it("npm run evidence -- --from FILE [--vm V] [--out FILE], and --stack through the Pulumi CLI (stand-in)", () => {
        const dir = tempDir({ "export.json": JSON.stringify(ok) });
        const all = evidenceCli(["--from", "export.json"], {}, dir);
        assert.equal(all.status, 0, all.stderr);
        const lines = all.stdout
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        assert.deepEqual(
            lines.map((l) => [l.key, l.keptBy]),
            [
                ["i-1", "i-1-abc-repair"],
                ["app-1", "app-1-abc-swap"],
                ["app-2", "app-2-abc-swap"],
            ],
        );
        assert.deepEqual(lines[0].evidence, JSON.parse(DEMO));
        const one = evidenceCli(["--from", "export.json", "--vm", "app-1", "--out", "app-1.json"], {}, dir);
        assert.equal(one.status, 0, one.stderr);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "app-1.json"), "utf8")), JSON.parse(DEMO));
        const bin = tempDir({ pulumi: `#!/bin/sh\necho "$@" > "${dir}/pulumi-args"\ncat "${dir}/export.json"\n` });
        fs.chmodSync(path.join(bin, "pulumi"), 0o755);
        const s = evidenceCli(["--stack", "prod", "--vm", "i-1"], { PATH: `${bin}:${process.env.PATH}` }, dir);
        assert.equal(s.status, 0, s.stderr);
        assert.equal(fs.readFileSync(path.join(dir, "pulumi-args"), "utf8").trim(), "stack export --stack prod", "never --show-secrets");
        assert.equal(JSON.parse(s.stdout).outcome, "repaired");
    });

    it("bad arguments or input: exit 2 with the reason; a check that fails: exit 1", () => {
        const tampered = stackExport({ a: record("a", abridgeEvidence(DEMO, "a-repair")) }, [
            command("a-repair", { stdout: packEvidence(DEMO.replace("repaired", "nothing-to-do")) }),
        ]);
        const dir = tempDir({ "bad.json": "{", "export.json": JSON.stringify(ok), "tampered.json": JSON.stringify(tampered) });
        const usage = evidenceCli([], {}, dir);
        assert.equal(usage.status, 2);
        assert.match(usage.stderr, /^npm run evidence: give --stack NAME or --from FILE\nusage: npm run evidence -- /);
        const bad = evidenceCli(["--from", "bad.json"], {}, dir);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /file bad\.json: not a stack export/);
        assert.match(evidenceCli(["--from", "export.json", "--vm"], {}, dir).stderr, /--vm needs a value/);
        const r = evidenceCli(["--from", "export.json", "--vm", "nope"], {}, dir);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /no VM "nope"/);
        const s = evidenceCli(["--stack", "prod; rm -rf /"], {}, dir);
        assert.equal(s.status, 2);
        assert.match(s.stderr, /not a stack name/);
        const t = evidenceCli(["--from", "tampered.json"], {}, dir);
        assert.equal(t.status, 1);
        assert.equal(t.stdout, "");
        assert.match(t.stderr, /holds no evidence matching its record/);
    });

    it("refuses stack outputs, the vms output alone and an offline plan (exit 2, naming what to give) instead of printing nothing", () => {
        const outputs = fs.readFileSync(path.join(__dirname, "../fixtures/stack-outputs.json"), "utf8");
        const plan = JSON.stringify({ source: "stack dev", vms: [{ key: "k", label: "l" }], waves: [], rescuePools: [], resources: [] });
        const bare = JSON.stringify({
            version: 3,
            deployment: { resources: [{ urn: `${STACK}::pulumi:pulumi:Stack::x`, type: "pulumi:pulumi:Stack", outputs: {} }] },
        });
        const dir = tempDir({
            "outputs.json": outputs,
            "vms.json": JSON.stringify(JSON.parse(outputs).vms),
            "plan.json": plan,
            "bare.json": bare,
        });
        const refused = (file: string, why: RegExp) => {
            const r = evidenceCli(["--from", file], {}, dir);
            assert.equal(r.status, 2, `${file}: ${r.stdout}`);
            assert.equal(r.stdout, "");
            assert.match(r.stderr, why, file);
        };
        refused(
            "outputs.json",
            /file outputs\.json: stack outputs \(`pulumi stack output --json`\): its records carry the evidence abridged; .* Give a stack export \(`pulumi stack export`\), or --stack NAME/,
        );
        refused("vms.json", /file vms\.json: the vms output alone/);
        refused("plan.json", /file plan\.json: an offline plan .*nothing has run, so there is no evidence/);
        refused("bare.json", /file bare\.json: a stack export \(`pulumi stack export`\) with no `vms` output/);
        assert.throws(() => fullEvidence(JSON.parse(outputs)), /stack outputs .*, not a stack export/);
    });

    it("prints the documents as JSON a terminal cannot act on, their values unchanged; says so on stderr when no VM was repaired", () => {
        const hostile = DEMO.replace('"repaired"', '"repaired \\u009b2J\\u202e \\u001b]0;x\\u0007"');
        assert.notEqual(hostile, DEMO);
        const exported = stackExport({ a: record("a", abridgeEvidence(hostile, "a-repair")) }, [
            command("a-repair", { stdout: packEvidence(hostile) }),
        ]);
        const none = stackExport({ b: { ...record("b", ""), strategy: "reboot" } }, []);
        const dir = tempDir({ "export.json": JSON.stringify(exported), "none.json": JSON.stringify(none) });
        const r = evidenceCli(["--from", "export.json", "--vm", "a"], {}, dir);
        assert.equal(r.status, 0, r.stderr);
        // eslint-disable-next-line no-control-regex -- the control characters are what the output must not hold
        assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/.test(r.stdout), JSON.stringify(r.stdout));
        assert.deepEqual(JSON.parse(r.stdout), JSON.parse(hostile));
        const n = evidenceCli(["--from", "none.json"], {}, dir);
        assert.equal(n.status, 0, n.stderr);
        assert.equal(n.stdout, "");
        assert.match(n.stderr, /no VM of file none\.json has repair evidence/);
    });
});
