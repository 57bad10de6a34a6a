// The recovery report: Markdown from a stack's outputs, opened by the status headline and a
// timeline picture.
//   npm run report -- --stack prod             reads `pulumi stack output --json --stack prod`
//   npm run report -- --from FILE              reads a saved `pulumi stack output --json`, the vms
//                                              output alone (`pulumi stack output vms --json`, as the
//                                              CI workflow keeps it), or a `pulumi stack export`
//   ... [--events FILE]                        the update's events (`pulumi up --json` saved, or an
//                                              --event-log file): the timeline from them (the stack's
//                                              plan is read from its stack file)
//   ... [--out report.md]                      writes the report to a file instead of stdout
//   ... [--status-page FILE]                   also writes the status page (HTML, self-contained)
//   ... [--summary]                            also appends the status to $GITHUB_STEP_SUMMARY
// Exit codes: cli/command/exit-codes.ts (report).
import { runReportCommand } from "../components/tools/report/report-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "report",
    usage: "usage: npm run report -- (--stack NAME | --from FILE) [--events FILE] [--out FILE] [--status-page FILE] [--summary]",
    flags: { values: ["--stack", "--from", "--out", "--events", "--status-page"], switches: ["--summary"] },
    run: ({ values, switches }, context) =>
        runReportCommand(
            {
                stack: values["--stack"],
                from: values["--from"],
                out: values["--out"],
                events: values["--events"],
                statusPage: values["--status-page"],
                summary: switches.has("--summary"),
            },
            context,
            // The plan is computed only with --events: the clouds' code is loaded then, not for every report.
            async (stack) => {
                const { identities, paths } = await import("../components/registry/clouds");
                const { watchPlan } = await import("../components/tools/progress/watch-command");
                return watchPlan(stack, context.stackDir, { identities, paths });
            },
        ),
});
