import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Ajv from "ajv";
import { engineZipapp } from "../../rescue/zipapp";

const root = path.resolve(__dirname, "../..");
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "disk-lab-"));
// The images (up to gigabytes a run) go with the process, unless something is still mounted from
// the folder: then it stays, for the test that failed to release it to be looked into.
process.on("exit", () => {
    const mounts = fs.readFileSync("/proc/self/mounts", "utf8");
    if (!mounts.split("\n").some((line) => (line.split(" ")[1] ?? "").startsWith(workDir)))
        fs.rmSync(workDir, { recursive: true, force: true });
});
/** The launcher that runs the engine package from the tree (scripts/demo.sh, the benchmarks). */
export const LAUNCHER = path.join(root, "rescue/repair-disk");
/**
 * The engine the tests run: the zipapp rescue VMs get (rescue/payload.ts), built from rescue/engine/
 * when this module loads, so every test runs the shipped form of the current sources, never a
 * stale build.
 */
export const ENGINE = path.join(workDir, "repair-disk");
fs.writeFileSync(ENGINE, engineZipapp(), { mode: 0o755 });
export const FIND_DISK = path.join(root, "rescue/find-disk");
export const STAND_INS = path.join(__dirname, "stand-ins");

const validate = new Ajv({ allErrors: true, strict: true }).compile(
    JSON.parse(fs.readFileSync(path.join(root, "rescue/evidence.schema.json"), "utf8")),
);

/** The engine tests need root (loop devices, mounts) and ntfs-3g; CI runs them as root. */
export function requireDiskLab(): void {
    if (process.env.BOOTLOOP_SKIP_DISK_TESTS === "1") return;
    assert.equal(
        process.getuid?.(),
        0,
        "the repair-engine tests need root (losetup, mount); run `bash scripts/test.sh` as root, or set BOOTLOOP_SKIP_DISK_TESTS=1 to leave them out knowingly",
    );
    // No udev here: make loop device nodes for parallel runs (the kernel creates the devices on demand).
    for (let i = 0; i < 64; i++) {
        const node = `/dev/loop${i}`;
        if (!fs.existsSync(node)) execFileSync("mknod", [node, "b", "7", String(i)]);
    }
}

export function skipDiskLab(): boolean {
    return process.env.BOOTLOOP_SKIP_DISK_TESTS === "1";
}

export interface FileSpec {
    path: string;
    mtime?: string;
    content?: string;
    /** A file on this machine whose bytes the file gets (e.g. a hive built by {@link buildHive}). */
    source?: string;
    size?: number;
}

/** A registry hive value: a DWORD, a string, an expandable string, or binary data (hex). */
export type HiveValue = { dword: number } | { sz: string } | { expand: string } | { binary: string };

/**
 * Builds a registry hive file with hivex (test/rescue/make_hive.py, run by /usr/bin/python3, where
 * Debian's python3-hivex lives): keys (backslash paths) with their values, and optionally a
 * damaged base block. Returns its path.
 */
export function buildHive(
    name: string,
    keys: Record<string, Record<string, HiveValue>>,
    header: { primarySequence?: number; secondarySequence?: number; breakChecksum?: boolean } = {},
): string {
    const out = path.join(workDir, `${name}-${++counter}`);
    execFileSync("/usr/bin/python3", [path.join(__dirname, "make_hive.py")], { input: JSON.stringify({ out, name, keys, header }) });
    return out;
}

export interface PartitionSpec {
    kind: "efi" | "msr" | "windows" | "ntfs" | "recovery" | "ext4" | "empty" | "bitlocker";
    sizeMiB?: number;
    label?: string;
    dirs?: string[];
    files?: FileSpec[];
    hibernated?: boolean;
    dirty?: boolean;
    /** Symbolic links the guest left: path on the volume → target (absolute or relative). */
    links?: { path: string; target: string }[];
    /** A BitLocker volume's key protectors, written to its FVE metadata. */
    protectors?: { type: "recovery-password" | "external-key" | "tpm" | "password" | "clear-key"; id: string }[];
    /** Where the BitLocker header says its three metadata copies are (crafted headers). */
    fveOffsets?: number[];
    /** The metadata size the FVE metadata header claims (crafted headers). */
    fveMetadataSize?: number;
    /** Special files the guest left: FIFOs and device nodes. */
    specials?: { path: string; kind: "fifo" | "char" | "block"; major?: number; minor?: number }[];
}

export interface BuiltImage {
    image: string;
    table: string;
    partitions: { kind: string; startBytes: number; sizeBytes: number; plain?: string }[];
}

let counter = 0;

/** Builds a real disk image with the partitions and files given. */
export function buildImage(
    table: "gpt" | "mbr" | "none",
    partitions: PartitionSpec[],
    sizeMiB = 96,
    extra: { gptEntries?: { count: number; size: number } } = {},
): BuiltImage {
    const image = path.join(workDir, `disk-${++counter}.img`);
    const out = execFileSync("python3", [path.join(__dirname, "make_image.py")], {
        input: JSON.stringify({ image, table, sizeMiB, partitions, ...extra }),
        encoding: "utf8",
    });
    return JSON.parse(out) as BuiltImage;
}

export interface EngineRun {
    code: number | null;
    evidence: Record<string, any>;
    stdout: string;
    stderr: string;
}

/** Runs the engine; checks stdout is exactly one schema-valid JSON document and nothing leaked. */
export function runEngine(args: string[], env: Record<string, string> = {}, image?: string): EngineRun {
    const out = spawnSync(ENGINE, args, { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
    let evidence: Record<string, any> = {};
    if (!args.includes("--help")) {
        evidence = JSON.parse(out.stdout);
        assert.ok(validate(evidence), `evidence does not match rescue/evidence.schema.json: ${JSON.stringify(validate.errors)}`);
        assert.equal(evidence.exitCode, out.status);
    }
    assertReleased(image);
    return { code: out.status, evidence, stdout: out.stdout, stderr: out.stderr };
}

/** No loop device and no mount of the engine's is left behind. */
export function assertReleased(image?: string): void {
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
    assert.ok(
        !/bootloop-rescue-/.test(mounts),
        `a mount of the engine is left:\n${mounts
            .split("\n")
            .filter((l) => /bootloop-rescue-/.test(l))
            .join("\n")}`,
    );
    if (image) {
        const loops = execFileSync("losetup", ["--associated", image], { encoding: "utf8" }).trim();
        assert.equal(loops, "", `loop devices left on ${image}: ${loops}`);
    }
}

export function sha256File(file: string): string {
    return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Every file of one NTFS volume of an image: path → {sha256, size, mtime (ns)}. */
export function filesOf(
    image: string,
    part: { startBytes: number; sizeBytes: number },
    copy?: { path: string; to: string },
): Record<string, { sha256: string; size: number; mtime: number }> {
    const extra = copy ? [copy.path, copy.to] : [];
    return JSON.parse(
        execFileSync(
            "python3",
            [path.join(__dirname, "inspect_image.py"), image, String(part.startBytes), String(part.sizeBytes), ...extra],
            { encoding: "utf8" },
        ),
    );
}

/** The values of a key of a hive file (read with hivex by /usr/bin/python3): name → DWORD, string, or binary as hex. */
export function hiveValues(hive: string, key: string): Record<string, number | string> | null {
    const script = [
        "import hivex, json, sys",
        "h = hivex.Hivex(sys.argv[1])",
        "node = h.root()",
        "for part in sys.argv[2].split('\\\\'):",
        "    node = h.node_get_child(node, part) if node else None",
        "if not node:",
        "    print('null')",
        "    sys.exit(0)",
        "out = {}",
        "for v in h.node_values(node):",
        "    t = h.value_type(v)[0]",
        "    out[h.value_key(v)] = h.value_dword(v) if t == 4 else h.value_value(v)[1].hex() if t == 3 else h.value_string(v)",
        "print(json.dumps(out))",
    ].join("\n");
    return JSON.parse(execFileSync("/usr/bin/python3", ["-c", script, hive, key], { encoding: "utf8" }));
}

export function sha256Text(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

export { workDir };

/**
 * A BitLocker external key file (.BEK) for the protector `id`, laid out as Windows writes one: a
 * 48-byte dataset header, then an external key datum (value type 9: the GUID, a timestamp) holding
 * a key datum (value type 1: a 256-bit key). Returns its path.
 */
export function bekFile(id: string): string {
    const guid = (g: string) => {
        const h = Buffer.from(g.replace(/-/g, ""), "hex");
        return Buffer.concat([
            Buffer.from(h.subarray(0, 4)).reverse(),
            Buffer.from(h.subarray(4, 6)).reverse(),
            Buffer.from(h.subarray(6, 8)).reverse(),
            h.subarray(8),
        ]);
    };
    const key = Buffer.alloc(8 + 4 + 32);
    key.writeUInt16LE(key.length, 0);
    key.writeUInt16LE(0, 2);
    key.writeUInt16LE(1, 4);
    key.writeUInt16LE(1, 6);
    key.writeUInt16LE(0x2002, 8);
    randomBytes(32).copy(key, 12);
    const external = Buffer.concat([Buffer.alloc(8), guid(id), Buffer.alloc(8), key]);
    external.writeUInt16LE(external.length, 0);
    external.writeUInt16LE(6, 2);
    external.writeUInt16LE(9, 4);
    external.writeUInt16LE(1, 6);
    const header = Buffer.alloc(48);
    header.writeUInt32LE(48 + external.length, 0);
    header.writeUInt32LE(1, 4);
    header.writeUInt32LE(48, 8);
    header.writeUInt32LE(48 + external.length, 12);
    randomBytes(16).copy(header, 16);
    const file = path.join(workDir, `key-${id.slice(0, 8)}-${Date.now()}.bek`);
    fs.writeFileSync(file, Buffer.concat([header, external]), { mode: 0o600 });
    return file;
}
