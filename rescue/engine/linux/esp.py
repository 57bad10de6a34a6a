"""GRUB's environment block on the EFI system partition: on EL 8 with UEFI, /boot/grub2/grubenv is a
relative link to ../efi/EFI/<vendor>/grubenv. That one link shape is followed, by its text only
(never through the file system), and only to the partition the guest's fstab mounts at /boot/efi,
resolved against THIS disk's ids. Any other link is refused.

The FAT volume is never mounted (the kernel never parses a guest's FAT, as for the Windows BCD
store; this engine's tests run on a kernel without vfat): mtools reads the one file in user space,
bounded in time, memory and the size of what it may write, over a read-only loop device. The write
rewrites the file's own clusters in place (same size, same clusters: as GRUB's save_env does; never
truncated, renamed or reallocated on FAT) over a read-write loop device, only after checking that
the bytes at those clusters are the bytes mtools read, and then reads the file back. Nothing else
on the partition is read or written, and every loop device is released on every path."""

from __future__ import annotations

import os
import re
import stat
import struct
import subprocess

from ..common import EXIT_FAILURE, EXIT_UNSAFE, Failure, first_line
from ..windows.hives import limited

MAX_GRUBENV_BYTES = 64 << 10  # as for a grubenv on /boot: a larger file is not a guest's own
# The one link shape followed: ../efi/EFI/<vendor>/grubenv (what EL 8's grub2 package ships), or the
# same place written absolutely; the vendor folder's name is a plain name (no wildcard mtools reads).
LINK = re.compile(r"(?:\.\./efi|/boot/efi)/EFI/([A-Za-z0-9][A-Za-z0-9._-]{0,63})/grubenv")  # matched whole (fullmatch)
MTOOLS_MEMORY = 256 << 20
MTOOLS_SECONDS = 60
MAX_CLUSTERS = 1024


def esp_parts(link_text: str) -> list[str] | None:
    """The path on the EFI partition a grubenv link names, when it is the one shape followed
    (../efi/EFI/<vendor>/grubenv from /boot/grub2 or /boot/grub); else None."""
    m = LINK.fullmatch(link_text)
    return ["EFI", m.group(1), "grubenv"] if m else None


def fat_layout(boot: bytes, volume_bytes: int) -> dict | None:
    """Where a FAT volume's clusters are, from its boot sector: the data area's offset, the bytes
    per cluster and how many clusters there are. None when the boot sector is not one this engine
    reads (a crafted or foreign one), or claims more than the partition holds."""
    if len(boot) < 512 or boot[510:512] != b"\x55\xaa":
        return None
    bps, spc, reserved, fats, root_entries, total16 = struct.unpack_from("<HBHBHH", boot, 11)
    (fat16,) = struct.unpack_from("<H", boot, 22)
    total32, fat32 = struct.unpack_from("<II", boot, 32)
    if bps not in (512, 1024, 2048, 4096) or spc not in (1, 2, 4, 8, 16, 32, 64, 128) or reserved < 1 or fats not in (1, 2):
        return None
    fat_sectors = fat16 or fat32
    total = total16 or total32
    first_data = reserved + fats * fat_sectors + (root_entries * 32 + bps - 1) // bps
    if fat_sectors == 0 or first_data >= total or total * bps > volume_bytes:
        return None
    return {"dataStart": first_data * bps, "clusterBytes": spc * bps, "clusters": (total - first_data) // spc}


def cluster_chain(mshowfat_out: str) -> list[int] | None:
    """The clusters of a file as mshowfat lists them (`::/EFI/x/grubenv <5-6 9>`), in order; None
    when the text is not that, or lists more than a small file has."""
    m = re.search(r"<([0-9 -]*)>\s*$", mshowfat_out.strip())
    if m is None:
        return None
    out: list[int] = []
    for token in m.group(1).split():
        first, _, last = token.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            return None
        a, b = int(first), int(last or first)
        if b < a or len(out) + (b - a + 1) > MAX_CLUSTERS:
            return None
        out.extend(range(a, b + 1))
    return out


def extents(layout: dict, clusters: list[int], size: int) -> list[tuple[int, int]] | None:
    """The (offset, length) runs on the volume that hold a file of `size` bytes in these clusters;
    None when the chain is not exactly as long as the file needs or leaves the data area."""
    cb = layout["clusterBytes"]
    if size <= 0 or len(clusters) != (size + cb - 1) // cb:
        return None
    out = []
    for i, c in enumerate(clusters):
        if not 2 <= c < layout["clusters"] + 2:
            return None
        out.append((layout["dataStart"] + (c - 2) * cb, min(cb, size - i * cb)))
    return out


def mtool(argv: list[str], max_file: int) -> subprocess.CompletedProcess:
    """One mtools command over a loop device, bounded: time, memory, and the size of a file it writes."""
    try:
        return subprocess.run(  # the callers judge the exit status
            argv,
            check=False,
            capture_output=True,
            text=True,
            timeout=MTOOLS_SECONDS,
            preexec_fn=limited(MTOOLS_MEMORY, FSIZE=max_file),
            env={**os.environ, "MTOOLS_SKIP_CHECK": "1", "MTOOLS_LOWER_CASE": "0"},
        )
    except FileNotFoundError:
        raise Failure(EXIT_FAILURE, "error", f"{argv[0]} (mtools) is not installed on this rescue VM") from None
    except subprocess.TimeoutExpired:
        raise Failure(
            EXIT_UNSAFE, "unsafe", f"{argv[0]} did not finish within {MTOOLS_SECONDS} s on the EFI partition; nothing changed"
        ) from None


class Esp:
    """The guest's EFI system partition (its fstab's /boot/efi, on this disk), reached only to read
    and rewrite one grubenv."""

    def __init__(self, ws, disk: dict, part: dict) -> None:
        self.ws = ws
        self.disk = disk
        self.part = part
        self.reads = 0

    def shown(self, parts: list[str]) -> str:
        return "/boot/efi/" + "/".join(parts)

    def _loop(self, read_only: bool) -> str:
        return self.ws.loop(self.disk["path"], self.part["startBytes"], self.part["sizeBytes"], read_only=read_only)

    def _copy(self, dev: str, parts: list[str]) -> tuple[bytes | None, str]:
        """The file's bytes as mtools reads them (or None and why)."""
        self.reads += 1
        copy = os.path.join(self.ws.dir, f"esp-grubenv-{self.reads}")
        try:
            done = mtool(["mcopy", "-n", "-i", dev, "::/" + "/".join(parts), copy], MAX_GRUBENV_BYTES + 1)
            try:
                st = os.stat(copy, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_size > MAX_GRUBENV_BYTES:
                raise Failure(
                    EXIT_UNSAFE,
                    "unsafe",
                    f"{self.shown(parts)} on the guest is larger than {MAX_GRUBENV_BYTES >> 10} KiB: not a guest's own; nothing changed",
                )
            if done.returncode != 0 or st is None or not stat.S_ISREG(st.st_mode):
                return None, f"mcopy: {first_line(done.stderr)}"
            with open(copy, "rb") as f:
                return f.read(MAX_GRUBENV_BYTES + 1), ""
        finally:
            if os.path.lexists(copy):
                os.unlink(copy)

    def _locate(self, dev: str, parts: list[str], data: bytes) -> tuple[list[tuple[int, int]] | None, str]:
        """Where the file's bytes are on the volume, checked: the bytes there are `data`."""
        shown = mtool(["mshowfat", "-i", dev, "::/" + "/".join(parts)], 1 << 20)
        if shown.returncode != 0:
            return None, f"mshowfat: {first_line(shown.stderr)}"
        fd = os.open(dev, os.O_RDONLY | os.O_CLOEXEC)
        try:
            layout = fat_layout(os.pread(fd, 512, 0), self.part["sizeBytes"])
            chain = cluster_chain(shown.stdout)
            runs = extents(layout, chain, len(data)) if layout is not None and chain is not None else None
            if runs is None:
                return None, "its clusters are not where the FAT's boot sector and cluster chain say (a FAT this engine does not read)"
            if b"".join(os.pread(fd, n, off) for off, n in runs) != data:
                return None, "the bytes at its clusters are not the file's (a FAT this engine does not read)"
            return runs, ""
        finally:
            os.close(fd)

    def read(self, parts: list[str]) -> tuple[bytes | None, str]:
        """(the file's bytes, "") read over a read-only loop device, its clusters found and checked
        (so a dry run refuses what a real run would); (None, why) when it cannot be."""
        dev = self._loop(read_only=True)
        try:
            data, why = self._copy(dev, parts)
            if data is None:
                return None, why
            runs, why = self._locate(dev, parts, data)
            return (data, "") if runs is not None else (None, why)
        finally:
            self.ws.release(f"loop {dev}")

    def rewrite(self, parts: list[str], old: bytes, new: bytes, keep) -> None:
        """Rewrites the file in place, at its own clusters and size, over a read-write loop device:
        only if it still holds `old` at the clusters the FAT names; `keep(old)` keeps the old bytes
        (on the root volume) before anything is written; the file is read back after."""
        shown = self.shown(parts)
        if len(old) != len(new):
            raise Failure(EXIT_UNSAFE, "unsafe", f"{shown} is {len(old)} bytes, not {len(new)}: not rewritten in place")
        dev = self._loop(read_only=False)
        try:
            now, why = self._copy(dev, parts)
            if now != old:
                raise Failure(
                    EXIT_UNSAFE, "unsafe", f"{shown} changed between the plan and the write ({why or 'other bytes'}); not changed"
                )
            runs, why = self._locate(dev, parts, now)
            if runs is None:
                raise Failure(EXIT_UNSAFE, "unsafe", f"{shown}: {why}; not changed")
            keep(old)
            fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
            try:
                at = 0
                for offset, length in runs:
                    os.pwrite(fd, new[at : at + length], offset)
                    at += length
                os.fsync(fd)
            finally:
                os.close(fd)
            back, why = self._copy(dev, parts)
            if back != new:
                raise Failure(EXIT_FAILURE, "error", f"{shown} did not read back as written ({why or 'other bytes'})")
        finally:
            self.ws.release(f"loop {dev}")
