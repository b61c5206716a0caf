"""Stage 1: finding, decoding and parsing files."""
from __future__ import annotations

import codecs
import os
import re
import unicodedata
from pathlib import Path

import pytest

from embedsearch.files import (
    DEFAULT_MAX_BYTES, SUFFIXES, Binary, Empty, TooLarge, Undecodable, Unsupported, display_name, parse, read_documents,
    real_path, walk,
)
from embedsearch.files.decode import decode
from embedsearch.files.markdown import parse_markdown
from embedsearch.files.plaintext import parse_plaintext

from conftest import SAMPLE_POSTS, write


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_walk_finds_posts_recursively_and_skips_hidden(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "# A")
    write(tmp_path / "sub" / "b.markdown", "B")
    write(tmp_path / "sub" / "c.TXT", "C")
    write(tmp_path / ".git" / "d.md", "hidden folder")
    write(tmp_path / ".hidden.md", "hidden file")
    write(tmp_path / "e.odt", "not a post")
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
        decode(bytes([0x80, 0xFF, 0xFE, 0xFD, 0x81]) * 10)  # FF FE first would be a UTF-16 BOM


def test_markdown_blocks_heading_paths_and_line_spans() -> None:
    text = (SAMPLE_POSTS / "korean-tokenization.md").read_text(encoding="utf-8")
    lines = text.split("\n")
    title, front_matter, paragraphs = parse_markdown(text, "fallback")
    assert title == front_matter["title"]
    assert "tags" in front_matter and "date" in front_matter
    assert all(p.heading.startswith("# ") for p in paragraphs)
    for p in paragraphs:
        # the span points at the block's own lines, first and last (the text is what a reader
        # reads: `**bold**` and link targets gone, so compare words)
        first, last = words(p.text.split("\n")[0]), words(p.text.split("\n")[-1])
        assert first[0] in lines[p.line_start - 1] and first[-1] in lines[p.line_start - 1], p
        assert last[-1] in lines[p.line_end - 1], p


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
    got = [(p.text, p.heading, p.line_start, p.line_end, p.kind, p.language) for p in ps]
    assert got == [
        ("Para one\ncontinues.", "# Top", 9, 10, "prose", ""),
        ("- item 1\n- item 2", "# Top > ## Sub", 14, 15, "prose", ""),
        ("x = 1", "# Top > ## Sub", 18, 18, "code", "python"),  # the code's own line, not the fences
        ("a | b\n\n1 | 2", "# Top > ## Sub", 21, 23, "prose", ""),  # the rule row reads as nothing: line i stays line i
        ("quote", "# Top > ## Sub > ### Deeper", 27, 27, "prose", ""),
        ("Tail.", "# Second", 30, 30, "prose", ""),
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
    [(doc, paragraphs)] = read_documents(path)
    assert doc.encoding == "cp949" and doc.title == "old"
    assert [p.text for p in paragraphs] == ["예전에 저장한 메모입니다.", "두 번째 문단."]


# -- issue 12: odd files ----------------------------------------------------------------------

@pytest.mark.parametrize("bom, encoding", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_files_with_a_bom_are_read(tmp_path: Path, bom: bytes, encoding: str) -> None:
    text = "# 윈도우 메모장\r\n\r\n유니코드로 저장한 글입니다.\r\n"
    path = tmp_path / "notepad.md"
    path.write_bytes(bom + text.encode(encoding))
    [(doc, paragraphs)] = read_documents(path)
    assert doc.encoding == encoding and doc.title == "윈도우 메모장"
    assert [(p.text, p.line_start) for p in paragraphs] == [("유니코드로 저장한 글입니다.", 3)]
    # a BOM followed by bytes that are not UTF-16 text is still refused, with a reason
    (tmp_path / "fake.md").write_bytes(bom + bytes(range(1, 32)) * 4)
    with pytest.raises(Undecodable, match="byte order mark"):
        read_documents(tmp_path / "fake.md")


def test_display_name_round_trips_names_that_are_not_utf8(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/bad\xffname.md"
    name = display_name(os.fsdecode(raw))
    assert name.endswith("bad\\xffname.md") and name.encode("utf-8")  # printable, storable in SQLite
    assert os.fsencode(real_path(name)) == raw
    # ordinary names pass unchanged; a name that holds an escape of its own still round-trips
    assert display_name("/posts/한국어.md") == "/posts/한국어.md"
    for odd in ("/x/a\\xffb.md", "/x/back\\\\slash.md", os.fsdecode(b"/x/\xed\x95\x9c\xea.md")):
        assert str(real_path(display_name(odd))) == odd


def test_walk_and_read_a_file_whose_name_is_not_utf8(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    with open(folder + b"/bad\xffname.md", "wb") as f:
        f.write("# 이상한 이름\n\n본문입니다.".encode())
    write(tmp_path / "good.md", "# 좋은 이름\n\n본문.")
    found = list(walk(tmp_path, SUFFIXES))
    assert len(found) == 2
    [bad] = [p for p in found if p.name != "good.md"]
    [(doc, paragraphs)] = read_documents(bad)
    assert doc.path == display_name(os.path.abspath(bad)) and doc.path.endswith("bad\\xffname.md")
    doc.path.encode("utf-8")
    assert real_path(doc.path).read_bytes().decode() == "# 이상한 이름\n\n본문입니다."  # opened again from its name
    assert doc.title == "이상한 이름" and paragraphs[0].text == "본문입니다."


def test_files_over_the_size_limit_are_skipped_with_a_reason(tmp_path: Path) -> None:
    path = write(tmp_path / "huge.md", "가나다라 " * 300_000)  # 3.9 million bytes
    assert read_documents(path)  # under the default limit
    with pytest.raises(TooLarge) as info:
        read_documents(path, max_bytes=1024 * 1024)
    assert str(info.value) == info.value.reason == "3.7 MB, larger than 1 MB (limit: --max-file-size)"
    assert read_documents(path, max_bytes=None)
    assert DEFAULT_MAX_BYTES == 5 * 1024 * 1024


def test_skips_carry_reasons(tmp_path: Path) -> None:
    cases = {
        "empty.md": (b"  \n", Empty, "empty"),
        "image.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", Binary, "binary"),
        "only-front-matter.md": (b"---\ntitle: x\ndraft: true\n---\n", Empty, "no text besides front matter"),
        "notes.odt": (b"PK\x03\x04", Unsupported, "no reader for .odt"),
        "feed.xml": (b'<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>', Unsupported,
                     "not a WordPress export"),
    }
    for name, (data, error, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(error) as info:
            read_documents(tmp_path / name)
        assert reason in str(info.value) and info.value.reason == str(info.value), name


def test_suffixes_come_from_the_reader_registry() -> None:
    assert {".md", ".markdown", ".txt", ".html", ".htm", ".xml"} <= SUFFIXES


def test_tags_normalise_to_lists_of_strings() -> None:
    def tags(value: str) -> object:
        return parse_markdown(f"---\ntags: {value}\n---\n\ntext", "f")[1]["tags"]

    assert tags("42") == ["42"]
    assert tags("[42, nlp, 3.5]") == ["42", "nlp", "3.5"]
    assert tags("nlp, 한국어 처리") == ["nlp", "한국어 처리"]  # a comma-separated string
    assert tags("nlp korean") == ["nlp", "korean"]  # Jekyll's space-separated string
    assert tags("[Computer Science, Log Data]") == ["Computer Science", "Log Data"]  # list items stay whole
    assert tags("") == []
    fm = parse_markdown('---\ntitle: t\ndraft: "true"\ncategories: ML\ndate: 2022-09-24 10:00:00\n---\nx', "f")[1]
    assert fm == {"title": "t", "draft": True, "categories": ["ML"], "date": "2022-09-24 10:00:00"}
    toml = parse_markdown('+++\ntitle = "Hugo TOML"\ntags = ["a", "b"]\ndraft = false\n+++\n\nbody', "f")
    assert toml[0] == "Hugo TOML" and toml[1]["tags"] == ["a", "b"] and toml[1]["draft"] is False
    assert toml[2][0].line_start == 7
