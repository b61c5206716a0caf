"""File names that are not valid UTF-8, shown faithfully and opened again.

On Linux a name is bytes; Python decodes the bytes that are not UTF-8 as lone surrogates
(os.fsdecode: b"bad\\xffname.md" -> "bad\\udcffname.md"), which SQLite, JSON and the terminal
cannot encode. `display_name` writes each such byte as the four characters `\\xff`;
`real_path` undoes it exactly. When a name needs that, or already holds text that looks like an
escape, its backslashes are doubled too, so the two can't be confused; every other name (Windows
paths with their backslashes included) is left as it is.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

_ESCAPED = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def display_name(path: Path | str) -> str:
    """A printable, UTF-8-encodable name for `path` that `real_path` turns back into it.

    Names that are valid UTF-8 come back unchanged (unless they hold a `\\xNN` or `\\\\` of
    their own).
    """
    name = os.fspath(path)
    if not _has_surrogates(name) and not _ESCAPED.search(name):
        return name
    out = []
    for ch in name:
        if ch == "\\":
            out.append("\\\\")
        elif "\udc80" <= ch <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif "\ud800" <= ch <= "\udfff":  # any other lone surrogate (a Windows name can hold one)
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def real_path(name: str) -> Path:
    """The path a `display_name` stands for (its bytes on disk)."""
    return Path(_ESCAPED.sub(_unescape, name))


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code == "\\":
        return "\\"
    return chr(0xDC00 + int(code[1:], 16)) if code[0] == "x" else chr(int(code[1:], 16))


def _has_surrogates(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
