"""MDX and Docusaurus markdown: small hand-made posts, one per feature."""
from __future__ import annotations

from embedsearch.files import SUFFIXES, parse


def read(text: str, name: str = "post.mdx") -> list[tuple[str, str, int, int]]:
    _, _, paragraphs = parse(text, name)
    return [(p.text, p.heading, p.line_start, p.line_end) for p in paragraphs]


def test_mdx_is_read() -> None:
    assert ".mdx" in SUFFIXES


def test_import_export_and_comments_are_not_text() -> None:
    post = ("---\ntitle: 글\n---\nimport Tabs from '@theme/Tabs';\nexport const x = 1;\n\n요약 문단이다.\n\n"
            "{/* truncate */}\n<!-- truncate -->\n\n## 본문\n\n내용이다. {/* 메모 */}\n")
    assert read(post) == [("요약 문단이다.", "", 7, 7), ("내용이다.", "## 본문", 14, 14)]


def test_admonition_title_joins_the_heading_path_in_md_and_mdx() -> None:
    post = "## 설치\n\n:::info[먼저 확인할 것]\n\n파이썬 3.10이 필요하다.\n\n:::\n\n:::tip 빠른 길\n바로 실행한다.\n:::\n\n끝.\n"
    expected = [
        ("파이썬 3.10이 필요하다.", "## 설치 > 먼저 확인할 것", 5, 5),
        ("바로 실행한다.", "## 설치 > 빠른 길", 10, 10),
        ("끝.", "## 설치", 13, 13),
    ]
    assert read(post) == expected
    assert read(post, "post.md") == expected


def test_footnote_references_leave_the_sentence() -> None:
    post = "토큰은 단위다[^1]. 한국어는 더 든다[^note].\n\n[^1]: 서브워드 단위.\n"
    assert read(post) == [("토큰은 단위다. 한국어는 더 든다.", "", 1, 1), ("서브워드 단위.", "", 3, 3)]


def test_jsx_components_keep_their_text_children() -> None:
    post = "<Tabs>\n<TabItem value=\"a\" label=\"첫째\">\n\n탭 안의 설명이다.\n\n</TabItem>\n</Tabs>\n"
    assert [p[0] for p in read(post)] == ["탭 안의 설명이다."]


def test_mdx_code_block_fence_holds_mdx_not_code() -> None:
    post = "```mdx-code-block\nimport X from '@site/x';\n<X>\n\n안쪽 글이다.\n\n</X>\n```\n\n```python\nimport os\n```\n"
    _, _, paragraphs = parse(post, "post.mdx")
    assert [(p.text, p.kind, p.line_start) for p in paragraphs] == [("안쪽 글이다.", "prose", 5), ("import os", "code", 11)]
