"""Registry rules: TxR files into the quarantine, services disabled, safe boot; planned read-only, done as
edited copies written back in one rename, with an undo file; and the hive worker itself."""

import io
import os
import stat
import struct
from typing import Any

from ..common import EXIT_FAILURE, EXIT_UNSAFE, VERSION, Failure, first_line, mount_mode, ns_iso
from ..files import make_dirs_inside, sha256_of
from ..rules import BOOTMGR, DEFAULT_ELEMENT, DESCRIPTION_ELEMENT, SAFE_BOOT_MODES, SAFE_BOOT_NAMES, SAFEBOOT_ELEMENT, TXR_MIN_BUILD
from .hives import ESP_BCD, HIVES, MAX_HIVE_BYTES, hive_header, hive_worker_call, mtools, txr_files

# ---------------------------------------------------------------------------------------------
# Registry rules: TxR files into the quarantine, services disabled. Planned on the read-only pass,
# done on the read-write one after the files were quarantined; a hive is edited only as a copy,
# only when its header is consistent, and written back in one rename, with an undo file beside
# the quarantined files.

UNDO_FILE = "registry-undo.reg"


def windows_build(registry):
    build = registry.get("windowsBuild") or ""
    return int(build) if build.isdigit() else None


def plan_registry(registry, services, rules):
    """What the registry rules do on this volume: a change record per disable-service rule
    (status change, unchanged or absent), a skip record for a TxR rule that does not apply, and
    whether the TxR files are to be quarantined. A change that cannot be made safely is a
    Failure (exit 5) before anything changes."""
    records, txr_rule = [], None
    control_set = registry.get("controlSet")
    system = registry["hives"].get("SYSTEM", {})
    for rule in rules:
        if rule["action"] == "quarantine-txr":
            build = windows_build(registry)
            if build is not None and build >= TXR_MIN_BUILD:
                txr_rule = rule
            else:
                shown = f"Windows build {build}" if build is not None else "the Windows build is unknown, so"
                records.append(
                    {
                        "rule": rule["id"],
                        "action": "quarantine-txr",
                        "status": "skipped",
                        "reason": f"{shown} is older than {TXR_MIN_BUILD} (Windows Server 2016): TxR files are kept"
                        if build is not None
                        else f"{shown} TxR files are kept",
                    }
                )
        elif rule["action"] == "disable-service":
            name = rule["service"]
            if not system.get("present"):
                raise Failure(
                    EXIT_UNSAFE,
                    "unsafe",
                    f"rule {rule['id']}: the volume has no SYSTEM hive ({system.get('path')}) to disable {name} in; nothing was changed",
                )
            if not control_set:
                why = registry.get("readError") or "it has no Select\\Current control set"
                raise Failure(EXIT_UNSAFE, "unsafe", f"rule {rule['id']}: the SYSTEM hive cannot be read ({why}); nothing was changed")
            record = {
                "rule": rule["id"],
                "action": "disable-service",
                "hive": "SYSTEM",
                "key": f"{control_set}\\Services\\{name}",
                "value": "Start",
            }
            found = services.get(name) or {"present": False}
            if not found["present"]:
                records.append({**record, "status": "absent"})
                continue
            if found["start"] == 4:
                records.append({**record, "from": 4, "to": 4, "status": "unchanged"})
                continue
            if not system.get("consistent"):
                state = (
                    f"sequence numbers {system.get('primarySequence')}/{system.get('secondarySequence')}, "
                    f"checksum {'good' if system.get('checksumOk') else 'bad'}"
                )
                raise Failure(
                    EXIT_UNSAFE,
                    "unsafe",
                    f"rule {rule['id']}: the SYSTEM hive's header is not consistent ({state}): Windows did not finish writing it, "
                    "and editing it offline could lose what its logs hold; nothing was changed",
                )
            records.append({**record, "from": found["start"], "to": 4, "status": "change"})
        elif rule["action"] == "safe-boot":
            bcd = registry["hives"].get("BCD", {})
            entry = registry.get("bootEntry")
            if not bcd.get("present") or not entry:
                why = (
                    registry.get("readError")
                    or "looked at Boot/BCD on the volume and on a System Reserved partition, and at EFI/Microsoft/Boot/BCD on the EFI "
                    "system partition"
                )
                raise Failure(
                    EXIT_UNSAFE,
                    "unsafe",
                    f"rule {rule['id']}: no BCD store with a default boot entry was found ({why}); nothing was changed",
                )
            current = entry.get("safeBoot")
            current = {v: k for k, v in SAFE_BOOT_NAMES.items()}.get(current, current)
            record = {
                "rule": rule["id"],
                "action": "safe-boot",
                "hive": "BCD",
                "key": f"Objects\\{entry['id']}\\Elements\\{SAFEBOOT_ELEMENT}",
                "value": "Element",
                "from": current,
                "to": SAFE_BOOT_MODES[rule["mode"]],
            }
            if bcd.get("partition") is not None:
                record["partition"] = bcd["partition"]
            if current == record["to"]:
                records.append({**record, "status": "unchanged"})
                continue
            if not bcd.get("consistent"):
                raise Failure(EXIT_UNSAFE, "unsafe", f"rule {rule['id']}: the BCD store's header is not consistent; nothing was changed")
            records.append({**record, "status": "change"})
    return records, txr_rule


def txr_matches(root, rule):
    """The TxR files as matches of the TxR rule, hashed like any quarantined file."""
    matches = []
    for _name, path, st in txr_files(root):
        rel = "/".join(os.path.relpath(path, root).split(os.sep))
        matches.append(
            {
                "rule": rule["id"],
                "path": rel,
                "sizeBytes": st.st_size,
                "modifiedAt": ns_iso(st.st_mtime_ns),
                "sha256": sha256_of(path),
                "action": "quarantine",
                "_full": path,
                "_mtime": st.st_mtime_ns,
            }
        )
    return matches


def read_bounded(fd, shown):
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_HIVE_BYTES:
        raise Failure(EXIT_UNSAFE, "unsafe", f"{shown} is not a regular file of a hive's size; nothing of the registry was changed")
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def undo_text(stamp, changes):
    """The .reg file that restores what the registry rules changed: a service's Start, or the
    default boot entry without its safeboot element."""
    lines = [
        "Windows Registry Editor Version 5.00",
        "",
        f"; bootloop-rescue repair-disk {VERSION}, {stamp}: registry values changed offline.",
        "; To restore them, import this file on the recovered VM: reg import " + UNDO_FILE,
        "; (the BCD store is loaded as HKLM\\BCD00000000 while Windows runs; bcdedit /deletevalue {default} safeboot does the same).",
        "",
    ]
    for c in changes:
        if c["action"] == "disable-service":
            lines += [f"[HKEY_LOCAL_MACHINE\\SYSTEM\\{c['key']}]", f'"Start"=dword:{c["from"]:08x}', ""]
        elif c["from"] is None:
            lines += [f"[-HKEY_LOCAL_MACHINE\\BCD00000000\\{c['key']}]", ""]
        else:
            lines += [
                f"[HKEY_LOCAL_MACHINE\\BCD00000000\\{c['key']}]",
                '"Element"=hex:' + ",".join(f"{b:02x}" for b in struct.pack("<Q", c["from"])),
                "",
            ]
    return "\ufeff" + "\r\n".join(lines)


def edit_hive_copy(ws, original, name, request, check):
    """Edits a copy of a hive in the workspace with the hive worker, and reads it back: `check`
    says whether the worker's read of the edited copy shows the change. Returns the edited bytes
    and what the worker's edit answered; a Failure (the hive on the disk untouched) otherwise."""
    header = hive_header(io.BytesIO(original))
    if not header.get("consistent"):
        raise Failure(
            EXIT_UNSAFE,
            "unsafe",
            f"the {name} hive changed since it was examined and its header is not consistent; nothing of the registry was changed",
        )
    copy = os.path.join(ws.dir, f"{name}.edit")
    with open(copy, "wb") as f:
        f.write(original)
    try:
        with open(copy, "rb") as f:
            result = hive_worker_call(request, {name: f})
        with open(copy, "rb") as f:
            edited_header = hive_header(f)
            f.seek(0)
            answer = hive_worker_call({"op": "read", "services": request.get("services", [])}, {name: f})
    except (RuntimeError, ValueError, OSError) as e:
        raise Failure(EXIT_FAILURE, "error", f"editing a copy of the {name} hive failed ({e}); the hive on the disk was not changed") from e
    if not edited_header.get("consistent") or not check(answer):
        raise Failure(
            EXIT_FAILURE, "error", f"the edited copy of the {name} hive did not read back as written; the hive on the disk was not changed"
        )
    with open(copy, "rb") as f:
        return f.read(), result


def replace_inside(root_fd, parts, edit):
    """Replaces the file root/parts with edit(its bytes): every folder opened without following a
    link, the file read only if regular, the new bytes written beside it and renamed over it."""
    shown = "/".join(parts)
    folder_fd = make_dirs_inside(root_fd, parts[:-1], "registry edit")
    try:
        name = next((n for n in sorted(os.listdir(folder_fd)) if n.lower() == parts[-1].lower()), parts[-1])
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd)
        except OSError as e:
            raise Failure(
                EXIT_UNSAFE, "unsafe", f"{shown} cannot be opened as a regular file ({e.strerror}); nothing of the registry was changed"
            ) from e
        try:
            original = read_bounded(fd, shown)
        finally:
            os.close(fd)
        edited = edit(original)
        temp = f"{name}.bootloop-rescue-new"
        try:
            st = os.stat(temp, dir_fd=folder_fd, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                raise Failure(
                    EXIT_UNSAFE, "unsafe", f"{shown}.bootloop-rescue-new is not a regular file; nothing of the registry was changed"
                )
            os.unlink(temp, dir_fd=folder_fd)  # left by an engine stopped before its rename
        except FileNotFoundError:
            pass
        wfd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder_fd)
        with os.fdopen(wfd, "wb") as f:
            f.write(edited)
            f.flush()
            os.fsync(f.fileno())
        os.rename(temp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    finally:
        os.close(folder_fd)


def disable_services(ws, root, control_set, changes):
    """Sets Start to 4 for the services of `changes` in the SYSTEM hive (edited as a copy, then
    replacing the hive). Records the previous values in the changes."""
    names = [c["key"].split("\\")[-1] for c in changes]
    previous = {}

    def edit(original):
        def check(answer):
            return all((answer.get("services", {}).get(n) or {}).get("start") == 4 for n in names)

        edited, result = edit_hive_copy(ws, original, "SYSTEM", {"op": "disable", "controlSet": control_set, "services": names}, check)
        previous.update(result["previous"])
        return edited

    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        replace_inside(root_fd, HIVES["SYSTEM"], edit)
    finally:
        os.close(root_fd)
    for c, n in zip(changes, names):
        if previous.get(n) is not None:
            c["from"] = previous[n]


def set_safe_boot(ws, root, esp, change, mode):
    """Sets the default boot entry's safeboot element in the BCD store: on the Windows volume or a
    System Reserved partition (replaced as a file), or on the EFI system partition (written back
    with mtools, then read back)."""
    entry = change["key"].split("\\")[1]

    def edit(original):
        return edit_hive_copy(
            ws,
            original,
            "BCD",
            {"op": "safe-boot", "entry": entry, "mode": mode},
            lambda answer: (answer.get("bootEntry") or {}).get("safeBoot") == SAFE_BOOT_NAMES[mode],
        )[0]

    if change.get("partition") is None:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            replace_inside(root_fd, HIVES["BCD"], edit)
        finally:
            os.close(root_fd)
        return
    if esp["kind"] == "ntfs":
        # The System Reserved partition: mounted read-write (ntfs-3g, never replaying or resetting
        # a journal) just for the store's replacement.
        dev = ws.loop(esp["source"], esp["offset"], esp["sizeBytes"], read_only=False)
        mnt = ws.mountpoint(f"p{esp['partition']}-boot")
        try:
            mounted, _, err = ws.mount_ntfs(dev, mnt, read_only=False, options=["norecover"], driver="ntfs-3g")
            if mounted != "rw":
                raise Failure(
                    EXIT_UNSAFE,
                    "unsafe",
                    f"partition {esp['partition']}, which holds the BCD store, cannot be mounted read-write safely "
                    f"({first_line(err or 'mounted read-only')}); the BCD store was not changed",
                )
            root_fd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                replace_inside(root_fd, HIVES["BCD"], edit)
            finally:
                os.close(root_fd)
        finally:
            if mount_mode(mnt) is not None:
                ws.unmount(mnt)
            ws.release(f"loop {dev}")
        return
    with open(esp["copy"], "rb") as f:
        edited = edit(read_bounded(f.fileno(), "the EFI system partition's BCD"))
    new = os.path.join(ws.dir, "BCD.new")
    with open(new, "wb") as out:
        out.write(edited)
    dev = ws.loop(esp["source"], esp["offset"], esp["sizeBytes"], read_only=False)
    back = os.path.join(ws.dir, "BCD.back")
    try:
        wrote = mtools(["mcopy", "-o", "-i", dev, new, "::/" + "/".join(ESP_BCD)])
        read = mtools(["mcopy", "-n", "-i", dev, "::/" + "/".join(ESP_BCD), back]) if wrote.returncode == 0 else None
    finally:
        ws.release(f"loop {dev}")
    if wrote.returncode != 0 or read is None or read.returncode != 0:
        raise Failure(
            EXIT_FAILURE,
            "error",
            "writing the BCD store back to the EFI system partition failed: "
            f"{first_line((wrote.stderr if wrote.returncode or read is None else read.stderr) or '')}",
        )
    with open(back, "rb") as f:
        if f.read() != edited:
            raise Failure(EXIT_FAILURE, "error", "the BCD store on the EFI system partition did not read back as written")


def write_undo(root, folder_rel, stamp, changes):
    """The undo file, in the quarantine folder (created without following a link). Returns its path."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        folder_fd = make_dirs_inside(root_fd, folder_rel.split("/"), "quarantine")
        try:
            ufd = os.open(UNDO_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder_fd)
            with os.fdopen(ufd, "w", encoding="utf-16-le", newline="") as f:
                f.write(undo_text(stamp, changes))
        finally:
            os.close(folder_fd)
    finally:
        os.close(root_fd)
    return f"{folder_rel}/{UNDO_FILE}"


def hive_worker(request):
    """The worker (run by HIVEX_PYTHON, limited): reads the hives it was handed as descriptors."""
    import hivex

    out: dict[str, Any] = {}

    def value(h, node, name, read):
        # hivex raises (errno 0) for a value that is not there, and for data of another type.
        try:
            v = h.node_get_value(node, name) if node else None
            return read(v) if v else None
        except RuntimeError:
            return None

    def text(h, node, name, limit=260):
        found = value(h, node, name, h.value_string)
        return found[:limit] if found is not None else None

    def dword(h, node, name):
        return value(h, node, name, h.value_dword)

    def child(h, node, *names):
        for n in names:
            node = h.node_get_child(node, n) if node else None
        return node

    fds = request["fds"]
    if request["op"] == "disable":
        # On the engine's own copy of SYSTEM: each service's Start set to 4 (disabled), committed.
        h = hivex.Hivex(f"/proc/self/fd/{fds['SYSTEM']}", write=True)
        services = child(h, h.root(), request["controlSet"], "Services")
        previous = {}
        for name in request["services"]:
            node = child(h, services, name) if services else None
            if not node:
                raise RuntimeError(f"service {name} is not in {request['controlSet']}")
            previous[name] = dword(h, node, "Start")
            h.node_set_value(node, {"key": "Start", "t": 4, "value": struct.pack("<I", 4)})
        h.commit(None)
        return {"previous": previous}
    if request["op"] == "safe-boot":
        # On the engine's own copy of the BCD store: the default entry's safeboot element.
        h = hivex.Hivex(f"/proc/self/fd/{fds['BCD']}", write=True)
        elements = child(h, h.root(), "Objects", request["entry"], "Elements")
        if not elements:
            raise RuntimeError(f"the BCD store has no entry {request['entry']}")
        node = child(h, elements, SAFEBOOT_ELEMENT) or h.node_add_child(elements, SAFEBOOT_ELEMENT)
        h.node_set_value(node, {"key": "Element", "t": 3, "value": struct.pack("<Q", request["mode"])})
        h.commit(None)
        return {}

    def read_bcd(h):
        entry = text(h, child(h, h.root(), "Objects", BOOTMGR, "Elements", DEFAULT_ELEMENT), "Element", 64)
        elements = child(h, h.root(), "Objects", entry, "Elements") if entry else None
        if elements:
            safe = value(h, child(h, elements, SAFEBOOT_ELEMENT), "Element", h.value_value)
            mode = struct.unpack_from("<Q", safe[1])[0] if safe and len(safe[1]) >= 8 else None
            out["bootEntry"] = {
                "id": entry,
                "description": text(h, child(h, elements, DESCRIPTION_ELEMENT), "Element") or "",
                "safeBoot": SAFE_BOOT_NAMES.get(mode, mode) if mode is not None else None,
            }

    def read_software(h):
        cv = child(h, h.root(), "Microsoft", "Windows NT", "CurrentVersion")
        out["windowsBuild"] = text(h, cv, "CurrentBuildNumber") or text(h, cv, "CurrentBuild")
        out["ubr"] = dword(h, cv, "UBR")
        out["productName"] = text(h, cv, "ProductName")

    def read_system(h):
        current = dword(h, child(h, h.root(), "Select"), "Current")
        if current is not None and 0 < current < 1000:
            out["controlSet"] = f"ControlSet{current:03d}"
            services = child(h, h.root(), out["controlSet"], "Services")
            drivers = []
            for node in (h.node_children(services) if services else [])[:20000]:
                if dword(h, node, "Start") == 0:
                    drivers.append({"service": h.node_name(node)[:260], "imagePath": text(h, node, "ImagePath") or ""})
            out["bootDrivers"] = drivers
            # The services a rule disables: their Start now (None: the service is not there).
            out["services"] = {}
            for name in request.get("services", []):
                node = child(h, services, name) if services else None
                out["services"][name] = {"present": bool(node), "start": dword(h, node, "Start") if node else None}

    # Each hive on its own: one hivex cannot read does not keep the others from being read.
    errors = {}
    for name, read in (("BCD", read_bcd), ("SOFTWARE", read_software), ("SYSTEM", read_system)):
        if name in fds:
            try:
                read(hivex.Hivex(f"/proc/self/fd/{fds[name]}"))
            except Exception as e:  # noqa: BLE001 -- a hive hivex refuses, or data of another shape: recorded, the others still read
                errors[name] = f"{type(e).__name__}: {e}"[:200]
    if errors:
        out["errors"] = errors
    return out
