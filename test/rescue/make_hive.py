#!/usr/bin/python3
"""make_hive.py: builds a Windows registry hive file for the engine tests, from JSON on stdin.

Debian's hivex ships no template hive, so the empty hive is written here from the documented REGF
format (a base block, then one hive bin holding the root key and its security cell); hivex then
adds the keys and values, and the base block is adjusted last when a test wants it damaged:

{"out": "/tmp/SYSTEM",
 "keys": {"Select": {"Current": {"dword": 2}},
          "ControlSet002\\\\Services\\\\CSAgent": {"Start": {"dword": 1}, "ImagePath": {"expand": "..."}}},
 "header": {"primarySequence": 9, "secondarySequence": 8, "breakChecksum": false}}

Value kinds: "dword", "sz", "expand" (REG_EXPAND_SZ), "binary" (hex). Runs under /usr/bin/python3,
where Debian's python3-hivex lives.
"""

import json
import struct
import sys

import hivex

REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD = 1, 2, 3, 4


def checksum(block):
    x = 0
    for (dword,) in struct.iter_unpack("<I", block[:508]):
        x ^= dword
    return {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(x, x)


def empty_hive(name):
    """A base block and one 4 KiB hive bin: the root key (nk), its security descriptor (sk), and
    the rest of the bin free."""
    root = 0x20
    nk_name = b"ROOT"
    nk_size = (4 + 2 + 76 + len(nk_name) + 7) // 8 * 8
    sk = root + nk_size  # cells follow one another: the security cell right after the root key
    # The root key: hive entry, not deletable, ASCII name; no subkeys, values or class.
    nk = (
        b"nk"
        + struct.pack(
            "<HQ" + "I" * 15 + "HH",
            0x2C,
            0,
            0,
            0,
            0,
            0,
            0xFFFFFFFF,
            0xFFFFFFFF,
            0,
            0xFFFFFFFF,
            sk,
            0xFFFFFFFF,
            0,
            0,
            0,
            0,
            0,
            len(nk_name),
            0,
        )
        + nk_name
    )
    nk_cell = (struct.pack("<i", -nk_size) + nk).ljust(nk_size, b"\0")
    # A self-relative security descriptor with no owner, group or ACLs; the sk list points at itself.
    descriptor = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 0)
    sk_body = b"sk" + struct.pack("<HIIII", 0, sk, sk, 1, len(descriptor)) + descriptor
    sk_size = (len(sk_body) + 4 + 7) // 8 * 8
    sk_cell = (struct.pack("<i", -sk_size) + sk_body).ljust(sk_size, b"\0")
    cells = bytearray(4096 - 32)
    cells[root - 0x20 : root - 0x20 + len(nk_cell)] = nk_cell
    cells[sk - 0x20 : sk - 0x20 + len(sk_cell)] = sk_cell
    free_at = sk - 0x20 + sk_size
    cells[free_at : free_at + 4] = struct.pack("<i", len(cells) - free_at)
    hbin = b"hbin" + struct.pack("<IIQQI", 0, 4096, 0, 0, 0) + bytes(cells)
    base = bytearray(4096)
    struct.pack_into("<4sIIQIIIIIII", base, 0, b"regf", 1, 1, 0, 1, 3, 0, 1, root, 4096, 1)
    base[48 : 48 + 64] = name.encode("utf-16-le")[:64].ljust(64, b"\0")
    struct.pack_into("<I", base, 508, checksum(base))
    return bytes(base) + hbin


def value(name, spec):
    ((kind, data),) = spec.items()
    if kind == "dword":
        return {"key": name, "t": REG_DWORD, "value": struct.pack("<I", data)}
    if kind in ("sz", "expand"):
        return {"key": name, "t": REG_SZ if kind == "sz" else REG_EXPAND_SZ, "value": (data + "\0").encode("utf-16-le")}
    if kind == "binary":
        return {"key": name, "t": REG_BINARY, "value": bytes.fromhex(data)}
    raise SystemExit(f"unknown value kind {kind}")


def build(spec):
    out = spec["out"]
    with open(out, "wb") as f:
        f.write(empty_hive(spec.get("name", "SYSTEM")))
    h = hivex.Hivex(out, write=True)
    for path, values in spec.get("keys", {}).items():
        node = h.root()
        for part in path.split("\\"):
            child = h.node_get_child(node, part)
            node = child if child else h.node_add_child(node, part)
        if values:
            h.node_set_values(node, [value(k, v) for k, v in values.items()])
    h.commit(None)
    header = spec.get("header", {})
    if header:
        with open(out, "r+b") as f:
            base = bytearray(f.read(4096))
            if "primarySequence" in header:
                struct.pack_into("<I", base, 4, header["primarySequence"])
            if "secondarySequence" in header:
                struct.pack_into("<I", base, 8, header["secondarySequence"])
            struct.pack_into("<I", base, 508, checksum(base) ^ (0x5A5A if header.get("breakChecksum") else 0))
            f.seek(0)
            f.write(base)


if __name__ == "__main__":
    build(json.load(sys.stdin))
