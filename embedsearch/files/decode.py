"""Bytes -> text, and the reasons a file is not indexed.

UTF-8 first, then UTF-16 when the file starts with its byte order mark (Windows editors save
"Unicode" that way, and those files hold NUL bytes, so the BOM is checked before the binary
test), then CP949 (a superset of EUC-KR, common for older Korean files).
"""
from __future__ import annotations

import codecs
import unicodedata

from ..text import nfc


class Skip(Exception):
    """A file that is not indexed; `reason` (also `str(exc)`) says why, for the user."""

    reason = "skipped"

    def __init__(self, reason: str | None = None) -> None:
        if reason:
            self.reason = reason
        super().__init__(self.reason)


class Empty(Skip):
    reason = "empty: no text to index"


class Binary(Skip):
    reason = "binary file (it holds NUL bytes)"


class Undecodable(Skip):
    reason = "not text in UTF-8, UTF-16 or CP949/EUC-KR"


class TooLarge(Skip):
    reason = "larger than the size limit"


class Unsupported(Skip):
    reason = "not a format embedsearch reads"


class MissingLibrary(Skip):
    """A reader's library could not be imported (a partial install: lxml without lxml_html_clean
    broke every HTML page). The files of that type are skipped, the others indexed; the CLI folds
    these into one line per file type (`views.skipped_lines`)."""

    reason = "a library this file type needs could not be imported"


MISSING_LIBRARY = " could not be imported ("  # in every MissingLibrary reason: how views recognises one


def missing_library(library: str, exc: BaseException) -> MissingLibrary:
    return MissingLibrary(f"{library}{MISSING_LIBRARY}{exc})")


_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode(data: bytes) -> tuple[str, str]:
    """Return (NFC text with `\\n` line ends, encoding). Raises Empty, Binary or Undecodable."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                text = ""
            if not _plausible(text[:65536]):
                raise Undecodable(f"starts with a {encoding.upper()} byte order mark but is not {encoding.upper()} text")
            return _text(text), encoding
    if not data.strip():
        raise Empty()
    if b"\x00" in data[:8192]:
        raise Binary()
    for encoding in ("utf-8", "cp949"):
        try:
            return _text(data.decode(encoding)), encoding
        except UnicodeDecodeError:
            continue
    raise Undecodable()


def _plausible(text: str) -> bool:
    """Text, not bytes that happen to start like a BOM: no control characters, no unassigned or
    private-use code points (bytes read as UTF-16 always decode, to something)."""
    if not text.strip("\ufeff"):
        return False
    odd = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs") and ch not in "\t\n\r\f\v")
    return odd <= len(text) // 100


def _text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise Empty()
    return nfc(text)
