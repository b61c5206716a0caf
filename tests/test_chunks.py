"""Stage 2: chunks fit the model's window, keep their lines, and lose nothing."""
from __future__ import annotations

import pytest

from embedsearch.chunks import ChunkSizes, make_chunks
from embedsearch.files import read_document
from embedsearch.records import Paragraph
from embedsearch.text import split_sentences
from embedsearch.vectors import load_embedder

from conftest import SAMPLE_POSTS


@pytest.fixture(scope="module")
def count():
    return load_embedder().count_tokens


def _squash(s: str) -> str:
    return "".join(s.split())


def test_split_sentences_keeps_every_character() -> None:
    text = "첫 문장입니다. 두 번째 문장이에요! Third one? 마지막\n줄바꿈 뒤 문장."
    pieces = split_sentences(text)
    assert "".join(pieces) == text
    assert len(pieces) == 5


def test_long_paragraph_is_split_within_the_window(count) -> None:
    path = SAMPLE_POSTS / "llm-next-token.md"
    doc, paragraphs = read_document(path)
    long = max(paragraphs, key=lambda p: len(p.text))
    assert count(long.text) > 512  # the sample post has one paragraph over the window
    chunks = make_chunks([long], count)
    assert len(chunks) >= 3
    assert all(c.token_count <= 512 and c.token_count == count(c.embed_text) for c in chunks)
    assert _squash("".join(c.text for c in chunks)) == _squash(long.text)  # nothing truncated
    for c in chunks:  # split at sentence ends, and each piece knows its line
        assert c.text.rstrip().endswith((".", "다", "요", "?", "!")), c.text[-20:]
        assert long.line_start <= c.line_start <= c.line_end <= long.line_end


def test_sentence_longer_than_window_is_cut_not_truncated(count) -> None:
    words = " ".join(f"단어{i}" for i in range(800))
    chunks = make_chunks([Paragraph(words, "", 1, 1)], count)
    assert len(chunks) > 1 and all(c.token_count <= 512 for c in chunks)
    assert _squash("".join(c.text for c in chunks)) == _squash(words)


def test_short_paragraphs_merge_under_one_heading_only(count) -> None:
    paragraphs = [
        Paragraph("짧은 문장 하나.", "# A", 1, 1),
        Paragraph("짧은 문장 둘.", "# A", 3, 3),
        Paragraph("짧은 문장 셋.", "# A > ## B", 5, 5),
    ]
    chunks = make_chunks(paragraphs, count)
    assert [(c.heading, c.line_start, c.line_end) for c in chunks] == [("# A", 1, 3), ("# A > ## B", 5, 5)]
    assert chunks[0].text == "짧은 문장 하나.\n\n짧은 문장 둘."


def test_merging_stops_at_the_merge_size(count) -> None:
    lines = [Paragraph(f"{i}번째 목록 항목은 짧지만 정보가 조금 있습니다.", "", i, i) for i in range(1, 200)]
    sizes = ChunkSizes()
    chunks = make_chunks(lines, count, sizes)
    assert all(c.token_count <= sizes.max_tokens for c in chunks)
    assert max(c.token_count for c in chunks) <= sizes.merge_tokens + 16
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[0].line_start == 1 and chunks[-1].line_end == 199


def test_title_and_heading_path_are_embedded_within_the_window(count) -> None:
    long = " ".join(f"문장 {i}번은 여기서 끝납니다." for i in range(300))
    paragraphs = [Paragraph("짧은 소개 문단입니다.", "# 제목", 1, 1), Paragraph(long, "# 제목 > ## 긴 절", 3, 3)]
    chunks = make_chunks(paragraphs, count, title="블로그 글 제목")
    assert chunks[0].embed_text == "블로그 글 제목\n제목\n짧은 소개 문단입니다."
    assert chunks[0].text == "짧은 소개 문단입니다."
    assert all(c.embed_text.startswith("블로그 글 제목\n제목\n긴 절\n") for c in chunks[1:])
    assert all(c.token_count == count(c.embed_text) <= 512 for c in chunks)
    assert _squash("".join(c.text for c in chunks[1:])) == _squash(long)
    # a heading that repeats the title appears once; the hash follows what is embedded
    same = make_chunks([Paragraph("본문.", "# 블로그 글 제목", 1, 1)], count, title="블로그 글 제목")[0]
    assert same.embed_text == "블로그 글 제목\n본문."
    bare = make_chunks([Paragraph("본문.", "", 1, 1)], count)[0]
    assert bare.embed_text == "본문." and bare.content_hash != same.content_hash


def test_a_huge_heading_cannot_eat_the_window(count) -> None:
    heading = "# " + "아주 긴 제목 " * 200
    chunks = make_chunks([Paragraph("본문 문장입니다. " * 100, heading, 1, 1)], count, title="제목")
    assert all(c.token_count <= 512 for c in chunks)
    assert all(c.embed_text.startswith("제목\n본문") for c in chunks)


def test_every_shared_corpus_file_chunks_within_limits(count, shared_corpus) -> None:
    for path in sorted(shared_corpus.glob("*.txt")):
        doc, paragraphs = read_document(path)
        chunks = make_chunks(paragraphs, count)
        assert all(c.token_count <= 512 for c in chunks), path
        assert _squash("".join(c.text for c in chunks)) == _squash("".join(p.text for p in paragraphs))
        lines = doc.text.split("\n")
        for c in chunks:
            assert c.text.split("\n")[0].strip() in lines[c.line_start - 1]
