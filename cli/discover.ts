// Finds the boot-looping Windows VMs of the scoped clouds from outside the guest, with read-only
// calls, and writes the inventory for review: discover → review the file → npm run plan → pulumi up.
//
//   npm run discover -- --cloud aws|azure|gcp[,…] [scope options] [--stack NAME]
//                       [--falcon-csv FILE] [--since ISO] [--until ISO]
//                       [--out stacks/NAME.yaml] [--force] [--json]
//
// Without --out the inventory goes to stdout; progress and the report go to stderr.
// Exit codes: cli/command/exit-codes.ts (discover).
import { discoveries } from "../components/registry/discoveries";
import { builtClouds, identities } from "../components/registry/inventory";
import { cloudWatches } from "../components/registry/watchers";
import { runDiscoverCommand, scopeFlags, scopeOptionsHelp } from "../components/tools/discovery/discover-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "discover",
    usage: [
        "usage: npm run discover -- --cloud aws|azure|gcp[,…] [scope options] [--stack NAME] [--falcon-csv FILE] [--since ISO] [--until ISO] [--out FILE] [--force] [--json]",
        ...scopeOptionsHelp(discoveries),
        "  --stack NAME         read settings (AWS roles per account, boot markers) from Pulumi.NAME.yaml",
        "  --falcon-csv FILE    a CrowdStrike host export: hosts last seen inside the bad window confirm VMs",
        "  --since/--until ISO  the bad window (default 2024-07-19T04:09:00Z to 05:27:00Z, channel file 291)",
        "  --out FILE           write the inventory there (never over an existing file without --force)",
    ].join("\n"),
    flags: {
        values: ["--cloud", "--stack", "--falcon-csv", "--since", "--until", "--out", ...scopeFlags(discoveries)],
        switches: ["--force", "--json"],
        repeated: "give one comma-separated list",
    },
    run: ({ values, switches }, context) =>
        runDiscoverCommand({ values, force: switches.has("--force"), json: switches.has("--json") }, context, {
            discoveries,
            identities,
            builtClouds,
            clis: cloudWatches,
        }),
});
