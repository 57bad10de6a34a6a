// The recovery report: Markdown from a stack's outputs.
//   npm run report -- --stack prod             reads `pulumi stack output --json --stack prod`
//   npm run report -- --from FILE              reads a saved `pulumi stack output --json`, the vms
//                                              output alone (`pulumi stack output vms --json`, as the
//                                              CI workflow keeps it), or a `pulumi stack export`
//   ... [--out report.md]                      writes the report to a file instead of stdout
// Exit codes: cli/command/exit-codes.ts (report).
import { runReportCommand } from "../components/tools/report/report-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "report",
    usage: "usage: npm run report -- (--stack NAME | --from FILE) [--out FILE]",
    flags: { values: ["--stack", "--from", "--out"] },
    run: ({ values }, context) => runReportCommand({ stack: values["--stack"], from: values["--from"], out: values["--out"] }, context),
});
