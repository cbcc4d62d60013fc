"""Helpers for the introspection tests (COMMAND, INFO, CONFIG, CLIENT): RESP replies decoded with their types and
order kept, INFO text split into sections, polling for a condition.

    v = decode(conn.call("COMMAND", "INFO", "get"))   # [Array(...)] with Set, Map, Simple, Bulk, int, None
"""
import time


class Simple(str):
    """A simple string (+OK), as opposed to a bulk string."""


class Error(str):
    pass


class Set(list):
    """A RESP3 set (~); RESP2 sends an array."""


class Map(list):
    """A RESP3 map (%) as a list of (key, value) pairs, in the order sent."""

    def get(self, key, default=None):
        for k, v in self:
            if k == key:
                return v
        return default

    def keys(self):
        return [k for k, _ in self]


def decode(raw):
    """A whole RESP2/RESP3 reply as Python values, keeping order and the kind of each aggregate."""

    def value(pos):
        end = raw.index(b"\r\n", pos)
        kind, head, after = raw[pos:pos + 1], raw[pos + 1:end], end + 2
        if kind == b"+":
            return Simple(head.decode()), after
        if kind == b"-":
            return Error(head.decode()), after
        if kind == b":":
            return int(head), after
        if kind == b"_":
            return None, after
        if kind in (b"$", b"="):
            n = int(head)
            if n < 0:
                return None, after
            return raw[after:after + n].decode(errors="replace"), after + n + 2
        n = int(head)
        if n < 0:
            return None, after
        items = []
        for _ in range(n * 2 if kind == b"%" else n):
            v, after = value(after)
            items.append(v)
        if kind == b"%":
            return Map(zip(items[0::2], items[1::2])), after
        if kind == b"~":
            return Set(items), after
        return items, after

    v, end = value(0)
    assert end == len(raw), f"trailing bytes after a reply: {raw[end:end + 40]!r}"
    return v


def info_sections(text):
    """INFO's text as {section title: {field: value}}, sections in order."""
    if isinstance(text, bytes):
        text = text.decode()
    if text.startswith("txt:"):
        text = text[4:]
    sections = {}
    current = None
    for line in text.split("\r\n"):
        if line.startswith("# "):
            current = sections.setdefault(line[2:], {})
        elif line and current is not None:
            k, _, v = line.partition(":")
            current[k] = v
    return sections


def info(conn, *sections):
    """INFO's reply (RESP2 or RESP3) from a connection, as sections."""
    return info_sections(decode(conn.call("INFO", *sections)))


def wait_until(condition, timeout=20.0, interval=0.02):
    """Polls `condition()` until it is true or `timeout` seconds pass. \\return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = condition()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
