import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

/** One file of a zip archive: its path inside the archive (forward slashes) and its bytes. */
export interface ZipEntry {
    /** Path inside the archive, e.g. `engine/cli.py`: relative, `/`-separated, no `..`. */
    name: string;
    /** The file's bytes. */
    data: Buffer;
}

/** The interpreter line of the engine's zipapp: Debian's python3, where python3-hivex loads. */
export const ZIPAPP_SHEBANG = "#!/usr/bin/python3\n";

// MS-DOS date of 1980-01-01 (the format's epoch) and time 00:00:00: every entry gets it, so the
// archive never depends on when or where its sources were checked out.
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DOS_TIME = 0;
// Made by "Unix" (3), format version 2.0, so the external attributes carry the Unix mode.
const MADE_BY = (3 << 8) | 20;
const NEEDED = 20;
const FILE_MODE = 0o100644;

/**
 * A zip archive of `entries`, in the order given, after `prefix` (a zipapp's `#!` line).
 * Deterministic: fixed times, modes and order, no extra fields, entries STORED (not compressed:
 * the payload gzips the whole file, which compresses across files better than per-entry
 * deflate). Offsets are counted from the start of the file, prefix included, which both
 * Python's zipimport and unzip read.
 */
export function zipArchive(entries: ZipEntry[], prefix: Buffer = Buffer.alloc(0)): Buffer {
    const parts: Buffer[] = [prefix];
    const central: Buffer[] = [];
    let offset = prefix.length;
    const seen = new Set<string>();
    for (const { name, data } of entries) {
        if (!/^[A-Za-z0-9_][A-Za-z0-9_./-]*$/.test(name) || name.split("/").some((p) => p === "" || p === "." || p === ".."))
            throw new Error(`zip entry name ${JSON.stringify(name)}: expected a relative path of [A-Za-z0-9_.-] parts`);
        if (seen.has(name)) throw new Error(`zip entry ${name} given twice`);
        seen.add(name);
        const fileName = Buffer.from(name, "ascii");
        const crc = zlib.crc32(data) >>> 0;
        const local = Buffer.alloc(30);
        local.writeUInt32LE(0x04034b50, 0);
        local.writeUInt16LE(NEEDED, 4);
        local.writeUInt16LE(0, 6); // flags
        local.writeUInt16LE(0, 8); // STORED
        local.writeUInt16LE(DOS_TIME, 10);
        local.writeUInt16LE(DOS_DATE, 12);
        local.writeUInt32LE(crc, 14);
        local.writeUInt32LE(data.length, 18);
        local.writeUInt32LE(data.length, 22);
        local.writeUInt16LE(fileName.length, 26);
        local.writeUInt16LE(0, 28); // no extra field
        const header = Buffer.alloc(46);
        header.writeUInt32LE(0x02014b50, 0);
        header.writeUInt16LE(MADE_BY, 4);
        header.writeUInt16LE(NEEDED, 6);
        header.writeUInt16LE(0, 8);
        header.writeUInt16LE(0, 10);
        header.writeUInt16LE(DOS_TIME, 12);
        header.writeUInt16LE(DOS_DATE, 14);
        header.writeUInt32LE(crc, 16);
        header.writeUInt32LE(data.length, 20);
        header.writeUInt32LE(data.length, 24);
        header.writeUInt16LE(fileName.length, 28);
        header.writeUInt16LE(0, 30); // extra
        header.writeUInt16LE(0, 32); // comment
        header.writeUInt16LE(0, 34); // disk
        header.writeUInt16LE(0, 36); // internal attributes
        header.writeUInt32LE((FILE_MODE << 16) >>> 0, 38);
        header.writeUInt32LE(offset, 42);
        parts.push(local, fileName, data);
        central.push(header, fileName);
        offset += local.length + fileName.length + data.length;
    }
    const centralSize = central.reduce((n, b) => n + b.length, 0);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0, 4);
    end.writeUInt16LE(0, 6);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(centralSize, 12);
    end.writeUInt32LE(offset, 16);
    end.writeUInt16LE(0, 20);
    if (offset + centralSize > 0xffffffff || entries.length > 0xffff) throw new Error("zip archive too large for the zip32 format");
    return Buffer.concat([...parts, ...central, end]);
}

/** The Python sources of a package folder (`*.py`, recursively, no caches), as archive paths under `as`, sorted. */
export function packageSources(folder: string, as: string): ZipEntry[] {
    const found: ZipEntry[] = [];
    const walk = (dir: string, rel: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
            if (entry.name === "__pycache__" || entry.name.startsWith(".")) continue;
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full, `${rel}/${entry.name}`);
            else if (entry.isFile() && entry.name.endsWith(".py"))
                found.push({ name: `${rel}/${entry.name}`, data: fs.readFileSync(full) });
            else if (!entry.isFile()) throw new Error(`${full}: neither a file nor a folder; the engine package holds only sources`);
        }
    };
    walk(folder, as);
    return found;
}

/**
 * The repair engine as one executable file: a zipapp of rescue/engine/ (`engine/…`) with its
 * `__main__.py` also at the archive's root (what python runs), after ZIPAPP_SHEBANG. Same sources,
 * same bytes, on every machine.
 */
export function engineZipapp(engineFolder: string = path.join(__dirname, "engine")): Buffer {
    const sources = packageSources(engineFolder, "engine");
    const main = sources.find((e) => e.name === "engine/__main__.py");
    if (!main) throw new Error(`${engineFolder}/__main__.py is missing`);
    return zipArchive([{ name: "__main__.py", data: main.data }, ...sources], Buffer.from(ZIPAPP_SHEBANG, "ascii"));
}
