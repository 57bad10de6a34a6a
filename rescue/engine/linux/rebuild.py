"""blacklist-module's last step: an initramfs that holds the module is rebuilt with the guest's own
tool (dracut, else initramfs-tools' update-initramfs), run only in the sandbox (engine.linux.sandbox)
over the guest's read-write volumes, after every other edit of the run is written (the modprobe.d
file goes into the new image). The old image is kept first in this run's quarantine folder on the
root volume; the new one must be a readable initramfs (engine.linux.initramfs) without the module
or with our modprobe.d file inside, else the kept bytes are put back and checked by their SHA-256.

Planned here (plan_jobs: one rebuild per image, whatever number of modules asked for it), run by
engine.linux.guest through run_jobs. Nothing the guest's program may have changed is trusted after
it: every file read afterwards is opened again from the volume's root without following a link."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shlex
import subprocess

from ..common import EXIT_FAILURE, EXIT_UNSAFE, Failure, log
from ..files import QUARANTINE_ROOT, make_dirs_inside, new_quarantine_folder
from .gfs import kind_of, open_dir, open_regular_at, read_file
from .initramfs import Unreadable, module_files, read_initramfs
from .sandbox import Cgroup, Limits, SandboxRefused, cgroup_available, find_bwrap, run_sandboxed

MAX_REBUILDS = 3  # the newest kernels' images rebuilt, at most
MAX_IMAGE = 1 << 30  # an initramfs larger than this is no guest's own: not kept, not rebuilt
OUTPUT_SHOWN = 2048  # the tail of the tool's output in the evidence
TOOLS = ("dracut", "update-initramfs")
TOOL_FOLDERS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


def conf_name(module: str) -> str:
    """The modprobe.d file blacklist-module writes, as a path on the guest without its leading /."""
    return f"etc/modprobe.d/bootloop-rescue-blacklist-{module}.conf"


def has_conf(names: list[str], module: str) -> bool:
    """Whether an initramfs's names include our modprobe.d file for the module."""
    return conf_name(module) in {n.removeprefix("./").lstrip("/") for n in names}


DRACUT_CONF_DIR = "/etc/dracut.conf.d"


def dracut_conf_name(module: str) -> str:
    """The dracut.conf.d file blacklist-module writes on a guest whose dracut rebuilds an image
    holding the module: named to sort after the guest's own (dracut sources them by name)."""
    return f"{DRACUT_CONF_DIR}/zz-bootloop-rescue-omit-{module}.conf"


def dracut_conf(module: str) -> bytes:
    """The file's text (bash, sourced by dracut). dracut never omits a driver that its drivers,
    add_drivers or force_drivers name (dracut 059, the --omit-drivers filter skips them), so
    --omit-drivers alone leaves a module a configuration file adds; this file takes the module out
    of those lists ('-' and '_' alike, as the kernel sees them) and adds it to omit_drivers, for
    this rebuild and every later one. `module` is a checked module name (engine.rules)."""
    name = module.replace("-", "_")
    return (
        f"# Written by bootloop-rescue (blacklist-module): {module} is kept out of every initramfs dracut makes,\n"
        "# even when another configuration file asks for it. Undo: remove this file.\n"
        f'omit_drivers+=" {module} "\n'
        "for _br_list in drivers add_drivers force_drivers; do\n"
        "    _br_kept=\n"
        "    for _br_driver in ${!_br_list-}; do\n"
        f'        [[ ${{_br_driver//-/_}} == "{name}" ]] || _br_kept="$_br_kept $_br_driver"\n'
        "    done\n"
        '    [[ -z ${!_br_list-} ]] || printf -v "$_br_list" \'%s\' "${_br_kept:+$_br_kept }"\n'
        "done\n"
        "unset _br_list _br_kept _br_driver\n"
    ).encode()


def dracut_omit_edit(g, module: str, report: list[dict]) -> tuple[dict | None, str | None]:
    """(the edit creating dracut_conf_name(module), or None; why the rule is refused, or None) for
    blacklist-module on guest `g` (engine.linux.remedies.Guest): only when the guest's tool is
    dracut, it has /etc/dracut.conf.d and an image in `report` (its initramfs report) holds the
    module. The file already there with our text is nothing to do; with other text, a refusal; a
    link or anything not a regular file, unsafe (exit 5)."""
    if not any(e.get("contains") for e in report):
        return None, None
    tool = find_tool(lambda path: g.kind(path, "look for the guest's initramfs tool"))
    if tool is None or tool[0] != "dracut" or g.kind(DRACUT_CONF_DIR, "look at /etc/dracut.conf.d") != "folder":
        return None, None
    path = dracut_conf_name(module)
    kind = g.kind(path, "write a dracut.conf.d file")
    if kind is None:
        return g.edit("create", path, dracut_conf(module)), None
    if kind != "file":
        raise Failure(
            EXIT_UNSAFE, "unsafe", f"{path} on the guest is {'a symbolic link' if kind == 'link' else 'not a regular file'}; refusing it"
        )
    if g.read(path) != dracut_conf(module):
        return None, f"{path} exists with other contents; not changed"
    return None, None


def command(tool: str, program: str, modules: list[str], version: str, image: str) -> list[str]:
    """The guest's command that rebuilds one image. dracut: --no-hostonly, since host-only detection
    in the sandbox would describe the rescue VM's hardware, and the modules omitted by name;
    update-initramfs (initramfs-tools): -u -k VERSION, which copies /etc/modprobe.d into the image."""
    if tool == "dracut":
        return [program, "--force", "--no-hostonly", "--omit-drivers", " ".join(modules), "--kver", version, image]
    return [program, "-u", "-k", version]


def find_tool(kind_of_path) -> tuple[str, str] | None:
    """(tool, its path on the guest): dracut when the guest has it, else update-initramfs; None for
    neither. `kind_of_path(path)` says what is at a path on the guest (never through a link)."""
    for tool in TOOLS:
        for folder in TOOL_FOLDERS:
            try:
                kind = kind_of_path(f"{folder}/{tool}")
            except (Failure, OSError):  # /sbin, /bin: links to usr/ on a merged-/usr guest, not followed
                continue
            if kind == "file":
                return tool, f"{folder}/{tool}"
    return None


def plan_jobs(records: list[dict], kernels: list[dict], tool: tuple[str, str] | None, on_of, refusal: str | None = None) -> None:
    """One rebuild per image that holds a module some blacklist-module rule asks about (and not our
    modprobe.d file for it), for the newest MAX_REBUILDS kernels whose image, initramfs and
    /lib/modules are all there: the job goes on the first record asking for the image
    (`_rebuild_jobs`, the record a change), and every record's entry for it shows the same
    `rebuilt` evidence. Without a tool, or when the sandbox cannot be set up on this rescue VM
    (`refusal`, from sandbox_refusal: a dry run refuses what the run would), `initramfsNotRebuilt`
    says why and nothing is planned."""
    by_path = {f"/boot/{k['_initramfs']}": k for k in kernels if k.get("_initramfs") and k.get("image")}
    jobs: dict[str, dict] = {}
    for r in records:
        if r["action"] != "blacklist-module" or r["status"] == "refused":
            continue
        for entry in r.get("initramfs", []):
            if not entry.get("contains") or entry.get("blacklisted") or entry["path"] not in by_path:
                continue
            if tool is None:
                r["initramfsNotRebuilt"] = (
                    "the module is inside the initramfs named in `initramfs`, and the guest has neither dracut nor "
                    "update-initramfs to rebuild it with; module_blacklist= on the kernel command line keeps the kernel "
                    "from loading the module from the initramfs too"
                )
                continue
            job = jobs.get(entry["path"])
            if job is None:
                if len(jobs) >= MAX_REBUILDS:
                    skipped = (
                        f"{entry['path']}: only the newest {MAX_REBUILDS} kernels' images are rebuilt in a run; "
                        "module_blacklist= on the kernel command line keeps the kernel from loading the module from it"
                    )
                    r["initramfsNotRebuilt"] = "; ".join(filter(None, [r.get("initramfsNotRebuilt"), skipped]))
                    continue
                job = {"path": entry["path"], "version": by_path[entry["path"]]["version"], "modules": [], "records": []}
                job["on"] = on_of(entry["path"])
                job["evidence"] = {"tool": tool[0], "result": "would-run"}
                jobs[entry["path"]] = job
            if r not in job["records"]:
                job["records"].append(r)
            job["modules"].append(r["module"])
            entry["rebuilt"] = job["evidence"]
    for job in jobs.values():
        job["argv"] = command(tool[0], tool[1], job["modules"], job["version"], job["path"]) if tool else []
        job["evidence"]["command"] = shlex.join(job["argv"])
        if refusal is not None:
            job["evidence"].update(result="refused", reason=refusal)
            for r in job["records"]:
                r["initramfsNotRebuilt"] = f"{job['path']}: {refusal}"
            continue
        job["records"][0].setdefault("_rebuild_jobs", []).append(job)
        for r in job["records"]:
            if r["status"] == "already":
                r["status"] = "change"


def sandbox_refusal() -> str | None:
    """Why the sandbox cannot run on this rescue VM (no bwrap, a bad bound, no cgroup with memory
    and pids controllers), read without changing anything; None when it can."""
    try:
        Limits.from_env()
        find_bwrap()
        cgroup_available()
    except SandboxRefused as e:
        return str(e)
    return None


# ---------------------------------------------------------------------------------------------
# The run


def run_jobs(ws, guest, records: list[dict], stamp: str, kept: dict) -> list[str]:
    """Runs every planned rebuild (the last thing a run writes); returns what failed, in words (the
    kept image put back). A sandbox that cannot be set up refuses them all, nothing run."""
    jobs = [j for r in records if r["status"] in ("change", "changed") for j in r.get("_rebuild_jobs", [])]
    if not jobs:
        return []
    try:
        limits = Limits.from_env()
        find_bwrap()
        Cgroup(limits).remove()
    except SandboxRefused as e:
        for job in jobs:
            refused(job, str(e))
        return []
    root_view = exec_view(ws, guest.root.mnt, "sandbox-root")
    boot_view = None
    failures = []
    try:
        if guest.boot is not None:
            boot_view = exec_view(ws, guest.boot.mnt, "sandbox-boot")
        for job in jobs:
            why = run_job(guest, job, stamp, kept, root_view, boot_view, limits)
            if why:
                failures.append(f"{job['path']}: {why}")
    finally:
        if boot_view is not None:
            ws.unmount(boot_view)
        ws.unmount(root_view)
    return failures


def undone_by_tool(records: list[dict], again: list[dict]) -> list[str]:
    """What the guest's tool undid of the run (it runs read-write after every other edit): the
    rules planned again on the volumes after it (`again`) must all have nothing left to do, but
    for the images whose rebuild failed or was refused (put back, or never touched). Each reason
    names the rule and the file; the records get them as `undoneByTool`."""
    tried = {job["path"]: job for r in records for job in r.get("_rebuild_jobs", [])}
    out = []
    for before, now in zip(records, again):
        why = [f"{e['path']} is to be written again" for e in now.get("_edits", [])]
        for job in now.get("_rebuild_jobs", []):
            earlier = tried.get(job["path"])
            if earlier is None or earlier["evidence"].get("result") == "rebuilt":
                why.append(f"{job['path']} holds {', '.join(job['modules'])} again")
        readable = {e["path"] for e in before.get("initramfs", []) if "unreadable" not in e}
        why += [
            f"{e['path']} is no longer a readable initramfs: {e['unreadable']}"
            for e in now.get("initramfs", [])
            if "unreadable" in e and e["path"] in readable
        ]
        if now["status"] == "refused" and before["status"] != "refused":
            why.append(f"the rule is now refused: {now.get('reason', '')}")
        if why:
            before["undoneByTool"] = why
            out += [f"rule {now['rule']}: {w}" for w in why]
    return out


def refused(job: dict, reason: str) -> None:
    job["evidence"].update(result="refused", reason=reason)
    for r in job["records"]:
        r["initramfsNotRebuilt"] = f"{job['path']}: {reason}"
        if not r["_edits"]:  # nothing of its own but the rebuild
            r.update(status="refused", reason=f"the initramfs rebuild was refused: {reason}")


def exec_view(ws, mnt: str, name: str) -> str:
    """A second view of a read-write guest mount where the guest's programs can run (the engine's
    own mounts are noexec), still nodev and nosuid; only the sandbox ever sees it."""
    view = ws.mountpoint(name)
    proc = subprocess.run(["mount", "--bind", mnt, view], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise Failure(EXIT_FAILURE, "error", f"mount --bind for the sandbox failed: {proc.stderr.strip()[:200]}")
    ws.hold(f"mount {view}", lambda: unmount_view(view))
    proc = subprocess.run(["mount", "-o", "remount,bind,nodev,nosuid,exec,noatime", view], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        ws.unmount(view)
        raise Failure(EXIT_FAILURE, "error", f"the sandbox's view of the guest cannot be made executable: {proc.stderr.strip()[:200]}")
    return view


def unmount_view(view: str) -> None:
    proc = subprocess.run(["umount", view], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"umount {view} failed: {proc.stderr.strip()}")


def run_job(guest, job: dict, stamp: str, kept: dict, root_view: str, boot_view: str | None, limits: Limits) -> str | None:
    """Checks the free space, keeps the image (and a spare copy for the put-back), runs the tool in
    the sandbox, checks the new image and the volumes' fill; on any failure, or anything raised
    while the tool runs or after (an OSError, the SIGTERM handler's Failure), puts the kept bytes
    back (checked by SHA-256). Returns why it failed, or None."""
    ev = job["evidence"]
    path = job["path"]
    try:
        space = space_refusal(guest, path)
        if space is not None:
            refused(job, space)
            return None
        keep_at, digest, spare = keep_image(guest, path, stamp, kept)
        write_intent(guest, spare, {"image": path, "kept": keep_at, "sha256": digest, "spare": spare})
    except (Failure, OSError) as f:  # the rules' other edits are written: not "unsafe, nothing changed"
        refused(job, f"the image cannot be kept first: {f.message if isinstance(f, Failure) else f.strerror}")
        return None
    ev["kept"] = keep_at
    ev["sha256Before"] = digest
    log(f"rebuilding {path} with the guest's {ev['tool']} in the sandbox")
    try:
        why = run_and_check(guest, job, root_view, boot_view, limits)
    except SandboxRefused as e:
        drop_spare(guest, spare)
        refused(job, str(e))
        return None
    except BaseException as e:  # an OSError, the SIGTERM handler's Failure, ...: never leave the tool's image
        reason = e.message if isinstance(e, Failure) else f"{type(e).__name__}: {e}"
        ev.update(result="failed", reason=f"interrupted while the tool ran or after: {reason}")
        put_back_or_fail(guest, job, keep_at, digest, spare, reason)
        raise
    if why is None:
        ev.pop("_output", None)
        drop_spare(guest, spare)
        ev["result"] = "rebuilt"
        first = job["records"][0]
        undo = f"cp {shlex.quote('/' + keep_at.lstrip('/'))} {shlex.quote(path)}"
        first["undo"] = f"{undo} && {first['undo']}" if first.get("undo") else undo
        for r in job["records"]:
            if r.get("initramfsNotRebuilt", "").startswith(f"{path}: "):  # not another image's note (MAX_REBUILDS)
                r.pop("initramfsNotRebuilt")
            r["status"] = "changed"
        return None
    ev.update(result="failed", reason=why)
    put_back_or_fail(guest, job, keep_at, digest, spare, why)
    for r in job["records"]:
        if not r["_edits"]:
            r.update(status="failed", reason=f"the initramfs rebuild failed ({why}); the kept image was put back")
    return why


def run_and_check(guest, job: dict, root_view: str, boot_view: str | None, limits: Limits) -> str | None:
    """Runs the tool in the sandbox and checks what it left: why the rebuild failed, or None."""
    ev = job["evidence"]
    result = run_sandboxed(root_view, boot_view, hidden_folders(guest), job["argv"], limits)
    ev["seconds"] = result.seconds
    if result.output:
        ev["_output"] = result.output[-OUTPUT_SHOWN:].decode("utf-8", errors="replace")
    why: str | None
    if result.killed:
        why = f"{ev['tool']} {result.killed}"
    elif result.exit_code != 0:
        why = f"{ev['tool']} exited {result.exit_code}"
    else:
        why = check_new_image(guest, job) or full_after(guest)
    if result.notes:
        why = "; ".join(filter(None, [why, *result.notes]))
    return why


def put_back_or_fail(guest, job: dict, keep_at: str, digest: str, spare: str, why: str) -> None:
    """Puts the kept image back; when it cannot be, the run ends (exit 6) saying so, the kept copy left."""
    ev = job["evidence"]
    output = ev.pop("_output", None)
    if output:
        ev["output"] = output
    try:
        restore_image(guest, job["path"], keep_at, digest, spare)
    except (Failure, OSError) as f:
        ev["restored"] = False
        message = f.message if isinstance(f, Failure) else f"{f.filename}: {f.strerror}"
        raise Failure(
            EXIT_FAILURE, "error", f"{job['path']}: the rebuild failed ({why}) and the kept image could not be put back: {message}"
        ) from None
    ev["restored"] = True
    drop_file(guest, spare + INTENT)


FREE_MARGIN = 8 << 20  # bytes a volume keeps free beyond what the rebuild needs
FULL_AFTER = 0.99  # a volume this full after the tool ran: the rebuild failed


def free_bytes(fd: int) -> tuple[int, int]:
    """(bytes free, bytes used) of the volume an fd is on, as df counts them: free is what a user
    other than root can still write (the guest's services after its boot)."""
    st = os.fstatvfs(fd)
    return st.f_bavail * st.f_frsize, (st.f_blocks - st.f_bfree) * st.f_frsize


def space_refusal(guest, path: str) -> str | None:
    """Why there is not room to rebuild the image safely, or None: the image's volume needs twice
    the image and a margin (the spare for the put-back, and the new image the tool writes beside
    the old one), and the root volume the kept copy too."""
    on, fd, parts = guest.at(path)
    src = open_regular_at(fd, parts)
    if src is None:
        return f"{path} is no longer a regular file"
    try:
        size = os.fstat(src).st_size
    finally:
        os.close(src)
    needs = [("root", guest.root.fd, 2 * size + FREE_MARGIN)]
    if on != "root":
        needs = [("root", guest.root.fd, size + FREE_MARGIN), (on, fd, 2 * size + FREE_MARGIN)]
    for name, vfd, need in needs:
        free, _ = free_bytes(vfd)
        if free < need:
            return (
                f"the {name} volume has {free >> 20} MiB free, and the rebuild of {path} needs {need >> 20} MiB "
                "(the kept copy, the spare for the put-back and the tool's new image)"
            )
    return None


def full_after(guest) -> str | None:
    """Why the volumes are too full after the tool ran (FULL_AFTER or more of them used, as df
    counts it), or None."""
    for name, vol in (("root", guest.root), ("boot", guest.boot)):
        if vol is None:
            continue
        free, used = free_bytes(vol.fd)
        if used + free and used >= FULL_AFTER * (used + free):
            return f"the {name} volume is {100 * used // (used + free)}% full after the tool ran"
    return None


def hidden_folders(guest) -> list[str]:
    """The quarantine folders the tool must not see (covered by an empty tmpfs in the sandbox): the
    root's, made by keep_image before the tool runs, and /boot's when it is a partition of its own
    holding one (earlier runs' files moved there). Only real folders: never a link, never one made."""
    top = QUARANTINE_ROOT.split("/")[0]
    out = [f"/{top}"]
    if guest.boot is not None and kind_of(guest.boot.fd, top) == "folder":
        out.append(f"/boot/{top}")
    return out


def keep_image(guest, path: str, stamp: str, kept: dict) -> tuple[str, str, str]:
    """Copies the image into this run's quarantine folder on the root volume (made now if no kept
    copy went there yet), and a spare copy for the put-back on the image's own volume. Returns
    (where, on the root volume; its SHA-256; the spare's path on the guest)."""
    _, fd, parts = guest.at(path)
    src = open_regular_at(fd, parts)
    if src is None:
        raise Failure(EXIT_UNSAFE, "unsafe", f"{path} is no longer a regular file; not rebuilt")
    try:
        if os.fstat(src).st_size > MAX_IMAGE:
            raise Failure(EXIT_UNSAFE, "unsafe", f"{path} is larger than {MAX_IMAGE >> 20} MiB: not a guest's own; not rebuilt")
        if "folder" not in kept:
            folder, folder_fd = new_quarantine_folder(guest.root.fd, stamp, fold=False)
            os.close(folder_fd)
            kept["folder"] = folder
        where = f"{kept['folder']}{path}"
        wparts = where.split("/")
        dfd = make_dirs_inside(guest.root.fd, wparts[:-1], "quarantine", fold=False)
        try:
            digest = copy_to(src, dfd, wparts[-1])
        finally:
            os.close(dfd)
        # The spare for the put-back, on the image's own volume (a rename then needs no free
        # space), in the top folder the sandbox covers with an empty tmpfs (hidden_folders).
        on, vfd, parts = guest.at(path)
        spare_dir = [QUARANTINE_ROOT.split("/")[0], SPARE_FOLDER]
        sfd = make_dirs_inside(vfd, spare_dir, "put-back spare", fold=False)
        try:
            name = f"{os.path.basename(kept['folder'])}-{parts[-1]}"
            os.lseek(src, 0, os.SEEK_SET)
            if copy_to(src, sfd, name) != digest:
                raise Failure(EXIT_UNSAFE, "unsafe", f"{path} changed while it was copied; not rebuilt")
        finally:
            os.close(sfd)
        spare = "/" + "/".join(([] if on == "root" else ["boot"]) + spare_dir + [name])
    finally:
        os.close(src)
    return f"/{where}", digest, spare


SPARE_FOLDER = "put-back"  # bootloop-rescue/put-back on the image's volume: the spare copy, renamed over the image if the rebuild fails


def drop_spare(guest, spare: str) -> None:
    """Removes the spare copy and its intent record."""
    drop_file(guest, spare)
    drop_file(guest, spare + INTENT)


def drop_file(guest, where: str) -> None:
    """Removes a file of ours on the guest (no link followed: unlink never follows one)."""
    _, vfd, parts = guest.at(where)
    dfd = open_dir(vfd, parts[:-1], f"remove {where}")
    try:
        os.unlink(parts[-1], dir_fd=dfd)
    except FileNotFoundError:
        pass
    finally:
        os.close(dfd)


INTENT = ".intent.json"  # beside the spare while the guest's tool may be writing over the image
MAX_INTENT = 4096


def write_intent(guest, spare: str, record: dict) -> None:
    """Writes the intent record beside the spare (a new file, never through a link), before the tool
    runs: an engine killed outright while the tool runs leaves it, and the next run is not green
    (pending_intents) until the image is put back by hand and the record removed."""
    _, vfd, parts = guest.at(spare + INTENT)
    dfd = open_dir(vfd, parts[:-1], "write the rebuild's intent record")
    try:
        fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
        try:
            os.write(fd, json.dumps(record).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.fsync(dfd)
    finally:
        os.close(dfd)


def pending_intents(g) -> str | None:
    """Why the guest is not to be repaired as if whole (an earlier run was stopped while the guest's
    tool ran: its intent record is there, the image may be the tool's), with what to do; None when
    no record is there. `g` is the pass's engine.linux.remedies.Guest; nothing is followed through
    a link, every read is bounded (the records are on the guest's disk: they are only shown)."""
    found = []
    top = QUARANTINE_ROOT.split("/")[0]
    for prefix, vol in (("", g.root), ("/boot", g.boot)):
        if vol is None:
            continue
        try:
            dfd = open_dir(vol.fd, [top, SPARE_FOLDER], "look for an earlier rebuild's intent record")
        except (Failure, OSError):
            continue
        try:
            names = sorted(n for n in os.listdir(dfd) if n.endswith(INTENT))[:8]
            for name in names:
                text = read_file(dfd, [name], MAX_INTENT) or b""
                try:
                    record = json.loads(text)
                    shown = ", ".join(f"{k} {record[k]}" for k in ("image", "kept", "sha256") if isinstance(record.get(k), str))[:600]
                except (ValueError, AttributeError):
                    shown = "unreadable"
                found.append(f"{prefix}/{top}/{SPARE_FOLDER}/{name} ({shown})")
        finally:
            os.close(dfd)
    if not found:
        return None
    return (
        "an earlier run was stopped while the guest's initramfs tool ran: the image it names may be the tool's, not a good "
        "one; put the kept copy back (cp KEPT IMAGE, its SHA-256 checked), then remove the record: " + "; ".join(found)
    )


def copy_to(src: int, dir_fd: int, name: str) -> str:
    """Copies an open file into a new file (never over one, never through a link); its SHA-256."""
    h = hashlib.sha256()
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        total = 0
        while chunk := os.read(src, 1 << 20):
            total += len(chunk)
            if total > MAX_IMAGE:
                raise Failure(EXIT_UNSAFE, "unsafe", f"an initramfs grew past {MAX_IMAGE >> 20} MiB while it was copied")
            h.update(chunk)
            os.write(out, chunk)
        os.fsync(out)
    finally:
        os.close(out)
    return h.hexdigest()


def check_new_image(guest, job: dict) -> str | None:
    """Why the image the tool wrote is not what the rule wants (None when it is): read again from
    the volume's root, never through a link, with the bounded reader."""
    _, fd, parts = guest.at(job["path"])
    file_fd = open_regular_at(fd, parts)
    if file_fd is None:
        return f"{job['path']} is missing or not a regular file after the tool ran"
    try:
        names, stored = read_initramfs(file_fd)
    except Unreadable as e:
        return f"the new {job['path']} is not a readable initramfs: {e}"
    job["evidence"]["stored"] = stored
    left = [m for m in job["modules"] if module_files(names, m) and not has_conf(names, m)]
    if left:
        return f"the new image still holds {', '.join(left)} without its modprobe.d blacklist"
    return None


def restore_image(guest, path: str, keep_at: str, digest: str, spare: str | None = None) -> None:
    """Puts the kept bytes back at `path`: the spare copy renamed over it (same volume: no free
    space needed), else a new file of a random name (O_EXCL, no link followed) renamed over it;
    then reads the file again and checks its SHA-256; a mismatch ends the run (exit 6) with the
    kept copy left. Every fd it opens is closed on every path (an fd left open would keep the
    volume mounted)."""
    _, fd, parts = guest.at(path)
    dfd = open_dir(fd, parts[:-1], f"put back {path}")
    try:
        if spare is not None:
            _, svfd, sparts = guest.at(spare)
            sfd = open_dir(svfd, sparts[:-1], f"put back {path}")
            try:
                os.rename(sparts[-1], parts[-1], src_dir_fd=sfd, dst_dir_fd=dfd)
            except OSError as e:
                raise Failure(EXIT_FAILURE, "error", f"{path} cannot be put back from {spare}: {e.strerror}") from None
            finally:
                os.close(sfd)
        else:
            src = open_regular_at(guest.root.fd, keep_at.strip("/").split("/"))
            if src is None:
                raise Failure(EXIT_FAILURE, "error", f"the kept copy {keep_at} of {path} cannot be read; {path} was not put back")
            try:
                put_back(dfd, parts[-1], src, path, keep_at, digest)
            finally:
                os.close(src)
        check_put_back(dfd, parts[-1], path, keep_at, digest)
    finally:
        os.close(dfd)


def put_back(dfd: int, name: str, src: int, path: str, keep_at: str, digest: str) -> None:
    """Writes the kept bytes as a new file of a random name in the image's folder and renames it
    over the image; when the volume is full, removes the tool's image first and tries once more."""
    for attempt in (1, 2):
        tmp = f".{name}.bootloop-rescue-restore-{secrets.token_hex(8)}"
        try:
            os.lseek(src, 0, os.SEEK_SET)
            copied = copy_to(src, dfd, tmp)
        except OSError as e:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            if e.errno == errno.ENOSPC and attempt == 1:
                try:
                    os.unlink(name, dir_fd=dfd)  # the tool's image, failed anyway; unlink never follows a link
                except FileNotFoundError:
                    pass
                continue
            raise Failure(EXIT_FAILURE, "error", f"{path} cannot be put back from {keep_at}: {e.strerror}") from None
        if copied != digest:
            os.unlink(tmp, dir_fd=dfd)
            raise Failure(EXIT_FAILURE, "error", f"the kept copy {keep_at} no longer has its SHA-256 {digest}; {path} was not put back")
        try:
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except OSError as e:
            raise Failure(EXIT_FAILURE, "error", f"{path} cannot be put back from {keep_at}: {e.strerror}") from None
        return


def check_put_back(dfd: int, name: str, path: str, keep_at: str, digest: str) -> None:
    """What is at the image's name now must be a regular file with the kept SHA-256."""
    back = open_regular_at(dfd, [name])
    if back is None:
        raise Failure(EXIT_FAILURE, "error", f"{path} is not a regular file after it was put back from {keep_at}")
    try:
        h = hashlib.sha256()
        while chunk := os.read(back, 1 << 20):
            h.update(chunk)
    finally:
        os.close(back)
    if h.hexdigest() != digest:
        raise Failure(EXIT_FAILURE, "error", f"{path} put back from {keep_at} does not have its SHA-256 {digest}")
    os.fsync(dfd)
