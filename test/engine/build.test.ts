import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// scripts/engine/build.sh as a new machine meets it: what it says without Go, with a pulumi of
// another version on PATH, and when every part is there. (The real build is a benchmark-sized job:
// its figures are in docs; here no Go command runs.)

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "engine", "build.sh");
const VERSION = `v${(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["@pulumi/pulumi"]}`;
const COMMAND = `v${(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["@pulumi/command"]}`;

/** A folder on PATH holding node and, when asked, a `pulumi` that reports `version`; no Go. */
function bin(pulumiVersion?: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-bin-"));
    fs.symlinkSync(process.execPath, path.join(dir, "node"));
    if (pulumiVersion)
        fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\n[ "$1" = version ] && echo ${pulumiVersion}\n`, { mode: 0o755 });
    return dir;
}

function build(binDir: string, engineDir: string, args: string[] = []) {
    const r = spawnSync("/bin/bash", [SCRIPT, ...args], {
        env: { PATH: `${binDir}:/usr/bin:/bin`, ENGINE_DIR: engineDir, HOME: os.tmpdir() },
        encoding: "utf8",
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scripts/engine/build.sh", () => {
    let engineDir: string;
    beforeEach(() => (engineDir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-"))));

    it("answers --help with its usage (exit 0) and refuses any other argument (exit 2), building nothing", () => {
        const help = spawnSync("/bin/bash", [SCRIPT, "--help"], {
            env: { PATH: "/usr/bin:/bin", ENGINE_DIR: engineDir },
            encoding: "utf8",
        });
        assert.equal(help.status, 0, help.stderr);
        assert.match(help.stdout, /^usage: npm run engine:build/);
        const bad = spawnSync("/bin/bash", [SCRIPT, "--print-dir"], {
            env: { PATH: "/usr/bin:/bin", ENGINE_DIR: engineDir },
            encoding: "utf8",
        });
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /unknown argument "--print-dir"/);
        assert.deepEqual(fs.readdirSync(engineDir), []);
    });

    it("without Go says so in one line, and how to get it; nothing is reported ready", () => {
        const r = build(bin(), engineDir);
        assert.equal(r.status, 1);
        assert.equal(r.stdout, "");
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], /^engine: Go is not on PATH, .*install Go 1\.25 or later/);
    });

    it("names a pulumi on PATH of another version and refuses it", () => {
        const r = build(bin("v3.100.0"), engineDir);
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            new RegExp(`not using pulumi v3\\.100\\.0 at .*/pulumi: the engine must be ${VERSION.replace(/\./g, "\\.")}`),
        );
        assert.match(r.stderr, /Go is not on PATH/);
        assert.ok(!fs.existsSync(path.join(engineDir, `pulumi-${VERSION}`, "pulumi")));
    });

    it("uses a pulumi on PATH at the pinned version, and is ready only with the language host and command provider there too", () => {
        const binDir = bin(VERSION);
        const partial = build(binDir, engineDir);
        assert.equal(partial.status, 1, "the CLI alone is not an engine for a TypeScript program");
        assert.match(partial.stderr, new RegExp(`using pulumi ${VERSION.replace(/\./g, "\\.")} from PATH`));
        assert.equal(partial.stdout, "");

        const cli = path.join(engineDir, `pulumi-${VERSION}`);
        fs.writeFileSync(path.join(cli, "pulumi-language-nodejs"), "#!/bin/sh\n", { mode: 0o755 });
        fs.mkdirSync(path.join(engineDir, `command-${COMMAND}`));
        fs.writeFileSync(path.join(engineDir, `command-${COMMAND}`, "pulumi-resource-command"), "#!/bin/sh\n", { mode: 0o755 });
        const ready = build(binDir, engineDir);
        assert.equal(ready.status, 0, ready.stderr);
        assert.equal(ready.stdout.trim(), cli);
        assert.match(ready.stderr, /engine: ready: /);
    });

    it("--cli is ready with the CLI alone (what the sandbox runs) and prints its folder; without Go and CLI it fails in one line", () => {
        const binDir = bin(VERSION);
        const r = build(binDir, engineDir, ["--cli"]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), path.join(engineDir, `pulumi-${VERSION}`));
        assert.ok(!fs.existsSync(path.join(engineDir, `command-${COMMAND}`)), "--cli builds nothing else");
        const none = build(bin(), fs.mkdtempSync(path.join(os.tmpdir(), "engine-")), ["--cli"]);
        assert.equal(none.status, 1);
        assert.equal(none.stdout, "");
        assert.match(none.stderr, /^engine: Go is not on PATH/);
    });

    it("keeps the engine in the machine's cache by default (shared by every clone), not in the project", () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "home-"));
        const r = spawnSync("/bin/bash", [SCRIPT, "--cli"], {
            env: { PATH: `${bin(VERSION)}:/usr/bin:/bin`, HOME: home },
            encoding: "utf8",
        });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), path.join(home, ".cache", "bootloop-rescue", "engine", `pulumi-${VERSION}`));
    });
});
