// The program runs with Pulumi.yaml's Node.js flags wherever it runs: the language host passes them
// in a real run, and every command that hosts the program itself must start node with the same.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { programNodeArgs } from "../../components/tools/node-args";
import { PROGRAM_HOSTS } from "../helpers/program-node";
import { codeFiles } from "./import-graph";
import { unflaggedStarts } from "./node-starts";

const ROOT = path.resolve(__dirname, "../..");

describe("the program's Node.js flags", () => {
    it("come from Pulumi.yaml and give the program a heap past Node's default on a 7 GB runner", () => {
        const args = programNodeArgs();
        assert.ok(args.includes("--max-semi-space-size=256"), args.join(" "));
        const heap = args.map((a) => /^--max-old-space-size=(\d+)$/.exec(a)?.[1]).find((v) => v !== undefined);
        assert.ok(heap !== undefined && Number(heap) >= 3072, `a heap of at least 3 GB: ${args.join(" ")}`);
    });

    it("are the flags of every npm script that hosts the program in its own process", () => {
        const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
            .scripts;
        const prefix = `node ${programNodeArgs().join(" ")} -r ts-node/register/transpile-only `;
        for (const [name, file] of Object.entries(PROGRAM_HOSTS)) assert.equal(scripts[name], `${prefix}${file}`, `npm run ${name}`);
    });

    it("are given to every start of a host of the program in the tests and the benches", () => {
        const hosts = Object.values(PROGRAM_HOSTS);
        const files = codeFiles(["test", "bench"]);
        assert.ok(files.includes("test/sandbox/runner.test.ts") && files.length > 100, `${files.length} files read`);
        const found = files.flatMap((f) => unflaggedStarts(f, fs.readFileSync(path.join(ROOT, f), "utf8"), hosts, programNodeArgs()));
        assert.deepEqual(found, [], "start these with programNodeArgs() or nodeFlagsFor(file) (test/helpers/program-node.ts)");
    });

    it("are missed in a start the scan is shown: a host, a file it cannot name, a command line; a start with them, or of another file, passes", () => {
        const hosts = Object.values(PROGRAM_HOSTS);
        const scan = (text: string) => unflaggedStarts("planted.ts", text, hosts, programNodeArgs()).map((s) => s.why);
        const sandbox = JSON.stringify(PROGRAM_HOSTS.sandbox);
        const plan = JSON.stringify(PROGRAM_HOSTS.plan);
        assert.deepEqual(scan(`spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", ${sandbox}, "up"]);`), [
            `runs ${PROGRAM_HOSTS.sandbox}, a host of the program`,
        ]);
        assert.deepEqual(
            scan(
                `spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(root, ${plan}), "--stack"]);`,
            ),
            [`runs ${PROGRAM_HOSTS.plan}, a host of the program`],
        );
        assert.deepEqual(scan(`spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", file]);`), [
            "runs file: a file the source does not name",
        ]);
        assert.deepEqual(scan(`spawnSync("bash", ["-c", "node -r ts-node/register/transpile-only ${PROGRAM_HOSTS.sandbox} up"]);`), [
            `a command line that runs a host of the program: node -r ts-node/register/transpile-only ${PROGRAM_HOSTS.sandbox} up`,
        ]);
        assert.deepEqual(
            scan(
                [
                    `spawnSync(process.execPath, [...programNodeArgs(), "-r", "ts-node/register/transpile-only", ${sandbox}]);`,
                    `spawnSync(process.execPath, [...nodeFlagsFor(file), "-r", "ts-node/register/transpile-only", file]);`,
                    `spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "cli/watch.ts"]);`,
                    `spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script]);`,
                    `spawnSync("bash", ["-c", "node ${programNodeArgs().join(" ")} -r ts-node/register/transpile-only ${PROGRAM_HOSTS.plan}"]);`,
                ].join("\n"),
            ),
            [],
        );
    });

    it("name the file and the field when Pulumi.yaml has none", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-args-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: x\nruntime:\n  name: nodejs\n");
            assert.throws(() => programNodeArgs(dir), /Pulumi\.yaml: runtime\.options\.nodeargs is not set/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
