"""GRUB's environment block on the EFI partition (EL 8 on UEFI), without a disk: the one link shape
followed, a FAT boot sector read with bounds a crafted one cannot pass, mshowfat's cluster chain and
the byte runs it names, and boot-previous-kernel planning an in-place edit there whose old bytes are
kept on the root's quarantine (a stand-in for the partition; the real one is tested on loop devices
in test/rescue/linux-boot.test.ts)."""

import os
import struct

import pytest
from engine.common import EXIT_UNSAFE, Failure
from engine.linux.esp import cluster_chain, esp_parts, extents, fat_layout
from engine.linux.guest import same_plan
from engine.linux.remedies import Guest, plan_rules
from engine.rules import validate_rules


@pytest.mark.parametrize(
    "text, parts",
    [
        ("../efi/EFI/redhat/grubenv", ["EFI", "redhat", "grubenv"]),
        ("/boot/efi/EFI/almalinux/grubenv", ["EFI", "almalinux", "grubenv"]),
        ("../efi/EFI/rocky/grubenv", ["EFI", "rocky", "grubenv"]),
    ],
)
def test_the_one_link_shape_followed(text, parts):
    assert esp_parts(text) == parts


@pytest.mark.parametrize(
    "text",
    [
        "../efi/EFI/redhat/../../../etc/grubenv",
        "../efi/EFI/../../etc/grubenv",
        "../../efi/EFI/redhat/grubenv",
        "../efi/EFI/*/grubenv",
        "../efi/EFI/redhat/grubenv2",
        "../efi/EFI/redhat/sub/grubenv",
        "../efi/EFI/-x/grubenv",
        "../efi/EFI/.hidden/grubenv",
        "../efi/EFI/redhat/grubenv\n",
        "/etc/grub2-efi.cfg",
        "efi/EFI/redhat/grubenv",
        "",
    ],
)
def test_any_other_link_is_not_followed(text):
    assert esp_parts(text) is None


def boot_sector(bps=512, spc=1, reserved=32, fats=2, root_entries=0, total=81920, fat_sectors=630, signature=b"\x55\xaa"):
    """A FAT32 boot sector as mkfs.vfat -F 32 writes one (the fields this engine reads)."""
    b = bytearray(512)
    struct.pack_into("<HBHBHH", b, 11, bps, spc, reserved, fats, root_entries, 0)
    struct.pack_into("<II", b, 32, total, fat_sectors)
    b[510:512] = signature
    return bytes(b)


def test_fat_layout_from_a_boot_sector():
    layout = fat_layout(boot_sector(), 81920 * 512)
    assert layout == {"dataStart": (32 + 2 * 630) * 512, "clusterBytes": 512, "clusters": (81920 - 32 - 1260)}
    # FAT16 with a fixed root folder: the data area starts after it.
    b = bytearray(boot_sector(spc=4, reserved=4, fats=2, root_entries=512, total=0, fat_sectors=0))
    struct.pack_into("<H", b, 19, 65000)
    struct.pack_into("<H", b, 22, 64)
    assert fat_layout(bytes(b), 65000 * 512) == {"dataStart": (4 + 128 + 32) * 512, "clusterBytes": 2048, "clusters": (65000 - 164) // 4}


@pytest.mark.parametrize(
    "sector, volume",
    [
        (boot_sector(signature=b"\0\0"), 81920 * 512),
        (boot_sector(bps=300), 81920 * 512),
        (boot_sector(spc=3), 81920 * 512),
        (boot_sector(reserved=0), 81920 * 512),
        (boot_sector(fats=0), 81920 * 512),
        (boot_sector(fat_sectors=0), 81920 * 512),
        (boot_sector(fat_sectors=50000), 81920 * 512),  # the FATs end past the volume
        (boot_sector(), 1 << 20),  # claims more sectors than the partition holds
        (b"short", 81920 * 512),
    ],
)
def test_a_boot_sector_this_engine_does_not_read(sector, volume):
    assert fat_layout(sector, volume) is None


def test_cluster_chain_as_mshowfat_prints_it():
    assert cluster_chain("::/EFI/redhat/grubenv <5-6>\n") == [5, 6]
    assert cluster_chain("::/EFI/redhat/grubenv <5-6 9 11-12>") == [5, 6, 9, 11, 12]
    assert cluster_chain("::/EFI/redhat/grubenv <>") == []
    for text in ("", "no chain", "::/x <6-5>", "::/x <a-b>", "::/x <5--6>", "::/x <1-999999>", "::/x <5> trailing"):
        assert cluster_chain(text) is None, text


def test_extents_are_the_file_clusters_exactly():
    layout = {"dataStart": 1000 * 512, "clusterBytes": 512, "clusters": 100}
    assert extents(layout, [5, 6], 1024) == [(1003 * 512, 512), (1004 * 512, 512)]
    assert extents({**layout, "clusterBytes": 4096}, [7], 1024) == [(1000 * 512 + 5 * 4096, 1024)]
    assert extents(layout, [5], 1024) is None, "a chain shorter than the file"
    assert extents(layout, [5, 6, 7], 1024) is None, "a chain longer than the file"
    assert extents(layout, [1, 2], 1024) is None, "cluster 1 is not in the data area"
    assert extents(layout, [101, 102], 1024) is None, "past the last cluster"
    assert extents(layout, [], 0) is None


# ---------------------------------------------------------------------------------------------
# boot-previous-kernel with grubenv on the EFI partition (a stand-in for it)

K_NEW, K_OLD = "4.18.0-553.16.1.el8_10.x86_64", "4.18.0-553.8.1.el8_10.x86_64"
BLOCK = (b"# GRUB Environment Block\nsaved_entry=m-" + K_NEW.encode() + b"\n").ljust(1024, b"#")


class Volume:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)


class StandInEsp:
    """What guest.repair_linux hands the plan: the partition's number and its grubenv's bytes."""

    def __init__(self, block):
        self.part = {"number": 1}
        self.block = block
        self.asked = []

    def read(self, parts):
        self.asked.append(parts)
        return self.block, ""


def el8(tmp_path, link):
    for k in (K_NEW, K_OLD):
        entry = tmp_path / "boot" / "loader" / "entries" / f"m-{k}.conf"
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text(f"title RHEL ({k})\nversion {k}\nlinux /vmlinuz-{k}\noptions $kernelopts\n")
    (tmp_path / "boot" / "grub2").mkdir()
    os.symlink(link, tmp_path / "boot" / "grub2" / "grubenv")
    (tmp_path / "etc" / "default").mkdir(parents=True)
    (tmp_path / "etc" / "default" / "grub").write_text("GRUB_DEFAULT=saved\n")


def plan(g):
    kernels = [{"version": k, "image": True, "initramfs": True} for k in (K_NEW, K_OLD)]
    rules = validate_rules([{"id": "prev", "action": "boot-previous-kernel"}], "t")
    return plan_rules(g, rules, {"stamp": "S", "on_disk": lambda _: True, "kernels": kernels, "first": True})[0]


def test_previous_kernel_edits_the_grubenv_on_the_efi_partition_in_place_kept_on_the_root(tmp_path):
    el8(tmp_path, "../efi/EFI/redhat/grubenv")
    esp = StandInEsp(BLOCK)
    record = plan(Guest(Volume(tmp_path), None, esp))
    assert record["status"] == "change"
    assert esp.asked == [["EFI", "redhat", "grubenv"]]
    assert record["grubenvLink"] == "../efi/EFI/redhat/grubenv"
    assert record["grubenvPartition"] == 1
    assert record["to"] == {"version": K_OLD, "entry": f"m-{K_OLD}"}
    [edit] = record["_edits"]
    assert (edit["on"], edit["how"], edit["path"]) == ("efi", "in-place", "/boot/efi/EFI/redhat/grubenv")
    assert edit["parts"] == ["EFI", "redhat", "grubenv"]
    assert edit["old"] == BLOCK and len(edit["data"]) == 1024
    assert b"saved_entry=m-" + K_OLD.encode() + b"\n" in edit["data"]
    kept = "/bootloop-rescue/quarantine/S/boot/efi/EFI/redhat/grubenv"
    assert record["files"] == [{"path": "/boot/efi/EFI/redhat/grubenv", "how": "in-place", "backup": kept}]
    assert record["undo"] == f"cp {kept} /boot/efi/EFI/redhat/grubenv"
    # Nothing on the guest's own volumes was touched by the plan.
    assert os.readlink(tmp_path / "boot" / "grub2" / "grubenv") == "../efi/EFI/redhat/grubenv"


def test_a_link_of_another_shape_or_no_efi_partition_on_this_disk_is_refused(tmp_path):
    el8(tmp_path / "a", "../../../etc/grubenv")
    esp = StandInEsp(BLOCK)
    record = plan(Guest(Volume(tmp_path / "a"), None, esp))
    assert record["status"] == "refused"
    assert record["reason"].startswith("/boot/grub2/grubenv is a symbolic link, not to ../efi/EFI/<vendor>/grubenv")
    assert esp.asked == [], "nothing on the EFI partition is read"

    el8(tmp_path / "b", "../efi/EFI/redhat/grubenv")
    record = plan(Guest(Volume(tmp_path / "b"), None, None))
    assert record["status"] == "refused"
    assert "no FAT partition of this disk is the guest's /boot/efi" in record["reason"]

    el8(tmp_path / "c", "../efi/EFI/redhat/grubenv")
    record = plan(Guest(Volume(tmp_path / "c"), None, StandInEsp(b"not an environment block".ljust(1024, b"#"))))
    assert record["status"] == "refused"
    assert record["reason"] == "/boot/efi/EFI/redhat/grubenv is not a GRUB environment block this engine can edit"


def test_a_plan_that_differs_on_the_read_write_mount_ends_the_run_unsafe_with_nothing_changed():
    first = [{"rule": "prev", "status": "change"}, {"rule": "mask", "status": "already"}]
    same_plan(first, [dict(r) for r in first])
    for status in ("already", "refused"):
        with pytest.raises(Failure) as raised:
            same_plan(first, [{"rule": "prev", "status": status}, first[1]])
        assert raised.value.code == EXIT_UNSAFE
        assert f"planned as change on the read-only mount but {status} on the read-write one" in raised.value.message
    # A rule with nothing to do before that now has something to change is a different plan too.
    with pytest.raises(Failure):
        same_plan(first, [first[0], {"rule": "mask", "status": "change"}])
