// The project's commands that host the program in their own process, and the Node.js flags a test
// starts one of them with: the program's (Pulumi.yaml's `nodeargs`, components/tools/node-args.ts),
// as their npm scripts do, so that a test runs the program as users run it.
// test/house/node-args.test.ts holds the npm scripts, and every test's start of a command, to them.
import * as path from "path";
import { programNodeArgs } from "../../components/tools/node-args";

/** The project folder. */
const ROOT = path.resolve(__dirname, "..", "..");

/** The commands that host the program in their own process: npm script → the file it runs (from the project folder). */
export const PROGRAM_HOSTS: Readonly<Record<string, string>> = {
    plan: "cli/plan.ts",
    sandbox: "sandbox/run.ts",
    incident: "cli/incident.ts",
};

/** Whether `file` (from the project folder, or absolute) is one of PROGRAM_HOSTS. */
export function hostsProgram(file: string): boolean {
    const relative = path.relative(ROOT, path.resolve(ROOT, file)).split(path.sep).join("/");
    return Object.values(PROGRAM_HOSTS).includes(relative);
}

/** Node's flags to start the project file `file` with: the program's for a host of the program, none for another command. */
export function nodeFlagsFor(file: string): string[] {
    return hostsProgram(file) ? programNodeArgs() : [];
}
