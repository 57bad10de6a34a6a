"""The Windows volume: probed read-only, mounted read-write only in ways that cannot corrupt it, repaired."""

import os
import re
import time

from ..common import EXIT_UNSAFE, Failure, elapsed_ms, first_line, mount_mode
from ..disks import volume_flags
from ..files import earlier_quarantines, examine_volume, find_ci, open_regular, public, quarantine
from .hives import copy_boot_store, registry_health
from .registry import disable_services, plan_registry, set_safe_boot, txr_matches, write_undo

# ---------------------------------------------------------------------------------------------
# The repair


def mount_read_only(ws, dev, mnt):
    """Mounts read-only with the preferred driver, falling back to ntfs-3g."""
    ws.last_driver = ws.driver
    mode, _code, err = ws.mount_ntfs(dev, mnt, read_only=True)
    if mode is None and ws.driver != "ntfs-3g":
        ws.last_driver = "ntfs-3g"
        mode, _code, err = ws.mount_ntfs(dev, mnt, read_only=True, driver="ntfs-3g")
    return mode, err


def probe_windows(ws, source, offset, size, name, rules, esp=None):
    """Mounts an NTFS volume read-only: does it hold Windows, is it hibernated, and what do the
    rules find on it. Nothing is written; a volume with nothing to quarantine is never mounted
    read-write, so an already repaired disk is left byte for byte as it was."""
    timings = {}
    started = time.monotonic()
    dev = ws.loop(source, offset, size, read_only=True)
    mnt = ws.mountpoint(f"{name}-probe")
    mode, err = mount_read_only(ws, dev, mnt)
    timings["readOnlyMount"] = elapsed_ms(started)
    try:
        if mode is None:
            return {"mountable": False, "reason": first_line(err)}
        windows = find_ci(mnt, ["Windows", "System32"])
        if not (windows and os.path.isdir(windows)):
            # A System Reserved partition (BIOS images): where the BCD store lives, if anywhere.
            return {"mountable": True, "windows": False, "bcd": copy_boot_store(ws, mnt, name)}
        # Only a regular file can hold hibernation data: a FIFO or device node under that name
        # is never opened (it would block, or hand the engine a device of the rescue VM).
        hiber = find_ci(mnt, ["hiberfil.sys"])
        signature = b""
        f = open_regular(hiber) if hiber else None
        if f is not None:
            with f:
                signature = f.read(4)
        special_hiberfile = bool(hiber) and f is None
        started = time.monotonic()
        earlier, earlier_total = earlier_quarantines(mnt)
        found = {
            "mountable": True,
            "windows": True,
            "hibernated": signature.lower() == b"hibr",
            "specialHiberfile": special_hiberfile,
            "driver": ws.last_driver,
            "matches": examine_volume(mnt, rules),
            "earlierQuarantines": earlier,
            "earlierQuarantinesTotal": earlier_total,
            "timingsMs": timings,
        }
        timings["examine"] = elapsed_ms(started)
        started = time.monotonic()
        found["registry"], found["services"] = registry_health(mnt, rules, esp)
        txr_rule = next((r for r in rules if r["action"] == "quarantine-txr"), None)
        found["txr"] = txr_matches(mnt, txr_rule) if txr_rule else []
        timings["registry"] = elapsed_ms(started)
        return found
    finally:
        started = time.monotonic()
        ws.unmount(mnt)
        ws.release(f"loop {dev}")
        timings["readOnlyUnmount"] = elapsed_ms(started)


def mount_for_repair(ws, dev, mnt, state):
    """Mounts the Windows volume read-write for the repair and returns the mount evidence.
    Read-write only in ways that cannot corrupt the volume; otherwise a Failure (exit 5) with
    nothing changed."""
    actions = []
    if state["dirty"]:
        actions.append("the volume is flagged dirty (Windows crashed); the flag is left set, so Windows checks the volume at its next boot")
    driver = ws.driver
    if driver == "ntfs3" and not state["hibernated"] and not state["specialHiberfile"] and not state["dirty"]:
        mode, _code, err = ws.mount_ntfs(dev, mnt, read_only=False, driver="ntfs3")
        if mode == "rw":
            return {"driver": "ntfs3", "mode": "read-write", "actions": actions}
        if mode:
            ws.unmount(mnt)
        actions.append(f"kernel ntfs3 would not mount read-write ({first_line(err)}); used ntfs-3g")
    options = ["norecover"]
    if state["hibernated"]:
        # Windows' hibernation (fast startup) image is discarded: mounting read-write while it is
        # kept would corrupt the volume when Windows resumed. The original disk and the backup keep it.
        options = ["norecover", "remove_hiberfile"]
        actions.append(
            "hibernation data discarded (hiberfil.sys removed); Windows starts cold. The original disk and the backup still hold it"
        )
    elif state["specialHiberfile"]:
        # Not a file Windows wrote (a FIFO or device node under that name): ntfs-3g would take it
        # for hibernation data and refuse to mount read-write. Windows recreates the file.
        options = ["norecover", "remove_hiberfile"]
        actions.append(
            "hiberfil.sys was not a regular file (a special file the guest left); removed to mount read-write. The original disk and "
            "the backup still hold it"
        )
    mode, _code, err = ws.mount_ntfs(dev, mnt, read_only=False, options=options, driver="ntfs-3g")
    if (
        mode != "rw"
        and re.search(r"unclean|logfile|journal", err or "", re.I)
        and not re.search(r"hibernat|fast restart|windows cache", err or "", re.I)
    ):
        # An unclean journal ($LogFile) from the crash: ntfs-3g cannot replay it; it resets it
        # (the documented 'recover' mode) and Windows' chkdsk repairs what the journal held.
        if mode:
            ws.unmount(mnt)
        options = [o for o in options if o != "norecover"] + ["recover"]
        mode, _code, err = ws.mount_ntfs(dev, mnt, read_only=False, options=options, driver="ntfs-3g")
        if mode == "rw":
            actions.append("NTFS journal ($LogFile) was not clean: reset by ntfs-3g (recover); Windows checks the volume at its next boot")
    if mode != "rw":
        if mode:
            ws.unmount(mnt)
        raise Failure(
            EXIT_UNSAFE, "unsafe", f"the volume cannot be mounted read-write safely: {first_line(err) if err else 'mounted read-only'}"
        )
    return {"driver": "ntfs-3g", "mode": "read-write", "options": options, "actions": actions}


def planned_actions(state):
    """What a read-write mount would have to do, for the dry run's evidence."""
    actions = []
    if state["dirty"]:
        actions.append("the volume is flagged dirty (Windows crashed); the flag would be left set")
    if state["hibernated"]:
        actions.append("would discard the hibernation data (hiberfil.sys) to mount read-write")
    elif state["specialHiberfile"]:
        actions.append("would remove hiberfil.sys, which is not a regular file, to mount read-write")
    return actions


def repair_volume(ws, candidate, rules, stamp, dry_run, name, esp=None):
    """Applies the rules to one Windows volume. The read-only probe already found the matches and
    read the registry; a read-write mount happens only when something must change and this is no
    dry run. Files are quarantined first; the registry rules act after that. Returns the volume
    evidence."""
    probe = candidate["probe"]
    flags = volume_flags(candidate["source"], candidate["offset"])
    state = {
        "dirty": bool(flags is not None and flags & 0x0001),
        "hibernated": probe["hibernated"],
        "specialHiberfile": probe["specialHiberfile"],
    }
    timings = probe["timingsMs"]
    registry = probe["registry"]
    services = probe["services"]
    volume = {
        "partition": candidate["number"],
        "dirty": state["dirty"],
        "hibernated": state["hibernated"],
        "earlierQuarantines": probe["earlierQuarantines"],
        "registry": registry,
        "timingsMs": timings,
    }
    if probe["earlierQuarantinesTotal"] > len(probe["earlierQuarantines"]):
        volume["earlierQuarantinesTotal"] = probe["earlierQuarantinesTotal"]
    records, txr_rule = plan_registry(registry, services, rules)
    changes = [r for r in records if r["status"] == "change"]
    bad = [m for m in probe["matches"] if m["action"] == "quarantine"] + (probe["txr"] if txr_rule else [])
    if records:
        volume["registryChanges"] = records
    if dry_run or not (bad or changes):
        volume["mount"] = {
            "driver": probe["driver"],
            "mode": "read-only",
            "actions": planned_actions(state) if dry_run and (bad or changes) else [],
        }
        for m in bad:
            m["action"] = "would-quarantine"
        for r in changes:
            r["status"] = "would-change"
        volume["matches"] = [public(m) for m in probe["matches"] + (probe["txr"] if txr_rule else [])]
        volume["outcome"] = "would-repair" if bad or changes else "nothing-to-do"
        return volume
    started = time.monotonic()
    dev = ws.loop(candidate["source"], candidate["offset"], candidate["sizeBytes"], read_only=False)
    mnt = ws.mountpoint(f"{name}-repair")
    try:
        volume["mount"] = mount_for_repair(ws, dev, mnt, state)
        timings["readWriteMount"] = elapsed_ms(started)
        started = time.monotonic()
        # Look again on the read-write mount: the files are taken from what is there now.
        matches = examine_volume(mnt, rules) + (txr_matches(mnt, txr_rule) if txr_rule else [])
        bad = [m for m in matches if m["action"] == "quarantine"]
        volume["matches"] = matches
        if bad or changes:
            volume["quarantineFolder"] = quarantine(mnt, bad, stamp)
        timings["quarantine"] = elapsed_ms(started)
        if changes:
            started = time.monotonic()
            try:
                disabling = [c for c in changes if c["action"] == "disable-service"]
                if disabling:
                    disable_services(ws, mnt, registry["controlSet"], disabling)
                for c in changes:
                    if c["action"] == "safe-boot":
                        set_safe_boot(ws, mnt, esp, c, c["to"])
                undo = write_undo(mnt, volume["quarantineFolder"], stamp, changes)
            except Failure as f:
                # The files are quarantined already: the evidence keeps saying so.
                volume["matches"] = [public(m) for m in matches]
                volume["outcome"] = f.outcome
                volume["message"] = f"{len(bad)} file(s) quarantined, then: {f.message}"
                for r in changes:
                    r["status"] = "failed"
                f.volume = volume  # type: ignore[attr-defined]  # the partial evidence travels with the failure
                raise
            for r in changes:
                r["status"] = "changed"
                r["undoFile"] = undo
            timings["registryEdit"] = elapsed_ms(started)
        volume["matches"] = [public(m) for m in matches]
        volume["outcome"] = "repaired" if bad or changes else "nothing-to-do"
    finally:
        started = time.monotonic()
        if mount_mode(mnt) is not None:
            ws.unmount(mnt)
        ws.release(f"loop {dev}")
        timings["readWriteUnmount"] = elapsed_ms(started)
    return volume
