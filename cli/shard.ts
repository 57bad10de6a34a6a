// Splits a large incident's inventory into shards, one stack each, that CI runs side by side (each
// with its own state and lock), the canary shard first. Writes per shard an inventory under
// stacks/ and a Pulumi.<shard>.yaml, and a manifest that the next split reads so VMs never move.
//
//   npm run shard -- --inventory FILE --max-vms N [--by cloud|region|account] [--canary N]
//                    [--name NAME] [--stack BASE] [--out DIR] [--scopes-apart] [--json]
//
// Shards that run at once and share a cloud scope (an AWS account and region, an Azure
// subscription, a GCP project) each get a rateShare of its request budget in their stack file;
// --scopes-apart refuses such a split instead.
//
// --out: the project folder to write into (default: this one; shard stacks must live beside
// Pulumi.yaml, their inventories under its stacks/). Exit codes: cli/command/exit-codes.ts (shard).
import { identities, paths } from "../components/registry/clouds";
import { cloudWatches } from "../components/registry/watchers";
import { runShardCommand } from "../components/tools/offline/shard-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "shard",
    usage: "usage: npm run shard -- --inventory FILE --max-vms N [--by cloud|region|account] [--canary N] [--name NAME] [--stack BASE] [--out DIR] [--scopes-apart] [--json]",
    flags: {
        values: ["--inventory", "--max-vms", "--by", "--canary", "--name", "--stack", "--out"],
        switches: ["--scopes-apart", "--json"],
    },
    run: ({ values: v, switches }, context) =>
        runShardCommand(
            {
                inventory: v["--inventory"],
                maxVms: v["--max-vms"],
                by: v["--by"],
                canary: v["--canary"],
                name: v["--name"],
                stack: v["--stack"],
                out: v["--out"],
                scopesApart: switches.has("--scopes-apart"),
                json: switches.has("--json"),
            },
            context,
            {
                identities,
                paths,
                // A cloud the watcher does not know is taken per scope: coarser, so never over a budget.
                rateScopeOf: (cloud) => (cloudWatches.find((c) => c.cloud === cloud)?.regionalLimits ? "region" : "scope"),
            },
        ),
});
