"""The command line: arguments, the run (disk, partitions, volumes), the evidence document, exit codes."""

import argparse
import json
import os
import signal
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from .common import (
    EXIT_BAD_ARGS,
    EXIT_FAILURE,
    EXIT_LOCKED,
    EXIT_NO_WINDOWS,
    EXIT_OK,
    EXIT_UNSAFE,
    HELP_EXIT_CODES,
    VERSION,
    Failure,
    elapsed_ms,
    log,
    run,
    utc_iso,
)
from .disks import filesystem_of, open_disk, partition_table, skip_reason
from .linux.guest import repair_linux
from .rules import RULE_SETS, load_rules, rule_evidence
from .windows.bitlocker import bitlocker_protectors, load_keys, unlock_with_keys
from .windows.hives import HIVES, esp_bcd
from .windows.ntfs import probe_windows, repair_volume
from .windows.registry import hive_worker
from .workspace import Workspace, release_leftovers

# ---------------------------------------------------------------------------------------------
# Arguments, rules, key


class ArgumentError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ArgumentError(message)


def parse_args(argv):
    p = Parser(
        prog="repair-disk",
        description="Repair one attached Windows or Linux OS disk offline: quarantine the files a rule names "
        "(default: CrowdStrike channel file 291 of 2024-07-19 04:09-05:27 UTC) and apply the other rules (on Linux: "
        "mask-service, blacklist-module, boot-previous-kernel, fstab-nofail), and print one JSON evidence "
        "document on stdout. Progress goes to stderr.",
        epilog=HELP_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--disk", required=True, help="the disk: a block device (e.g. /dev/nvme1n1) or a raw disk image file")
    rules = p.add_mutually_exclusive_group()
    rules.add_argument("--rules", help="rules file (JSON or YAML) describing other incidents the same way as the default rule")
    rules.add_argument(
        "--rule-set",
        choices=sorted(RULE_SETS),
        help="a built-in rule set (default crowdstrike-291; crowdstrike-291-txr also moves the registry's TxR files, "
        "build 14393 and later; falcon-linux-2024 masks the Falcon sensor's service and blacklists its kernel modules)",
    )
    p.add_argument(
        "--bitlocker-key-file",
        help="file holding BitLocker recovery passwords (48 digits), one per line, each optionally "
        "preceded by its key id (readable by root only); every one is tried, those whose id the volume names first",
    )
    p.add_argument(
        "--bitlocker-bek-file",
        action="append",
        help="a BitLocker external key file (.BEK, e.g. Azure Disk Encryption's); may be given several times",
    )
    p.add_argument("--dry-run", action="store_true", help="report what would be done; change no byte")
    p.add_argument(
        "--lock-wait",
        type=int,
        default=1800,
        metavar="SECONDS",
        help="how long to wait for another repair of the same disk to finish (default 1800); two repairs never work on one disk at once",
    )
    p.add_argument("--version", action="version", version=f"repair-disk {VERSION}")
    return p.parse_args(argv)


def repair(args, evidence):
    rules = load_rules(args.rules, args.rule_set)
    evidence["rules"] = [rule_evidence(r) for r in rules]
    keys = load_keys(args.bitlocker_key_file, args.bitlocker_bek_file)
    release_leftovers()
    disk = open_disk(args.disk, args.lock_wait)
    evidence["disk"] = disk
    if disk["readOnly"] and not args.dry_run:
        raise Failure(EXIT_UNSAFE, "read-only", "the disk is read-only: nothing can be repaired, nothing was changed")
    table, parts = partition_table(disk)
    disk["partitionTable"] = table
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if is_linux_disk(disk, parts):
        return repair_linux_disk(args, evidence, disk, parts, rules, stamp)
    evidence["partitions"] = []
    evidence["volumes"] = []
    with held_workspace(evidence) as ws:
        esp = esp_bcd(ws, disk, parts)
        candidates, locked = [], []
        for part in parts:
            entry = {k: part[k] for k in ("number", "startBytes", "sizeBytes", "type", "typeId", "name")}
            inside = 0 < part["sizeBytes"] and part["startBytes"] + part["sizeBytes"] <= disk["sizeBytes"]
            entry["filesystem"] = filesystem_of(disk["path"], part["startBytes"]) if part["type"] != "extended" and inside else "none"
            entry["bitlocker"] = "encrypted" if entry["filesystem"] == "bitlocker" else "none"
            entry["windows"] = False
            evidence["partitions"].append(entry)
            reason = skip_reason(part)
            if part["sizeBytes"] <= 0 or part["startBytes"] + part["sizeBytes"] > disk["sizeBytes"]:
                reason = "the partition table puts it (partly) outside the disk"
            if reason:
                entry["skipped"] = reason
                continue
            if entry["filesystem"] == "none":
                entry["skipped"] = "empty: no filesystem"
                continue
            source, offset, size = disk["path"], part["startBytes"], part["sizeBytes"]
            if entry["filesystem"] == "bitlocker":
                protectors = bitlocker_protectors(disk["path"], offset, size)
                entry["protectors"] = protectors or []
                entry["protectorsRead"] = protectors is not None
                if not keys and not any(p["type"] == "clear-key" for p in protectors or []):
                    entry["skipped"] = "BitLocker-encrypted and no key given (--bitlocker-key-file, --bitlocker-bek-file)"
                    locked.append(part["number"])
                    continue
                log(f"partition {part['number']}: unlocking BitLocker")
                crypt_dev = ws.loop(disk["path"], offset, size, read_only=args.dry_run)
                source, entry["unlockedWith"] = unlock_with_keys(ws, crypt_dev, keys, protectors, args.dry_run, f"p{part['number']}")
                offset, size = 0, os.path.getsize(source)
                entry["bitlocker"] = "unlocked"
                if filesystem_of(source, 0) != "ntfs":
                    entry["skipped"] = "BitLocker volume unlocked, but it holds no NTFS filesystem"
                    continue
            elif entry["filesystem"] != "ntfs":
                entry["skipped"] = f"{entry['filesystem']} filesystem: Windows lives on NTFS"
                continue
            probe = probe_windows(ws, source, offset, size, f"p{part['number']}", rules, esp)
            if not probe["mountable"]:
                entry["skipped"] = f"NTFS volume cannot be mounted: {probe['reason']}"
                continue
            entry["windows"] = probe["windows"]
            if not probe["windows"]:
                entry["skipped"] = "NTFS volume without Windows/System32"
                if probe.get("bcd") and esp is None:
                    entry["skipped"] += "; it holds the BCD store (System Reserved)"
                    esp = {
                        "partition": part["number"],
                        "kind": "ntfs",
                        "path": "/".join(HIVES["BCD"]),
                        "source": source,
                        "offset": offset,
                        "sizeBytes": size,
                        "copy": probe["bcd"],
                    }
                continue
            log(f"partition {part['number']}: Windows found")
            candidates.append({"number": part["number"], "source": source, "offset": offset, "sizeBytes": size, "probe": probe})
        if not candidates:
            if locked:
                raise Failure(
                    EXIT_LOCKED,
                    "locked",
                    f"partition(s) {', '.join(map(str, locked))} are BitLocker-encrypted and no key was given (--bitlocker-key-file, "
                    "--bitlocker-bek-file)",
                )
            unmountable = [e["number"] for e in evidence["partitions"] if "cannot be mounted" in str(e.get("skipped", ""))]
            if unmountable:
                # Not known to hold no Windows: an NTFS volume this rescue VM could not mount.
                raise Failure(
                    EXIT_NO_WINDOWS,
                    "unmountable",
                    f"no Windows found, and NTFS partition(s) {', '.join(map(str, unmountable))} could not be mounted on this rescue VM",
                )
            raise Failure(EXIT_NO_WINDOWS, "no-windows", "no Windows installation on this disk (no NTFS volume holding Windows/System32)")
        worst = None
        for c in candidates:
            try:
                volume = repair_volume(ws, c, rules, stamp, args.dry_run, f"p{c['number']}", esp)
                log(f"partition {c['number']}: {volume['outcome']}")
            except Failure as f:
                volume = getattr(f, "volume", None) or {"partition": c["number"], "outcome": f.outcome, "message": f.message, "matches": []}
                worst = f if worst is None or f.code > worst.code else worst
            evidence["volumes"].append(volume)
        if worst:
            raise worst
    outcomes = [v["outcome"] for v in evidence["volumes"]]
    if "repaired" in outcomes:
        flush_disk(disk)
    for word in ("repaired", "would-repair"):
        if word in outcomes:
            return word, EXIT_OK
    return "nothing-to-do", EXIT_OK


def inside(disk, part):
    return 0 < part["sizeBytes"] and part["startBytes"] + part["sizeBytes"] <= disk["sizeBytes"]


def is_linux_disk(disk, parts):
    """A disk with a Linux file system (ext4, XFS, btrfs) or an LVM physical volume and no NTFS or
    BitLocker volume: the Linux path. Every other disk takes the Windows path, as it always has."""
    kinds = {filesystem_of(disk["path"], p["startBytes"]) for p in parts if p["type"] != "extended" and inside(disk, p)}
    return not kinds & {"ntfs", "bitlocker"} and bool(kinds & {"ext", "xfs", "btrfs", "lvm"})


def repair_linux_disk(args, evidence, disk, parts, rules, stamp):
    """The Linux path: the partitions as evidence, then the guest (engine.linux.guest)."""
    evidence["partitions"] = []
    evidence["volumes"] = []
    for part in parts:
        entry = {k: part[k] for k in ("number", "startBytes", "sizeBytes", "type", "typeId", "name")}
        entry["filesystem"] = (
            filesystem_of(disk["path"], part["startBytes"]) if part["type"] != "extended" and inside(disk, part) else "none"
        )
        entry["bitlocker"] = "none"
        entry["windows"] = False
        if not inside(disk, part):
            entry["skipped"] = "the partition table puts it (partly) outside the disk"
        elif part["type"] == "extended":
            entry["skipped"] = skip_reason(part)
        elif entry["filesystem"] in ("none", "unknown", "fat", "exfat"):
            entry["skipped"] = {"none": "empty: no filesystem", "unknown": "file system not supported (not ext4, XFS or btrfs)"}.get(
                entry["filesystem"], f"{entry['filesystem']} file system: not a Linux root"
            )
        evidence["partitions"].append(entry)
    evidence["linux"] = {}
    with held_workspace(evidence) as ws:
        linux = repair_linux(ws, disk, parts, evidence["partitions"], rules, stamp, args.dry_run, evidence["linux"], evidence["volumes"])
    if linux["outcome"] == "repaired":
        flush_disk(disk)
    return linux["outcome"], EXIT_OK


@contextmanager
def held_workspace(evidence):
    """A Workspace for one repair, closed on every path: what could not be released is named in the
    evidence, and fails a repair that otherwise succeeded."""
    ws = Workspace()
    try:
        yield ws
    finally:
        ws.close()
        if ws.release_errors:
            evidence["releaseErrors"] = ws.release_errors
    if ws.release_errors:
        raise Failure(EXIT_FAILURE, "error", "the repair ran, but releasing a mount or loop device failed: " + "; ".join(ws.release_errors))


def flush_disk(disk):
    """The cloud copies this disk next: every write must be on it, not in a cache."""
    if disk["kind"] == "block-device":
        os.sync()
        run(["blockdev", "--flushbufs", disk["path"]])


def on_sigterm(signum, frame):
    """SIGTERM (a cloud agent's timeout) unwinds like any failure, so every mount and loop is released."""
    raise Failure(EXIT_FAILURE, "error", "stopped by SIGTERM before the repair finished")


def main(argv):
    if argv[:1] == ["--hive-worker"]:
        print(json.dumps(hive_worker(json.load(sys.stdin))))
        return EXIT_OK
    began = time.monotonic()
    evidence = {"tool": "bootloop-rescue/repair-disk", "version": VERSION, "startedAt": utc_iso(), "dryRun": "--dry-run" in argv}
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        if "-h" in argv or "--help" in argv:
            try:
                parse_args(["--help"])
            except SystemExit:
                return EXIT_OK
        try:
            args = parse_args(argv)
        except ArgumentError as e:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{e}; see repair-disk --help") from e
        except SystemExit as e:  # --version
            return int(e.code or 0)
        if os.geteuid() != 0:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", "run as root: mounting and loop devices need it")
        outcome, code = repair(args, evidence)
        evidence["outcome"] = outcome
        evidence["message"] = {
            "repaired": "faulty files moved to quarantine; the volume was unmounted cleanly"
            if "linux" not in evidence
            else "the Linux rules were applied; the file systems were unmounted cleanly (the evidence's linux.undo undoes them)",
            "would-repair": "dry run: the matched files would be quarantined; nothing was changed"
            if "linux" not in evidence
            else "dry run: the Linux rules would change what linux.actions says; nothing was changed",
            "nothing-to-do": "no file matched a rule: nothing was changed"
            if "linux" not in evidence
            else "every rule for this Linux guest is satisfied already: nothing was changed",
        }[outcome]
        refused = [a["rule"] for a in evidence.get("linux", {}).get("actions", []) if a["status"] == "refused"]
        if refused:
            evidence["message"] += f"; refused (linux.actions says why): {', '.join(refused)}"
    except Failure as f:
        code = f.code
        evidence["outcome"] = f.outcome
        evidence["message"] = f.message
        log(f.message)
    except Exception as e:  # noqa: BLE001 -- unexpected: still one evidence document, exit 6
        code = EXIT_FAILURE
        evidence["outcome"] = "error"
        evidence["message"] = f"unexpected error: {type(e).__name__}: {e}"
        log(evidence["message"])
    evidence["exitCode"] = code
    evidence["finishedAt"] = utc_iso()
    evidence["durationMs"] = elapsed_ms(began)
    print(json.dumps(evidence, indent=2, sort_keys=False))
    return code


def entry():
    """The program's entry point (the zipapp's __main__.py and the launcher rescue/repair-disk)."""
    sys.exit(main(sys.argv[1:]))
