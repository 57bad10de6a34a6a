"""Registry hives and the BCD store: their health read offline, the hives read by hivex in a bounded worker."""

import fnmatch
import json
import os
import shutil
import stat
import struct
import subprocess
from typing import Any

from ..common import EXIT_UNSAFE, Failure, program
from ..files import find_ci, open_regular
from ..rules import file_rules

# ---------------------------------------------------------------------------------------------
# Registry hives: their health, read offline. The base blocks and transaction logs are parsed here
# (a few KiB each); the keys are read by hivex in a worker process under memory, CPU and time
# limits, from a file descriptor of a regular file, because a hive is guest data like any other.

HIVES = {
    "SYSTEM": ["Windows", "System32", "config", "SYSTEM"],
    "SOFTWARE": ["Windows", "System32", "config", "SOFTWARE"],
    "BCD": ["Boot", "BCD"],
}
REGF_BASE_BLOCK = 4096
MAX_HIVE_BYTES = 1 << 30  # a hive hivex is given at most (real SOFTWARE hives stay far below)
MAX_LOG_ENTRIES = 100000  # log entries counted per transaction log
HIVE_WORKER_SECONDS = 60  # wall time a hive read may take
HIVEX_PYTHON = os.environ.get("REPAIR_DISK_HIVEX_PYTHON", "/usr/bin/python3")  # where python3-hivex loads
TXR_PATTERNS = ("*.txr.*.regtrans-ms", "*.txr.blf")
MAX_TXR_FILES = 1000  # TxR files looked at (Windows keeps a handful)


def regf_checksum(block):
    x = 0
    for (dword,) in struct.iter_unpack("<I", block[:508]):
        x ^= dword
    return {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(x, x)


def hive_header(f):
    """The health of a hive's base block: its signature, sequence numbers (equal when Windows
    wrote it completely) and checksum."""
    block = f.read(REGF_BASE_BLOCK)
    if len(block) < 512 or block[:4] != b"regf":
        return {"signatureOk": False, "consistent": False}
    primary, secondary = struct.unpack_from("<II", block, 4)
    major, minor, file_type = struct.unpack_from("<III", block, 20)
    checksum_ok = struct.unpack_from("<I", block, 508)[0] == regf_checksum(block)
    return {
        "signatureOk": True,
        "version": f"{major}.{minor}",
        "primarySequence": primary,
        "secondarySequence": secondary,
        "checksumOk": checksum_ok,
        "consistent": checksum_ok and primary == secondary and file_type == 0,
    }


def log_pending_entries(f, size, secondary):
    """How many entries of a transaction log (new format: HvLE entries after a 512-byte base
    block) Windows has not yet written into the hive: those from the hive's secondary sequence
    number on. Returns (format, count)."""
    head = f.read(512)
    if len(head) < 512 or head[:4] != b"regf":
        return ("empty" if size == 0 or not head.strip(b"\0") else "unknown"), 0
    offset, pending = 512, 0
    for _ in range(MAX_LOG_ENTRIES):
        if offset + 40 > size:
            break
        f.seek(offset)
        entry = f.read(40)
        if len(entry) < 40:
            break
        if entry[:4] == b"DIRT" and offset == 512:
            return "old", 0
        if entry[:4] != b"HvLE":
            break
        length, _flags, sequence = struct.unpack_from("<III", entry, 4)
        if length < 40 or length % 512 or offset + length > size:
            break
        if sequence >= secondary:
            pending += 1
        offset += length
    return "new", pending


def hive_health(root, name):
    """A hive's file, base block and transaction logs (.LOG1, .LOG2), read without following a
    link or opening anything but a regular file. Returns (evidence, open file or None)."""
    parts = HIVES[name]
    path = find_ci(root, parts)
    f = open_regular(path) if path else None
    if f is None:
        return {"present": False, "path": "/".join(parts)}, None
    return hive_file_health(f, "/".join(parts), os.path.dirname(path), parts[-1]), f


def hive_file_health(f, shown, folder=None, name=None):
    """The health of an open hive file; its logs too when the folder holding them is given."""
    info = {"present": True, "path": shown, "sizeBytes": os.fstat(f.fileno()).st_size}
    info.update(hive_header(f))
    logs, pending = [], 0
    for suffix in ("LOG1", "LOG2") if folder else ():
        log_path = find_ci(folder, [f"{name}.{suffix}"])
        lf = open_regular(log_path) if log_path else None
        if lf is None:
            continue
        with lf:
            size = os.fstat(lf.fileno()).st_size
            fmt, count = log_pending_entries(lf, size, info.get("secondarySequence", 0))
        logs.append({"name": f"{name}.{suffix}", "sizeBytes": size, "format": fmt, "pendingEntries": count})
        pending += count
    info["logs"] = logs
    if info["signatureOk"]:
        info["pending"] = pending > 0 or info["primarySequence"] != info["secondarySequence"]
    return info


ESP_BCD = ["EFI", "Microsoft", "Boot", "BCD"]
MAX_BCD_BYTES = 16 << 20  # a BCD store is some 32 KiB; a bigger file is not copied


def limited(memory, **limits):
    """A child's resource limits (for subprocess preexec_fn): its address space, and any other
    RLIMIT_<NAME>=value given (CPU seconds, file size, open files), in a session of its own."""

    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        for name, value in limits.items():
            resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))
        os.setsid()

    return apply


def mtools(args):
    """Runs an mtools command: FAT read and written in user space (the kernel never mounts the
    guest's EFI system partition), bounded in time, memory and the size of what it writes."""
    return subprocess.run(  # the callers judge the exit status
        args,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limited(512 << 20, FSIZE=MAX_BCD_BYTES),
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1", "MTOOLS_LOWER_CASE": "0"},
    )


def copy_boot_store(ws, root, name):
    """Boot/BCD of a mounted NTFS volume without Windows (a System Reserved partition), copied into
    the workspace if it is a regular file of a store's size. Returns the copy's path or None."""
    path = find_ci(root, HIVES["BCD"])
    f = open_regular(path) if path else None
    if f is None:
        return None
    with f:
        if os.fstat(f.fileno()).st_size > MAX_BCD_BYTES:
            return None
        copy = os.path.join(ws.dir, f"BCD-{name}")
        with open(copy, "wb") as out:
            out.write(f.read(MAX_BCD_BYTES))
    return copy


def esp_bcd(ws, disk, parts):
    """The BCD store of a UEFI Windows: EFI/Microsoft/Boot/BCD on the disk's EFI system partition,
    copied into the workspace with mtools. Returns {partition, startBytes, sizeBytes, copy} or None."""
    if not shutil.which("mcopy"):
        return None
    for part in parts:
        if part["type"] != "efi" or part["sizeBytes"] <= 0 or part["startBytes"] + part["sizeBytes"] > disk["sizeBytes"]:
            continue
        dev = ws.loop(disk["path"], part["startBytes"], part["sizeBytes"], read_only=True)
        copy = os.path.join(ws.dir, f"BCD-p{part['number']}")
        try:
            done = mtools(["mcopy", "-n", "-i", dev, "::/" + "/".join(ESP_BCD), copy])
        except subprocess.TimeoutExpired:
            done = None
        finally:
            ws.release(f"loop {dev}")
        if done is not None and done.returncode == 0 and os.path.isfile(copy) and not os.path.islink(copy):
            return {
                "partition": part["number"],
                "kind": "esp",
                "path": "/".join(ESP_BCD),
                "source": disk["path"],
                "offset": part["startBytes"],
                "sizeBytes": part["sizeBytes"],
                "copy": copy,
            }
    return None


def txr_files(root):
    """The registry's transaction files (Windows/System32/config/TxR): regular files only, at most
    MAX_TXR_FILES; a Failure (exit 5) when there are more."""
    folder = find_ci(root, ["Windows", "System32", "config", "TxR"])
    if not folder or not stat.S_ISDIR(os.lstat(folder).st_mode):
        return []
    found: list[tuple[str, str, os.stat_result]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if any(fnmatch.fnmatchcase(entry.name.lower(), p) for p in TXR_PATTERNS) and entry.is_file(follow_symlinks=False):
                if len(found) == MAX_TXR_FILES:
                    raise Failure(
                        EXIT_UNSAFE,
                        "unsafe",
                        f"Windows/System32/config/TxR holds more than {MAX_TXR_FILES} TxR files, which Windows never leaves; "
                        "refusing to go on",
                    )
                found.append((entry.name, entry.path, entry.stat(follow_symlinks=False)))
    return sorted(found)


def hive_worker_call(request, files):
    """Runs this program's hive worker on open hive files (passed as descriptors), bounded in memory,
    CPU and time. Returns its answer, or raises RuntimeError saying why there is none."""
    if not os.path.exists(HIVEX_PYTHON):
        raise RuntimeError(f"{HIVEX_PYTHON} is missing")
    largest = max((os.fstat(f.fileno()).st_size for f in files.values()), default=0)
    if largest > MAX_HIVE_BYTES:
        raise RuntimeError(f"a hive of {largest} bytes is larger than {MAX_HIVE_BYTES}; not read")
    fds = {name: f.fileno() for name, f in files.items()}
    memory = min(512 * 1024 * 1024 + 4 * largest, 6 * 1024 * 1024 * 1024)
    try:
        done = subprocess.run(  # the exit status is judged below
            [HIVEX_PYTHON, program(), "--hive-worker"],
            check=False,
            input=json.dumps({**request, "fds": fds}),
            capture_output=True,
            text=True,
            pass_fds=list(fds.values()),
            preexec_fn=limited(memory, CPU=HIVE_WORKER_SECONDS, NOFILE=64),
            timeout=HIVE_WORKER_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"reading the hives took longer than {HIVE_WORKER_SECONDS} s") from None
    if done.returncode != 0:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:]
        raise RuntimeError(last[0].strip()[:300] if last else f"the hive reader exited with {done.returncode}")
    return json.loads(done.stdout)


def normalized_image_path(image):
    """A driver's ImagePath as a path on the Windows volume, lower case: \\SystemRoot\\ and
    %SystemRoot% are Windows/, \\??\\C:\\ and C:\\ the volume root, a bare System32\\… Windows/."""
    p = image.replace("\\", "/").strip().strip('"')
    low = p.lower()
    for prefix, repl in (("/systemroot/", "windows/"), ("%systemroot%/", "windows/"), ("/??/c:/", ""), ("c:/", "")):
        if low.startswith(prefix):
            return repl + low[len(prefix) :]
    return ("windows/" + low) if low.startswith("system32/") else low


def registry_health(root, rules, esp=None):
    """The registry evidence of a Windows volume: each hive's health, the TxR files, and (read by
    hivex) the Windows build, the current control set, the boot-start drivers the rules' folders
    hold and the BCD store's default boot entry (its store on the volume, or else the copy from
    the EFI system partition or a System Reserved partition, `esp`). Reads only. Returns the
    evidence and the Start of each service a disable-service rule names."""
    hives, files = {}, {}
    try:
        for name in HIVES:
            hives[name], f = hive_health(root, name)
            if f is not None:
                files[name] = f
        if "BCD" not in files and esp is not None:
            f = open_regular(esp["copy"])
            if f is not None:
                hives["BCD"] = {**hive_file_health(f, esp["path"]), "partition": esp["partition"]}
                files["BCD"] = f
        try:
            txr = txr_files(root)
            registry: dict[str, Any] = {"hives": hives, "txr": {"files": len(txr), "bytes": sum(st.st_size for _, _, st in txr)}}
        except Failure:
            registry = {"hives": hives, "txr": {"files": MAX_TXR_FILES + 1, "bytes": 0, "overLimit": True}}
        readable = {n: f for n, f in files.items() if hives[n].get("signatureOk")}
        if not readable:
            return registry, {}
        services = sorted({r["service"] for r in rules if r["action"] == "disable-service"})
        try:
            answer = hive_worker_call({"op": "read", "services": services}, readable)
        except (RuntimeError, ValueError, OSError) as e:
            registry["readError"] = f"hives not read: {e}"
            return registry, {}
        for k in ("windowsBuild", "ubr", "productName", "controlSet", "bootEntry"):
            if answer.get(k) is not None:
                registry[k] = answer[k]
        if answer.get("errors"):
            registry["readError"] = "hives not read: " + "; ".join(f"{n}: {e}" for n, e in sorted(answer["errors"].items()))
        folders = {r["id"]: "/".join(r["parts"][:-1]).lower() + "/" for r in file_rules(rules)}
        touched = []
        for d in answer.get("bootDrivers", []):
            image = normalized_image_path(d.get("imagePath", ""))
            for rule_id, folder in folders.items():
                if folder != "/" and image.startswith(folder):
                    touched.append({"service": d["service"], "imagePath": d.get("imagePath", ""), "rule": rule_id})
        registry["bootStartDrivers"] = len(answer.get("bootDrivers", []))
        registry["ruleDrivers"] = touched
        return registry, answer.get("services", {})
    finally:
        for f in files.values():
            f.close()
