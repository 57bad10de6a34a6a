// Splits a large incident's inventory into shards, one stack each, that CI runs side by side (each
// with its own state and lock), the canary shard first. Writes per shard an inventory under
// stacks/ and a Pulumi.<shard>.yaml, and a manifest that the next split reads so VMs never move.
//
//   npm run shard -- --inventory FILE --max-vms N [--by cloud|region|account] [--canary N]
//                    [--name NAME] [--stack BASE] [--out DIR] [--json]
//
// --out: the project folder to write into (default: this one; shard stacks must live beside
// Pulumi.yaml, their inventories under its stacks/). Exit codes: cli/command/exit-codes.ts (shard).
import { identities, paths } from "../components/registry/clouds";
import { runShardCommand } from "../components/tools/offline/shard-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "shard",
    usage: "usage: npm run shard -- --inventory FILE --max-vms N [--by cloud|region|account] [--canary N] [--name NAME] [--stack BASE] [--out DIR] [--json]",
    flags: { values: ["--inventory", "--max-vms", "--by", "--canary", "--name", "--stack", "--out"], switches: ["--json"] },
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
                json: switches.has("--json"),
            },
            context,
            { identities, paths },
        ),
});
