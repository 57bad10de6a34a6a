import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { RECORD_MATCHES, abridgeEvidence } from "../../components/core/evidence-record";
import { needsPerson, renderReport } from "../../components/tools/report/render";
import { LAB_EVIDENCE, labPath } from "../fixtures/lab-cloud";
import { labInventory, recordOf, runLab } from "../helpers/lab-run";

/** The evidence the engine printed for the demo disk (`npm run demo`): 4 partitions, one file quarantined, one kept. */
const DEMO = fs.readFileSync(path.join(__dirname, "../fixtures/demo-evidence.json"), "utf8").trim();

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** An evidence document with `n` matching files on one volume, the last `moved` of them quarantined. */
function manyMatches(n: number, moved: number): string {
    const matches = Array.from({ length: n }, (_, i) => ({
        rule: "r",
        path: `Windows/System32/drivers/CrowdStrike/C-00000291-${String(i).padStart(8, "0")}.sys`,
        sizeBytes: 10,
        modifiedAt: "2024-07-19T04:09:13Z",
        sha256: "a".repeat(64),
        action: i >= n - moved ? "quarantined" : "kept",
    }));
    return JSON.stringify({
        tool: "bootloop-rescue/repair-disk",
        outcome: "repaired",
        exitCode: 0,
        message: "m",
        volumes: [{ partition: 3, outcome: "repaired", quarantineFolder: "q", matches }],
    });
}

describe("the evidence a VM's record carries", () => {
    it("keeps the verdict and the files moved, drops partitions, mounts, rules, timings and kept files, and names the full document by hash", () => {
        const full = JSON.parse(DEMO);
        const record = JSON.parse(abridgeEvidence(DEMO, "vm-1-repair"));
        for (const k of ["tool", "version", "dryRun", "outcome", "exitCode", "message", "durationMs"])
            assert.deepEqual(record[k], full[k], k);
        for (const k of ["rules", "disk", "partitions", "startedAt"]) assert.ok(!(k in record), `${k} stays in the full document`);
        assert.deepEqual(record.volumes, [
            {
                partition: 3,
                outcome: "repaired",
                quarantineFolder: full.volumes[0].quarantineFolder,
                matches: full.volumes[0].matches
                    .filter((m: Record<string, string>) => m.action === "quarantined")
                    .map((m: Record<string, string>) => ({ path: m.path, modifiedAt: m.modifiedAt, sha256: m.sha256, action: m.action })),
                matchesNotListed: 1,
            },
        ]);
        assert.equal(full.volumes[0].matches.length, 2, "the demo disk has a faulty file and a good one");
        assert.deepEqual(record.full, { sha256: sha256(DEMO), bytes: Buffer.byteLength(DEMO), keptBy: "vm-1-repair" });
        assert.ok(abridgeEvidence(DEMO, "vm-1-repair").length * 3 < JSON.stringify(full).length, "a third of the compact document at most");
    });

    it("lists the files moved (or to be moved, in a dry run), RECORD_MATCHES at most over all volumes, and counts the rest", () => {
        const few = JSON.parse(abridgeEvidence(manyMatches(5000, 3), "k"));
        assert.deepEqual(
            few.volumes[0].matches.map((m: { path: string }) => m.path.slice(-12)),
            ["00004997.sys", "00004998.sys", "00004999.sys"],
        );
        assert.equal(few.volumes[0].matchesNotListed, 4997);
        const many = JSON.parse(abridgeEvidence(manyMatches(5000, 5000), "k"));
        assert.equal(many.volumes[0].matches.length, RECORD_MATCHES);
        assert.equal(many.volumes[0].matchesNotListed, 5000 - RECORD_MATCHES);
        assert.ok(abridgeEvidence(manyMatches(5000, 5000), "k").length < 5000, "bounded, whatever the disk holds");
        const twoVolumes = JSON.parse(manyMatches(15, 15));
        twoVolumes.volumes.push({ ...twoVolumes.volumes[0], partition: 4 });
        const both = JSON.parse(abridgeEvidence(JSON.stringify(twoVolumes), "k")).volumes;
        assert.deepEqual(
            both.map((v: { matches: unknown[]; matchesNotListed?: number }) => [v.matches.length, v.matchesNotListed]),
            [
                [15, undefined],
                [RECORD_MATCHES - 15, 30 - RECORD_MATCHES],
            ],
        );
        const dryRun = JSON.parse(manyMatches(2, 0));
        dryRun.volumes[0].matches[1].action = "would-quarantine";
        assert.deepEqual(
            JSON.parse(abridgeEvidence(JSON.stringify(dryRun), "k")).volumes[0].matches.map((m: { action: string }) => m.action),
            ["would-quarantine"],
        );
    });

    it("an unreadable document is said so, with its hash; nothing repaired is nothing", () => {
        assert.deepEqual(JSON.parse(abridgeEvidence("garbage", "k")), {
            outcome: "unknown",
            message: "the evidence is not a JSON document",
            full: { sha256: sha256("garbage"), bytes: 7, keptBy: "k" },
        });
        assert.equal(JSON.parse(abridgeEvidence("[1]", "k")).outcome, "unknown");
        assert.equal(abridgeEvidence("", "k"), "");
        const placeholder = JSON.stringify({ outcome: "unknown", message: "the evidence arrived truncated" });
        assert.equal(JSON.parse(abridgeEvidence(placeholder, "k")).message, "the evidence arrived truncated");
    });

    it("the report reads the abridged evidence as it read the full one", () => {
        const vm = {
            key: "k",
            cloud: "aws",
            label: "aws k",
            strategy: "repair",
            wave: 0,
            status: "recovered",
            timings: { totalSeconds: 10 },
        };
        const line = (evidence: string) =>
            renderReport({ vms: { k: { ...vm, evidence } } }, "x", new Date(0))
                .split("\n")
                .find((l) => l.startsWith("| aws | aws k"));
        assert.equal(line(abridgeEvidence(DEMO, "k")), line(DEMO));
        assert.match(line(DEMO)!, /C-00000291-00000000-00000032\.sys \(2024-07-19T04:09:13Z/);
        const locked = JSON.stringify({ outcome: "locked", exitCode: 4, message: "BitLocker: no recovery password" });
        assert.equal(needsPerson({ ...vm, evidence: abridgeEvidence(locked, "k") }), needsPerson({ ...vm, evidence: locked }));
    });

    it("in a chain: the record abridges what the repair printed, or what the swap read back, and names that command", async () => {
        for (const swapKeepsEvidence of [false, true]) {
            const run = await runLab(labInventory([{ machine: "m1" }]), {}, { paths: [labPath({ swapKeepsEvidence })] });
            const vm = run.result.plan.vms[0];
            const record = await recordOf(run, vm.key);
            const evidence = JSON.parse(String(record.evidence));
            assert.equal(evidence.outcome, "repaired");
            assert.deepEqual(evidence.full, {
                sha256: sha256(LAB_EVIDENCE),
                bytes: LAB_EVIDENCE.length,
                keptBy: `${vm.slug}-${swapKeepsEvidence ? "swap" : "repair"}`,
            });
        }
    });
});
