"""Which main-content extractor for HTML pages: trafilatura or readability-lxml?

Measured on ../shared/corpus-real/taewan-html (75 post pages of a Hugo site as served: menu,
sidebar with a table of contents, recent posts and categories, prev/next links, a comment
widget, a footer). The site's own markup is the answer key: the post is `div.post__content`;
everything outside `article.post`'s header and content (menus, sidebar, post navigation,
comments, footer) is boilerplate.

For each extractor it prints:
- leaked: boilerplate lines (sidebar entries, menu items, footer, "«Previous …") found in the
  extracted text that are not also post text, in all and on how many pages;
- lost: post lines (10+ word characters) missing from the extracted text, and their share of
  the post's characters;
- titles: extracted title equal to the page's og:title;
- seconds per page, and the pages where the extractor raised (then all of the post is lost).

    python benchmarks/html_extractors.py [--show N]
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embedsearch.files.htmltext import html_blocks  # noqa: E402

PAGES = ROOT.parent / "shared" / "corpus-real" / "taewan-html"


def squash(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def answer_key(html: str) -> tuple[list[str], list[str], str]:
    """(post lines, boilerplate lines, og:title) from the theme's markup."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(html)
    for thumbnail in tree.xpath("//figure[contains(@class, 'post__thumbnail')]"):  # its alt text is the title
        thumbnail.drop_tree()
    content = tree.xpath("//div[contains(concat(' ', normalize-space(@class), ' '), ' post__content ')]")[0]
    post = _lines(lxml_html.tostring(content, encoding="unicode"))
    rest = copy.deepcopy(tree)
    for element in rest.xpath("//article[contains(@class, 'post')]/header | "
                              "//div[contains(concat(' ', normalize-space(@class), ' '), ' post__content ')] | //head"):
        element.drop_tree()
    post_text = squash("\n".join(post))
    boilerplate = [line for line in _lines(lxml_html.tostring(rest, encoding="unicode"))
                   if len(squash(line)) >= 2 and squash(line) not in post_text]
    title = (tree.xpath("//meta[@property='og:title']/@content") or [""])[0]
    return post, boilerplate, title.strip()


def _lines(html: str) -> list[str]:
    return [line for block in html_blocks(html) for line in block.text.split("\n") if line.strip()]


def trafilatura_extract(html: str, **options) -> tuple[str, str]:
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=True,
                                      include_images=True, **options)
    if doc is None:
        return "", ""
    from lxml import etree

    return etree.tostring(doc.body, encoding="unicode"), doc.title or ""


def readability_extract(html: str) -> tuple[str, str]:
    from readability import Document

    doc = Document(html)
    return doc.summary(html_partial=True), doc.short_title()


EXTRACTORS = {
    "trafilatura": trafilatura_extract,
    "trafilatura (favor_precision)": lambda html: trafilatura_extract(html, favor_precision=True),
    "trafilatura (favor_recall)": lambda html: trafilatura_extract(html, favor_recall=True),
    "readability-lxml": readability_extract,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", type=int, default=0, help="print N leaked and N lost lines per extractor")
    args = parser.parse_args()
    pages = sorted(PAGES.rglob("index.html"))
    if not pages:
        sys.exit(f"no pages under {PAGES}")
    keys = {p: answer_key(p.read_text(encoding="utf-8")) for p in pages}
    post_lines = sum(len(k[0]) for k in keys.values())
    post_chars = sum(len(squash(line)) for k in keys.values() for line in k[0])
    print(f"{len(pages)} pages, {post_lines} post lines, "
          f"{sum(len(k[1]) for k in keys.values())} boilerplate lines")
    for name, extract in EXTRACTORS.items():
        leaked, leaked_pages, lost, lost_chars, titles, seconds = 0, 0, 0, 0, 0, 0.0
        leaked_examples, lost_examples, failed = [], [], []
        for page in pages:
            html = page.read_text(encoding="utf-8")
            post, boilerplate, title = keys[page]
            started = time.perf_counter()
            try:
                body, got_title = extract(html)
            except Exception as exc:  # noqa: BLE001 - a crash is a figure too
                body, got_title = "", ""
                failed.append(f"{page.parent.name} ({type(exc).__name__}: {str(exc)[:60]})")
            seconds += time.perf_counter() - started
            got = squash("\n".join(_lines(body)))
            leaks = [line for line in boilerplate if squash(line) in got]
            leaked += len(leaks)
            leaked_pages += bool(leaks)
            leaked_examples += [f"{page.parent.name}: {line[:70]}" for line in leaks[:2]]
            missing = [line for line in post if len(squash(line)) >= 10 and squash(line) not in got]
            lost += len(missing)
            lost_chars += sum(len(squash(line)) for line in missing)
            lost_examples += [f"{page.parent.name}: {line[:70]}" for line in missing[:2]]
            titles += got_title.strip() == title
        print(f"{name:30} leaked {leaked:4} lines on {leaked_pages:2} pages | lost {lost:4} lines "
              f"({lost_chars / post_chars:.1%} of post text) | titles {titles}/{len(pages)} | "
              f"{seconds / len(pages) * 1000:.0f} ms/page | failed on {len(failed)} pages")
        for example in failed:
            print(f"    failed  {example}")
        for example in leaked_examples[: args.show]:
            print(f"    leaked  {example}")
        for example in lost_examples[: args.show]:
            print(f"    lost    {example}")


if __name__ == "__main__":
    main()
