"""Where does a block of extracted text sit in its marked-up source (an HTML page, an export)?

An extractor gives text without positions, so each block is found again: the source's word
characters (tags, comments, scripts, styles and the page's <head> skipped, entities decoded,
image alt text kept)
are indexed with their line numbers, and a block's first and last word characters are searched
in order, from where the previous block ended. Comparing word characters only makes the search
blind to the white space and punctuation that extraction changes. Linear in the source's size.
"""
from __future__ import annotations

import html
import re
from array import array

from .htmltext import tag_alt

_MARKUP = re.compile(
    r"<!--.*?-->|<!\[CDATA\[|\]\]>|<(script|style|head)\b.*?</\1\s*>|<[^>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|\w+);",
    re.S | re.I,
)
PROBE = 24  # word characters compared at each end of a block


def squash(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


class SourceIndex:
    def __init__(self, source: str) -> None:
        keys: list[str] = []
        lines = array("i")
        line = 1
        pos = 0
        for match in _MARKUP.finditer(source):
            line = self._add(source[pos : match.start()], line, keys, lines)
            markup = match.group(0)
            if markup.startswith("&"):
                self._add(html.unescape(markup), line, keys, lines)
            elif markup[:4].lower() == "<img":
                self._add(html.unescape(tag_alt(markup)), line, keys, lines)
            line += markup.count("\n")
            pos = match.end()
        self._add(source[pos:], line, keys, lines)
        self.keys = "".join(keys)
        self.lines = lines
        self.cursor = 0

    @staticmethod
    def _add(text: str, line: int, keys: list[str], lines: array) -> int:
        for ch in text:
            if ch == "\n":
                line += 1
            elif ch.isalnum():
                keys.append(ch)
                lines.append(line)
        return line

    def find(self, text: str) -> tuple[int, int] | None:
        """1-based (first line, last line) of `text`, searched after the previous block found."""
        key = squash(text)
        if not key:
            return None
        head, tail = key[:PROBE], key[-PROBE:]
        start = self.keys.find(head, self.cursor)
        if start < 0:
            start = self.keys.find(head)
        if start < 0:
            return None
        end = self.keys.find(tail, start + max(0, len(key) - len(tail) - len(key) // 2))
        if end < 0:
            end = self.keys.find(tail, start)
        last = end + len(tail) - 1 if end >= 0 else start + len(head) - 1
        self.cursor = last + 1
        return self.lines[start], self.lines[last]

    def line_at_cursor(self) -> int:
        return self.lines[min(self.cursor, len(self.lines) - 1)] if len(self.lines) else 1
