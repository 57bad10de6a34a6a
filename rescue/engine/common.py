"""What every part of the engine shares: its version, exit codes, the Failure that ends a run, logging,
commands run without a shell, UTC times, and the kernel's mount table."""

import os
import subprocess
import sys
import time
from datetime import datetime, timezone

VERSION = "1.0.0"

# Exit codes: the contract with the cloud paths and the README.
EXIT_OK = 0  # repaired, or nothing to do (or, with --dry-run, what would be done)
EXIT_BAD_ARGS = 2  # bad arguments, rules file or key file
EXIT_NO_WINDOWS = 3  # no Windows (or Linux) installation on the disk this engine repairs
EXIT_LOCKED = 4  # BitLocker-encrypted and no key, or a wrong key
EXIT_UNSAFE = 5  # unsafe to go on: nothing changed (the evidence says why; on Linux, a link on a path it edits)
EXIT_FAILURE = 6  # any other failure

HELP_EXIT_CODES = """exit codes:
  0  repaired, or nothing to do (with --dry-run: nothing changed, evidence says what would be)
  2  bad arguments (disk, rules file or key file)
  3  no installation this engine repairs on the disk: no Windows, and no Linux root on ext4, XFS or
     btrfs (outcome no-windows), or one it does not support yet (outcome unsupported: a root or
     /boot on an LVM volume other than a single-segment linear one)
  4  BitLocker-encrypted and no key, or a wrong key
  5  unsafe, nothing changed: the volume cannot be mounted read-write safely (read-only device,
     unsafe state), the disk is in use or another repair of it is still running, or something
     on it tried to reach outside it (a link on the quarantine path, a crafted partition table or
     LVM metadata)
  6  any other failure (the evidence says what and where)"""


class Failure(Exception):
    """Ends the run with an exit code, an outcome word and a message for the evidence."""

    def __init__(self, code, outcome, message):
        super().__init__(message)
        self.code = code
        self.outcome = outcome
        self.message = message


def program():
    """The path this engine was started by (the zipapp RESCUE_LIB/repair-disk, or the launcher rescue/repair-disk):
    what runs it again, e.g. as the hive worker under HIVEX_PYTHON."""
    return os.path.abspath(sys.argv[0])


def elapsed_ms(since):
    return round((time.monotonic() - since) * 1000)


def log(message):
    print(f"repair-disk: {message}", file=sys.stderr, flush=True)


def utc_iso(ts=None):
    moment = datetime.now(timezone.utc) if ts is None else datetime.fromtimestamp(ts, timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def ns_iso(ns):
    """A file time in nanoseconds since the epoch as UTC ISO-8601, independent of the machine's TZ."""
    seconds, rest = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{rest // 1_000_000:03d}Z" if rest else f"{base}Z"


def parse_utc(text, where):
    if isinstance(text, datetime):
        # YAML reads an unquoted 2024-07-19T04:09:00Z as a time already: taken when it has a zone.
        moment = text
    elif not isinstance(text, str):
        raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{where}: expected an ISO-8601 time such as 2024-07-19T04:09:00Z")
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{where}: {text!r} is not an ISO-8601 time with a zone (e.g. 2024-07-19T04:09:00Z)")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


# ---------------------------------------------------------------------------------------------
# Commands


def run(argv, check=True, timeout=120):
    """Runs a command without a shell. Arguments never carry secrets (BitLocker keys go through a pty)."""
    try:
        proc = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout)  # the exit status is judged below
    except FileNotFoundError:
        raise Failure(EXIT_FAILURE, "error", f"{argv[0]} is not installed on this rescue VM") from None
    except subprocess.TimeoutExpired:
        raise Failure(EXIT_FAILURE, "error", f"{argv[0]} did not finish within {timeout} s") from None
    if check and proc.returncode != 0:
        raise Failure(EXIT_FAILURE, "error", f"{' '.join(argv[:2])} failed ({proc.returncode}): {first_line(proc.stderr)}")
    return proc


def first_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def mounts():
    """The kernel's mounts: (major:minor, mount point, mount options), from mountinfo."""
    with open("/proc/self/mountinfo") as f:
        return [(fields[2], fields[4].replace("\\040", " "), fields[5].split(",")) for fields in (line.split() for line in f)]


def mount_mode(mountpoint):
    """'rw' or 'ro' as the kernel has the mount, or None when nothing is mounted there."""
    target = os.path.realpath(mountpoint)
    for _, mp, options in mounts():
        if mp == target:
            return "rw" if "rw" in options else "ro"
    return None
