"""LVM2 volume groups for the Linux guests' test images (make_linux_image.py), built by lvm2's own
tools on a loop device: pvcreate and vgcreate, then the logical volumes written into the volume
group's text metadata (vgcfgbackup -f, edited, vgcfgrestore -f). This kernel has no device-mapper,
so lvcreate cannot run and nothing is ever activated: vgcfgrestore writes the metadata without
device-mapper. Each linear volume's file system is then made on a loop device at the volume's
offset in the image, computed from lvm2's own report of the volume group (`pvs` pe_start, `vgs`
extent size, `lvs --segments` physical extent ranges), not from the metadata text the engine reads:
a misreading of the on-disk format shared by the engine and this builder would then show.

lvm2 runs with a private LVM_SYSTEM_DIR (a temporary lvm.conf: only the loop devices of this build
are scanned; no backup, archive, hints, devices file or udev), so the host's /etc/lvm and its lvm2
learn nothing of these volume groups.

The spec of a partition {"kind": "lvm", "volumeGroup": {...}}:
  {"name": "rhel", "uuid": "<VG id, 6-4-4-4-4-4-6>", "pvUuid": "<32 characters or dashed>",
   "otherPv": true (a second PV on a file outside the image: the VG spans disks),
   "logicalVolumes": [{"name": "root", "sizeMiB": 40, "kind": "xfs" | "ext4" | "swap" | "raw",
                       "uuid": "...", "label": "...", "files": [...], "segments": 2, "onOtherPv": true,
                       "section": "<the LV's section body, written as given>"}],
   "force": true (vgcfgrestore --force: thin pools),
   "tamper": {"corruptChecksum": true, "edit": [["regex", "replacement"], ...], "textSize": N}}
tamper rewrites the metadata text in place after lvm2 wrote it, with its checksum fixed (unless
corruptChecksum): crafted metadata lvm2 would never write.
"""

import os
import re
import secrets
import struct
import subprocess
import tempfile
import zlib

MiB = 1024 * 1024
EXTENT_SECTORS = 2048  # 1 MiB extents
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def lvm_uuid():
    raw = "".join(secrets.choice(ALPHABET) for _ in range(32))
    cuts = [6, 4, 4, 4, 4, 4, 6]
    out, at = [], 0
    for c in cuts:
        out.append(raw[at : at + c])
        at += c
    return "-".join(out)


def crc(data, initial=0xF597A6CF):
    return zlib.crc32(data, initial ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def lvm(conf_dir, *cmd):
    env = {**os.environ, "LVM_SYSTEM_DIR": conf_dir, "LVM_SUPPRESS_FD_WARNINGS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def private_conf(devices):
    conf_dir = tempfile.mkdtemp(prefix="lvm-conf-")
    accept = ", ".join(f'"a|^{re.escape(d)}$|"' for d in devices)
    with open(os.path.join(conf_dir, "lvm.conf"), "w") as f:
        f.write(
            f'devices {{\n filter = [ {accept}, "r|.*|" ]\n global_filter = [ {accept}, "r|.*|" ]\n'
            ' obtain_device_list_from_udev = 0\n hints = "none"\n use_devicesfile = 0\n}\n'
            f'global {{\n locking_dir = "{conf_dir}/lock"\n}}\n'
            f'backup {{\n backup = 0\n archive = 0\n backup_dir = "{conf_dir}/backup"\n archive_dir = "{conf_dir}/archive"\n}}\n'
            "activation {\n udev_sync = 0\n udev_rules = 0\n monitoring = 0\n}\n"
        )
    return conf_dir


def lv_section(lv, segments, lv_id):
    if "section" in lv:
        return f"{lv['name']} {{\n{lv['section']}\n}}\n"
    body = [f'id = "{lv_id}"', 'status = ["READ", "WRITE", "VISIBLE"]', "flags = []", f"segment_count = {len(segments)}"]
    start = 0
    for i, (pv, pe, count) in enumerate(segments, 1):
        body.append(
            f"segment{i} {{\nstart_extent = {start}\nextent_count = {count}\n"
            f'type = "striped"\nstripe_count = 1\nstripes = [\n"{pv}", {pe}\n]\n}}'
        )
        start += count
    return f"{lv['name']} {{\n" + "\n".join(body) + "\n}\n"


def build_vg(loop, spec, image, part_start, make_fs):
    """Makes the volume group `spec` on the partition's loop device; returns what the image's
    description says of it: the VG's and PV's ids and each LV's offset, size and ids in the image."""
    other_file = other_loop = None
    devices = [loop]
    if spec.get("otherPv"):
        fd, other_file = tempfile.mkstemp(prefix="lvm-other-pv-")
        os.ftruncate(fd, 16 * MiB)
        os.close(fd)
        other_loop = subprocess.run(["losetup", "--find", "--show", other_file], capture_output=True, text=True, check=True).stdout.strip()
        devices.append(other_loop)
    conf_dir = private_conf(devices)
    try:
        pv_uuid = spec.get("pvUuid") or lvm_uuid()
        if "-" not in pv_uuid:
            pv_uuid = "-".join([pv_uuid[0:6], *(pv_uuid[i : i + 4] for i in range(6, 26, 4)), pv_uuid[26:]])
        lvm(conf_dir, "pvcreate", "-ff", "-y", "--norestorefile", "-u", pv_uuid, loop)
        if other_loop:
            lvm(conf_dir, "pvcreate", "-ff", "-y", other_loop)
        # Not autoactivated where a host has device-mapper and lvm2's udev rules (a CI machine): its lvm2 reads
        # this flag off the metadata when a loop device over the PV appears.
        lvm(conf_dir, "vgcreate", "--setautoactivation", "n", "-s", "1m", spec["name"], *devices)
        backup = os.path.join(conf_dir, "vg.txt")
        lvm(conf_dir, "vgcfgbackup", "-f", backup, spec["name"])
        with open(backup) as f:
            text = f.read()
        pe_start = int(re.search(r"pe_start = ([0-9]+)", text).group(1))
        vg_id = spec.get("uuid") or re.search(r'\bid = "([^"]+)"', text).group(1)
        text = re.sub(r'\bid = "[^"]+"', f'id = "{vg_id}"', text, count=1)
        cursor = {"pv0": 0, "pv1": 0}
        sections, out_lvs = [], []
        for lv in spec.get("logicalVolumes", []):
            pv = "pv1" if lv.get("onOtherPv") else "pv0"
            size = lv["sizeMiB"]
            if lv.get("segments", 1) == 2:
                half = size // 2
                segments = [(pv, cursor[pv], half), (pv, cursor[pv] + half + 1, size - half)]
                cursor[pv] += size + 1
            else:
                segments = [(pv, cursor[pv], size)]
                cursor[pv] += size
            given = re.search(r'\bid = "([^"]+)"', lv.get("section", ""))
            lv_id = given.group(1) if given else lv.get("lvUuid") or lvm_uuid()
            sections.append(lv_section(lv, segments, lv_id))
            first_pe = segments[0][1]
            out_lvs.append(
                {
                    "name": lv["name"],
                    "kind": lv.get("kind", "raw"),
                    "lvUuid": lv_id,
                    "onThisDisk": pv == "pv0",
                    # The builder's intent; place_from_lvm2 puts lvm2's own figures here.
                    "startBytes": part_start + pe_start * 512 + first_pe * EXTENT_SECTORS * 512,
                    "sizeBytes": segments[0][2] * MiB,
                }
            )
        if sections:
            # The LVs go inside the VG's section: before its closing brace, the file's last.
            at = text.rindex("}")
            text = text[:at] + "logical_volumes {\n" + "".join(sections) + "}\n" + text[at:]
        with open(backup, "w") as f:
            f.write(text)
        lvm(conf_dir, "vgcfgrestore", *(["--force"] if spec.get("force") else []), "-f", backup, spec["name"])
        place_from_lvm2(conf_dir, loop, spec["name"], part_start, spec.get("logicalVolumes", []), out_lvs)
        for lv, o in zip(spec.get("logicalVolumes", []), out_lvs):
            if not o["onThisDisk"] or lv.get("kind", "raw") == "raw":
                continue
            dev = subprocess.run(
                ["losetup", "--find", "--show", "--offset", str(o["startBytes"]), "--sizelimit", str(o["sizeBytes"]), image],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            try:
                make_fs(dev, lv, o)
            finally:
                subprocess.run(["losetup", "-d", dev], check=True)
        if spec.get("tamper"):
            tamper(loop, spec["tamper"])
        return {"vgUuid": vg_id, "pvUuid": pv_uuid, "logicalVolumes": out_lvs}
    finally:
        if other_loop:
            subprocess.run(["losetup", "-d", other_loop], check=True)
            os.unlink(other_file)
        subprocess.run(["rm", "-rf", conf_dir], check=True)


def place_from_lvm2(conf_dir, loop, vg_name, part_start, lvs, out_lvs):
    """Sets each volume's startBytes and sizeBytes (its first segment, on this disk's PV) from what
    lvm2 reports: pe_start and the extent size in bytes, and the segment's extent range on `loop`.
    A volume that gets a file system and that lvm2 does not place on `loop` fails the build."""
    pe_start = int(lvm(conf_dir, "pvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", loop).split()[0])
    extent = int(lvm(conf_dir, "vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_extent_size", vg_name).split()[0])
    report = lvm(conf_dir, "lvs", "--noheadings", "--segments", "-o", "lv_name,seg_start_pe,seg_pe_ranges", vg_name)
    first: dict[str, tuple[int, int]] = {}
    for line in report.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] == "0":
            ranges = re.fullmatch(re.escape(loop) + r":([0-9]+)-([0-9]+)", fields[2])
            if ranges:
                first[fields[0]] = (int(ranges.group(1)), int(ranges.group(2)))
    for lv, o in zip(lvs, out_lvs):
        if lv["name"] in first:
            lo, hi = first[lv["name"]]
            o["startBytes"] = part_start + pe_start + lo * extent
            o["sizeBytes"] = (hi - lo + 1) * extent
        elif o["onThisDisk"] and lv.get("kind", "raw") != "raw":
            raise RuntimeError(f"lvs does not place {vg_name}/{lv['name']} on {loop}: {report.strip()}")


def tamper(loop, how):
    """Rewrites the PV's metadata text in place (its one metadata area, as pvcreate makes it)."""
    with open(loop, "r+b") as dev:
        dev.seek(512)
        label = dev.read(512)
        (offset,) = struct.unpack_from("<I", label, 20)
        mda_offset, mda_size = struct.unpack_from("<QQ", label, offset + 40 + 32)  # after one data area and its terminator
        dev.seek(mda_offset)
        header = bytearray(dev.read(512))
        text_offset, text_size, _old_crc, flags = struct.unpack_from("<QQII", header, 40)
        dev.seek(mda_offset + text_offset)
        text = dev.read(text_size)
        for pattern, replacement in how.get("edit", []):
            text = re.sub(pattern.encode(), replacement.encode(), text, count=1)
        new_crc = crc(text)
        if how.get("corruptChecksum"):
            new_crc ^= 1
        # The new text goes right after the header (where lvm2 starts its circular buffer).
        assert 512 + len(text) <= mda_size, "the tampered text must fit the metadata area"  # noqa: S101
        dev.seek(mda_offset + 512)
        dev.write(text)
        struct.pack_into("<QQII", header, 40, 512, how.get("textSize", len(text)), new_crc, flags)
        struct.pack_into("<I", header, 0, crc(bytes(header[4:512])))
        dev.seek(mda_offset)
        dev.write(header)
