// The full evidence of a stack's repairs (a VM's record carries it abridged): from the stack's
// state, decoded, each checked against the SHA-256 its record names.
//   npm run evidence -- --stack prod [--vm KEY|LABEL]     reads `pulumi stack export --stack prod`
//   npm run evidence -- --from export.json [--vm ...]     reads a saved stack export
//   ... [--out FILE]                                      writes to a file instead of stdout
// With --vm: that VM's evidence document. Without: one JSON line per repaired VM,
// {"key", "label", "keptBy", "evidence"}.
// Exit 0: every document printed matched its record; 1: one could not be read or did not match,
// or the Pulumi CLI failed; 2: bad arguments, a VM the stack does not have, or a file that is not a
// stack export (stack outputs carry the evidence abridged only; an offline plan has none).
import { inertJson } from "../components/tools/display-text";
import { StackExport, fullEvidence } from "../components/tools/report/full-evidence";
import { BadInputError, KIND_NAMES, recogniseStackJson } from "../components/tools/report/input-kind";
import { commandArgs, readStackJson, runCommand, writeResult } from "../components/tools/report/stack-json";

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
    const args = commandArgs(USAGE, ["--stack", "--from", "--vm", "--out"]);
    const vm = args.get("--vm");
    const { value, source } = readStackJson(args, USAGE, ["stack", "export"], "a stack export (pulumi stack export)");
    const input = recogniseStackJson(value, source);
    if (input.kind !== "stack-export") {
        const why = input.kind === "offline-plan" ? "nothing has run, so there is no evidence" : "its records carry the evidence abridged; the full documents are in the stack's state";
        throw new BadInputError(`${source}: ${KIND_NAMES[input.kind]}: ${why}. Give a stack export (\`pulumi stack export\`), or --stack NAME`);
    }
    const found = fullEvidence(value as StackExport, vm, source);
    if (vm === undefined && found.length === 0) process.stderr.write(`evidence: no VM of ${source} has repair evidence (none was repaired: see npm run report)\n`);
    const text = vm !== undefined
        ? found.map((f) => `${inertJson(asJson(f.document), 2)}\n`).join("")
        : found.map((f) => `${inertJson({ key: f.key, label: f.label, keptBy: f.keptBy, evidence: asJson(f.document) })}\n`).join("");
    writeResult(args, text);
});
