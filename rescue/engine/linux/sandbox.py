"""Runs one program of a guest (its dracut or update-initramfs) in a sandbox on the rescue VM: the
guest's programs are hostile, so they run only inside bubblewrap (bwrap) with every namespace
unshared (user, pid, net, ipc, uts, cgroup), every capability dropped, the guest's own volumes as
the only file systems (its root at /, its /boot partition at /boot, a minimal /dev, a /proc of the
sandbox's pid namespace with /proc/sys and /proc/sysrq-trigger read-only, an empty /tmp and /run),
no user namespace of its own inside (--disable-userns), a clean environment and stdin from
/dev/null; its output is kept up to a byte bound, and it is bounded in wall time (then everything in
it is killed), memory and processes by a cgroup of its own (v2 memory.max/pids.max, or the v1
memory and pids hierarchies), the bounds on a parent cgroup its namespace does not show. It runs
as the host's root inside those namespaces: what is not covered above is not bounded. When any of
that cannot be set up, nothing runs: SandboxRefused says why. Nothing the guest starts outlives the
call: the sandbox's pid namespace ends with it, what is left in its
cgroup is killed, and the cgroup is removed."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field

CGROUP_PREFIX = "bootloop-rescue-sandbox-"
CHILD = "sandbox"  # the child cgroup the sandbox runs in; the bounds are on its parent
OUTPUT_KEPT = 64 << 10  # the last bytes of the program's output kept
KILL_WAIT = 10.0  # seconds to wait for a killed sandbox's processes to be gone
NO_CGROUP = (
    "no cgroup with the memory and pids controllers (cgroup v2, or the v1 memory and pids hierarchies): "
    "the guest's program would run without memory and process bounds"
)
# The whole environment of the guest's program; /tmp is the sandbox's own empty tmpfs.
# /proc entries the host's root could write through, made read-only in the sandbox (bwrap's own
# cover of them depends on an access() check that fails for /proc/sys).
PROC_READ_ONLY = ("/proc/sys",)
PROC_READ_ONLY_IF_THERE = ("/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/pressure")  # sysrq-trigger: bwrap covers it too
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LC_ALL": "C", "TMPDIR": "/tmp"}  # noqa: S108


class SandboxRefused(Exception):
    """The sandbox cannot be set up with all its bounds: nothing was run. The message says why."""


@dataclass
class Limits:
    """The bounds of one run: wall time (s), memory (bytes) and processes."""

    seconds: float = 600.0
    memory: int = 1 << 30
    pids: int = 512

    @staticmethod
    def from_env() -> Limits:
        """The defaults, or REPAIR_DISK_REBUILD_TIMEOUT (s), REPAIR_DISK_REBUILD_MEMORY_MB and
        REPAIR_DISK_REBUILD_PIDS when set (a bad value refuses the sandbox)."""
        out = Limits()
        for name, attr, scale in (
            ("REPAIR_DISK_REBUILD_TIMEOUT", "seconds", 1),
            ("REPAIR_DISK_REBUILD_MEMORY_MB", "memory", 1 << 20),
            ("REPAIR_DISK_REBUILD_PIDS", "pids", 1),
        ):
            text = os.environ.get(name)
            if text is None:
                continue
            if not text.isdigit() or int(text) <= 0:
                raise SandboxRefused(f"{name}={text!r} is not a positive whole number")
            setattr(out, attr, type(getattr(out, attr))(int(text) * scale))
        return out


@dataclass
class Result:
    """How the program ended: its exit code (None when killed at the time bound), the seconds it
    took, the tail of its output (stdout and stderr together), and why it was killed, if it was."""

    exit_code: int | None
    seconds: float
    output: bytes
    killed: str | None = None
    oom: bool = False
    notes: list[str] = field(default_factory=list)


def bwrap_argv(bwrap: str, root: str, boot: str | None, hidden: list[str], argv: list[str]) -> list[str]:
    """The bwrap command: the guest's root (and /boot) read-write, nothing else of the rescue VM;
    each of `hidden` (folders on the guest, e.g. the quarantine; real folders, checked by the
    caller without following a link) covered by an empty tmpfs."""
    out = [
        bwrap,
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup",
        # No user namespace inside: else a nested userns + cgroupns could mount cgroup v1
        # hierarchies and raise the bounds (their files owned by the host's root, our uid 0).
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--bind",
        root,
        "/",
    ]
    if boot is not None:
        out += ["--bind", boot, "/boot"]
    out += ["--dev", "/dev", "--proc", "/proc"]
    # The sandbox's uid 0 is the host's root: bwrap makes /proc/sys read-only only when it finds it
    # writable by access(), which it is not for the r-x folder, so the host's sysctls
    # (kernel.core_pattern: root on the rescue VM) would be writable. Read-only binds over them.
    for entry in PROC_READ_ONLY:
        out += ["--ro-bind", entry, entry]
    for entry in PROC_READ_ONLY_IF_THERE:
        out += ["--ro-bind-try", entry, entry]
    out += ["--tmpfs", "/tmp", "--tmpfs", "/run"]  # noqa: S108 -- inside the sandbox
    for folder in hidden:
        out += ["--tmpfs", folder]
    for key, value in ENV.items():
        out += ["--setenv", key, value]
    out += ["--chdir", "/", "--", *argv]
    return out


# ---------------------------------------------------------------------------------------------
# cgroups


def cgroup_mounts(mounts_text: str) -> tuple[str | None, dict[str, str]]:
    """(the cgroup v2 mount, {v1 controller: its hierarchy's mount}) from /proc/self/mounts text."""
    v2 = None
    v1: dict[str, str] = {}
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        where, kind, options = fields[1].replace("\\040", " "), fields[2], fields[3].split(",")
        if kind == "cgroup2" and v2 is None:
            v2 = where
        elif kind == "cgroup":
            for controller in ("memory", "pids"):
                if controller in options:
                    v1.setdefault(controller, where)
    return v2, v1


def cgroup_available(mounts_text: str | None = None) -> int:
    """The cgroup version the sandbox would use (2, or 1 for the v1 memory and pids hierarchies),
    read without changing anything; SandboxRefused when there is none."""
    if mounts_text is None:
        with open("/proc/self/mounts") as f:
            mounts_text = f.read()
    v2, v1 = cgroup_mounts(mounts_text)
    try:
        if v2 is not None and {"memory", "pids"} <= set(read_text(f"{v2}/cgroup.controllers").split()):
            return 2
    except OSError:
        pass
    if "memory" in v1 and "pids" in v1:
        return 1
    raise SandboxRefused(NO_CGROUP)


class Cgroup:
    """A cgroup of the sandbox's own, bounding memory and processes: v2 when its memory and pids
    controllers are there, else the v1 memory and pids hierarchies; else SandboxRefused. The bounds
    are set on a parent cgroup and the sandbox runs in a child of it (CHILD), so the sandbox's
    cgroup namespace (rooted at the child) never shows the files that hold the bounds."""

    def __init__(self, limits: Limits, mounts_text: str | None = None) -> None:
        if mounts_text is None:
            with open("/proc/self/mounts") as f:
                mounts_text = f.read()
        v2, v1 = cgroup_mounts(mounts_text)
        name = f"{CGROUP_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
        self.dirs: list[str] = []  # each parent before its child: removed in reverse
        self.parents: list[str] = []
        self.children: list[str] = []
        self.version = 0
        try:
            if v2 is not None and {"memory", "pids"} <= set(read_text(f"{v2}/cgroup.controllers").split()):
                self.version = 2
                enabled = read_text(f"{v2}/cgroup.subtree_control").split()
                missing = [c for c in ("memory", "pids") if c not in enabled]
                if missing:
                    write_text(f"{v2}/cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
                parent, _ = self.make(v2, name)
                write_text(f"{parent}/memory.max", str(limits.memory))
                if os.path.exists(f"{parent}/memory.swap.max"):
                    write_text(f"{parent}/memory.swap.max", "0")
                write_text(f"{parent}/pids.max", str(limits.pids))
            elif "memory" in v1 and "pids" in v1:
                self.version = 1
                memory, _ = self.make(v1["memory"], name)
                pids, _ = self.make(v1["pids"], name)
                write_text(f"{memory}/memory.limit_in_bytes", str(limits.memory))
                if os.path.exists(f"{memory}/memory.memsw.limit_in_bytes"):
                    write_text(f"{memory}/memory.memsw.limit_in_bytes", str(limits.memory))
                write_text(f"{pids}/pids.max", str(limits.pids))
            else:
                raise SandboxRefused(NO_CGROUP)
        except OSError as e:
            self.remove()
            raise SandboxRefused(f"the sandbox's cgroup cannot be set up: {e.filename}: {e.strerror}") from None
        except SandboxRefused:
            self.remove()
            raise
        self.procs = [f"{d}/cgroup.procs" for d in self.children]

    def make(self, hierarchy: str, name: str) -> tuple[str, str]:
        """(the parent, its child) made in one hierarchy, after sweeping what killed engines left."""
        sweep(hierarchy)
        parent = os.path.join(hierarchy, name)
        os.mkdir(parent, 0o700)
        self.dirs.append(parent)
        self.parents.append(parent)
        child = os.path.join(parent, CHILD)
        os.mkdir(child, 0o700)
        self.dirs.append(child)
        self.children.append(child)
        return parent, child

    def enter(self) -> None:
        """Moves the calling process into the child cgroups (run in the child between fork and exec)."""
        for procs in self.procs:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

    def pids(self) -> set[int]:
        """Every process in the parents and their children."""
        out: set[int] = set()
        for d in self.dirs:
            try:
                out |= {int(p) for p in read_text(f"{d}/cgroup.procs").split()}
            except OSError:
                pass
        return out

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the cgroup for its memory bound (v1 counts the
        kill on the victim's cgroup, the child; v2 on every level)."""
        for d in self.dirs[:2]:
            try:
                if self.version == 2:
                    events = dict(line.split() for line in read_text(f"{d}/memory.events").splitlines())
                else:
                    events = dict(line.split() for line in read_text(f"{d}/memory.oom_control").splitlines())
                if int(events.get("oom_kill", "0")) > 0:
                    return True
            except (OSError, StopIteration, ValueError):
                continue
        return False

    def kill_all(self) -> bool:
        """SIGKILL to every process in the cgroup until none is left; False if some outlived
        KILL_WAIT. v2: cgroup.kill first (the kernel kills the whole subtree, no fork can race it);
        v1: the freezer is not ours, so SIGKILL by pid, again until none is left."""
        deadline = time.monotonic() + KILL_WAIT
        if self.version == 2 and self.parents and os.path.exists(f"{self.parents[0]}/cgroup.kill"):
            try:
                write_text(f"{self.parents[0]}/cgroup.kill", "1")
            except OSError:
                pass
        while True:
            left = self.pids()
            if not left:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def remove(self) -> list[str]:
        """Removes the cgroup's folders, each child before its parent (empty by then); the ones that
        could not be, with why."""
        errors = []
        for d in reversed(self.dirs):
            for attempt in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if attempt == 49:
                        errors.append(f"{d}: {e.strerror}")
                    time.sleep(0.05)
        self.dirs = []
        return errors


def sweep(parent: str) -> None:
    """Removes the sandbox cgroups an engine killed outright left (its pid gone; empty by then, as
    --die-with-parent ended what ran in them), depth first: a cgroup that still holds a process is
    left."""
    try:
        names = [n for n in os.listdir(parent) if n.startswith(CGROUP_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(CGROUP_PREFIX) :].split("-")[0]
        if not pid.isdigit() or os.path.exists(f"/proc/{pid}"):
            continue
        top = os.path.join(parent, name)
        for sub in (os.path.join(top, CHILD), top):
            try:
                os.rmdir(sub)
            except OSError:
                pass


def sweep_all() -> None:
    """sweep() in every hierarchy the sandbox uses (cgroup v2, the v1 memory and pids), for a run
    that ends before it makes a cgroup of its own (an earlier run's intent record found)."""
    try:
        with open("/proc/self/mounts") as f:
            v2, v1 = cgroup_mounts(f.read())
    except OSError:
        return
    for hierarchy in filter(None, [v2, v1.get("memory"), v1.get("pids")]):
        sweep(hierarchy)


def read_text(path: str) -> str:
    with open(path) as f:
        return f.read(1 << 16)


def write_text(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------
# The run


def find_bwrap() -> str:
    """bwrap on the rescue VM (REPAIR_DISK_BWRAP names another; the tests name a missing one)."""
    wanted = os.environ.get("REPAIR_DISK_BWRAP", "bwrap")
    found = shutil.which(wanted)
    if found is None:
        raise SandboxRefused(f"{wanted} (bubblewrap) is not installed on this rescue VM: the guest's program would run unsandboxed")
    try:
        proc = subprocess.run([found, "--help"], capture_output=True, timeout=10, check=False, env={})
    except (OSError, subprocess.SubprocessError) as e:
        raise SandboxRefused(f"{found} --help cannot be run: {e}") from None
    if b"--disable-userns" not in proc.stdout[:OUTPUT_KEPT] + proc.stderr[:OUTPUT_KEPT]:
        raise SandboxRefused(
            f"{found} (bubblewrap) has no --disable-userns (0.8 or later needed): the guest's program could make a user "
            "namespace of its own and lift the sandbox's memory and process bounds"
        )
    return found


def run_sandboxed(root: str, boot: str | None, hidden: list[str], argv: list[str], limits: Limits) -> Result:
    """Runs `argv` (a path on the guest) in the sandbox over the guest's root (and /boot) folders.
    Raises SandboxRefused, with nothing run, when a bound cannot be set up; else returns how it
    ended. Everything it started is gone when this returns."""
    bwrap = find_bwrap()
    cgroup = Cgroup(limits)
    started = time.monotonic()
    proc = None
    notes: list[str] = []
    killed = None
    timed_out = False
    output = b""
    try:
        try:
            proc = subprocess.Popen(
                bwrap_argv(bwrap, root, boot, hidden, argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={},
                close_fds=True,
                preexec_fn=cgroup.enter,  # noqa: PLW1509 -- the child joins the cgroup before bwrap runs
            )
        except (OSError, subprocess.SubprocessError) as e:
            raise SandboxRefused(f"bwrap cannot be started in the sandbox's cgroup: {e}") from None
        output, timed_out = collect(proc, started + limits.seconds)
        if not timed_out:
            try:
                proc.wait(timeout=max(0.0, started + limits.seconds - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
        if timed_out:
            killed = f"still running at its time bound ({limits.seconds:g} s): killed"
    finally:
        if not cgroup.kill_all():
            notes.append(f"processes of the sandbox outlived {KILL_WAIT:g} s of SIGKILL")
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=KILL_WAIT)
            except subprocess.TimeoutExpired:
                notes.append(f"bwrap outlived {KILL_WAIT:g} s of SIGKILL")
            if proc.stdout is not None:
                proc.stdout.close()
        oom = cgroup.oom_killed()
        notes += [f"cgroup not removed: {e}" for e in cgroup.remove()]
    if oom and killed is None:
        killed = f"over its memory bound ({limits.memory >> 20} MiB): killed"
    return Result(
        exit_code=None if timed_out else proc.returncode,
        seconds=round(time.monotonic() - started, 1),
        output=output,
        killed=killed,
        oom=oom,
        notes=notes,
    )


def collect(proc: subprocess.Popen, deadline: float) -> tuple[bytes, bool]:
    """The program's output up to its end (the last OUTPUT_KEPT bytes), or up to the deadline
    (then True: it was still running)."""
    if proc.stdout is None:
        raise SandboxRefused("bwrap was started without its output pipe")
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    kept = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return kept, True
            if not sel.select(timeout=min(left, 1.0)):
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                return kept, False
            kept = (kept + chunk)[-OUTPUT_KEPT:]
