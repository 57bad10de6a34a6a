import { createHash } from "crypto";

/** One inventory field that only entries of a given cloud may carry, with its strict pattern. */
export interface IdentityField {
    /** Field name exactly as it appears in the inventory (e.g. `instanceId`). */
    name: string;
    /** Whether every entry of this cloud must carry the field. */
    required: boolean;
    /** The whole value must match; anchored patterns only. */
    pattern: RegExp;
    /** What a valid value looks like, for error messages. */
    expected: string;
}

/** Where a VM sits: what the recovery plan groups by. */
export interface Placement {
    /** Account (AWS), subscription (Azure) or project (GCP); empty when not known yet. */
    scope: string;
    /** Cloud region. */
    region: string;
    /** Zone or availability zone; empty for a VM that is not zonal. */
    zone: string;
}

/**
 * How one cloud spells a VM in the inventory: its fields, how they are checked, and how they are
 * turned into a stable identity. Each cloud folder exports one; core uses it without knowing
 * which cloud it is.
 */
export interface CloudIdentity {
    /** The `cloud:` value of the inventory entries it describes. */
    cloud: string;
    /** The fields entries of this cloud carry besides the common ones. */
    fields: IdentityField[];
    /** Pattern and description of a valid `restoreFrom` value (a snapshot or backup of this cloud). */
    restoreFrom: { pattern: RegExp; expected: string };
    /** Checks across fields (e.g. a zone inside the region); returns problems as field + message. */
    crossCheck?(fields: Readonly<Record<string, string>>): { field: string; message: string }[];
    /**
     * The canonical identity of the VM, from valid fields: equal for the same VM however its names
     * are cased, different for different VMs. Used to detect duplicates and to name resources.
     */
    key(fields: Readonly<Record<string, string>>): string;
    /** A short human label, e.g. `aws us-east-1/i-0123456789abcdef0`. */
    label(fields: Readonly<Record<string, string>>): string;
    /** A short readable name of the VM, lowercase letters, digits and hyphens (e.g. the VM name). */
    shortName(fields: Readonly<Record<string, string>>): string;
    /** Placement known from the inventory alone; the cloud path's lookup completes it. */
    placement(fields: Readonly<Record<string, string>>): Placement;
    /** Fields of the i-th synthetic VM (valid, distinct for distinct i), for benchmarks and examples. */
    sample(i: number): Record<string, string>;
}

/** `i` as `width` lowercase hex digits, for synthetic identifiers. */
export function hexId(i: number, width: number): string {
    return i.toString(16).padStart(width, "0").slice(-width);
}

/** Eight hex digits of the SHA-256 of a text: short, stable, collision-resistant enough for names. */
export function shortHash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/** Lowercase, hyphen-separated form of any text: `App_01.prod` → `app-01-prod`. */
export function kebab(text: string): string {
    return text
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "");
}

/**
 * The resource-name stem of a VM: readable, at most 30 characters, lowercase, and unique through a
 * hash of the VM's canonical key. It depends on this VM alone, so adding or removing another VM
 * never changes it (and so never renames, or recreates, this VM's resources).
 */
export function vmSlug(cloud: string, key: string, shortName: string): string {
    const readable = kebab(shortName).slice(0, 20).replace(/-+$/, "") || "vm";
    return `${readable}-${shortHash(`${cloud}\n${key}`)}`;
}
