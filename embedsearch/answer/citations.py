"""Find the `[n]` an answer cites and map each back to its passage's source."""
from __future__ import annotations

import re
from typing import Sequence

from ..records import Citation, Hit

# [1]  [1, 3]  [1-3]  [^2]  and the full-width ［1］ some models write for Korean text
_BRACKETS = re.compile(r"[\[［]\^?\s*(\d+(?:\s*(?:[,，、;]|[-–~])\s*\d+)*)\s*[\]］]")
_RANGE = re.compile(r"(\d+)\s*[-–~]\s*(\d+)")


def cited_numbers(text: str, count: int) -> list[int]:
    """Passage numbers cited in `text` (1..count only), ascending, each once."""
    found: set[int] = set()
    for match in _BRACKETS.finditer(text):
        body = match.group(1)
        for low, high in _RANGE.findall(body):
            if int(high) - int(low) <= count:
                found.update(range(int(low), int(high) + 1))
        for number in re.findall(r"\d+", _RANGE.sub("", body)):
            found.add(int(number))
    return sorted(n for n in found if 1 <= n <= count)


def citations_for(text: str, hits: Sequence[Hit]) -> list[Citation]:
    """The citations map: each `[n]` the answer used -> the n-th passage's path, lines and heading."""
    return [
        Citation(
            number=n,
            path=hits[n - 1].path,
            line_start=hits[n - 1].line_start,
            line_end=hits[n - 1].line_end,
            heading=hits[n - 1].heading,
            title=hits[n - 1].title,
        )
        for n in cited_numbers(text, len(hits))
    ]
