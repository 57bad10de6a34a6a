import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { engineZipapp } from "./zipapp";

/** Where the tools live on a rescue VM. */
export const RESCUE_LIB = "/usr/local/lib/bootloop-rescue";

/** The files every rescue VM needs, whatever the cloud (repair-disk is built: see {@link toolContent}). */
const TOOLS = ["repair-disk", "find-disk", "fetch-key", "on-rescue.sh"];

/**
 * The bytes a rescue VM gets as RESCUE_LIB/name: the repair engine as a zipapp built from
 * rescue/engine/ (rescue/repair-disk is only the launcher that runs the package from the tree),
 * every other tool as the file in rescue/.
 */
export function toolContent(name: string): Buffer {
    return name === "repair-disk" ? engineZipapp() : fs.readFileSync(path.join(__dirname, name));
}

let cached: { install: string; version: string } | undefined;

/** One shell line that writes `content` to RESCUE_LIB/name (gzip + base64 inline), executable. */
export function installLine(name: string, content: Buffer): string {
    const packed = zlib.gzipSync(content, { level: 9 }).toString("base64");
    return `printf '%s' '${packed}' | base64 -d | gzip -dc > ${RESCUE_LIB}/${name}.new && chmod 0755 ${RESCUE_LIB}/${name}.new && mv -f ${RESCUE_LIB}/${name}.new ${RESCUE_LIB}/${name}`;
}

/**
 * A bash snippet that (re)writes the rescue tools to RESCUE_LIB: each file gzip-compressed and
 * base64-encoded inline, so the agent channel carries them and the rescue VM needs no download.
 * Deterministic (gzip without timestamps, the engine's zipapp with fixed times and order), so the
 * same tools give the same resource inputs on every machine; `version` is the SHA-256 of the tools, to tag what ran.
 */
export function rescueTools(): { install: string; version: string } {
    if (cached) return cached;
    const hash = createHash("sha256");
    const lines = [`install -d -m 0755 ${RESCUE_LIB}`];
    for (const name of TOOLS) {
        const content = toolContent(name);
        hash.update(name).update(content);
        lines.push(installLine(name, content));
    }
    cached = { install: lines.join("\n"), version: hash.digest("hex").slice(0, 16) };
    return cached;
}

/**
 * The packages a rescue VM installs at first boot: the NTFS and BitLocker tools, python3 for the
 * engine, python3-hivex, with which it reads (and edits) registry hives offline, and mtools, with
 * which it reads the EFI system partition's BCD store in user space.
 */
// Linux guests: zstd and lz4 read most initramfs images (blacklist-module reports whether a module
// is inside); xfsprogs and btrfs-progs are the file systems' own tools, beside the kernel's drivers.
// Not lvm2: its udev rules activate the volume groups of every attached disk on their own (guests
// of one image share VG names), and the engine reads LVM itself (rescue/engine/linux/lvm.py).
// bubblewrap (bwrap) is the sandbox a guest's own dracut or update-initramfs runs in when
// blacklist-module rebuilds an initramfs.
export const RESCUE_PACKAGES = [
    "ntfs-3g",
    "dislocker",
    "python3",
    "python3-hivex",
    "mtools",
    "zstd",
    "lz4",
    "xfsprogs",
    "btrfs-progs",
    "bubblewrap",
];

/**
 * Where the rescue image has LVM's tools already (many server images do), their udev rule
 * autoactivates the volume groups of every disk attached, the guests' included: a device-mapper
 * device would then hold the guest's disk (the engine refuses such a disk) and the guest's volume
 * group names would collide with the rescue VM's. lvmlocal.conf is part of lvm.conf's cascade
 * (lvm.conf(5)), and a defined but empty auto_activation_volume_list means no LV is autoactivated
 * (lvm.conf's own documentation of the setting); explicit activation by a person still works.
 */
export const LVM_NO_AUTOACTIVATION = {
    path: "/etc/lvm/lvmlocal.conf",
    content: "# bootloop-rescue: attached guest disks are never autoactivated\nactivation {\n\tauto_activation_volume_list = []\n}\n",
};

/** What a cloud adds to a rescue VM's first boot: files to write and commands to run after the packages. */
export interface CloudInitExtras {
    files?: { path: string; content: string; permissions?: string }[];
    commands?: string[];
}

/**
 * First-boot setup of a Linux rescue VM (cloud-init): RESCUE_PACKAGES, the tools the engine uses.
 * They come from the image's own package archive (Ubuntu universe, Debian main), so the rescue VM
 * needs egress to that archive once, at boot; nothing else is fetched, ever. Also writes
 * LVM_NO_AUTOACTIVATION.
 */
export function rescueCloudInit(extras: CloudInitExtras = {}): string {
    const lines = ["#cloud-config", "package_update: true", "packages:", ...RESCUE_PACKAGES.map((p) => `  - ${p}`)];
    const files: NonNullable<CloudInitExtras["files"]> = [LVM_NO_AUTOACTIVATION, ...(extras.files ?? [])];
    lines.push("write_files:");
    for (const f of files)
        lines.push(`  - path: ${f.path}`, `    permissions: '${f.permissions ?? "0644"}'`, `    content: ${JSON.stringify(f.content)}`);
    if (extras.commands?.length) lines.push("runcmd:", ...extras.commands.map((c) => `  - ${JSON.stringify(c)}`));
    return [...lines, ""].join("\n");
}

/** The rescue tools as one file, for channels that carry them in parts (see {@link toolsBundle}). */
export interface ToolsBundle {
    /** gzip of a POSIX sh script that writes each tool, executable, into the folder given as its $1. */
    bytes: Buffer;
    /** SHA-256 of `bytes` (hex): what the rescue VM checks the reassembled parts against. */
    sha256: string;
    /** The tools' version ({@link rescueTools}): what a repair asks to find installed. */
    version: string;
}

let bundled: ToolsBundle | undefined;

/**
 * The rescue tools as one deterministic file: a POSIX sh script, gzip-compressed, that writes each
 * tool (gzip + base64 inline, as {@link installLine} does) into the folder named by its first
 * argument and makes it executable. Same tools, same bytes on every machine: gzip without a
 * timestamp and with its operating-system byte fixed to Unix (zlib writes the build's own).
 */
export function toolsBundle(): ToolsBundle {
    if (bundled) return bundled;
    const lines = ["set -eu"];
    for (const name of TOOLS) {
        const packed = zlib.gzipSync(toolContent(name), { level: 9 }).toString("base64");
        lines.push(`printf '%s' '${packed}' | base64 -d | gzip -dc > "$1/${name}"`, `chmod 0755 "$1/${name}"`);
    }
    const bytes = zlib.gzipSync(Buffer.from(`${lines.join("\n")}\n`, "ascii"), { level: 9 });
    bytes[9] = 3; // OS: Unix, whatever zlib was built for
    bundled = { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), version: rescueTools().version };
    return bundled;
}

/**
 * `text` cut into consecutive pieces of at most `maxChars` characters each, as few as that allows
 * and of near-equal length (so no piece is a sliver): joined, they are `text` again.
 */
export function splitText(text: string, maxChars: number): string[] {
    if (!Number.isInteger(maxChars) || maxChars < 1) throw new Error(`internal: splitText needs a positive whole number, not ${maxChars}`);
    const count = Math.max(1, Math.ceil(text.length / maxChars));
    const size = Math.ceil(text.length / count);
    return Array.from({ length: count }, (_, i) => text.slice(i * size, (i + 1) * size));
}
