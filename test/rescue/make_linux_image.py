#!/usr/bin/env python3
"""Builds Linux guest disk images for the repair engine's tests (needs root, sgdisk, mkfs.ext4,
mkfs.xfs, mkfs.btrfs, mkfs.vfat).

Reads a JSON spec on stdin, writes the image, prints a JSON description on stdout:

  {"image": "/tmp/x.img", "sizeMiB": 600, "table": "gpt" | "msdos" | "none" (default gpt; msdos: a BIOS disk,
   its first partition marked bootable, disk signature "diskId" as 8 hex digits; none: no partition
   table, the one partition given is the whole disk),
   "partitions": [
     {"kind": "efi" | "ext4" | "xfs" | "btrfs" | "lvm", "sizeMiB": 300, "uuid": "...", "label": "root",
      "subvolumes": ["@", "@home"], "defaultSubvolume": "@",
      "files": [{"path": "@/etc/fstab", "content": "..."},
                {"path": "etc/systemd/system", "link": "/tmp/outside"},
                {"path": "etc/modprobe.d/x.conf", "fifo": true}]}]}

Files are written on the partition's file system as given (inside a btrfs volume, paths start with
the subvolume's name). "lvm" writes only an LVM2 physical volume label, or with "volumeGroup" a real
volume group made by lvm2's tools (make_lvm.py; this kernel has no device-mapper). The output names each partition's
startBytes, sizeBytes, uuid and partuuid.
"""

import json
import os
import subprocess
import sys
import tempfile

import make_lvm as lvm

MiB = 1024 * 1024
GPT_CODES = {"efi": "ef00", "ext4": "8300", "xfs": "8300", "btrfs": "8300", "lvm": "8e00"}
MBR_CODES = {"efi": "ef", "ext4": "83", "xfs": "83", "btrfs": "83", "lvm": "8e"}


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def populate(root, files):
    for f in files:
        path = os.path.join(root, f["path"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if "link" in f:
            os.symlink(f["link"], path)
        elif f.get("fifo"):
            os.mkfifo(path)
        elif f.get("dir"):
            os.makedirs(path, exist_ok=True)
        else:
            with open(path, "w") as out:
                out.write(f.get("content", ""))


def make_fs(loop, p, o):
    """Formats the device `loop` as p["kind"] says (efi, ext4, xfs, btrfs; swap: mkswap) and puts p's files on it."""
    kind = p["kind"]
    if kind == "efi":
        run("mkfs.vfat", "-F", "32", "-i", p.get("serial", "1234ABCD"), loop)
        o["uuid"] = f"{p.get('serial', '1234ABCD')[:4]}-{p.get('serial', '1234ABCD')[4:]}".lower()
    elif kind == "ext4":
        run("mkfs.ext4", "-q", "-F", "-U", p["uuid"], "-L", p.get("label", ""), loop)
    elif kind == "xfs":
        run("mkfs.xfs", "-q", "-f", "-m", f"uuid={p['uuid']}", "-L", p.get("label", ""), loop)
    elif kind == "btrfs":
        run("mkfs.btrfs", "-q", "-f", "-U", p["uuid"], "-L", p.get("label", ""), loop)
    elif kind == "swap":
        run("mkswap", "-U", p["uuid"], loop)
    elif kind == "raw":
        return
    o.setdefault("uuid", p.get("uuid"))
    if not p.get("files") and not p.get("subvolumes"):
        return
    mnt = tempfile.mkdtemp(prefix="linux-image-")
    options = ["nouuid"] if kind == "xfs" else []
    run("mount", *(["-o", ",".join(options)] if options else []), loop, mnt)
    try:
        for sub in p.get("subvolumes", []):
            run("btrfs", "subvolume", "create", os.path.join(mnt, sub))
        populate(mnt, p.get("files", []))
        if p.get("defaultSubvolume"):
            sid = run("btrfs", "inspect-internal", "rootid", os.path.join(mnt, p["defaultSubvolume"]))
            run("btrfs", "subvolume", "set-default", sid, mnt)
    finally:
        run("umount", mnt)
        os.rmdir(mnt)


def build(spec):
    image = spec["image"]
    with open(image, "wb") as f:
        f.truncate(spec["sizeMiB"] * MiB)
    msdos = spec.get("table") == "msdos"
    whole = spec.get("table") == "none"
    if whole:
        # No partition table: the one volume is the whole disk (a PV made on /dev/sdb itself).
        out = [{"kind": spec["partitions"][0]["kind"], "startBytes": 0, "sizeBytes": spec["sizeMiB"] * MiB, "partuuid": ""}]
    elif not msdos:
        run("sgdisk", "--zap-all", image)
    start = 1
    if not whole:
        out = []
    script = [f"label: dos\nlabel-id: 0x{spec.get('diskId', '5eed0001')}\nunit: sectors\n"]
    for i, p in enumerate([] if whole else spec["partitions"], 1):
        size = p["sizeMiB"]
        if msdos:
            script.append(f"start={start * 2048}, size={size * 2048}, type={MBR_CODES[p['kind']]}{', bootable' if i == 1 else ''}\n")
        else:
            run("sgdisk", f"--new={i}:{start * 2048}:{(start + size) * 2048 - 1}", f"--typecode={i}:{GPT_CODES[p['kind']]}", image)
        out.append({"kind": p["kind"], "startBytes": start * MiB, "sizeBytes": size * MiB})
        start += size
    if msdos:
        subprocess.run(["sfdisk", "--quiet", image], input="".join(script), check=True, capture_output=True, text=True)
    for i, (p, o) in enumerate(zip(spec["partitions"], out), 1):
        if msdos:
            o["partuuid"] = f"{spec.get('diskId', '5eed0001')}-{i:02x}"
        elif not whole:
            o["partuuid"] = run("sgdisk", f"--info={i}", image).split("Partition unique GUID: ")[1].split()[0].lower()
        loop = run("losetup", "--find", "--show", "--offset", str(o["startBytes"]), "--sizelimit", str(o["sizeBytes"]), image)
        try:
            if p["kind"] == "lvm":
                if p.get("volumeGroup"):
                    o.update(lvm.build_vg(loop, p["volumeGroup"], image, o["startBytes"], make_fs))
                else:
                    with open(loop, "r+b") as dev:
                        dev.seek(512)
                        dev.write(b"LABELONE" + b"\1" + b"\0" * 15 + b"LVM2 001")
                continue
            make_fs(loop, p, o)
        finally:
            run("losetup", "-d", loop)
    return {"image": image, "partitions": out}


if __name__ == "__main__":
    print(json.dumps(build(json.load(sys.stdin))))
