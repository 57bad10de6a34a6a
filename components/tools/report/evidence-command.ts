// `npm run evidence`: the full evidence of a stack's repairs (a VM's record carries it abridged),
// from the stack's state (`pulumi stack export`) or a saved export, decoded, each document checked
// against the SHA-256 its record names.
import { inertJson } from "../display-text";
import { CommandContext } from "../command-contract";
import { StackExport, fullEvidence } from "./full-evidence";
import { BadInputError, KIND_NAMES, recogniseStackJson } from "./input-kind";
import { StackJsonSource, readStackJson, wrongInputIsBadArguments, writeResult } from "./stack-json";

/** What `npm run evidence` was asked for. */
export interface EvidenceCommandArgs extends StackJsonSource {
    /** One VM, by key or label: its evidence document alone. */
    vm?: string;
    /** Where to write (from where the command was started); stdout without it. */
    out?: string;
}

/** A document as JSON when it is JSON (what the engine prints), else as the text it is. */
function asJson(document: string): unknown {
    try {
        return JSON.parse(document);
    } catch {
        return document;
    }
}

/**
 * With `vm`, that VM's evidence document; without, one JSON line per repaired VM, `{"key",
 * "label", "keptBy", "evidence"}`. Stack outputs (the evidence abridged only), an offline plan
 * (nothing ran) or a VM the stack lacks end `badArguments`; a document missing, secret or not
 * matching its record is an error of the command's (`failed`), and nothing is written.
 */
export function runEvidenceCommand(args: EvidenceCommandArgs, context: CommandContext): "ok" {
    const { found, source } = wrongInputIsBadArguments(() => {
        const { value, source } = readStackJson(args, context, ["stack", "export"], "a stack export (pulumi stack export)");
        const input = recogniseStackJson(value, source);
        if (input.kind !== "stack-export") {
            const why =
                input.kind === "offline-plan"
                    ? "nothing has run, so there is no evidence"
                    : "its records carry the evidence abridged; the full documents are in the stack's state";
            throw new BadInputError(
                `${source}: ${KIND_NAMES[input.kind]}: ${why}. Give a stack export (\`pulumi stack export\`), or --stack NAME`,
            );
        }
        return { found: fullEvidence(value as StackExport, args.vm, source), source };
    });
    if (args.vm === undefined && found.length === 0)
        context.stderr.write(`evidence: no VM of ${source} has repair evidence (none was repaired: see npm run report)\n`);
    const text =
        args.vm !== undefined
            ? found.map((f) => `${inertJson(asJson(f.document), 2)}\n`).join("")
            : found.map((f) => `${inertJson({ key: f.key, label: f.label, keptBy: f.keptBy, evidence: asJson(f.document) })}\n`).join("");
    writeResult(args.out, text, context);
    return "ok";
}
