// One command for the whole incident, through Pulumi's Automation API: the offline plan, the
// preflight, `preview` with the policy pack, a summary and one confirmation, `up` with the policy
// pack and live progress, and the report.
//
//   npm run incident -- --stack NAME               your Pulumi CLI and backend, the real clouds
//   npm run incident -- --stack NAME --sandbox     the real engine on the sandbox's simulated cloud
//   ... [--create]                 create the stack when the backend has none (never without it)
//   ... [--yes]                    no confirmation (required in CI and without a terminal)
//   ... [--policy-pack DIR]        the policy pack (default: the project's policy/)
//   ... [--allow-skipped]          accept preflight checks that could not be made
//   ... [--status-page FILE]       the status page (default: status-NAME.html where it was started)
//
// Ctrl-C once cancels the update cleanly (the engine finishes the steps in flight); twice stops it
// at once. Exit codes: cli/command/exit-codes.ts (incident; stopped by Ctrl-C: 130).
import { identities, paths } from "../components/registry/clouds";
import { preflights } from "../components/registry/preflights";
import { cloudWatches } from "../components/registry/watchers";
import { userEngine } from "../components/tools/incident/engine";
import { runIncidentCommand } from "../components/tools/incident/incident-command";
import { sandboxIncidentEngine } from "../sandbox/run";
import { runCommand } from "./command/command";

let signalExit: number | undefined;

void runCommand({
    name: "incident",
    usage: "usage: npm run incident -- --stack NAME [--sandbox] [--create] [--yes] [--policy-pack DIR] [--allow-skipped] [--status-page FILE]",
    flags: { values: ["--stack", "--policy-pack", "--status-page"], switches: ["--sandbox", "--create", "--yes", "--allow-skipped"] },
    run: async ({ values: v, switches: s }, context) => {
        const result = await runIncidentCommand(
            {
                stack: v["--stack"],
                sandbox: s.has("--sandbox"),
                create: s.has("--create"),
                yes: s.has("--yes"),
                policyPack: v["--policy-pack"],
                allowSkipped: s.has("--allow-skipped"),
                statusPage: v["--status-page"],
            },
            context,
            {
                clouds: { identities, paths, preflights, clis: cloudWatches },
                engine: (args) => (args.sandbox ? sandboxIncidentEngine(args.stack) : userEngine(context.projectDir)),
            },
        );
        signalExit = result.signalExit;
        return result.outcome;
    },
}).then(() => {
    // Stopped by Ctrl-C: the shell's code for it (128 + SIGINT), once the state and the way to resume are printed.
    if (signalExit !== undefined) process.exitCode = signalExit;
});
