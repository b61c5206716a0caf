"""Markdown -> paragraphs a reader would read, each with its heading path and exact source lines.

markdown-it-py parses CommonMark plus tables, `$…$`/`$$…$$` math (mdit-py-plugins' dollarmath,
so `_` and `*` inside a formula are not emphasis) and the blog-engine dialects of
`files/dialects.py` (Liquid, Hugo shortcodes, Hexo tags, kramdown IALs).

Each top-level block (paragraph, list, quote, table, code block, math block, HTML block) becomes
one Paragraph whose `text` is what the page shows: links keep their text, images their alt text,
emphasis markers, template tags and HTML tags are gone, code blocks are verbatim without their
fence lines, math keeps its source. `line_start`/`line_end` are the block's own source lines.
Not passages: reference-link definitions, image-only paragraphs, blocks that render to nothing.
Headings come only from markdown headings, so a `# comment` inside a code block stays code.
"""
from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ..records import Paragraph
from . import frontmatter
from .dialects import dialect, template_plugin
from .htmltext import DROP, alt_text, first_element_end_line, html_text, tag_alt
from .kinds import classify, readable

_FRONT_MATTER = re.compile(
    r"\A(?:---[ \t]*\n(?P<yaml>.*?\n)?(?:---|\.\.\.)|\+\+\+[ \t]*\n(?P<toml>.*?\n)?\+\+\+)[ \t]*(?:\n|\Z)", re.S
)
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][\w-]*)([^>]*)>", re.S)
_parser: MarkdownIt | None = None


def parser() -> MarkdownIt:
    global _parser
    if _parser is None:
        from mdit_py_plugins.dollarmath import dollarmath_plugin

        md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
        dollarmath_plugin(md, allow_labels=False, allow_digits=False, double_inline=True)
        template_plugin(md)
        _parser = md
    return _parser


def split_front_matter(text: str) -> tuple[dict[str, Any], int]:
    """Return (front matter fields, number of lines it spans). Bad YAML/TOML yields no fields."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    fields = frontmatter.load(match.group("toml") or "", "toml") if match.group(0).startswith("+++") else \
        frontmatter.load(match.group("yaml") or "")
    lines = match.group(0).count("\n") + (0 if match.group(0).endswith("\n") else 1)
    return fields, lines


def parse_markdown(text: str, fallback_title: str, path: str = "") -> tuple[str, dict[str, Any], list[Paragraph]]:
    """`path` (when given) tells MDX (`.mdx`) and Obsidian vault notes (a `.obsidian` folder above
    the file, or Obsidian syntax in it) apart: see `files/obsidian.py`. A vault note's title is its
    file name (Notion's 32-hex id taken off) unless front matter names one: in a real vault of
    520 notes 161 were titled by a first heading such as "개요"; its `aliases` follow the name in
    parentheses, which is how they reach the embedded text and the lexical index (both read the
    title)."""
    from .obsidian import rewrite

    front_matter, offset = split_front_matter(text)
    fallback_title = notion_title(fallback_title)
    vault = in_vault(path) or looks_obsidian(text)
    source = rewrite("\n".join(text.split("\n")[offset:]), obsidian=vault, mdx=path.lower().endswith(".mdx"))
    lines = text.split("\n")[:offset] + source.text.split("\n")
    env = {"dialect": dialect(text)}
    walker = _Walker(lines, env)
    walker.containers = [(a + offset, b + offset, t) for a, b, t in source.containers]
    walker.walk(source.text, offset)
    if source.tags:
        front_matter["tags"] = list(dict.fromkeys(frontmatter.string_list(front_matter.get("tags")) + source.tags))
    if vault:
        title = str(front_matter.get("title") or fallback_title)
        aliases = [a for a in frontmatter.string_list(front_matter.get("aliases") or front_matter.get("alias"))
                   if a != title]
        if aliases:
            title = f"{title} ({', '.join(aliases)})"
    else:
        title = str(front_matter.get("title") or walker.first_heading or fallback_title)
    return title, front_matter, walker.paragraphs


_NOTION_ID = re.compile(r"\s+[0-9a-f]{32}$")


def notion_title(stem: str) -> str:
    """`회의록 1a2b…6d` (a Notion export's file name) -> `회의록`."""
    return _NOTION_ID.sub("", stem) or stem


def in_vault(path: str) -> bool:
    """Whether a folder above `path` holds `.obsidian` (the mark of an Obsidian vault)."""
    if not path:
        return False
    from pathlib import Path

    try:
        return any((parent / ".obsidian").is_dir() for parent in Path(path).parents)
    except OSError:
        return False


def looks_obsidian(text: str) -> bool:
    from .obsidian import looks_obsidian as check

    return check(text)


class _Walker:
    """Turns the top-level tokens of one document (or of a part of it) into Paragraphs."""

    def __init__(self, lines: list[str], env: dict[str, Any]) -> None:
        self.lines = lines
        self.env = env
        self.paragraphs: list[Paragraph] = []
        self.headings: list[tuple[int, str]] = []  # (level, "## text")
        self.first_heading = ""
        self.containers: list[tuple[int, int, str]] = []  # callouts, admonitions: (first, last line), title

    def walk(self, source: str, offset: int) -> None:
        tokens = parser().parse(source, self.env)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.level != 0 or token.map is None or token.nesting == -1:
                i += 1
                continue
            close = _close(tokens, i)
            start, end = token.map[0] + offset, token.map[1] + offset
            if token.type == "heading_open":
                self._heading(int(token.tag[1:]), " ".join(render_inline(tokens[i + 1].children or []).split()))
            elif token.type == "html_block":
                self._html_block(start, end)
            elif token.type in ("fence", "code_block"):
                # leading blank lines stay (then dropped by _add) so that line i is the block's line i
                code, first = token.content.rstrip(), _content_line(token) + offset
                self._add(code, first, first + code.count("\n") + 1, "code", _language(token.info), block=True)
            elif token.type == "math_block":
                self._add("\n".join(self.lines[start:end]), start, end)
            elif token.type == "paragraph_open" and _image_only(tokens[i + 1].children or []):
                pass
            elif token.type != "hr":
                text = render_blocks(tokens[i : close + 1], token.map[0], token.map[1])
                self._add(text, start, end, classify(text))
            i = close + 1

    def _heading(self, level: int, text: str) -> None:
        self.headings = [h for h in self.headings if h[0] < level]
        self.headings.append((level, f"{'#' * level} {text}"))
        self.first_heading = self.first_heading or text

    def _add(self, text: str, start: int, end: int, kind: str = "prose", language: str = "",
             block: bool = False) -> None:
        """`text` whose line i is source line `start + i` (0-based; `end` exclusive), when it has
        as many lines as the span: then blank lines at either end narrow the span to the text."""
        lines = text.split("\n")
        aligned = len(lines) == end - start
        while lines and not lines[0].strip():
            lines.pop(0)
            start += aligned
        while lines and not lines[-1].strip():
            lines.pop()
            end -= aligned
        if not lines or not readable(text):
            return
        while end > start + 1 and not self.lines[end - 1].strip():  # a list's map can hold the blank line after it
            end -= 1
        heading = " > ".join([h[1] for h in self.headings] + [t for a, b, t in self.containers if a <= start <= b])
        self.paragraphs.append(Paragraph("\n".join(lines), heading, start + 1, end, kind=kind, language=language,
                                         block=block))

    def _html_block(self, start: int, end: int) -> None:
        """An HTML block ends where its first element closes (as in kramdown): a `<center>` line
        followed by a markdown image is a caption and an image, not one block of HTML."""
        source = "\n".join(self.lines[start:end])
        split = first_element_end_line(source)
        if 0 < split < end - start and "\n".join(self.lines[start + split : end]).strip():
            end, tail = start + split, end
        else:
            tail = end
        text = html_text("\n".join(self.lines[start:end]))
        self._add(text, start, end, classify(text))
        if tail > end:
            self.walk("\n".join(self.lines[end:tail]), end)


def _close(tokens: list[Token], i: int) -> int:
    """Index of the token that closes the block opened at `i` (itself for a leaf block)."""
    if tokens[i].nesting != 1:
        return i
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


def _content_line(token: Token) -> int:
    """The 0-based line where a code block's content starts (after the opening fence)."""
    if token.type == "code_block":
        return token.map[0]
    return token.meta.get("content_line", token.map[0] + 1) if token.meta else token.map[0] + 1


def _language(info: str) -> str:
    """```` ```python ````, ```` ```{python} ````, ```` ```py title="x" ```` -> the language."""
    words = info.strip().strip("{}.").replace(",", " ").split()
    return words[0].lower() if words else ""


def _image_only(children: list[Token]) -> bool:
    seen = False
    for child in children:
        if child.type == "image":
            seen = True
        elif child.type in ("softbreak", "hardbreak", "link_open", "link_close") or (
            child.type == "text" and not child.content.strip()
        ):
            continue  # a linked image is still only an image
        elif child.type == "html_inline" and _tag_name(child.content) == "br":
            continue
        else:
            return False
    return seen


def _tag_name(html: str) -> str:
    tag = _TAG.match(html)
    return tag.group(2).lower() if tag else ""


# -- rendering ---------------------------------------------------------------------------------

def render_blocks(tokens: list[Token], first: int, last: int) -> str:
    """A paragraph or container block (list, quote, table) spanning source lines [first, last)
    -> its text, each piece on the line it was written on (blank lines where the source's lines
    read as nothing), so that a piece of a split passage knows its lines. List items keep their
    marker; table cells are joined with " | "."""
    slots = [""] * max(1, last - first)
    prefixes: list[str] = []  # the marker of each open list item, for its first line
    row: list[str] | None = None
    row_line = 0

    def place(text: str, line: int) -> None:
        if prefixes:
            text = prefixes[-1] + text.replace("\n", "\n" + " " * len(prefixes[-1]))
            prefixes[-1] = " " * len(prefixes[-1])  # later paragraphs of the item are indented, not marked
        for k, piece in enumerate(text.split("\n")):
            i = min(max(line - first + k, 0), len(slots) - 1)
            slots[i] = f"{slots[i]} {piece.strip()}" if slots[i].strip() else piece

    for token in tokens:
        kind = token.type
        if kind == "list_item_open":
            marker = f"{token.info}{token.markup}" if token.info else "-"
            prefixes.append("  " * len(prefixes) + marker + " ")
        elif kind == "list_item_close":
            prefixes.pop()
        elif kind == "tr_open":
            row, row_line = [], token.map[0] if token.map else row_line + 1
        elif kind == "tr_close":
            if row and any(row):
                place(" | ".join(row), row_line)
            row = None
        elif kind == "inline":
            text = render_inline(token.children or [])
            if row is not None:
                row.append(" ".join(text.split()))
            elif text.strip():
                place(text, token.map[0] if token.map else first)
        elif kind in ("fence", "code_block") and token.map:
            place(token.content.rstrip(), _content_line(token))
        elif kind == "math_block" and token.map:
            place(f"$$\n{token.content.strip()}\n$$", token.map[0])
        elif kind == "html_block" and token.map:
            text = html_text(token.content)
            if text:
                place(text, token.map[0])
    return "\n".join(line.rstrip() for line in slots)


def render_inline(children: list[Token]) -> str:
    """Inline tokens -> the text a reader sees; a source line break stays a line break (and
    nothing else adds one), so the text keeps the paragraph's lines."""
    out: list[str] = []
    dropping = ""  # an inline <script>/<style>/... being skipped
    for child in children:
        kind = child.type
        if kind == "html_inline":
            tag = _TAG.match(child.content)
            name = tag.group(2).lower() if tag else ""
            if dropping:
                dropping = "" if tag and tag.group(1) and name == dropping else dropping
            elif name in DROP and not tag.group(1) and not tag.group(3).rstrip().endswith("/"):
                dropping = name
            elif name == "br":
                out.append(" ")
            elif name == "img":
                out.append(alt_text(tag_alt(tag.group(3))))
            out.append("\n" * child.content.count("\n"))
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif dropping:
            continue
        elif kind in ("text", "code_inline"):
            out.append(child.content)
        elif kind == "math_inline":
            out.append(f"${child.content}$")
        elif kind == "math_inline_double":
            out.append(f"$${child.content}$$")
        elif kind == "image":
            alt = render_inline(child.children or [])
            out.append(alt_text(alt) + "\n" * alt.count("\n"))
    return "\n".join(line.rstrip() for line in "".join(out).split("\n"))
