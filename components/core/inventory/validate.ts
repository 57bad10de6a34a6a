import { CloudIdentity, vmSlug } from "../contract/identity";
import { didYouMean } from "../contract/nearest";
import { Problem, InputError, show } from "../contract/problems";
import type { BitLockerKeySources } from "../contract/cloud-path";
import { RawEntry, RawInventory } from "./read";
import { VmEntry } from "../contract/vm";
import { STRATEGIES, Strategy } from "../contract/remedies";

/** Fields every entry may carry, whatever its cloud. */
const COMMON_FIELDS = ["cloud", "strategy", "wave", "bitlockerKey", "restoreFrom", "restoreFromOtherDisk", "hostname", "labels"] as const;
/** Fields `defaults:` may set (besides any cloud's own fields, applied to entries of that cloud). */
const DEFAULTABLE_FIELDS = ["cloud", "strategy", "wave", "labels"];

const CONFIG_KEY = /^([A-Za-z][A-Za-z0-9_-]{0,63}:)?[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
/** A Windows computer name: a NetBIOS name or a DNS name. */
export const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** Labels one entry may carry: they become tags, which the clouds limit per resource (see `MAX_USER_TAGS`). */
export const MAX_VM_LABELS = 12;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
// Printable, no control characters (so no newline), at most 256 characters.
const LABEL_VALUE = /^[^\x00-\x1f\x7f]{0,256}$/;
const MAX_WAVE = 10_000;

/**
 * How to store recovery passwords in a secret config key: on standard input (a file or a pipe),
 * never as an argument, which the process list and shell history would keep; or, without
 * `bitlockerKey`, with `npm run import-keys`, which does that from a recovery-key export.
 */
const SET_SECRET_KEY = (name: string) =>
    `set it on standard input with \`pulumi config set --secret ${name} < FILE\` (a file or a pipe, never an argument: the process list and shell history keep arguments), or drop bitlockerKey and let \`npm run import-keys -- --stack STACK --from EXPORT.csv\` store the keys`;

/** What validation needs to know beyond the file itself. */
export interface ValidationContext {
    /** The stack config namespace, used to qualify `bitlockerKey` names (`bootloop-rescue`). */
    configNamespace: string;
    /** Every cloud the inventory format knows. */
    identities: readonly CloudIdentity[];
    /** What each cloud whose recovery path is built supports; a cloud missing here is not built yet. */
    built: ReadonlyMap<string, { strategies: readonly Strategy[]; bitlocker: BitLockerKeySources }>;
    /** Whether a fully qualified stack-config key exists, and whether it is a secret. */
    configKind(key: string): "secret" | "plain" | "missing";
    /** The value of a fully qualified plain stack-config key (never called for secrets). */
    configValue(key: string): string | undefined;
}

/**
 * The stack-config keys `npm run import-keys` writes for a VM, by its resource-name stem: the
 * secret holding its recovery passwords (paths that take keys from stack config), or the
 * reference to the secret-store secret holding them (paths that read a secret store). What the
 * inventory entry names itself wins over both.
 */
export function importedKeyConfig(namespace: string, slug: string): { key: string; secretRef: string } {
    return { key: `${namespace}:bitlocker-${slug}`, secretRef: `${namespace}:bitlockerSecret-${slug}` };
}

/**
 * Validates a whole inventory and returns its entries, or throws one {@link InputError} listing
 * every problem (file, entry, line, VM, field). Nothing may be declared before this returns.
 */
export function validateInventory(inv: RawInventory, ctx: ValidationContext): VmEntry[] {
    const problems: Problem[] = [];
    const byCloud = new Map(ctx.identities.map((i) => [i.cloud, i]));
    const allCloudFields = new Set(ctx.identities.flatMap((i) => i.fields.map((f) => f.name)));

    if (inv.defaults) {
        for (const [field, value] of Object.entries(inv.defaults.values)) {
            if (!DEFAULTABLE_FIELDS.includes(field) && !allCloudFields.has(field)) {
                problems.push({ file: inv.file, line: inv.defaults.fieldLines[field], field: `defaults.${field}`, message: `cannot be set in defaults${didYouMean(field, [...DEFAULTABLE_FIELDS, ...allCloudFields])}; allowed: ${DEFAULTABLE_FIELDS.join(", ")} and the clouds' own fields` });
            } else if (value === null) {
                problems.push({ file: inv.file, line: inv.defaults.fieldLines[field], field: `defaults.${field}`, message: "has no value" });
            }
        }
    }

    const seen = new Map<string, VmEntry>();
    const entries: VmEntry[] = [];
    for (const raw of inv.entries) {
        const entry = validateEntry(inv, withDefaults(raw, inv.defaults, byCloud), ctx, byCloud, problems);
        if (!entry) continue;
        const first = seen.get(entry.key);
        if (first) {
            problems.push({ file: inv.file, entry: entry.index, line: entry.line, vm: entry.label, message: `the same VM as vms[${first.index}]${first.line ? ` (line ${first.line})` : ""}; each VM may be listed once (names compare without regard to letter case)` });
            continue;
        }
        seen.set(entry.key, entry);
        entries.push(entry);
    }
    if (problems.length > 0) throw new InputError(problems);
    return entries;
}

/** Applies `defaults:` to an entry: the entry's own values win; labels merge. */
function withDefaults(raw: RawEntry, defaults: RawEntry | undefined, byCloud: Map<string, CloudIdentity>): RawEntry {
    if (!defaults) return raw;
    const values = { ...raw.values };
    const cloud = (values.cloud ?? defaults.values.cloud) as unknown;
    const own = typeof cloud === "string" ? byCloud.get(cloud) : undefined;
    for (const [field, value] of Object.entries(defaults.values)) {
        if (value === null) continue;
        const applies = DEFAULTABLE_FIELDS.includes(field) || (own?.fields.some((f) => f.name === field) ?? false);
        if (!applies) continue;
        if (field === "labels" && isPlainMap(value) && (values.labels === undefined || isPlainMap(values.labels))) {
            values.labels = { ...value, ...((values.labels as Record<string, unknown>) ?? {}) };
        } else if (values[field] === undefined) {
            values[field] = value;
        }
    }
    return { ...raw, values };
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A text value: strings as they are, integers as their digits (YAML reads `zone: 1` as a number). */
function asText(v: unknown): string | undefined {
    if (typeof v === "string") return v;
    if (typeof v === "number" && Number.isInteger(v)) return String(v);
    return undefined;
}

function validateEntry(
    inv: RawInventory,
    raw: RawEntry,
    ctx: ValidationContext,
    byCloud: Map<string, CloudIdentity>,
    problems: Problem[],
): VmEntry | undefined {
    const at = (field: string | undefined, message: string, vm?: string) =>
        problems.push({ file: inv.file, entry: raw.index, line: (field && raw.fieldLines[field]) || raw.line, vm, field, message });
    const before = problems.length;
    const v = raw.values;

    // cloud
    const cloudValue = v.cloud;
    const identity = typeof cloudValue === "string" ? byCloud.get(cloudValue) : undefined;
    if (cloudValue === undefined || cloudValue === null) {
        at("cloud", `missing; expected one of ${[...byCloud.keys()].join(", ")}`);
    } else if (!identity) {
        at("cloud", `unknown cloud ${show(cloudValue)}; expected one of ${[...byCloud.keys()].join(", ")}`);
    }

    // the cloud's own fields
    const fields: Record<string, string> = {};
    let vmLabel: string | undefined;
    if (identity) {
        for (const spec of identity.fields) {
            const value = v[spec.name];
            if (value === undefined || value === null) {
                if (spec.required) at(spec.name, `missing; expected ${spec.expected}`);
                continue;
            }
            const text = asText(value);
            if (text === undefined || !spec.pattern.test(text)) {
                at(spec.name, `${show(value)} is not valid; expected ${spec.expected}`);
                continue;
            }
            fields[spec.name] = text;
        }
        if (problems.length === before) {
            vmLabel = identity.label(fields);
            for (const c of identity.crossCheck?.(fields) ?? []) at(c.field, c.message, vmLabel);
        }
    }
    const label = vmLabel;

    // unknown fields (including another cloud's fields)
    for (const field of Object.keys(v)) {
        const common = (COMMON_FIELDS as readonly string[]).includes(field);
        const own = identity?.fields.some((f) => f.name === field) ?? false;
        if (common || own) continue;
        const owner = [...byCloud.values()].find((i) => i.fields.some((f) => f.name === field));
        const fieldsHere = [...COMMON_FIELDS, ...(identity ? identity.fields : [...byCloud.values()].flatMap((i) => i.fields)).map((f) => f.name)];
        at(field, owner && identity ? `not a field of ${identity.cloud} entries (it belongs to ${owner.cloud})` : `unknown field${didYouMean(field, fieldsHere)}`, label);
    }

    // strategy
    let strategy: Strategy = "repair";
    if (v.strategy !== undefined) {
        if (typeof v.strategy !== "string" || !(STRATEGIES as readonly string[]).includes(v.strategy)) {
            at("strategy", `${show(v.strategy)} is not a strategy; expected one of ${STRATEGIES.join(", ")}`, label);
        } else {
            strategy = v.strategy as Strategy;
        }
    }
    if (identity && problems.length === before) {
        const built = ctx.built.get(identity.cloud);
        if (!built) {
            at("cloud", `the ${identity.cloud} recovery path is not built yet (built: ${[...ctx.built.keys()].join(", ") || "none"}); this entry cannot be recovered by this version`, label);
        } else if (!built.strategies.includes(strategy)) {
            at("strategy", `strategy ${show(strategy)} is not available for ${identity.cloud} in this version (available: ${built.strategies.join(", ")})`, label);
        } else if (v.bitlockerKey !== undefined && built.bitlocker.stackConfig !== true) {
            at("bitlockerKey", built.bitlocker.stackConfig, label);
        }
    }

    // wave
    let wave: number | undefined;
    if (v.wave !== undefined) {
        const n = typeof v.wave === "string" && /^\d{1,6}$/.test(v.wave) ? Number(v.wave) : v.wave;
        if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_WAVE) {
            at("wave", `${show(v.wave)} is not a wave number; expected an integer from 0 to ${MAX_WAVE}`, label);
        } else {
            wave = n;
        }
    }

    // bitlockerKey: the NAME of a secret config key
    let bitlockerKey: string | undefined;
    if (v.bitlockerKey !== undefined) {
        const name = v.bitlockerKey;
        if (typeof name !== "string" || !CONFIG_KEY.test(name)) {
            at("bitlockerKey", `${show(name)} is not a config key name; give the name of a secret stack-config key, never the recovery password itself (${SET_SECRET_KEY("NAME")})`, label);
        } else {
            const full = name.includes(":") ? name : `${ctx.configNamespace}:${name}`;
            const kind = ctx.configKind(full);
            // Only this project's own keys: another namespace's secret (a provider's credentials,
            // say) must never be sent to a rescue VM.
            if (!full.startsWith(`${ctx.configNamespace}:`)) at("bitlockerKey", `names config key ${show(full)} of another namespace; BitLocker keys must be keys of this project (${ctx.configNamespace}:…), so no other secret of the stack can reach a rescue VM`, label);
            else if (kind === "missing") at("bitlockerKey", `names config key ${show(full)}, which this stack does not set; ${SET_SECRET_KEY(name)}`, label);
            else if (kind === "plain") at("bitlockerKey", `config key ${show(full)} is not a secret, so its value sits in plain text in the stack file; set it again as a secret (${SET_SECRET_KEY(name)})`, label);
            else bitlockerKey = full;
        }
    }

    // restoreFrom
    let restoreFrom: string | undefined;
    if (v.restoreFrom !== undefined) {
        const text = asText(v.restoreFrom);
        if (strategy !== "restore") {
            at("restoreFrom", `is only valid with strategy "restore" (this entry's strategy is ${show(strategy)})`, label);
        } else if (identity && (text === undefined || !identity.restoreFrom.pattern.test(text))) {
            at("restoreFrom", `${show(v.restoreFrom)} is not valid; expected ${identity.restoreFrom.expected}`, label);
        } else {
            restoreFrom = text;
        }
    }

    let restoreFromOtherDisk: boolean | undefined;
    if (v.restoreFromOtherDisk !== undefined) {
        const text = typeof v.restoreFromOtherDisk === "boolean" ? String(v.restoreFromOtherDisk) : asText(v.restoreFromOtherDisk);
        if (text !== "true" && text !== "false") at("restoreFromOtherDisk", `${show(v.restoreFromOtherDisk)} is not valid; expected true or false`, label);
        else if (v.restoreFrom === undefined) at("restoreFromOtherDisk", "is only valid with restoreFrom (it says the backup restoreFrom names was taken from another disk on purpose)", label);
        else restoreFromOtherDisk = text === "true";
    }

    // hostname
    let hostname: string | undefined;
    if (v.hostname !== undefined) {
        const text = asText(v.hostname);
        if (text === undefined || text.length > 253 || !HOSTNAME.test(text)) at("hostname", `${show(v.hostname)} is not a computer name; expected the VM's Windows computer name (letters, digits, hyphens; a DNS name may have dots)`, label);
        else hostname = text;
    }

    // labels
    const labels: Record<string, string> = {};
    if (v.labels !== undefined) {
        if (!isPlainMap(v.labels)) {
            at("labels", "must be a map of key: value", label);
        } else {
            if (Object.keys(v.labels).length > MAX_VM_LABELS) at("labels", `${Object.keys(v.labels).length} labels; at most ${MAX_VM_LABELS} (they become tags, which each cloud limits per resource)`, label);
            for (const [k, val] of Object.entries(v.labels)) {
                const text = asText(val);
                if (!LABEL_KEY.test(k)) at("labels", `key ${show(k)} is not valid; expected 1-63 letters, digits, '_', '.', '/', '-'`, label);
                else if (text === undefined || !LABEL_VALUE.test(text)) at("labels", `value of ${show(k)} must be text of at most 256 characters without control characters`, label);
                else labels[k] = text;
            }
        }
    }

    if (problems.length > before || !identity || !label) return undefined;
    const key = identity.key(fields);
    const slug = vmSlug(identity.cloud, key, identity.shortName(fields));

    // Keys `npm run import-keys` stored for this VM, found by its stem.
    const built = ctx.built.get(identity.cloud)!;
    const imported = importedKeyConfig(ctx.configNamespace, slug);
    if (bitlockerKey === undefined && built.bitlocker.stackConfig === true && ctx.configKind(imported.key) === "secret") bitlockerKey = imported.key;
    const secretField = built.bitlocker.secretField && identity.fields.find((f) => f.name === built.bitlocker.secretField);
    if (secretField && fields[secretField.name] === undefined && ctx.configKind(imported.secretRef) === "plain") {
        const ref = ctx.configValue(imported.secretRef) ?? "";
        if (!secretField.pattern.test(ref)) at(secretField.name, `stack config key ${show(imported.secretRef)} (written by npm run import-keys) holds ${show(ref)}, which is not valid; expected ${secretField.expected}`, label);
        else fields[secretField.name] = ref;
    }
    if (problems.length > before) return undefined;
    return {
        index: raw.index,
        line: raw.line,
        cloud: identity.cloud,
        fields,
        key,
        label,
        slug,
        strategy,
        wave,
        bitlockerKey,
        restoreFrom,
        ...(restoreFromOtherDisk ? { restoreFromOtherDisk } : {}),
        ...(hostname ? { hostname } : {}),
        labels,
    };
}

/** Re-exported so callers can catch one error type. */
export { InputError };
