// The full evidence of a stack's repairs (a VM's record carries it abridged): from the stack's
// state, decoded, each checked against the SHA-256 its record names.
//   npm run evidence -- --stack prod [--vm KEY|LABEL]     reads `pulumi stack export --stack prod`
//   npm run evidence -- --from export.json [--vm ...]     reads a saved stack export
//   ... [--out FILE]                                      writes to a file instead of stdout
// With --vm: that VM's evidence document. Without: one JSON line per repaired VM,
// {"key", "label", "keptBy", "evidence"}.
import { StackExport, fullEvidence } from "../components/core/report/full-evidence";
import { commandArgs, readStackJson, runCommand, writeResult } from "./stack-json";

const USAGE = "usage: npm run evidence -- (--stack NAME | --from FILE) [--vm KEY|LABEL] [--out FILE]";

/** A document as JSON when it is JSON (what the engine prints), else as the text it is. */
function asJson(document: string): unknown {
    try {
        return JSON.parse(document);
    } catch {
        return document;
    }
}

runCommand("evidence", () => {
    const args = commandArgs(USAGE);
    const vm = args.get("--vm");
    const { value } = readStackJson(args, USAGE, ["stack", "export"], "a stack export (pulumi stack export)");
    const found = fullEvidence(value as StackExport, vm);
    const text = vm !== undefined
        ? found.map((f) => `${JSON.stringify(asJson(f.document), null, 2)}\n`).join("")
        : found.map((f) => `${JSON.stringify({ key: f.key, label: f.label, keptBy: f.keptBy, evidence: asJson(f.document) })}\n`).join("");
    writeResult(args, text);
});
