// Live progress of a running `pulumi up`: per wave and cloud, VMs waiting, in backup, repairing,
// swapping, verified and failed; each failure with its reason as soon as the engine reports it; and
// a one-line summary for a chat webhook on each wave's end, on the first failure and at the end.
//
//   pulumi up --json --stack S | npm run watch -- --stack S          the engine's events on stdin
//   pulumi up --event-log up.events --stack S   (another terminal:)
//   npm run watch -- --stack S --events up.events                    follows the event log as it grows
//   ... [--webhook-env VAR]   post summaries to the URL in environment variable VAR (a secret; unset or empty is an error)
//   ... [--interval SECONDS]  how often the table is printed while something changes (default 30)
//   ... [--quiet SECONDS]     with --events: the log not growing this long means the update is gone;
//                             default the stack's longest step time limit plus 10 minutes
//   ... [--status-page FILE]  keep a status page (one self-contained HTML file), rewritten as the update goes
//   ... [--summary]           at the end, append the status in Markdown to $GITHUB_STEP_SUMMARY (GitHub Actions)
//
// Exit codes: cli/command/exit-codes.ts (watch).
import { identities, paths } from "../components/registry/clouds";
import { runWatchCommand } from "../components/tools/progress/watch-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "watch",
    usage: "usage: npm run watch -- --stack NAME [--events FILE [--quiet SECONDS]] [--webhook-env VAR] [--interval SECONDS] [--status-page FILE] [--summary]",
    flags: { values: ["--stack", "--events", "--webhook-env", "--interval", "--quiet", "--status-page"], switches: ["--summary"] },
    run: ({ values: v, switches }, context) =>
        runWatchCommand(
            {
                stack: v["--stack"],
                events: v["--events"],
                webhookEnv: v["--webhook-env"],
                interval: v["--interval"],
                quiet: v["--quiet"],
                statusPage: v["--status-page"],
                summary: switches.has("--summary"),
            },
            context,
            { identities, paths },
        ),
});
