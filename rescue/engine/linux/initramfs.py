"""What an initramfs holds, read without unpacking it: the cpio archives (newc) it is made of, an
uncompressed early one first (CPU microcode) and then the main one, compressed with gzip, xz, lzma,
bzip2, zstd or lz4 (the last two through the rescue VM's own zstd and lz4 programs; never a program
of the guest). Only names are read; file data is skipped. The guest's file is hostile: bounded in
entries, name length and the bytes read, whatever its headers claim."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import shutil
import subprocess
from typing import Any, BinaryIO

MAX_ENTRIES = 200_000
MAX_NAME = 4096
MAX_BYTES = 1 << 30  # uncompressed bytes read from one initramfs
HEADER = 110
MAGICS = (b"070701", b"070702")
COMPRESSIONS = [
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00\x00", "lzma"),
    (b"BZh", "bzip2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x02\x21\x4c\x18", "lz4"),
    (b"\x04\x22\x4d\x18", "lz4"),
]
PROGRAMS = {"zstd": ["zstd", "-dcq"], "lz4": ["lz4", "-dcq"]}


class Unreadable(Exception):
    """The archive cannot be read to its end: why, in words."""


class Counted:
    """A stream read with a bound on the bytes it may yield."""

    def __init__(self, f: Any, limit: int = MAX_BYTES) -> None:
        self.f = f
        self.left = limit
        self.pending = b""

    def read(self, n: int) -> bytes:
        out = self.pending[:n]
        self.pending = self.pending[n:]
        while len(out) < n:
            chunk = self.f.read(min(n - len(out), 1 << 20))
            if not chunk:
                break
            out += chunk
        self.left -= len(out)
        if self.left < 0:
            raise Unreadable(f"more than {MAX_BYTES >> 20} MiB uncompressed; not read further")
        return out

    def unread(self, data: bytes) -> None:
        self.pending = data + self.pending
        self.left += len(data)

    def skip(self, n: int) -> None:
        while n > 0:
            got = self.read(min(n, 1 << 20))
            if not got:
                raise Unreadable("the archive ends inside a file")
            n -= len(got)


def cpio_names(s: Counted, names: list[str]) -> bool:
    """Reads one newc archive's entry names into `names`, up to its TRAILER!!!. False when the
    stream holds no archive here (it ended, or other bytes follow)."""
    first = True
    while True:
        head = s.read(HEADER)
        if first and (len(head) < 6 or head[:6] not in MAGICS):
            s.unread(head)
            return False
        first = False
        if len(head) < HEADER or head[:6] not in MAGICS:
            raise Unreadable("a cpio header is cut short or damaged")
        try:
            size = int(head[54:62], 16)
            name_size = int(head[94:102], 16)
        except ValueError:
            raise Unreadable("a cpio header holds no hex number where one belongs") from None
        if not 0 < name_size <= MAX_NAME:
            raise Unreadable(f"a cpio entry claims a name of {name_size} bytes")
        name = s.read(name_size)
        s.skip((-(HEADER + name_size)) % 4)
        text = name.rstrip(b"\0").decode("utf-8", errors="replace")
        if text == "TRAILER!!!":
            return True
        names.append(text)
        if len(names) > MAX_ENTRIES:
            raise Unreadable(f"more than {MAX_ENTRIES} entries")
        s.skip(size + (-size) % 4)


def skip_padding(s: Counted) -> bytes:
    """Skips the zero bytes between archives; returns the next bytes (empty at the end)."""
    while True:
        chunk = s.read(1 << 16)
        if not chunk:
            return b""
        rest = chunk.lstrip(b"\0")
        if rest:
            s.unread(rest)
            return rest


def archive_names(f: BinaryIO) -> tuple[list[str], list[str]]:
    """The names in an initramfs (every archive in it) and how each part was stored ("cpio" for an
    uncompressed one, else the compression). Raises Unreadable with the reason."""
    names: list[str] = []
    parts: list[str] = []
    raw = Counted(f)
    while True:
        if cpio_names(raw, names):
            parts.append("cpio")
            if not skip_padding(raw):
                return names, parts
            continue
        head = raw.read(8)
        raw.unread(head)
        if not head:
            if not parts:
                raise Unreadable("empty")
            return names, parts
        kind = next((k for magic, k in COMPRESSIONS if head.startswith(magic)), None)
        if kind is None:
            raise Unreadable("neither a cpio archive nor a compression this engine reads")
        parts.append(kind)
        compressed_names(raw, kind, names)
        return names, parts


def compressed_names(raw: Counted, kind: str, names: list[str]) -> None:
    """The names of the archives in the compressed rest of the file (to its end, as the kernel reads it)."""
    if kind in PROGRAMS:
        program = shutil.which(PROGRAMS[kind][0])
        if program is None:
            raise Unreadable(f"compressed with {kind}, and {PROGRAMS[kind][0]} is not installed on this rescue VM")
        proc = subprocess.Popen([program, *PROGRAMS[kind][1:]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        feeder = Feeder(raw, proc.stdin)
        try:
            feeder.start()
            read_archives(Counted(proc.stdout), names)
        finally:
            proc.kill()
            proc.wait()
            feeder.stop()
        return
    source: Any = raw  # read as a file is: read(n) only
    try:
        if kind == "gzip":
            stream: Any = gzip.GzipFile(fileobj=source)
        elif kind == "bzip2":
            stream = bz2.BZ2File(source)
        else:
            stream = lzma.LZMAFile(source)
        read_archives(Counted(stream), names)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise Unreadable(f"the {kind} stream is damaged: {e}") from None


def read_archives(s: Counted, names: list[str]) -> None:
    while cpio_names(s, names):
        if not skip_padding(s):
            return
    if s.read(1):
        raise Unreadable("other bytes follow an archive")


class Feeder:
    """Copies the compressed rest of the file into a decompressing program's stdin, in a thread
    (so the program's output is read as it is made)."""

    def __init__(self, raw: Counted, pipe) -> None:
        import threading

        self.raw = raw
        self.pipe = pipe
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        try:
            data = self.raw.pending
            self.raw.pending = b""
            while data:
                self.pipe.write(data)
                data = self.raw.f.read(1 << 20)
        except (OSError, ValueError):
            pass
        finally:
            try:
                self.pipe.close()
            except OSError:
                pass

    def stop(self) -> None:
        self.thread.join(timeout=10)


def module_files(names: list[str], module: str) -> list[str]:
    """The files among `names` that are the kernel module (NAME.ko, .ko.xz, .ko.zst, .ko.gz; '-'
    and '_' alike, as the kernel reads module names)."""
    wanted = module.replace("-", "_")
    out = []
    for n in names:
        m = re.match(r"^(.*)\.ko(?:\.(?:xz|zst|gz))?$", n.rsplit("/", 1)[-1])
        if m and m.group(1).replace("-", "_") == wanted:
            out.append(n)
    return out


def read_initramfs(fd: int) -> tuple[list[str], list[str]]:
    """The names in the initramfs open as `fd` (which is closed), and how its parts are stored."""
    with os.fdopen(fd, "rb") as f:
        return archive_names(f)
