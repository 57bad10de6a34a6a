// The Node.js flags the program runs with: Pulumi.yaml's `runtime.options.nodeargs`, which the
// language host passes to node in a real run. Every command that hosts the program in its own
// process (the offline plan, the sandbox, the incident command, the benches) starts node with the
// same flags, read from here, so what they measure is what a real run gets.
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
