// The Node.js flags the program runs with: Pulumi.yaml's `runtime.options.nodeargs`, which the
// language host passes to node in a real run. Every command that hosts the program in its own
// process starts node with the same flags, so what they measure is what a real run gets: the
// benches and every test that starts such a command read them from here (tests through
// test/helpers/program-node.ts), and the npm scripts `plan`, `sandbox` and `incident` carry them
// (test/house/node-args.test.ts keeps them equal and scans test/ and bench/ for a start without them).
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** The project folder (where Pulumi.yaml is). */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Pulumi.yaml's `runtime.options.nodeargs`, split into node's arguments; throws naming the file and field when it is missing. */
export function programNodeArgs(projectDir: string = PROJECT_DIR): string[] {
    const file = path.join(projectDir, "Pulumi.yaml");
    const doc = parse(fs.readFileSync(file, "utf8")) as { runtime?: { options?: { nodeargs?: unknown } } } | null;
    const args = doc?.runtime?.options?.nodeargs;
    if (typeof args !== "string" || args.trim() === "")
        throw new Error(`${file}: runtime.options.nodeargs is not set: it holds the Node.js flags the program runs with`);
    return args.trim().split(/\s+/);
}
