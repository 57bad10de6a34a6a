"""Reading an initramfs without unpacking it: newc archives, an uncompressed early archive before the
compressed main one, each compression, the module's files found by name, and hostile archives bounded."""

import bz2
import gzip
import io
import lzma
import shutil
import subprocess

import pytest
from engine.linux.initramfs import Unreadable, archive_names, module_files


def newc(files, name_size=None):
    out = b""
    for i, (name, data) in enumerate([*files.items(), ("TRAILER!!!", b"")]):
        raw = name.encode() + b"\0"
        size = name_size if name_size is not None and name != "TRAILER!!!" else len(raw)
        fields = (i + 1, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, size, 0)
        header = b"070701" + b"".join(b"%08x" % f for f in fields)
        out += header + raw + b"\0" * (-(110 + len(raw)) % 4) + data + b"\0" * (-len(data) % 4)
    return out


EARLY = newc({"kernel/x86/microcode/AuthenticAMD.bin": b"ucode"})
EARLY += b"\0" * (-len(EARLY) % 512)
MAIN = newc({"usr/lib/modules/6.8.0/extra/falcon-lsm-serviceable.ko.xz": b"m" * 100, "init": b"#!/bin/sh\n"})


@pytest.mark.parametrize(
    ("kind", "pack"),
    [
        ("gzip", gzip.compress),
        ("xz", lzma.compress),
        ("bzip2", bz2.compress),
        ("zstd", lambda b: subprocess.run(["zstd", "-q", "-c"], input=b, capture_output=True, check=True).stdout),
    ],
)
def test_the_early_archive_then_the_compressed_main_one(kind, pack):
    if kind == "zstd" and shutil.which("zstd") is None:
        pytest.fail("zstd is not installed here: the zstd case cannot be checked")
    names, parts = archive_names(io.BytesIO(EARLY + pack(MAIN)))
    assert parts == ["cpio", kind]
    assert module_files(names, "falcon_lsm_serviceable") == ["usr/lib/modules/6.8.0/extra/falcon-lsm-serviceable.ko.xz"]
    assert module_files(names, "falcon_kal") == []


def test_an_uncompressed_initramfs_and_concatenated_archives():
    names, parts = archive_names(io.BytesIO(MAIN + newc({"etc/x": b""})))
    assert parts == ["cpio", "cpio"] and "etc/x" in names


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"MZ this is a kernel image", "neither a cpio archive"),
        (newc({"a": b"x"}, name_size=1 << 20), "claims a name"),
        (MAIN[:200], "ends inside a file"),
        (MAIN[:60], "cut short"),
        (EARLY + b"\x1f\x8b" + b"\0" * 30, "damaged"),
    ],
)
def test_a_hostile_or_damaged_archive_is_refused_with_its_reason(data, reason):
    with pytest.raises(Unreadable) as caught:
        archive_names(io.BytesIO(data))
    assert reason in str(caught.value)
