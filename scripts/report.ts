// The recovery report: Markdown from a stack's outputs.
//   npm run report -- --stack prod             reads `pulumi stack output --json --stack prod`
//   npm run report -- --from outputs.json      reads a saved stack-output JSON file
//   ... [--out report.md]                      writes the report to a file instead of stdout
import { StackOutputs, renderReport } from "../components/core/report/render";
import { commandArgs, readStackJson, runCommand, writeResult } from "./stack-json";

const USAGE = "usage: npm run report -- (--stack NAME | --from FILE) [--out FILE]";

runCommand("report", () => {
    const args = commandArgs(USAGE);
    const { value, source } = readStackJson(args, USAGE, ["stack", "output", "--json"], "stack-output JSON");
    writeResult(args, renderReport(value as StackOutputs, source, new Date()));
});
