"""Real blogs nobody on the project wrote (../shared/corpus-real), read and chunked end to end.

Counts over every post, with the bundled model's tokenizer and no embedding (seconds): no
template, kramdown, shortcode, HTML or markdown residue, no markup-only chunk, no heading that
is not a real heading, every chunk's text found in its own lines (tests/corpus_audit.py, which
shares no code with the reader). HTML pages: no menu, sidebar, comment-widget or footer line in
any chunk, the right titles, and each passage's lines holding its text.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from conftest import SHARED
from corpus_audit import Audit, audit_document, squash, words
from embedsearch.chunks import make_chunks
from embedsearch.files import Skip, read_documents
from embedsearch.vectors import load_embedder

REAL = SHARED / "corpus-real"


@pytest.fixture(scope="module")
def count():
    return load_embedder().count_tokens


def _blog(name: str) -> Path:
    folder = REAL / name
    if not folder.is_dir():
        pytest.skip(f"real corpus not found at {folder} (../shared/corpus-real from the repo root)")
    return folder


@pytest.mark.parametrize("blog, engine, posts", [("lovit", "jekyll", 84), ("meme2515", "hugo", 46)])
def test_blog_posts_read_without_residue(count, blog: str, engine: str, posts: int) -> None:
    audit = Audit()
    skipped = []
    paths = sorted(_blog(blog).rglob("*.md"))
    assert len(paths) == posts
    for path in paths:
        try:
            [(doc, paragraphs)] = read_documents(path)
        except Skip as exc:
            skipped.append((path.name, exc.reason))
            continue
        chunks = make_chunks(paragraphs, count, title=doc.title)
        audit_document(audit, path.name, doc.text, chunks, liquid_outputs=engine == "jekyll")
        assert all(c.token_count <= 512 for c in chunks)
        assert all(c.kind in ("prose", "code") for c in chunks)
    assert audit.residue() == dict.fromkeys(audit.residue(), 0), audit.examples
    # only the drafts with nothing but front matter are skipped (3 of meme2515's 9 drafts)
    assert all(reason == "no text besides front matter and markup" for _, reason in skipped)
    assert len(skipped) == (3 if blog == "meme2515" else 0)
    assert audit.chunks > 600 and 0.05 < audit.code_chunks / audit.chunks < 0.5


def test_liquid_highlight_comments_are_code_not_headings(count) -> None:
    """The issue's example: Python comments in a highlight block once became 833 fake headings."""
    path = _blog("lovit") / "2018-03-21-kmeans_cluster_labeling.md"
    [(doc, paragraphs)] = read_documents(path)
    vectorizing = [p for p in paragraphs if "# vectorizing" in p.text]
    assert vectorizing and all(p.kind == "code" and p.language == "python" for p in vectorizing)
    assert not any("vectorizing" in p.heading for p in paragraphs)


# -- HTML pages ----------------------------------------------------------------------------------

def _answer_key(page: str) -> tuple[set[str], str, str]:
    """(boilerplate lines, post text squashed, og:title) from the theme's own markup: the post is
    `div.post__content`; the rest of the page but the post's header is menus, sidebar (recent
    posts, categories, table of contents), tags, author box, prev/next links, comments, footer."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(page)
    for element in tree.xpath("//script | //style | //head"):
        element.drop_tree()
    content = tree.xpath("//div[contains(concat(' ', normalize-space(@class), ' '), ' post__content ')]")[0]
    post = squash(content.text_content())
    content.drop_tree()
    for element in tree.xpath("//article[contains(@class, 'post')]/header"):
        element.drop_tree()
    lines = {" ".join(line.split()) for line in tree.text_content().split("\n")}
    boilerplate = {line for line in lines if len(squash(line)) >= 4 and squash(line) not in post}
    title = re.search(r'<meta property="og:title" content="([^"]*)"', page)
    return boilerplate, post, html.unescape(title.group(1)).strip() if title else ""


def test_html_pages_index_the_post_only(count) -> None:
    pages = sorted(_blog("taewan-html").rglob("index.html"))
    assert len(pages) == 75
    leaked, titles, located, paragraphs_seen, chunk_count = [], 0, 0, 0, 0
    skipped = []
    for page in pages:
        source = page.read_text(encoding="utf-8")
        boilerplate, post, title = _answer_key(source)
        try:
            [(doc, paragraphs)] = read_documents(page)
        except Skip as exc:
            skipped.append((page.parent.name, exc.reason))
            continue
        titles += doc.title == title
        lines = source.split("\n")
        for p in paragraphs:
            paragraphs_seen += 1
            span = squash(html.unescape(re.sub(r"<[^>]*>", "", "\n".join(lines[p.line_start - 1 : p.line_end]))))
            located += bool(words(p.text)) and words(p.text)[0] in span and words(p.text)[-1] in span
        for chunk in make_chunks(paragraphs, count, title=doc.title):
            chunk_count += 1
            text = squash(chunk.text)
            leaked += [(page.parent.name, line) for line in boilerplate if squash(line) in text]
    # one page is an empty stub (no title, no text: "January 01, 0001")
    assert skipped == [("mlpy_adding_opencv.1", "no main content found in the page")]
    assert leaked == []
    assert titles == 74
    assert chunk_count > 1000
    # the lines of nearly every passage hold its first and last words (the rest: text that
    # trafilatura rewrote, e.g. a table's cells, found one block off)
    assert located >= 0.97 * paragraphs_seen, (located, paragraphs_seen)
