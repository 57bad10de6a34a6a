"""The initramfs rebuild's pure parts: the sandbox's bwrap command and bounds (engine.linux.sandbox),
the guest's tool and its command, and the plan of one rebuild per image (engine.linux.rebuild)."""

import os

import pytest
from engine.common import Failure
from engine.linux.rebuild import MAX_REBUILDS, command, find_tool, has_conf, plan_jobs
from engine.linux.sandbox import CGROUP_PREFIX, CHILD, Cgroup, Limits, SandboxRefused, bwrap_argv, cgroup_available, cgroup_mounts, sweep

V = "6.8.0-45-generic"


def test_bwrap_argv_unshares_everything_and_binds_only_the_guest():
    argv = bwrap_argv("/usr/bin/bwrap", "/ws/root", "/ws/boot", ["/bootloop-rescue"], ["/usr/sbin/update-initramfs", "-u"])
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup"):
        assert flag in argv
    for flag in ("--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert "--disable-userns" in argv  # no nested user namespace (that could lift the cgroup bounds)
    binds = [argv[i + 1 : i + 3] for i, a in enumerate(argv) if a in ("--bind", "--dev-bind")]
    assert binds == [["/ws/root", "/"], ["/ws/boot", "/boot"]]
    # The host's root is the sandbox's uid 0: /proc/sys read-only (after --proc, over it), and the
    # other root-writable /proc entries when the kernel has them.
    ro = [argv[i + 1 : i + 3] for i, a in enumerate(argv) if a == "--ro-bind"]
    assert ro == [["/proc/sys", "/proc/sys"]]
    assert argv.index("--ro-bind") > argv.index("--proc")
    ro_try = [argv[i + 1] for i, a in enumerate(argv) if a == "--ro-bind-try"]
    assert ro_try == ["/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/pressure"]
    tmpfs = [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    assert tmpfs == ["/tmp", "/run", "/bootloop-rescue"]  # noqa: S108 -- the sandbox's own
    assert argv[argv.index("--dev") + 1] == "/dev" and argv[argv.index("--proc") + 1] == "/proc"
    assert "/sys" not in argv
    assert argv[argv.index("--") + 1 :] == ["/usr/sbin/update-initramfs", "-u"]


def test_bwrap_argv_without_a_boot_partition_binds_the_root_alone():
    argv = bwrap_argv("bwrap", "/ws/root", None, [], ["/x"])
    assert "/boot" not in argv


MOUNTS_V1 = """cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""


def test_cgroup_mounts_finds_v2_and_the_v1_hierarchies():
    assert cgroup_mounts(MOUNTS_V1) == ("/sys/fs/cgroup/unified", {"memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"})
    assert cgroup_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n") == ("/sys/fs/cgroup", {})
    assert cgroup_mounts("proc /proc proc rw 0 0\n") == (None, {})


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("REPAIR_DISK_REBUILD_TIMEOUT", "5")
    monkeypatch.setenv("REPAIR_DISK_REBUILD_MEMORY_MB", "64")
    monkeypatch.setenv("REPAIR_DISK_REBUILD_PIDS", "32")
    assert Limits.from_env() == Limits(seconds=5.0, memory=64 << 20, pids=32)
    monkeypatch.setenv("REPAIR_DISK_REBUILD_PIDS", "0")
    with pytest.raises(SandboxRefused, match="REPAIR_DISK_REBUILD_PIDS='0' is not a positive whole number"):
        Limits.from_env()
    monkeypatch.setenv("REPAIR_DISK_REBUILD_PIDS", "-1")
    with pytest.raises(SandboxRefused):
        Limits.from_env()


def test_commands_of_the_guests_tools():
    assert command("dracut", "/usr/bin/dracut", ["a_mod", "b_mod"], V, f"/boot/initramfs-{V}.img") == [
        "/usr/bin/dracut",
        "--force",
        "--no-hostonly",
        "--omit-drivers",
        "a_mod b_mod",
        "--kver",
        V,
        f"/boot/initramfs-{V}.img",
    ]
    assert command("update-initramfs", "/usr/sbin/update-initramfs", ["a"], V, f"/boot/initrd.img-{V}") == [
        "/usr/sbin/update-initramfs",
        "-u",
        "-k",
        V,
    ]


def test_has_conf_matches_our_file_however_the_archive_names_it():
    conf = "etc/modprobe.d/bootloop-rescue-blacklist-m.conf"
    assert has_conf([conf], "m") and has_conf([f"./{conf}"], "m") and has_conf([f"/{conf}"], "m")
    assert not has_conf(["etc/modprobe.d/other.conf"], "m")
    assert not has_conf([conf], "other")


def test_find_tool_prefers_dracut_and_never_goes_through_a_link():
    files = {"/usr/sbin/update-initramfs": "file", "/usr/bin/dracut": "file"}

    def kind(path):
        if path.startswith(("/sbin/", "/bin/")):  # a merged-/usr guest: links, refused by the reader
            raise Failure(5, "unsafe", f"{path}: a link")
        return files.get(path)

    assert find_tool(kind) == ("dracut", "/usr/bin/dracut")
    del files["/usr/bin/dracut"]
    assert find_tool(kind) == ("update-initramfs", "/usr/sbin/update-initramfs")
    files["/usr/sbin/update-initramfs"] = "link"
    assert find_tool(kind) is None


def record(module, entries, status="change"):
    return {"rule": module, "action": "blacklist-module", "module": module, "status": status, "initramfs": entries, "_edits": []}


KERNELS = [
    {"version": V, "image": True, "initramfs": True, "_initramfs": f"initrd.img-{V}"},
    {"version": "6.8.0-40-generic", "image": False, "initramfs": True, "_initramfs": "initrd.img-6.8.0-40-generic"},
]


def test_plan_jobs_one_rebuild_per_image_for_every_module():
    a = record("a", [{"path": f"/boot/initrd.img-{V}", "contains": ["x/a.ko"]}], status="already")
    b = record("b", [{"path": f"/boot/initrd.img-{V}", "contains": ["x/b.ko"]}])
    c = record("c", [{"path": f"/boot/initrd.img-{V}", "contains": []}])
    plan_jobs([a, b, c], KERNELS, ("dracut", "/usr/bin/dracut"), lambda _p: "root")
    [job] = a["_rebuild_jobs"]
    assert "_rebuild_jobs" not in b and "_rebuild_jobs" not in c
    assert job["modules"] == ["a", "b"] and job["records"] == [a, b] and job["on"] == "root"
    assert a["status"] == "change", "a rebuild to do is a change"
    assert a["initramfs"][0]["rebuilt"] is b["initramfs"][0]["rebuilt"]
    assert (
        a["initramfs"][0]["rebuilt"]["command"]
        == f"/usr/bin/dracut --force --no-hostonly --omit-drivers 'a b' --kver {V} /boot/initrd.img-{V}"
    )
    assert a["initramfs"][0]["rebuilt"]["result"] == "would-run"
    assert "rebuilt" not in c["initramfs"][0]


def test_plan_jobs_skips_images_already_blacklisted_kernels_without_an_image_and_refused_rules():
    done = record("a", [{"path": f"/boot/initrd.img-{V}", "contains": ["x/a.ko"], "blacklisted": True}], status="already")
    no_image = record("b", [{"path": "/boot/initrd.img-6.8.0-40-generic", "contains": ["x/b.ko"]}])
    refused = record("c", [{"path": f"/boot/initrd.img-{V}", "contains": ["x/c.ko"]}], status="refused")
    plan_jobs([done, no_image, refused], KERNELS, ("dracut", "/usr/bin/dracut"), lambda _p: "root")
    assert not any("_rebuild_jobs" in r for r in (done, no_image, refused))
    assert done["status"] == "already"


def test_plan_jobs_without_a_tool_says_why_not():
    r = record("a", [{"path": f"/boot/initrd.img-{V}", "contains": ["x/a.ko"]}], status="already")
    plan_jobs([r], KERNELS, None, lambda _p: "root")
    assert "_rebuild_jobs" not in r and r["status"] == "already"
    assert "neither dracut nor update-initramfs" in r["initramfsNotRebuilt"]


def test_plan_jobs_when_the_sandbox_cannot_run_refuses_and_plans_nothing():
    r = record("a", [{"path": f"/boot/initrd.img-{V}", "contains": ["x/a.ko"]}], status="already")
    plan_jobs([r], KERNELS, ("dracut", "/usr/bin/dracut"), lambda _p: "root", "bwrap (bubblewrap) is not installed")
    assert "_rebuild_jobs" not in r and r["status"] == "already"
    assert r["initramfs"][0]["rebuilt"]["result"] == "refused"
    assert r["initramfs"][0]["rebuilt"]["reason"] == "bwrap (bubblewrap) is not installed"
    assert r["initramfsNotRebuilt"] == f"/boot/initrd.img-{V}: bwrap (bubblewrap) is not installed"


def test_cgroup_available_needs_memory_and_pids():
    assert cgroup_available(MOUNTS_V1) == 1
    with pytest.raises(SandboxRefused, match="no cgroup with the memory and pids controllers"):
        cgroup_available("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n")


def test_plan_jobs_beyond_max_rebuilds_says_which_images_are_not_rebuilt():
    versions = [f"6.8.0-{n}-generic" for n in (50, 49, 48, 47, 46)]
    kernels = [{"version": v, "image": True, "initramfs": True, "_initramfs": f"initrd.img-{v}"} for v in versions]
    a = record("a", [{"path": f"/boot/initrd.img-{v}", "contains": ["x/a.ko"]} for v in versions])
    plan_jobs([a], kernels, ("update-initramfs", "/usr/sbin/update-initramfs"), lambda _p: "root")
    assert [j["version"] for j in a["_rebuild_jobs"]] == versions[:MAX_REBUILDS]
    for v in versions[MAX_REBUILDS:]:
        assert f"/boot/initrd.img-{v}: only the newest {MAX_REBUILDS} kernels' images are rebuilt in a run" in a["initramfsNotRebuilt"]
    for v in versions[:MAX_REBUILDS]:
        assert f"initrd.img-{v}:" not in a["initramfsNotRebuilt"]


def test_cgroup_v2_bounds_on_the_parent_and_the_sandbox_in_its_child(tmp_path):
    # A stand-in for the cgroup2 mount (plain folders): where each bound and the sandbox's procs go.
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    cg = Cgroup(Limits(memory=64 << 20, pids=32), f"cgroup2 {tmp_path} cgroup2 rw 0 0\n")
    [parent] = cg.parents
    assert cg.version == 2 and cg.children == [f"{parent}/{CHILD}"]
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert open(f"{parent}/memory.max").read() == str(64 << 20) and open(f"{parent}/pids.max").read() == "32"
    assert cg.procs == [f"{parent}/{CHILD}/cgroup.procs"]
    assert os.listdir(f"{parent}/{CHILD}") == [], "no bound in the child: its namespace would show it"


def test_cgroup_v1_bounds_on_the_parents_and_the_sandbox_in_their_children(tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "pids").mkdir()
    mounts = f"cgroup {tmp_path}/memory cgroup rw,memory 0 0\ncgroup {tmp_path}/pids cgroup rw,pids 0 0\n"
    cg = Cgroup(Limits(memory=64 << 20, pids=32), mounts)
    memory, pids = cg.parents
    assert cg.version == 1 and cg.children == [f"{memory}/{CHILD}", f"{pids}/{CHILD}"]
    assert open(f"{memory}/memory.limit_in_bytes").read() == str(64 << 20) and open(f"{pids}/pids.max").read() == "32"
    assert cg.dirs == [memory, f"{memory}/{CHILD}", pids, f"{pids}/{CHILD}"], "each parent before its child: removed child first"


def test_sweep_removes_a_dead_engines_cgroup_child_first_and_leaves_a_live_ones(tmp_path):
    dead = tmp_path / f"{CGROUP_PREFIX}999999999-1"  # above any pid_max: no such process
    (dead / CHILD).mkdir(parents=True)
    live = tmp_path / f"{CGROUP_PREFIX}{os.getpid()}-1"
    (live / CHILD).mkdir(parents=True)
    sweep(str(tmp_path))
    assert not dead.exists()
    assert (live / CHILD).exists()
