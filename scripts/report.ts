// The recovery report: Markdown from a stack's outputs.
//   npm run report -- --stack prod             reads `pulumi stack output --json --stack prod`
//   npm run report -- --from outputs.json      reads a saved stack-output JSON file
//   ... [--out report.md]                      writes the report to a file instead of stdout
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { StackOutputs, renderReport } from "../components/core/report/render";

const USAGE = "usage: npm run report -- (--stack NAME | --from FILE) [--out FILE]";

function main(): void {
    const argv = process.argv.slice(2);
    const get = (flag: string) => {
        const i = argv.indexOf(flag);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const stack = get("--stack");
    const from = get("--from");
    const out = get("--out");
    if (!stack === !from) throw new Error(USAGE);
    const cwd = process.env.INIT_CWD ?? process.cwd();
    let text: string;
    let source: string;
    if (stack) {
        if (!/^[A-Za-z0-9_./-]{1,200}$/.test(stack)) throw new Error(`not a stack name: ${JSON.stringify(stack)}`);
        // Secrets stay masked: no --show-secrets.
        text = execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], { encoding: "utf8", cwd: path.resolve(__dirname, "..") });
        source = `stack ${stack}`;
    } else {
        text = fs.readFileSync(path.resolve(cwd, from!), "utf8");
        source = `file ${from}`;
    }
    let outputs: StackOutputs;
    try {
        outputs = JSON.parse(text) as StackOutputs;
    } catch {
        throw new Error(`${source}: not stack-output JSON`);
    }
    const report = renderReport(outputs, source, new Date());
    if (out) fs.writeFileSync(path.resolve(cwd, out), report);
    else process.stdout.write(report);
}

try {
    main();
} catch (err) {
    process.stderr.write(`report: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
}
