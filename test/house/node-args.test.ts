// The program runs with Pulumi.yaml's Node.js flags wherever it runs: the language host passes them
// in a real run, and every command that hosts the program itself must start node with the same.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { programNodeArgs } from "../../components/tools/node-args";

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
        for (const name of ["plan", "sandbox", "incident"]) assert.ok(scripts[name].startsWith(prefix), `${name}: ${scripts[name]}`);
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
