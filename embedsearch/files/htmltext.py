"""HTML -> the blocks a reader reads: headings, text blocks and code, without tags.

Used for HTML blocks inside markdown, for the main content an extractor found in an HTML page,
and for WordPress posts. Built on the standard library's HTMLParser (tolerant of broken markup,
no extra dependency, fast enough: every HTML block of the lovit blog in a few milliseconds).

- script, style, iframe and other non-text elements are dropped with everything inside them;
- an image reads as its alt text (unless the alt is a placeholder such as "alt text" or a file
  name), a figure's caption as a text block;
- a list, table, blockquote or definition list is one block, one line per item, row or paragraph
  (as a markdown list or table is one passage); table cells are joined with " | ";
- `pre` is a code block, verbatim, with the language of a `language-x` / `lang-x` class.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

DROP = {"script", "style", "iframe", "noscript", "template", "svg", "canvas", "object", "embed", "button",
        "select", "textarea", "math-renderer"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
CONTAINERS = {"ul", "ol", "table", "blockquote", "dl"}
LEAVES = {"p", "div", "section", "article", "main", "header", "footer", "aside", "center", "figure", "figcaption",
          "li", "dt", "dd", "tr", "address", "details", "summary", "caption", "form", "fieldset", "nav", "hr"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
PLACEHOLDER_ALT = re.compile(r"^(?:alt[ _-]?text|image|img|picture|photo|screenshot|figure|그림|이미지|사진|\S+\.(?:png|jpe?g|gif|svg|webp))$", re.I)
LANGUAGE_CLASS = re.compile(r"(?:^|\s)(?:language|lang|highlight-source)-([\w+#.-]+)")
ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.I)  # in an <img> tag's source


@dataclass
class Block:
    kind: str  # "heading", "text" or "code"
    text: str
    level: int = 0  # a heading's level, 1-6
    language: str = ""


def alt_text(alt: str | None) -> str:
    """An image's alt text as a reader would want it: "" for placeholders."""
    alt = " ".join((alt or "").split())
    return "" if PLACEHOLDER_ALT.match(alt) else alt


def tag_alt(tag: str) -> str:
    """The raw alt attribute in an `<img …>` tag's source ("" without one)."""
    match = ALT.search(tag)
    return next((g for g in match.groups() if g is not None), "") if match else ""


def html_blocks(fragment: str) -> list[Block]:
    parser = _Blocks()
    parser.feed(fragment)
    parser.close()
    parser.flush()
    return parser.blocks


def html_text(fragment: str) -> str:
    """All the readable text of an HTML fragment, blocks separated by newlines."""
    return "\n".join(b.text for b in html_blocks(fragment))


def first_element_end_line(fragment: str) -> int:
    """The 1-based line on which the fragment's first top-level element closes (0: never).

    kramdown ends an HTML block there and reads what follows as markdown again, so a
    `<center>caption</center>` line followed by a markdown image reads as two blocks.
    """
    parser = _Depth()
    parser.feed(fragment)
    return parser.end_line


class _Depth(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.end_line = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        self.depth = max(0, self.depth - 1)
        if self.depth == 0 and not self.end_line:
            self.end_line = self.getpos()[0]


class _Blocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.buffer: list[str] = []  # inline text of the current leaf
        self.lines: list[str] = []  # finished lines of the current container (list, table, quote)
        self.containers = 0
        self.cells: list[str] | None = None  # the current table row's cells
        self.drop = ""  # the element being dropped (script, style, ...) and how deep it nests
        self.drop_depth = 0
        self.pre = 0
        self.pre_language = ""
        self.heading = 0

    # -- text ------------------------------------------------------------------------------

    def handle_data(self, data: str) -> None:
        if self.drop:
            return
        self.buffer.append(data if self.pre else re.sub(r"\s+", " ", data))

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = dict(attrs)
        if self.drop or tag in DROP:
            if tag == (self.drop or tag) and tag not in VOID:
                self.drop, self.drop_depth = tag, self.drop_depth + 1
            return
        if tag == "img":
            alt = alt_text(attributes.get("alt"))
            if alt:
                self.buffer.append(f" {alt} ")
        elif tag == "br":
            self.buffer.append("\n")
        elif tag == "pre":
            self._end_leaf()
            self.pre += 1
            self.pre_language = _language(attributes.get("class"))
        elif tag == "code" and self.pre:
            self.pre_language = self.pre_language or _language(attributes.get("class"))
        elif tag in HEADINGS:
            self._end_leaf()
            self.heading = int(tag[1])
        elif tag in ("td", "th"):
            self._end_cell()
            self.cells = [] if self.cells is None else self.cells
        elif tag in CONTAINERS:
            self._end_leaf()
            self.containers += 1
        elif tag in LEAVES:
            self._end_leaf()
            if tag == "li":
                self.buffer.append("- ")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if self.drop:
            return
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.drop:
            if tag == self.drop:
                self.drop_depth -= 1
                self.drop = self.drop if self.drop_depth else ""
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
            code = "".join(self.buffer).strip("\n").rstrip()
            self.buffer = []
            if code.strip():
                self._emit(Block("code", code, language=self.pre_language))
            self.pre_language = ""
        elif tag in HEADINGS and self.heading:
            text = _clean("".join(self.buffer))
            self.buffer = []
            if text and not self.containers:
                self.blocks.append(Block("heading", text, level=self.heading))
            elif text:
                self.lines.append(text)
            self.heading = 0
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_cell()
            if self.cells:
                self._line(" | ".join(self.cells))
            self.cells = None
        elif tag in CONTAINERS:
            self._end_leaf()
            self.containers = max(0, self.containers - 1)
            if not self.containers:
                self._end_container()
        elif tag in LEAVES:
            self._end_leaf()

    # -- blocks ----------------------------------------------------------------------------

    def _end_cell(self) -> None:
        if self.cells is not None:
            text = _clean("".join(self.buffer))
            self.buffer = []
            if text:
                self.cells.append(text)

    def _end_leaf(self) -> None:
        text = _clean("".join(self.buffer))
        self.buffer = []
        if text and text != "-":
            self._line(text)

    def _line(self, text: str) -> None:
        if self.containers:
            self.lines.append(text)
        else:
            self.blocks.append(Block("text", text))

    def _emit(self, block: Block) -> None:
        if self.containers:  # code inside a list or quote: keep it in that block, verbatim
            self.lines.append(block.text)
        else:
            self.blocks.append(block)

    def _end_container(self) -> None:
        if self.lines:
            self.blocks.append(Block("text", "\n".join(self.lines)))
        self.lines = []

    def flush(self) -> None:
        if self.pre:
            self.pre = 0
            code = "".join(self.buffer).strip("\n").rstrip()
            self.buffer = []
            if code.strip():
                self._emit(Block("code", code, language=self.pre_language))
        self._end_cell()
        if self.cells:
            self._line(" | ".join(self.cells))
            self.cells = None
        self._end_leaf()
        self.containers = 0
        self._end_container()


def _clean(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line).strip()


def _language(classes: str | None) -> str:
    match = LANGUAGE_CLASS.search(classes or "")
    return match.group(1).lower() if match else ""
