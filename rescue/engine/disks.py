"""The disk and its partitions: opened, locked (one repair per disk), checked unused, its partition table
(GPT, MBR with logical partitions) read from the raw disk with bounds a crafted header cannot pass."""

import fcntl
import os
import re
import stat
import struct
import time
import uuid

from .common import EXIT_BAD_ARGS, EXIT_UNSAFE, Failure, log, mounts, run
from .workspace import loop_backing

MAX_GPT_ENTRIES = 4096  # partition entries a GPT header may claim (Windows writes 128)
GPT_ENTRY_SIZE = 128  # the only entry size this engine reads

GPT_TYPES = {
    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": ("efi", "EFI system partition"),
    "e3c9e316-0b5c-4db8-817d-f92df00215ae": ("msr", "Microsoft reserved partition"),
    "de94bba4-06d1-4d40-a16a-bfd50179d6ac": ("recovery", "Windows recovery partition"),
    "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": ("basic-data", None),
    "0fc63daf-8483-4772-8e79-3d69d8477de4": ("linux", None),
    "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3": ("ldm-metadata", "dynamic disk (LDM) metadata: dynamic disks are not supported"),
    "af9b60a0-1431-4f62-bc68-3311714a69ad": ("ldm-data", "dynamic disk (LDM) data: dynamic disks are not supported"),
}
MBR_TYPES = {
    0x07: ("basic-data", None),
    0x0B: ("fat", None),
    0x0C: ("fat", None),
    0x27: ("recovery", "Windows recovery partition"),
    0x42: ("ldm-data", "dynamic disk (LDM): dynamic disks are not supported"),
    0x83: ("linux", None),
    0xEF: ("efi", "EFI system partition"),
}
MBR_EXTENDED = (0x05, 0x0F, 0x85)


# ---------------------------------------------------------------------------------------------
# The disk and its partitions


def open_disk(path, lock_wait):
    try:
        st = os.stat(path)
    except OSError as e:
        raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"--disk {path}: {e.strerror}") from e
    if not (stat.S_ISBLK(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"--disk {path}: neither a block device nor a disk image file")
    # Taken before anything is read: a second repair of this disk waits here, then sees the result.
    lock_disk(st, lock_wait)
    if device_in_use(st):
        raise Failure(
            EXIT_UNSAFE,
            "in-use",
            f"--disk {path} (or a partition of it, or a loop device over it) is mounted on this VM; refusing it (is it the rescue "
            "VM's own disk, or is another tool repairing it?)",
        )
    refuse_held(path, st)
    if stat.S_ISBLK(st.st_mode):
        size = int(run(["blockdev", "--getsize64", path]).stdout.strip())
        read_only = run(["blockdev", "--getro", path]).stdout.strip() == "1"
        sector = int(run(["blockdev", "--getss", path]).stdout.strip())
        kind = "block-device"
    else:
        size = st.st_size
        read_only = not os.access(path, os.W_OK) or bool(os.statvfs(path).f_flag & os.ST_RDONLY)
        sector = 512
        kind = "image-file"
    return {"path": path, "kind": kind, "sizeBytes": size, "logicalSectorSize": sector, "readOnly": read_only}


def refuse_held(path, st=None):
    """Refuses (exit 5, in-use) a disk another block device holds (sysfs holders: a device-mapper
    or md device over it or its partitions). Checked when the disk is opened, and again just before
    the read-write mounts: a volume group the rescue VM's lvm2 activated in between would write
    through a path that bypasses this engine."""
    held = held_by(disk_devices(st if st is not None else os.stat(path)))
    if held:
        raise Failure(
            EXIT_UNSAFE,
            "in-use",
            f"--disk {path} is held by another block device: {'; '.join(held)} (device-mapper: this VM's lvm2 or another tool has "
            "activated a volume group or mapping on it, and writes through it would bypass this engine); refusing it",
        )


def device_numbers(name):
    """major:minor of a block device (by its /sys/class/block name) and of its partitions."""
    numbers = set()
    try:
        with open(f"/sys/class/block/{name}/dev") as f:
            numbers.add(f.read().strip())
        for child in os.listdir(f"/sys/class/block/{name}"):
            if child.startswith(name):
                with open(f"/sys/class/block/{name}/{child}/dev") as f:
                    numbers.add(f.read().strip())
    except OSError:
        pass
    return numbers


def loops_over(st):
    """The loop devices (by name) whose backing is this disk: the block device itself, or this image file."""
    found = []
    for name in sorted(os.listdir("/sys/class/block")):
        if not re.fullmatch(r"loop[0-9]+", name):
            continue
        backing = loop_backing(f"/dev/{name}")
        if backing is None:
            continue
        try:
            b = os.stat(backing[1].removesuffix(" (deleted)"))
        except OSError:
            continue
        same = (
            b.st_rdev == st.st_rdev
            if stat.S_ISBLK(st.st_mode)
            else (stat.S_ISREG(b.st_mode) and (b.st_dev, b.st_ino) == (st.st_dev, st.st_ino))
        )
        if same:
            found.append(name)
    return found


def device_in_use(st):
    """True when the disk, a partition of it, or a loop device over either (how this engine and
    others mount) is mounted on this VM."""
    numbers = set()
    if stat.S_ISBLK(st.st_mode):
        numbers |= {f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"}
        numbers |= device_numbers(os.path.basename(os.path.realpath(f"/sys/dev/block/{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}")))
    for loop in loops_over(st):
        numbers |= device_numbers(loop)
    return any(dev in numbers for dev, _, _ in mounts())


def disk_devices(st):
    """The block devices (by /sys/class/block name) this disk is: the device itself, or the loop devices over this image file."""
    names = loops_over(st)
    if stat.S_ISBLK(st.st_mode):
        names.insert(0, os.path.basename(os.path.realpath(f"/sys/dev/block/{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}")))
    return names


def held_by(names, sys_root="/sys"):
    """What holds these block devices or their partitions (sysfs `holders`: a device-mapper or md
    device built on them), as "sdb3 is held by dm-0 (rhel-root)"; at most 16 per device."""
    out = []
    for name in names:
        base = os.path.join(sys_root, "class", "block", name)
        try:
            children = sorted(c for c in os.listdir(base) if c.startswith(name) and c != name)
        except OSError:
            continue
        for dev, folder in [(name, base), *((c, os.path.join(base, c)) for c in children)]:
            try:
                holders = sorted(os.listdir(os.path.join(folder, "holders")))[:16]
            except OSError:
                continue
            for h in holders:
                try:
                    with open(os.path.join(sys_root, "class", "block", h, "dm", "name")) as f:
                        label = f" ({f.read(256).strip()})"
                except OSError:
                    label = ""
                out.append(f"{dev} is held by {h}{label}")
    return out


def lock_disk(st, wait_seconds):
    """Holds an exclusive lock on the disk (by device number, or by the image file's inode) for as
    long as this engine runs; the kernel drops it when the engine ends, however it ends. A second
    repair of the same disk waits up to wait_seconds for the first, then refuses: two never mount
    one disk at once."""
    lock_dir = os.environ.get("REPAIR_DISK_LOCK_DIR", "/run/lock/bootloop-rescue")
    os.makedirs(lock_dir, 0o700, exist_ok=True)
    key = f"dev-{os.major(st.st_rdev)}-{os.minor(st.st_rdev)}" if stat.S_ISBLK(st.st_mode) else f"file-{st.st_dev}-{st.st_ino}"
    fd = os.open(os.path.join(lock_dir, f"{key}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + max(0, wait_seconds)
    waiting = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise Failure(
                    EXIT_UNSAFE, "busy", f"another repair of this disk is still running (waited {wait_seconds} s); nothing was done"
                ) from None
            if not waiting:
                log(f"another repair of this disk is running; waiting up to {wait_seconds} s for it to finish")
                waiting = True
            time.sleep(0.5)


def read_at(path, offset, length):
    with open(path, "rb", buffering=0) as f:
        f.seek(offset)
        return f.read(length)


BTRFS_SUPER = 0x10000  # where btrfs keeps its (first) superblock


def filesystem_of(path, offset):
    head = read_at(path, offset, 4096)
    if len(head) < 1024:
        return "none"
    if not any(head):
        # btrfs leaves its first 64 KiB to boot loaders: its superblock is further in.
        return "btrfs" if read_at(path, offset + BTRFS_SUPER + 0x40, 8) == b"_BHRfS_M" else "none"
    if head[3:11] == b"NTFS    ":
        return "ntfs"
    if head[3:11] == b"-FVE-FS-":
        return "bitlocker"
    if head[3:11] == b"EXFAT   ":
        return "exfat"
    if head[82:90] == b"FAT32   " or head[54:62] in (b"FAT16   ", b"FAT12   "):
        return "fat"
    if len(head) >= 1082 and head[1080:1082] == b"\x53\xef":
        return "ext"
    if head[:4] == b"XFSB":
        return "xfs"
    if head[512:520] == b"LABELONE" and head[536:544] == b"LVM2 001":
        return "lvm"
    if read_at(path, offset + BTRFS_SUPER + 0x40, 8) == b"_BHRfS_M":
        return "btrfs"
    return "unknown"


def partition_table(disk):
    """Partitions as dicts: number, startBytes, sizeBytes, type, typeId, name. GPT, MBR, or a whole-disk
    volume (NTFS, BitLocker, an LVM physical volume)."""
    path, size = disk["path"], disk["sizeBytes"]
    head = read_at(path, 0, 512)
    if head[3:11] in (b"NTFS    ", b"-FVE-FS-"):
        return "none", [{"number": 0, "startBytes": 0, "sizeBytes": size, "type": "whole-disk", "typeId": "", "name": ""}]
    for sector in sorted({disk["logicalSectorSize"], 512, 4096}):
        gpt = read_at(path, sector, 512)
        if gpt[:8] == b"EFI PART":
            return "gpt", refuse_overlaps(gpt_partitions(path, gpt, sector, size))
    if head[510:512] == b"\x55\xaa":
        parts = mbr_partitions(path, head, disk["logicalSectorSize"])
        # Linux names an MBR partition by the disk signature and its number (PARTUUID=xxxxxxxx-NN).
        signature = struct.unpack_from("<I", head, 440)[0]
        for p in parts:
            p["partUuid"] = f"{signature:08x}-{p['number']:02x}"
        return "mbr", refuse_overlaps(parts)
    if filesystem_of(path, 0) == "lvm":
        # An LVM physical volume made on the whole disk (pvcreate /dev/sdb): no partition table.
        return "none", [{"number": 0, "startBytes": 0, "sizeBytes": size, "type": "whole-disk", "typeId": "", "name": ""}]
    return "none", []


def refuse_overlaps(parts):
    """The partitions, when no two share a byte (an MBR's extended container excepted: its logical
    partitions lie inside it). Partitioning tools never write overlapping entries; a crafted table
    would have two loop devices (e.g. /boot and an LVM volume) live read-write over the same bytes,
    and one volume read many times over, so the disk is refused (exit 5) before anything is read."""
    spans = sorted((p["startBytes"], p["startBytes"] + p["sizeBytes"], p["number"]) for p in parts if p["type"] != "extended")
    reach, holder = -1, None
    for start, end, number in spans:
        if start < reach:
            raise Failure(EXIT_UNSAFE, "unsafe", f"partitions {holder} and {number} overlap (a crafted partition table); refusing the disk")
        if end > reach:
            reach, holder = end, number
    return parts


def gpt_partitions(path, header, sector, disk_size):
    """The GPT's partitions. The header comes from the guest: an entry count or size outside what
    Windows writes, or a table outside the disk, is refused before anything is read (a crafted
    header would otherwise make the engine read gigabytes into memory)."""
    entries_lba, count, entry_size = struct.unpack_from("<QII", header, 72)
    if entry_size != GPT_ENTRY_SIZE or not 0 < count <= MAX_GPT_ENTRIES:
        raise Failure(
            EXIT_UNSAFE,
            "unsafe",
            f"the GPT header claims {count} partition entries of {entry_size} bytes (this engine reads up to {MAX_GPT_ENTRIES} "
            f"entries of {GPT_ENTRY_SIZE}); refusing the disk",
        )
    if entries_lba < 2 or (entries_lba * sector) + count * entry_size > disk_size:
        raise Failure(
            EXIT_UNSAFE, "unsafe", f"the GPT header puts its partition entries at sector {entries_lba}, outside the disk; refusing the disk"
        )
    table = read_at(path, entries_lba * sector, count * entry_size)
    parts = []
    for i in range(count):
        e = table[i * entry_size : (i + 1) * entry_size]
        if len(e) < 128 or not any(e[:16]):
            continue
        type_id = str(uuid.UUID(bytes_le=bytes(e[:16])))
        first, last = struct.unpack_from("<QQ", e, 32)
        name = e[56:128].decode("utf-16-le", errors="replace").split("\0")[0]
        kind = GPT_TYPES.get(type_id, ("other", None))[0]
        parts.append(
            {
                "number": i + 1,
                "startBytes": first * sector,
                "sizeBytes": (last - first + 1) * sector,
                "type": kind,
                "typeId": type_id,
                "name": name,
                "partUuid": str(uuid.UUID(bytes_le=bytes(e[16:32]))),
            }
        )
    return parts


def mbr_partitions(path, head, sector):
    parts = []
    for i in range(4):
        ptype, start, count = mbr_entry(head, i)
        if ptype == 0 or count == 0:
            continue
        if ptype in MBR_EXTENDED:
            parts.append(
                {
                    "number": i + 1,
                    "startBytes": start * sector,
                    "sizeBytes": count * sector,
                    "type": "extended",
                    "typeId": f"0x{ptype:02x}",
                    "name": "",
                }
            )
            parts.extend(logical_partitions(path, start, sector))
            continue
        parts.append(
            {
                "number": i + 1,
                "startBytes": start * sector,
                "sizeBytes": count * sector,
                "type": MBR_TYPES.get(ptype, ("other", None))[0],
                "typeId": f"0x{ptype:02x}",
                "name": "",
            }
        )
    return parts


def mbr_entry(sector0, i):
    e = sector0[446 + 16 * i : 446 + 16 * (i + 1)]
    return e[4], struct.unpack_from("<I", e, 8)[0], struct.unpack_from("<I", e, 12)[0]


def logical_partitions(path, ext_start, sector):
    parts, ebr, number = [], ext_start, 5
    for _ in range(128):  # a bounded walk of the EBR chain
        block = read_at(path, ebr * sector, 512)
        if block[510:512] != b"\x55\xaa":
            break
        ptype, rel, count = mbr_entry(block, 0)
        if ptype and count:
            parts.append(
                {
                    "number": number,
                    "startBytes": (ebr + rel) * sector,
                    "sizeBytes": count * sector,
                    "type": MBR_TYPES.get(ptype, ("other", None))[0],
                    "typeId": f"0x{ptype:02x}",
                    "name": "",
                }
            )
            number += 1
        ntype, nrel, _ = mbr_entry(block, 1)
        if ntype not in MBR_EXTENDED or nrel == 0:
            break
        ebr = ext_start + nrel
    return parts


def skip_reason(part):
    by_type = {**{v[0]: v[1] for v in GPT_TYPES.values()}, **{v[0]: v[1] for v in MBR_TYPES.values()}}
    if part["type"] == "extended":
        return "extended partition container (its logical partitions are listed separately)"
    return by_type.get(part["type"])


def volume_flags(path, offset):
    """$Volume's flags (dirty bit) read from the raw NTFS volume: no tool needed, nothing written."""
    try:
        boot = read_at(path, offset, 512)
        bps = struct.unpack_from("<H", boot, 11)[0]
        spc = boot[13]
        raw = struct.unpack_from("<b", boot, 64)[0]
        rec_size = 2 ** (-raw) if raw < 0 else raw * spc * bps
        mft = struct.unpack_from("<Q", boot, 48)[0] * spc * bps
        rec = bytearray(read_at(path, offset + mft + 3 * rec_size, rec_size))
        if rec[:4] != b"FILE":
            return None
        usa_off, usa_count = struct.unpack_from("<HH", rec, 4)
        for i in range(1, usa_count):
            end = i * bps - 2
            rec[end : end + 2] = rec[usa_off + 2 * i : usa_off + 2 * i + 2]
        attr = struct.unpack_from("<H", rec, 20)[0]
        while attr + 8 <= len(rec):
            atype, alen = struct.unpack_from("<II", rec, attr)
            if atype == 0xFFFFFFFF or alen == 0:
                return None
            if atype == 0x70:
                voff = struct.unpack_from("<H", rec, attr + 20)[0]
                return struct.unpack_from("<H", rec, attr + voff + 10)[0]
            attr += alen
    except (OSError, struct.error, ValueError):
        return None
    return None
