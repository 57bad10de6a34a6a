// What a JSON file given to `report` or `evidence` is: the commands read the kinds that carry what
// they need and refuse the others by name, so a wrong file is never reported as "0 VMs" or nothing.
import { VmRecordValues } from "./render";

/**
 * Input the command cannot use: bad arguments, a file that is not JSON, or JSON of a kind that does
 * not carry what the command needs. The commands end it as badArguments (cli/command/exit-codes.ts).
 */
export class BadInputError extends Error {}

/** The kinds of JSON a person may hand the commands. */
export type StackJsonKind = "stack-export" | "stack-outputs" | "vms-output" | "offline-plan";

/** What each kind is, as the messages name it. */
export const KIND_NAMES: Record<StackJsonKind, string> = {
    "stack-export": "a stack export (`pulumi stack export`)",
    "stack-outputs": "stack outputs (`pulumi stack output --json`)",
    "vms-output": "the vms output alone (`pulumi stack output vms --json`)",
    "offline-plan": "an offline plan (`npm run plan -- --json`): nothing has run, it holds placeholders and no outcome",
};

/** A resource of `pulumi stack export`, as far as the commands need it. */
export interface ExportedResource {
    urn: string;
    type: string;
    outputs?: Record<string, unknown>;
}

/** A stack's JSON, recognised. */
export interface RecognisedJson {
    kind: StackJsonKind;
    /** The resources, for a stack export. */
    resources?: ExportedResource[];
    /** The VM records (checked: key, cloud, label, strategy and wave present), for every kind but the offline plan. */
    vms?: Record<string, VmRecordValues>;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value the Pulumi CLI wrote encrypted (in an export) instead of its plaintext. */
function isSecretValue(value: unknown): boolean {
    return isObject(value) && typeof value.ciphertext === "string";
}

/** Whether a value looks like a VM's record (the vms output's values are all records). */
function looksLikeRecord(value: unknown): boolean {
    return isObject(value) && typeof value.key === "string" && typeof value.cloud === "string";
}

/**
 * Recognises a stack's JSON: a stack export, the stack outputs, the `vms` output alone, or an
 * offline plan. Anything else, a stack export or outputs without a `vms` output, and VM records
 * that lack what the report reads are a {@link BadInputError} naming `source`, the entry and the
 * field.
 */
export function recogniseStackJson(value: unknown, source: string): RecognisedJson {
    if (value === "[secret]" || (isObject(value) && value.vms === "[secret]")) {
        throw new BadInputError(
            `${source}: the vms output is masked as a secret ("[secret]"): the records cannot be read from it, and the report never asks for secrets in plaintext`,
        );
    }
    if (!isObject(value))
        throw new BadInputError(
            `${source}: not a stack's JSON (${Array.isArray(value) ? "an array" : `a ${value === null ? "null" : typeof value}`}, where a stack export or stack outputs are an object)`,
        );
    if (Array.isArray(value.vms) && (Array.isArray(value.waves) || Array.isArray(value.rescuePools))) return { kind: "offline-plan" };
    if (isObject(value.deployment)) {
        const resources = Array.isArray(value.deployment.resources)
            ? (value.deployment.resources.filter(isObject) as unknown as ExportedResource[])
            : [];
        const stack = resources.find((r) => r.type === "pulumi:pulumi:Stack");
        const vms = stack?.outputs?.vms;
        if (vms === undefined)
            throw new BadInputError(
                `${source}: ${KIND_NAMES["stack-export"]} with no \`vms\` output: the stack has not been updated by bootloop-rescue (or it is another project's)`,
            );
        if (isSecretValue(vms))
            throw new BadInputError(
                `${source}: the stack export holds its \`vms\` output encrypted (a secret in it makes it all one); read the records with \`pulumi stack output --json\` (secrets stay masked) or --stack`,
            );
        return { kind: "stack-export", resources, vms: checkRecords(vms, source, "the stack's vms output") };
    }
    if ("vms" in value) {
        if (!isObject(value.vms)) throw new BadInputError(`${source}: its \`vms\` is not an object of VM records`);
        return { kind: "stack-outputs", vms: checkRecords(value.vms, source, "vms") };
    }
    const entries = Object.values(value);
    if (entries.length > 0 && entries.every(looksLikeRecord)) return { kind: "vms-output", vms: checkRecords(value, source, "") };
    if (entries.length === 0)
        throw new BadInputError(`${source}: an empty JSON object, no VM records (the outputs of a stack that has not been updated?)`);
    throw new BadInputError(
        `${source}: not a stack's JSON: none of ${Object.values(KIND_NAMES)
            .map((k) => k.replace(/:.*$/, ""))
            .join(", ")}`,
    );
}

/** The records, each checked for the fields the report and evidence read; a bad one is named. */
function checkRecords(vms: unknown, source: string, where: string): Record<string, VmRecordValues> {
    if (!isObject(vms)) throw new BadInputError(`${source}: ${where || "it"} is not an object of VM records`);
    for (const [name, record] of Object.entries(vms)) {
        const at = `${source}: ${where ? `${where}.` : ""}${JSON.stringify(name)}`;
        if (!isObject(record)) throw new BadInputError(`${at}: not a VM record (an object)`);
        for (const field of ["key", "cloud", "label", "strategy"]) {
            if (typeof record[field] !== "string" || record[field] === "")
                throw new BadInputError(`${at}: ${field}: missing or not a string`);
        }
        if (typeof record.wave !== "number" || !Number.isInteger(record.wave))
            throw new BadInputError(`${at}: wave: missing or not a whole number`);
    }
    return vms as unknown as Record<string, VmRecordValues>;
}
