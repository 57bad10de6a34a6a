"""Loops and mounts: everything the engine acquires is held by its Workspace and released on every path;
what an engine killed outright left behind is released by the next one."""

import os
import re
import shutil
import subprocess
import tempfile
import time

from .common import log, mount_mode, mounts, run

# ---------------------------------------------------------------------------------------------
# Loops, mounts, BitLocker: everything acquired is released by the workspace, on every path


WORKSPACE_PREFIX = "bootloop-rescue-ws-"


def workspace_base():
    return os.environ.get("REPAIR_DISK_RUN_DIR") or ("/run" if os.access("/run", os.W_OK) else tempfile.gettempdir())


def process_start(pid):
    """The start time of a process (clock ticks since boot), or None when there is no such process:
    with the pid, it names one process even after pids are reused."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Workspace:
    """The engine's mount points and what it holds. Its folder names its owner (pid and start
    time) and every loop device it attached, so that an engine killed outright (SIGKILL, an agent
    that gives up) leaves nothing the next start cannot find and release."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix=WORKSPACE_PREFIX, dir=workspace_base())
        with open(os.path.join(self.dir, "owner"), "w") as f:
            f.write(f"{os.getpid()} {process_start(os.getpid())}\n")
        self.releases = []  # (description, function), released in reverse order
        self.release_errors = []
        self.driver = self._driver()
        self.last_driver = None

    def _driver(self):
        wanted = os.environ.get("REPAIR_DISK_NTFS_DRIVER", "auto")
        if wanted in ("ntfs3", "ntfs-3g"):
            return wanted
        if not has_filesystem("ntfs3") and shutil.which("modprobe"):
            # Best effort: whether ntfs3 is there is asked again below, whatever modprobe said.
            subprocess.run(["modprobe", "-q", "ntfs3"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return "ntfs3" if has_filesystem("ntfs3") else "ntfs-3g"

    def hold(self, description, release):
        self.releases.append((description, release))

    def release(self, description):
        """Releases one held resource now (the latest with this description)."""
        for i in range(len(self.releases) - 1, -1, -1):
            if self.releases[i][0] == description:
                _, fn = self.releases.pop(i)
                fn()
                return

    def close(self):
        while self.releases:
            description, fn = self.releases.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 -- whatever one release raises, the rest are still released
                self.release_errors.append(f"{description}: {e}")
                log(f"could not release {description}: {e}")
        shutil.rmtree(self.dir, ignore_errors=True)

    def loop(self, path, offset, size, read_only):
        argv = ["losetup", "--find", "--show", "--offset", str(offset), "--sizelimit", str(size)]
        if read_only:
            argv.append("--read-only")
        dev = run([*argv, path]).stdout.strip()
        self.hold(f"loop {dev}", lambda: detach_loop(dev))
        with open(os.path.join(self.dir, "loops"), "a") as f:
            f.write(f"{dev}\t{offset}\t{os.path.realpath(path)}\n")
        return dev

    def mountpoint(self, name):
        path = os.path.join(self.dir, name)
        os.makedirs(path, exist_ok=True)
        return path

    def mount_ntfs(self, dev, mnt, read_only, options=(), driver=None):
        """Mounts and returns (mode the kernel reports, stderr). Never trusts the exit code alone:
        ntfs-3g falls back to read-only on an unsafe volume and still succeeds."""
        driver = driver or self.driver
        # The guest's device nodes, set-uid bits and executables mean nothing here.
        opts = ["ro" if read_only else "rw", "noatime", "nodev", "nosuid", "noexec", *options]
        if driver == "ntfs3":
            proc = run(["mount", "-t", "ntfs3", "-o", ",".join(opts), dev, mnt], check=False)
        else:
            proc = run(["ntfs-3g", "-o", ",".join(opts), dev, mnt], check=False)
        mode = mount_mode(mnt)
        if mode:
            self.hold(f"mount {mnt}", lambda: unmount(mnt))
        return mode, proc.returncode, proc.stderr

    def mount_fs(self, dev, mnt, fstype, read_only, options=()):
        """Mounts a Linux guest's file system (ext4, xfs, btrfs) and returns (mode the kernel reports,
        stderr). The guest's device nodes, set-uid bits and executables mean nothing here."""
        opts = ["ro" if read_only else "rw", "noatime", "nodev", "nosuid", "noexec", *options]
        proc = run(["mount", "-t", fstype, "-o", ",".join(opts), dev, mnt], check=False)
        mode = mount_mode(mnt)
        if mode:
            self.hold(f"mount {mnt}", lambda: unmount(mnt))
        return mode, proc.stderr

    def unmount(self, mnt):
        self.release(f"mount {mnt}")


def recorded_loops(workspace):
    """The loop devices a workspace recorded: (device, offset, backing path)."""
    try:
        with open(os.path.join(workspace, "loops")) as f:
            rows = [line.rstrip("\n").split("\t") for line in f]
    except OSError:
        return []
    return [(r[0], r[1], r[2]) for r in rows if len(r) == 3 and re.fullmatch(r"/dev/loop[0-9]+", r[0])]


def loop_backing(dev):
    """(offset, backing path) of a loop device as the kernel has it, or None when it is free."""
    sys_dir = f"/sys/block/{os.path.basename(dev)}/loop"
    try:
        with open(f"{sys_dir}/backing_file") as f:
            backing = f.read().strip()
        with open(f"{sys_dir}/offset") as f:
            offset = f.read().strip()
    except OSError:
        return None
    return offset, backing


def release_leftovers():
    """Releases what engines that were killed outright left behind: their mounts (deepest first,
    lazily if busy), the loop devices they recorded, their folders. Workspaces of live engines
    (repairs of other disks running at the same time) are left alone. Returns what was released."""
    released: list[str] = []
    base = workspace_base()
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return released
    for name in names:
        path = os.path.join(base, name)
        if not name.startswith(WORKSPACE_PREFIX) or os.path.islink(path) or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, "owner")) as f:
                pid, start = f.read().split()
        except (OSError, ValueError):
            continue  # just created by a live engine that has not written its owner yet
        if process_start(pid) == start:
            continue
        mine = []
        for mnt in sorted((mp for _, mp, _ in mounts() if mp.startswith(path + "/")), key=len, reverse=True):
            if run(["umount", mnt], check=False).returncode != 0:
                run(["umount", "-l", mnt], check=False)
            mine.append(f"mount {mnt}")
        for dev, offset, backing in recorded_loops(path):
            # Loop numbers are reused: detach only a device still over what this engine put it on.
            if loop_backing(dev) == (offset, backing) and run(["losetup", "-d", dev], check=False).returncode == 0:
                mine.append(f"loop {dev}")
        shutil.rmtree(path, ignore_errors=True)
        log(f"released what a stopped repair (pid {pid}) left: {', '.join(mine) or 'its folder'}")
        released.extend(mine)
    return released


def has_filesystem(name):
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1] == name for line in f if line.strip())
    except OSError:
        return False


def detach_loop(dev, wait_seconds=5.0):
    """Detaches a loop device of this run and waits (at most `wait_seconds`) until the kernel has
    really let it go: `losetup -d` on a loop another process still has open (udev's blkid probe)
    only marks it autoclear and returns 0, and the device lingers until that process closes it."""
    attached = loop_backing(dev)
    for attempt in range(5):
        if run(["losetup", "-d", dev], check=False).returncode == 0:
            break
        time.sleep(0.2 * (attempt + 1))
    else:
        raise RuntimeError(f"losetup -d {dev} failed")
    deadline = time.monotonic() + wait_seconds
    pause = 0.01
    # Until it is free, or another loop (a repair of another disk took the freed number) is there.
    while attached is not None and loop_backing(dev) == attached:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"losetup -d {dev}: the loop device is still attached {wait_seconds:g} s later (held open by another process)"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def unmount(mnt):
    """Unmounts and waits until the kernel no longer lists the mount (ntfs-3g on a block device
    is fuseblk: umount returns after the volume is flushed)."""
    os.sync()
    for attempt in range(10):
        if mount_mode(mnt) is None:
            return
        run(["umount", mnt], check=False)
        if mount_mode(mnt) is None:
            return
        time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"umount {mnt} failed: the volume is still mounted")
