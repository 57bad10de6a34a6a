// Evidence of any size comes back intact: 5,000 matching files on a real NTFS disk, repaired by the
// engine through on-rescue.sh as the AWS repair document runs it (output capped as Systems Manager
// caps it), then reassembled by the AWS repair script from the parts (stand-in aws CLI).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { ENGINE, buildImage, requireDiskLab, skipDiskLab, workDir } from "./disk-lab";
import { SCRATCH, op, repairEnv, run, world } from "../aws/run-script";
import { unpackEvidence } from "../../components/core/cloud-steps";
import { EVIDENCE_PART_CHARS } from "../../components/aws/rescue";

const ON_RESCUE = path.join(__dirname, "../../rescue/on-rescue.sh");
const CS = "Windows/System32/drivers/CrowdStrike";

(skipDiskLab() ? describe.skip : describe)("evidence of 5,000 matching files comes back intact", function () {
    this.timeout(900_000);
    before(requireDiskLab);

    it("on-rescue prints it in parts under Systems Manager's output cap; the AWS repair step reassembles and checks them", () => {
        const files = Array.from({ length: 5000 }, (_, i) => ({
            path: `${CS}/C-00000291-00000000-${String(i).padStart(8, "0")}.sys`,
            mtime: "2024-07-19T04:09:30Z",
            content: `faulty ${i}`,
        }));
        const img = buildImage(
            "gpt",
            [
                { kind: "efi", sizeMiB: 8 },
                { kind: "windows", sizeMiB: 120, files },
            ],
            160,
        );
        const lib = fs.mkdtempSync(path.join(workDir, "lib-"));
        const logs = fs.mkdtempSync(path.join(workDir, "logs-"));
        fs.writeFileSync(path.join(lib, "find-disk"), `#!/bin/sh\necho ${img.image}\n`, { mode: 0o755 });
        fs.symlinkSync(ENGINE, path.join(lib, "repair-disk"));
        const env = {
            PATH: process.env.PATH!,
            BOOTLOOP_RESCUE_LIB: lib,
            BOOTLOOP_RESCUE_LOG_DIR: logs,
            DISK_HANDLE_KIND: "aws-volume-id",
            DISK_HANDLE: SCRATCH,
            EVIDENCE_ENCODING: "gzip-base64",
            EVIDENCE_MAX_CHARS: String(EVIDENCE_PART_CHARS),
        };
        const first = spawnSync("bash", [ON_RESCUE], { encoding: "utf8", env, timeout: 600_000 });
        assert.equal(first.status, 0, first.stderr);
        const head = /^parts:(\d+):([0-9a-f]{64}):(.*)$/.exec(first.stdout.trim());
        assert.ok(head, `announced in parts: ${first.stdout.slice(0, 80)}`);
        const count = Number(head[1]);
        assert.ok(count > 1 && first.stdout.length < 24_000, "each output stays under Systems Manager's 24,000 characters");
        const outputs = [first.stdout.trim()];
        for (let i = 1; i < count; i++) {
            const part = spawnSync("bash", [ON_RESCUE], { encoding: "utf8", env: { ...env, EVIDENCE_PART: String(i) } });
            assert.equal(part.status, 0, part.stderr);
            assert.ok(part.stdout.length <= EVIDENCE_PART_CHARS + 1);
            outputs.push(part.stdout.trim());
        }
        const whole = head[3] + outputs.slice(1).join("");
        assert.equal(crypto.createHash("sha256").update(whole).digest("hex"), head[2]);
        const evidence = JSON.parse(zlib.gunzipSync(Buffer.from(whole.slice("gzip-base64:".length), "base64")).toString());
        assert.equal(evidence.outcome, "repaired");
        assert.equal(evidence.volumes[0].matches.filter((m: any) => m.action === "quarantined").length, 5000);
        assert.deepEqual(
            evidence,
            JSON.parse(fs.readFileSync(path.join(logs, `${SCRATCH}.json`), "utf8")),
            "what the engine wrote, byte for byte",
        );

        // The deployer side: the AWS repair step asks for the other parts and reassembles them.
        const w = world();
        w.ssm.outputs = { [SCRATCH]: outputs };
        const r = run("repair", repairEnv, w);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(unpackEvidence(r.stdout)), evidence);
        const parts = r.calls.filter((c) => op(c) === "ssm send-command").slice(1);
        assert.equal(parts.length, count - 1);
        parts.forEach((c, i) => assert.ok(c.includes(`volumeId=${SCRATCH},evidencePart=${i + 1}`), c.join(" ")));
        assert.match(r.stderr, new RegExp(`reading it in ${count} parts`));

        // A part that does not match the announced hash fails the step, saying so. (Its last
        // character is changed to another one: setting it to a fixed letter left it as it was when
        // the part already ended in that letter, one run in 64.)
        const bad = world();
        const altered = (o: string) => o.slice(0, -1) + (o.endsWith("A") ? "B" : "A");
        bad.ssm.outputs = { [SCRATCH]: [outputs[0], ...outputs.slice(1).map((o, i) => (i === 0 ? altered(o) : o))] };
        const broken = run("repair", repairEnv, bad);
        assert.equal(broken.code, 1);
        assert.match(broken.stderr, /the evidence parts did not reassemble \(sha256 differs\)/);
    });
});
