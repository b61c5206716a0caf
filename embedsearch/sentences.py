"""Stage 2b: a passage's sentences, the evidence finer than a passage, with their exact lines.

A passage is the unit the search retrieves (~150 tokens under one heading); the sentence that
answers is the unit a reader wants to see and cite. `spans` finds the sentences of a chunk's
text once, when it is indexed: each gets a vector of its own from the same model run as its
passage (vectors/: `embed_passages_with_parts`), stored with the passage, so a search can rank a
passage by its best sentence too and show that sentence, and `ask` answers from it without an
LLM (answer/backends/extractive.py), all without embedding anything at query time but the query.

Which sentences: those of prose passages (code is not read sentence by sentence), and a code
passage's first line when it is the sentence that introduces the code ("다음과 같이
실행한다:"). Pieces shorter than MIN_CHARS or without a word of two letters (headings, labels,
list stubs) are not sentences. A list item is a sentence of its own, without its marker.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .text import has_hangul

MIN_CHARS = 12  # shorter pieces are headings, labels, list stubs
# A passage's sentences beyond this many get no vector of their own (a 400-token passage of
# one-line list items: the first ones stand for it). The three real blogs: 9 of 6,133 passages
# hold more (at most 32).
MAX_SENTENCES = 24

# A sentence ends at . ! ? … (full-width too) and closing quotes, followed by white space; at a
# blank line; or at a line break before a list item. A single line break inside a paragraph is
# the author's wrapping, not an end (text.split_sentences, made for fitting chunks, breaks there:
# "...without\nPython or a GPU, ..." became a sentence starting mid-clause).
_END = re.compile(r"(?<=[.!?…。！？])[\"'”’)\]]*\s+|\n\s*\n\s*|\n(?=\s*(?:[-*+•]|\d+[.)])\s)")
_MARKER = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_CODE_LINE = re.compile(r"\s*(?:#|//|/\*|--|>>>|\$|@|import\b|from\b|def\b|class\b|return\b|print\()"
                        r"|.*[=;{}(\[,]\s*$|\s*[\w.]+\s*=[^=]")


@dataclass(frozen=True)
class Span:
    """One sentence of a passage: characters [start, end) of its text, and its lines in the file."""

    start: int
    end: int
    line_start: int
    line_end: int


def split(text: str) -> list[tuple[int, str]]:
    """(offset, piece) for each sentence of `text`; the pieces together are the whole text."""
    pieces, start = [], 0
    for match in _END.finditer(text):
        if match.end() > start:
            pieces.append((start, text[start:match.end()]))
        start = match.end()
    if start < len(text):
        pieces.append((start, text[start:]))
    return pieces


def introduces(line: str) -> bool:
    """A code passage's first line is its introducing sentence (not code): words, no tabs, no
    code-like start or end, and Hangul or a sentence's end."""
    if "\t" in line or _CODE_LINE.match(line) or len(line.split()) < 3:
        return False
    return has_hangul(line) or bool(re.search(r"[.:]\s*$", line))


def spans(text: str, line_start: int, line_end: int, kind: str = "prose", *,
          min_chars: int = MIN_CHARS, limit: int | None = MAX_SENTENCES) -> list[Span]:
    """The sentences of a passage's `text` (see the module docstring), in reading order.

    The text keeps its file's line breaks (a paragraph of three lines is three lines of text),
    so a sentence's lines are the passage's first line plus the line breaks before it.
    """
    pieces = split(text)
    if kind == "code":
        first = text.split("\n", 1)[0]
        pieces = [(0, first)] if introduces(first) else []
    out: list[Span] = []
    for offset, piece in pieces:
        marker = _MARKER.match(piece)
        rest = piece[marker.end():] if marker else piece
        body = rest.strip()
        if len(body) < min_chars or not re.search(r"\w{2}", body):
            continue
        start = offset + (marker.end() if marker else 0) + len(rest) - len(rest.lstrip())
        end = start + len(body)
        first_line = line_start + text.count("\n", 0, start)
        last_line = line_start + text.count("\n", 0, end)
        out.append(Span(start, end, min(first_line, line_end), min(last_line, line_end)))
        if limit is not None and len(out) == limit:
            break
    return out


def of_chunk(text: str, line_start: int, line_end: int, kind: str) -> list[tuple[int, int, int, int]]:
    """A chunk's sentences as the index stores them: (start, end, line_start, line_end)."""
    return [(s.start, s.end, s.line_start, s.line_end) for s in spans(text, line_start, line_end, kind)]


def in_embedded(text: str, embed_text: str, sentences: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """Where each sentence of `text` is in `embed_text` (the title and headings above the text, as
    chunks.context_text writes it): the text is its end."""
    body = text.rstrip()
    if not embed_text.endswith(body.lstrip()):
        return []
    base = len(embed_text) - len(body)
    return [(base + a, base + b) for a, b, _, _ in sentences]
