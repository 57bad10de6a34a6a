"""A Linux guest's configuration as text: fstab, os-release, block ids of its file systems, and
the fstab edit of the fstab-nofail rule. Pure functions over bytes and strings (no file access), so
the unit tests check them without a disk."""

from __future__ import annotations

import re
import uuid
from typing import Callable

from .lvm import NAME, mapper_name

MAX_CONFIG_BYTES = 1 << 20  # an fstab or os-release larger than this is not a guest's own
# The mount points that are the guest's boot path: fstab-nofail never touches them.
ESSENTIAL = ("/", "/boot", "/boot/efi", "/efi")
NOFAIL_OPTIONS = ("nofail", "x-systemd.device-timeout=10s")


def fstab_entries(text: str) -> list[dict]:
    """The entries of an fstab: spec, mount point, type, options (list), with their line numbers (1-based)."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        out.append(
            {
                "line": number,
                "spec": fields[0],
                "mountPoint": unescape(fields[1]),
                "type": fields[2] if len(fields) > 2 else "auto",
                "options": fields[3].split(",") if len(fields) > 3 else ["defaults"],
            }
        )
    return out


def unescape(field: str) -> str:
    """fstab's octal escapes (\\040 for a space)."""
    out, i = [], 0
    while i < len(field):
        digits = field[i + 1 : i + 4]
        if field[i] == "\\" and len(digits) == 3 and all(c in "01234567" for c in digits):
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def spec_key(spec: str) -> tuple[str, str] | None:
    """An fstab device spec as (kind, value): UUID=, LABEL=, PARTUUID=, PARTLABEL=, or /dev/disk/by-*/;
    an LVM logical volume's name as ("lv", "VG/LV") or its device-mapper uuid as ("lvuuid", VG and
    LV uuids without dashes) (lvm_spec). None for a spec no id names (a kernel device name such as
    /dev/sda1, a network share)."""
    for prefix, kind in (("UUID=", "uuid"), ("LABEL=", "label"), ("PARTUUID=", "partuuid"), ("PARTLABEL=", "partlabel")):
        if spec.startswith(prefix):
            return kind, spec[len(prefix) :].strip('"').lower() if kind in ("uuid", "partuuid") else spec[len(prefix) :].strip('"')
    for folder, kind in (("/dev/disk/by-uuid/", "uuid"), ("/dev/disk/by-label/", "label"), ("/dev/disk/by-partuuid/", "partuuid")):
        if spec.startswith(folder):
            value = unescape(spec[len(folder) :].replace("\\x20", " "))
            return kind, value.lower() if kind != "label" else value
    return lvm_spec(spec)


def lvm_spec(spec: str) -> tuple[str, str] | None:
    """An LVM logical volume as an fstab names it: /dev/mapper/VG-LV (dashes in either name
    doubled), /dev/disk/by-id/dm-name-VG-LV, /dev/VG/LV as ("lv", "VG/LV");
    /dev/disk/by-id/dm-uuid-LVM-<VG uuid><LV uuid> as ("lvuuid", the 64 characters). None otherwise."""
    for prefix in ("/dev/mapper/", "/dev/disk/by-id/dm-name-"):
        if spec.startswith(prefix):
            names = mapper_name(spec[len(prefix) :])
            return ("lv", f"{names[0]}/{names[1]}") if names else None
    if spec.startswith("/dev/disk/by-id/dm-uuid-LVM-"):
        value = spec[len("/dev/disk/by-id/dm-uuid-LVM-") :]
        return ("lvuuid", value) if re.fullmatch(r"[A-Za-z0-9]{64}", value) else None
    m = re.fullmatch(r"/dev/([^/]+)/([^/]+)", spec)
    if m and m.group(1) not in ("disk", "mapper") and NAME.fullmatch(m.group(1)) and NAME.fullmatch(m.group(2)):
        return "lv", f"{m.group(1)}/{m.group(2)}"
    return None


def resolve(spec: str, ids: list[dict]) -> dict | None:
    """The partition of THIS disk an fstab spec names, from the ids read off the disk itself (never
    the rescue VM's /dev/disk, whose ids collide when it runs the same image). None when none does."""
    key = spec_key(spec)
    if key is None:
        return None
    kind, value = key
    found = [p for p in ids if p.get(kind) == value]
    return found[0] if len(found) == 1 else None


def os_release(text: str) -> dict[str, str]:
    """The KEY=value pairs of os-release(5), quotes removed."""
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key.isidentifier() and len(value) <= 512:
            out[key] = value
    return out


def fstab_nofail(text: str, on_disk: Callable[[str], bool]) -> tuple[str, list[dict]]:
    """The fstab with `nofail,x-systemd.device-timeout=10s` on every entry other than the boot path
    (/, /boot, /boot/efi) whose device is not on this disk (a data disk, a network share), and
    the entries changed. Entries that have both options already are left as they are; swap and
    comments untouched; every other byte of the file is kept."""
    lines = text.split("\n")
    changed = []
    for entry in fstab_entries(text):
        if entry["mountPoint"] in ESSENTIAL or on_disk(entry["spec"]):
            continue
        options = [o for o in entry["options"] if o]
        missing = [o for o in NOFAIL_OPTIONS if not any(x == o or x.startswith(o.split("=")[0] + "=") for x in options)]
        if not missing:
            continue
        line = lines[entry["line"] - 1]
        body, sep, comment = line.partition("#")
        fields = body.split()
        while len(fields) < 4:
            fields.append({2: "auto", 3: "defaults"}.get(len(fields), ""))
        fields[3] = ",".join([*options, *missing])
        lines[entry["line"] - 1] = "\t".join(fields) + (f" {sep}{comment}" if sep else "")
        changed.append({"line": entry["line"], "spec": entry["spec"], "mountPoint": entry["mountPoint"], "added": missing})
    return "\n".join(lines), changed


def filesystem_ids(kind: str, head: bytes) -> dict[str, str]:
    """UUID and label of a file system from the start of its volume (ext*: 2 KiB; xfs: 512 bytes;
    btrfs: its superblock at 64 KiB, given from there)."""
    ids: dict[str, str] = {}
    if kind == "ext" and len(head) >= 2048:
        ids["uuid"] = str(uuid.UUID(bytes=head[1024 + 0x68 : 1024 + 0x78]))
        label = head[1024 + 0x78 : 1024 + 0x88].split(b"\0")[0]
    elif kind == "xfs" and len(head) >= 120:
        ids["uuid"] = str(uuid.UUID(bytes=head[32:48]))
        label = head[108:120].split(b"\0")[0]
    elif kind == "btrfs" and len(head) >= 0x12B + 256:
        ids["uuid"] = str(uuid.UUID(bytes=head[0x20:0x30]))
        label = head[0x12B : 0x12B + 256].split(b"\0")[0]
    else:
        return ids
    if label:
        ids["label"] = label.decode("utf-8", errors="replace")
    return ids
