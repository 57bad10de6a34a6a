import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { needsPerson, renderReport } from "../../components/tools/report/render";
import { runProjectScript, tempDir } from "../helpers/lab-run";

const FIXTURE = path.join(__dirname, "../fixtures/stack-outputs.json");
const outputs = JSON.parse(fs.readFileSync(FIXTURE, "utf8"));
const root = path.resolve(__dirname, "../..");

const report = (args: string[], env: Record<string, string> = {}, cwd = root) => runProjectScript("report", args, cwd, env);

describe("the recovery report", () => {
    const md = renderReport(outputs, "file stack-outputs.json", new Date("2024-07-19T12:00:00Z"));

    it("totals VMs per cloud and status", () => {
        assert.match(md, /Generated 2024-07-19T12:00:00Z\. 7 VMs\./);
        assert.match(
            md,
            /\| aws \| recovered \| 1 \|\n\| aws \| recovered-by-reboot \| 1 \|\n\| aws \| rolled-back \| 1 \|\n\| azure \| recovered \| 2 \|\n\| gcp \| recovered \| 1 \|\n\| gcp \| unfinished \| 1 \|/,
        );
    });

    it("lists each VM: identity, strategy, status, wave, quarantined files with time and hash, backup, time taken", () => {
        const aws = md.split("\n").find((l) => l.includes("aws us-east-1/i-0123456789abcdef0"))!;
        assert.match(
            aws,
            /\| aws \| aws us-east-1\/i-0123456789abcdef0 \| repair \| recovered \| 0 \| C-00000291-00000000-00000032\.sys \(2024-07-19T04:09:13Z, sha256 2f05d4b689d2…\) \| snap-0aaaaaaaaaaaaaaaa \| – \| – \| 232 s \|/,
        );
        assert.ok(!aws.includes("00000033"), "kept files are not listed as quarantined");
        assert.match(
            md.split("\n").find((l) => l.includes("azure rg-app/app-01"))!,
            /\| recovered \| 1 \| none \|/,
        );
    });

    it("says how each remedy brought a VM back: restarts, recovery-point age, a repair after restarts that did not help", () => {
        const line = (label: string) => md.split("\n").find((l) => l.includes(label))!;
        assert.match(line("i-0bbbbbbbbbbbbbbbb"), /\| reboot \| recovered by reboot after 3 restarts \| 1 \| – \| – \| – \| 3 \| 540 s \|/);
        assert.match(line("app-02"), /\| reboot-then-repair \| recovered by repair after 15 restarts did not help \|.*\| 15 \|/);
        assert.match(
            line("web-2"),
            /\| restore \| recovered from backup \| 1 \| – \| projects\/my-project\/global\/snapshots\/web-2-nightly \| 2\.2 h \(taken 2024-07-19T01:57:00Z\) \| – \|/,
        );
        assert.match(
            renderReport({ vms: { a: { ...outputs.vms["us-east-1/i-0bbbbbbbbbbbbbbbb"], rebootAttempts: 0 } } }, "x", new Date()),
            /recovered: it booted healthy without a restart/,
        );
        // A VM brought back by a retry says on which.
        const retried = renderReport({ vms: { a: { ...outputs.vms["us-east-1/i-0123456789abcdef0"], retry: 2 } } }, "x", new Date());
        assert.match(retried, /\| repair \| recovered, on retry 2 \| 0 \|/);
    });

    it("lists a rolled-back VM as needing a person, with what the rollback did", () => {
        const section = md.slice(md.indexOf("## Needs a person"));
        assert.match(
            section,
            /\*\*aws us-east-1\/i-0cccccccccccccccc\*\* \(aws, wave 1\): rolled back at the operator's request \(it runs on its original root volume vol-0cccccccccccccccc again; vol-0dddddddddddddddd is kept, detached\); the original disk holds what made it fail/,
        );
        assert.ok(!section.includes("web-2**"), "a restored VM is done");
        assert.ok(!section.includes("i-0bbbbbbbbbbbbbbbb"), "a VM recovered by reboot is done");
    });

    it("lists the VMs that need a person, with the reason, and never a secret", () => {
        const section = md.slice(md.indexOf("## Needs a person"));
        assert.match(section, /\*\*gcp my-project\/us-central1-a\/web-1\*\* \(gcp, wave 1\): no status: its chain did not finish/);
        assert.ok(!section.includes("i-0123456789abcdef0"));
        assert.ok(!md.includes("370359"), "a recovery password in an output is redacted");
        // A VM whose chain finished but whose repair did not is still listed, with the engine's reason.
        assert.match(
            needsPerson({ ...outputs.vms["my-project/us-central1-a/web-1"], status: "recovered" })!,
            /^repair locked: BitLocker: the recovery password/,
        );
        assert.match(section, /web-1\*\*.*\. Original disk web-1 is untouched\./);
    });

    it("renders file names from the guest inert: no HTML, no Markdown link or emphasis", () => {
        const vm = outputs.vms["us-east-1/i-0123456789abcdef0"];
        const hostile = "C-00000291-<img src=x onerror=alert(1)>-[click](javascript:alert)-*x*_y_.sys";
        const evidence = JSON.parse(vm.evidence);
        evidence.volumes[0].matches[0].path = `Windows/System32/drivers/CrowdStrike/${hostile}`;
        const text = renderReport({ vms: { a: { ...vm, evidence: JSON.stringify(evidence) } } }, "x", new Date());
        const line = text.split("\n").find((l) => l.includes("C-00000291-"))!;
        assert.ok(!/<img|[^\\]\]\(javascript/.test(line), line);
        assert.ok(line.includes("&lt;img src=x onerror=alert\\(1\\)&gt;-\\[click\\]\\(javascript:alert\\)-\\*x\\*\\_y\\_.sys"), line);
    });

    it("foreign text cannot drive the terminal it is printed on: escape sequences, C1 controls and bidi overrides are gone", () => {
        const vm = outputs.vms["my-project/us-central1-a/web-1"];
        const evidence = JSON.parse(vm.evidence);
        evidence.message = "locked \x1b]0;pwned\x07\x1b[2J\u009b31m\u202eevil";
        const text = renderReport(
            { vms: { a: { ...vm, label: "gcp p/z/\x1b[31mweb-1", status: "recovered", evidence: JSON.stringify(evidence) } } },
            "x",
            new Date(),
        );
        // eslint-disable-next-line no-control-regex -- the control characters are what the report must not hold
        assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/.test(text), JSON.stringify(text));
        assert.match(text, /\*\*gcp p\/z\/web-1\*\* \(gcp, wave 1\): repair locked: locked evil\./);
    });

    it("says so when every VM is recovered", () => {
        const done = { vms: { a: outputs.vms["us-east-1/i-0123456789abcdef0"] } };
        assert.match(renderReport(done, "x", new Date()), /None: every VM is recovered\./);
    });

    it("npm run report -- --from FILE [--out FILE], and --stack through the Pulumi CLI (stand-in)", () => {
        const dir = tempDir({ "outputs.json": fs.readFileSync(FIXTURE, "utf8") });
        const r = report(["--from", "outputs.json"], {}, dir);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^# bootloop-rescue recovery report/);
        assert.equal(report(["--from", "outputs.json", "--out", "report.md"], {}, dir).status, 0);
        assert.match(fs.readFileSync(path.join(dir, "report.md"), "utf8"), /## Needs a person/);
        const bin = tempDir({ pulumi: `#!/bin/sh\necho "$@" > "${dir}/pulumi-args"\ncat "${FIXTURE}"\n` });
        fs.chmodSync(path.join(bin, "pulumi"), 0o755);
        const s = report(["--stack", "prod"], { PATH: `${bin}:${process.env.PATH}` }, dir);
        assert.equal(s.status, 0, s.stderr);
        assert.equal(
            fs.readFileSync(path.join(dir, "pulumi-args"), "utf8").trim(),
            "stack output --json --stack prod",
            "never --show-secrets",
        );
        assert.match(s.stdout, /Source: stack prod\./);
    });

    it("bad arguments or input: exit 2 with the reason", () => {
        const dir = tempDir({ "bad.json": "not json" });
        assert.equal(report([], {}, dir).status, 2);
        const r = report(["--from", "bad.json"], {}, dir);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /file bad\.json: not JSON \(stack outputs, the vms output, or a stack export\)/);
        assert.equal(report(["--from", "missing.json"], {}, dir).status, 2);
        const u = report(["--from", "bad.json", "--vm", "x"], {}, dir);
        assert.equal(u.status, 2);
        assert.match(u.stderr, /^npm run report: unknown argument "--vm"\nusage: npm run report -- /);
        const s = report(["--stack", "prod; rm -rf /"], {}, dir);
        assert.equal(s.status, 2);
        assert.match(s.stderr, /not a stack name/);
    });

    it("reads the stack outputs, the vms output alone (the CI workflow's vms.json) and a stack export: the same 7 VMs", () => {
        const exported = {
            version: 3,
            deployment: {
                resources: [
                    {
                        urn: "urn:pulumi:prod::bootloop-rescue::pulumi:pulumi:Stack::bootloop-rescue-prod",
                        type: "pulumi:pulumi:Stack",
                        outputs: outputs,
                    },
                ],
            },
        };
        const dir = tempDir({
            "outputs.json": JSON.stringify(outputs),
            "vms.json": JSON.stringify(outputs.vms),
            "export.json": JSON.stringify(exported),
        });
        const bodies = ["outputs.json", "vms.json", "export.json"].map((file) => {
            const r = report(["--from", file], {}, dir);
            assert.equal(r.status, 0, `${file}: ${r.stderr}`);
            assert.match(r.stdout, /\. 7 VMs\./, file);
            return r.stdout.slice(r.stdout.indexOf("## Totals"));
        });
        assert.equal(bodies[1], bodies[0]);
        assert.equal(bodies[2], bodies[0]);
    });

    it("refuses what carries no outcome: an offline plan (placeholders, nothing ran), other JSON, a record without its fields; exit 2 naming it", async () => {
        const { planDocument } = await import("../../components/tools/offline/render");
        const { labInventory, runLab } = await import("../helpers/lab-run");
        const planJson = JSON.stringify(planDocument(await runLab(labInventory([{ machine: "m1" }])), "test"));
        const broken = JSON.parse(JSON.stringify(outputs.vms));
        delete broken["sub/rg-app/app-01"].label;
        const dir = tempDir({
            "plan.json": planJson,
            "other.json": JSON.stringify({ name: "x", version: 1 }),
            "empty.json": "{}",
            "array.json": "[]",
            "masked.json": JSON.stringify("[secret]"),
            "broken.json": JSON.stringify(broken),
            "bare-export.json": JSON.stringify({
                version: 3,
                deployment: { resources: [{ urn: "u", type: "pulumi:pulumi:Stack", outputs: {} }] },
            }),
        });
        const refused = (file: string, why: RegExp) => {
            const r = report(["--from", file], {}, dir);
            assert.equal(r.status, 2, `${file}: ${r.stdout}`);
            assert.equal(r.stdout, "", file);
            assert.match(r.stderr, why, file);
        };
        refused(
            "plan.json",
            /^npm run report: file plan\.json: an offline plan \(`npm run plan -- --json`\): nothing has run, it holds placeholders and no outcome; the report reads what ran/,
        );
        refused("other.json", /file other\.json: not a stack's JSON/);
        refused("empty.json", /file empty\.json: an empty JSON object, no VM records/);
        refused("array.json", /file array\.json: not a stack's JSON \(an array/);
        refused("masked.json", /file masked\.json: the vms output is masked as a secret/);
        refused("broken.json", /file broken\.json: "sub\/rg-app\/app-01": label: missing or not a string/);
        refused("bare-export.json", /file bare-export\.json: a stack export \(`pulumi stack export`\) with no `vms` output/);
    });
});

describe("the report's opening: the status headline and a timeline picture (#30 item 4)", function () {
    this.timeout(600_000);

    it("from the records alone: the headline without a time, then the outcome per wave, before the per-VM table", () => {
        const text = renderReport(outputs, "file stack-outputs.json", new Date("2024-07-19T12:00:00Z"));
        const lines = text.split("\n");
        assert.equal(lines[2], "**5 of 7 VMs recovered; 2 need a person.**");
        assert.match(text, /^wave 0 {2}█{48} {2}1\/1 recovered$/m);
        assert.match(text, /^wave 1 {2}█{32}x{16} {2}4\/6 recovered, 2 need a person$/m);
        assert.ok(text.indexOf("```text") < text.indexOf("## VMs"), "the picture comes before the table");
    });

    it("a VM its chain recorded as failed needs a person, with its record's reason and next step (escaped)", () => {
        const vm = {
            ...outputs.vms["us-east-1/i-0123456789abcdef0"],
            status: "failed",
            note: "no Windows <found>",
            nextStep: "check the [inventory]",
        };
        const text = renderReport({ vms: { a: vm } }, "x", new Date(0));
        assert.match(text, /^\*\*0 of 1 VM recovered; 1 needs a person\.\*\*$/m);
        assert.match(text, /: failed: no Windows &lt;found&gt;; next: check the \\\[inventory\\\]\. Original disk/);
    });

    it("with the real engine's events (--events): the time in the headline and the timeline; --status-page writes the page", () => {
        const events = zlib
            .gunzipSync(fs.readFileSync(path.join(root, "test/fixtures/engine-events/sandbox-dev-up.json.gz")))
            .toString("utf8");
        const stackEvent = events.split("\n").find((l) => l.includes('"resOutputsEvent"') && l.includes('"type":"pulumi:pulumi:Stack"'))!;
        const vms = (JSON.parse(stackEvent) as { resOutputsEvent: { metadata: { new: { outputs: { vms: unknown } } } } }).resOutputsEvent
            .metadata.new.outputs.vms;
        const dir = tempDir({ "vms.json": JSON.stringify(vms), "up-events.json": events });
        const r = report(["--from", "vms.json", "--events", "up-events.json", "--status-page", "status.html"], {}, dir);
        assert.equal(r.status, 0, r.stderr);
        assert.match(
            r.stdout,
            /^# bootloop-rescue recovery report\n\n\*\*11 of 11 VMs recovered in 2 min 49 s; none needs a person\.\*\*\n\n```text\ntime {4}0 +2 min 49 s\nwave 0 /,
        );
        assert.match(r.stdout, /^wave 1 +[ ░▒▓█x]{48} {2}10\/10 recovered$/m);
        assert.match(
            fs.readFileSync(path.join(dir, "status.html"), "utf8"),
            /id="headline">11 of 11 VMs recovered in 2 min 49 s; none needs a person</,
        );

        const other = report(["--from", "vms.json", "--events", "vms.json"], {}, dir);
        assert.equal(other.status, 2);
        assert.match(other.stderr, /--events vms\.json: holds no engine event of a stack/);
        const summary = report(["--from", "vms.json", "--summary"], { GITHUB_STEP_SUMMARY: "" }, dir);
        assert.equal(summary.status, 2);
        assert.match(summary.stderr, /--summary appends to \$GITHUB_STEP_SUMMARY, which is not set/);
        fs.writeFileSync(path.join(dir, "summary.md"), "");
        assert.equal(report(["--from", "vms.json", "--summary"], { GITHUB_STEP_SUMMARY: path.join(dir, "summary.md") }, dir).status, 0);
        assert.match(
            fs.readFileSync(path.join(dir, "summary.md"), "utf8"),
            /^# bootloop-rescue .*: status\n\n\*\*11 of 11 VMs recovered; none needs a person\.\*\*/,
        );
    });
});
