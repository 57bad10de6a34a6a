"""lvm2's text metadata format (lib/config in lvm2): `name { ... }` sections, `key = value` with
strings, numbers and `[lists]`, `#` comments, parsed by a bounded parser. The text comes off a guest's
disk: at most MAX_TEXT bytes, MAX_DEPTH nested sections, MAX_KEYS keys and MAX_LIST items a list
are read, and the tokens are made one at a time, so crafted text cannot exhaust the engine. Pure
functions over bytes (engine.linux.lvm reads the text off the disk)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Union

MAX_TEXT = 1 << 20  # metadata text larger than this is not a guest's own (lvm2 writes a few KiB)
MAX_DEPTH = 16
MAX_KEYS = 100_000  # more than lvm2 fits in its default 1 MiB metadata area (about 14 keys a volume)
MAX_LIST = 4096

Value = Union[str, int, float, list, dict]


class ParseError(Exception):
    """Text that is not lvm2's format, or breaks a bound (`hostile`: a bound lvm2 itself never breaks)."""

    def __init__(self, reason: str, hostile: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hostile = hostile


TOKEN = re.compile(
    rb"""
    (?P<space>[ \t\r\n]+|\#[^\n]*)
  | (?P<name>[A-Za-z0-9_+.][A-Za-z0-9_+.\-]*)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<punct>[{}=\[\],])
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(text: bytes) -> Iterator[tuple[str, bytes]]:
    """The text's tokens (kind, bytes), one at a time (never all at once: the parser's bounds stop it early)."""
    at = 0
    end = len(text)
    while at < end:
        m = TOKEN.match(text, at)
        if m is None:
            raise ParseError(f"metadata text: unexpected byte {text[at : at + 1]!r} at {at}")
        kind = m.lastgroup or ""
        if kind != "space":
            # Names may start with a digit, so "12" or "1.5" lex as names: a name made of digits (and a dot) is a number.
            value = m.group(kind)
            if kind == "name" and re.fullmatch(rb"-?[0-9]+(?:\.[0-9]+)?", value):
                kind = "number"
            yield kind, value
        at = m.end()


def shown(token: bytes) -> str:
    """A token as an error message names it: at most 40 characters."""
    return token[:40].decode(errors="replace") + ("…" if len(token) > 40 else "") if token else "the end"


def parse_text(text: bytes) -> dict[str, Value]:
    """lvm2's text metadata as nested dicts: sections, `key = value` (str, int, float, lists of
    those). Bounded: at most MAX_TEXT bytes, MAX_DEPTH nested sections, MAX_KEYS keys in all,
    MAX_LIST items a list, no key twice in a section. Raises ParseError."""
    if len(text) > MAX_TEXT:
        raise ParseError(f"metadata text is {len(text)} bytes (this engine reads up to {MAX_TEXT})", hostile=True)
    stream = tokens(text.rstrip(b"\0"))
    current = next(stream, ("end", b""))
    keys = 0

    def peek() -> tuple[str, bytes]:
        return current

    def take(kind: str, value: bytes | None = None) -> bytes:
        nonlocal current
        k, v = current
        if k != kind or (value is not None and v != value):
            raise ParseError(f"metadata text: expected {value.decode() if value else kind}, found {shown(v)}")
        current = next(stream, ("end", b""))
        return v

    def scalar() -> Value:
        k, v = peek()
        take(k)
        if k == "string":
            return re.sub(rb"\\(.)", rb"\1", v[1:-1]).decode("utf-8", errors="replace")
        if k == "number":
            if len(v) > 24:
                raise ParseError("metadata text: a number of more than 24 digits", hostile=True)
            return float(v) if b"." in v else int(v)
        raise ParseError(f"metadata text: expected a value, found {shown(v)}")

    def value() -> Value:
        if peek() != ("punct", b"["):
            return scalar()
        take("punct", b"[")
        items: list[Value] = []
        while peek() != ("punct", b"]"):
            if items:
                take("punct", b",")
            if len(items) >= MAX_LIST:
                raise ParseError(f"metadata text: a list of more than {MAX_LIST} items", hostile=True)
            items.append(scalar())
        take("punct", b"]")
        return items

    def section(depth: int, closing: bool) -> dict[str, Value]:
        nonlocal keys
        if depth > MAX_DEPTH:
            raise ParseError(f"metadata text: sections nested deeper than {MAX_DEPTH}", hostile=True)
        out: dict[str, Value] = {}
        while True:
            k, v = peek()
            if closing and (k, v) == ("punct", b"}"):
                take("punct", b"}")
                return out
            if k == "end":
                if closing:
                    raise ParseError("metadata text: a section is not closed")
                return out
            name = take("name").decode()
            keys += 1
            if keys > MAX_KEYS:
                raise ParseError(f"metadata text: more than {MAX_KEYS} keys", hostile=True)
            if name in out:
                raise ParseError(f"metadata text: {name} given twice in one section")
            if peek() == ("punct", b"{"):
                take("punct", b"{")
                out[name] = section(depth + 1, True)
            else:
                take("punct", b"=")
                out[name] = value()

    return section(0, False)
