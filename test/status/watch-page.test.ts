import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";

// `npm run watch --status-page FILE --summary` on the real engine's events of the dev stack
// (recorded in the sandbox): the page and the GitHub job summary are written from the same run.

const ROOT = path.resolve(__dirname, "..", "..");
const RECORDED = path.join(ROOT, "test/fixtures/engine-events/sandbox-dev-up.json.gz");

function watch(args: string[], input: string, env: Record<string, string> = {}) {
    const rest = { ...process.env };
    delete rest.GITHUB_STEP_SUMMARY;
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "cli/watch.ts", ...args], {
        cwd: ROOT,
        input,
        encoding: "utf8",
        env: { ...rest, ...env },
        maxBuffer: 64 * 1024 * 1024,
    });
}

describe("npm run watch --status-page and --summary", function () {
    this.timeout(600_000);
    const events = zlib.gunzipSync(fs.readFileSync(RECORDED)).toString("utf8");
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "watch-page-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("writes the status page and appends the job summary, both with the run's headline", () => {
        const page = path.join(dir, "status.html");
        const summary = path.join(dir, "summary.md");
        fs.writeFileSync(summary, "");
        const r = watch(["--stack", "dev", "--status-page", page, "--summary"], events, { GITHUB_STEP_SUMMARY: summary });
        assert.equal(r.status, 0, r.stderr + r.stdout.slice(-2000));
        assert.match(r.stdout, new RegExp(`^status page: ${page.replace(/[.]/g, "\\.")}$`, "m"));
        const html = fs.readFileSync(page, "utf8");
        assert.match(html, /<p class="headline" id="headline">11 of 11 VMs recovered in 2 min 49 s; none needs a person<\/p>/);
        assert.doesNotMatch(html, /http-equiv="refresh"/, "an ended update's page does not reload");
        const md = fs.readFileSync(summary, "utf8");
        assert.match(md, /^# bootloop-rescue dev: status\n\n\*\*11 of 11 VMs recovered in 2 min 49 s; none needs a person\.\*\*/);
        assert.match(md, /^wave 1 +[ ░▒▓█x]{48} {2}10\/10 recovered$/m);
        assert.deepEqual(fs.readdirSync(dir).sort(), ["status.html", "summary.md"], "no temporary file left");
    });

    it("refuses --summary outside GitHub Actions and a page in a folder that does not exist (exit 2, nothing read)", () => {
        const a = watch(["--stack", "dev", "--summary"], "");
        assert.equal(a.status, 2, a.stderr);
        assert.match(a.stderr, /--summary appends to \$GITHUB_STEP_SUMMARY, which is not set/);
        const b = watch(["--stack", "dev", "--status-page", path.join(dir, "missing", "status.html")], "");
        assert.equal(b.status, 2, b.stderr);
        assert.match(b.stderr, /--status-page .*: its folder does not exist/);
    });
});
