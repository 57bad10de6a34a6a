import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";

const AGENT = path.join(__dirname, "../../components/gcp/rescue-agent.sh");

/** A metadata server on loopback that records guest-attribute writes and deletes. */
function metadataServer(): Promise<{ url: string; attributes: Map<string, string>; deletes: string[]; close(): void }> {
    const attributes = new Map<string, string>();
    const deletes: string[] = [];
    const server = http.createServer((req, res) => {
        const key = decodeURIComponent(req.url!.split("/").pop()!);
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
            assert.equal(req.headers["metadata-flavor"], "Google");
            if (req.method === "PUT") attributes.set(key, body);
            if (req.method === "DELETE") { deletes.push(key); attributes.delete(key); }
            res.end();
        });
    });
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as any).port}/guest-attributes/bootloop-rescue`, attributes, deletes, close: () => server.close() })));
}

(process.getuid?.() === 0 ? describe : describe.skip)("GCP rescue agent (stand-in on-rescue.sh, loopback metadata server)", function () {
    this.timeout(30_000);

    it("repairs each newly attached br-* disk once, publishes the evidence in chunks, and forgets a detached disk", async () => {
        const md = await metadataServer();
        try {
            const root = fs.mkdtempSync(path.join(os.tmpdir(), "agent-"));
            const lib = path.join(root, "lib");
            const byid = path.join(root, "by-id");
            fs.mkdirSync(lib);
            fs.mkdirSync(byid);
            const evidence = { tool: "bootloop-rescue/repair-disk", outcome: "repaired", exitCode: 0, message: require("crypto").randomBytes(900).toString("hex") };
            const line = `gzip-base64:${zlib.gzipSync(JSON.stringify(evidence)).toString("base64")}`;
            fs.writeFileSync(path.join(lib, "on-rescue.sh"), `#!/bin/sh\necho "$DISK_HANDLE_KIND $DISK_HANDLE $EVIDENCE_ENCODING" >> "${root}/runs"\necho '${line}'\nexit 0\n`, { mode: 0o755 });
            for (const name of ["br-web-1-abc123", "br-web-1-abc123-part1", "persistent-disk-0"]) fs.symlinkSync("/dev/null", path.join(byid, `google-${name}`));
            const env = { ...process.env, BOOTLOOP_RESCUE_LIB: lib, BOOTLOOP_RESCUE_STATE: path.join(root, "state"), BOOTLOOP_RESCUE_BYID: byid, BOOTLOOP_RESCUE_ATTRIBUTES: md.url };
            const once = () => new Promise<void>((resolve, reject) => {
                const r = spawn("bash", [AGENT, "--once"], { env });
                r.on("close", (code: number) => (code === 0 ? resolve() : reject(new Error(`agent exited ${code}`))));
            });
            await once();
            assert.deepEqual(fs.readFileSync(path.join(root, "runs"), "utf8").trim().split("\n"), ["gcp-device-name br-web-1-abc123 gzip-base64"], "only the br-* disk, not its partition or the boot disk");
            const n = Number(md.attributes.get("br-web-1-abc123-chunks"));
            assert.ok(n > 1, "published in chunks");
            assert.equal(md.attributes.get("br-web-1-abc123-code"), "0");
            const joined = [...Array(n).keys()].map((i) => md.attributes.get(`br-web-1-abc123-c${i}`)!).join("");
            assert.ok([...Array(n).keys()].every((i) => md.attributes.get(`br-web-1-abc123-c${i}`)!.length <= 240));
            assert.equal(joined, line);

            await once();
            assert.equal(fs.readFileSync(path.join(root, "runs"), "utf8").trim().split("\n").length, 1, "a disk is repaired once");

            fs.unlinkSync(path.join(byid, "google-br-web-1-abc123"));
            await once();
            assert.ok(md.deletes.includes("br-web-1-abc123-chunks"), "a detached disk's result is withdrawn");
            assert.ok(!fs.existsSync(path.join(root, "state", "started", "br-web-1-abc123")));
        } finally {
            md.close();
        }
    });
});
