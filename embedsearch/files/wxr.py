"""WordPress exports (WXR, `.xml`): each post or page is its own document, `file.xml#slug`.

Title, date, tags, categories and status go to the front matter (a draft or pending post is
indexed with `draft: true`; trashed posts and auto-drafts are left out). The post's HTML is read
like any HTML (`htmltext.py`), after WordPress's own conventions: a blank line separates
paragraphs where the editor wrote no `<p>` (wpautop), `[code]`/`[sourcecode]` shortcodes are code
blocks, `[caption]` keeps its text and other media shortcodes are dropped. Line numbers point
into the export file. Other `.xml` files (an RSS or Atom feed, a sitemap) are not read.
"""
from __future__ import annotations

import html
import re
from bisect import bisect_left
from pathlib import Path
from typing import Any
from xml.parsers import expat

from ..records import Document, Paragraph
from ..text import content_hash
from .decode import Empty, Unsupported
from .html import paragraphs_from_blocks
from .htmltext import html_blocks
from .locate import SourceIndex
from .registry import Reader

WP = "http://wordpress.org/export/"
CONTENT = "http://purl.org/rss/1.0/modules/content/ encoded"
_BLOCK_START = re.compile(r"^\s*<(?:p|div|h[1-6]|ul|ol|pre|blockquote|table|figure|hr|!--)\b", re.I)
_CODE_SHORTCODE = re.compile(
    r"\[(?:code|sourcecode)(?:\s+(?:lang|language)=[\"']?([\w+#.-]+)[\"']?)?[^\]]*\](.*?)\[/(?:code|sourcecode)\]",
    re.S | re.I,
)
_MEDIA_SHORTCODE = re.compile(r"\[/?(?:caption|wp_caption|gallery|embed|audio|video|playlist)\b[^\]]*\]", re.I)
SKIPPED_STATUS = {"trash", "auto-draft", "inherit"}


class WxrReader(Reader):
    suffixes = (".xml",)
    many = True
    size_factor = 50  # an export holds a whole blog: 250 MB at the default limit

    def read(self, path: Path, name: str, data: bytes, text: str, encoding: str) -> list[tuple[Document, list[Paragraph]]]:
        if WP not in text[:8192]:  # the namespace is declared on the root element, after a comment
            raise Unsupported("not a WordPress export (WXR); other XML files are not read")
        items = _items(data)
        source = SourceIndex(text)
        mtime = path.stat().st_mtime
        documents = []
        slugs: set[str] = set()
        for item in items:
            if item.get("post_type", "post") not in ("post", "page") or item.get("status") in SKIPPED_STATUS:
                continue
            source.cursor = bisect_left(source.lines, item["line"])
            paragraphs = paragraphs_from_blocks(html_blocks(wpautop(item.get("content", ""))), source)
            if not paragraphs:
                continue
            slug = item.get("post_name") or item.get("post_id") or str(len(documents) + 1)
            if slug in slugs:
                slug = f"{slug}-{item.get('post_id') or len(documents) + 1}"
            slugs.add(slug)
            front_matter = _front_matter(item)
            documents.append((Document(
                path=f"{name}#{slug}", text=item.get("content", ""),
                content_hash=content_hash(repr(sorted(front_matter.items())) + item.get("content", "")),
                mtime=mtime, title=front_matter.get("title") or slug, front_matter=front_matter, encoding=encoding,
            ), paragraphs))
        if not documents:
            raise Empty("a WordPress export with no posts that hold text")
        return documents


def wpautop(content: str) -> str:
    """WordPress's convention: code shortcodes are `pre`, and text between blank lines is a paragraph."""
    content = _CODE_SHORTCODE.sub(
        lambda m: f'\n\n<pre class="language-{m.group(1) or ""}">{html.escape(m.group(2))}</pre>\n\n', content
    )
    content = _MEDIA_SHORTCODE.sub("", content)
    parts = re.split(r"\n\s*\n", content)
    return "\n".join(part if _BLOCK_START.match(part) else f"<p>{part}</p>" for part in parts if part.strip())


def _front_matter(item: dict[str, Any]) -> dict[str, Any]:
    from .frontmatter import normalise

    fields: dict[str, Any] = {
        "title": item.get("title", "").strip(),
        "date": item.get("post_date") or item.get("pubDate", ""),
        "tags": item.get("post_tag", []),
        "categories": item.get("category", []),
        "status": item.get("status", ""),
        "draft": item.get("status") in ("draft", "pending"),
        "link": item.get("link", ""),
        "author": item.get("creator", ""),
    }
    return normalise({k: v for k, v in fields.items() if v not in ("", [])})


def _items(data: bytes) -> list[dict[str, Any]]:
    """Every <item> of the export: its child elements' text by local name, categories by domain,
    and the line it starts on. expat, because ElementTree does not say where an element is."""
    parser = expat.ParserCreate(namespace_separator=" ")
    items: list[dict[str, Any]] = []
    stack: list[str] = []
    current: dict[str, Any] | None = None
    text: list[str] = []
    domain = ""

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal current, domain
        stack.append(tag)
        if tag == "item":
            current = {"line": parser.CurrentLineNumber}
        elif current is not None and len(stack) == stack.index("item") + 2:
            text.clear()
            domain = attrs.get("domain", "")

    def end(tag: str) -> None:
        nonlocal current
        stack.pop()
        if tag == "item" and current is not None:
            items.append(current)
            current = None
        elif current is not None and "item" in stack and len(stack) == stack.index("item") + 1:
            value = "".join(text)
            local = "content" if tag == CONTENT else tag.rsplit(" ", 1)[-1]
            if local == "category":
                current.setdefault("post_tag" if domain == "post_tag" else "category", []).append(value.strip())
            elif local not in current or not current[local]:
                current[local] = value

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise Unsupported(f"a WordPress export that is not well-formed XML ({exc})") from None
    return items
