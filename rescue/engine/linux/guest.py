"""A Linux guest on the disk: its root file system found from the guest's own os-release and fstab,
its /boot and EFI partitions resolved from the fstab's ids against THIS disk's partitions only (the
rescue VM often runs the same image, so the rescue VM's own ids would collide), what it runs
(os-release, kernels, the default boot entry) read on read-only mounts, and the Linux rules
(mask-service, fstab-nofail) applied on a read-write mount only when something changes.

Mounts: ext4 read-only with `noload` (the journal is not replayed on the read-only pass), XFS with
`nouuid` always (a clone of the rescue VM's own file system has its UUID) and `norecovery` read-only
(the log is replayed only by the read-write mount, never zeroed), btrfs read-only with
`rescue=nologreplay`, its default subvolume first and then the subvolume the fstab's root entry
names. Every file on the guest is opened relative to a folder opened before it, never through a link
(O_NOFOLLOW), and only if it is a regular file (never a FIFO or a device node)."""

from __future__ import annotations

import os
import stat
import time
from typing import Any

from ..common import EXIT_FAILURE, EXIT_NO_WINDOWS, EXIT_UNSAFE, Failure, elapsed_ms, first_line, log, mount_mode
from ..disks import BTRFS_SUPER, read_at
from .config import MAX_CONFIG_BYTES, filesystem_ids, fstab_entries, fstab_nofail, os_release, resolve, spec_key

FSTYPES = {"ext": "ext4", "xfs": "xfs", "btrfs": "btrfs"}
READ_ONLY_OPTIONS = {"ext4": ["noload"], "xfs": ["norecovery", "nouuid"], "btrfs": ["rescue=nologreplay"]}
READ_WRITE_OPTIONS = {"ext4": [], "xfs": ["nouuid"], "btrfs": []}
MAX_SUBVOLUMES = 64  # top-level folders of a btrfs volume looked into for a root
MAX_KERNELS = 64
UNDO_NOTE = "bootloop-rescue"


# ---------------------------------------------------------------------------------------------
# Files on the guest, never through a link


def open_dir(root_fd: int, parts: list[str], shown: str) -> int:
    """root/parts as a folder fd, each part opened relative to the one before with O_NOFOLLOW: a link
    or anything not a folder on the way is refused (exit 5) before anything is read or written."""
    fd = os.dup(root_fd)
    try:
        for i, part in enumerate(parts):
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as e:
                try:
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    raise e from None
                what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"
                raise Failure(
                    EXIT_UNSAFE, "unsafe", f"/{'/'.join(parts[: i + 1])} on the guest is {what}; refusing to {shown} through it"
                ) from None
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def exists_dir(root_fd: int, parts: list[str]) -> bool:
    try:
        os.close(open_dir(root_fd, parts, "look"))
        return True
    except (OSError, Failure):
        return False


def read_file(root_fd: int, parts: list[str], limit: int = MAX_CONFIG_BYTES) -> bytes | None:
    """A regular file's bytes (at most `limit`), or None when it is missing, a link, a FIFO, a
    device or a folder: such a file is never opened in a way that follows or blocks."""
    try:
        dir_fd = open_dir(root_fd, parts[:-1], "read")
    except (OSError, Failure):
        return None
    try:
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, limit + 1)
        return data[:limit]
    finally:
        os.close(fd)


def kind_of(dir_fd: int, name: str) -> str | None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "link"
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "folder"
    return "special"


def replace_file(dir_fd: int, name: str, data: bytes, backup: str) -> None:
    """Writes `name` in the folder anew (a new file, then one rename over the old), keeping the old
    bytes as `backup` beside it (created, never overwritten); the old file's mode is kept."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Failure(EXIT_UNSAFE, "unsafe", f"{name} is not a regular file; not changed")
        old = b""
        while chunk := os.read(fd, 1 << 20):
            old += chunk
    finally:
        os.close(fd)
    for target, content in ((backup, old), (f".{name}.bootloop-rescue-new", data)):
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, stat.S_IMODE(st.st_mode), dir_fd=dir_fd)
        with os.fdopen(out, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
    os.rename(f".{name}.bootloop-rescue-new", name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


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
            entry.update(filesystem_ids(kind, read_at(disk["path"], p["startBytes"], 4096)))
        if p.get("partUuid"):
            entry["partuuid"] = p["partUuid"].lower()
        if p.get("name"):
            entry["partlabel"] = p["name"]
        out.append(entry)
    return out


class Mounted:
    """One file system of the guest, mounted by the workspace; its root folder held open."""

    def __init__(self, ws, disk: dict, part: dict, read_only: bool, subvol: str | None = None, name: str = "") -> None:
        self.ws = ws
        self.part = part
        self.fstype = FSTYPES[part["filesystem"]]
        self.dev = ws.loop(disk["path"], part["startBytes"], part["sizeBytes"], read_only=read_only)
        self.mnt = ws.mountpoint(name or f"p{part['number']}-{'ro' if read_only else 'rw'}")
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
                f"partition {part['number']} ({self.fstype}) cannot be mounted {'read-only' if read_only else 'read-write'}: "
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
    """The kernels installed: each /lib/modules/VERSION, with whether /boot has its image and initramfs."""
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
            boot_files = set(os.listdir(bfd))
        finally:
            os.close(bfd)
    except (OSError, Failure):
        boot_files = set()
    out = []
    for v in versions:
        initramfs = next((n for n in (f"initramfs-{v}.img", f"initrd.img-{v}", f"initrd-{v}") if n in boot_files), None)
        out.append({"version": v, "image": f"vmlinuz-{v}" in boot_files, "initramfs": initramfs is not None})
    return out


def default_boot_entry(root: Mounted, boot: Mounted | None, boot_prefix: list[str]) -> dict:
    """What the guest boots by default, as GRUB is told: grubenv's saved_entry and /etc/default/grub's GRUB_DEFAULT."""
    where = boot if boot is not None else root
    out: dict[str, Any] = {}
    for folder in ("grub2", "grub"):
        env = read_file(where.fd, [*boot_prefix, folder, "grubenv"], 4096)
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
# The rules


def plan_mask(root: Mounted, rule: dict) -> dict:
    unit = f"{rule['service']}.service"
    record: dict[str, Any] = {"rule": rule["id"], "action": "mask-service", "path": f"/etc/systemd/system/{unit}"}
    try:
        fd = open_dir(root.fd, ["etc", "systemd", "system"], "mask a service")
    except FileNotFoundError:
        record.update(status="refused", reason="/etc/systemd/system is missing: not a systemd guest")
        return record
    try:
        kind = kind_of(fd, unit)
        if kind is None:
            record["status"] = "change"
        elif kind == "link" and os.readlink(unit, dir_fd=fd) == "/dev/null":
            record["status"] = "already"
        else:
            record.update(status="refused", reason=f"/etc/systemd/system/{unit} exists ({kind}); systemctl mask would refuse it too")
    finally:
        os.close(fd)
    if record["status"] != "refused":
        record["undo"] = f"rm /etc/systemd/system/{unit}"
    return record


def do_mask(root: Mounted, record: dict) -> None:
    fd = open_dir(root.fd, ["etc", "systemd", "system"], "mask a service")
    try:
        name = record["path"].rsplit("/", 1)[1]
        if kind_of(fd, name) is None:
            os.symlink("/dev/null", name, dir_fd=fd)
        elif not (kind_of(fd, name) == "link" and os.readlink(name, dir_fd=fd) == "/dev/null"):
            raise Failure(EXIT_UNSAFE, "unsafe", f"{record['path']} appeared between the read-only and the read-write pass; not masked")
    finally:
        os.close(fd)


def plan_nofail(root: Mounted, rule: dict, on_disk, stamp: str) -> dict:
    record: dict[str, Any] = {"rule": rule["id"], "action": "fstab-nofail", "path": "/etc/fstab"}
    text = read_file(root.fd, ["etc", "fstab"])
    if text is None:
        record.update(status="refused", reason="/etc/fstab is not a regular file")
        return record
    new, changed = fstab_nofail(text.decode("utf-8", errors="surrogateescape"), on_disk)
    record["entries"] = changed
    if changed:
        record["status"] = "change"
        record["new"] = new.encode("utf-8", errors="surrogateescape")
        record["backup"] = f"/etc/fstab.bootloop-rescue-{stamp}"
        record["undo"] = f"mv {record['backup']} /etc/fstab"
    else:
        record["status"] = "already"
    return record


def do_nofail(root: Mounted, record: dict) -> None:
    fd = open_dir(root.fd, ["etc"], "edit /etc/fstab")
    try:
        replace_file(fd, "fstab", record.pop("new"), record["backup"].rsplit("/", 1)[1])
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# The repair


def repair_linux(
    ws, disk: dict, parts: list[dict], entries: list[dict], rules: list[dict], stamp: str, dry_run: bool, evidence: dict
) -> dict:
    """Finds the Linux root among the disk's ext4/XFS/btrfs partitions, reads the guest, plans and
    (unless a dry run, and only when something changes) applies the Linux rules, filling
    `evidence` (the evidence's `linux` object) as it goes, so a failure keeps what was found and
    done. Raises a Failure when there is no Linux root or it cannot be repaired."""
    started = time.monotonic()
    by_number = {p["number"]: p for p in parts}
    for e in entries:
        if e["filesystem"] == "lvm":
            e["skipped"] = "LVM: not supported yet"
    linux_parts = [e for e in entries if e["filesystem"] in FSTYPES and "skipped" not in e]
    ids = partition_ids(disk, [{**by_number[e["number"]], "filesystem": e["filesystem"]} for e in entries])
    found = None
    for e in linux_parts:
        m = Mounted(ws, disk, by_number[e["number"]] | {"filesystem": e["filesystem"]}, read_only=True, name=f"p{e['number']}-probe")
        try:
            probe = guest_root(m)
        finally:
            m.close()
        if probe is not None:
            found = (e, *probe)
            break
        e["skipped"] = f"{e['filesystem']} file system without a Linux root (no etc/os-release and etc/fstab)"
    if found is None:
        if any(e["filesystem"] == "lvm" for e in entries):
            raise Failure(
                EXIT_NO_WINDOWS, "unsupported", "LVM: not supported yet (the disk holds an LVM physical volume); nothing was changed"
            )
        raise Failure(EXIT_NO_WINDOWS, "no-windows", "no Windows or Linux installation on this disk")
    root_entry, release, fstab_text, subvol = found
    log(f"partition {root_entry['number']}: Linux root found ({release.get('PRETTY_NAME', 'unnamed')})")
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
            else:
                role["notOnThisDisk"] = (
                    "no partition of this disk has that id"
                    if spec_key(entry["spec"])
                    else "the spec names no id (UUID=, LABEL=, PARTUUID=)"
                )
            subvols = [o.split("=", 1)[1].lstrip("/") for o in entry["options"] if o.startswith("subvol=")]
            if subvols:
                role["subvolume"] = subvols[0]
            roles[entry["mountPoint"]] = role
    root_subvol = roles.get("/", {}).get("subvolume", subvol)
    for e in entries:
        for mount_point, role in roles.items():
            if role.get("partition") == e["number"]:
                e["linux"] = mount_point
                e.pop("skipped", None)
    evidence.update(
        rootPartition=root_entry["number"],
        filesystem=FSTYPES[root_entry["filesystem"]],
        osRelease={k: release[k] for k in ("ID", "NAME", "VERSION_ID", "PRETTY_NAME", "ID_LIKE") if k in release},
        fstab=roles,
    )
    if root_entry["filesystem"] == "btrfs":
        evidence["subvolume"] = root_subvol or "(default)"
    root_part = by_number[root_entry["number"]] | {"filesystem": root_entry["filesystem"]}
    boot_number = roles.get("/boot", {}).get("partition")
    boot_entry = next((e for e in entries if e["number"] == boot_number and e["filesystem"] in FSTYPES), None)
    rules_here = [r for r in rules if r.get("os") == "linux"]
    evidence["notApplied"] = [r["id"] for r in rules if r.get("os") != "linux"]
    root = Mounted(ws, disk, root_part, read_only=True, subvol=root_subvol, name="root-ro")
    boot = None
    try:
        if boot_entry is not None:
            boot_subvol = roles["/boot"].get("subvolume")
            boot = Mounted(
                ws, disk, by_number[boot_entry["number"]] | {"filesystem": boot_entry["filesystem"]}, True, boot_subvol, "boot-ro"
            )
        boot_prefix = [] if boot is not None else ["boot"]
        evidence["kernels"] = kernels(root, boot, boot_prefix)
        evidence["defaultBootEntry"] = default_boot_entry(root, boot, boot_prefix)
        records: list[dict] = []
        evidence["actions"] = records
        for rule in rules_here:
            if rule["action"] == "mask-service":
                records.append(plan_mask(root, rule))
            elif rule["action"] == "fstab-nofail":
                records.append(plan_nofail(root, rule, on_disk, stamp))
    finally:
        if boot is not None:
            boot.close()
        root.close()
    evidence["timingsMs"] = {"readOnly": elapsed_ms(started)}
    changes = [r for r in records if r["status"] == "change"]
    if dry_run or not changes:
        for r in changes:
            r["status"] = "would-change"
            r.pop("new", None)
        evidence["actions"] = records
        evidence["outcome"] = "would-repair" if changes else "nothing-to-do"
        evidence["mount"] = {"mode": "read-only", "options": root.options}
        return evidence
    started = time.monotonic()
    rw = Mounted(ws, disk, root_part, read_only=False, subvol=root_subvol, name="root-rw")
    evidence["mount"] = {"mode": "read-write", "options": rw.options}
    try:
        for r in changes:
            try:
                if r["action"] == "mask-service":
                    do_mask(rw, r)
                else:
                    do_nofail(rw, r)
                r["status"] = "changed"
            except Failure as f:
                r.update(status="failed", reason=f.message)
                raise
            except OSError as e:
                r.update(status="failed", reason=f"{type(e).__name__}: {e.strerror}")
                raise Failure(EXIT_FAILURE, "error", f"rule {r['rule']}: {r['path']}: {e.strerror}") from e
    finally:
        for r in records:
            r.pop("new", None)
        evidence["actions"] = records
        rw.close()
        evidence["timingsMs"]["readWrite"] = elapsed_ms(started)
    evidence["outcome"] = "repaired"
    evidence["undo"] = [r["undo"] for r in changes if r.get("undo")]
    return evidence
