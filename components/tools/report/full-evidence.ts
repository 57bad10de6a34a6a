import { createHash } from "crypto";
import { FullEvidenceRef } from "../../core/evidence-record";
import { unpackEvidence } from "../../core/cloud-steps";
import { BadInputError, ExportedResource, KIND_NAMES, recogniseStackJson } from "./input-kind";

/** What `pulumi stack export` prints, as far as the evidence needs it. */
export interface StackExport {
    deployment?: { resources?: ExportedResource[] };
}

/** One VM's full evidence document, decoded, checked against its record. */
export interface FullEvidence {
    key: string;
    label: string;
    /** The engine's evidence document (JSON text). */
    document: string;
    /** The resource whose output kept it (empty for a record that carries it whole). */
    keptBy: string;
}

/** A VM's record in the stack outputs, as far as the evidence needs it. */
interface RecordValues {
    key: string;
    label: string;
    evidence?: unknown;
}

/**
 * The full evidence of the stack's VMs (or of the one whose key or label is `only`), read from a
 * stack export: each record names the command whose output keeps the document packed, and its
 * SHA-256, which the decoded document must match. A record of an earlier version carries the
 * whole document itself. Throws, naming the VM, when a document is missing or does not match; a
 * {@link BadInputError} for JSON that is not a stack export with records, or a VM it does not have.
 */
export function fullEvidence(exported: StackExport, only?: string, source = "the stack export"): FullEvidence[] {
    const input = recogniseStackJson(exported, source);
    if (input.kind !== "stack-export") throw new BadInputError(`${source}: ${KIND_NAMES[input.kind]}, not a stack export`);
    const resources = input.resources ?? [];
    const vms = Object.values(input.vms ?? {}) as RecordValues[];
    if (only !== undefined) {
        const chosen = vms.filter((v) => v.key === only || v.label.toLowerCase() === only.toLowerCase());
        if (chosen.length === 0)
            throw new BadInputError(`no VM ${JSON.stringify(only)} in the stack's records (give its key or its label)`);
        return chosen.map((v) => documentOf(v, resources));
    }
    return vms.filter((v) => typeof v.evidence === "string" && v.evidence !== "").map((v) => documentOf(v, resources));
}

function documentOf(vm: RecordValues, resources: readonly ExportedResource[]): FullEvidence {
    if (typeof vm.evidence !== "string")
        throw new Error(`${vm.label}: its record's evidence is ${vm.evidence === undefined ? "missing" : "not readable (a secret?)"}`);
    if (vm.evidence === "") throw new Error(`${vm.label}: its strategy (or rollback) repaired no disk, so it has no evidence`);
    let ref: FullEvidenceRef | undefined;
    try {
        ref = (JSON.parse(vm.evidence) as { full?: FullEvidenceRef }).full;
    } catch {
        throw new Error(`${vm.label}: its record's evidence is not JSON`);
    }
    if (!ref) return { key: vm.key, label: vm.label, document: vm.evidence, keptBy: "" };
    const keeper = resources.find((r) => r.urn.endsWith(`::${ref.keptBy}`));
    if (!keeper) throw new Error(`${vm.label}: the stack has no resource ${ref.keptBy}, which kept its evidence`);
    const outputs = keeper.outputs ?? {};
    // The evidence is the last line a command printed; a swap of an earlier version kept it in its
    // environment instead. The record's hash says which is the one.
    const candidates = [outputs.stdout, (outputs.environment as Record<string, unknown> | undefined)?.EVIDENCE];
    if (candidates.some((c) => c !== undefined && typeof c !== "string"))
        throw new Error(
            `${vm.label}: ${ref.keptBy} keeps its output as a secret; the evidence cannot be read from an export without --show-secrets`,
        );
    for (const candidate of candidates) {
        if (typeof candidate !== "string") continue;
        const document = unpackEvidence(candidate);
        if (createHash("sha256").update(document, "utf8").digest("hex") === ref.sha256)
            return { key: vm.key, label: vm.label, document, keptBy: ref.keptBy };
    }
    throw new Error(`${vm.label}: the output of ${ref.keptBy} holds no evidence matching its record (sha256 ${ref.sha256})`);
}
