// The recovery report: Markdown from a stack's outputs.
//   npm run report -- --stack prod             reads `pulumi stack output --json --stack prod`
//   npm run report -- --from FILE              reads a saved `pulumi stack output --json`, the vms
//                                              output alone (`pulumi stack output vms --json`, as the
//                                              CI workflow keeps it), or a `pulumi stack export`
//   ... [--out report.md]                      writes the report to a file instead of stdout
// Exit 0: the report was written; 1: the Pulumi CLI failed; 2: bad arguments, or a file that is
// none of those (an offline plan is refused: nothing has run, its values are placeholders).
import { renderReport } from "../components/tools/report/render";
import { BadInputError, KIND_NAMES, recogniseStackJson } from "../components/tools/report/input-kind";
import { commandArgs, readStackJson, runCommand, writeResult } from "../components/tools/report/stack-json";

const USAGE = "usage: npm run report -- (--stack NAME | --from FILE) [--out FILE]";

runCommand("report", () => {
    const args = commandArgs(USAGE, ["--stack", "--from", "--out"]);
    const { value, source } = readStackJson(args, USAGE, ["stack", "output", "--json"], "JSON (stack outputs, the vms output, or a stack export)");
    const input = recogniseStackJson(value, source);
    if (!input.vms) throw new BadInputError(`${source}: ${KIND_NAMES[input.kind]}; the report reads what ran: stack outputs (\`pulumi stack output --json\`), the vms output alone, or a stack export`);
    writeResult(args, renderReport({ vms: input.vms }, source, new Date()));
});
