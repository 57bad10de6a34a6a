"""GRUB and the kernel command line as text: the environment block (grubenv), Boot Loader Spec
entries, the generated grub.cfg, /etc/default/grub, and kernel versions in order. Pure functions over
bytes and strings (no file access), so the unit tests check them without a disk."""

from __future__ import annotations

import re

GRUBENV_HEADER = b"# GRUB Environment Block\n"
BLS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~@-]{0,250}\.conf$")
ID_TEXT = re.compile(r"^[A-Za-z0-9._+~@>:-]{1,512}$")  # an entry id GRUB's saved_entry may hold, as this engine writes it
LINUX_COMMANDS = ("linux", "linuxefi", "linux16")


def version_key(version: str) -> tuple:
    """A kernel version's sort key: numbers compared as numbers, letters as text (5.14.0-427.16.1
    after 5.14.0-427.13.1, 6.8.0-45 after 6.8.0-9), in the spirit of rpm's and dpkg's comparisons."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.findall(r"\d+|[A-Za-z]+", version))


# ---------------------------------------------------------------------------------------------
# grubenv: a fixed-size block GRUB itself rewrites in place


def grubenv_values(block: bytes) -> dict[str, str] | None:
    """The variables of a GRUB environment block, or None when it is not one (no header) or holds
    a value this engine does not read safely (an escaped newline)."""
    if not block.startswith(GRUBENV_HEADER):
        return None
    out: dict[str, str] = {}
    for raw in block[len(GRUBENV_HEADER) :].split(b"\n"):
        if not raw or raw.startswith(b"#"):
            continue
        if raw.endswith(b"\\") or b"=" not in raw:
            return None
        key, value = raw.split(b"=", 1)
        out[key.decode("utf-8", errors="replace")] = value.decode("utf-8", errors="replace")
    return out


def grubenv_set(block: bytes, key: str, value: str) -> bytes | None:
    """The block with `key` set to `value`, the other variables kept in their order, padded with
    '#' to the block's own size (GRUB's blocks are 1024 bytes and are rewritten in place, never
    grown). None when the block is not one or the variables would no longer fit."""
    values = grubenv_values(block)
    if values is None or not ID_TEXT.match(value) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        return None
    values[key] = value
    body = GRUBENV_HEADER + b"".join(f"{k}={v}\n".encode() for k, v in values.items())
    if len(body) > len(block):
        return None
    return body + b"#" * (len(block) - len(body))


# ---------------------------------------------------------------------------------------------
# Boot Loader Spec entries (/boot/loader/entries/*.conf: EL 8 and later, Fedora)


def bls_fields(text: str) -> dict[str, str]:
    """An entry's keys (title, version, linux, initrd, options, …); the first of each kept."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if parts and not parts[0].startswith("#"):
            out.setdefault(parts[0], parts[1].strip() if len(parts) > 1 else "")
    return out


def bls_with_options(text: str, edit_options) -> tuple[str, bool]:
    """The entry with `edit_options(options) -> (new, changed)` applied to each `options` line
    (an `options` line is added when there is none). Every other byte is kept."""
    lines = text.split("\n")
    changed = False
    seen = False
    for i, line in enumerate(lines):
        parts = line.strip().split(None, 1)
        if parts and parts[0] == "options":
            seen = True
            new, did = edit_options(parts[1] if len(parts) > 1 else "")
            if did:
                lines[i] = f"options {new}"
                changed = True
    if not seen:
        new, _ = edit_options("")
        at = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
        lines.insert(at, f"options {new}")
        changed = True
    return "\n".join(lines), changed


# ---------------------------------------------------------------------------------------------
# The kernel command line


def with_blacklist(cmdline: str, module: str) -> tuple[str, bool]:
    """The command line with `module` in module_blacklist=: added to the last such parameter (the
    kernel keeps only the last), or a new one appended. Unchanged when it is there already (the
    kernel reads '-' and '_' in module names alike)."""
    words = cmdline.split()
    at = [i for i, w in enumerate(words) if w.startswith("module_blacklist=")]
    wanted = module.replace("-", "_")
    if at:
        listed = words[at[-1]].split("=", 1)[1]
        if wanted in [m.replace("-", "_") for m in listed.split(",") if m]:
            return cmdline, False
        words[at[-1]] = f"module_blacklist={listed + ',' if listed else ''}{module}"
        return " ".join(words), True
    return (f"{cmdline.rstrip()} module_blacklist={module}" if cmdline.strip() else f"module_blacklist={module}"), True


def grub_cfg_with_blacklist(text: str, module: str) -> tuple[str, int]:
    """grub.cfg with module_blacklist=MODULE on every `linux` line (linux, linuxefi, linux16) that
    loads a kernel image (vmlinuz-VERSION), and how many lines changed."""
    lines = text.split("\n")
    count = 0
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        words = stripped.split(None, 2)
        if len(words) < 2 or words[0] not in LINUX_COMMANDS or kernel_of_image(words[1]) is None:
            continue  # not a kernel's line (linux16 /boot/memtest86+.bin takes no kernel parameters)
        indent = line[: len(line) - len(stripped)]
        new, did = with_blacklist(words[2] if len(words) > 2 else "", module)
        if did:
            lines[i] = f"{indent}{words[0]}\t{words[1]} {new}"
            count += 1
    return "\n".join(lines), count


def default_grub_value(text: str, key: str) -> str | None:
    """A variable of /etc/default/grub (the last assignment wins, as the shell reads it), unquoted."""
    value = None
    for line in text.splitlines():
        m = re.match(rf"^\s*(?:export\s+)?{key}=(.*)$", line)
        if m:
            value = m.group(1).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
    return value


def default_grub_set(text: str, key: str, value: str) -> tuple[str, bool]:
    """/etc/default/grub with `key="value"` (its last assignment replaced, or a line added)."""
    if default_grub_value(text, key) == value:
        return text, False
    lines = text.split("\n")
    at = [i for i, line in enumerate(lines) if re.match(rf"^\s*(?:export\s+)?{key}=", line)]
    if at:
        lines[at[-1]] = f'{key}="{value}"'
        return "\n".join(lines), True
    if lines and lines[-1] == "":
        lines.insert(len(lines) - 1, f'{key}="{value}"')
    else:
        lines.append(f'{key}="{value}"')
    return "\n".join(lines), True


def default_grub_with_blacklist(text: str, module: str) -> tuple[str, bool] | None:
    """/etc/default/grub with module_blacklist=MODULE in GRUB_CMDLINE_LINUX; None when its value is
    not a plain quoted string this engine can edit safely (a shell expansion, a quote inside)."""
    current = default_grub_value(text, "GRUB_CMDLINE_LINUX") or ""
    if re.search(r"[\"'`$\\]", current):
        return None
    new, changed = with_blacklist(current, module)
    if not changed:
        return text, False
    return default_grub_set(text, "GRUB_CMDLINE_LINUX", new)


# ---------------------------------------------------------------------------------------------
# grub.cfg as grub-mkconfig writes it (Debian, Ubuntu, SUSE; on EL its header only)


def grub_cfg_entries(text: str) -> list[dict]:
    """The menu entries of a grub.cfg: title, id ($menuentry_id_option), saved (the saved_entry
    value that selects it: SUBMENU>ENTRY inside a submenu), kernel (the `linux` line's image) and
    whether it is a top-level entry, in menu order."""
    out: list[dict] = []
    stack: list[tuple[str, str | None, str]] = []  # ("submenu"|"menuentry"|"block", id, title)
    current: dict | None = None
    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"^(menuentry|submenu)\s+(['\"])(.*?)\2(.*)\{\s*$", line)
        if m:
            ident = re.search(r"\$menuentry_id_option\s+'([^']*)'", m.group(4))
            ident_value = ident.group(1) if ident else None
            if m.group(1) == "menuentry":
                parents = [(i, t) for kind, i, t in stack if kind == "submenu"]
                saved = ">".join([*(i or "" for i, _ in parents), ident_value or ""]) if ident_value else None
                current = {
                    "title": m.group(3),
                    "id": ident_value,
                    "saved": saved,
                    # GRUB also takes a saved_entry of titles (what grub-set-default "TITLE>TITLE" wrote).
                    "savedTitle": ">".join([*(t for _, t in parents), m.group(3)]),
                    "kernel": None,
                    "topLevel": not parents,
                }
                out.append(current)
            stack.append((m.group(1), ident_value, m.group(3)))
            continue
        if line.endswith("{"):
            stack.append(("block", None, ""))
            continue
        if line == "}" or line.startswith("}"):
            if stack:
                kind, _, _ = stack.pop()
                if kind == "menuentry":
                    current = None
            continue
        words = line.split()
        if current is not None and len(words) >= 2 and words[0] in LINUX_COMMANDS and current["kernel"] is None:
            current["kernel"] = words[1]
    return out


def grub_cfg_default_saved(text: str) -> tuple[str, bool]:
    """grub.cfg with its default taken from grubenv's saved_entry, as grub-mkconfig writes it for
    GRUB_DEFAULT=saved: each `set default=` other than ${next_entry} and ${saved_entry} becomes
    `set default="${saved_entry}"`."""
    lines = text.split("\n")
    changed = False
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)set default=(.*)$", line)
        if m and m.group(2).strip().strip("\"'") not in ("${next_entry}", "${saved_entry}"):
            lines[i] = f'{m.group(1)}set default="${{saved_entry}}"'
            changed = True
    return "\n".join(lines), changed


def kernel_of_image(path: str | None) -> str | None:
    """The kernel version a `linux` line's image names (/vmlinuz-V or /boot/vmlinuz-V)."""
    if not path:
        return None
    name = path.rsplit("/", 1)[-1]
    return name[len("vmlinuz-") :] if name.startswith("vmlinuz-") and len(name) > len("vmlinuz-") else None
