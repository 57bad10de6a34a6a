// The full evidence of a stack's repairs (a VM's record carries it abridged): from the stack's
// state, decoded, each checked against the SHA-256 its record names.
//   npm run evidence -- --stack prod [--vm KEY|LABEL]     reads `pulumi stack export --stack prod`
//   npm run evidence -- --from export.json [--vm ...]     reads a saved stack export
//   ... [--out FILE]                                      writes to a file instead of stdout
// With --vm: that VM's evidence document. Without: one JSON line per repaired VM,
// {"key", "label", "keptBy", "evidence"}. Exit codes: cli/command/exit-codes.ts (evidence).
import { runEvidenceCommand } from "../components/tools/report/evidence-command";
import { runCommand } from "./command/command";

void runCommand({
    name: "evidence",
    usage: "usage: npm run evidence -- (--stack NAME | --from FILE) [--vm KEY|LABEL] [--out FILE]",
    flags: { values: ["--stack", "--from", "--vm", "--out"] },
    run: ({ values }, context) =>
        runEvidenceCommand({ stack: values["--stack"], from: values["--from"], vm: values["--vm"], out: values["--out"] }, context),
});
