#!/usr/bin/env python3
"""Builds real disk images for the repair engine's tests (needs root, sgdisk, sfdisk, mkntfs, ntfs-3g).

Reads a JSON spec on stdin, writes the image, prints a JSON description on stdout:

  {"image": "/tmp/x.img", "table": "gpt" | "mbr" | "none", "sizeMiB": 96,
   "partitions": [
     {"kind": "efi" | "msr" | "windows" | "ntfs" | "recovery" | "ext4" | "empty" | "bitlocker",
      "sizeMiB": 24, "label": "Windows",
      "dirs": ["Windows/System32/config"],
      "files": [{"path": "Windows/System32/drivers/CrowdStrike/C-00000291-00000000-00000032.sys",
                 "mtime": "2024-07-19T04:09:30Z", "content": "text", "size": 4096}],
      "hibernated": false, "dirty": false,
      "links": [{"path": "bootloop-rescue", "target": "../../.."}],
      "specials": [{"path": "hiberfil.sys", "kind": "fifo" | "char" | "block", "major": 1, "minor": 5}]}],
   "gptEntries": {"count": 524288, "size": 4096}}

"gptEntries" rewrites the GPT header's entry count and size after partitioning (a crafted header).

"windows" is an NTFS partition holding Windows/System32; "ntfs" one without it. "bitlocker" writes
a BitLocker signature (-FVE-FS-) to the partition, with FVE metadata listing "protectors"
([{"type": "recovery-password" | "external-key" | "tpm" | ..., "id": GUID}]) when given ("fveOffsets"
overrides where the header says the metadata is, "fveMetadataSize" the size its header claims), and
builds its plaintext NTFS volume (with the partition's dirs/files) in a separate image, named in the
output as "plain", for a stand-in dislocker to expose.
"""

import json
import os
import stat
import struct
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timezone

GPT_CODES = {
    "efi": "ef00",
    "msr": "0c01",
    "windows": "0700",
    "ntfs": "0700",
    "bitlocker": "0700",
    "recovery": "2700",
    "ext4": "8300",
    "empty": "0700",
}
MBR_TYPES = {"efi": "ef", "windows": "7", "ntfs": "7", "bitlocker": "7", "recovery": "27", "ext4": "83", "empty": "7", "msr": "7"}
MiB = 1024 * 1024


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout.strip()


def epoch(iso):
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def with_loop(image, offset, size, fn):
    dev = run("losetup", "--find", "--show", "--offset", str(offset), "--sizelimit", str(size), image)
    try:
        return fn(dev)
    finally:
        run("losetup", "-d", dev)


def populate_ntfs(dev, part):
    mnt = tempfile.mkdtemp(prefix="mkimg-")
    run("ntfs-3g", dev, mnt)
    try:
        dirs = list(part.get("dirs", []))
        if part["kind"] in ("windows", "bitlocker") and part.get("windows", True):
            dirs.append("Windows/System32/drivers")
        for d in dirs:
            os.makedirs(os.path.join(mnt, d), exist_ok=True)
        for f in part.get("files", []):
            path = os.path.join(mnt, f["path"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if "source" in f:  # a file built beforehand (a registry hive), copied byte for byte
                with open(f["source"], "rb") as src:
                    data = src.read()
            else:
                data = f.get("content", "").encode()
            if "size" in f:
                data = (data * (f["size"] // max(len(data), 1) + 1))[: f["size"]] if data else os.urandom(f["size"])
            with open(path, "wb") as out:
                out.write(data)
            if "mtime" in f:
                t = epoch(f["mtime"])
                os.utime(path, (t, t))
        # Hostile content a compromised guest can leave: links (absolute or relative, as
        # `mklink /D` makes them) and special files (FIFOs, device nodes).
        for link in part.get("links", []):
            path = os.path.join(mnt, link["path"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(link["target"], path)
        for special in part.get("specials", []):
            path = os.path.join(mnt, special["path"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if special["kind"] == "fifo":
                os.mkfifo(path)
            else:
                kind = stat.S_IFCHR if special["kind"] == "char" else stat.S_IFBLK
                os.mknod(path, kind | 0o666, os.makedev(special["major"], special["minor"]))
        if part.get("hibernated"):
            with open(os.path.join(mnt, "hiberfil.sys"), "wb") as out:
                out.write(b"hibr" + b"\0" * 8188)
    finally:
        run("umount", mnt)
        os.rmdir(mnt)
    if part.get("dirty"):
        set_dirty_flag(dev)


def set_dirty_flag(dev):
    """Sets VOLUME_IS_DIRTY in $Volume's $VOLUME_INFORMATION (in $MFT and $MFTMirr), as a crash leaves it."""
    with open(dev, "r+b") as f:
        boot = f.read(512)
        bps = struct.unpack_from("<H", boot, 11)[0]
        spc = boot[13]
        raw = struct.unpack_from("<b", boot, 64)[0]
        rec_size = 2 ** (-raw) if raw < 0 else raw * spc * bps
        for lcn_at in (48, 56):  # $MFT, then $MFTMirr
            lcn = struct.unpack_from("<Q", boot, lcn_at)[0]
            rec_off = lcn * spc * bps + 3 * rec_size
            f.seek(rec_off)
            rec = bytearray(f.read(rec_size))
            if rec[:4] != b"FILE":
                raise RuntimeError("MFT record 3 not found")
            usa_off, usa_count = struct.unpack_from("<HH", rec, 4)
            usn = bytes(rec[usa_off : usa_off + 2])
            # Undo the update-sequence fixups, edit, redo them.
            for i in range(1, usa_count):
                end = i * bps - 2
                rec[end : end + 2] = rec[usa_off + 2 * i : usa_off + 2 * i + 2]
            attr = struct.unpack_from("<H", rec, 20)[0]
            while True:
                atype, alen = struct.unpack_from("<II", rec, attr)
                if atype == 0xFFFFFFFF:
                    raise RuntimeError("no $VOLUME_INFORMATION")
                if atype == 0x70:
                    voff = struct.unpack_from("<H", rec, attr + 20)[0]
                    flags_at = attr + voff + 10
                    struct.pack_into("<H", rec, flags_at, struct.unpack_from("<H", rec, flags_at)[0] | 0x0001)
                    break
                attr += alen
            for i in range(1, usa_count):
                end = i * bps - 2
                rec[usa_off + 2 * i : usa_off + 2 * i + 2] = rec[end : end + 2]
                rec[end : end + 2] = usn
            f.seek(rec_off)
            f.write(rec)


def format_partition(image, offset, size, part, out):
    kind = part["kind"]
    if kind in ("windows", "ntfs", "recovery"):

        def mk(dev):
            run(
                "mkntfs",
                "--quick",
                "--force",
                "--label",
                part.get("label", kind.capitalize()),
                "--partition-start",
                str(offset // 512),
                dev,
            )
            populate_ntfs(dev, part)

        with_loop(image, offset, size, mk)
    elif kind == "efi" and part.get("files"):
        # An EFI system partition with files (the BCD store of a UEFI Windows): FAT, written with
        # mtools, as the engine reads it.
        def mk_fat(dev):
            run("mkfs.vfat", "-n", "SYSTEM", dev)
            env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
            for f in part["files"]:
                parts = f["path"].split("/")
                for i in range(1, len(parts)):
                    # A folder that is already there is not an error (-D s skips it; mmd still exits 1).
                    subprocess.run(["mmd", "-D", "s", "-i", dev, "::/" + "/".join(parts[:i])], env=env, check=False, capture_output=True)
                src, made = f.get("source"), None
                if src is None:
                    with tempfile.NamedTemporaryFile("w", prefix="make-image-", delete=False) as t:
                        t.write(f.get("content", ""))
                    src = made = t.name
                try:
                    subprocess.run(["mcopy", "-o", "-i", dev, src, "::/" + f["path"]], env=env, check=True, capture_output=True)
                finally:
                    if made:
                        os.unlink(made)

        with_loop(image, offset, size, mk_fat)
    elif kind == "ext4":
        with_loop(image, offset, size, lambda dev: run("mkfs.ext4", "-q", "-F", "-L", "linux", dev))
    elif kind == "bitlocker":
        plain = f"{image}.plain-{len(out)}"
        with open(plain, "wb") as f:
            f.truncate(size)
        with_loop(plain, 0, size, lambda dev: (run("mkntfs", "--quick", "--force", "--label", "Windows", dev), populate_ntfs(dev, part)))
        header = bytearray(512)
        header[0:3] = b"\xeb\x58\x90"
        header[3:11] = b"-FVE-FS-"
        header[510:512] = b"\x55\xaa"
        # FVE metadata naming the volume's key protectors, at 64 KiB into the partition (all three
        # copies there), or at the offsets the spec gives (crafted, e.g. outside the partition).
        block = 64 * 1024
        struct.pack_into("<QQQ", header, 176, *part.get("fveOffsets", [block] * 3))
        with open(image, "r+b") as f:
            f.seek(offset)
            f.write(header)
            if "protectors" in part:
                f.seek(offset + block)
                f.write(fve_metadata(part["protectors"], part.get("fveMetadataSize")))
        return plain
    return None


PROTECTION = {"clear-key": 0x0000, "tpm": 0x0100, "external-key": 0x0200, "recovery-password": 0x0800, "password": 0x2000}


def fve_metadata(protectors, size=None):
    """An FVE metadata block: the 64-byte block header, the 48-byte metadata header, and a VMK entry
    (GUID, protection type) per protector, as BitLocker writes them (the keys themselves left out).
    `size` overrides the metadata size the header claims (crafted headers)."""
    entries = b"".join(
        struct.pack("<HHHH", 36, 2, 8, 1) + uuid.UUID(p["id"]).bytes_le + bytes(8) + struct.pack("<HH", 0, PROTECTION[p["type"]])
        for p in protectors
    )
    head = bytearray(64)
    head[0:8] = b"-FVE-FS-"
    struct.pack_into("<HH", head, 8, 64, 2)
    claimed = 48 + len(entries) if size is None else size
    meta = struct.pack("<IIII", claimed, 1, 48, claimed) + uuid.uuid4().bytes_le + struct.pack("<IHHQ", 1, 0x8004, 0, 0)
    return bytes(head) + meta + entries


def build(spec):
    image = spec["image"]
    table = spec.get("table", "gpt")
    size = spec.get("sizeMiB", 96) * MiB
    with open(image, "wb") as f:
        f.truncate(size)
    parts = spec.get("partitions", [])
    layout = []
    if table == "none":
        layout.append((0, size, parts[0]))
    else:
        start = MiB
        for p in parts:
            psize = p.get("sizeMiB", 16) * MiB
            layout.append((start, psize, p))
            start += psize
        if table == "gpt":
            args = ["sgdisk", "--clear"]
            for i, (off, psize, p) in enumerate(layout, 1):
                args += [
                    f"--new={i}:{off // 512}:{(off + psize) // 512 - 1}",
                    f"--typecode={i}:{GPT_CODES[p['kind']]}",
                    f"--change-name={i}:{p.get('label', p['kind'])}",
                ]
            run(*args, image)
        else:
            script = "label: dos\n" + "".join(
                f"start={off // 512}, size={psize // 512}, type={MBR_TYPES[p['kind']]}{', bootable' if i == 0 else ''}\n"
                for i, (off, psize, p) in enumerate(layout)
            )
            subprocess.run(
                ["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", image],
                input=script,
                text=True,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    if table == "gpt" and "gptEntries" in spec:
        with open(image, "r+b") as f:
            f.seek(512 + 80)
            f.write(struct.pack("<II", spec["gptEntries"]["count"], spec["gptEntries"]["size"]))
    out = []
    for off, psize, p in layout:
        plain = format_partition(image, off, psize, p, out)
        d = {"kind": p["kind"], "startBytes": off, "sizeBytes": psize}
        if plain:
            d["plain"] = plain
        out.append(d)
    return {"image": image, "table": table, "partitions": out}


if __name__ == "__main__":
    print(json.dumps(build(json.load(sys.stdin))))
