import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { packEvidence, unpackEvidence } from "../../components/core/cloud-steps";

const SCRIPTS = path.resolve(__dirname, "../../components/core/scripts");
const DEMO = JSON.stringify(JSON.parse(fs.readFileSync(path.join(__dirname, "../fixtures/demo-evidence.json"), "utf8")));
const gzipLine = (text: string) => `gzip-base64:${zlib.gzipSync(text).toString("base64")}`;

/** Runs evidence.js in a mode, as the command scripts do. */
function evidenceJs(mode: string, stdin: string, env: Record<string, string> = {}) {
    const r = spawnSync("node", [path.join(SCRIPTS, "evidence.js"), mode], {
        input: stdin,
        encoding: "utf8",
        env: { PATH: process.env.PATH!, VM_LABEL: "aws us-east-1/i-1", ...env },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the evidence line the state keeps", () => {
    it("the dictionary is part of the format: it never changes (states written with it must stay readable)", () => {
        // A better dictionary is a new format (dict2-…) beside this one, never an edit of it.
        const sha = createHash("sha256")
            .update(fs.readFileSync(path.join(SCRIPTS, "evidence-dictionary-1.txt")))
            .digest("hex");
        assert.equal(sha, "670d886aa2225e73d703e5f1491fa7427a264e675ebb400183550d6777427413");
    });

    it("packs the demo disk's evidence to a quarter of its gzip-base64 line, and reads it back byte for byte", () => {
        const packed = packEvidence(DEMO);
        assert.match(packed, /^dict1-deflate-base64:[A-Za-z0-9+/=]+$/);
        assert.ok(packed.length * 3 < gzipLine(DEMO).length, `${packed.length} vs ${gzipLine(DEMO).length}`);
        assert.equal(unpackEvidence(packed), DEMO);
        assert.equal(packEvidence(DEMO), packed, "the same bytes on every run");
        assert.equal(packEvidence(""), "");
    });

    it("reads what the rescue side sends and what states of earlier versions keep (gzip-base64), and plain JSON", () => {
        assert.equal(unpackEvidence(`log line\n${gzipLine(DEMO)}\n`), DEMO);
        assert.equal(unpackEvidence(`log line\n${DEMO}`), DEMO);
    });

    it("a packed line that does not decode gives a document saying so", () => {
        const packed = packEvidence(DEMO);
        for (const broken of [packed.slice(0, 60), "gzip-base64:H4sIAAAA"]) {
            const doc = JSON.parse(unpackEvidence(broken));
            assert.equal(doc.outcome, "unknown");
            assert.match(doc.message, /truncated/);
        }
    });

    it("settle: packs a repair's evidence; a failed repair or an unreadable line fails with the reason, naming the VM", () => {
        const ok = evidenceJs("settle", gzipLine(DEMO));
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(unpackEvidence(ok.stdout), DEMO);
        // A failure that is not the VM's own (the rescue VM could not run the engine) stops the step.
        const failed = evidenceJs("settle", gzipLine(JSON.stringify({ outcome: "error", message: "no dislocker", exitCode: 6 })));
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, /^bootloop-rescue: aws us-east-1\/i-1: repair failed: error: no dislocker\n\{"outcome":"error"/);
        // The VM's own (a locked disk) is its outcome: kept, packed, for the swap to record; the step succeeds.
        const locked = JSON.stringify({ outcome: "locked", message: "BitLocker", exitCode: 4 });
        const own = evidenceJs("settle", gzipLine(locked));
        assert.equal(own.code, 0, own.stderr);
        assert.equal(unpackEvidence(own.stdout), locked);
        for (const line of ["", "gzip-base64:H4sIAAAA", "null", "not json"]) {
            const bad = evidenceJs("settle", line, {
                EVIDENCE_UNREADABLE: "the repair printed no evidence (Systems Manager status Failed)",
            });
            assert.equal(bad.code, 1, line);
            assert.equal(
                bad.stderr,
                "bootloop-rescue: aws us-east-1/i-1: the repair printed no evidence (Systems Manager status Failed)\n",
            );
            assert.equal(bad.stdout, "");
        }
    });

    it("verdict: a repair failed for a reason of the VM's own (3, 4, 5, nothing found on a disk never repaired) is named with what to do next", () => {
        const doc = (o: object) => gzipLine(JSON.stringify(o));
        const cases: [object, RegExp | undefined][] = [
            [
                { outcome: "no-windows", message: "no Windows installation on this disk", exitCode: 3 },
                /^the repair found no Windows installation on this disk$/,
            ],
            [
                { outcome: "unsupported", message: "LVM: not supported yet", exitCode: 3 },
                /does not support this disk yet: LVM: not supported yet/,
            ],
            [{ outcome: "locked", message: "BitLocker", exitCode: 4 }, /BitLocker-encrypted and no key/],
            [{ outcome: "unsafe", message: "a link\non the path\u001b[2J", exitCode: 5 }, /unsafe to change \(a link on the path \[2J\)/],
            [
                { outcome: "nothing-to-do", exitCode: 0, volumes: [{ matches: [], earlierQuarantines: [] }] },
                /found no file its rules match/,
            ],
            // Not the VM's own failure, or no failure at all: nothing printed.
            [
                { outcome: "nothing-to-do", exitCode: 0, volumes: [{ matches: [], earlierQuarantines: ["bootloop-rescue/quarantine/x"] }] },
                undefined,
            ],
            [{ outcome: "repaired", exitCode: 0, volumes: [] }, undefined],
            [{ outcome: "skipped", exitCode: 0, volumes: [] }, undefined],
            [{ outcome: "error", message: "no dislocker", exitCode: 6 }, undefined],
            // The rescue side's, though exit 3 or 5: they stop the run as any error does.
            [{ outcome: "busy", message: "another repair of this disk is still running", exitCode: 5 }, undefined],
            [{ outcome: "read-only", message: "the disk is read-only", exitCode: 5 }, undefined],
            [{ outcome: "in-use", message: "mounted on this VM", exitCode: 5 }, undefined],
            [{ outcome: "unmountable", message: "NTFS partition(s) 3 could not be mounted", exitCode: 3 }, undefined],
        ];
        for (const [evidence, reason] of cases) {
            const out = evidenceJs("verdict", doc(evidence));
            assert.equal(out.code, 0, out.stderr);
            if (!reason) {
                assert.equal(out.stdout, "", JSON.stringify(evidence));
                continue;
            }
            const lines = out.stdout.split("\n");
            assert.equal(lines.length, 3, `two lines: ${out.stdout}`);
            assert.match(lines[0], reason);
            assert.match(lines[1], /the VM and its original disk are untouched/);
            assert.equal(lines[2], "");
        }
        assert.equal(evidenceJs("verdict", "not json").stdout, "", "an unreadable line is no verdict");
    });

    it("repack: any evidence line becomes the packed one; one that does not decode becomes a document saying so, never a failure", () => {
        const r = evidenceJs("repack", gzipLine(DEMO));
        assert.equal(r.code, 0);
        assert.equal(r.stdout, packEvidence(DEMO));
        const reason = '{"outcome":"unknown","message":"the repair Run Command x could not be read"}';
        assert.equal(unpackEvidence(evidenceJs("repack", reason).stdout), reason);
        const truncated = evidenceJs("repack", "gzip-base64:H4sIAAAA");
        assert.equal(truncated.code, 0);
        assert.match(JSON.parse(unpackEvidence(truncated.stdout)).message, /truncated/);
        assert.equal(evidenceJs("nope", "").code, 2);
    });
});
