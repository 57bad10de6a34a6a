import { createHash } from "crypto";

/**
 * How many quarantined files a VM's record lists; more are counted. A disk with thousands of
 * matching files keeps its record small; the full evidence lists them all.
 */
export const RECORD_MATCHES = 20;

/** Where the full evidence document is, and how to know it is the one the record abridges. */
export interface FullEvidenceRef {
    /** SHA-256 (hex) of the full document as the stack received it (decoded). */
    sha256: string;
    /** Its length in bytes. */
    bytes: number;
    /** The name of the command resource whose output keeps it (packed), in the stack's state. */
    keptBy: string;
}

/** A match as the record lists it. */
interface RecordMatch {
    path?: string;
    modifiedAt?: string;
    sha256?: string;
    action?: string;
}

/**
 * The evidence as a VM's record carries it: the engine's verdict and the files it quarantined (or
 * would, in a dry run), with the same field names as the engine's document (so readers of either
 * work on both), and a reference to the full document, which the stack keeps once (packed) in a
 * command's output. The files it kept and those past RECORD_MATCHES (`matchesNotListed` counts
 * both), the partitions, mounts, rules and timings are in the full document only.
 */
export function abridgeEvidence(document: string, keptBy: string): string {
    if (document === "") return "";
    const full: FullEvidenceRef = {
        sha256: createHash("sha256").update(document, "utf8").digest("hex"),
        bytes: Buffer.byteLength(document, "utf8"),
        keptBy,
    };
    let parsed: unknown;
    try {
        parsed = JSON.parse(document);
    } catch {
        return JSON.stringify({ outcome: "unknown", message: "the evidence is not a JSON document", full });
    }
    if (!isObject(parsed)) return JSON.stringify({ outcome: "unknown", message: "the evidence is not a JSON object", full });
    const top = pick(parsed, ["tool", "version", "dryRun", "outcome", "exitCode", "message", "durationMs"]);
    const volumes = Array.isArray(parsed.volumes) ? parsed.volumes.filter(isObject) : [];
    if (volumes.length === 0) return JSON.stringify({ ...top, full });
    let budget = RECORD_MATCHES;
    const abridged = volumes.map((v) => {
        const all = Array.isArray(v.matches) ? v.matches.filter(isObject) : [];
        const moved = all.filter((m) => m.action !== "kept").slice(0, budget);
        budget -= moved.length;
        const matches: RecordMatch[] = moved.map((m) => pick(m, ["path", "modifiedAt", "sha256", "action"]));
        const notListed = all.length - matches.length;
        return {
            ...pick(v, ["partition", "outcome", "message", "quarantineFolder"]),
            matches,
            ...(notListed > 0 ? { matchesNotListed: notListed } : {}),
        };
    });
    return JSON.stringify({ ...top, volumes: abridged, full });
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pick(source: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of keys) if (source[k] !== undefined) out[k] = source[k];
    return out;
}
