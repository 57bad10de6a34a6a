import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { packEvidence } from "../../components/core/cloud-steps";
import { abridgeEvidence } from "../../components/core/evidence-record";
import { StackExport, fullEvidence } from "../../components/core/report/full-evidence";
import { runProjectScript, tempDir } from "../helpers/lab-run";

const root = path.resolve(__dirname, "../..");
const DEMO = fs.readFileSync(path.join(__dirname, "../fixtures/demo-evidence.json"), "utf8").trim();
const STACK = "urn:pulumi:prod::bootloop-rescue";
const command = (name: string, outputs: Record<string, unknown>) => ({ urn: `${STACK}::bootloop-rescue:core:Recovery$command:local:Command::${name}`, type: "command:local:Command", outputs });
const record = (key: string, evidence: string) => ({ key, label: `aws us-east-1/${key}`, cloud: "aws", strategy: "repair", wave: 0, status: "recovered", evidence });

/** An export as `pulumi stack export` prints it: the stack's outputs (the records) and the commands. */
function stackExport(vms: Record<string, unknown>, commands: unknown[]): StackExport {
    return { deployment: { resources: [{ urn: `${STACK}::pulumi:pulumi:Stack::bootloop-rescue-prod`, type: "pulumi:pulumi:Stack", outputs: { vms } }, ...(commands as never[])] } };
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
        command("app-1-abc-swap", { stdout: `{"status":"recovered","timings":{}}\n${packEvidence(DEMO)}`, environment: { VM_NAME: "app-1" } }),
        command("app-2-abc-swap", { stdout: '{"status":"recovered","timings":{}}', environment: { EVIDENCE: packEvidence(DEMO) } }),
    ],
);

const evidenceCli = (args: string[], env: Record<string, string> = {}, cwd = root) => runProjectScript("evidence", args, cwd, env);

describe("the full evidence, from the stack's state", () => {
    it("finds each repaired VM's document where its path kept it, decoded and matching the record's hash", () => {
        const found = fullEvidence(ok);
        assert.deepEqual(found.map((f) => [f.key, f.keptBy]), [["i-1", "i-1-abc-repair"], ["app-1", "app-1-abc-swap"], ["app-2", "app-2-abc-swap"]]);
        for (const f of found) assert.equal(f.document, DEMO);
    });

    it("one VM by key or label (any case); a VM it does not know, or one with no evidence, is an error naming it", () => {
        assert.deepEqual(fullEvidence(ok, "app-1").map((f) => f.key), ["app-1"]);
        assert.deepEqual(fullEvidence(ok, "AWS US-EAST-1/I-1").map((f) => f.key), ["i-1"]);
        assert.throws(() => fullEvidence(ok, "nope"), /no VM "nope" in the stack's records/);
        assert.throws(() => fullEvidence(ok, "i-2"), /aws us-east-1\/i-2: its strategy \(or rollback\) repaired no disk/);
    });

    it("a record of an earlier version carries the whole document: that is it", () => {
        const old = stackExport({ a: record("a", DEMO) }, []);
        assert.deepEqual(fullEvidence(old).map((f) => [f.document, f.keptBy]), [[DEMO, ""]]);
    });

    it("refuses a document that does not match the record, a missing keeper, and an output kept as a secret", () => {
        const tampered = stackExport({ a: record("a", abridgeEvidence(DEMO, "a-repair")) }, [command("a-repair", { stdout: packEvidence(DEMO.replace("repaired", "nothing-to-do")) })]);
        assert.throws(() => fullEvidence(tampered), /aws us-east-1\/a: the output of a-repair holds no evidence matching its record \(sha256 [0-9a-f]{64}\)/);
        const gone = stackExport({ a: record("a", abridgeEvidence(DEMO, "a-repair")) }, []);
        assert.throws(() => fullEvidence(gone), /aws us-east-1\/a: the stack has no resource a-repair, which kept its evidence/);
        const secret = stackExport({ a: record("a", abridgeEvidence(DEMO, "a-repair")) }, [command("a-repair", { stdout: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" } })]);
        assert.throws(() => fullEvidence(secret), /a-repair keeps its output as a secret/);
        const prefix = stackExport({ a: record("a", abridgeEvidence(DEMO, "x-repair")) }, [command("xx-repair", { stdout: packEvidence(DEMO) })]);
        assert.throws(() => fullEvidence(prefix), /no resource x-repair/, "a resource whose name only ends the same is not it");
    });

    it("npm run evidence -- --from FILE [--vm V] [--out FILE], and --stack through the Pulumi CLI (stand-in)", () => {
        const dir = tempDir({ "export.json": JSON.stringify(ok) });
        const all = evidenceCli(["--from", "export.json"], {}, dir);
        assert.equal(all.status, 0, all.stderr);
        const lines = all.stdout.trim().split("\n").map((l) => JSON.parse(l));
        assert.deepEqual(lines.map((l) => [l.key, l.keptBy]), [["i-1", "i-1-abc-repair"], ["app-1", "app-1-abc-swap"], ["app-2", "app-2-abc-swap"]]);
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

    it("bad arguments or input: exit 1 with the reason", () => {
        const dir = tempDir({ "bad.json": "{", "export.json": JSON.stringify(ok) });
        assert.match(evidenceCli([], {}, dir).stderr, /^evidence: usage: npm run evidence/);
        assert.match(evidenceCli(["--from", "bad.json"], {}, dir).stderr, /file bad\.json: not a stack export/);
        assert.match(evidenceCli(["--from", "export.json", "--vm"], {}, dir).stderr, /--vm needs a value/);
        const r = evidenceCli(["--from", "export.json", "--vm", "nope"], {}, dir);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /no VM "nope"/);
        assert.match(evidenceCli(["--stack", "prod; rm -rf /"], {}, dir).stderr, /not a stack name/);
    });
});
