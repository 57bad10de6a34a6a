"""The Linux rules, planned: each plan reads the guest (never through a link) and returns its record
for the evidence with the edits it needs (engine.linux.gfs), so the same plan runs on the read-only
mount (what would change, for --dry-run and to decide whether to mount read-write at all) and again
on the read-write mount (what is there now, after a journal replay), where its edits are made.

- mask-service: a link to /dev/null at /etc/systemd/system/NAME.service, as `systemctl mask`.
- fstab-nofail: nofail and a device timeout on fstab entries whose device is not on this disk.
- boot-previous-kernel: GRUB's saved entry becomes the newest kernel older than the current default
  whose image, initramfs and /lib/modules are all there, by entry id (BLS entries on EL and Fedora,
  grub.cfg's menu entries on Debian, Ubuntu and SUSE), never a menu index; grubenv rewritten in
  place at its size; the grub.cfg on the EFI partition (EL9's stub) is never read or written.
- blacklist-module: /etc/modprobe.d/bootloop-rescue-blacklist-NAME.conf (blacklist, install
  /bin/false) and module_blacklist=NAME on the kernel command line (BLS entries' options,
  GRUB_CMDLINE_LINUX, grub.cfg's linux lines); the initramfs images are read to say whether the
  module is inside them."""

from __future__ import annotations

import os
from typing import Any

from ..common import EXIT_FAILURE, EXIT_UNSAFE, Failure
from .boot import (
    BLS_NAME,
    ID_TEXT,
    bls_fields,
    bls_with_options,
    default_grub_set,
    default_grub_value,
    default_grub_with_blacklist,
    grub_cfg_default_saved,
    grub_cfg_entries,
    grub_cfg_with_blacklist,
    grubenv_set,
    grubenv_values,
    kernel_of_image,
    version_key,
    with_blacklist,
)
from .config import fstab_nofail
from .esp import esp_parts
from .gfs import edit, file_evidence, kind_of, open_dir, open_regular_at, read_file, undo_of
from .initramfs import Unreadable, module_files, read_initramfs
from .rebuild import dracut_omit_edit, find_tool, has_conf, pending_intents, plan_jobs, sandbox_refusal
from .sandbox import sweep_all

MAX_BLS_ENTRIES = 128
MAX_INITRAMFS_READ = 8  # the newest kernels' initramfs images read by blacklist-module
FROM_KEY = "bootloop_rescue_from"  # grubenv: the entry that was the default before boot-previous-kernel


class Guest:
    """The guest's volumes as mounted for one pass: its root, and /boot when that is a partition of
    its own; its EFI partition (engine.linux.esp, never mounted) when the fstab's /boot/efi is on
    this disk; and the edits planned so far in this pass, so that a rule planned after another that
    edits the same file (GRUB's files, /etc/default/grub) reads what the earlier one will write."""

    def __init__(self, root, boot, esp=None) -> None:
        self.root = root
        self.boot = boot
        self.esp = esp
        self.pending: dict[str, tuple[str, bytes | str]] = {}  # guest path -> (file|link, what it will hold)
        self.edits_of: dict[str, int] = {}

    def at(self, guest_path: str) -> tuple[str, int, list[str]]:
        """(volume, its root fd, the parts on it) of an absolute path on the guest."""
        parts = guest_path.strip("/").split("/")
        if parts[:2] == ["boot", "efi"] and len(parts) > 2:
            # Only the grubenv on the EFI partition is ever edited there (engine.linux.esp).
            return "efi", -1, parts[2:]
        if self.boot is not None and parts[0] == "boot":
            return "boot", self.boot.fd, parts[1:]
        return "root", self.root.fd, parts

    def fd(self, volume: str) -> int:
        return self.boot.fd if volume == "boot" else self.root.fd

    def read(self, guest_path: str, limit: int = 1 << 20) -> bytes | None:
        if guest_path in self.pending:
            kind, data = self.pending[guest_path]
            return data if kind == "file" and isinstance(data, bytes) else None
        _, fd, parts = self.at(guest_path)
        return whole(read_file(fd, parts, limit + 1), guest_path, limit)

    def kind(self, guest_path: str, shown: str) -> str | None:
        """What is at a path (file, folder, link, special, or None), its folders opened without a link."""
        if guest_path in self.pending:
            return self.pending[guest_path][0]
        _, fd, parts = self.at(guest_path)
        try:
            dfd = open_dir(fd, parts[:-1], shown)
        except FileNotFoundError:
            return None
        try:
            return kind_of(dfd, parts[-1])
        finally:
            os.close(dfd)

    def edit(self, how: str, guest_path: str, data: bytes | str, stamp: str = "") -> dict:
        on, _, parts = self.at(guest_path)
        return edit(how, on, parts, guest_path, data, stamp)

    def commit(self, edits: list[dict], stamp: str) -> None:
        """A rule's planned edits, seen by the rules planned after it. A file an earlier rule edits
        too gets its backup named after how many edits of it this run makes (…-<stamp>-2): each
        rule's undo puts back what was there before it."""
        for e in edits:
            n = self.edits_of.get(e["path"], 0) + 1
            self.edits_of[e["path"]] = n
            if "backup" in e and n > 1:
                e["backup"] = f"{e['parts'][-1]}.bootloop-rescue-{stamp}-{n}"
                if "keptAt" in e:
                    e["keptAt"] = f"{e['keptAt']}-{n}"
            self.pending[e["path"]] = ("link" if e["how"] == "symlink" else "file", e["data"])


def whole(data: bytes | None, guest_path: str, limit: int = 1 << 20) -> bytes | None:
    """A file read with one byte more than its bound: over the bound, the engine would write back a
    cut copy, so it refuses the run (exit 5) before anything changes."""
    if data is not None and len(data) > limit:
        raise Failure(
            EXIT_UNSAFE, "unsafe", f"{guest_path} on the guest is larger than {limit >> 10} KiB: not a guest's own; nothing changed"
        )
    return data


def record_for(rule: dict, path: str) -> dict[str, Any]:
    return {"rule": rule["id"], "action": rule["action"], "path": path, "_edits": []}


def settle(g: Guest, record: dict, stamp: str) -> dict:
    """A record's status from its edits (committed to the pass, so later rules see them), unless it
    was refused; the files it changes and the command that undoes them."""
    if record.get("status") != "refused":
        record["status"] = "change" if record["_edits"] else "already"
        g.commit(record["_edits"], stamp)
    if record["_edits"]:
        record.setdefault("undo", " && ".join(undo_of(e) for e in reversed(record["_edits"])))
        record["files"] = [file_evidence(e) for e in record["_edits"]]
    return record


def refuse(record: dict, reason: str) -> dict:
    record.update(status="refused", reason=reason, _edits=[])
    return record


def require_file(g: Guest, path: str, shown: str) -> bytes | None:
    """A file the rule edits: None when it is missing; a link or special file there is refused (exit 5)."""
    kind = g.kind(path, shown)
    if kind is None:
        return None
    if kind != "file":
        raise Failure(
            EXIT_UNSAFE,
            "unsafe",
            f"{path} on the guest is {'a symbolic link' if kind == 'link' else 'not a regular file'}; refusing to {shown} through it",
        )
    return g.read(path)


# ---------------------------------------------------------------------------------------------
# mask-service, fstab-nofail


def plan_mask(g: Guest, rule: dict, ctx: dict) -> dict:
    unit = f"{rule['service']}.service"
    record = record_for(rule, f"/etc/systemd/system/{unit}")
    try:
        fd = open_dir(g.root.fd, ["etc", "systemd", "system"], "mask a service")
    except FileNotFoundError:
        return refuse(record, "/etc/systemd/system is missing: not a systemd guest")
    try:
        kind = "planned" if record["path"] in g.pending else kind_of(fd, unit)  # planned: an earlier rule masks it
        if kind is None:
            record["_edits"].append(g.edit("symlink", record["path"], "/dev/null"))
        elif kind != "planned" and not (kind == "link" and os.readlink(unit, dir_fd=fd) == "/dev/null"):
            return refuse(record, f"/etc/systemd/system/{unit} exists ({kind}); systemctl mask would refuse it too")
    finally:
        os.close(fd)
    record["undo"] = f"rm /etc/systemd/system/{unit}"
    return settle(g, record, ctx["stamp"])


def plan_nofail(g: Guest, rule: dict, ctx: dict) -> dict:
    record = record_for(rule, "/etc/fstab")
    text = g.read("/etc/fstab")
    if text is None:
        return refuse(record, "/etc/fstab is not a regular file")
    new, changed = fstab_nofail(text.decode("utf-8", errors="surrogateescape"), ctx["on_disk"])
    record["entries"] = changed
    if changed:
        record["_edits"].append(g.edit("replace", "/etc/fstab", new.encode("utf-8", errors="surrogateescape"), ctx["stamp"]))
    settle(g, record, ctx["stamp"])
    if changed:
        record["backup"] = f"/etc/{record['_edits'][0]['backup']}"
    return record


# ---------------------------------------------------------------------------------------------
# GRUB: where its files are, and its entries


def grub_dir(g: Guest) -> str | None:
    """/boot/grub2 (EL, Fedora, SUSE) or /boot/grub (Debian, Ubuntu): the one holding grub.cfg or grubenv."""
    for folder in ("/boot/grub2", "/boot/grub"):
        for name in ("grub.cfg", "grubenv"):
            if g.kind(f"{folder}/{name}", "read GRUB's files") is not None:
                return folder
    return None


def bls_entries(g: Guest) -> list[dict] | None:
    """The Boot Loader Spec entries (/boot/loader/entries/*.conf): id, version, fields, text.
    None when the guest has none. A link or special file among them is refused (exit 5)."""
    _, fd, parts = g.at("/boot/loader/entries")
    try:
        dfd = open_dir(fd, parts, "read the boot entries")
    except FileNotFoundError:
        return None
    out = []
    try:
        names = sorted(n for n in os.listdir(dfd) if n.endswith(".conf"))
        if len(names) > MAX_BLS_ENTRIES:
            raise Failure(
                EXIT_UNSAFE, "unsafe", f"/boot/loader/entries holds {len(names)} entries (more than {MAX_BLS_ENTRIES}): not a guest's own"
            )
        for name in names:
            kind = kind_of(dfd, name)
            if kind != "file":
                raise Failure(
                    EXIT_UNSAFE,
                    "unsafe",
                    f"/boot/loader/entries/{name} on the guest is {'a symbolic link' if kind == 'link' else 'not a regular file'}; "
                    "refusing to read the boot entries through it",
                )
            if not BLS_NAME.match(name):
                continue
            shown = f"/boot/loader/entries/{name}"
            data = g.read(shown) if shown in g.pending else whole(read_file(dfd, [name], (1 << 20) + 1), shown)
            if data is None:
                continue
            text = data.decode("utf-8", errors="surrogateescape")
            fields = bls_fields(text)
            version = fields.get("version") or kernel_of_image(fields.get("linux")) or ""
            out.append({"id": name[: -len(".conf")], "name": name, "version": version, "fields": fields, "text": text})
    finally:
        os.close(dfd)
    return out or None


def grubenv(g: Guest, folder: str, record: dict) -> tuple[bytes | None, str | None, str]:
    """(the block, why it cannot be used, where it is on the guest) of FOLDER/grubenv: the file
    itself, or, when it is EL 8's link to the EFI partition, the file there (grubenv_on_esp)."""
    path = f"{folder}/grubenv"
    kind = g.kind(path, "read grubenv")
    if kind is None:
        return None, f"{path} is missing: GRUB keeps its saved entry there (grub-install makes it)", path
    if kind == "link":
        return grubenv_on_esp(g, path, record)
    if kind != "file":
        return None, f"{path} is not a regular file: not read, not changed", path
    block = g.read(path, 64 << 10)
    if block is None or grubenv_values(block) is None:
        return None, f"{path} is not a GRUB environment block this engine can edit", path
    return block, None, path


def grubenv_on_esp(g: Guest, path: str, record: dict) -> tuple[bytes | None, str | None, str]:
    """EL 8 on UEFI: `path` is a link to ../efi/EFI/<vendor>/grubenv. Its text is read (the link is
    never followed); only that shape, landing on the partition the guest's fstab mounts at
    /boot/efi on this disk, is read there (engine.linux.esp); any other link is refused."""
    _, fd, parts = g.at(path)
    dfd = open_dir(fd, parts[:-1], "read grubenv")
    try:
        text = os.readlink(parts[-1], dir_fd=dfd)
    finally:
        os.close(dfd)
    record["grubenvLink"] = text[:256]
    on_esp = esp_parts(text)
    if on_esp is None:
        return (
            None,
            f"{path} is a symbolic link, not to ../efi/EFI/<vendor>/grubenv (EL 8 on UEFI, the one link followed): not changed",
            path,
        )
    target = "/boot/efi/" + "/".join(on_esp)
    if g.esp is None:
        return (
            None,
            f"{path} links to {target}, but no FAT partition of this disk is the guest's /boot/efi (its fstab): not followed, not changed",
            target,
        )
    record["grubenvPartition"] = g.esp.part["number"]
    if target in g.pending:
        return g.read(target), None, target
    block, why = g.esp.read(on_esp)
    if block is None:
        return None, f"{target} on the EFI partition (partition {g.esp.part['number']}) cannot be read: {why}; not changed", target
    if grubenv_values(block) is None:
        return None, f"{target} is not a GRUB environment block this engine can edit", target
    return block, None, target


# ---------------------------------------------------------------------------------------------
# boot-previous-kernel


def plan_previous_kernel(g: Guest, rule: dict, ctx: dict) -> dict:
    folder = grub_dir(g)
    record = record_for(rule, f"{folder or '/boot/grub2'}/grubenv")
    if folder is None:
        return refuse(record, "no GRUB configuration in /boot/grub2 or /boot/grub: this engine changes GRUB's default entry only")
    block, why, env_path = grubenv(g, folder, record)
    if block is None:
        return refuse(record, why or "no grubenv")
    env = grubenv_values(block) or {}
    cfg_data = require_file(g, f"{folder}/grub.cfg", "read grub.cfg")
    cfg = cfg_data.decode("utf-8", errors="surrogateescape") if cfg_data is not None else None
    bls = bls_entries(g)
    if bls is not None:
        entries = [{"id": e["id"], "saved": e["id"], "version": e["version"], "rescue": "rescue" in e["id"]} for e in bls]
        record["bootLoaderSpec"] = True
    elif cfg is not None:
        entries = [
            {
                "id": e["id"],
                "saved": e["saved"],
                "savedTitle": e["savedTitle"],
                "version": kernel_of_image(e["kernel"]),
                "rescue": "recovery" in (e["id"] or "") + e["title"],
            }
            for e in grub_cfg_entries(cfg)
            if e["saved"]
        ]
        record["bootLoaderSpec"] = False
    else:
        return refuse(record, f"neither Boot Loader Spec entries nor {folder}/grub.cfg: the menu is not known")
    usable = [e for e in entries if e["version"] and not e["rescue"] and ID_TEXT.match(e["saved"])]
    if not usable:
        return refuse(record, "no boot entry names a kernel")
    by_saved = {**{e["savedTitle"]: e for e in usable if "savedTitle" in e}, **{e["saved"]: e for e in usable}}
    # The default before any change of ours: what an earlier run moved away from, else grubenv's
    # saved entry, else the first entry GRUB shows (BLS: the newest version).
    before = env.get(FROM_KEY) or env.get("saved_entry")
    if before in by_saved:
        current = by_saved[before]
    elif bls is not None:
        current = max(usable, key=lambda e: version_key(e["version"]))
    else:
        current = usable[0]
    record["from"] = {"version": current["version"], "entry": current["saved"]}
    kernels = {k["version"]: k for k in ctx["kernels"]}
    passed_over = []
    target = None
    for version in sorted({e["version"] for e in usable}, key=version_key, reverse=True):
        if version_key(version) >= version_key(current["version"]):
            continue
        k = kernels.get(version)
        missing = [
            what
            for what, ok in (
                ("its image (/boot/vmlinuz-VERSION)", k and k["image"]),
                ("its initramfs", k and k["initramfs"]),
                ("/lib/modules/VERSION", k is not None),
            )
            if not ok
        ]
        if missing:
            passed_over.append(f"{version}: lacks {', '.join(missing)}".replace("VERSION", version))
            continue
        target = next(e for e in usable if e["version"] == version)
        break
    if passed_over:
        record["passedOver"] = passed_over
    if target is None:
        return refuse(
            record,
            f"no kernel older than the default {current['version']} has its image, initramfs and /lib/modules"
            + (f" ({'; '.join(passed_over)})" if passed_over else ": it is the oldest with a boot entry"),
        )
    record["to"] = {"version": target["version"], "entry": target["saved"]}
    new_block: bytes | None = block
    if env.get("saved_entry") != target["saved"] or env.get(FROM_KEY) != current["saved"]:
        new_block = grubenv_set(block, "saved_entry", target["saved"])
        new_block = grubenv_set(new_block, FROM_KEY, current["saved"]) if new_block else None
    if new_block is None:
        return refuse(record, f"{env_path} has no room left for the saved entry in its {len(block)} bytes")
    edits = []
    if new_block != block:
        edits.append(g.edit("in-place", env_path, new_block, ctx["stamp"]))
        edits[-1]["old"] = block  # on the EFI partition, rewritten only if it still holds these bytes
    default = require_file(g, "/etc/default/grub", "read /etc/default/grub")
    if default is not None:
        text = default.decode("utf-8", errors="surrogateescape")
        if default_grub_value(text, "GRUB_DEFAULT") != "saved":
            new, _ = default_grub_set(text, "GRUB_DEFAULT", "saved")
            edits.append(g.edit("replace", "/etc/default/grub", new.encode("utf-8", errors="surrogateescape"), ctx["stamp"]))
    if cfg is not None:
        new, changed = grub_cfg_default_saved(cfg)
        if changed:
            edits.append(g.edit("replace", f"{folder}/grub.cfg", new.encode("utf-8", errors="surrogateescape"), ctx["stamp"]))
    elif bls is None:
        return refuse(record, f"no {folder}/grub.cfg")
    record["_edits"] = edits
    return settle(g, record, ctx["stamp"])


# ---------------------------------------------------------------------------------------------
# blacklist-module


def modprobe_conf(module: str) -> bytes:
    return (
        f"# Written by bootloop-rescue (blacklist-module): {module} is kept from loading.\n"
        f"blacklist {module}\ninstall {module} /bin/false\n"
    ).encode()


def plan_blacklist(g: Guest, rule: dict, ctx: dict) -> dict:
    module = rule["module"]
    path = f"/etc/modprobe.d/bootloop-rescue-blacklist-{module}.conf"
    record = record_for(rule, path)
    record["module"] = module
    stamp = ctx["stamp"]
    edits = []
    kind = g.kind(path, "write a modprobe.d file")
    if kind is None:
        edits.append(g.edit("create", path, modprobe_conf(module)))
    elif kind != "file":
        raise Failure(
            EXIT_UNSAFE, "unsafe", f"{path} on the guest is {'a symbolic link' if kind == 'link' else 'not a regular file'}; refusing it"
        )
    elif g.read(path) != modprobe_conf(module):
        return refuse(record, f"{path} exists with other contents; not changed")
    cmdline_places = 0
    default = require_file(g, "/etc/default/grub", "read /etc/default/grub")
    if default is not None:
        text = default.decode("utf-8", errors="surrogateescape")
        result = default_grub_with_blacklist(text, module)
        if result is None:
            return refuse(
                record, "GRUB_CMDLINE_LINUX in /etc/default/grub is not a plain quoted value this engine can edit; nothing changed"
            )
        if result[1]:
            edits.append(g.edit("replace", "/etc/default/grub", result[0].encode("utf-8", errors="surrogateescape"), stamp))
    # EL 9 and Fedora: kernel-install takes a new kernel's options from /etc/kernel/cmdline.
    kernel_cmdline = require_file(g, "/etc/kernel/cmdline", "read /etc/kernel/cmdline")
    if kernel_cmdline is not None:
        line = kernel_cmdline.decode("utf-8", errors="surrogateescape")
        new, changed = with_blacklist(line.strip(), module)
        if changed:
            edits.append(g.edit("replace", "/etc/kernel/cmdline", f"{new}\n".encode("utf-8", errors="surrogateescape"), stamp))
    bls = bls_entries(g)
    for e in bls or []:
        cmdline_places += 1
        new, changed = bls_with_options(e["text"], lambda options: with_blacklist(options, module))
        if changed:
            edits.append(g.edit("replace", f"/boot/loader/entries/{e['name']}", new.encode("utf-8", errors="surrogateescape"), stamp))
    folder = grub_dir(g)
    if folder is not None:
        cfg = require_file(g, f"{folder}/grub.cfg", "read grub.cfg")
        if cfg is not None:
            text = cfg.decode("utf-8", errors="surrogateescape")
            new, count = grub_cfg_with_blacklist(text, module)
            cmdline_places += sum(1 for e in grub_cfg_entries(text) if e["kernel"])
            if count:
                edits.append(g.edit("replace", f"{folder}/grub.cfg", new.encode("utf-8", errors="surrogateescape"), stamp))
    if not cmdline_places:
        return refuse(record, "no boot entry to put module_blacklist= on (no BLS entries, no linux line in grub.cfg); nothing changed")
    # Read once a run (the read-write pass finds the names the read-only pass read); a rebuild is
    # planned for the images holding the module once every rule is planned (plan_rules).
    record["initramfs"] = initramfs_report(g, ctx, module)
    # A guest's dracut would keep the module its configuration adds: told to leave it out (engine.linux.rebuild).
    dracut_edit, why = dracut_omit_edit(g, module, record["initramfs"])
    if why is not None:
        return refuse(record, why)
    record["_edits"] = edits + ([dracut_edit] if dracut_edit else [])
    return settle(g, record, ctx["stamp"])


def initramfs_report(g: Guest, ctx: dict, module: str) -> list[dict]:
    """For the newest kernels' initramfs images: whether the module is inside (read, not unpacked;
    each image read once a run, however many modules are asked about)."""
    out = []
    read = ctx.setdefault("initramfsNames", {})
    with_initramfs = [k for k in ctx["kernels"] if k.get("_initramfs")]
    for k in sorted(with_initramfs, key=lambda k: version_key(k["version"]), reverse=True)[:MAX_INITRAMFS_READ]:
        path = f"/boot/{k['_initramfs']}"
        if path not in read:
            _, fd, parts = g.at(path)
            file_fd = open_regular_at(fd, parts)
            if file_fd is None:
                read[path] = "not a regular file"
            else:
                try:
                    read[path] = read_initramfs(file_fd)
                except Unreadable as e:
                    read[path] = str(e)
        entry: dict[str, Any] = {"path": path}
        if isinstance(read[path], str):
            entry["unreadable"] = read[path]
        else:
            names, stored = read[path]
            entry["stored"] = stored
            entry["contains"] = module_files(names, module)
            if entry["contains"] and has_conf(names, module):
                entry["blacklisted"] = True  # our modprobe.d file is inside (update-initramfs keeps the module itself)
        out.append(entry)
    return out


PLANS = {
    "mask-service": plan_mask,
    "fstab-nofail": plan_nofail,
    "boot-previous-kernel": plan_previous_kernel,
    "blacklist-module": plan_blacklist,
}


def plan_rules(g: Guest, rules: list[dict], ctx: dict) -> list[dict]:
    """Every rule planned in turn; then the initramfs rebuilds blacklist-module needs (engine.linux.rebuild).
    An earlier run stopped while the guest's tool ran (its intent record left) ends the run, exit 6."""
    pending = pending_intents(g)
    if pending is not None:
        sweep_all()  # the stopped run's sandbox cgroups (empty: --die-with-parent ended what was in them)
        raise Failure(EXIT_FAILURE, "error", pending)
    records = [PLANS[r["action"]](g, r, ctx) for r in rules if r["action"] in PLANS]
    if any(r.get("initramfs") for r in records):
        tool = find_tool(lambda path: g.kind(path, "look for the guest's initramfs tool"))
        refusal = sandbox_refusal() if tool is not None else None
        plan_jobs(records, ctx["kernels"], tool, lambda path: g.at(path)[0], refusal)
    return records
