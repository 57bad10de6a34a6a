// An inventory entry's fields, one group at a time: each reader checks its group, reports every
// problem through the entry's report, and returns the value it read (undefined when absent or bad).
import { CloudIdentity } from "../contract/identity";
import { didYouMean } from "../contract/nearest";
import { show } from "../contract/problems";
import type { BitLockerKeySources } from "../contract/cloud-path";
import { STRATEGIES, Strategy } from "../contract/remedies";
import { MAX_RETRY } from "../contract/chain-steps";
import { GUEST_OSES, GuestOs } from "../contract/vm";
import { RawEntry } from "./read";

/** Fields every entry may carry, whatever its cloud. */
const COMMON_FIELDS = [
    "cloud",
    "os",
    "strategy",
    "wave",
    "retry",
    "bitlockerKey",
    "restoreFrom",
    "restoreFromOtherDisk",
    "hostname",
    "labels",
] as const;
const CONFIG_KEY = /^([A-Za-z][A-Za-z0-9_-]{0,63}:)?[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
/** A Windows computer name: a NetBIOS name or a DNS name. */
export const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** Labels one entry may carry: they become tags, which the clouds limit per resource (see `MAX_USER_TAGS`). */
export const MAX_VM_LABELS = 12;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
// Printable, no control characters (so no newline), at most 256 characters.
// eslint-disable-next-line no-control-regex -- the control characters are what the pattern refuses
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

/** Where an entry's readers report problems. */
export interface EntryReport {
    /** Records a problem of `field` (the entry's line, or the field's own when known), naming the VM once known. */
    at(field: string | undefined, message: string, vm?: string): void;
    /** True while no problem of this entry has been recorded. */
    clean(): boolean;
}

type Values = RawEntry["values"];

export function isPlainMap(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A text value: strings as they are, integers as their digits (YAML reads `zone: 1` as a number). */
function asText(v: unknown): string | undefined {
    if (typeof v === "string") return v;
    if (typeof v === "number" && Number.isInteger(v)) return String(v);
    return undefined;
}

/** `cloud:` and that cloud's own fields, checked against their patterns; the VM's label once they are valid. */
export function readCloudFields(
    v: Values,
    byCloud: Map<string, CloudIdentity>,
    report: EntryReport,
): { identity?: CloudIdentity; fields: Record<string, string>; label?: string } {
    const cloudValue = v.cloud;
    const identity = typeof cloudValue === "string" ? byCloud.get(cloudValue) : undefined;
    if (cloudValue === undefined || cloudValue === null) {
        report.at("cloud", `missing; expected one of ${[...byCloud.keys()].join(", ")}`);
    } else if (!identity) {
        report.at("cloud", `unknown cloud ${show(cloudValue)}; expected one of ${[...byCloud.keys()].join(", ")}`);
    }
    const fields: Record<string, string> = {};
    if (!identity) return { fields };
    for (const spec of identity.fields) {
        const value = v[spec.name];
        if (value === undefined || value === null) {
            if (spec.required) report.at(spec.name, `missing; expected ${spec.expected}`);
            continue;
        }
        const text = asText(value);
        if (text === undefined || !spec.pattern.test(text)) {
            report.at(spec.name, `${show(value)} is not valid; expected ${spec.expected}`);
            continue;
        }
        fields[spec.name] = text;
    }
    if (!report.clean()) return { identity, fields };
    const label = identity.label(fields);
    for (const c of identity.crossCheck?.(fields) ?? []) report.at(c.field, c.message, label);
    return { identity, fields, label };
}

/** Fields no cloud or common field has (another cloud's field is named as such; a misspelling gets the nearest). */
export function checkUnknownFields(
    v: Values,
    identity: CloudIdentity | undefined,
    byCloud: Map<string, CloudIdentity>,
    report: EntryReport,
    label: string | undefined,
): void {
    for (const field of Object.keys(v)) {
        const common = (COMMON_FIELDS as readonly string[]).includes(field);
        const own = identity?.fields.some((f) => f.name === field) ?? false;
        if (common || own) continue;
        const owner = [...byCloud.values()].find((i) => i.fields.some((f) => f.name === field));
        const fieldsHere = [
            ...COMMON_FIELDS,
            ...(identity ? identity.fields : [...byCloud.values()].flatMap((i) => i.fields)).map((f) => f.name),
        ];
        report.at(
            field,
            owner && identity
                ? `not a field of ${identity.cloud} entries (it belongs to ${owner.cloud})`
                : `unknown field${didYouMean(field, fieldsHere)}`,
            label,
        );
    }
}

/** `strategy:`, `repair` when absent. */
export function readStrategy(v: Values, report: EntryReport, label: string | undefined): Strategy {
    if (v.strategy === undefined) return "repair";
    if (typeof v.strategy !== "string" || !(STRATEGIES as readonly string[]).includes(v.strategy)) {
        report.at("strategy", `${show(v.strategy)} is not a strategy; expected one of ${STRATEGIES.join(", ")}`, label);
        return "repair";
    }
    return v.strategy as Strategy;
}

/** `os:` the guest OS, `windows` when absent; an unknown value names the nearest known one. */
export function readOs(v: Values, report: EntryReport, label: string | undefined): GuestOs {
    if (v.os === undefined) return "windows";
    if (typeof v.os !== "string" || !(GUEST_OSES as readonly string[]).includes(v.os)) {
        const near = typeof v.os === "string" ? didYouMean(v.os, GUEST_OSES) : "";
        report.at("os", `${show(v.os)} is not a guest OS${near}; expected one of ${GUEST_OSES.join(", ")}`, label);
        return "windows";
    }
    return v.os as GuestOs;
}

/**
 * A Linux entry names no BitLocker key (`bitlockerKey`, or the cloud's secret-store field): the
 * engine unlocks BitLocker only, so a key there says the entry is not what it claims to be.
 */
export function checkLinuxKeys(
    v: Values,
    os: GuestOs,
    identity: CloudIdentity | undefined,
    ctx: ValidationContext,
    report: EntryReport,
    label: string | undefined,
): void {
    if (os !== "linux") return;
    const secretField = identity ? ctx.built.get(identity.cloud)?.bitlocker.secretField : undefined;
    for (const field of ["bitlockerKey", ...(secretField ? [secretField] : [])])
        if (v[field] !== undefined)
            report.at(
                field,
                `is a BitLocker key, and this entry is os: linux (BitLocker is Windows only); remove ${field}, or the os: line if the VM runs Windows`,
                label,
            );
}

/** Whether this version builds the entry's cloud path, with its strategy and its kind of BitLocker key. */
export function checkBuiltPath(
    v: Values,
    identity: CloudIdentity,
    strategy: Strategy,
    ctx: ValidationContext,
    report: EntryReport,
    label: string | undefined,
): void {
    const built = ctx.built.get(identity.cloud);
    if (!built) {
        report.at(
            "cloud",
            `the ${identity.cloud} recovery path is not built yet (built: ${[...ctx.built.keys()].join(", ") || "none"}); this entry cannot be recovered by this version`,
            label,
        );
    } else if (!built.strategies.includes(strategy)) {
        report.at(
            "strategy",
            `strategy ${show(strategy)} is not available for ${identity.cloud} in this version (available: ${built.strategies.join(", ")})`,
            label,
        );
    } else if (v.bitlockerKey !== undefined && built.bitlocker.stackConfig !== true) {
        report.at("bitlockerKey", built.bitlocker.stackConfig, label);
    }
}

/** `wave:`, an integer from 0 to MAX_WAVE. */
export function readWave(v: Values, report: EntryReport, label: string | undefined): number | undefined {
    if (v.wave === undefined) return undefined;
    const n = typeof v.wave === "string" && /^\d{1,6}$/.test(v.wave) ? Number(v.wave) : v.wave;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_WAVE) {
        report.at("wave", `${show(v.wave)} is not a wave number; expected an integer from 0 to ${MAX_WAVE}`, label);
        return undefined;
    }
    return n;
}

/**
 * `retry:`, an integer from 0 to MAX_RETRY: how many times the VM's recovery is retried (raised by
 * one to retry a VM recorded `failed`); absent or 0 for the first attempt.
 */
export function readRetry(v: Values, report: EntryReport, label: string | undefined): number | undefined {
    if (v.retry === undefined) return undefined;
    const n = typeof v.retry === "string" && /^\d{1,2}$/.test(v.retry) ? Number(v.retry) : v.retry;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_RETRY) {
        report.at(
            "retry",
            `${show(v.retry)} is not a retry count; expected an integer from 0 to ${MAX_RETRY} (raise it by one to retry a VM recorded failed)`,
            label,
        );
        return undefined;
    }
    return n === 0 ? undefined : n;
}

/** `bitlockerKey:` the NAME of a secret config key of this project, fully qualified. */
export function readBitlockerKey(v: Values, ctx: ValidationContext, report: EntryReport, label: string | undefined): string | undefined {
    if (v.bitlockerKey === undefined) return undefined;
    const name = v.bitlockerKey;
    if (typeof name !== "string" || !CONFIG_KEY.test(name)) {
        report.at(
            "bitlockerKey",
            `${show(name)} is not a config key name; give the name of a secret stack-config key, never the recovery password itself (${SET_SECRET_KEY("NAME")})`,
            label,
        );
        return undefined;
    }
    const full = name.includes(":") ? name : `${ctx.configNamespace}:${name}`;
    const kind = ctx.configKind(full);
    // Only this project's own keys: another namespace's secret (a provider's credentials,
    // say) must never be sent to a rescue VM.
    if (!full.startsWith(`${ctx.configNamespace}:`))
        report.at(
            "bitlockerKey",
            `names config key ${show(full)} of another namespace; BitLocker keys must be keys of this project (${ctx.configNamespace}:…), so no other secret of the stack can reach a rescue VM`,
            label,
        );
    else if (kind === "missing")
        report.at("bitlockerKey", `names config key ${show(full)}, which this stack does not set; ${SET_SECRET_KEY(name)}`, label);
    else if (kind === "plain")
        report.at(
            "bitlockerKey",
            `config key ${show(full)} is not a secret, so its value sits in plain text in the stack file; set it again as a secret (${SET_SECRET_KEY(name)})`,
            label,
        );
    else return full;
    return undefined;
}

/** `restoreFrom:` (strategy restore only) and `restoreFromOtherDisk:` (only with restoreFrom). */
export function readRestore(
    v: Values,
    strategy: Strategy,
    identity: CloudIdentity | undefined,
    report: EntryReport,
    label: string | undefined,
): { restoreFrom?: string; restoreFromOtherDisk?: boolean } {
    let restoreFrom: string | undefined;
    if (v.restoreFrom !== undefined) {
        const text = asText(v.restoreFrom);
        if (strategy !== "restore") {
            report.at("restoreFrom", `is only valid with strategy "restore" (this entry's strategy is ${show(strategy)})`, label);
        } else if (identity && (text === undefined || !identity.restoreFrom.pattern.test(text))) {
            report.at("restoreFrom", `${show(v.restoreFrom)} is not valid; expected ${identity.restoreFrom.expected}`, label);
        } else {
            restoreFrom = text;
        }
    }
    let restoreFromOtherDisk: boolean | undefined;
    if (v.restoreFromOtherDisk !== undefined) {
        const text = typeof v.restoreFromOtherDisk === "boolean" ? String(v.restoreFromOtherDisk) : asText(v.restoreFromOtherDisk);
        if (text !== "true" && text !== "false")
            report.at("restoreFromOtherDisk", `${show(v.restoreFromOtherDisk)} is not valid; expected true or false`, label);
        else if (v.restoreFrom === undefined)
            report.at(
                "restoreFromOtherDisk",
                "is only valid with restoreFrom (it says the backup restoreFrom names was taken from another disk on purpose)",
                label,
            );
        else restoreFromOtherDisk = text === "true";
    }
    return { restoreFrom, restoreFromOtherDisk };
}

/** `hostname:` the VM's Windows computer name. */
export function readHostname(v: Values, report: EntryReport, label: string | undefined): string | undefined {
    if (v.hostname === undefined) return undefined;
    const text = asText(v.hostname);
    if (text !== undefined && text.length <= 253 && HOSTNAME.test(text)) return text;
    report.at(
        "hostname",
        `${show(v.hostname)} is not a computer name; expected the VM's Windows computer name (letters, digits, hyphens; a DNS name may have dots)`,
        label,
    );
    return undefined;
}

/** `labels:` at most MAX_VM_LABELS keys, each a tag-safe key with printable text. */
export function readLabels(v: Values, report: EntryReport, label: string | undefined): Record<string, string> {
    const labels: Record<string, string> = {};
    if (v.labels === undefined) return labels;
    if (!isPlainMap(v.labels)) {
        report.at("labels", "must be a map of key: value", label);
        return labels;
    }
    if (Object.keys(v.labels).length > MAX_VM_LABELS)
        report.at(
            "labels",
            `${Object.keys(v.labels).length} labels; at most ${MAX_VM_LABELS} (they become tags, which each cloud limits per resource)`,
            label,
        );
    for (const [k, val] of Object.entries(v.labels)) {
        const text = asText(val);
        if (!LABEL_KEY.test(k))
            report.at("labels", `key ${show(k)} is not valid; expected 1-63 letters, digits, '_', '.', '/', '-'`, label);
        else if (text === undefined || !LABEL_VALUE.test(text))
            report.at("labels", `value of ${show(k)} must be text of at most 256 characters without control characters`, label);
        else labels[k] = text;
    }
    return labels;
}

/**
 * Keys `npm run import-keys` stored for this VM, found by its stem: the secret config key (paths
 * that take keys from stack config) unless the entry names one, or the secret-store reference
 * (written into the cloud's secret field) unless the entry gives one. Returns the entry's key name.
 */
export function applyImportedKeys(
    identity: CloudIdentity,
    slug: string,
    fields: Record<string, string>,
    bitlockerKey: string | undefined,
    ctx: ValidationContext,
    report: EntryReport,
    label: string,
): string | undefined {
    const built = ctx.built.get(identity.cloud)!;
    const imported = importedKeyConfig(ctx.configNamespace, slug);
    if (bitlockerKey === undefined && built.bitlocker.stackConfig === true && ctx.configKind(imported.key) === "secret")
        bitlockerKey = imported.key;
    const secretField = built.bitlocker.secretField && identity.fields.find((f) => f.name === built.bitlocker.secretField);
    if (secretField && fields[secretField.name] === undefined && ctx.configKind(imported.secretRef) === "plain") {
        const ref = ctx.configValue(imported.secretRef) ?? "";
        if (!secretField.pattern.test(ref))
            report.at(
                secretField.name,
                `stack config key ${show(imported.secretRef)} (written by npm run import-keys) holds ${show(ref)}, which is not valid; expected ${secretField.expected}`,
                label,
            );
        else fields[secretField.name] = ref;
    }
    return bitlockerKey;
}
