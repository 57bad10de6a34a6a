import * as fs from "fs";
import * as path from "path";
import { parse as parseCsv } from "csv-parse/sync";
import { LineCounter, isMap, isSeq, isScalar, parseDocument, Node as YamlNode } from "yaml";
import { InputError, Problem } from "../contract/problems";

/** One entry of an inventory as written, before validation. */
export interface RawEntry {
    /** Zero-based position under `vms:` (YAML) or among the data rows (CSV). */
    index: number;
    /** One-based line where the entry starts. */
    line?: number;
    /** Field values as parsed: strings, numbers, booleans, maps. */
    values: Record<string, unknown>;
    /** One-based line of each field, where known. */
    fieldLines: Record<string, number>;
}

/** An inventory file as written: optional defaults and the entries. */
export interface RawInventory {
    /** The file as the user named it (used in every message). */
    file: string;
    /** The `defaults:` section (YAML only), or undefined. */
    defaults?: RawEntry;
    /** The VM entries in file order. */
    entries: RawEntry[];
}

/**
 * Reads an inventory file (YAML, or CSV with a header row of the same field names). Throws an
 * {@link InputError} naming the file and line for an unreadable or unparsable file.
 */
export function readInventory(file: string, baseDir = "."): RawInventory {
    let text: string;
    try {
        text = fs.readFileSync(path.resolve(baseDir, file), "utf8");
    } catch (err) {
        throw new InputError([{ file, message: `cannot read the inventory: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
    }
    return /\.csv$/i.test(file) ? parseCsvInventory(file, text) : parseYamlInventory(file, text);
}

/** Parses the YAML form: a map with `vms:` (a list of maps) and optional `defaults:`. */
export function parseYamlInventory(file: string, text: string): RawInventory {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
    const lineOf = (node: YamlNode | null | undefined): number | undefined =>
        node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    if (doc.errors.length > 0) {
        throw new InputError(
            doc.errors.map((e) => ({ file, line: e.linePos?.[0].line, message: `not valid YAML: ${e.message.split("\n")[0]}` })),
        );
    }
    const root = doc.contents;
    if (!isMap(root)) {
        throw new InputError([{ file, message: "expected a YAML map with a `vms:` list (and optional `defaults:`)" }]);
    }
    const problems: Problem[] = [];
    let vmsNode: YamlNode | undefined;
    let defaultsNode: YamlNode | undefined;
    for (const pair of root.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (key === "vms") vmsNode = pair.value as YamlNode;
        else if (key === "defaults") defaultsNode = pair.value as YamlNode;
        else
            problems.push({
                file,
                line: lineOf(pair.key),
                field: key,
                message: "unknown top-level key (expected `vms` and optional `defaults`)",
            });
    }
    const toEntry = (node: YamlNode, index: number, what: string): RawEntry | undefined => {
        if (!isMap(node)) {
            problems.push({
                file,
                entry: index >= 0 ? index : undefined,
                line: lineOf(node),
                message: `${what} must be a map of field: value`,
            });
            return undefined;
        }
        const values: Record<string, unknown> = {};
        const fieldLines: Record<string, number> = {};
        for (const pair of node.items) {
            const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
            values[key] = pair.value === null || pair.value === undefined ? null : (pair.value as YamlNode).toJSON();
            const l = lineOf(pair.key as YamlNode);
            if (l !== undefined) fieldLines[key] = l;
        }
        return { index, line: lineOf(node), values, fieldLines };
    };
    let defaults: RawEntry | undefined;
    if (defaultsNode !== undefined && defaultsNode !== null) defaults = toEntry(defaultsNode, -1, "`defaults`");
    const entries: RawEntry[] = [];
    if (vmsNode === undefined || vmsNode === null) {
        problems.push({ file, field: "vms", message: "the inventory lists no VMs (`vms:` is missing or empty)" });
    } else if (!isSeq(vmsNode)) {
        problems.push({ file, line: lineOf(vmsNode), field: "vms", message: "`vms` must be a list of entries" });
    } else {
        vmsNode.items.forEach((item, i) => {
            const e = toEntry(item as YamlNode, i, "each entry under `vms`");
            if (e) entries.push(e);
        });
        if (vmsNode.items.length === 0) problems.push({ file, line: lineOf(vmsNode), field: "vms", message: "the inventory lists no VMs" });
    }
    if (problems.length > 0) throw new InputError(problems);
    return { file, defaults, entries };
}

/**
 * Parses the CSV form: a header row naming fields, one row per VM, empty cells meaning "not given".
 * `labels` is written `key=value;key2=value2`.
 */
export function parseCsvInventory(file: string, text: string): RawInventory {
    let rows: { info: { lines: number }; record: Record<string, string> }[];
    try {
        rows = parseCsv(text, { columns: true, info: true, bom: true, trim: true, skip_empty_lines: true }) as typeof rows;
    } catch (err) {
        const e = err as { lines?: number; message: string };
        throw new InputError([{ file, line: e.lines, message: `not valid CSV: ${e.message.split("\n")[0]}` }]);
    }
    const problems: Problem[] = [];
    const entries: RawEntry[] = rows.map((row, index) => {
        const values: Record<string, unknown> = {};
        const fieldLines: Record<string, number> = {};
        for (const [key, cell] of Object.entries(row.record)) {
            if (cell === "") continue;
            fieldLines[key] = row.info.lines;
            if (key === "labels") {
                const labels: Record<string, string> = {};
                for (const part of cell.split(";").filter((p) => p.trim() !== "")) {
                    const eq = part.indexOf("=");
                    if (eq <= 0) {
                        problems.push({
                            file,
                            entry: index,
                            line: row.info.lines,
                            field: "labels",
                            message: `expected key=value pairs separated by ';', got ${JSON.stringify(part)}`,
                        });
                        continue;
                    }
                    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
                }
                values[key] = labels;
            } else {
                values[key] = cell;
            }
        }
        return { index, line: row.info.lines, values, fieldLines };
    });
    if (entries.length === 0) problems.push({ file, message: "the inventory lists no VMs (a header row and no data rows)" });
    if (problems.length > 0) throw new InputError(problems);
    return { file, entries };
}
