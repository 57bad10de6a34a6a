"""A Linux guest on the disk: its root file system found from the guest's own os-release and fstab,
its /boot and EFI partitions resolved from the fstab's ids against THIS disk's partitions only (the
rescue VM often runs the same image, so the rescue VM's own ids would collide), what it runs
(os-release, kernels, the default boot entry) read on read-only mounts, and the Linux rules
(engine.linux.remedies, and the file rules of engine.files on the volume each file lives on)
applied on read-write mounts only when something changes.

Mounts: ext4 read-only with `noload` (the journal is not replayed on the read-only pass), XFS with
`nouuid` always (a clone of the rescue VM's own file system has its UUID) and `norecovery` read-only
(the log is replayed only by the read-write mount, never zeroed), btrfs read-only with
`rescue=nologreplay`, its default subvolume first and then the subvolume the fstab's root entry
names. Every file on the guest is opened relative to a folder opened before it, never through a link
(O_NOFOLLOW), and only if it is a regular file (never a FIFO or a device node)."""

from __future__ import annotations

import os
import time
from typing import Any

from ..common import EXIT_FAILURE, EXIT_NO_WINDOWS, EXIT_UNSAFE, Failure, elapsed_ms, first_line, log, mount_mode
from ..disks import BTRFS_SUPER, filesystem_of, read_at, refuse_held
from ..files import (
    QUARANTINE_ROOT,
    earlier_quarantines,
    examine_volume,
    file_rules,
    make_dirs_inside,
    new_quarantine_folder,
    public,
    quarantine,
)
from .config import filesystem_ids, fstab_entries, os_release, resolve, spec_key
from .esp import Esp
from .gfs import apply_edit, file_evidence, kind_of, open_dir, read_file, undo_of, write_new
from .lvm import disk_volume_groups, plain_uuid
from .rebuild import run_jobs, undone_by_tool
from .remedies import Guest, plan_rules

FSTYPES = {"ext": "ext4", "xfs": "xfs", "btrfs": "btrfs"}
READ_ONLY_OPTIONS = {"ext4": ["noload"], "xfs": ["norecovery", "nouuid"], "btrfs": ["rescue=nologreplay"]}
READ_WRITE_OPTIONS = {"ext4": [], "xfs": ["nouuid"], "btrfs": []}
MAX_SUBVOLUMES = 64  # top-level folders of a btrfs volume looked into for a root
MAX_KERNELS = 64
MAX_NAMED = 8  # volumes named in one message
UNDO_NOTE = "bootloop-rescue"


# ---------------------------------------------------------------------------------------------
# The guest's file systems


def partition_ids(disk: dict, parts: list[dict]) -> list[dict]:
    """For each Linux file system of this disk: its partition, kind, UUID, label, PARTUUID and
    PARTLABEL, read from the disk itself."""
    out = []
    for p in parts:
        kind = p.get("filesystem")
        if kind not in ("ext", "xfs", "btrfs", "fat"):
            continue
        entry: dict[str, Any] = {"partition": p["number"], "filesystem": kind}
        if kind == "btrfs":
            entry.update(filesystem_ids(kind, read_at(disk["path"], p["startBytes"] + BTRFS_SUPER, 4096)))
        elif kind == "fat":
            head = read_at(disk["path"], p["startBytes"], 512)
            serial_at = 67 if head[82:90] == b"FAT32   " else 39
            serial = int.from_bytes(head[serial_at : serial_at + 4], "little")
            entry["uuid"] = f"{serial >> 16:04x}-{serial & 0xFFFF:04x}"
        else:
            entry.update(ids_at(disk["path"], kind, p["startBytes"]))
        if p.get("partUuid"):
            entry["partuuid"] = p["partUuid"].lower()
        if p.get("name"):
            entry["partlabel"] = p["name"]
        out.append(entry)
    return out


def ids_at(path: str, kind: str, offset: int) -> dict[str, str]:
    """UUID and label of the ext4, XFS or btrfs file system starting at `offset` of the disk."""
    if kind == "btrfs":
        return filesystem_ids(kind, read_at(path, offset + BTRFS_SUPER, 4096))
    return filesystem_ids(kind, read_at(path, offset, 4096))


def map_lvm(disk: dict, entries: list[dict], evidence: dict) -> list[dict]:
    """The logical volumes of this disk's LVM physical volumes that can be mapped as byte ranges of
    the disk (engine.linux.lvm: read by this engine, never by lvm2, nothing activated), each as a
    partition-like dict: number (its PV's partition), lv ("VG/LV"), startBytes, sizeBytes,
    filesystem, lvUuid (device-mapper's: VG and LV uuids without dashes). Fills evidence["lvm"]
    (each volume group and its volumes, mapped or skipped with the reason) and the PVs' partition
    entries (volumeGroup, or skipped with why the PV cannot be read). Metadata crafted past what
    lvm2 writes (offsets outside the partition, oversized or too deeply nested text) ends the run
    unsafe: nothing was mounted or changed."""
    pv_entries = [e for e in entries if e["filesystem"] == "lvm" and "skipped" not in e]
    if not pv_entries:
        return []
    vgs, problems = disk_volume_groups(disk["path"], pv_entries)
    hostile = [f"partition {n}: {e.reason}" for n, e in problems.items() if e.hostile]
    if hostile:
        raise Failure(EXIT_UNSAFE, "unsafe", f"LVM: crafted metadata ({'; '.join(hostile)}); refusing the disk, nothing was changed")
    out = []
    for e in pv_entries:
        if e["number"] in problems:
            e["skipped"] = f"LVM physical volume that cannot be read: {problems[e['number']].reason}"
    for vg in vgs:
        for pv in vg["physicalVolumes"]:
            for e in pv_entries:
                if e["number"] == pv.get("partition"):
                    e["volumeGroup"] = vg["name"]
        for lv in vg["logicalVolumes"]:
            if "skipped" in lv:
                continue
            kind = filesystem_of(disk["path"], lv["startBytes"])
            lv["filesystem"] = FSTYPES.get(kind, kind)
            out.append(
                {
                    "number": lv["partition"],
                    "lv": f"{vg['name']}/{lv['name']}",
                    "startBytes": lv["startBytes"],
                    "sizeBytes": lv["sizeBytes"],
                    "filesystem": kind,
                    "type": "lvm-logical-volume",
                    "lvUuid": plain_uuid(vg["uuid"]) + plain_uuid(lv["uuid"]),
                }
            )
            lv["mapped"] = True
    evidence["lvm"] = vgs
    return out


def lvm_skipped(evidence: dict) -> list[tuple[str, str]]:
    """("VG/LV", why it is not mapped) of the visible logical volumes this disk's LVM holds but the engine cannot map."""
    return [
        (f"{vg['name']}/{lv['name']}", lv["skipped"])
        for vg in evidence.get("lvm", [])
        for lv in vg["logicalVolumes"]
        if "skipped" in lv and not lv["skipped"].startswith("hidden")
    ]


def volume_name(part: dict) -> str:
    return f"logical volume {part['lv']}" if part.get("lv") else f"partition {part['number']}"


class Mounted:
    """One file system of the guest, mounted by the workspace; its root folder held open."""

    def __init__(self, ws, disk: dict, part: dict, read_only: bool, subvol: str | None = None, name: str = "") -> None:
        self.ws = ws
        self.part = part
        self.fstype = FSTYPES[part["filesystem"]]
        self.dev = ws.loop(disk["path"], part["startBytes"], part["sizeBytes"], read_only=read_only)
        self.mnt = ws.mountpoint(name or f"{mount_key(part)}-{'ro' if read_only else 'rw'}")
        options = list(READ_ONLY_OPTIONS[self.fstype] if read_only else READ_WRITE_OPTIONS[self.fstype])
        if subvol is not None:
            options.append(f"subvol={subvol}")
        self.options = options
        mode, err = ws.mount_fs(self.dev, self.mnt, self.fstype, read_only, options)
        if mode is None or (mode == "ro") != read_only:
            self.close()
            raise Failure(
                EXIT_UNSAFE if not read_only else EXIT_FAILURE,
                "unsafe" if not read_only else "error",
                f"{volume_name(part)} ({self.fstype}) cannot be mounted {'read-only' if read_only else 'read-write'}: "
                f"{first_line(err) if err else 'mounted ' + str(mode)}",
            )
        self.fd = os.open(self.mnt, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.open = True

    def close(self) -> None:
        if getattr(self, "open", False):
            os.close(self.fd)
            self.open = False
        if mount_mode(self.mnt) is not None:
            self.ws.unmount(self.mnt)
        self.ws.release(f"loop {self.dev}")


def mount_key(part: dict) -> str:
    """A folder name for a volume's mount point: p<number>, or lv-VG--LV (lvm2 names hold no slash)."""
    return f"lv-{part['lv'].replace('/', '--')}" if part.get("lv") else f"p{part['number']}"


def guest_root(m: Mounted) -> tuple[dict[str, str], str, str | None] | None:
    """(os-release, fstab text, btrfs subvolume) when this mount holds a Linux root, else None. A
    btrfs volume whose default subvolume holds none is looked into one top-level folder deep
    (Ubuntu's @, Fedora's root)."""
    candidates: list[tuple[list[str], str | None]] = [([], None)]
    if m.fstype == "btrfs":
        try:
            names = sorted(os.listdir(m.fd))[:MAX_SUBVOLUMES]
        except OSError:
            names = []
        # A subvolume's root folder is inode 256.
        candidates += [
            ([n], n) for n in names if kind_of(m.fd, n) == "folder" and os.stat(n, dir_fd=m.fd, follow_symlinks=False).st_ino == 256
        ]
    for prefix, subvol in candidates:
        # os-release(5): /etc/os-release, else /usr/lib/os-release (the former is usually a relative
        # link to the latter, which is read directly rather than followed).
        release = read_file(m.fd, [*prefix, "etc", "os-release"]) or read_file(m.fd, [*prefix, "usr", "lib", "os-release"])
        fstab = read_file(m.fd, [*prefix, "etc", "fstab"])
        if release is not None and fstab is not None:
            return os_release(release.decode("utf-8", errors="replace")), fstab.decode("utf-8", errors="replace"), subvol
    return None


def kernels(root: Mounted, boot: Mounted | None, boot_prefix: list[str]) -> list[dict]:
    """The kernels installed: each /lib/modules/VERSION, with whether /boot has its image and
    initramfs as regular files (a link or a FIFO under that name is no kernel's)."""
    versions: list[str] = []
    for parts in (["usr", "lib", "modules"], ["lib", "modules"]):
        try:
            fd = open_dir(root.fd, parts, "read")
        except (OSError, Failure):
            continue
        try:
            versions = sorted(n for n in os.listdir(fd) if kind_of(fd, n) == "folder")[:MAX_KERNELS]
        finally:
            os.close(fd)
        break
    where = boot if boot is not None else root
    try:
        bfd = open_dir(where.fd, boot_prefix, "read")
        try:
            boot_files = {n for n in os.listdir(bfd) if n.startswith(("vmlinuz-", "init")) and kind_of(bfd, n) == "file"}
        finally:
            os.close(bfd)
    except (OSError, Failure):
        boot_files = set()
    out = []
    for v in versions:
        initramfs = next((n for n in (f"initramfs-{v}.img", f"initrd.img-{v}", f"initrd-{v}") if n in boot_files), None)
        out.append({"version": v, "image": f"vmlinuz-{v}" in boot_files, "initramfs": initramfs is not None, "_initramfs": initramfs})
    return out


def default_boot_entry(root: Mounted, boot: Mounted | None, boot_prefix: list[str]) -> dict:
    """What the guest boots by default, as GRUB is told: grubenv's saved_entry and /etc/default/grub's GRUB_DEFAULT."""
    where = boot if boot is not None else root
    out: dict[str, Any] = {}
    for folder in ("grub2", "grub"):
        env = read_file(where.fd, [*boot_prefix, folder, "grubenv"], 4096)
        try:
            dfd = open_dir(where.fd, [*boot_prefix, folder], "read")
        except (OSError, Failure):
            continue
        try:
            if kind_of(dfd, "grubenv") == "link":
                # EL 8 on UEFI: a link to the EFI partition; its text only (boot-previous-kernel reads the file there).
                out["grubenv"] = f"/boot/{folder}/grubenv"
                out["grubenvLink"] = os.readlink("grubenv", dir_fd=dfd)[:256]
                break
        finally:
            os.close(dfd)
        if env is not None:
            out["grubenv"] = f"/boot/{folder}/grubenv"
            for line in env.decode("utf-8", errors="replace").splitlines():
                if line.startswith("saved_entry="):
                    out["savedEntry"] = line.split("=", 1)[1][:256]
            break
    default = read_file(root.fd, ["etc", "default", "grub"])
    if default is not None:
        for line in default.decode("utf-8", errors="replace").splitlines():
            if line.strip().startswith("GRUB_DEFAULT="):
                out["grubDefault"] = line.split("=", 1)[1].strip().strip("\"'")[:256]
    return out


# ---------------------------------------------------------------------------------------------
# The repair


def repair_linux(
    ws,
    disk: dict,
    parts: list[dict],
    entries: list[dict],
    rules: list[dict],
    stamp: str,
    dry_run: bool,
    evidence: dict,
    volumes_evidence: list,
) -> dict:
    """Finds the Linux root among the disk's ext4/XFS/btrfs partitions, reads the guest, plans and
    (unless a dry run, and only when something changes) applies the Linux rules, filling
    `evidence` (the evidence's `linux` object) as it goes, so a failure keeps what was found and
    done, and `volumes_evidence` (the evidence's `volumes`) with the volumes it looked at. Raises a
    Failure when there is no Linux root or it cannot be repaired."""
    started = time.monotonic()
    by_number = {p["number"]: p for p in parts}
    lvs = map_lvm(disk, entries, evidence)
    linux_parts = [e for e in entries if e["filesystem"] in FSTYPES and "skipped" not in e]
    # Each volume a Linux file system may be on, by key: a partition's number, a logical volume's "VG/LV".
    vols: dict[Any, dict] = {e["number"]: by_number[e["number"]] | {"filesystem": e["filesystem"]} for e in linux_parts}
    vols.update({lv["lv"]: lv for lv in lvs if lv["filesystem"] in FSTYPES})
    ids = partition_ids(disk, [{**by_number[e["number"]], "filesystem": e["filesystem"]} for e in entries])
    ids += [
        {"partition": lv["number"], "lv": lv["lv"], "lvuuid": lv["lvUuid"], "filesystem": lv["filesystem"]}
        | ids_at(disk["path"], lv["filesystem"], lv["startBytes"])
        for lv in lvs
        if lv["filesystem"] in FSTYPES
    ]
    found = None
    for key, part in vols.items():
        m = Mounted(ws, disk, part, read_only=True, name=f"{mount_key(part)}-probe")
        try:
            probe = guest_root(m)
        finally:
            m.close()
        if probe is not None:
            found = (key, *probe)
            break
        why = f"{part['filesystem']} file system without a Linux root (no etc/os-release and etc/fstab)"
        for e in entries if "lv" not in part else []:
            if e["number"] == key:
                e["skipped"] = why
    if found is None:
        skipped = lvm_skipped(evidence)
        unreadable = [f"partition {e['number']}: {e['skipped']}" for e in entries if e["filesystem"] == "lvm" and "skipped" in e]
        if skipped or unreadable:
            raise Failure(
                EXIT_NO_WINDOWS,
                "unsupported",
                "LVM: no Linux root on a volume this engine maps; "
                + "; ".join([*(f"volume {name}: {why}" for name, why in skipped), *unreadable])
                + "; nothing was changed",
            )
        raise Failure(EXIT_NO_WINDOWS, "no-windows", "no Windows or Linux installation on this disk")
    root_key, release, fstab_text, subvol = found
    root_part = vols[root_key]
    log(f"{volume_name(root_part)}: Linux root found ({release.get('PRETTY_NAME', 'unnamed')})")
    fstab = fstab_entries(fstab_text)
    mine = {i["partition"] for i in ids}

    def on_disk(spec: str) -> bool:
        return resolve(spec, ids) is not None

    roles: dict[str, Any] = {}
    for entry in fstab:
        if entry["mountPoint"] in ("/", "/boot", "/boot/efi", "/efi"):
            target = resolve(entry["spec"], ids)
            role: dict[str, Any] = {"spec": entry["spec"], "type": entry["type"]}
            if target is not None and target["partition"] in mine:
                role["partition"] = target["partition"]
                if "lv" in target:
                    role["lv"] = target["lv"]
            else:
                role["notOnThisDisk"] = (
                    "no partition or logical volume of this disk has that id"
                    if spec_key(entry["spec"])
                    else "the spec names no id (UUID=, LABEL=, PARTUUID=, an LVM volume)"
                )
            subvols = [o.split("=", 1)[1].lstrip("/") for o in entry["options"] if o.startswith("subvol=")]
            if subvols:
                role["subvolume"] = subvols[0]
            roles[entry["mountPoint"]] = role
    refuse_unmapped(roles, evidence, entries)
    refuse_other_root(roles, root_key, root_part)
    root_subvol = roles.get("/", {}).get("subvolume", subvol)
    for e in entries:
        for mount_point, role in roles.items():
            if role.get("partition") == e["number"] and "lv" not in role:
                e["linux"] = mount_point
                e.pop("skipped", None)
    for vg in evidence.get("lvm", []):
        for lv in vg["logicalVolumes"]:
            for mount_point, role in roles.items():
                if role.get("lv") == f"{vg['name']}/{lv['name']}":
                    lv["linux"] = mount_point
    evidence.update(
        rootPartition=root_part["number"],
        filesystem=FSTYPES[root_part["filesystem"]],
        osRelease={k: release[k] for k in ("ID", "NAME", "VERSION_ID", "PRETTY_NAME", "ID_LIKE") if k in release},
        fstab=roles,
    )
    if "lv" in root_part:
        evidence["rootLogicalVolume"] = root_part["lv"]
    if root_part["filesystem"] == "btrfs":
        evidence["subvolume"] = root_subvol or "(default)"
    boot_role = roles.get("/boot", {})
    boot_key = boot_role.get("lv", boot_role.get("partition"))
    rules_here = [r for r in rules if r.get("os") == "linux" and r["action"] != "quarantine"]
    files_here = file_rules(rules, "linux")
    evidence["notApplied"] = [r["id"] for r in rules if r not in rules_here and r not in files_here]
    boot_part = vols.get(boot_key) if boot_key is not None else None
    boot_subvol = roles.get("/boot", {}).get("subvolume")
    # The EFI partition, only when the fstab's /boot/efi is a FAT partition of this disk: never
    # mounted; only a grubenv EL 8 links to there is read (and rewritten in place) through it.
    esp_number = roles.get("/boot/efi", {}).get("partition")
    esp_entry = next((e for e in entries if e["number"] == esp_number and e["filesystem"] == "fat"), None)
    esp = Esp(ws, disk, by_number[esp_entry["number"]]) if esp_entry is not None else None
    ctx: dict[str, Any] = {"stamp": stamp, "on_disk": on_disk, "first": True}
    root = Mounted(ws, disk, root_part, read_only=True, subvol=root_subvol, name="root-ro")
    boot = None
    try:
        if boot_part is not None:
            boot = Mounted(ws, disk, boot_part, True, boot_subvol, "boot-ro")
        boot_prefix = [] if boot is not None else ["boot"]
        found_kernels = kernels(root, boot, boot_prefix)
        evidence["kernels"] = [{k: v for k, v in kernel.items() if not k.startswith("_")} for kernel in found_kernels]
        evidence["defaultBootEntry"] = default_boot_entry(root, boot, boot_prefix)
        ctx["kernels"] = found_kernels
        guest = Guest(root, boot, esp)
        records = plan_rules(guest, rules_here, ctx)
        volumes = examine_volumes(guest, files_here)
    finally:
        if boot is not None:
            boot.close()
        root.close()
    evidence["actions"] = [public_record(r) for r in records]
    evidence["timingsMs"] = {"readOnly": elapsed_ms(started)}
    changes = [r for r in records if r["status"] == "change"]
    # Which volumes change: those with a file to move or a file to edit; the root keeps the record
    # of every change (its quarantine folder), so a repair sent again finds what an earlier one did.
    touched = {e["on"] for r in changes for e in r["_edits"]} | {v["_on"] for v in volumes if bad_of(v)}
    touched |= {job["on"] for r in changes for job in r.get("_rebuild_jobs", [])}  # an initramfs rebuilt (engine.linux.rebuild)
    if touched:
        touched.add("root")
    if dry_run or not touched:
        for r in changes:
            r["status"] = "would-change"
        for v in volumes:
            for match in bad_of(v):
                match["action"] = "would-quarantine"
            v["outcome"] = "would-repair" if v["_on"] in touched else "nothing-to-do"
        evidence["actions"] = [public_record(r) for r in records]
        volumes_evidence.extend(public_volume(v) for v in volumes)
        evidence["outcome"] = "would-repair" if touched else "nothing-to-do"
        evidence["mount"] = {"mode": "read-only", "options": root.options}
        return evidence
    started = time.monotonic()
    refuse_held(disk["path"])  # again: a volume group activated since the disk was opened
    rw_root = Mounted(ws, disk, root_part, read_only=False, subvol=root_subvol, name="root-rw")
    rw_boot = None
    evidence["mount"] = {"mode": "read-write", "options": rw_root.options}
    first = records
    kept: dict[str, Any] = {}  # this run's quarantine folder on the root, made early when a kept copy goes there
    try:
        if boot_part is not None:
            # Read-write only when something on /boot changes; else read-only, for the plan to read
            # again what it read the first time (GRUB's files: a grubenv link to the EFI partition).
            boot_writable = "boot" in touched
            rw_boot = Mounted(ws, disk, boot_part, not boot_writable, boot_subvol, "boot-rw" if boot_writable else "boot-ro-again")
        guest = Guest(rw_root, rw_boot, esp)
        # Planned again on what the read-write mount shows (a replayed journal may have changed it).
        ctx["first"] = False
        records = plan_rules(guest, rules_here, ctx)
        same_plan(first, records)
        evidence["actions"] = [public_record(r) for r in records]
        for r in records:
            if r["status"] != "change":
                continue
            try:
                for e in r["_edits"]:
                    if e["on"] == "boot" and "boot" not in touched:
                        raise Failure(
                            EXIT_UNSAFE, "unsafe", f"{e['path']} changed between the read-only and the read-write pass; not changed"
                        )
                    if e["on"] == "efi":
                        apply_on_esp(esp, rw_root, e, r, stamp, kept)
                    else:
                        apply_edit(guest.fd(e["on"]), e)
                r["status"] = "changed"
            except Failure as f:
                r.update(status="failed", reason=f.message)
                raise
            except OSError as e:
                r.update(status="failed", reason=f"{type(e).__name__}: {e.strerror}")
                raise Failure(EXIT_FAILURE, "error", f"rule {r['rule']}: {r['path']}: {e.strerror}") from e
        # Last of all the guest's own initramfs tool, sandboxed; nothing read after it is trusted.
        rebuild_failures = run_jobs(ws, guest, records, stamp, kept)
        undone = check_after_tool(guest, rules_here, ctx, records)
        volumes = examine_volumes(guest, files_here)
        done = [public_record(r) for r in records if r["status"] == "changed"]
        for v in volumes:
            mount = rw_boot if v["_on"] == "boot" else rw_root
            if mount is None or not ((bad_of(v) and v["_on"] in touched) or (v["_on"] == "root" and done)):
                v["outcome"] = "nothing-to-do"
                continue
            extra = {"actions": done, "undo": [r["undo"] for r in reversed(done) if r.get("undo")]} if v["_on"] == "root" else None
            folder = kept.get("folder") if v["_on"] == "root" else None
            v["quarantineFolder"] = quarantine(mount.mnt, bad_of(v), stamp, fold=False, extra=extra, folder=folder)
            v["mount"] = {"driver": mount.fstype, "mode": "read-write", "options": mount.options, "actions": []}
            v["outcome"] = "repaired"
    finally:
        evidence["actions"] = [public_record(r) for r in records]
        if rw_boot is not None:
            rw_boot.close()
        rw_root.close()
        evidence["timingsMs"]["readWrite"] = elapsed_ms(started)
    volumes_evidence.extend(public_volume(v) for v in volumes)
    evidence["outcome"] = "repaired" if any(v["outcome"] == "repaired" for v in volumes) else "nothing-to-do"
    # In the order to run them: the last rule's first (rules that edit one file undo in turn).
    evidence["undo"] = [r["undo"] for r in reversed(records) if r["status"] == "changed" and r.get("undo")]
    if rebuild_failures:  # everything else was done; the image was put back: exit 6, the evidence says what failed
        raise Failure(EXIT_FAILURE, "error", "initramfs rebuild failed, the kept image put back: " + "; ".join(rebuild_failures))
    if undone:  # the guest's tool undid some of the run: never a repair
        raise Failure(EXIT_FAILURE, "error", "the guest's initramfs tool undid the repair: " + "; ".join(undone))
    return evidence


def refuse_unmapped(roles: dict[str, Any], evidence: dict, entries: list[dict] | None = None) -> None:
    """Refuses (exit 3, unsupported) a guest whose / or /boot is a logical volume of this disk the
    engine does not map, naming the volume and why: repairing the rest would leave the guest's boot
    path unread. A UUID=, LABEL= or other id spec is resolved against the mapped volumes' file
    systems only (an unmapped volume's file system is never read), so when it resolves nowhere and
    this disk has volumes the engine could not look into (skipped logical volumes, LVs past the
    listing cap, unreadable physical volumes), it may be one of them: refused, naming them all."""
    skipped = dict(lvm_skipped(evidence))
    unreadable = [f"partition {e['number']}" for e in entries or [] if e.get("filesystem") == "lvm" and "skipped" in e]
    unlisted = sum(vg.get("logicalVolumesNotListed", 0) for vg in evidence.get("lvm", []))
    for mount_point in ("/", "/boot"):
        role = roles.get(mount_point)
        if role is None or "notOnThisDisk" not in role:
            continue
        key = spec_key(role["spec"])
        if key is None:
            continue
        what = "root" if mount_point == "/" else "/boot"
        names = [key[1]] if key[0] == "lv" else []
        if key[0] == "lvuuid":
            names = [
                f"{vg['name']}/{lv['name']}"
                for vg in evidence.get("lvm", [])
                for lv in vg["logicalVolumes"]
                if plain_uuid(vg["uuid"]) + plain_uuid(lv.get("uuid", "")) == key[1]
            ]
        for name in names:
            if name in skipped:
                raise Failure(
                    EXIT_NO_WINDOWS,
                    "unsupported",
                    f"LVM: {what} volume {name}: {skipped[name]}; nothing was changed",
                )
        if key[0] not in ("lv", "lvuuid") and (skipped or unreadable or unlisted):
            unseen = [*skipped][:MAX_NAMED] + unreadable[:MAX_NAMED]
            more = len(skipped) + len(unreadable) - len(unseen) + unlisted
            raise Failure(
                EXIT_NO_WINDOWS,
                "unsupported",
                f"LVM: {what} ({role['spec'][:128]}) is on no volume this engine reads, and this disk has volumes it cannot read "
                f"(LVM: {', '.join(unseen)}{f' and {more} more' if more else ''}): it may be one of them; nothing was changed",
            )


def refuse_other_root(roles: dict[str, Any], root_key: Any, root_part: dict) -> None:
    """Refuses (exit 3, unsupported) a root whose own fstab puts / on another volume of this disk:
    the probe took the first volume holding os-release and fstab (a stale copy, or one of two
    look-alike roots), which is not the one the guest boots."""
    role = roles.get("/", {})
    if "partition" not in role:
        return
    named = role.get("lv", role["partition"])
    if named != root_key:
        other = f"logical volume {named}" if "lv" in role else f"partition {named}"
        raise Failure(
            EXIT_NO_WINDOWS,
            "unsupported",
            f"the Linux root found on {volume_name(root_part)} names / as {other} in its fstab: not the volume it was found on; "
            "nothing was changed",
        )


def check_after_tool(guest: Guest, rules_here: list[dict], ctx: dict[str, Any], records: list[dict]) -> list[str]:
    """When the guest's initramfs tool ran (read-write, after every other edit), the rules are
    planned again on the volumes it left, the images read afresh: what it undid, in words
    (engine.linux.rebuild.undone_by_tool); [] when nothing ran or nothing is left to do."""
    ran = [j for r in records for j in r.get("_rebuild_jobs", []) if j["evidence"].get("result") in ("rebuilt", "failed")]
    if not ran:
        return []
    ctx.pop("initramfsNames", None)
    try:
        # A Guest of its own: the run's holds the edits it planned, not what is on the volumes now.
        again = plan_rules(Guest(guest.root, guest.boot, guest.esp), rules_here, ctx)
    except Failure as f:
        return [f"the rules cannot be planned again after it ran: {f.message}"]
    except OSError as e:
        return [f"the rules cannot be planned again after it ran: {e.filename}: {e.strerror}"]
    return undone_by_tool(records, again)


def same_plan(first: list[dict], again: list[dict]) -> None:
    """The plan made again on the read-write mount must be the one the read-only pass made: every
    rule the same status (a change, already done, refused). A journal replay or anything else that
    moved the guest between the two passes ends the run unsafe with nothing changed, rather than
    quietly change less (or more) than the read-only pass planned and reported."""
    if len(first) != len(again):
        raise Failure(EXIT_UNSAFE, "unsafe", "the rules planned differ between the read-only and the read-write pass; nothing changed")
    for before, now in zip(first, again):
        if before["status"] != now["status"]:
            raise Failure(
                EXIT_UNSAFE,
                "unsafe",
                f"rule {now['rule']}: planned as {before['status']} on the read-only mount but {now['status']} on the "
                "read-write one (the guest changed between the passes, e.g. by its journal's replay); nothing changed",
            )


def apply_on_esp(esp: Esp | None, rw_root: Mounted, e: dict, record: dict, stamp: str, kept: dict) -> None:
    """Rewrites the grubenv on the EFI partition in place (engine.linux.esp), its old bytes kept
    first in this run's quarantine folder on the root volume (made now, and used by the manifest
    after: `kept["folder"]`); the record's files and undo name where they are."""
    if esp is None or e["how"] != "in-place":
        raise Failure(EXIT_UNSAFE, "unsafe", f"{e['path']}: only a grubenv on the EFI partition is ever changed there; not changed")

    def keep(old: bytes) -> None:
        if "folder" not in kept:
            folder, fd = new_quarantine_folder(rw_root.fd, stamp, fold=False)
            os.close(fd)
            kept["folder"] = folder
        # Where the plan said, unless that folder's name was taken (…-2): then the record says where it went.
        suffix = e["keptAt"].removeprefix(f"/{QUARANTINE_ROOT}/{stamp}{e['path']}")
        e["keptAt"] = f"/{kept['folder']}{e['path']}{suffix}"
        parts = e["keptAt"].strip("/").split("/")
        fd = make_dirs_inside(rw_root.fd, parts[:-1], "quarantine", fold=False)
        try:
            write_new(fd, parts[-1], old, 0o600)
        finally:
            os.close(fd)
        record["undo"] = " && ".join(undo_of(x) for x in reversed(record["_edits"]))
        record["files"] = [file_evidence(x) for x in record["_edits"]]

    esp.rewrite(e["parts"], e["old"], e["data"], keep)


def examine_volumes(g: Guest, rules: list[dict]) -> list[dict]:
    """The guest's root volume and its /boot (when a partition of its own), each with the files the
    file rules name on it and the quarantine folders earlier runs left there."""
    out = []
    for on, m in (("root", g.root), ("boot", g.boot)):
        if m is None:
            continue
        if on == "boot":
            here, strip = [r for r in rules if r["parts"][0] == "boot" and len(r["parts"]) > 1], 1
        else:
            here, strip = [r for r in rules if not (g.boot is not None and r["parts"][0] == "boot")], 0
        earlier, total = earlier_quarantines(m.mnt, fold=False)
        v: dict[str, Any] = {
            "partition": m.part["number"],
            **({"logicalVolume": m.part["lv"]} if m.part.get("lv") else {}),
            "linux": "/boot" if on == "boot" else "/",
            "_on": on,
            "_matches": examine_volume(m.mnt, here, "linux", strip) if here else [],
            "earlierQuarantines": earlier,
            "mount": {"driver": m.fstype, "mode": "read-only", "options": m.options, "actions": []},
        }
        if total > len(earlier):
            v["earlierQuarantinesTotal"] = total
        out.append(v)
    return out


def bad_of(volume: dict) -> list[dict]:
    return [m for m in volume["_matches"] if m["action"] in ("quarantine", "would-quarantine")]


def public_volume(v: dict) -> dict:
    out = {k: val for k, val in v.items() if not k.startswith("_")}
    out["matches"] = [public(m) for m in v["_matches"]]
    return out


def public_record(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_")}
