import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JavaScript without type declarations (see its header), which an import cannot load without allowJs
const { startSecretStore, fetchKeyEnv } = require("../helpers/secret-store-stand-in");

const ON_RESCUE = path.join(__dirname, "../../rescue/on-rescue.sh");

/** A lib folder with stand-in find-disk and repair-disk that record what they were given. */
function lib(evidence: Record<string, unknown>, code = 0) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "on-rescue-"));
    fs.writeFileSync(path.join(dir, "find-disk"), `#!/bin/sh\necho "$@" > "${dir}/find-args"\necho /dev/fake-disk\n`, { mode: 0o755 });
    fs.writeFileSync(
        path.join(dir, "repair-disk"),
        `#!/bin/sh\necho "$@" > "${dir}/repair-args"\nfor a in "$@"; do case "$prev" in --bitlocker-key-file) stat -c %a "$a" > "${dir}/key-mode"; cat "$a" > "${dir}/key-seen"; echo "$a" > "${dir}/key-path";; esac; prev=$a; done\necho '${JSON.stringify(evidence)}'\nexit ${code}\n`,
        { mode: 0o755 },
    );
    return dir;
}

function run(dir: string, env: Record<string, string>) {
    return spawnSync("bash", [ON_RESCUE], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, BOOTLOOP_RESCUE_LIB: dir, DISK_HANDLE_KIND: "azure-lun", DISK_HANDLE: "3", ...env },
    });
}

const ok = { tool: "bootloop-rescue/repair-disk", outcome: "repaired", exitCode: 0, message: "done" };

(process.getuid?.() === 0 ? describe : describe.skip)("on-rescue.sh (rescue-side glue, stand-in tools)", () => {
    it("finds the disk by its handle, runs the engine, prints the evidence as one compact line", () => {
        const dir = lib(ok);
        const r = run(dir, {});
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.readFileSync(path.join(dir, "find-args"), "utf8").trim(), "--azure-lun 3 --wait 300");
        assert.equal(fs.readFileSync(path.join(dir, "repair-args"), "utf8").trim(), "--disk /dev/fake-disk");
        assert.deepEqual(JSON.parse(r.stdout), ok);
        assert.equal(r.stdout.trim().split("\n").length, 1);
    });

    it("passes the stack's rule set to the engine; a value that is no name is refused before the engine runs", () => {
        const dir = lib(ok);
        assert.equal(run(dir, { RULE_SET: "crowdstrike-291-txr" }).status, 0);
        assert.equal(fs.readFileSync(path.join(dir, "repair-args"), "utf8").trim(), "--disk /dev/fake-disk --rule-set crowdstrike-291-txr");
        const bad = lib(ok);
        const r = run(bad, { RULE_SET: "x --rules /etc/passwd" });
        assert.equal(r.status, 6);
        assert.match(r.stdout, /RULE_SET is not a rule set's name/);
        assert.ok(!fs.existsSync(path.join(bad, "repair-args")));
    });

    it("with TOOLS_VERSION (Azure) it runs only when that version of the tools is installed; otherwise exit 6, nothing run", () => {
        const version = "0123456789abcdef";
        const dir = lib(ok);
        fs.writeFileSync(path.join(dir, "version"), `${version}\n`);
        assert.equal(run(dir, { TOOLS_VERSION: version }).status, 0);
        for (const [installed, asked] of [
            ["fedcba9876543210", version],
            [undefined, version],
            [version, "0123; reboot"],
        ]) {
            const stale = lib(ok);
            if (installed) fs.writeFileSync(path.join(stale, "version"), `${installed}\n`);
            const r = run(stale, { TOOLS_VERSION: asked!, REBOOT_STATUS: "recovered" });
            assert.equal(r.status, 6, `${installed} ${asked}`);
            assert.equal(JSON.parse(r.stdout).exitCode, 6);
            assert.match(
                r.stdout,
                asked === version ? /rescue tools 0123456789abcdef are not installed/ : /TOOLS_VERSION is not a tools version/,
            );
            assert.ok(!fs.existsSync(path.join(stale, "find-args")) && !fs.existsSync(path.join(stale, "repair-args")), "nothing ran");
        }
    });

    it("after a reboot that recovered the VM (reboot-then-repair) it touches no disk and says the repair was skipped", () => {
        const dir = lib(ok);
        const r = run(dir, { REBOOT_STATUS: "recovered" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).outcome, "skipped");
        assert.ok(
            !fs.existsSync(path.join(dir, "find-args")) && !fs.existsSync(path.join(dir, "repair-args")),
            "neither find-disk nor the engine ran",
        );
        assert.equal(run(lib(ok), { REBOOT_STATUS: "not-recovered" }).status, 0, "a reboot that did not help: the repair runs");
    });

    it("hands a BitLocker key over in a root-only file that is gone afterwards, never in arguments or output", () => {
        const dir = lib(ok);
        const key = "000000-111111-222222-333333-444444-555555-666666-000011";
        const r = run(dir, { BITLOCKER_KEY: key });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.readFileSync(path.join(dir, "key-mode"), "utf8").trim(), "600");
        assert.equal(fs.readFileSync(path.join(dir, "key-seen"), "utf8").trim(), key);
        assert.ok(!fs.existsSync(fs.readFileSync(path.join(dir, "key-path"), "utf8").trim()), "key file removed");
        assert.ok(!fs.readFileSync(path.join(dir, "repair-args"), "utf8").includes("111111"));
        assert.ok(!r.stdout.includes("111111") && !r.stderr.includes("111111"));
    });

    it("hands BEK key files (BITLOCKER_BEK, base64) and several passwords over in root-only files that are gone afterwards", () => {
        const dir = lib(ok);
        // The engine stand-in copies what it was given: each --bitlocker-bek-file's mode and bytes.
        fs.writeFileSync(
            path.join(dir, "repair-disk"),
            `#!/bin/bash\nn=0\nwhile (($#)); do case $1 in --bitlocker-bek-file) n=$((n+1)); stat -c %a "$2" > "${dir}/bek-mode-$n"; cp "$2" "${dir}/bek-seen-$n"; echo "$2" >> "${dir}/bek-paths"; shift;; --bitlocker-key-file) cp "$2" "${dir}/key-seen"; shift;; esac; shift; done\necho '${JSON.stringify(ok)}'\n`,
            { mode: 0o755 },
        );
        const beks = [Buffer.from("first bek file bytes \x00\x01"), Buffer.from("second bek")];
        const passwords =
            "6f1d8b52 000000-111111-222222-333333-444444-555555-666666-000011\n000011-000022-000033-000044-000055-000066-000077-000088";
        const r = run(dir, { BITLOCKER_BEK: beks.map((b) => b.toString("base64")).join(" "), BITLOCKER_KEY: passwords });
        assert.equal(r.status, 0, r.stderr);
        beks.forEach((b, i) => {
            assert.equal(fs.readFileSync(path.join(dir, `bek-mode-${i + 1}`), "utf8").trim(), "600");
            assert.deepEqual(fs.readFileSync(path.join(dir, `bek-seen-${i + 1}`)), b);
        });
        assert.equal(fs.readFileSync(path.join(dir, "key-seen"), "utf8"), `${passwords}\n`);
        for (const f of fs.readFileSync(path.join(dir, "bek-paths"), "utf8").trim().split("\n"))
            assert.ok(!fs.existsSync(f), "BEK file removed");
        assert.ok(!r.stdout.includes("111111") && !r.stderr.includes("111111"));
        for (const bad of ["not base64!", Array.from({ length: 17 }, () => "YQ==").join(" ")]) {
            const refused = lib(ok);
            const out = run(refused, { BITLOCKER_BEK: bad });
            assert.equal(out.status, 6, bad);
            assert.match(out.stdout, /BITLOCKER_BEK (is not base64|holds more than 16)/);
            assert.ok(!fs.existsSync(path.join(refused, "repair-args")), "the engine did not run");
        }
    });

    it("KEY_SECRET: fetch-key reads the keys with the VM's own identity into root-only files the engine gets and that are gone afterwards; a failure is the evidence, and the engine does not run", async () => {
        const arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:web-1-bitlocker-AbCdEf";
        const key = "000000-111111-222222-333333-444444-555555-666666-000011";
        const store = await startSecretStore({ role: "rescue-role", aws: { [arn]: { string: `${key}\n` } } });
        const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "keys-"));
        const runAsync = (dir: string, env: Record<string, string>) =>
            new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
                const child = spawn("bash", [ON_RESCUE], {
                    env: {
                        PATH: process.env.PATH,
                        BOOTLOOP_RESCUE_LIB: dir,
                        BOOTLOOP_RESCUE_KEY_DIR: keyDir,
                        BOOTLOOP_RESCUE_LOG_DIR: path.join(dir, "log"),
                        DISK_HANDLE_KIND: "aws-volume-id",
                        DISK_HANDLE: "vol-0123456789abcdef0",
                        ...fetchKeyEnv(store.url),
                        BOOTLOOP_RESCUE_DENIED_GRACE: "0",
                        ...env,
                    },
                });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", (d) => (stdout += d));
                child.stderr.on("data", (d) => (stderr += d));
                child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr }));
            });
        try {
            const dir = lib(ok);
            fs.copyFileSync(path.join(__dirname, "../../rescue/fetch-key"), path.join(dir, "fetch-key"));
            fs.chmodSync(path.join(dir, "fetch-key"), 0o755);
            const r = await runAsync(dir, { KEY_SECRET_KIND: "aws-secretsmanager", KEY_SECRET: arn });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(fs.readFileSync(path.join(dir, "key-seen"), "utf8").trim(), key);
            assert.equal(fs.readFileSync(path.join(dir, "key-mode"), "utf8").trim(), "600");
            assert.ok(fs.readFileSync(path.join(dir, "key-path"), "utf8").startsWith(path.join(keyDir, "bootloop-rescue-key.")));
            assert.deepEqual(fs.readdirSync(keyDir), [], "key files removed");
            assert.ok(!(r.stdout + r.stderr + fs.readFileSync(path.join(dir, "repair-args"), "utf8")).includes("111111"));

            const denied = lib(ok);
            fs.copyFileSync(path.join(__dirname, "../../rescue/fetch-key"), path.join(denied, "fetch-key"));
            fs.chmodSync(path.join(denied, "fetch-key"), 0o755);
            const refused = await runAsync(denied, { KEY_SECRET_KIND: "aws-secretsmanager", KEY_SECRET: arn.replace("AbCdEf", "ZzZzZz") });
            assert.equal(refused.status, 6);
            const evidence = JSON.parse(refused.stdout);
            assert.equal(evidence.exitCode, 6);
            assert.match(
                evidence.message,
                /^fetch-key: Secrets Manager has no secret arn:aws:secretsmanager:us-east-1:111122223333:secret:web-1-bitlocker-ZzZzZz/,
            );
            assert.ok(!fs.existsSync(path.join(denied, "repair-args")), "the engine did not run");
            const unknown = await runAsync(lib(ok), { KEY_SECRET_KIND: "vault", KEY_SECRET: arn });
            assert.equal(unknown.status, 6);
            assert.match(unknown.stdout, /KEY_SECRET_KIND is not a secret store this tool reads/);
        } finally {
            await store.close();
        }
    });

    it("encodes the evidence for small agent outputs, repeats a failure's reason on stderr, and exits 0 for the VM's own failures only", () => {
        const other = { tool: "bootloop-rescue/repair-disk", outcome: "error", exitCode: 6, message: "ntfs-3g crashed" };
        const stops = run(lib(other, 6), { EVIDENCE_ENCODING: "gzip-base64" });
        assert.equal(stops.status, 6, "a failure that is not the VM's own exits with the engine's code");
        assert.match(stops.stderr, /repair-disk: error: ntfs-3g crashed/);
        // Codes 3-5 (here an unsafe disk, 5) exit 0 where the evidence comes back whole (a GCP
        // device): the evidence carries the code, and the control side decides whether the VM failed.
        const failed = { tool: "bootloop-rescue/repair-disk", outcome: "unsafe", exitCode: 5, message: "the disk is read-only" };
        const r = run(lib(failed, 5), {
            EVIDENCE_ENCODING: "gzip-base64",
            DISK_HANDLE_KIND: "gcp-device-name",
            DISK_HANDLE: "br-web-1-abc123",
        });
        assert.equal(r.status, 0, r.stderr);
        // Azure's Run Command asks for the code: its output may arrive cut off.
        // Azure's Run Command output can arrive cut off: for a disk at a LUN the code stays.
        assert.equal(run(lib(failed, 5), { EVIDENCE_ENCODING: "gzip-base64" }).status, 5);
        assert.match(r.stdout, /^gzip-base64:/);
        assert.deepEqual(
            JSON.parse(zlib.gunzipSync(Buffer.from(r.stdout.trim().slice("gzip-base64:".length), "base64")).toString()),
            failed,
        );
        assert.match(r.stderr, /repair-disk: unsafe: the disk is read-only/);
    });

    it("removes a key file a run killed outright left (its pid is gone); a live run's stays", () => {
        const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "keys-"));
        const dead = path.join(keyDir, "bootloop-rescue-key.4194001.AbC123");
        const live = path.join(keyDir, `bootloop-rescue-key.${process.pid}.XyZ789`);
        for (const f of [dead, live]) fs.writeFileSync(f, "000000-111111-222222-333333-444444-555555-666666-000011", { mode: 0o600 });
        const r = run(lib(ok), { BOOTLOOP_RESCUE_KEY_DIR: keyDir });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(fs.readdirSync(keyDir), [path.basename(live)]);
    });

    it("two runs for one disk at once each print their own evidence (the second is not overwritten by the first)", async () => {
        const dir = lib(ok);
        // The stand-in engine answers after a pause, the second with another outcome.
        fs.writeFileSync(
            path.join(dir, "repair-disk"),
            `#!/bin/sh\nsleep 1\nif mkdir "${dir}/first" 2>/dev/null; then echo '{"outcome":"repaired","exitCode":0}'; else echo '{"outcome":"nothing-to-do","exitCode":0}'; fi\n`,
            { mode: 0o755 },
        );
        const both = await Promise.all(
            [0, 1].map(
                () =>
                    new Promise<string>((resolve) => {
                        const child = spawn("bash", [ON_RESCUE], {
                            env: { PATH: process.env.PATH, BOOTLOOP_RESCUE_LIB: dir, DISK_HANDLE_KIND: "azure-lun", DISK_HANDLE: "9" },
                        });
                        let out = "";
                        child.stdout.on("data", (d) => (out += d));
                        child.on("close", () => resolve(out));
                    }),
            ),
        );
        assert.deepEqual(both.map((o) => JSON.parse(o).outcome).sort(), ["nothing-to-do", "repaired"]);
    });

    it("a request sent again after the disk was repaired reports the first repair's evidence (its quarantine is on this disk)", () => {
        const logs = fs.mkdtempSync(path.join(os.tmpdir(), "logs-"));
        const first = {
            ...ok,
            outcome: "repaired",
            volumes: [
                {
                    partition: 3,
                    outcome: "repaired",
                    quarantineFolder: "bootloop-rescue/quarantine/20240719T061500Z",
                    matches: [{ path: "x.sys", action: "quarantined" }],
                },
            ],
        };
        fs.writeFileSync(path.join(logs, "3.json"), JSON.stringify(first));
        const again = (folders: string[]) => ({
            ...ok,
            outcome: "nothing-to-do",
            volumes: [{ partition: 3, outcome: "nothing-to-do", earlierQuarantines: folders, matches: [] }],
        });
        const r = run(lib(again(["bootloop-rescue/quarantine/20240719T061500Z"])), { BOOTLOOP_RESCUE_LOG_DIR: logs });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), first);
        assert.match(r.stderr, /repaired by an earlier request \(quarantine bootloop-rescue\/quarantine\/20240719T061500Z\)/);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(logs, "3.json"), "utf8")), first, "kept for a third request");
        // Another disk at the same handle (its quarantine is not that one): its own evidence.
        const other = run(lib(again(["bootloop-rescue/quarantine/20230101T000000Z"])), { BOOTLOOP_RESCUE_LOG_DIR: logs });
        assert.equal(JSON.parse(other.stdout).outcome, "nothing-to-do");
    });

    it("refuses an unknown handle kind with one evidence line and exit 6", () => {
        const r = run(lib(ok), { DISK_HANDLE_KIND: "floppy" });
        assert.equal(r.status, 6);
        assert.equal(JSON.parse(r.stdout).message, "unknown disk handle kind");
    });
});
