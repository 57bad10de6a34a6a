// scripts/lint-python.sh never passes what it could not check: run against a copy of the project
// with planted findings, a config that drops a rescue tool, and no way to install ruff.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./import-graph";

const TOOLS = ["repair-disk", "find-disk", "fetch-key"];

describe("scripts/lint-python.sh (ruff over the rescue tools, mypy and pytest over the engine package)", function () {
    this.timeout(300_000);
    let dir: string;

    before(() => {
        // The pinned ruff, installed the way CI installs it (scripts/test.sh runs this first, so it is there).
        const install = spawnSync("bash", [path.join(ROOT, "scripts/lint-python.sh")], { cwd: ROOT, encoding: "utf8" });
        assert.equal(install.status, 0, install.stderr);
    });

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "lint-python-"));
        for (const file of ["scripts/lint-python.sh", "ruff.toml", "requirements-dev.txt", ...TOOLS.map((t) => `rescue/${t}`)]) {
            fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
            fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
        }
        // The engine package and its unit tests, which the script type-checks and runs too.
        for (const folder of ["rescue/engine", "test/rescue/engine"])
            fs.cpSync(path.join(ROOT, folder), path.join(dir, folder), { recursive: true, filter: (src) => !src.includes("__pycache__") });
        fs.mkdirSync(path.join(dir, ".cache"));
        fs.symlinkSync(path.join(ROOT, ".cache/ruff-venv"), path.join(dir, ".cache/ruff-venv"));
    });

    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const lint = (env: Record<string, string> = {}) =>
        spawnSync("bash", [path.join(dir, "scripts/lint-python.sh")], { cwd: dir, encoding: "utf8", env: { ...process.env, ...env } });

    it("passes the tools as they are", () => {
        const run = lint();
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /format and lint clean/);
    });

    it("fails, naming both steps, on a tool that is not formatted and imports what it does not use", () => {
        fs.appendFileSync(path.join(dir, "rescue/find-disk"), "\nimport json\nx=1\n");
        const run = lint();
        assert.equal(run.status, 1, run.stdout);
        assert.match(run.stderr, /FAILED: ruff format --check/);
        assert.match(run.stderr, /FAILED: ruff check/);
        assert.doesNotMatch(run.stdout, /clean/);
    });

    it("fails when ruff.toml stops naming a rescue tool (it would go unchecked while everything passed)", () => {
        const config = path.join(dir, "ruff.toml");
        fs.writeFileSync(config, fs.readFileSync(config, "utf8").replace('"rescue/fetch-key", ', ""));
        const run = lint();
        assert.equal(run.status, 1, run.stdout);
        assert.match(run.stderr, /ruff\.toml does not include rescue\/fetch-key/);
    });

    it("fails on a type error in the engine package (mypy), and on a failing unit test (pytest)", () => {
        fs.appendFileSync(path.join(dir, "rescue/engine/common.py"), '\n\ndef typed() -> int:\n    return "not an int"\n');
        fs.appendFileSync(path.join(dir, "test/rescue/engine/test_rules.py"), "\n\ndef test_fails():\n    assert 1 == 2\n");
        const run = lint();
        assert.equal(run.status, 1, run.stdout);
        assert.match(run.stdout, /Incompatible return value type/);
        assert.match(run.stderr, /FAILED: mypy rescue\/engine/);
        assert.match(run.stderr, /FAILED: pytest test\/rescue\/engine/);
        assert.doesNotMatch(run.stdout, /clean/);
    });

    it("ends non-zero, checking nothing, when ruff is missing and cannot be installed", () => {
        fs.unlinkSync(path.join(dir, ".cache/ruff-venv"));
        const run = lint({ PYTHON: path.join(dir, "no-such-python") });
        assert.notEqual(run.status, 0);
        assert.match(run.stderr, /neither venv nor pip/);
        assert.doesNotMatch(run.stdout, /clean/);
    });
});
