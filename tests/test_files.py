"""Stage 1: finding, decoding and parsing files."""
from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from embedsearch.files import Binary, Empty, Undecodable, parse, read_document, walk, SUFFIXES
from embedsearch.files.decode import decode
from embedsearch.files.markdown import parse_markdown
from embedsearch.files.plaintext import parse_plaintext

from conftest import SAMPLE_POSTS, write


def test_walk_finds_posts_recursively_and_skips_hidden(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "# A")
    write(tmp_path / "sub" / "b.markdown", "B")
    write(tmp_path / "sub" / "c.TXT", "C")
    write(tmp_path / ".git" / "d.md", "hidden folder")
    write(tmp_path / ".hidden.md", "hidden file")
    write(tmp_path / "e.pdf", "not a post")
    found = [p.relative_to(tmp_path).as_posix() for p in walk(tmp_path, SUFFIXES)]
    assert found == ["a.md", "sub/b.markdown", "sub/c.TXT"]


def test_walk_survives_symlink_loops(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "a.md", "A")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    os.symlink(tmp_path / "sub" / "a.md", tmp_path / "alias.md")
    found = list(walk(tmp_path, SUFFIXES))
    assert len(found) == 1  # neither the loop nor the alias yields the file twice


def test_decode_utf8_cp949_and_nfc() -> None:
    korean = "한국어 문서입니다."
    assert decode(korean.encode("utf-8")) == (korean, "utf-8")
    assert decode(korean.encode("cp949")) == (korean, "cp949")
    assert decode(korean.encode("euc-kr")) == (korean, "cp949")
    nfd = unicodedata.normalize("NFD", korean)
    text, _ = decode(nfd.encode("utf-8"))
    assert text == korean and len(nfd) > len(korean)
    assert decode("\ufeffBOM\r\nline".encode("utf-8"))[0] == "BOM\nline"


def test_decode_skips_empty_binary_and_undecodable() -> None:
    with pytest.raises(Empty):
        decode(b"  \n\n ")
    with pytest.raises(Binary):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(Undecodable):
        decode(bytes([0xFF, 0xFE, 0xFD, 0x80, 0x81]) * 10)


def test_markdown_blocks_heading_paths_and_line_spans() -> None:
    text = (SAMPLE_POSTS / "korean-tokenization.md").read_text(encoding="utf-8")
    lines = text.split("\n")
    title, front_matter, paragraphs = parse_markdown(text, "fallback")
    assert title == front_matter["title"]
    assert "tags" in front_matter and "date" in front_matter
    assert all(p.heading.startswith("# ") for p in paragraphs)
    for p in paragraphs:
        # the span points at the block's own lines, first and last
        assert lines[p.line_start - 1].strip() == p.text.split("\n")[0].strip()
        assert lines[p.line_end - 1].strip() == p.text.split("\n")[-1].strip()


def test_markdown_every_block_kind() -> None:
    text = """---
title: Front title
tags: [a, b]
date: 2024-01-02
---

# Top

Para one
continues.

## Sub

- item 1
- item 2

```python
x = 1
```

| a | b |
|---|---|
| 1 | 2 |

### Deeper

> quote

# Second
Tail.
"""
    title, fm, ps = parse_markdown(text, "f")
    assert title == "Front title" and fm == {"title": "Front title", "tags": ["a", "b"], "date": "2024-01-02"}
    got = [(p.text.split("\n")[0], p.heading, p.line_start, p.line_end) for p in ps]
    assert got == [
        ("Para one", "# Top", 9, 10),
        ("- item 1", "# Top > ## Sub", 14, 15),
        ("```python", "# Top > ## Sub", 17, 19),
        ("| a | b |", "# Top > ## Sub", 21, 23),
        ("> quote", "# Top > ## Sub > ### Deeper", 27, 27),
        ("Tail.", "# Second", 30, 30),
    ]


def test_title_falls_back_to_first_heading_then_file_name() -> None:
    assert parse_markdown("intro\n\n# Heading\n\ntext", "name")[0] == "Heading"
    assert parse_markdown("just text", "name")[0] == "name"
    assert parse("a\nb", "/x/notes.txt")[0] == "notes"


def test_plaintext_blank_line_blocks_and_one_paragraph_per_line() -> None:
    _, _, blocks = parse_plaintext("one\ntwo\n\n\nthree\n", "t")
    assert [(p.text, p.line_start, p.line_end) for p in blocks] == [("one\ntwo", 1, 2), ("three", 5, 5)]
    _, _, lines = parse_plaintext("first\nsecond\nthird", "t")
    assert [(p.text, p.line_start) for p in lines] == [("first", 1), ("second", 2), ("third", 3)]


def test_read_document_cp949_file(tmp_path: Path) -> None:
    path = write(tmp_path / "old.txt", "예전에 저장한 메모입니다.\n\n두 번째 문단.", encoding="cp949")
    doc, paragraphs = read_document(path)
    assert doc.encoding == "cp949" and doc.title == "old"
    assert [p.text for p in paragraphs] == ["예전에 저장한 메모입니다.", "두 번째 문단."]
