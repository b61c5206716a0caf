"""Stage 2: chunks fit the model's window, keep their lines, and lose nothing."""
from __future__ import annotations

import pytest

from embedsearch.chunks import ChunkSizes, make_chunks
from embedsearch.files import parse, read_documents
from embedsearch.files.kinds import classify
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
    [(doc, paragraphs)] = read_documents(path)
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


def _in_order(pieces: list[str], whole: str) -> bool:
    """Each piece is found in `whole`, after the previous one (compared without white space)."""
    at = 0
    for piece in pieces:
        at = whole.find(_squash(piece), at)
        if at < 0:
            return False
        at += len(_squash(piece))
    return True


def test_every_shared_corpus_file_chunks_within_limits(count, shared_corpus) -> None:
    for path in sorted(shared_corpus.glob("*.txt")):
        [(doc, paragraphs)] = read_documents(path)
        chunks = make_chunks(paragraphs, count)
        assert all(c.token_count <= 512 for c in chunks), path
        # nothing lost: every paragraph is in the chunks, in order (a code chunk may repeat the
        # sentence that introduces it, so compare paragraph by paragraph)
        assert _in_order([p.text for p in paragraphs], _squash("".join(c.text for c in chunks)))
        lines = doc.text.split("\n")
        for c in chunks:
            assert c.text.split("\n")[0].strip() in lines[c.line_start - 1]


# -- code and prose -----------------------------------------------------------------------------

POST = """# 구현

문서 간 거리를 먼저 계산합니다. 다음과 같이 구현합니다:

```python
from sklearn.metrics import pairwise_distances
dist = pairwise_distances(x, metric='cosine')
```

결과는 다음과 같습니다.

    [[0.   0.85 0.91]
     [0.85 0.   0.97]]

거리가 0.85 이상인 경우가 대부분입니다. 고차원에서는 먼 거리가 의미가 없습니다.
"""


def test_code_and_prose_are_never_merged_and_code_carries_its_introduction(count) -> None:
    _, _, paragraphs = parse(POST, "post.md")
    assert [(p.kind, p.language) for p in paragraphs] == [
        ("prose", ""), ("code", "python"), ("prose", ""), ("code", ""), ("prose", "")
    ]
    chunks = make_chunks(paragraphs, count)
    assert [c.kind for c in chunks] == ["prose", "code", "prose"]
    prose, code, last = chunks
    # the last sentence of a longer paragraph stays in it (one line, one passage) ...
    assert prose.text == "문서 간 거리를 먼저 계산합니다. 다음과 같이 구현합니다:" and (prose.line_start, prose.line_end) == (3, 3)
    # ... and is embedded above the code, after the heading path, as its context
    assert code.embed_text.startswith("구현\n다음과 같이 구현합니다:\nfrom sklearn.metrics")
    assert code.language == "python" and code.line_start == 6  # the code's first line (the fence is not code)
    # a paragraph that is only the introducing sentence is the code's: in its text and lines, and no
    # passage of its own; the short blocks before and after it read on as one passage
    assert code.text == ("from sklearn.metrics import pairwise_distances\ndist = pairwise_distances(x, metric='cosine')"
                         "\n\n결과는 다음과 같습니다.\n[[0.   0.85 0.91]\n [0.85 0.   0.97]]")
    assert code.line_end == 13
    assert not any("결과는" in c.text for c in chunks if c.kind == "prose")
    assert (last.line_start, last.line_end) == (15, 15)


INTRODUCED = """# 실행

첫 문단은 설명입니다. 여러 문장이 있습니다. 이 글은 토크나이저를 다룹니다.

다음과 같이 실행합니다:

```python
tokens = tokenizer.tokenize("안녕하세요 반갑습니다 오늘은 토크나이저를 실행해 보겠습니다")
print(len(tokens), tokens[:10])
```

결과를 보면 토큰이 나뉘어 있습니다. 마지막 문장이 코드를 소개합니다:

```python
for token in tokens:
    print(token, tokenizer.convert_tokens_to_ids(token))
```
"""


def test_each_line_is_in_one_passage_only(count) -> None:
    """A code block's introduction was also a passage of its own (or the end of one) on the same
    line: a search then showed one place twice (1,389 overlapping pairs of passages on lovit)."""
    _, _, paragraphs = parse(INTRODUCED, "run.md")
    chunks = make_chunks(paragraphs, count)
    assert [(c.kind, c.line_start, c.line_end) for c in chunks] == [
        ("prose", 3, 3), ("code", 5, 9), ("prose", 12, 12), ("code", 15, 16)
    ]
    first_code, second_code = chunks[1], chunks[3]
    assert first_code.text.startswith("다음과 같이 실행합니다:\ntokens = ")
    assert "\n마지막 문장이 코드를 소개합니다:\nfor token" in second_code.embed_text
    assert second_code.text.startswith("for token")
    spans = [(c.line_start, c.line_end) for c in chunks]
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    lines = INTRODUCED.split("\n")
    for c in chunks:  # every line of a passage is on its lines
        shown = "\n".join(lines[c.line_start - 1 : c.line_end])
        assert all(line.strip() in shown for line in c.text.split("\n")), c


def test_short_code_merges_with_code_only(count) -> None:
    paragraphs = [
        Paragraph("짧은 설명.", "# A", 1, 1),
        Paragraph("print(x)", "# A", 3, 3, kind="code", language="python", block=True),
        Paragraph("[1, 2, 3]", "# A", 5, 5, kind="code"),
        Paragraph("또 짧은 설명.", "# A", 7, 7),
    ]
    chunks = make_chunks(paragraphs, count)
    assert [(c.kind, c.language, c.line_start, c.line_end) for c in chunks] == [
        ("code", "python", 1, 5), ("prose", "", 7, 7)
    ]
    assert chunks[0].text == "짧은 설명.\nprint(x)\n\n[1, 2, 3]"  # the one-sentence introduction is the code's


def test_long_code_is_split_at_lines_with_exact_line_numbers(count) -> None:
    code = "\n".join(f"value_{i} = compute(value_{i - 1}, factor={i})  # 단계 {i}" for i in range(1, 301))
    chunks = make_chunks([Paragraph(code, "", 10, 309, kind="code", language="python")], count)
    assert len(chunks) > 2 and all(c.kind == "code" and c.token_count <= 512 for c in chunks)
    for c in chunks:
        first, last = c.text.split("\n")[0], c.text.split("\n")[-1]
        assert first.startswith("value_") and last.endswith(f"단계 {c.line_end - 9}")
        assert first.startswith(f"value_{c.line_start - 9} =")
    assert _squash("".join(c.text for c in chunks)) == _squash(code)


@pytest.mark.parametrize("text", [
    ">>> model.fit(x)\nLogisticRegression(C=1.0)",
    "Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\nValueError: bad",
    "$ pip install soynlp\nSuccessfully installed soynlp-0.0.493",
    "0.85 0.91 1.00\n0.12 0.33 0.41\n0.52 0.64 0.77",
    "[('너무', 'Noun'),\n ('아이오', 'Noun'),\n ('는', 'Josa')]",
    "공연은 : 30\n공연을 : 20\n공연이 : 50",
    "word | count\n샤이니 (0.891) | 신체 (0.877) | 대통령 (0.860)\n너무 (0.861) | 터키 (0.864) | 밴쯔 (0.939)",
])
def test_program_output_written_as_a_paragraph_is_code(text: str) -> None:
    assert classify(text) == "code"


@pytest.mark.parametrize("text", [
    "문서 간 거리 분포는 0.85 이상인 경우가 91.79 % 에 해당합니다.",
    "k-means 는 다른 군집화 알고리즘과 비교하여 매우 적은 계산 비용을 요구합니다.\n그렇기 때문에 큰 데이터에 적합합니다.",
    "Sourdough needs a lively starter: feed it flour and water twelve hours before baking.",
    "$$\\sum_{i=1}^{k} \\| x - \\mu_i \\|^2$$",
    "- Convolution(합성곱)\n- 채널(Channel)\n- 필터(Filter)",
    "출처: https://ko.wikipedia.org/wiki/%ED%95%A9%EC%84%B1%EA%B3%B1",
])
def test_prose_stays_prose(text: str) -> None:
    assert classify(text) == "prose"


def test_a_huge_single_line_is_chunked_without_loss(count) -> None:
    """A 200 KB line with no sentence end (benchmarks/pathological_files.py times 2 MB)."""
    line = " ".join(f"토큰{i % 97}" for i in range(40_000))
    chunks = make_chunks([Paragraph(line, "", 1, 1)], count)
    assert all(c.token_count <= 512 and c.line_start == c.line_end == 1 for c in chunks)
    assert _squash("".join(c.text for c in chunks)) == _squash(line)
    assert max(c.token_count for c in chunks) > 400  # windows are filled, not cut into slivers


def test_only_a_marked_code_block_takes_its_introduction(count) -> None:
    """Rows of numbers that merely read as code (a PDF export's table, AutoRAG-ko's corpus) keep
    the sentence before them as prose: 1,174 such "introductions" there cost 0.004 nDCG@10."""
    paragraphs = [
        Paragraph("온라인 매출은 다음과 같이 늘었다.", "", 1, 1),
        Paragraph("2018 4,700\n2019 5,900\n2020 7,300", "", 3, 5, kind="code"),
    ]
    assert [c.kind for c in make_chunks(paragraphs, count)] == ["prose", "code"]
    fenced = [paragraphs[0], Paragraph("print(x)", "", 3, 3, kind="code", language="python", block=True)]
    assert [(c.kind, c.line_start) for c in make_chunks(fenced, count)] == [("code", 1)]


def test_an_introduction_left_in_its_paragraph_still_finds_the_code_by_its_words(tmp_path) -> None:
    """The last sentence of a longer paragraph stays there (one place, one hit) and is embedded
    above the code; BM25 finds the code by it too, as it did when the sentence was in both."""
    from embedsearch import Index

    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "a.md").write_text(
        "# 설치\n\n패키지는 파이썬 3.11 이상에서 돌아간다. 가상환경을 먼저 만든다. "
        "그다음 빌드 스크립트를 실행한다:\n\n```bash\n./build.sh --release\n```\n", encoding="utf-8")
    with Index(tmp_path / "ix", model="fake") as ix:
        ix.add(posts)
        kinds = {h.kind for h in ix.search("빌드 스크립트", k=5, mode="lexical")}
    assert kinds == {"prose", "code"}
