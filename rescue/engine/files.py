"""Finding files on a mounted guest volume (never through a link) and quarantining them on the same volume."""

import fnmatch
import hashlib
import json
import os
import stat

from .common import EXIT_FAILURE, EXIT_UNSAFE, VERSION, Failure, ns_iso
from .rules import file_rules

QUARANTINE_ROOT = "bootloop-rescue/quarantine"
# Bounds a guest's disk cannot push the engine past (it is hostile until proven otherwise).
MAX_QUARANTINES_PER_STAMP = 100  # quarantine folders of one second (<stamp>, <stamp>-2, …)
MAX_EARLIER_LISTED = 100  # earlier quarantine folders named in the evidence (all are counted)


# ---------------------------------------------------------------------------------------------
# Finding and quarantining files


def same_name(a, b, fold):
    return a.lower() == b.lower() if fold else a == b


def find_ci(root, parts, fold=True):
    """The real path of root/parts, matching each name without regard to letter case (NTFS keeps
    names case-insensitive; ntfs-3g shows them case-sensitively) unless `fold` is False (a Linux
    guest's names). Symbolic links are not followed."""
    path = root
    for part in parts:
        try:
            names = os.listdir(path)
        except OSError:
            return None
        match = next((n for n in sorted(names) if same_name(n, part, fold)), None)
        if match is None:
            return None
        path = os.path.join(path, match)
        if os.path.islink(path):
            return None
    return path


def glob_ci(root, parts, prefix=(), fold=True):
    """Regular files under root matching the glob parts, case-insensitively unless `fold` is False;
    never follows links."""
    if not parts:
        return []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    found = []
    for name in names:
        if not (fnmatch.fnmatchcase(name.lower(), parts[0].lower()) if fold else fnmatch.fnmatchcase(name, parts[0])):
            continue
        path = os.path.join(root, name)
        st = os.lstat(path)
        if len(parts) == 1:
            if stat.S_ISREG(st.st_mode):
                found.append(("/".join((*prefix, name)), path, st))
        elif stat.S_ISDIR(st.st_mode):
            found.extend(glob_ci(path, parts[1:], (*prefix, name), fold))
    return found


def open_regular(path):
    """Opens a file on the guest's volume for reading only if it is a regular file: never through
    a link, never blocking on a FIFO, never a device node. Returns a binary file, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


def sha256_of(path):
    f = open_regular(path)
    if f is None:
        raise Failure(EXIT_UNSAFE, "unsafe", f"{path}: not a regular file any more; refusing to read it")
    h = hashlib.sha256()
    with f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def in_rule(rule, st, digest):
    t = st.st_mtime_ns
    if rule["from"] is not None and t < rule["from"]:
        return False
    if rule["before"] is not None and t >= rule["before"]:
        return False
    return not rule["sha256"] or digest in rule["sha256"]


def examine_volume(root, rules, guest="windows", strip=0):
    """Every file a rule's path names, with the decision for it. Reads only. On a Linux guest names
    match case-sensitively, and `strip` leading parts of each rule's path are the volume's mount
    point on the guest (1 for /boot on a partition of its own)."""
    matches = []
    for rule in file_rules(rules, guest):
        for rel, path, st in glob_ci(root, rule["parts"][strip:], fold=guest == "windows"):
            digest = sha256_of(path)
            matches.append(
                {
                    "rule": rule["id"],
                    "path": rel,
                    "sizeBytes": st.st_size,
                    "modifiedAt": ns_iso(st.st_mtime_ns),
                    "sha256": digest,
                    "action": "quarantine" if in_rule(rule, st, digest) else "kept",
                    "_full": path,
                    "_mtime": st.st_mtime_ns,
                }
            )
    return matches


def open_dir_nofollow(name, dir_fd):
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


def not_a_folder(st):
    """What a path that should be a folder is instead, in words: the one reason a walk refuses it."""
    return "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"


def walk_dirs(root_fd, parts, step):
    """Opens root/parts one folder at a time, each relative to the folder before it: `step(fd, i,
    part)` opens (or refuses) the next and returns its fd. Every fd but the last is closed on every
    path; the last is returned."""
    fd = os.dup(root_fd)
    try:
        for i, part in enumerate(parts):
            child = step(fd, i, part)
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def make_dirs_inside(root_fd, parts, shown, fold=True):
    """Opens (creating what is missing) root/parts one folder at a time, relative to the folder
    before it and never through a link: a link, or anything that is not a folder, anywhere on the
    way is refused (exit 5), so nothing is created outside the volume. With `fold`, an existing
    folder is reused whatever its letter case (NTFS names are case-insensitive). Returns the last
    folder's fd."""
    path: list[str] = []

    def step(fd, _i, part):
        try:
            names = os.listdir(fd)
        except OSError as e:
            raise Failure(EXIT_FAILURE, "error", f"cannot list {'/'.join(path) or 'the volume root'}: {e.strerror}") from e
        name = next((n for n in sorted(names) if n.lower() == part.lower()), part) if fold else part
        path.append(name)
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            os.mkdir(name, 0o755, dir_fd=fd)
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            raise Failure(
                EXIT_UNSAFE,
                "unsafe",
                f"{'/'.join(path)} on the volume is {not_a_folder(st)}; refusing to create the {shown} through it (nothing was moved)",
            )
        try:
            return open_dir_nofollow(name, fd)
        except OSError as e:
            raise Failure(
                EXIT_UNSAFE, "unsafe", f"{'/'.join(path)} on the volume cannot be opened as a folder ({e.strerror}); nothing was moved"
            ) from e

    return walk_dirs(root_fd, parts, step)


def new_quarantine_folder(root_fd, stamp, fold=True):
    """Creates this run's folder bootloop-rescue/quarantine/<stamp> (…-2, … when one of that name
    exists) relative to the volume's root, never through a link. Returns (its path on the volume,
    its fd)."""
    base_fd = make_dirs_inside(root_fd, QUARANTINE_ROOT.split("/"), "quarantine", fold)
    try:
        name = stamp
        for n in range(2, MAX_QUARANTINES_PER_STAMP + 2):
            try:
                os.mkdir(name, 0o755, dir_fd=base_fd)
                break
            except FileExistsError:
                name = f"{stamp}-{n}"
        else:
            raise Failure(
                EXIT_UNSAFE,
                "unsafe",
                f"{QUARANTINE_ROOT} already holds {MAX_QUARANTINES_PER_STAMP} folders named {stamp}…; refusing to add another",
            )
        return f"{QUARANTINE_ROOT}/{name}", open_dir_nofollow(name, base_fd)
    finally:
        os.close(base_fd)


def quarantine(root, matches, stamp, fold=True, extra=None, folder=None):
    """Moves each matched file to bootloop-rescue/quarantine/<stamp>/<its path> on the same volume
    (a rename: byte-identical, nothing copied or deleted), then writes a manifest beside them
    (with `extra`'s keys: a Linux guest's actions). Every folder is created relative to its
    parent, never through a link: a guest cannot point the quarantine outside the volume.
    `folder`: this run's folder made earlier by new_quarantine_folder (it already holds a kept
    copy), used instead of a new one."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if folder is not None:
            folder_rel = folder
            folder_fd = walk_dirs(root_fd, folder.split("/"), lambda fd, _i, part: open_dir_nofollow(part, fd))
        else:
            folder_rel, folder_fd = new_quarantine_folder(root_fd, stamp, fold)
        try:
            for m in matches:
                parts = m["path"].split("/")
                dest_fd = make_dirs_inside(folder_fd, parts[:-1], "quarantine", fold)
                try:
                    os.rename(m["_full"], parts[-1], dst_dir_fd=dest_fd)
                    st = os.stat(parts[-1], dir_fd=dest_fd, follow_symlinks=False)
                finally:
                    os.close(dest_fd)
                if os.path.lexists(m["_full"]) or not stat.S_ISREG(st.st_mode) or st.st_size != m["sizeBytes"]:
                    raise Failure(EXIT_FAILURE, "error", f"moving {m['path']} into quarantine could not be verified")
                m["action"] = "quarantined"
                m["quarantinedTo"] = f"{folder_rel}/{m['path']}"
            manifest = {"tool": f"repair-disk {VERSION}", "quarantinedAt": stamp, "files": [public(m) for m in matches], **(extra or {})}
            fd = os.open("manifest.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder_fd)
            with os.fdopen(fd, "w") as f:
                json.dump(manifest, f, indent=2)
                f.write("\n")
        finally:
            os.close(folder_fd)
    finally:
        os.close(root_fd)
    return folder_rel


def public(match):
    return {k: v for k, v in match.items() if not k.startswith("_")}


def earlier_quarantines(root, fold=True):
    """The quarantine folders earlier runs left (the newest MAX_EARLIER_LISTED), and how many there are."""
    q = find_ci(root, QUARANTINE_ROOT.split("/"), fold)
    if not q or not stat.S_ISDIR(os.lstat(q).st_mode):
        return [], 0
    names = sorted(os.listdir(q))
    return [f"{QUARANTINE_ROOT}/{n}" for n in names[-MAX_EARLIER_LISTED:]], len(names)
