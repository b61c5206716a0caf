"""Bytes -> text: UTF-8 first, then CP949 (a superset of EUC-KR, common for older Korean files)."""
from __future__ import annotations

from ..text import nfc


class Skip(Exception):
    """A file that is not indexed; the message is its path."""


class Empty(Skip):
    pass


class Binary(Skip):
    pass


class Undecodable(Skip):
    pass


def decode(data: bytes) -> tuple[str, str]:
    """Return (NFC text, encoding). Raises Empty, Binary or Undecodable."""
    if not data.strip():
        raise Empty()
    if b"\x00" in data[:8192]:
        raise Binary()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp949"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise Empty()
        return nfc(text), encoding
    raise Undecodable()
