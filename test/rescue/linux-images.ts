// Linux guest disk images for the repair engine's tests: GPT images built on loop devices by
// test/rescue/make_linux_image.py, partitions mounted to write binary files (initramfs archives) or
// to inspect what the engine did, the guest's usual files, and initramfs archives (cpio newc).
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { workDir } from "./disk-lab";

/** One file the image builder puts on a partition: text, a link, a FIFO or a folder. */
export interface LinuxFile {
    /** Path on the partition's file system (inside a btrfs volume, starting with the subvolume). */
    path: string;
    /** The file's text. */
    content?: string;
    /** Makes the path a symbolic link to this target. */
    link?: string;
    /** Makes the path a FIFO. */
    fifo?: boolean;
    /** Makes the path a folder. */
    dir?: boolean;
}

/** One LVM logical volume of a test image's volume group (test/rescue/make_lvm.py). */
export interface LinuxLv {
    /** Its name in the volume group. */
    name: string;
    /** Its size (1 MiB extents). */
    sizeMiB: number;
    /** Its file system (swap: mkswap; raw: none). */
    kind?: "ext4" | "xfs" | "btrfs" | "swap" | "raw";
    /** The file system's UUID. */
    uuid?: string;
    /** The file system's label. */
    label?: string;
    /** The LV's own uuid (6-4-4-4-4-4-6). */
    lvUuid?: string;
    /** Files to put on it. */
    files?: LinuxFile[];
    /** 2: two segments, a one-extent gap between them (the file system is made on the first only). */
    segments?: 1 | 2;
    /** On the volume group's second PV, which is not on this disk (with `otherPv`). */
    onOtherPv?: boolean;
    /** The LV's metadata section body, written as given (thin pools, snapshots). */
    section?: string;
}

/** An LVM volume group made by lvm2's own tools on a partition (pvcreate, vgcreate, vgcfgrestore; no device-mapper). */
export interface LinuxVg {
    /** Its name. */
    name: string;
    /** Its uuid (6-4-4-4-4-4-6). */
    uuid?: string;
    /** The PV's uuid. */
    pvUuid?: string;
    /** A second PV, on a file outside the image: the volume group spans disks. */
    otherPv?: boolean;
    /** vgcfgrestore --force (metadata lvm2 restores only when forced: thin pools). */
    force?: boolean;
    /** Its logical volumes, allocated in turn from the PV's first extent. */
    logicalVolumes: LinuxLv[];
    /** The metadata text rewritten in place afterwards: crafted metadata lvm2 never writes. */
    tamper?: { corruptChecksum?: boolean; edit?: [string, string][]; textSize?: number };
}

/** One partition of a Linux guest's image. */
export interface LinuxPart {
    /** Its file system (efi: FAT32; lvm: a physical volume: only its label, or with `volumeGroup` a real volume group). */
    kind: "efi" | "ext4" | "xfs" | "btrfs" | "lvm";
    /** Its size. */
    sizeMiB: number;
    /** The file system's UUID. */
    uuid?: string;
    /** The file system's label. */
    label?: string;
    /** A FAT volume's serial (8 hex digits). */
    serial?: string;
    /** btrfs subvolumes to create. */
    subvolumes?: string[];
    /** Files to put on it. */
    files?: LinuxFile[];
    /** An lvm partition's volume group. */
    volumeGroup?: LinuxVg;
}

/** Where a volume of a built image is: a partition, or a logical volume's (first segment's) bytes. */
export interface BuiltVolume {
    kind: string;
    startBytes: number;
    sizeBytes: number;
    uuid?: string;
}

/** An image the builder made: its file and where each partition is. */
export interface BuiltLinux {
    /** The image file. */
    image: string;
    /** Each partition: kind, offset and size in bytes, ids. */
    partitions: (BuiltVolume & {
        partuuid: string;
        vgUuid?: string;
        pvUuid?: string;
        logicalVolumes?: (BuiltVolume & { name: string; lvUuid: string; onThisDisk: boolean })[];
    })[];
}

/** A logical volume of a built image's volume group, by name (on the partition that holds its PV). */
export function lvOf(img: BuiltLinux, name: string): BuiltVolume & { name: string; lvUuid: string } {
    for (const p of img.partitions) {
        const lv = p.logicalVolumes?.find((l) => l.name === name);
        if (lv) return lv;
    }
    throw new Error(`no logical volume ${name} in ${img.image}`);
}

let counter = 0;

/**
 * Builds an image of `sizeMiB` with the partitions given (needs root): GPT, or with `table: "msdos"`
 * an MBR (BIOS) disk whose first partition is marked bootable, `diskId` its signature (8 hex digits),
 * or with `table: "none"` no partition table, the one partition given spanning the whole disk.
 */
export function buildLinux(
    partitions: LinuxPart[],
    sizeMiB: number,
    table: { table?: "gpt" | "msdos" | "none"; diskId?: string } = {},
): BuiltLinux {
    const image = path.join(workDir, `linux-${process.pid}-${++counter}.img`);
    const out = execFileSync("python3", [path.join(__dirname, "make_linux_image.py")], {
        input: JSON.stringify({ image, sizeMiB, partitions, ...table }),
        encoding: "utf8",
    });
    return JSON.parse(out) as BuiltLinux;
}

/**
 * Runs `fn` with one partition (by index) or logical volume ({@link lvOf}) of the image mounted (read-only unless `readWrite`; XFS with nouuid,
 * and read-only without replaying its log), then unmounts it and frees its loop device.
 */
export function inspect<T>(
    img: BuiltLinux,
    index: number | BuiltVolume,
    fn: (root: string) => T,
    options: string[] = [],
    readWrite = false,
): T {
    const p = typeof index === "number" ? img.partitions[index] : index;
    const loop = execFileSync(
        "losetup",
        [
            "--find",
            "--show",
            ...(readWrite ? [] : ["--read-only"]),
            "--offset",
            `${p.startBytes}`,
            "--sizelimit",
            `${p.sizeBytes}`,
            img.image,
        ],
        { encoding: "utf8" },
    ).trim();
    const mnt = fs.mkdtempSync(path.join(workDir, "inspect-"));
    const readOnlyExtra: Record<string, string[]> = { ext4: ["noload"], xfs: ["nouuid", "norecovery"], btrfs: ["rescue=nologreplay"] };
    const extra = readWrite ? (p.kind === "xfs" ? ["nouuid"] : []) : (readOnlyExtra[p.kind] ?? []);
    try {
        execFileSync("mount", ["-o", [readWrite ? "rw" : "ro", ...extra, ...options].join(","), loop, mnt]);
        try {
            return fn(mnt);
        } finally {
            execFileSync("umount", [mnt]);
        }
    } finally {
        execFileSync("losetup", ["-d", loop]);
        fs.rmdirSync(mnt);
    }
}

/** The SHA-256 of one partition's bytes. */
export function sha256Partition(img: BuiltLinux, index: number): string {
    const p = img.partitions[index];
    const fd = fs.openSync(img.image, "r");
    try {
        const buf = Buffer.alloc(p.sizeBytes);
        fs.readSync(fd, buf, 0, p.sizeBytes, p.startBytes);
        return createHash("sha256").update(buf).digest("hex");
    } finally {
        fs.closeSync(fd);
    }
}

/** A cpio archive (newc, as the kernel reads an initramfs) of regular files, ending with its trailer. */
export function newc(files: Record<string, Buffer | string>): Buffer {
    const parts: Buffer[] = [];
    const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
    let ino = 1;
    for (const [name, content] of [...Object.entries(files), ["TRAILER!!!", ""] as const]) {
        const data = Buffer.from(content);
        const nameBytes = Buffer.from(`${name}\0`);
        const fields = [ino++, name === "TRAILER!!!" ? 0 : 0o100644, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
        const header = Buffer.from("070701" + fields.map((f) => f.toString(16).padStart(8, "0")).join(""), "ascii");
        parts.push(header, nameBytes, pad(header.length + nameBytes.length), data, pad(data.length));
    }
    return Buffer.concat(parts);
}

/**
 * An initramfs as dracut and initramfs-tools make one: an uncompressed early archive (CPU
 * microcode), padded to 512 bytes, then the main archive compressed with gzip or zstd.
 */
export function initramfs(main: Record<string, string>, compression: "gzip" | "zstd"): Buffer {
    const early = newc({ "kernel/x86/microcode/GenuineIntel.bin": "microcode" });
    const padded = Buffer.concat([early, Buffer.alloc((512 - (early.length % 512)) % 512)]);
    const archive = newc(main);
    const packed = compression === "gzip" ? zlib.gzipSync(archive) : execFileSync("zstd", ["-q", "-c"], { input: archive });
    return Buffer.concat([padded, packed]);
}

/** A GRUB environment block (1024 bytes) with these variables. */
export function grubenv(values: Record<string, string>): string {
    const body =
        "# GRUB Environment Block\n" +
        Object.entries(values)
            .map(([k, v]) => `${k}=${v}\n`)
            .join("");
    return body.padEnd(1024, "#");
}

/** The variables of a GRUB environment block. */
export function grubenvValues(block: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of block.split("\n").slice(1)) {
        if (!line || line.startsWith("#")) continue;
        const at = line.indexOf("=");
        out[line.slice(0, at)] = line.slice(at + 1);
    }
    return out;
}

/** Writes (or overwrites) a file on a FAT (EFI) partition of the image with mtools (this kernel may have no vfat). */
export function efiFile(img: BuiltLinux, index: number, file: string, content: string): void {
    const at = `${img.image}@@${img.partitions[index].startBytes}`;
    const folders = file.split("/").slice(0, -1);
    for (let i = 1; i <= folders.length; i++) {
        const folder = `::/${folders.slice(0, i).join("/")}`;
        // A folder an earlier file made stays (mmd refuses to make it again).
        if (spawnSync("mdir", ["-b", "-i", at, folder]).status !== 0) execFileSync("mmd", ["-i", at, folder]);
    }
    const local = path.join(workDir, `efi-${process.pid}-${++counter}`);
    fs.writeFileSync(local, content);
    execFileSync("mcopy", ["-o", "-i", at, local, `::/${file}`]);
    fs.unlinkSync(local);
}

/** A file of a FAT (EFI) partition of the image, read with mtools. */
export function efiRead(img: BuiltLinux, index: number, file: string): string {
    return execFileSync("mtype", ["-i", `${img.image}@@${img.partitions[index].startBytes}`, `::/${file}`], { encoding: "utf8" });
}

/** Writes a rules file `<name>.json` holding `list` into the lab's folder; returns its path. */
export function rulesFile(name: string, list: object[]): string {
    const file = path.join(workDir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ rules: list }));
    return file;
}

/** A guest's os-release as distributions ship it: the file in usr/lib, and etc/os-release a link to it. */
export const osRelease = (name: string, id: string, version: string): LinuxFile[] => [
    { path: "usr/lib/os-release", content: `NAME="${name}"\nID=${id}\nVERSION_ID="${version}"\n` },
    { path: "etc/os-release", link: "../usr/lib/os-release" },
];
