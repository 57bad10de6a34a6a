import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { readFlags } from "../../cli/command/flags";
import { nodeFlagsFor } from "../helpers/program-node";

// Every operator command reads its flags through one parser: --help answers with the usage and
// exit 0, --flag=value works, an unknown flag is exit 2 naming the nearest known flag.

const ROOT = path.resolve(__dirname, "..", "..");

/** The commands, by npm script, with one flag each of them knows. */
const COMMANDS: { script: string; file: string; known: string }[] = [
    { script: "ci:comment", file: "cli/ci-comment.ts", known: "--stack" },
    { script: "ci:stacks", file: "cli/ci-stacks.ts", known: "--stacks" },
    { script: "shard", file: "cli/shard.ts", known: "--inventory" },
    { script: "plan", file: "cli/plan.ts", known: "--inventory" },
    { script: "discover", file: "cli/discover.ts", known: "--regions" },
    { script: "import-keys", file: "cli/import-keys.ts", known: "--from" },
    { script: "watch", file: "cli/watch.ts", known: "--events" },
    { script: "report", file: "cli/report.ts", known: "--from" },
    { script: "evidence", file: "cli/evidence.ts", known: "--from" },
];

function run(file: string, args: string[]) {
    const r = spawnSync(process.execPath, [...nodeFlagsFor(file), "-r", "ts-node/register/transpile-only", file, ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, INIT_CWD: ROOT },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the operator commands' flags", () => {
    for (const c of COMMANDS) {
        it(`npm run ${c.script}: --help prints the usage (exit 0); a misspelt flag is exit 2 with the nearest one`, () => {
            const help = run(c.file, ["--help"]);
            assert.equal(help.status, 0, help.stderr);
            assert.match(help.stdout, new RegExp(`^usage: npm run ${c.script} -- `));
            const typo = `${c.known}x`;
            const bad = run(c.file, [`${typo}=1`]);
            assert.notEqual(bad.status, null, "the command ended by itself");
            assert.equal(bad.status, 2, bad.stderr);
            assert.match(bad.stderr, new RegExp(`unknown argument "${typo}" \\(did you mean ${c.known}\\?\\)`));
            assert.match(bad.stderr, new RegExp(`usage: npm run ${c.script} -- `));
        });
    }

    it("reads --flag value and --flag=value alike, and never takes a flag as a value", () => {
        const spec = { values: ["--stack", "--out"], switches: ["--json"] };
        assert.deepEqual(readFlags(["--stack=dev", "--out", "-", "--json"], spec).values, { "--stack": "dev", "--out": "-" });
        assert.throws(
            () => readFlags(["--stack", "--json"], spec),
            /--stack needs a value, and "--json" is a flag \(a value that starts with a dash: --stack=VALUE\)/,
        );
        assert.throws(() => readFlags(["--stack="], spec), /--stack needs a value/);
        assert.throws(() => readFlags(["--json=yes"], spec), /--json takes no value/);
        assert.throws(() => readFlags(["dev"], spec), /unexpected argument "dev"/);
        assert.throws(() => readFlags(["--help"], spec), { name: "Error", message: "help requested" });
        assert.throws(() => readFlags(["--stak", "x", "-h"], spec), { message: "help requested" });
        assert.throws(() => readFlags(["--out", "-h"], spec), /--out needs a value, and "-h" is a flag/);
    });
});
