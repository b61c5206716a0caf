"""Plain text -> paragraphs: blank-line blocks, or one paragraph per line when there are no blank lines.

A block that reads as program output or code (see `kinds.py`) is a paragraph of kind "code"; a
block without a letter or digit (a "----" rule) is not a paragraph.
"""
from __future__ import annotations

from typing import Any

from ..records import Paragraph
from .kinds import classify, readable


def parse_plaintext(text: str, fallback_title: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
    lines = text.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    has_blank_separators = any(
        not lines[i].strip() for i in range(nonblank[0], nonblank[-1] + 1)
    ) if nonblank else False

    spans: list[tuple[int, int]] = []  # 0-based, end exclusive
    if not has_blank_separators:
        # One paragraph per line, like exported posts with one paragraph or list item per line.
        spans = [(i, i + 1) for i in nonblank]
    else:
        start: int | None = None
        for i, line in enumerate(lines + [""]):
            if line.strip():
                if start is None:
                    start = i
            elif start is not None:
                spans.append((start, i))
                start = None
    paragraphs = []
    for start, end in spans:
        block = "\n".join(lines[start:end]).strip()
        if readable(block):
            paragraphs.append(Paragraph(text=block, heading="", line_start=start + 1, line_end=end, kind=classify(block)))
    return fallback_title, {}, paragraphs
