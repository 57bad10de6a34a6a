#!/usr/bin/env python3
"""Lists every file of one NTFS volume in an image (read-only loop, read-only mount) as JSON:
{path: {sha256, size, mtime}} ({special, mtime} for links, FIFOs and device nodes). Usage: inspect_image.py IMAGE OFFSET SIZE
[PATH DEST]: also copies the volume's file PATH to DEST (a hive to read with hivex, say)."""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

image, offset, size = sys.argv[1], sys.argv[2], sys.argv[3]
copy = sys.argv[4:6]
dev = subprocess.run(
    ["losetup", "--find", "--show", "--read-only", "--offset", offset, "--sizelimit", size, image],
    check=True,
    capture_output=True,
    text=True,
).stdout.strip()
mnt = tempfile.mkdtemp(prefix="inspect-")
try:
    subprocess.run(["ntfs-3g", "-o", "ro", dev, mnt], check=True, capture_output=True)
    try:
        files = {}
        for root, _dirs, names in os.walk(mnt):
            for n in names:
                p = os.path.join(root, n)
                st = os.lstat(p)
                if not stat.S_ISREG(st.st_mode):
                    # Links and special files (hostile fixtures): listed, never opened.
                    kind = "link -> " + os.readlink(p) if stat.S_ISLNK(st.st_mode) else stat.filemode(st.st_mode)[0]
                    files[os.path.relpath(p, mnt)] = {"special": kind, "mtime": st.st_mtime_ns}
                    continue
                with open(p, "rb") as f:
                    files[os.path.relpath(p, mnt)] = {
                        "sha256": hashlib.sha256(f.read()).hexdigest(),
                        "size": st.st_size,
                        "mtime": st.st_mtime_ns,
                    }
        if copy:
            shutil.copyfile(os.path.join(mnt, copy[0]), copy[1])
        print(json.dumps(files))
    finally:
        subprocess.run(["umount", mnt], check=True)
finally:
    os.rmdir(mnt)
    subprocess.run(["losetup", "-d", dev], check=True)
