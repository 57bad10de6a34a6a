// Imports a recovery-key export into a stack, so that its repairs unlock BitLocker without anyone
// typing a key: each VM's recovery passwords go where its cloud path reads them (secret stack
// config on Azure, the cloud's secret store on AWS and GCP). See docs/operators-guide.md, "BitLocker keys".
//
//   npm run import-keys -- --stack NAME --from FILE [--format entra|ad|csv] [--dry-run]
//
// Exit codes: cli/command/exit-codes.ts (import-keys; a stop signal: 128 + its number).
import { identities, paths } from "../components/registry/clouds";
import { runImportKeysCommand } from "../components/tools/keys/import-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "import-keys",
    usage: "usage: npm run import-keys -- --stack NAME --from FILE [--format entra|ad|csv] [--dry-run]",
    flags: { values: ["--stack", "--from", "--format"], switches: ["--dry-run"] },
    run: ({ values, switches }, context) =>
        runImportKeysCommand(
            { stack: values["--stack"], from: values["--from"], format: values["--format"], dryRun: switches.has("--dry-run") },
            context,
            { identities, paths },
        ),
});
