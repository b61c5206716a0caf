"""Plain text -> paragraphs: blank-line blocks, or one paragraph per line when there are no blank lines."""
from __future__ import annotations

from typing import Any

from ..records import Paragraph


def parse_plaintext(text: str, fallback_title: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
    lines = text.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    has_blank_separators = any(
        not lines[i].strip() for i in range(nonblank[0], nonblank[-1] + 1)
    ) if nonblank else False

    paragraphs: list[Paragraph] = []
    if not has_blank_separators:
        # One paragraph per line, like exported posts with one paragraph or list item per line.
        for i in nonblank:
            paragraphs.append(Paragraph(text=lines[i].strip(), heading="", line_start=i + 1, line_end=i + 1))
        return fallback_title, {}, paragraphs

    start: int | None = None
    for i, line in enumerate(lines + [""]):
        if line.strip():
            if start is None:
                start = i
        elif start is not None:
            block = "\n".join(lines[start:i]).strip()
            paragraphs.append(Paragraph(text=block, heading="", line_start=start + 1, line_end=i))
            start = None
    return fallback_title, {}, paragraphs
