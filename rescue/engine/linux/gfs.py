"""Files on a Linux guest's mounted volume, never through a link: folders opened one at a time relative
to the one before (O_NOFOLLOW), files read only when they are regular files (never a FIFO or a
device node), and the edits the Linux rules make (a file replaced with its old bytes kept beside it,
a fixed-size file rewritten in place, a file or link created), each with the command that undoes it."""

from __future__ import annotations

import os
import shlex
import stat

from ..common import EXIT_UNSAFE, Failure
from ..files import QUARANTINE_ROOT, not_a_folder, walk_dirs
from .config import MAX_CONFIG_BYTES

NEW_SUFFIX = ".bootloop-rescue-new"


def open_dir(root_fd: int, parts: list[str], shown: str) -> int:
    """root/parts as a folder fd, each part opened relative to the one before with O_NOFOLLOW: a link
    or anything not a folder on the way is refused (exit 5) before anything is read or written."""

    def step(fd: int, i: int, part: str) -> int:
        try:
            return os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError as e:
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except OSError:
                raise e from None
            raise Failure(
                EXIT_UNSAFE, "unsafe", f"/{'/'.join(parts[: i + 1])} on the guest is {not_a_folder(st)}; refusing to {shown} through it"
            ) from None

    return walk_dirs(root_fd, parts, step)


def exists_dir(root_fd: int, parts: list[str]) -> bool:
    try:
        os.close(open_dir(root_fd, parts, "look"))
        return True
    except (OSError, Failure):
        return False


def read_file(root_fd: int, parts: list[str], limit: int = MAX_CONFIG_BYTES) -> bytes | None:
    """A regular file's bytes (at most `limit`), or None when it is missing, a link, a FIFO, a
    device or a folder: such a file is never opened in a way that follows or blocks."""
    fd = open_regular_at(root_fd, parts)
    if fd is None:
        return None
    try:
        return os.read(fd, limit + 1)[:limit]
    finally:
        os.close(fd)


def open_regular_at(root_fd: int, parts: list[str]) -> int | None:
    """An fd reading root/parts when it is a regular file reached without a link; else None."""
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
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


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


def read_all(fd: int) -> bytes:
    out = b""
    while chunk := os.read(fd, 1 << 20):
        out += chunk
        if len(out) > MAX_CONFIG_BYTES:
            raise Failure(EXIT_UNSAFE, "unsafe", "a file the engine edits is larger than 1 MiB: not a guest's own; not changed")
    return out


def write_new(dir_fd: int, name: str, content: bytes, mode: int) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    with os.fdopen(out, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())


def open_existing(dir_fd: int, name: str, flags: int) -> tuple[int, os.stat_result]:
    fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Failure(EXIT_UNSAFE, "unsafe", f"{name} is not a regular file; not changed")
    return fd, st


def replace_file(dir_fd: int, name: str, data: bytes, backup: str) -> None:
    """Writes `name` in the folder anew (a new file, then one rename over the old), keeping the old
    bytes as `backup` beside it (created, never overwritten); the old file's mode is kept."""
    fd, st = open_existing(dir_fd, name, os.O_RDONLY)
    try:
        old = read_all(fd)
    finally:
        os.close(fd)
    if kind_of(dir_fd, f".{name}{NEW_SUFFIX}") in ("file", "link"):
        os.unlink(f".{name}{NEW_SUFFIX}", dir_fd=dir_fd)  # left by an engine stopped before its rename
    write_new(dir_fd, backup, old, stat.S_IMODE(st.st_mode))
    write_new(dir_fd, f".{name}{NEW_SUFFIX}", data, stat.S_IMODE(st.st_mode))
    os.rename(f".{name}{NEW_SUFFIX}", name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def rewrite_in_place(dir_fd: int, name: str, data: bytes, backup: str) -> None:
    """Overwrites `name` in place (same inode, same blocks, same size: GRUB's grubenv, which GRUB
    itself rewrites by its sectors), keeping the old bytes as `backup` beside it."""
    fd, st = open_existing(dir_fd, name, os.O_RDWR)
    try:
        old = read_all(fd)
        if len(old) != len(data):
            raise Failure(EXIT_UNSAFE, "unsafe", f"{name} is {len(old)} bytes, not {len(data)}: not rewritten in place")
        write_new(dir_fd, backup, old, stat.S_IMODE(st.st_mode))
        os.pwrite(fd, data, 0)
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Edits: what a Linux rule changes, planned on the read-only mount and made on the read-write one


def edit(how: str, on: str, parts: list[str], shown: str, data: bytes | str, stamp: str = "") -> dict:
    """One change to one file: `how` is replace (backup kept, new file renamed over), in-place
    (backup kept, same size rewritten), create (a new file) or symlink (a new link to `data`); `on`
    the volume ("root", "boot", or "efi": the EFI partition, never written but for its grubenv in
    place), `parts` the path on it, `shown` the path on the guest. An edit on the EFI partition keeps
    the old bytes on the root volume, in this run's quarantine folder (`keptAt`), not beside the file."""
    e: dict = {"how": how, "on": on, "parts": parts, "path": shown, "data": data}
    if how in ("replace", "in-place"):
        e["backup"] = f"{parts[-1]}.bootloop-rescue-{stamp}"
        if on == "efi":
            e["keptAt"] = f"/{QUARANTINE_ROOT}/{stamp}{shown}"
    return e


def backup_path(e: dict) -> str:
    if "keptAt" in e:
        return e["keptAt"]
    return f"{e['path'].rsplit('/', 1)[0]}/{e['backup']}"


def undo_of(e: dict) -> str:
    """The shell command, run in the guest's root, that undoes one edit (paths quoted: a guest's
    file names are its own)."""
    if e["how"] == "replace":
        return f"mv {shlex.quote(backup_path(e))} {shlex.quote(e['path'])}"
    if e["how"] == "in-place":
        return f"cp {shlex.quote(backup_path(e))} {shlex.quote(e['path'])}"
    return f"rm {shlex.quote(e['path'])}"


def file_evidence(e: dict) -> dict:
    out = {"path": e["path"], "how": e["how"]}
    if "backup" in e:
        out["backup"] = backup_path(e)
    return out


def apply_edit(volume_fd: int, e: dict) -> None:
    """Makes one edit on the read-write mount. A link or anything not a folder on the way is
    refused (exit 5); a file to create that appeared since the plan is refused too."""
    fd = open_dir(volume_fd, e["parts"][:-1], f"edit {e['path']}")
    name = e["parts"][-1]
    try:
        if e["how"] == "replace":
            replace_file(fd, name, e["data"], e["backup"])
        elif e["how"] == "in-place":
            rewrite_in_place(fd, name, e["data"], e["backup"])
        elif kind_of(fd, name) is not None:
            raise Failure(EXIT_UNSAFE, "unsafe", f"{e['path']} appeared between the read-only and the read-write pass; not changed")
        elif e["how"] == "symlink":
            os.symlink(e["data"], name, dir_fd=fd)
        else:
            write_new(fd, name, e["data"], 0o644)
    finally:
        os.close(fd)
