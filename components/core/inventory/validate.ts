import { CloudIdentity, vmSlug } from "../contract/identity";
import { didYouMean } from "../contract/nearest";
import { Problem, InputError } from "../contract/problems";
import { RawEntry, RawInventory } from "./read";
import { VmEntry } from "../contract/vm";
import {
    EntryReport,
    ValidationContext,
    applyImportedKeys,
    checkBuiltPath,
    checkLinuxKeys,
    checkUnknownFields,
    isPlainMap,
    readBitlockerKey,
    readCloudFields,
    readHostname,
    readLabels,
    readOs,
    readRestore,
    readRetry,
    readStrategy,
    readWave,
} from "./entry-fields";

/** Fields `defaults:` may set (besides any cloud's own fields, applied to entries of that cloud). */
const DEFAULTABLE_FIELDS = ["cloud", "os", "strategy", "wave", "labels"];

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
                problems.push({
                    file: inv.file,
                    line: inv.defaults.fieldLines[field],
                    field: `defaults.${field}`,
                    message: `cannot be set in defaults${didYouMean(field, [...DEFAULTABLE_FIELDS, ...allCloudFields])}; allowed: ${DEFAULTABLE_FIELDS.join(", ")} and the clouds' own fields`,
                });
            } else if (value === null) {
                problems.push({
                    file: inv.file,
                    line: inv.defaults.fieldLines[field],
                    field: `defaults.${field}`,
                    message: "has no value",
                });
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
            problems.push({
                file: inv.file,
                entry: entry.index,
                line: entry.line,
                vm: entry.label,
                message: `the same VM as vms[${first.index}]${first.line ? ` (line ${first.line})` : ""}; each VM may be listed once (names compare without regard to letter case)`,
            });
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
    const cloud = values.cloud ?? defaults.values.cloud;
    const own = typeof cloud === "string" ? byCloud.get(cloud) : undefined;
    for (const [field, value] of Object.entries(defaults.values)) {
        if (value === null) continue;
        const applies = DEFAULTABLE_FIELDS.includes(field) || (own?.fields.some((f) => f.name === field) ?? false);
        if (!applies) continue;
        if (field === "labels" && isPlainMap(value) && (values.labels === undefined || isPlainMap(values.labels))) {
            values.labels = { ...value, ...(values.labels ?? {}) };
        } else if (values[field] === undefined) {
            values[field] = value;
        }
    }
    return { ...raw, values };
}

/**
 * One entry, field group by field group (entry-fields.ts); every problem is collected, with the
 * entry's line and, once known, its VM. The cloud's fields come first: the others' messages name the VM.
 */
function validateEntry(
    inv: RawInventory,
    raw: RawEntry,
    ctx: ValidationContext,
    byCloud: Map<string, CloudIdentity>,
    problems: Problem[],
): VmEntry | undefined {
    const before = problems.length;
    const report: EntryReport = {
        at: (field, message, vm) =>
            problems.push({ file: inv.file, entry: raw.index, line: (field && raw.fieldLines[field]) || raw.line, vm, field, message }),
        clean: () => problems.length === before,
    };
    const v = raw.values;
    const { identity, fields, label } = readCloudFields(v, byCloud, report);
    checkUnknownFields(v, identity, byCloud, report, label);
    const os = readOs(v, report, label);
    const strategy = readStrategy(v, report, label);
    if (identity && report.clean()) checkBuiltPath(v, identity, strategy, ctx, report, label);
    const wave = readWave(v, report, label);
    const retry = readRetry(v, report, label);
    checkLinuxKeys(v, os, identity, ctx, report, label);
    let bitlockerKey = readBitlockerKey(v, ctx, report, label);
    const { restoreFrom, restoreFromOtherDisk } = readRestore(v, strategy, identity, report, label);
    const hostname = readHostname(v, report, label);
    const labels = readLabels(v, report, label);

    if (!report.clean() || !identity || !label) return undefined;
    const key = identity.key(fields);
    const slug = vmSlug(identity.cloud, key, identity.shortName(fields));
    // Keys imported by name are BitLocker keys: never a Linux VM's.
    if (os !== "linux") bitlockerKey = applyImportedKeys(identity, slug, fields, bitlockerKey, ctx, report, label);
    if (!report.clean()) return undefined;
    return {
        index: raw.index,
        line: raw.line,
        cloud: identity.cloud,
        fields,
        key,
        label,
        slug,
        ...(os === "linux" ? { os } : {}),
        strategy,
        wave,
        ...(retry ? { retry } : {}),
        bitlockerKey,
        restoreFrom,
        ...(restoreFromOtherDisk ? { restoreFromOtherDisk } : {}),
        ...(hostname ? { hostname } : {}),
        labels,
    };
}

/** Re-exported so callers can catch one error type. */
export { InputError };
