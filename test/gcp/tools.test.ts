// The rescue tools on GCP travel in project metadata (components/gcp/tools.ts): the startup
// script's tools lines, run with bash as the guest agent runs a startup script, against a stand-in
// metadata server on this machine, install the tools byte-identical to rescue/ in a folder of their
// version once every item is read and the whole has its SHA-256; an item that is missing, altered
// or longer than it may be installs nothing; tools already installed are not read again.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { startupScript } from "../../components/gcp/rescue";
import {
    GCE_METADATA_VALUE_MAX_BYTES,
    TOOLS_ITEM_CHARS,
    ToolsItem,
    stacksSharingScope,
    toolsFitProjectMetadata,
    toolsInstallLines,
    toolsItems,
} from "../../components/gcp/tools";
import { RESCUE_LIB, ToolsBundle, rescueTools, toolContent, toolsBundle } from "../../rescue/payload";

const TOOLS = ["repair-disk", "find-disk", "fetch-key", "on-rescue.sh"];

/** A metadata server's project attributes: `items` by key, only to requests with Metadata-Flavor: Google; every path asked, in order. */
async function metadataServer(items: Record<string, string>): Promise<{ url: string; asked: string[]; close: () => Promise<void> }> {
    const asked: string[] = [];
    const server = http.createServer((req, res) => {
        asked.push(req.url ?? "");
        const key = /^\/computeMetadata\/v1\/project\/attributes\/([A-Za-z0-9_-]+)$/.exec(req.url ?? "")?.[1];
        if (req.headers["metadata-flavor"] !== "Google") res.writeHead(403).end("Missing Metadata-Flavor:Google header.");
        else if (key === undefined || items[key] === undefined) res.writeHead(404).end("not found");
        else res.writeHead(200, { "Content-Type": "application/text" }).end(items[key]);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}/computeMetadata/v1/project/attributes`,
        asked,
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
}

/** Runs the tools lines of a startup script with bash (the script's own shell), the tools under `lib`. */
function runLines(lines: string[], lib: string, attributes: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        // stdin closed: bash given a socket there reads ~/.bashrc (its rshd rule).
        const child = spawn("/bin/bash", ["--norc", "-c", ["set -eu", ...lines].join("\n")], {
            stdio: ["ignore", "pipe", "pipe"],
            env: { PATH: process.env.PATH, BOOTLOOP_RESCUE_LIB: lib, BOOTLOOP_RESCUE_PROJECT_ATTRIBUTES: attributes },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

const asMap = (items: readonly ToolsItem[]) => Object.fromEntries(items.map((i) => [i.key, i.value]));

describe("GCP rescue tools in project metadata", function () {
    this.timeout(60_000);
    let lib: string;
    beforeEach(() => (lib = fs.mkdtempSync(path.join(os.tmpdir(), "gcp-tools-"))));
    afterEach(() => fs.rmSync(lib, { recursive: true, force: true }));

    const version = rescueTools().version;
    const installed = () => path.join(lib, "tools", version);

    it("each item is under a metadata value's 256 KiB, the items are the whole bundle, and another stack has other keys", () => {
        const items = toolsItems("dev");
        for (const i of items) {
            assert.ok(Buffer.byteLength(i.value) <= GCE_METADATA_VALUE_MAX_BYTES, `${i.key}: ${i.value.length} bytes`);
            assert.match(i.key, /^bootloop-rescue-tools-[0-9a-f]{12}-[0-9a-f]{8}-[0-9]+of[0-9]+$/);
            assert.ok(i.key.length <= 128, "a metadata key is at most 128 characters");
        }
        assert.ok(Buffer.from(items.map((i) => i.value).join(""), "base64").equals(toolsBundle().bytes));
        assert.deepEqual(toolsItems("dev"), items, "same tools, same items");
        const other = toolsItems("prod-shard-2");
        assert.deepEqual(
            other.map((i) => i.value),
            items.map((i) => i.value),
        );
        assert.ok(
            other.every((o) => !items.some((i) => i.key === o.key)),
            "two stacks of one project never declare one key",
        );
    });

    it("one stack's copy fits a project's 512 KB of metadata, twice over (an update of the tools) beside the project's own; the copies of two stacks sharing it do not", () => {
        assert.deepEqual(
            [
                stacksSharingScope(1),
                stacksSharingScope(1 / 3),
                stacksSharingScope(0.333),
                stacksSharingScope(0.1),
                stacksSharingScope(0.05 / 2),
                stacksSharingScope(0.8),
            ],
            [1, 3, 4, 10, 40, 2],
        );
        assert.equal(toolsFitProjectMetadata(1), true);
        assert.equal(toolsFitProjectMetadata(2), false);
        // A smaller bundle would let more stacks share a project.
        const small: ToolsItem[] = [{ index: 1, count: 1, key: "k", value: "x".repeat(60_000) }];
        assert.equal(toolsFitProjectMetadata(3, small), true);
        assert.equal(toolsFitProjectMetadata(4, small), false);
    });

    it("the startup script carries no tools: a few KB that name their items, version and SHA-256; its agent runs the tools of that version", () => {
        const items = toolsItems("dev");
        const script = startupScript(items);
        assert.ok(Buffer.byteLength(script) < 16 * 1024, `${Buffer.byteLength(script)} bytes`);
        for (const i of items) assert.ok(script.includes(i.key) && !script.includes(i.value.slice(0, 200)), i.key);
        assert.ok(script.includes(`sha=${toolsBundle().sha256}`));
        assert.ok(script.split("\n").includes(`Environment=BOOTLOOP_RESCUE_LIB=${RESCUE_LIB}/tools/${version}`));
    });

    it("installs the tools byte-identical to rescue/, executable, from the metadata server; again reads nothing and changes nothing", async () => {
        const items = toolsItems("dev");
        const server = await metadataServer(asMap(items));
        try {
            const r = await runLines(toolsInstallLines(items), lib, server.url);
            assert.equal(r.code, 0, r.stderr);
            for (const name of TOOLS) {
                assert.ok(fs.readFileSync(path.join(installed(), name)).equals(toolContent(name)), name);
                assert.equal(fs.statSync(path.join(installed(), name)).mode & 0o777, 0o755, name);
            }
            assert.equal(fs.readFileSync(path.join(installed(), "version"), "utf8"), `${version}\n`);
            assert.deepEqual(fs.readdirSync(lib), ["tools"], "no stage left behind");
            assert.deepEqual(
                server.asked,
                items.map((i) => `/computeMetadata/v1/project/attributes/${i.key}`),
            );
            // The next boot (the startup script runs at every boot): nothing read, nothing written.
            const before = fs.statSync(path.join(installed(), "repair-disk")).mtimeMs;
            const again = await runLines(toolsInstallLines(items), lib, server.url);
            assert.equal(again.code, 0, again.stderr);
            assert.equal(server.asked.length, items.length);
            assert.equal(fs.statSync(path.join(installed(), "repair-disk")).mtimeMs, before);
        } finally {
            await server.close();
        }
    });

    it("an item altered, missing or longer than it may be installs nothing, and says which", async () => {
        const items = toolsItems("dev");
        const altered = { ...asMap(items), [items[0].key]: `AAAAAAAA${items[0].value.slice(8)}` };
        const missing = { ...asMap(items) };
        delete missing[items[items.length - 1].key];
        const longer = { ...asMap(items), [items[0].key]: items[0].value + "A".repeat(4096) };
        const cases: [string, Record<string, string>, RegExp][] = [
            [
                "altered",
                altered,
                new RegExp(
                    `the ${items.length} project metadata item\\(s\\) of rescue tools ${version} do not add up \\(sha256 [0-9a-f]{64}, expected ${toolsBundle().sha256}\\)`,
                ),
            ],
            [
                "missing",
                missing,
                new RegExp(`project metadata item ${items[items.length - 1].key} of rescue tools ${version} could not be read`),
            ],
            ["longer", longer, new RegExp(`project metadata item ${items[0].key} of rescue tools ${version} could not be read`)],
        ];
        for (const [what, served, message] of cases) {
            const server = await metadataServer(served);
            try {
                const r = await runLines(toolsInstallLines(items), lib, server.url);
                assert.equal(r.code, 1, `${what}: ${r.stderr}`);
                assert.match(r.stderr, message, `${what}: ${r.stderr}`);
                assert.ok(!fs.existsSync(installed()), `${what}: nothing installed`);
                assert.deepEqual(fs.readdirSync(path.join(lib, "tools")), [], `${what}: no stage left behind`);
                assert.deepEqual(
                    fs.readdirSync(lib).filter((f) => f.startsWith(".stage")),
                    [],
                );
            } finally {
                await server.close();
            }
        }
    });

    it("an engine twice the size makes more items under other keys, none larger than a metadata value may be", () => {
        const now = toolsBundle();
        // Incompressible bytes: the worst case for the base64 that the items carry.
        const bytes = randomBytes(now.bytes.length * 2);
        const doubled: ToolsBundle = { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), version: now.version };
        const items = toolsItems("dev", doubled);
        assert.ok(items.length > toolsItems("dev").length);
        // Other tools, other keys: a running instance's items are never rewritten under it.
        assert.ok(items.every((i) => !toolsItems("dev").some((d) => d.key === i.key)));
        for (const i of items) assert.ok(Buffer.byteLength(i.value) <= GCE_METADATA_VALUE_MAX_BYTES, `${i.key}`);
        assert.ok(TOOLS_ITEM_CHARS < GCE_METADATA_VALUE_MAX_BYTES);
    });
});
