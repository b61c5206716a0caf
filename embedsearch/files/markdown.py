"""Markdown -> paragraphs with heading paths and 1-based line spans, via markdown-it-py.

Each top-level block (paragraph, list, blockquote, table, code fence, HTML block) becomes one
Paragraph holding its source text, so a snippet shows what the author wrote and `path:line`
points at it.
"""
from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt

from ..records import Paragraph

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_parser = MarkdownIt("commonmark").enable("table")


def split_front_matter(text: str) -> tuple[dict[str, Any], int]:
    """Return (front matter fields, number of lines it spans). Bad YAML yields no fields."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    import yaml

    try:
        fields = yaml.safe_load(match.group(1) or "") or {}
    except yaml.YAMLError:
        fields = {}
    if not isinstance(fields, dict):
        fields = {}
    lines = match.group(0).count("\n") + (0 if match.group(0).endswith("\n") else 1)
    return {str(k): _plain(v) for k, v in fields.items()}, lines


def _plain(value: Any) -> Any:
    """YAML dates and other objects -> JSON-friendly values."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def parse_markdown(text: str, fallback_title: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
    front_matter, offset = split_front_matter(text)
    lines = text.split("\n")
    body = "\n".join(lines[offset:])
    tokens = _parser.parse(body)

    paragraphs: list[Paragraph] = []
    headings: list[tuple[int, str]] = []  # (level, "## text")
    first_heading = ""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.level != 0 or token.map is None or token.type.endswith("_close"):
            i += 1
            continue
        start, end = token.map  # 0-based, end exclusive, relative to body
        if token.type == "heading_open":
            level = int(token.tag[1:])
            content = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            headings = [h for h in headings if h[0] < level]
            headings.append((level, f"{'#' * level} {content}"))
            first_heading = first_heading or content
        elif token.type != "hr":
            block = "\n".join(lines[offset + start : offset + end]).strip()
            if block:
                paragraphs.append(
                    Paragraph(
                        text=block,
                        heading=" > ".join(h[1] for h in headings),
                        line_start=offset + start + 1,
                        line_end=offset + end,
                    )
                )
        i += 1
    _trim_trailing_blank_lines(paragraphs, lines)
    title = str(front_matter.get("title") or first_heading or fallback_title)
    return title, front_matter, paragraphs


def _trim_trailing_blank_lines(paragraphs: list[Paragraph], lines: list[str]) -> None:
    """markdown-it's map of a list or fence can include the blank line after it; point at text only."""
    for p in paragraphs:
        while p.line_end > p.line_start and not lines[p.line_end - 1].strip():
            p.line_end -= 1
