import { strict as assert } from "assert";
import { spawn } from "child_process";
import { randomBytes } from "crypto";
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
            if (req.method === "DELETE") {
                deletes.push(key);
                attributes.delete(key);
            }
            if (req.method === "GET" && key === "?recursive=true") {
                // The instance's metadata as one JSON object (what the agent reads attempts from).
                res.end(JSON.stringify(Object.fromEntries(attributes)));
                return;
            }
            if (req.method === "GET" && !attributes.has(key)) res.statusCode = 404;
            res.end(req.method === "GET" ? (attributes.get(key) ?? "") : undefined);
        });
    });
    return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () =>
            resolve({
                url: `http://127.0.0.1:${(server.address() as any).port}/guest-attributes/bootloop-rescue`,
                attributes,
                deletes,
                close: () => server.close(),
            }),
        ),
    );
}

/** A rescue instance's folders, with a stand-in on-rescue.sh (its body given) and attached disks. */
function rescueInstance(onRescue: string, disks: string[], md: { url: string }, env: Record<string, string> = {}) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "agent-"));
    const lib = path.join(root, "lib");
    const byid = path.join(root, "by-id");
    fs.mkdirSync(lib);
    fs.mkdirSync(byid);
    fs.writeFileSync(
        path.join(lib, "on-rescue.sh"),
        `#!/bin/sh\necho "$DISK_HANDLE_KIND $DISK_HANDLE $EVIDENCE_ENCODING" >> "${root}/runs"\necho "$RULE_SET" >> "${root}/rule-sets"\n${onRescue}\n`,
        { mode: 0o755 },
    );
    for (const name of disks) fs.symlinkSync("/dev/null", path.join(byid, `google-${name}`));
    const metadata = md.url.replace(/\/guest-attributes\/bootloop-rescue$/, "/attributes");
    const full = {
        ...process.env,
        BOOTLOOP_RESCUE_LIB: lib,
        BOOTLOOP_RESCUE_STATE: path.join(root, "state"),
        BOOTLOOP_RESCUE_BYID: byid,
        BOOTLOOP_RESCUE_ATTRIBUTES: md.url,
        BOOTLOOP_RESCUE_METADATA: metadata,
        ...env,
    };
    const once = () =>
        new Promise<void>((resolve, reject) => {
            const r = spawn("bash", [AGENT, "--once"], { env: full });
            r.on("close", (code: number) => (code === 0 ? resolve() : reject(new Error(`agent exited ${code}`))));
        });
    /** What on-rescue.sh was run with, one line per run: handle kind, handle, encoding. */
    const runs = () =>
        fs.existsSync(path.join(root, "runs")) ? fs.readFileSync(path.join(root, "runs"), "utf8").trim().split("\n").sort() : [];
    /** The RULE_SET each run of on-rescue.sh was given. */
    const ruleSets = () => fs.readFileSync(path.join(root, "rule-sets"), "utf8").split("\n").slice(0, -1);
    return { root, lib, byid, once, runs, ruleSets };
}

/** The evidence line the agent published for a device, joined from its chunks. */
function published(attributes: Map<string, string>, name: string): string {
    const n = Number(attributes.get(`${name}-chunks`));
    return [...Array(n).keys()].map((i) => attributes.get(`${name}-c${i}`)!).join("");
}

(process.getuid?.() === 0 ? describe : describe.skip)("GCP rescue agent (stand-in on-rescue.sh, loopback metadata server)", function () {
    this.timeout(30_000);

    it("names to each repair the secret that holds its disk's keys, found in the metadata by the device's VM stem; none, or one that is no secret's name, names none", async () => {
        const md = await metadataServer();
        try {
            md.attributes.set("bootloop-rescue-secret-web-1-1234abcd", "projects/rescue-demo-0/secrets/web-1-keys/versions/3");
            md.attributes.set("bootloop-rescue-secret-web-2-5678abcd", "projects/rescue-demo-0/secrets/x; reboot");
            const disks = ["br-web-1-1234abcd-a1b2c3", "br-web-2-5678abcd-d4e5f6", "br-web-3-9999abcd-0a0b0c"];
            const vm = rescueInstance(
                'echo "$DISK_HANDLE $KEY_SECRET_KIND $KEY_SECRET" >> "$(dirname "$0")/../keys"; echo "{}"',
                disks,
                md,
            );
            await vm.once();
            const seen = fs
                .readFileSync(path.join(vm.root, "keys"), "utf8")
                .trim()
                .split("\n")
                .map((l) => l.trimEnd())
                .sort();
            assert.deepEqual(seen, [
                "br-web-1-1234abcd-a1b2c3 gcp-secret-manager projects/rescue-demo-0/secrets/web-1-keys/versions/3",
                "br-web-2-5678abcd-d4e5f6 gcp-secret-manager",
                "br-web-3-9999abcd-0a0b0c gcp-secret-manager",
            ]);
        } finally {
            md.close();
        }
    });

    it("repairs a Linux guest's disk (device name ending -linux) with the instance's Linux rule set, and a Windows one beside it with the Windows rule set", async () => {
        const md = await metadataServer();
        try {
            md.attributes.set("bootloop-rescue-rule-set", "crowdstrike-291-txr");
            md.attributes.set("bootloop-rescue-linux-rule-set", "falcon-linux-2024");
            const vm = rescueInstance(
                'echo "$DISK_HANDLE $RULE_SET" >> "$(dirname "$0")/../pairs"; echo "{}"',
                ["br-web-1-a1b2c3", "br-db-1-d4e5f6-linux"],
                md,
            );
            await vm.once();
            assert.deepEqual(fs.readFileSync(path.join(vm.root, "pairs"), "utf8").trim().split("\n").sort(), [
                "br-db-1-d4e5f6-linux falcon-linux-2024",
                "br-web-1-a1b2c3 crowdstrike-291-txr",
            ]);
        } finally {
            md.close();
        }
    });

    it("passes the rule set the instance's metadata names to each repair; none, or one that is no name, leaves the engine's default", async () => {
        const md = await metadataServer();
        try {
            md.attributes.set("bootloop-rescue-rule-set", "crowdstrike-291-txr");
            const txr = rescueInstance('echo "{}"', ["br-a"], md);
            await txr.once();
            assert.deepEqual(txr.ruleSets(), ["crowdstrike-291-txr"]);
            md.attributes.set("bootloop-rescue-rule-set", "x; reboot");
            const odd = rescueInstance('echo "{}"', ["br-b"], md);
            await odd.once();
            assert.deepEqual(odd.ruleSets(), [""]);
            md.attributes.delete("bootloop-rescue-rule-set");
            const none = rescueInstance('echo "{}"', ["br-c"], md);
            await none.once();
            assert.deepEqual(none.ruleSets(), [""]);
        } finally {
            md.close();
        }
    });

    it("skips partition device names only: instances named partner-portal or db-part2 are repaired", async () => {
        const md = await metadataServer();
        try {
            const ok = `echo '{"outcome":"repaired","exitCode":0}'`;
            const names = ["br-partner-portal-a1b2c3", "br-db-part2-d4e5f6", "br-db-part2-d4e5f6-part1", "br-web-1-abc123-part12"];
            const rescue = rescueInstance(ok, names, md);
            await rescue.once();
            assert.deepEqual(
                rescue.runs().map((r) => r.split(" ")[1]),
                ["br-db-part2-d4e5f6", "br-partner-portal-a1b2c3"],
            );
        } finally {
            md.close();
        }
    });

    it("publishes evidence far beyond an argument's size limit intact (read from a file), and withdraws all of it", async () => {
        const md = await metadataServer();
        try {
            // About 300 KB of packed evidence (5,000 matching files' worth), more than the 128 KiB an argument may hold.
            const line = `gzip-base64:${randomBytes(225_000).toString("base64")}`;
            const rescue = rescueInstance("", ["br-big-a1b2c3"], md);
            fs.writeFileSync(path.join(rescue.lib, "evidence"), `${line}\n`);
            fs.appendFileSync(path.join(rescue.lib, "on-rescue.sh"), `cat "${path.join(rescue.lib, "evidence")}"\n`);
            await rescue.once();
            assert.equal(md.attributes.get("br-big-a1b2c3-code"), "0");
            assert.equal(published(md.attributes, "br-big-a1b2c3"), line);
            const chunks = Number(md.attributes.get("br-big-a1b2c3-chunks"));
            assert.ok(chunks > 64);
            fs.unlinkSync(path.join(rescue.byid, "google-br-big-a1b2c3"));
            await rescue.once();
            assert.equal([...md.attributes.keys()].filter((k) => k.startsWith("br-big-a1b2c3")).length, 0, "every chunk withdrawn");
        } finally {
            md.close();
        }
    });

    it("stops a repair that exceeds the per-disk time limit and publishes why; the other disks go on", async () => {
        const md = await metadataServer();
        try {
            const rescue = rescueInstance(
                `case "$DISK_HANDLE" in *slow*) sleep 30;; esac\necho '{"outcome":"repaired","exitCode":0}'`,
                ["br-slow-a1b2c3", "br-fast-d4e5f6"],
                md,
                { BOOTLOOP_RESCUE_DISK_TIMEOUT: "1" },
            );
            await rescue.once();
            assert.equal(md.attributes.get("br-fast-d4e5f6-code"), "0");
            assert.equal(md.attributes.get("br-slow-a1b2c3-code"), "6");
            assert.match(
                published(md.attributes, "br-slow-a1b2c3"),
                /the repair did not finish within 1 s on the rescue instance; it was stopped/,
            );
        } finally {
            md.close();
        }
    });

    it("repairs a disk again when the stack asks for a later attempt (a retry), once the earlier repair published; the result carries its attempt", async () => {
        const md = await metadataServer();
        try {
            const vm = rescueInstance(
                'echo "{\\"n\\":$(wc -l < "$(dirname "$0")/../runs")}"',
                ["br-web-1-abc123", "br-web-2-def456-linux"],
                md,
            );
            await vm.once();
            assert.equal(vm.runs().length, 2);
            assert.equal(md.attributes.get("br-web-1-abc123-attempt"), "1", "the first attempt says so");
            // The stack asks for attempt 2 of web-1 (and names a bogus attempt for web-2): only web-1 runs again.
            md.attributes.set("bootloop-rescue-attempt-web-1", "2");
            md.attributes.set("bootloop-rescue-attempt-web-2", "x; reboot");
            await vm.once();
            assert.deepEqual(vm.runs(), [
                "gcp-device-name br-web-1-abc123 gzip-base64",
                "gcp-device-name br-web-1-abc123 gzip-base64",
                "gcp-device-name br-web-2-def456-linux gzip-base64",
            ]);
            assert.equal(md.attributes.get("br-web-1-abc123-attempt"), "2");
            assert.ok(md.deletes.includes("br-web-1-abc123-chunks"), "the first attempt's result was withdrawn before the retry");
            assert.equal(md.attributes.get("br-web-2-def456-linux-attempt"), "1");
            // Attempt 2 is done: it is not repaired a third time.
            await vm.once();
            assert.equal(vm.runs().length, 3);
        } finally {
            md.close();
        }
    });

    it("repairs each newly attached br-* disk once, publishes the evidence in chunks, and forgets a detached disk", async () => {
        const md = await metadataServer();
        try {
            const evidence = {
                tool: "bootloop-rescue/repair-disk",
                outcome: "repaired",
                exitCode: 0,
                message: randomBytes(900).toString("hex"),
            };
            const line = `gzip-base64:${zlib.gzipSync(JSON.stringify(evidence)).toString("base64")}`;
            const { root, byid, once, runs } = rescueInstance(
                `echo '${line}'\nexit 0`,
                ["br-web-1-abc123", "br-web-1-abc123-part1", "persistent-disk-0"],
                md,
            );
            await once();
            assert.deepEqual(
                runs(),
                ["gcp-device-name br-web-1-abc123 gzip-base64"],
                "only the br-* disk, not its partition or the boot disk",
            );
            const n = Number(md.attributes.get("br-web-1-abc123-chunks"));
            assert.ok(n > 1, "published in chunks");
            assert.equal(md.attributes.get("br-web-1-abc123-code"), "0");
            assert.ok([...Array(n).keys()].every((i) => md.attributes.get(`br-web-1-abc123-c${i}`)!.length <= 240));
            assert.equal(published(md.attributes, "br-web-1-abc123"), line);

            await once();
            assert.equal(runs().length, 1, "a disk is repaired once");

            fs.unlinkSync(path.join(byid, "google-br-web-1-abc123"));
            await once();
            assert.ok(md.deletes.includes("br-web-1-abc123-chunks"), "a detached disk's result is withdrawn");
            assert.ok(!fs.existsSync(path.join(root, "state", "started", "br-web-1-abc123")));
        } finally {
            md.close();
        }
    });
});
