// The offline plan: runs the real program under Pulumi's mocks and prints what `pulumi up` would
// register. No Pulumi CLI, no credentials, no cloud.
//
//   npm run plan -- --stack dev            plan a stack (Pulumi.dev.yaml and its inventory)
//   npm run plan -- --inventory FILE       plan an inventory file with default settings
//   npm run plan -- ... --json             one JSON document instead of the summary
//   npm run plan -- ... --github-output    also append parallel= and max-in-flight= to the file
//                                          $GITHUB_OUTPUT names (for `pulumi up --parallel` in CI)
//   npm run plan -- ... --preflight        then check the plan against the real clouds, read-only:
//                                          quotas, required-tag policies, the deployer's permissions
//   npm run plan -- ... --preflight --allow-skipped   accept checks that could not be made (the
//                                          report still names each one)
// Exit codes: cli/command/exit-codes.ts (plan).
import { identities, paths } from "../components/registry/clouds";
import { preflights } from "../components/registry/preflights";
import { cloudWatches } from "../components/registry/watchers";
import { runPlanCommand } from "../components/tools/offline/plan-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "plan",
    usage: "usage: npm run plan -- (--stack NAME | --inventory FILE) [--json] [--github-output] [--preflight [--allow-skipped]]",
    flags: { values: ["--stack", "--inventory"], switches: ["--json", "--github-output", "--preflight", "--allow-skipped"] },
    run: ({ values, switches }, context) =>
        runPlanCommand(
            {
                stack: values["--stack"],
                inventory: values["--inventory"],
                json: switches.has("--json"),
                githubOutput: switches.has("--github-output"),
                preflight: switches.has("--preflight"),
                allowSkipped: switches.has("--allow-skipped"),
            },
            context,
            { identities, paths, preflights, clis: cloudWatches },
        ),
});
