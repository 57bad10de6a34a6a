// The rescue tools on AWS travel in parts (components/aws/tools.ts): each part document's script,
// run with /bin/sh as Systems Manager runs it, in any order and any number of times, installs the
// tools byte-identical to rescue/ in a folder of their version once the set is complete; a part
// that does not add up installs nothing; the repair document runs on-rescue.sh from that folder, or
// prints on-rescue's own "cannot run" evidence (exit 6) when the tools never came.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repairDocumentContent } from "../../components/aws/rescue";
import { TOOLS_WAIT_SECONDS } from "../../components/aws/step-waits";
import { SSM_DOCUMENT_MAX_BYTES, TOOLS_PART_CHARS, ToolsPart, toolsDeliveryKey, toolsPartDocuments } from "../../components/aws/tools";
import { ToolsBundle, rescueTools, toolContent, toolsBundle } from "../../rescue/payload";

const TOOLS = ["repair-disk", "find-disk", "fetch-key", "on-rescue.sh"];
const script = (content: string): string => (JSON.parse(content).mainSteps[0].inputs.runCommand as string[]).join("\n");

/** Runs a document's script with /bin/sh (dash here, as on Ubuntu), the tools' folder under `lib`. */
function runDocument(content: string, lib: string, env: Record<string, string> = {}) {
    const r = spawnSync("/bin/sh", ["-c", script(content)], {
        env: { PATH: process.env.PATH, BOOTLOOP_RESCUE_LIB: lib, ...env },
        encoding: "utf8",
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("AWS rescue tools in parts", function () {
    this.timeout(60_000);
    let lib: string;
    beforeEach(() => (lib = fs.mkdtempSync(path.join(os.tmpdir(), "aws-tools-"))));
    afterEach(() => fs.rmSync(lib, { recursive: true, force: true }));

    const version = rescueTools().version;
    const installed = () => path.join(lib, "tools", version);

    it("every part document is under Systems Manager's 64 KB, and the parts are the whole bundle", () => {
        const parts = toolsPartDocuments();
        assert.ok(parts.length >= 2, "the tools no longer fit one document");
        for (const p of parts) {
            assert.ok(Buffer.byteLength(p.content) <= SSM_DOCUMENT_MAX_BYTES, `part ${p.index}: ${Buffer.byteLength(p.content)} bytes`);
            assert.deepEqual([p.count, JSON.parse(p.content).parameters], [parts.length, undefined], "a part takes no parameter");
        }
        const chars = parts.map((p) => /printf '%s' '([A-Za-z0-9+/=]+)'/.exec(script(p.content))![1]).join("");
        assert.ok(Buffer.from(chars, "base64").equals(toolsBundle().bytes));
        // Deterministic: no timestamp in the bundle's gzip header, and its OS byte fixed to Unix.
        assert.deepEqual([...toolsBundle().bytes.subarray(4, 10)], [0, 0, 0, 0, 2, 3]);
        assert.deepEqual(toolsPartDocuments(), parts);
        assert.match(toolsDeliveryKey(parts), /^[0-9a-f]{10}$/);
    });

    it("installs the tools byte-identical to rescue/, executable, only once every part is there, in any order; again changes nothing", () => {
        const parts = toolsPartDocuments();
        for (const p of [...parts].reverse()) {
            assert.ok(!fs.existsSync(path.join(installed(), "version")), "nothing installed before the last part");
            const r = runDocument(p.content, lib);
            assert.equal(r.code, 0, r.stderr);
        }
        for (const name of TOOLS) {
            assert.ok(fs.readFileSync(path.join(installed(), name)).equals(toolContent(name)), name);
            assert.equal(fs.statSync(path.join(installed(), name)).mode & 0o777, 0o755, name);
        }
        assert.equal(fs.readFileSync(path.join(installed(), "version"), "utf8"), `${version}\n`);
        assert.deepEqual(fs.readdirSync(lib).sort(), [".parts", "tools"], "no stage left behind");
        assert.deepEqual(fs.readdirSync(path.join(lib, ".parts")), [], "the parts are gone once installed");
        // An association applied again (State Manager may), or a part that arrives late: nothing changes.
        const before = fs.statSync(path.join(installed(), "repair-disk")).mtimeMs;
        const again = runDocument(parts[0].content, lib);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, new RegExp(`rescue tools ${version} are installed`));
        assert.equal(fs.statSync(path.join(installed(), "repair-disk")).mtimeMs, before);
    });

    it("parts that do not add up install nothing and say so", () => {
        const parts = toolsPartDocuments();
        const broken = parts.map((p) =>
            p.index === 1 ? { ...p, content: p.content.replace(/printf '%s' '([A-Za-z0-9+/]{8})/, "printf '%s' 'AAAAAAAA") } : p,
        );
        assert.notEqual(broken[0].content, parts[0].content);
        const results = broken.map((p) => runDocument(p.content, lib));
        const last = results[results.length - 1];
        assert.equal(last.code, 1);
        assert.match(
            last.stderr,
            new RegExp(
                `the ${parts.length} parts of rescue tools ${version} do not add up \\(sha256 [0-9a-f]{64}, expected ${toolsBundle().sha256}\\)`,
            ),
        );
        assert.ok(!fs.existsSync(installed()));
    });

    it("an engine twice the size makes more parts, none larger", () => {
        const now = toolsBundle();
        // Incompressible bytes: the worst case for the base64 that the parts carry.
        const bytes = randomBytes(now.bytes.length * 2);
        const doubled: ToolsBundle = { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), version: now.version };
        const parts: ToolsPart[] = toolsPartDocuments(doubled);
        assert.ok(parts.length > toolsPartDocuments().length);
        for (const p of parts) assert.ok(Buffer.byteLength(p.content) <= SSM_DOCUMENT_MAX_BYTES, `part ${p.index} of ${p.count}`);
        assert.ok(TOOLS_PART_CHARS + 4096 < SSM_DOCUMENT_MAX_BYTES);
    });

    it("the repair document runs on-rescue.sh from the folder of its tools version, or prints why it cannot (exit 6)", () => {
        const repair = repairDocumentContent("crowdstrike-291");
        assert.ok(Buffer.byteLength(repair) < 8 * 1024, "the repair document carries no tools");
        const substituted = repair.replace("{{ volumeId }}", "vol-0123456789abcdef0").replace("{{ keySecret }}", "");
        const missing = runDocument(substituted.replace("{{ evidencePart }}", ""), lib, { BOOTLOOP_TOOLS_WAIT_SECONDS: "0" });
        assert.equal(missing.code, 6);
        assert.deepEqual(JSON.parse(missing.stdout), {
            tool: "bootloop-rescue/on-rescue",
            outcome: "error",
            exitCode: 6,
            message: `rescue tools ${version} were not delivered to this rescue instance within ${TOOLS_WAIT_SECONDS} s (one State Manager association per part delivers them: see the association history of this instance)`,
        });
        assert.match(missing.stderr, /were not delivered to this rescue instance/);

        for (const p of toolsPartDocuments()) assert.equal(runDocument(p.content, lib).code, 0);
        // An evidence part asked for: on-rescue.sh (of these tools: it checks TOOLS_VERSION against
        // its folder's version file) answers that none is kept, touching nothing.
        const ran = runDocument(substituted.replace("{{ evidencePart }}", "1"), lib, { BOOTLOOP_RESCUE_LOG_DIR: path.join(lib, "log") });
        assert.equal(ran.code, 6, ran.stderr);
        assert.equal(JSON.parse(ran.stdout).message, "no evidence in parts is kept for this disk");
    });
});
