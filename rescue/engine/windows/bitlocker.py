"""BitLocker: the keys a run may try, the protectors a volume names, and unlocking with dislocker."""

import os
import re
import struct
import subprocess
import time
import uuid

from ..common import EXIT_BAD_ARGS, EXIT_FAILURE, EXIT_LOCKED, Failure, log, mount_mode
from ..disks import read_at
from ..workspace import unmount

MAX_RECOVERY_PASSWORDS = 64  # lines of --bitlocker-key-file
MAX_BEK_FILES = 16  # --bitlocker-bek-file given
MAX_BEK_BYTES = 4096  # a BEK file is about 160 bytes
MAX_UNLOCK_TRIES = 8  # keys tried on one volume
KEY_ID = re.compile(r"\{?([0-9a-f]{8}(?:-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?)\}?")


def recovery_password(text):
    """The recovery password in its usual form (8 blocks of 6 digits, hyphens optional in the
    input), or None when the text is not one: 48 digits, each block a multiple of 11 below 720,896."""
    digits = text.replace("-", "")
    blocks = [digits[i : i + 6] for i in range(0, len(digits), 6)]
    if not re.fullmatch(r"\d{48}", digits) or any(int(b) % 11 or int(b) >= 720896 for b in blocks):
        return None
    return "-".join(blocks)


def load_keys(password_file, bek_files):
    """The keys a run may try on BitLocker volumes: recovery passwords, one per line of the key file,
    each optionally preceded by its key id (the protector's GUID, or its first 8 hex digits as
    recovery-key exports show it), and BEK external key files, whose id is read from the file.
    Checks the form only; a bad line is named by its number, never echoed (it may be a real key
    with a typo)."""
    keys, seen = [], set()
    if password_file is not None:
        try:
            with open(password_file, "rb") as f:
                data = f.read(64 * 1024 + 1)
            text = data.decode("ascii")
            if len(data) > 64 * 1024:
                raise UnicodeDecodeError("ascii", b"", 0, 1, "too large")
        except (OSError, UnicodeDecodeError) as e:
            raise Failure(
                EXIT_BAD_ARGS,
                "bad-arguments",
                f"--bitlocker-key-file: cannot read it ({getattr(e, 'strerror', None) or 'not a text of at most 64 KiB'})",
            ) from e
        for number, line in enumerate(text.splitlines(), 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            where = f"--bitlocker-key-file: line {number}"
            if len(fields) > 2:
                raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{where}: expected [KEY-ID] RECOVERY-PASSWORD")
            key_id = None
            if len(fields) == 2:
                m = KEY_ID.fullmatch(fields[0].lower())
                if not m:
                    raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{where}: the key id is not a GUID or its first 8 hex digits")
                key_id = m.group(1)
            password = recovery_password(fields[-1])
            if password is None:
                raise Failure(
                    EXIT_BAD_ARGS,
                    "bad-arguments",
                    f"{where}: not a BitLocker recovery password (48 digits in 8 blocks of 6, each a multiple of 11)",
                )
            if password in seen:
                continue
            seen.add(password)
            keys.append({"protector": "recovery-password", "keyId": key_id, "secret": password})
        if len(keys) > MAX_RECOVERY_PASSWORDS:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"--bitlocker-key-file: more than {MAX_RECOVERY_PASSWORDS} recovery passwords")
    if len(bek_files or []) > MAX_BEK_FILES:
        raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"--bitlocker-bek-file: more than {MAX_BEK_FILES} files")
    for number, path in enumerate(bek_files or [], 1):
        where = f"--bitlocker-bek-file #{number}"
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_BEK_BYTES + 1)
        except OSError as e:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{where}: cannot read it ({e.strerror})") from e
        key_id = bek_key_id(data) if len(data) <= MAX_BEK_BYTES else None
        if key_id is None:
            raise Failure(EXIT_BAD_ARGS, "bad-arguments", f"{where}: not a BitLocker external key (.BEK) file")
        if data in seen:
            continue
        seen.add(data)
        keys.append({"protector": "external-key", "keyId": key_id, "path": path})
    return keys


def fve_entries(data, start, end, limit=256):
    """The FVE metadata entries (datums) in data[start:end]: (offset, size, entry type, value type),
    at most `limit`; stops at the first entry that does not fit."""
    out: list[tuple[int, int, int, int]] = []
    pos = start
    while pos + 8 <= end and len(out) < limit:
        size, entry_type, value_type = struct.unpack_from("<HHH", data, pos)
        if size < 8 or pos + size > end:
            break
        out.append((pos, size, entry_type, value_type))
        pos += size
    return out


def bek_key_id(data):
    """The key id of a BEK external key file (the GUID of its external key datum, which names the
    volume's protector it opens), or None when the data is not one: a 48-byte dataset header, then
    an external key datum (value type 9) with a key datum (value type 1) inside."""
    if len(data) < 48 + 8 + 24 + 8:
        return None
    size, _, header = struct.unpack_from("<III", data, 0)
    if header != 48 or not 48 < size <= len(data):
        return None
    for pos, length, _, value_type in fve_entries(data, 48, size):
        if value_type == 9 and length >= 8 + 24 + 8:
            if any(v == 1 for _, _, _, v in fve_entries(data, pos + 32, pos + length, 16)):
                return str(uuid.UUID(bytes_le=bytes(data[pos + 8 : pos + 24])))
    return None


PROTECTION_TYPES = {
    0x0000: "clear-key",
    0x0100: "tpm",
    0x0200: "external-key",
    0x0500: "tpm-pin",
    0x0800: "recovery-password",
    0x2000: "password",
}
MAX_PROTECTORS = 32


def bitlocker_protectors(path, offset, size):
    """The key protectors a BitLocker volume lists in its FVE metadata: [{type, id}], from the first
    of its three metadata blocks that reads as one, or None when none does. The volume comes from the
    guest: offsets outside it, sizes over 64 KiB and entry counts are bounded."""
    head = read_at(path, offset, 512)
    if len(head) < 200 or head[3:11] != b"-FVE-FS-":
        return None
    for block in struct.unpack_from("<QQQ", head, 176):
        if not 0 < block <= size - 112:
            continue
        meta = read_at(path, offset + block, 112)
        if meta[:8] != b"-FVE-FS-" or struct.unpack_from("<H", meta, 10)[0] != 2:
            continue
        length = struct.unpack_from("<I", meta, 64)[0]
        if not 48 <= length <= 64 * 1024 or block + 64 + length > size:
            continue
        entries = read_at(path, offset + block + 112, length - 48)
        found: list[dict[str, str]] = []
        for pos, entry_size, entry_type, value_type in fve_entries(entries, 0, len(entries)):
            if entry_type == 2 and value_type == 8 and entry_size >= 8 + 28 and len(found) < MAX_PROTECTORS:
                kind = struct.unpack_from("<H", entries, pos + 8 + 26)[0]
                found.append(
                    {"type": PROTECTION_TYPES.get(kind, "other"), "id": str(uuid.UUID(bytes_le=bytes(entries[pos + 8 : pos + 24])))}
                )
        return found
    return None


def key_matches(key, protector):
    """A key is for a protector when their types agree and the key's id (full, or its first 8 hex
    digits) names the protector's."""
    return key["protector"] == protector["type"] and key["keyId"] is not None and protector["id"].startswith(key["keyId"])


def keys_to_try(keys, protectors):
    """The keys to try on a volume, best first. A volume whose protection is suspended (a clear key
    protector, as Windows leaves it during updates) opens without any key: that first. Then those
    whose id names one of its protectors, those without an id, the others; only of the kinds of
    protector the volume has (all of them when its metadata could not be read or named none). At
    most MAX_UNLOCK_TRIES."""
    if not protectors:
        return keys[:MAX_UNLOCK_TRIES]
    clear = [{"protector": "clear-key", "keyId": p["id"]} for p in protectors if p["type"] == "clear-key"][:1]
    kinds = {p["type"] for p in protectors}
    usable = [k for k in keys if k["protector"] in kinds]

    def rank(k):
        return 0 if any(key_matches(k, p) for p in protectors) else 1 if k["keyId"] is None else 2

    return (clear + sorted(usable, key=rank))[:MAX_UNLOCK_TRIES]


DISLOCKER_FAILURES = re.compile(r"(can't decrypt|cannot decrypt|invalid|error|wrong|failed|abort)", re.I)


def unlock_bitlocker(ws, dev, key, read_only, name):
    """Opens a BitLocker volume with dislocker with one key. A recovery password is typed into a
    private pseudo-terminal (dislocker's own prompt reads /dev/tty), so it is never in argv, the
    environment or a file other than the key file; a BEK file is named by its path (-f). Returns the
    decrypted volume file; a key that does not open the volume raises a `locked` Failure."""
    out_dir = ws.mountpoint(f"{name}-bitlocker")
    password = key["protector"] == "recovery-password"
    method = {"recovery-password": ["-p"], "clear-key": ["-c"]}.get(key["protector"]) or ["-f", key["path"]]
    argv = ["dislocker", "-V", dev] + method + (["-r"] if read_only else []) + ["--", out_dir]
    what = {"recovery-password": "the recovery password", "clear-key": "the clear key (protection suspended)"}.get(
        key["protector"], "the external key (BEK)"
    )
    master, slave = os.openpty()

    def controlling_tty():
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        # preexec_fn is unsafe only with threads, and repair-disk runs none; dislocker prompts on
        # /dev/tty, so the pty must be its controlling terminal, which only the child can take.
        proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=controlling_tty,  # noqa: PLW1509
        )
    except FileNotFoundError:
        os.close(master)
        os.close(slave)
        raise Failure(EXIT_FAILURE, "error", "dislocker is not installed on this rescue VM (needed for BitLocker volumes)") from None
    os.close(slave)
    seen, typed, deadline = b"", False, time.monotonic() + 120
    failure_words = []
    try:
        import select

        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    chunk = b""
                if chunk:
                    seen = (seen + chunk)[-4096:]
                    if password and not typed and b"recovery password" in seen.lower():
                        os.write(master, key["secret"].replace("-", "").encode() + b"\n")
                        typed = True
                        seen = b""
                    continue
            if proc.poll() is not None:
                break
        else:
            proc.kill()
            raise Failure(EXIT_LOCKED, "locked", f"dislocker did not finish unlocking within 120 s (wrong key: {what}?)")
        # dislocker echoes what was typed: keep only words that explain a failure, never digits.
        failure_words = sorted({m.group(1).lower() for m in DISLOCKER_FAILURES.finditer(seen.decode(errors="replace"))})
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    ws.hold(f"bitlocker {out_dir}", lambda: unmount(out_dir) if mount_mode(out_dir) else None)
    volume = os.path.join(out_dir, "dislocker-file")
    if proc.returncode != 0 or not os.path.exists(volume):
        ws.release(f"bitlocker {out_dir}")
        raise Failure(
            EXIT_LOCKED,
            "locked",
            f"BitLocker: {what} did not unlock the volume" + (f" (dislocker: {', '.join(failure_words)})" if failure_words else ""),
        )
    return volume


def unlock_with_keys(ws, dev, keys, protectors, read_only, name):
    """Opens a BitLocker volume with the first of the keys that does (see keys_to_try for the
    order). Returns the decrypted volume file and what opened it, for the evidence: the kind of
    protector, its key id (the key's own, or the volume's only protector of that kind), and the
    number of keys tried. Never the key."""
    candidates = keys_to_try(keys, protectors)
    if not candidates:
        kinds = ", ".join(sorted({p["type"] for p in protectors}))
        raise Failure(
            EXIT_LOCKED,
            "locked",
            f"BitLocker: the volume's protectors are {kinds}; none of the {len(keys)} keys given is a recovery password or external "
            "key for them",
        )
    last: Failure | None = None
    for tries, key in enumerate(candidates, 1):
        log(
            f"{name}: trying a {key['protector']}"
            + (f" (key id {key['keyId']})" if key["keyId"] else "")
            + f", {tries} of {len(candidates)}"
        )
        try:
            volume = unlock_bitlocker(ws, dev, key, read_only, f"{name}-{tries}")
        except Failure as e:
            if e.code != EXIT_LOCKED:
                raise
            last = e
            continue
        same_kind = [p for p in protectors or [] if p["type"] == key["protector"]]
        named = next((p["id"] for p in same_kind if key_matches(key, p)), None)
        key_id = named or (same_kind[0]["id"] if len(same_kind) == 1 else key["keyId"])
        return volume, {"protector": key["protector"], "keyId": key_id, "tries": tries}
    if len(candidates) == 1 and last is not None:
        raise last
    reason = last.message if last is not None else "no key tried"
    raise Failure(EXIT_LOCKED, "locked", f"BitLocker: none of the {len(candidates)} keys tried unlocked the volume ({reason})")
