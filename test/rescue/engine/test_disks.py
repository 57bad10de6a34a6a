"""Partition tables read from crafted bytes: GPT and MBR (with logical partitions), and the bounds a
hostile header cannot pass."""

import struct
import uuid

import pytest
from engine.common import EXIT_UNSAFE, Failure
from engine.disks import filesystem_of, held_by, partition_table, skip_reason

SECTOR = 512
LINUX = "0fc63daf-8483-4772-8e79-3d69d8477de4"
ESP = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"


def disk(tmp_path, data, size=8 << 20):
    path = tmp_path / "disk.img"
    with open(path, "wb") as f:
        f.truncate(size)
        for offset, chunk in data:
            f.seek(offset)
            f.write(chunk)
    return {"path": str(path), "sizeBytes": size, "logicalSectorSize": SECTOR}


def gpt(entries, count=128, entry_size=128, entries_lba=2):
    header = bytearray(SECTOR)
    header[:8] = b"EFI PART"
    struct.pack_into("<QII", header, 72, entries_lba, count, entry_size)
    table = bytearray(count * entry_size if entry_size == 128 and count <= 4096 else 0)
    for i, (type_id, first, last, name) in enumerate(entries):
        e = bytearray(128)
        e[:16] = uuid.UUID(type_id).bytes_le
        e[16:32] = uuid.uuid4().bytes_le
        struct.pack_into("<QQ", e, 32, first, last)
        e[56 : 56 + 2 * len(name)] = name.encode("utf-16-le")
        table[i * 128 : (i + 1) * 128] = e
    return [(SECTOR, bytes(header)), (entries_lba * SECTOR, bytes(table))]


def test_gpt_partitions_with_their_types_and_names(tmp_path):
    d = disk(tmp_path, [(510, b"\x55\xaa"), *gpt([(ESP, 2048, 4095, "EFI"), (LINUX, 4096, 12287, "root")])])
    table, parts = partition_table(d)
    assert table == "gpt"
    assert [(p["number"], p["type"], p["startBytes"], p["sizeBytes"], p["name"]) for p in parts] == [
        (1, "efi", 2048 * SECTOR, 2048 * SECTOR, "EFI"),
        (2, "linux", 4096 * SECTOR, 8192 * SECTOR, "root"),
    ]
    assert skip_reason(parts[0]) == "EFI system partition"
    assert skip_reason(parts[1]) is None


@pytest.mark.parametrize(("count", "entry_size"), [(100000, 128), (128, 256), (0, 128)])
def test_a_gpt_header_claiming_too_much_is_refused_before_reading_it(tmp_path, count, entry_size):
    d = disk(tmp_path, gpt([], count=count, entry_size=entry_size))
    with pytest.raises(Failure) as caught:
        partition_table(d)
    assert caught.value.code == EXIT_UNSAFE


def test_a_gpt_table_outside_the_disk_is_refused(tmp_path):
    d = disk(tmp_path, gpt([], entries_lba=1 << 40)[:1])
    with pytest.raises(Failure) as caught:
        partition_table(d)
    assert "outside the disk" in caught.value.message


def mbr_entry(ptype, start, count):
    e = bytearray(16)
    e[4] = ptype
    struct.pack_into("<II", e, 8, start, count)
    return bytes(e)


def test_mbr_with_an_extended_partition_and_its_logical_partitions(tmp_path):
    mbr = bytearray(SECTOR)
    mbr[446:462] = mbr_entry(0x83, 2048, 2048)
    mbr[462:478] = mbr_entry(0x05, 4096, 8192)
    mbr[510:512] = b"\x55\xaa"
    ebr1 = bytearray(SECTOR)
    ebr1[446:462] = mbr_entry(0x83, 64, 1000)
    ebr1[462:478] = mbr_entry(0x05, 2048, 4096)
    ebr1[510:512] = b"\x55\xaa"
    ebr2 = bytearray(SECTOR)
    ebr2[446:462] = mbr_entry(0x83, 64, 1000)
    ebr2[510:512] = b"\x55\xaa"
    d = disk(tmp_path, [(0, bytes(mbr)), (4096 * SECTOR, bytes(ebr1)), ((4096 + 2048) * SECTOR, bytes(ebr2))])
    table, parts = partition_table(d)
    assert table == "mbr"
    assert [(p["number"], p["type"], p["startBytes"] // SECTOR) for p in parts] == [
        (1, "linux", 2048),
        (2, "extended", 4096),
        (5, "linux", 4096 + 64),
        (6, "linux", 4096 + 2048 + 64),
    ]


def test_filesystem_signatures(tmp_path):
    ext = bytearray(4096)
    ext[1080:1082] = b"\x53\xef"
    ntfs = bytearray(4096)
    ntfs[3:11] = b"NTFS    "
    d = disk(tmp_path, [(0, bytes(ext)), (1 << 20, bytes(ntfs))])
    assert filesystem_of(d["path"], 0) == "ext"
    assert filesystem_of(d["path"], 1 << 20) == "ntfs"
    assert filesystem_of(d["path"], 2 << 20) == "none"


def test_holders_named(tmp_path):
    """A device-mapper device built on the disk or a partition of it (the rescue VM's lvm2 activated
    the guest's VG) is named with its dm name. This kernel has no device-mapper: a sysfs tree laid
    out as the kernel's is read instead."""
    block = tmp_path / "class" / "block"
    (block / "sdb" / "holders").mkdir(parents=True)
    (block / "sdb" / "sdb3" / "holders" / "dm-0").mkdir(parents=True)
    (block / "sdb" / "sdb1" / "holders").mkdir(parents=True)
    (block / "dm-0" / "dm").mkdir(parents=True)
    (block / "dm-0" / "dm" / "name").write_text("rhel-root\n")
    (block / "loop4" / "holders" / "md0").mkdir(parents=True)
    assert held_by(["sdb"], str(tmp_path)) == ["sdb3 is held by dm-0 (rhel-root)"]
    assert held_by(["loop4", "missing"], str(tmp_path)) == ["loop4 is held by md0"]
    (block / "sdb" / "sdb3" / "holders" / "dm-0").rmdir()
    assert held_by(["sdb"], str(tmp_path)) == []


def test_whole_disk_lvm_physical_volume(tmp_path):
    label = b"LABELONE" + bytes(16) + b"LVM2 001"
    d = disk(tmp_path, [(512, label)])
    assert partition_table(d) == (
        "none",
        [{"number": 0, "startBytes": 0, "sizeBytes": d["sizeBytes"], "type": "whole-disk", "typeId": "", "name": ""}],
    )
    assert partition_table(disk(tmp_path, [(1024, label)])) == ("none", [])


@pytest.mark.parametrize(
    ("entries", "pair"),
    [
        # /boot at [1 MiB, 301 MiB) and a PV over the same bytes, as a crafted table would put them.
        ([(LINUX, 2048, 616447, "boot"), (LINUX, 2048, 681983, "pv")], "1 and 2"),
        # A later pair, listed out of order.
        ([(LINUX, 2048, 4095, "a"), (LINUX, 10000, 12000, "c"), (LINUX, 8192, 16383, "b")], "3 and 2"),
        # One PV listed many times over (each would be read and parsed as a PV of its own).
        ([(LINUX, 2048, 8191, f"pv{i}") for i in range(64)], "1 and 2"),
    ],
)
def test_overlapping_gpt_entries_are_a_crafted_table(tmp_path, entries, pair):
    d = disk(tmp_path, gpt(entries), size=400 << 20)
    with pytest.raises(Failure, match=f"partitions {pair} overlap") as caught:
        partition_table(d)
    assert caught.value.code == EXIT_UNSAFE


def test_overlapping_mbr_entries_are_a_crafted_table(tmp_path):
    mbr = bytearray(SECTOR)
    mbr[446:462] = mbr_entry(0x83, 2048, 4096)
    mbr[462:478] = mbr_entry(0x8E, 4000, 4096)
    mbr[510:512] = b"\x55\xaa"
    with pytest.raises(Failure, match="partitions 1 and 2 overlap") as caught:
        partition_table(disk(tmp_path, [(0, bytes(mbr))]))
    assert caught.value.code == EXIT_UNSAFE


def test_adjacent_gpt_entries_are_not_an_overlap(tmp_path):
    _, parts = partition_table(disk(tmp_path, gpt([(LINUX, 2048, 4095, "a"), (LINUX, 4096, 8191, "b")])))
    assert [p["number"] for p in parts] == [1, 2]
