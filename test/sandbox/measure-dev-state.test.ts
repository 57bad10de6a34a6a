import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.resolve(__dirname, "../../scripts/sandbox/measure-dev-state.sh");

/**
 * scripts/sandbox/measure-dev-state.sh in a git repository of its own, with an `npm` first on PATH
 * that answers `npm run -s sandbox -- up …` and `… state-size …` as told (FAKE_UP: exit code;
 * FAKE_SIZE: what state-size prints, FAKE_SIZE_CODE its exit code).
 */
function lab(): { repo: string; out: string; run(env: Record<string, string>): { code: number | null; stderr: string } } {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "measure-dev-state-"));
    fs.mkdirSync(path.join(repo, "scripts/sandbox"), { recursive: true });
    fs.copyFileSync(SCRIPT, path.join(repo, "scripts/sandbox/measure-dev-state.sh"));
    const bin = path.join(repo, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(
        path.join(bin, "npm"),
        [
            "#!/usr/bin/env bash",
            'case " $* " in',
            '  *" up "*) echo "engine output"; exit "${FAKE_UP:-0}" ;;',
            '  *" state-size "*) printf "%s" "${FAKE_SIZE-}"; exit "${FAKE_SIZE_CODE:-0}" ;;',
            "esac",
            "exit 99",
        ].join("\n"),
        { mode: 0o755 },
    );
    const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { stdio: "ignore" });
    git("init", "-q");
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", "scripts");
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lab");
    const out = path.join(repo, "size.json");
    return {
        repo,
        out,
        run: (env) => {
            const r = spawnSync("bash", [path.join(repo, "scripts/sandbox/measure-dev-state.sh"), out], {
                encoding: "utf8",
                env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BOOTLOOP_MACHINE: "lab", ...env },
            });
            return { code: r.status, stderr: r.stderr };
        },
    };
}

describe("scripts/sandbox/measure-dev-state.sh: writes the fixture only for a whole measurement of a committed tree", () => {
    const labs: string[] = [];
    afterEach(() => {
        for (const dir of labs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });
    const make = () => {
        const l = lab();
        labs.push(l.repo);
        return l;
    };

    it("writes the measured sizes with the commit and the machine", () => {
        const l = make();
        const r = l.run({ FAKE_SIZE: '{"totalBytes": 1234}' });
        assert.equal(r.code, 0, r.stderr);
        const written = JSON.parse(fs.readFileSync(l.out, "utf8")) as Record<string, unknown>;
        assert.equal(written.totalBytes, 1234);
        assert.match(String(written.commit), /^[0-9a-f]{7,}$/);
        assert.match(String(written.machine), /^lab \(\d+ cores, \d+ GiB\)$/);
    });

    it("refuses a tree with uncommitted changes (exit 2) before running anything", () => {
        const l = make();
        fs.appendFileSync(path.join(l.repo, "scripts/sandbox/measure-dev-state.sh"), "\n# changed\n");
        const r = l.run({ FAKE_SIZE: "{}" });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /uncommitted changes/);
        assert.equal(fs.existsSync(l.out), false);
    });

    it("writes nothing when the dev stack's up fails (exit 1, the engine's output shown)", () => {
        const l = make();
        const r = l.run({ FAKE_UP: "1", FAKE_SIZE: "{}" });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /engine output[\s\S]*the dev stack's up failed/);
        assert.equal(fs.existsSync(l.out), false);
    });

    it("writes nothing when state-size fails, or answers with nothing a JSON parser takes", () => {
        for (const env of [
            { FAKE_SIZE: '{"totalBytes": 1}', FAKE_SIZE_CODE: "3" },
            { FAKE_SIZE: "" },
            { FAKE_SIZE: "{not json" },
        ] as Record<string, string>[]) {
            const l = make();
            const r = l.run(env);
            assert.notEqual(r.code, 0, JSON.stringify(env));
            assert.equal(fs.existsSync(l.out), false, JSON.stringify(env));
        }
    });
});
