"""LVM2 volume groups read off the guest's disk by this engine itself: never lvm2, never device-mapper,
nothing activated. The rescue VM often runs the same image as the guest, so its own volume groups
share the guest's names and UUIDs; asking the rescue VM's lvm2 about the guest's disk would mix the
two up (and lvm2 renames or refuses duplicates). Instead the physical volume's label, its metadata
area and the volume group's text metadata are read here, with bounds a crafted disk cannot pass,
and a logical volume that is one linear segment on a physical volume of this disk is mapped as a
byte range of the disk (a loop device at that offset, as a partition is). Everything else (thin,
RAID, mirrors, snapshots, caches, several segments, a physical volume on another disk) is skipped
with its reason.

On-disk format (lvm2's lib/label/label.h, lib/format_text/layout.h): a 512-byte label in one of
the first four sectors ("LABELONE", its sector number, a CRC of the rest of the sector, the offset
of the pv_header, "LVM2 001"); the pv_header (the PV's uuid, its size, a zero-terminated list of
data areas, then one of metadata areas); each metadata area starts with an mda_header (CRC, magic,
version 1, its own start and size, and raw_locn entries: where in the area's circular buffer the
metadata text is, its size and CRC). The text is lvm2's config format: `name { ... }` sections,
`key = value` with strings, numbers and `[lists]`, `#` comments, parsed by engine.linux.lvm_text.

Pure functions over bytes, and a reader bounded to one partition, so the unit tests check them
without a disk."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

from .lvm_text import MAX_TEXT, ParseError, Value, parse_text

SECTOR = 512
LABEL_ID = b"LABELONE"
LABEL_TYPE = b"LVM2 001"
LABEL_SCAN_SECTORS = 4
MDA_MAGIC = b"\x20LVM2 x[5A%r0N*>"
MDA_HEADER_SIZE = 512
INITIAL_CRC = 0xF597A6CF
MAX_AREAS = 8  # data areas a pv_header may list (lvm2 writes one)
MAX_METADATA_AREAS = 2  # distinct metadata areas a PV may have: lvm2 writes at most two (pvcreate --pvmetadatacopies 2)
MAX_PVS_PER_DISK = 16  # PV partitions read on one disk; more is crafted (each costs up to 2 metadata texts)
MAX_METADATA_PER_DISK = 4 * MAX_TEXT  # bytes of distinct metadata text read on one disk, all PVs together
MAX_NAME = 64  # characters of a name from the metadata carried into the evidence and messages
MAX_VOLUMES_LISTED = 256  # logical volumes of one volume group listed in the evidence
NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}")  # lvm2's names: never "." or ".."


class LvmError(Exception):
    """A physical volume or its metadata that cannot be read. `hostile` when the bytes break a bound
    lvm2 itself never breaks (offsets past the partition, oversized or too deeply nested text): a
    crafted disk, not a damaged one."""

    def __init__(self, reason: str, hostile: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hostile = hostile


def parse(text: bytes) -> dict[str, Value]:
    """parse_text (engine.linux.lvm_text), its ParseError as an LvmError."""
    try:
        return parse_text(text)
    except ParseError as e:
        raise LvmError(e.reason, e.hostile) from e


def crc(data: bytes, initial: int = INITIAL_CRC) -> int:
    """lvm2's calc_crc (lib/misc/crc.c): the reflected CRC-32 (polynomial 0xedb88320) without the
    final inversion, from `initial`. zlib's crc32 inverts on the way in and out, so it is undone."""
    return zlib.crc32(data, initial ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------
# The label and the metadata areas


@dataclass
class PvLabel:
    """A physical volume's label: its uuid (32 characters, no dashes), size and areas (offset, size) in bytes from the PV's start."""

    uuid: str
    device_size: int
    sector: int
    data_areas: list[tuple[int, int]] = field(default_factory=list)
    metadata_areas: list[tuple[int, int]] = field(default_factory=list)


def parse_label(head: bytes) -> PvLabel:
    """The PV label in the first four sectors of `head` (at least 2 KiB from the PV's start); a
    LABELONE sector with a wrong sector number or checksum is passed over, as lvm2 does. Its
    metadata areas deduplicated (one area listed twice is read once); more than two distinct ones
    is crafted. Raises LvmError."""
    problems: list[str] = []
    for sector in range(LABEL_SCAN_SECTORS):
        block = head[sector * SECTOR : (sector + 1) * SECTOR]
        if len(block) < SECTOR or block[:8] != LABEL_ID:
            continue
        number, checksum, offset = struct.unpack_from("<QII", block, 8)
        if number != sector or crc(block[20:]) != checksum:
            # lvm2's _find_label_header ignores such a sector and looks at the next one.
            problems.append(
                f"LVM label in sector {sector} says it is in sector {number}"
                if number != sector
                else f"LVM label in sector {sector}: checksum mismatch"
            )
            continue
        if block[24:32] != LABEL_TYPE:
            raise LvmError(f"LVM label in sector {sector}: type {block[24:32]!r}, not LVM2 001")
        if not 32 <= offset <= SECTOR - 40 - 32:
            raise LvmError(f"LVM label in sector {sector}: pv_header offset {offset} outside the label", hostile=True)
        raw_uuid = block[offset : offset + 32]
        if not re.fullmatch(rb"[A-Za-z0-9]{32}", raw_uuid):
            raise LvmError(f"LVM label in sector {sector}: the PV uuid is not 32 letters and digits")
        (device_size,) = struct.unpack_from("<Q", block, offset + 32)
        at = offset + 40
        lists: list[list[tuple[int, int]]] = []
        for _ in range(2):
            areas: list[tuple[int, int]] = []
            listed = 0
            while True:
                if at + 16 > SECTOR:
                    raise LvmError(f"LVM label in sector {sector}: its area lists run past the sector", hostile=True)
                area_offset, area_size = struct.unpack_from("<QQ", block, at)
                at += 16
                if area_offset == 0:
                    break
                listed += 1
                if listed > MAX_AREAS:
                    raise LvmError(f"LVM label in sector {sector}: more than {MAX_AREAS} areas", hostile=True)
                if (area_offset, area_size) not in areas:
                    areas.append((area_offset, area_size))
            lists.append(areas)
        if len(lists[1]) > MAX_METADATA_AREAS:
            raise LvmError(
                f"LVM label in sector {sector}: {len(lists[1])} metadata areas (lvm2 writes at most {MAX_METADATA_AREAS})", hostile=True
            )
        return PvLabel(raw_uuid.decode(), device_size, sector, lists[0], lists[1])
    raise LvmError("; ".join(problems) if problems else "no LVM2 label in the first four sectors")


@dataclass
class MetadataLocation:
    """Where a metadata area's current text is: offset within the area, size, CRC."""

    offset: int
    size: int
    checksum: int
    flags: int


def parse_mda_header(block: bytes, area_offset: int, area_size: int) -> list[MetadataLocation]:
    """The raw_locn entries of a metadata area's header (its first 512 bytes), checked against the
    area it was read from (`area_offset`, `area_size`, from the label). Raises LvmError."""
    if len(block) < MDA_HEADER_SIZE:
        raise LvmError(f"metadata area at {area_offset}: header cut short")
    (checksum,) = struct.unpack_from("<I", block, 0)
    if block[4:20] != MDA_MAGIC:
        raise LvmError(f"metadata area at {area_offset}: no LVM2 metadata magic")
    if crc(block[4:MDA_HEADER_SIZE]) != checksum:
        raise LvmError(f"metadata area at {area_offset}: header checksum mismatch")
    version, start, size = struct.unpack_from("<IQQ", block, 20)
    if version != 1:
        raise LvmError(f"metadata area at {area_offset}: version {version}, not 1")
    if start != area_offset or size != area_size:
        raise LvmError(f"metadata area at {area_offset}: header says start {start}, size {size}; the label says {area_offset}, {area_size}")
    out = []
    at = 40
    while at + 24 <= MDA_HEADER_SIZE:
        offset, text_size, text_crc, flags = struct.unpack_from("<QQII", block, at)
        at += 24
        if offset == 0:
            break
        out.append(MetadataLocation(offset, text_size, text_crc, flags))
    return out


def metadata_text(read: Callable[[int, int], bytes], area_offset: int, area_size: int) -> bytes | None:
    """The current metadata text of one metadata area (None when the area holds none: a PV of no
    VG yet, or an ignored area), its CRC checked; the circular buffer's wrap-around is followed.
    `read(offset, length)` reads from the PV's start. Raises LvmError."""
    if area_size < MDA_HEADER_SIZE * 2:
        raise LvmError(f"metadata area at {area_offset}: {area_size} bytes is too small", hostile=True)
    locations = parse_mda_header(read(area_offset, MDA_HEADER_SIZE), area_offset, area_size)
    if not locations or locations[0].flags & 1 or locations[0].size == 0:  # RAW_LOCN_IGNORED
        return None
    loc = locations[0]
    if loc.size > MAX_TEXT:
        raise LvmError(
            f"metadata area at {area_offset}: {loc.size} bytes of metadata text (this engine reads up to {MAX_TEXT})", hostile=True
        )
    if not MDA_HEADER_SIZE <= loc.offset < area_size or loc.size > area_size - MDA_HEADER_SIZE:
        raise LvmError(f"metadata area at {area_offset}: its text at {loc.offset} (+{loc.size}) lies outside the area", hostile=True)
    first = min(loc.size, area_size - loc.offset)
    text = read(area_offset + loc.offset, first)
    wrapped = loc.size - first
    if wrapped:
        text += read(area_offset + MDA_HEADER_SIZE, wrapped)
    if len(text) != loc.size:
        raise LvmError(f"metadata area at {area_offset}: text cut short")
    if crc(text) != loc.checksum:
        raise LvmError(f"metadata area at {area_offset}: metadata text checksum mismatch")
    return text


# ---------------------------------------------------------------------------------------------
# Volume groups and their logical volumes


class MetadataCache:
    """The metadata texts read on one disk, each distinct text parsed once (by its SHA-256), and
    the bytes of distinct text a disk may make the engine parse bounded (MAX_METADATA_PER_DISK): a
    crafted disk listing one text under many PVs or areas costs one parse, and many distinct texts
    end the run as hostile rather than take minutes of CPU each."""

    def __init__(self, limit: int = MAX_METADATA_PER_DISK) -> None:
        self.limit = limit
        self.total = 0
        self.trees: dict[bytes, dict[str, Value]] = {}
        self.parses = 0

    def parse(self, text: bytes) -> dict[str, Value]:
        """The parsed text (engine.linux.lvm_text), from the cache when this text was parsed before. Raises LvmError."""
        key = hashlib.sha256(text).digest()
        if key in self.trees:
            return self.trees[key]
        self.total += len(text)
        if self.total > self.limit:
            raise LvmError(f"more than {self.limit} bytes of distinct LVM metadata text on one disk", hostile=True)
        self.parses += 1
        tree = parse(text)
        self.trees[key] = tree
        return tree


@dataclass
class PhysicalVolume:
    """A PV of this disk: the partition it is (its number, start and size in bytes), its label, and
    its volume group's metadata (parsed) as its newest metadata area holds it (None: it holds none)."""

    partition: Any
    start: int
    size: int
    label: PvLabel
    tree: dict[str, Value] | None
    seqno: int
    vg_id: str | None


def read_pv(read: Callable[[int, int], bytes], partition: Any, start: int, size: int, cache: MetadataCache | None = None) -> PhysicalVolume:
    """The PV on one partition of this disk (`read(offset, length)` from the partition's start,
    which refuses to read past its end): its label, and the newest metadata (highest seqno) of its
    metadata areas, each distinct text parsed once per disk (`cache`). Raises LvmError."""
    cache = cache if cache is not None else MetadataCache()
    label = parse_label(read(0, LABEL_SCAN_SECTORS * SECTOR))
    newest: tuple[int, dict[str, Value], str] | None = None
    problems = []
    for offset, area_size in label.metadata_areas:
        if offset < SECTOR * LABEL_SCAN_SECTORS or offset + area_size > size:
            raise LvmError(f"metadata area at {offset} (+{area_size}) lies outside the partition ({size} bytes)", hostile=True)
        try:
            text = metadata_text(read, offset, area_size)
            if text is None:
                continue
            tree = cache.parse(text)
            vg_name, vg = the_vg(tree)
        except LvmError as e:
            if e.hostile:
                raise
            problems.append(e.reason)
            continue
        seqno = vg.get("seqno")
        vg_id = vg.get("id")
        if not isinstance(seqno, int) or not isinstance(vg_id, str):
            problems.append(f"metadata area at {offset}: volume group {vg_name} has no seqno or id")
            continue
        if newest is None or seqno > newest[0]:
            newest = (seqno, tree, vg_id)
    if newest is None:
        if problems:
            raise LvmError("; ".join(problems))
        return PhysicalVolume(partition, start, size, label, None, 0, None)
    return PhysicalVolume(partition, start, size, label, newest[1], newest[0], newest[2])


def the_vg(tree: dict[str, Value]) -> tuple[str, dict[str, Value]]:
    """The one volume group section of parsed metadata text (its name, its section)."""
    sections = [(k, v) for k, v in tree.items() if isinstance(v, dict)]
    if len(sections) != 1:
        raise LvmError(f"metadata text holds {len(sections)} sections at its top, not one volume group")
    name, vg = sections[0]
    if not NAME.fullmatch(name):
        raise LvmError(f"metadata text: volume group name {name[:64]!r} is not one lvm2 allows")
    return name, vg


def uuid_of(section: dict[str, Value]) -> str | None:
    """A section's `id` for the evidence: an lvm2 uuid (32 letters and digits, dashes between), else None."""
    value = section.get("id")
    return value if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9-]{32,38}", value) else None


def bounded_name(name: str) -> str:
    """A name from the metadata as the evidence and messages carry it: as is when lvm2 allows it
    (at most 127 characters), else its first MAX_NAME characters, marked."""
    return name if NAME.fullmatch(name) else f"{name[:MAX_NAME]!r} (not a name lvm2 allows)"


def plain_uuid(text: Any) -> str:
    return text.replace("-", "") if isinstance(text, str) else ""


def flags_of(section: dict[str, Value], key: str = "status") -> set[str]:
    items = section.get(key, [])
    return {i for i in items if isinstance(i, str)} if isinstance(items, list) else set()


def int_of(section: dict[str, Value], key: str, where: str) -> int:
    value = section.get(key)
    if not isinstance(value, int) or value < 0:
        raise LvmError(f"{where}: {key} is missing or not a non-negative number")
    return value


def volume_group(pvs: list[PhysicalVolume]) -> dict[str, Any]:
    """One volume group from its PVs on this disk (all carrying its id): the newest metadata (highest
    seqno) parsed, and each logical volume either mapped ({"name", "sizeBytes", "startBytes" on the
    disk, "partition" of its PV, "uuid"}) or skipped ({"name", "skipped": reason}). Keys starting
    with "_" are for the engine, not the evidence. Raises LvmError."""
    newest = max(pvs, key=lambda p: p.seqno)
    assert newest.tree is not None  # noqa: S101 -- only PVs with metadata are grouped
    name, vg = the_vg(newest.tree)
    where = f"volume group {name}"
    out: dict[str, Any] = {"name": name, "uuid": uuid_of(vg), "seqno": newest.seqno, "logicalVolumes": []}
    vg_problem = None
    vg_flags = flags_of(vg)
    if "WRITE" not in vg_flags:
        vg_problem = "the volume group is read-only (its status lacks WRITE): lvm2 would not activate it for writing"
    for flag in ("CLUSTERED", "PARTIAL"):
        if flag in vg_flags:
            vg_problem = f"the volume group is {flag}"
    if "EXPORTED" in vg_flags:
        vg_problem = "the volume group is exported (vgexport)"
    lock_type = vg.get("lock_type")
    if isinstance(lock_type, str) and lock_type not in ("", "none"):
        vg_problem = f"the volume group is shared (lock_type {lock_type}): lvmlockd's locks are not taken here"
    extent_size = int_of(vg, "extent_size", where)
    if extent_size == 0:
        raise LvmError(f"{where}: extent_size is 0")
    by_uuid = {p.label.uuid: p for p in pvs}
    pv_sections = vg.get("physical_volumes", {})
    if not isinstance(pv_sections, dict):
        raise LvmError(f"{where}: physical_volumes is not a section")
    present: dict[str, tuple[PhysicalVolume, dict[str, Value]]] = {}
    out["physicalVolumes"] = []
    for pv_name, section in pv_sections.items():
        if not isinstance(section, dict):
            continue
        pv_uuid = plain_uuid(section.get("id"))
        pv = by_uuid.get(pv_uuid)
        missing = pv is None or "MISSING" in flags_of(section, "flags")
        entry: dict[str, Any] = {"name": bounded_name(pv_name), "uuid": uuid_of(section)}
        if missing:
            entry["notOnThisDisk"] = True
        else:
            assert pv is not None  # noqa: S101 -- narrowed by `missing`
            entry["partition"] = pv.partition
            present[pv_name] = (pv, section)
        out["physicalVolumes"].append(entry)
    lv_sections = vg.get("logical_volumes", {})
    if not isinstance(lv_sections, dict):
        raise LvmError(f"{where}: logical_volumes is not a section")
    origins: dict[str, str] = {}
    cow_stores: dict[str, str] = {}
    for lv_name, section in lv_sections.items():
        if isinstance(section, dict):
            for seg in section.values():
                if isinstance(seg, dict) and isinstance(seg.get("origin"), str):
                    origins[seg["origin"]] = lv_name
                if isinstance(seg, dict) and isinstance(seg.get("cow_store"), str):
                    cow_stores[seg["cow_store"]] = lv_name
    listed = [(n, sec) for n, sec in lv_sections.items() if isinstance(sec, dict)]
    if len(listed) > MAX_VOLUMES_LISTED:
        # Neither mapped nor listed: a / or /boot among them is refused as not mapped (guest.refuse_unmapped).
        out["logicalVolumesNotListed"] = len(listed) - MAX_VOLUMES_LISTED
        listed = listed[:MAX_VOLUMES_LISTED]
    for lv_name, section in listed:
        lv: dict[str, Any] = {"name": bounded_name(lv_name), "uuid": uuid_of(section), "sizeBytes": size_of(section, extent_size)}
        try:
            if lv_name in cow_stores:
                raise LvmError(f"the copy-on-write store of snapshot {bounded_name(cow_stores[lv_name])}, not a file system")
            lv.update(map_lv(name, lv_name, section, extent_size, present, origins))
        except LvmError as e:
            if e.hostile:
                raise
            lv["skipped"] = e.reason
        if vg_problem and "skipped" not in lv:
            lv = {"name": lv["name"], "uuid": lv["uuid"], "sizeBytes": lv["sizeBytes"], "skipped": vg_problem}
        out["logicalVolumes"].append(lv)
    if len(out["physicalVolumes"]) > MAX_VOLUMES_LISTED:
        out["physicalVolumesNotListed"] = len(out["physicalVolumes"]) - MAX_VOLUMES_LISTED
        out["physicalVolumes"] = sorted(out["physicalVolumes"], key=lambda e: "partition" not in e)[:MAX_VOLUMES_LISTED]
    # lvm2 never gives one extent to two volumes: two mapped volumes sharing bytes (both could be
    # mounted read-write) are crafted.
    mapped = sorted((lv for lv in out["logicalVolumes"] if "startBytes" in lv), key=lambda lv: lv["startBytes"])
    for a, b in zip(mapped, mapped[1:]):
        if a["partition"] == b["partition"] and a["startBytes"] + a["sizeBytes"] > b["startBytes"]:
            raise LvmError(f"{where}: logical volumes {a['name']} and {b['name']} share extents", hostile=True)
    return out


def map_lv(
    vg_name: str,
    lv_name: str,
    lv: dict[str, Value],
    extent_size: int,
    present: dict[str, tuple[PhysicalVolume, dict[str, Value]]],
    origins: dict[str, str],
) -> dict[str, Any]:
    """Where one logical volume's bytes are on the disk, when it is one linear segment on a PV of
    this disk; else LvmError with the reason (hostile when its extents point past its PV)."""
    where = f"{vg_name}/{lv_name}"
    if not NAME.fullmatch(lv_name):
        raise LvmError(f"{lv_name[:64]!r} is not a name lvm2 allows")
    status = flags_of(lv)
    if "VISIBLE" not in status:
        raise LvmError("hidden (a part of another volume)")
    busy = sorted(status & {"PVMOVE", "LOCKED", "CONVERTING", "MERGING"})
    if busy:
        raise LvmError(f"an operation on it was interrupted ({', '.join(busy)}): lvm2 finishes it through device-mapper")
    segments = segments_of(lv)
    if len(segments) != 1 or lv.get("segment_count") != 1:
        raise LvmError(
            f"{len(segments)} segments; only single-segment linear volumes are mapped (no device-mapper is used)"
            if len(segments) != 1
            else "segment_count is not 1"
        )
    seg = next(iter(segments.values()))
    kind = seg.get("type")
    if kind != "striped":
        raise LvmError(f"a {kind} volume; only single-segment linear volumes are mapped (no device-mapper is used)")
    if seg.get("stripe_count") != 1:
        raise LvmError(f"striped over {seg.get('stripe_count')} physical volumes; only linear volumes are mapped")
    if lv_name in origins:
        raise LvmError(f"the origin of snapshot {bounded_name(origins[lv_name])}: its contents depend on device-mapper's snapshot target")
    if "WRITE" not in status:
        raise LvmError("a read-only logical volume")
    if int_of(seg, "start_extent", where) != 0:
        raise LvmError("its one segment does not start at extent 0")
    count = int_of(seg, "extent_count", where)
    stripes = seg.get("stripes")
    if not (isinstance(stripes, list) and len(stripes) == 2 and isinstance(stripes[0], str) and isinstance(stripes[1], int)):
        raise LvmError("its segment's stripes are not one physical volume and an extent")
    pv_name, pv_extent = stripes
    if pv_name not in present:
        raise LvmError(f"on physical volume {pv_name}, which is not on this disk (the volume group spans disks)")
    pv, pv_section = present[pv_name]
    pe_start = int_of(pv_section, "pe_start", where)
    pe_count = int_of(pv_section, "pe_count", where)
    if pv_extent < 0 or count == 0 or pv_extent + count > pe_count:
        raise LvmError(f"its extents {pv_extent}..{pv_extent + count} lie outside {pv_name}'s {pe_count}", hostile=True)
    offset = pe_start * SECTOR + pv_extent * extent_size * SECTOR
    length = count * extent_size * SECTOR
    if offset + length > pv.size:
        raise LvmError(
            f"{where}: its bytes {offset}..{offset + length} lie past the end of partition {pv.partition} ({pv.size} bytes)", hostile=True
        )
    # Never over the PV's label or a metadata area (pvcreate --pvmetadatacopies 2 puts one at its end).
    for area_offset, area_size in [(0, LABEL_SCAN_SECTORS * SECTOR), *pv.label.metadata_areas]:
        if offset < area_offset + area_size and area_offset < offset + length:
            raise LvmError(
                f"{where}: its bytes {offset}..{offset + length} overlap {pv_name}'s label or metadata area at {area_offset}", hostile=True
            )
    return {
        "sizeBytes": length,
        "partition": pv.partition,
        "startBytes": pv.start + offset,
    }


def segments_of(lv: dict[str, Value]) -> dict[str, dict[str, Value]]:
    return {k: v for k, v in lv.items() if re.fullmatch(r"segment[0-9]+", k) and isinstance(v, dict)}


def size_of(lv: dict[str, Value], extent_size: int) -> int:
    """A logical volume's size in bytes: its segments' extents."""
    counts = [s.get("extent_count") for s in segments_of(lv).values()]
    return sum(c for c in counts if isinstance(c, int) and c > 0) * extent_size * SECTOR


def mapper_name(name: str) -> tuple[str, str] | None:
    """(VG, LV) of a device-mapper name (/dev/mapper/VG-LV: dashes inside either name doubled), or None."""
    out, part = [], []
    i = 0
    while i < len(name):
        if name[i] == "-":
            if name[i + 1 : i + 2] == "-":
                part.append("-")
                i += 2
                continue
            out.append("".join(part))
            part = []
            i += 1
            continue
        part.append(name[i])
        i += 1
    out.append("".join(part))
    if len(out) != 2 or not all(NAME.fullmatch(x) for x in out):
        return None
    return out[0], out[1]


# ---------------------------------------------------------------------------------------------
# This disk's volume groups


def partition_reader(path: str, start: int, size: int) -> Callable[[int, int], bytes]:
    """read(offset, length) within one partition of the disk; a read past its end is refused (hostile)."""

    def read(offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > size:
            raise LvmError(f"a read at {offset} (+{length}) lies past the end of the partition ({size} bytes)", hostile=True)
        with open(path, "rb", buffering=0) as f:
            f.seek(start + offset)
            return f.read(length)

    return read


def disk_volume_groups(path: str, parts: list[dict]) -> tuple[list[dict[str, Any]], dict[Any, LvmError]]:
    """The volume groups whose PVs are these partitions of the disk at `path` (each {"number",
    "startBytes", "sizeBytes"}): as volume_group() gives them, and for each partition whose PV
    cannot be used, the reason (LvmError). A volume group is read from its PVs on this disk only:
    two PVs of one volume group on this disk are one group; a PV uuid two partitions share is
    refused (a cloned PV: which one the metadata means cannot be told). The work is bounded per
    disk: at most MAX_PVS_PER_DISK PVs and MAX_METADATA_PER_DISK bytes of distinct metadata text,
    each distinct text parsed once; past either, and for two volume groups of one name (lvm2
    refuses those too), every PV partition gets a hostile LvmError."""
    problems: dict[Any, LvmError] = {}
    if len(parts) > MAX_PVS_PER_DISK:
        too_many = LvmError(f"{len(parts)} LVM physical volumes on one disk (this engine reads up to {MAX_PVS_PER_DISK})", hostile=True)
        return [], {p["number"]: too_many for p in parts}
    cache = MetadataCache()
    pvs: list[PhysicalVolume] = []
    for p in parts:
        try:
            pvs.append(
                read_pv(partition_reader(path, p["startBytes"], p["sizeBytes"]), p["number"], p["startBytes"], p["sizeBytes"], cache)
            )
        except LvmError as e:
            problems[p["number"]] = e
            if e.hostile:
                return [], problems
    seen: dict[str, list[PhysicalVolume]] = {}
    for pv in pvs:
        seen.setdefault(pv.label.uuid, []).append(pv)
    for same in seen.values():
        if len(same) > 1:
            for pv in same:
                problems[pv.partition] = LvmError(
                    f"its PV uuid {pv.label.uuid} is also on partition(s) {', '.join(str(o.partition) for o in same if o is not pv)}"
                )
    pvs = [pv for pv in pvs if pv.partition not in problems]
    groups: dict[str, list[PhysicalVolume]] = {}
    for pv in pvs:
        if pv.vg_id is not None:
            groups.setdefault(pv.vg_id, []).append(pv)
    out = []
    for members in groups.values():
        # PVs without metadata areas of their own that this group's metadata lists.
        newest = max(members, key=lambda p: p.seqno)
        assert newest.tree is not None  # noqa: S101 -- grouped by their metadata's VG id
        try:
            _, vg = the_vg(newest.tree)
            listed = vg.get("physical_volumes", {})
            uuids = {plain_uuid(s.get("id")) for s in listed.values() if isinstance(s, dict)} if isinstance(listed, dict) else set()
            members += [pv for pv in pvs if pv.tree is None and pv.label.uuid in uuids and pv not in members]
            out.append(volume_group(members))
        except LvmError as e:
            for pv in members:
                problems[pv.partition] = e
    by_name: dict[str, list[dict[str, Any]]] = {}
    for g in out:
        by_name.setdefault(g["name"], []).append(g)
    for name, named in by_name.items():
        if len(named) > 1:
            # Two volume groups of one name on one disk: /dev/VG/LV would name two volumes; lvm2 refuses them too.
            where = [e["partition"] for g in named for e in g["physicalVolumes"] if "partition" in e]
            clash = LvmError(f"two volume groups named {name} (on partitions {', '.join(map(str, where))})", hostile=True)
            return [], {**problems, **dict.fromkeys(where, clash)}
    grouped = {e["partition"] for g in out for e in g["physicalVolumes"] if "partition" in e}
    for pv in pvs:
        if pv.partition not in grouped and pv.partition not in problems:
            problems[pv.partition] = LvmError("a physical volume of no volume group this disk holds metadata for")
    return out, problems
