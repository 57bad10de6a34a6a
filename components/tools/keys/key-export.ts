import { parse as parseCsv } from "csv-parse/sync";
import { Problem } from "../../core/contract/problems";
import { keyId, recoveryPassword } from "./recovery-password";

/** The recovery-key exports `npm run import-keys` reads. */
export const KEY_FORMATS = ["entra", "ad", "csv"] as const;
/** One of {@link KEY_FORMATS}. */
export type KeyFormat = (typeof KEY_FORMATS)[number];

/** One recovery key of an export. */
export interface KeyRow {
    /** Line of the row in the file (1-based). */
    line: number;
    /** The machine the row names (computer name, device name, VM name or instance id), as written. */
    machine: string;
    /** The key protector's id (a GUID or its first 8 hex digits, lowercase), when the export has it. */
    keyId?: string;
    /** The recovery password, normalised (8 groups of 6 digits). A secret: never print it. */
    password: string;
}

/** What an export held: its keys, and its bad rows (named by line, never echoing a key). */
export interface KeyExport {
    rows: KeyRow[];
    problems: Problem[];
}

/** Lowercase letters and digits only: how column names are compared (`Recovery Key` = `recoverykey`). */
const column = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * The columns each format takes, in order of preference. `entra`: what the Entra admin center,
 * Intune and the usual Microsoft Graph export scripts write (device name, key id, recovery key,
 * optional volume type); `ad`: `Get-ADObject` over msFVE-RecoveryInformation objects exported to
 * CSV (the computer name and key id are in the DistinguishedName); `csv`: hostname or VM name, key
 * id, recovery password.
 */
const COLUMNS: Record<KeyFormat, { machine: string[]; keyId: string[]; password: string[] }> = {
    entra: {
        machine: ["devicename", "displayname", "device", "computername"],
        keyId: ["keyid", "recoverykeyid", "id"],
        password: ["recoverykey", "key", "bitlockerrecoverykey"],
    },
    ad: { machine: ["distinguishedname"], keyId: ["distinguishedname"], password: ["msfverecoverypassword"] },
    csv: {
        machine: ["hostname", "computername", "vmname", "name", "instanceid", "instance"],
        keyId: ["keyid", "keyprotectorid"],
        password: ["recoverypassword", "password", "recoverykey"],
    },
};

/** `CN=2024-07-19T09:00:00-00:00{GUID},CN=HOST,OU=…` → the computer (the parent CN) and the key id. */
function fromDistinguishedName(dn: string): { machine?: string; keyId?: string } {
    const m = /^CN=[^,{]*(\{[0-9A-Fa-f-]{36}\}),CN=((?:[^,\\]|\\.)+),/.exec(dn.trim());
    return m ? { keyId: keyId(m[1]), machine: m[2].replace(/\\(.)/g, "$1") } : {};
}

/**
 * Reads a recovery-key export. Every row is checked: a row without a machine, with a malformed key
 * id, or whose recovery password fails BitLocker's checksum is a problem naming the file and line,
 * and never shows the key. Rows of data volumes (Entra's volume type, when present) are skipped:
 * the repair unlocks the OS volume.
 */
export function readKeyExport(file: string, text: string, format: KeyFormat): KeyExport {
    const problems: Problem[] = [];
    let records: { info: { lines: number }; record: Record<string, string> }[];
    try {
        records = parseCsv(text, {
            columns: (header: string[]) => header.map(column),
            info: true,
            bom: true,
            trim: true,
            skip_empty_lines: true,
            relax_column_count: true,
        }) as typeof records;
    } catch (err) {
        // csv-parse's own message may quote the line (a key): only its position is reported.
        const e = err as { lines?: number };
        return {
            rows: [],
            problems: [
                {
                    file,
                    line: e.lines,
                    message: "not valid CSV (a quote or a column count is off on this line); fix the export and run again",
                },
            ],
        };
    }
    const wanted = COLUMNS[format];
    const header = records.length ? Object.keys(records[0].record) : [];
    const pick = (names: string[]) => names.find((n) => header.includes(n));
    const machineCol = pick(wanted.machine);
    const keyIdCol = pick(wanted.keyId);
    const passwordCol = pick(wanted.password);
    if (records.length && (!machineCol || !passwordCol)) {
        const missing = [
            !machineCol && `a machine column (${wanted.machine.join(", ")})`,
            !passwordCol && `a recovery password column (${wanted.password.join(", ")})`,
        ].filter(Boolean);
        return {
            rows: [],
            problems: [
                {
                    file,
                    line: 1,
                    message: `the header has no ${missing.join(" and no ")} for --format ${format} (columns compare without case, spaces or punctuation)`,
                },
            ],
        };
    }
    const rows: KeyRow[] = [];
    for (const { info, record } of records) {
        const line = info.lines;
        const volume = column(record.volumetype ?? "");
        if (format === "entra" && volume && !["operatingsystemvolume", "osvolume", "os", "1"].includes(volume)) continue;
        let machine = record[machineCol!] ?? "";
        let id = keyIdCol ? (record[keyIdCol] ?? "") : "";
        if (format === "ad") {
            const dn = fromDistinguishedName(machine);
            if (!dn.machine) {
                problems.push({
                    file,
                    line,
                    field: "DistinguishedName",
                    message: "is not the DistinguishedName of an msFVE-RecoveryInformation object (CN=<date>{<key id>},CN=<computer>,…)",
                });
                continue;
            }
            machine = dn.machine;
            id = dn.keyId ?? "";
        }
        if (!machine) problems.push({ file, line, field: machineCol, message: "names no machine" });
        const normalisedId = id ? keyId(id) : undefined;
        if (id && !normalisedId)
            problems.push({ file, line, field: keyIdCol, message: "the key id is not a GUID or its first 8 hex digits" });
        const password = recoveryPassword(record[passwordCol!] ?? "");
        if (!password)
            problems.push({
                file,
                line,
                field: passwordCol,
                message:
                    "is not a BitLocker recovery password (8 groups of 6 digits, each divisible by 11 and below 720896); the key is not shown",
            });
        if (machine && password && (!id || normalisedId)) rows.push({ line, machine, keyId: normalisedId, password });
    }
    return { rows, problems };
}
