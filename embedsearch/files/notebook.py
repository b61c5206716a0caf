"""Jupyter notebooks (`.ipynb`): markdown cells as prose, code cells as code, text outputs as code.

Many ML posts start as a notebook. The cells are laid out as one markdown text (markdown cells as
they are, code cells fenced with the kernel's language from `metadata.kernelspec.language` or
`language_info.name`, text outputs — stream and `text/plain` results — fenced as `output`, at most
OUTPUT_LINES lines / OUTPUT_CHARS characters each) and read by the markdown reader, so headings
in markdown cells make the heading path of the cells after them. Images, HTML outputs, errors and
widget state are dropped.

Locations: a passage's lines are the notebook file's own JSON lines of its cell's source (one
JSON line per source line, as Jupyter saves), so `nb.ipynb:40` opens at that cell in an editor.
Malformed JSON is one line: the file is skipped with the parser's message.
"""
from __future__ import annotations

import json
from bisect import bisect_right
from pathlib import Path
from typing import Any

from ..records import Paragraph
from .decode import Unsupported
from .markdown import parse_markdown
from .registry import Reader

OUTPUT_LINES = 20
OUTPUT_CHARS = 2000


class NotebookReader(Reader):
    suffixes = (".ipynb",)
    size_factor = 4  # outputs hold base64 images: a 20 MB notebook is common; they are skipped unparsed
    empty_reason = "a notebook with no text in its cells"

    def parse(self, text: str, path: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
        lines, line_map = notebook_markdown(text)
        title, _, paragraphs = parse_markdown("\n".join(lines), fallback_title=Path(path).stem)
        for p in paragraphs:
            p.line_start = line_map[p.line_start - 1]
            p.line_end = max(p.line_start, line_map[min(p.line_end, len(line_map)) - 1])
            if p.kind == "code" and p.language == "output":
                p.language = ""
        return title, {}, paragraphs


    def display(self, text: str, path: str) -> list[Paragraph]:
        """`get nb.ipynb:40` shows the passages of the cell at JSON line 40."""
        return self.parse(text, path)[2]


def notebook_markdown(text: str) -> tuple[list[str], list[int]]:
    """The notebook as markdown lines, and for each line the JSON line it comes from."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unsupported(f"not a notebook: malformed JSON ({exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise Unsupported("not a notebook in nbformat 4 (no list of cells)")
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    language = str((meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get("name") or "")
    finder = _Finder(text)
    lines: list[str] = [""]  # a first blank line: a cell starting with '---' is no front matter
    line_map: list[int] = [1]
    for cell in nb["cells"]:
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        cell_start = finder.cursor  # Jupyter writes a cell's keys sorted: outputs come before source
        source = _lines(cell.get("source"), finder)
        source_end, finder.cursor = finder.cursor, cell_start
        if not source:
            finder.cursor = source_end
            continue
        if kind == "markdown":
            fences = sum(1 for line, _ in source if line.lstrip().startswith(("```", "~~~")))
            body = source + ([("```", source[-1][1])] if fences % 2 else [])
            _add(lines, line_map, body)
        elif kind == "code":
            _fenced(lines, line_map, source, language)
            for output in cell.get("outputs") or []:
                out = _output_lines(output, finder)
                if out:
                    _fenced(lines, line_map, out, "output")
        finder.cursor = max(finder.cursor, source_end)
        if kind not in ("markdown", "code"):
            continue
        lines.append("")
        line_map.append(line_map[-1])
    return lines, line_map


class _Finder:
    """Finds each source string's JSON line, searching forward from the last one found."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.cursor = 0  # where the last string found ends

    def line_of(self, value: str) -> int:
        for encoded in (json.dumps(value, ensure_ascii=False), json.dumps(value)):
            at = self.text.find(encoded, self.cursor)
            if at >= 0:
                self.cursor = at + len(encoded)
                return bisect_right(self.starts, at)
        return bisect_right(self.starts, self.cursor)


def _lines(source: Any, finder: _Finder) -> list[tuple[str, int]]:
    parts = source if isinstance(source, list) else [source] if isinstance(source, str) else []
    out: list[tuple[str, int]] = []
    for part in parts:
        if not isinstance(part, str):
            continue
        line = finder.line_of(part)
        out.extend((piece, line) for piece in part.rstrip("\n").split("\n"))
    while out and not out[-1][0].strip():
        out.pop()
    return out


def _output_lines(output: Any, finder: _Finder) -> list[tuple[str, int]]:
    if not isinstance(output, dict):
        return []
    if output.get("output_type") == "stream":
        found = _lines(output.get("text"), finder)
    elif output.get("output_type") in ("execute_result", "display_data"):
        data = output.get("data") or {}
        found = _lines(data.get("text/plain"), finder) if "text/html" not in data and "image/png" not in data else []
    else:  # errors: tracebacks full of terminal colour codes
        return []
    kept, chars = [], 0
    for line, at in found:
        if len(kept) >= OUTPUT_LINES or chars + len(line) > OUTPUT_CHARS:
            kept.append((f"… ({len(found) - len(kept)} more lines)", at))
            break
        kept.append((line, at))
        chars += len(line)
    return kept


def _fenced(lines: list[str], line_map: list[int], body: list[tuple[str, int]], language: str) -> None:
    longest = max((len(line) - len(line.lstrip("`")) for line, _ in body), default=0)
    fence = "`" * max(3, longest + 1)
    _add(lines, line_map, [(fence + language, body[0][1]), *body, (fence, body[-1][1])])


def _add(lines: list[str], line_map: list[int], body: list[tuple[str, int]]) -> None:
    for line, at in body:
        lines.append(line)
        line_map.append(at)
