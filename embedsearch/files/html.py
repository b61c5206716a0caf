"""HTML pages (`.html`, `.htm`): the post's main content, not the site around it.

trafilatura finds the main content (menus, sidebars, comment widgets and footers out), with
`favor_precision`. Measured on the 75 taewan-html pages (benchmarks/html_extractors.py, the
theme's own `post__content` as the answer key):

| extractor | boilerplate lines leaked | post text lost | titles right | crashed |
|---|---|---|---|---|
| trafilatura, favor_precision | 0 (0 pages) | 4.9% | 75/75 | 0 |
| trafilatura, default | 41 (9 pages) | 4.3% | 74/75 | 0 |
| readability-lxml | 25 (6 pages) | 10.0% | 74/75 | 1 page |

(Leaks: the site's name and tagline, tag lists, the author box. Lost text is mostly Jupyter
output cells and reference lists.) trafilatura also gives the date. Both take about 0.1 s a page.

Each block of the extracted content is a paragraph (a list or table is one), headings make the
heading path, `pre`/`code` blocks are code; a block that only repeats the title (a thumbnail's
alt text) is left out. Line numbers are found by searching each block's
text in the page source (`locate.py`), so `path:line` opens the page where the block is.
"""
from __future__ import annotations

from typing import Any

from ..records import Paragraph
from .htmltext import Block, html_blocks
from .kinds import classify, readable
from .locate import SourceIndex
from .registry import Reader

# trafilatura's XML -> HTML tags that htmltext understands
_TAGS = {"list": "ul", "item": "li", "quote": "blockquote", "row": "tr", "cell": "td", "graphic": "img", "lb": "br",
         "hi": "span", "ref": "a", "del": "s", "head": "h2"}


class HtmlReader(Reader):
    suffixes = (".html", ".htm")
    empty_reason = "no main content found in the page"
    library = "trafilatura"

    def parse(self, text: str, path: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
        from pathlib import Path

        body, meta = extract(text)
        title = meta.get("title") or Path(path).stem
        blocks = [b for b in html_blocks(body) if b.kind == "heading" or " ".join(b.text.split()) != title]
        return title, meta, paragraphs_from_blocks(blocks, SourceIndex(text))

    def display(self, text: str, path: str) -> list[Paragraph]:
        body, _ = extract(text)
        return paragraphs_from_blocks(html_blocks(body), SourceIndex(text), headings=True)


def extract(page: str) -> tuple[str, dict[str, Any]]:
    """(main content as HTML, {title, date, tags, categories, ...} as far as the page says)."""
    import trafilatura
    from lxml import etree

    doc = trafilatura.bare_extraction(page, favor_precision=True, with_metadata=True, include_comments=False,
                                      include_tables=True, include_images=True, include_formatting=True)
    if doc is None or doc.body is None:
        return "", {}
    for element in doc.body.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "head":
            rend = element.get("rend", "")
            element.tag = rend if rend[:1] == "h" and rend[1:].isdigit() else "h2"
        elif element.tag == "list":
            element.tag = "ol" if element.get("rend") == "ol" else "ul"
        elif element.tag == "code":
            element.tag = "code" if element.getparent() is not None and element.getparent().tag == "p" else "pre"
        elif element.tag == "cell" and element.get("role") == "head":
            element.tag = "th"
        elif element.tag in _TAGS:
            element.tag = _TAGS[element.tag]
    meta: dict[str, Any] = {}
    for key in ("title", "date", "author", "description"):
        value = getattr(doc, key, None)
        if value:
            meta[key] = str(value).strip()
    for key in ("tags", "categories"):
        values = [v.strip() for v in (getattr(doc, key, None) or []) if v and v.strip()]
        if values:
            meta[key] = values
    return etree.tostring(doc.body, encoding="unicode"), meta


def paragraphs_from_blocks(blocks: list[Block], source: SourceIndex, headings: bool = False) -> list[Paragraph]:
    """Blocks in reading order -> Paragraphs under their heading path, located in the source
    (`headings=True`: each heading is a paragraph `## text` too, for `get`)."""
    paragraphs: list[Paragraph] = []
    show_headings, headings = headings, []
    for block in blocks:
        if not readable(block.text):
            continue
        found = source.find(block.text)
        if block.kind == "heading":
            headings = [h for h in headings if h[0] < block.level]
            headings.append((block.level, f"{'#' * block.level} {block.text}"))
            if show_headings:
                line = found[0] if found else source.line_at_cursor()
                paragraphs.append(Paragraph(headings[-1][1], "", line, found[1] if found else line, kind="heading"))
            continue
        line = source.line_at_cursor()
        start, end = found or (line, line)
        kind = "code" if block.kind == "code" else classify(block.text)
        paragraphs.append(Paragraph(block.text, " > ".join(h[1] for h in headings), start, end, kind=kind,
                                    language=block.language, block=block.kind == "code"))
    return paragraphs
