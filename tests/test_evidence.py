"""Sentence-level evidence: each passage's sentences with their lines and vectors, stored with it,
updated with it, and shown with every hit (its best sentence, in --json, snippets and the page)."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import write
from embedsearch import Index
from embedsearch.sentences import in_embedded, of_chunk, spans
from embedsearch.vectors.base import embed_with_parts
from embedsearch.vectors.fake import HashEmbedder
from embedsearch.views import status_rows

GROWTH = "금리가 오르면 성장주는 어떻게 되나?"

POST = """---
title: 고양이와 바다
---

# 고양이

고양이는 하루에 열여섯 시간 정도를 잔다. 사냥을 하지 않는 시간에는
대부분 쉬면서 에너지를 아낀다.

- 고양이의 수염은 좁은 틈을 지날 수 있는지 재는 데 쓰인다
- 귀는 서른 개가 넘는 근육으로 움직인다

# 주식 시장

금리가 오르면 성장주의 주가가 먼저 떨어지는 경우가 많다. 미래 이익을 지금 가치로 할인하는
비율이 커지기 때문이다.

```python
print("hello")
```
"""


def test_spans_keep_each_sentence_and_its_lines() -> None:
    text = "첫 문장은 여기서 끝난다. 둘째 문장은\n다음 줄까지 이어진다.\n\n- 목록의 항목도 한 문장이다\n- 짧음"
    found = spans(text, 10, 14)
    assert [text[s.start:s.end] for s in found] == [
        "첫 문장은 여기서 끝난다.", "둘째 문장은\n다음 줄까지 이어진다.", "목록의 항목도 한 문장이다"]
    assert [(s.line_start, s.line_end) for s in found] == [(10, 10), (10, 11), (13, 13)]


def test_code_offers_only_its_introducing_line() -> None:
    code = "다음과 같이 모델을 불러온다:\nmodel = load('e5')\nprint(model)"
    assert [code[s.start:s.end] for s in spans(code, 1, 3, "code")] == ["다음과 같이 모델을 불러온다:"]
    assert spans("x = 1\ny = 2\nprint(x + y)", 1, 3, "code") == []


def test_sentences_are_found_where_the_model_reads_them() -> None:
    text = "LoRA는 작은 행렬 두 개만 학습한다. 원래 가중치는 고정한다."
    embed_text = "파인튜닝 정리\nLoRA\n" + text
    stored = of_chunk(text, 5, 5, "prose")
    assert [embed_text[a:b] for a, b in in_embedded(text, embed_text, stored)] == [text[a:b] for a, b, _, _ in stored]


def test_an_engine_without_its_own_way_embeds_each_part_alone() -> None:
    fake = HashEmbedder()
    texts = ["고양이는 잔다. 바다는 넓다.", "녹차는 낮은 온도에서 우린다."]
    vectors, parts = embed_with_parts(fake, texts, [[(0, 8), (9, 15)], []])
    assert np.array_equal(vectors, fake.embed_passages(texts))
    assert np.allclose(parts[0], fake.embed_passages(["고양이는 잔다.", "바다는 넓다."]))
    assert parts[1].shape == (0, fake.dim)


@pytest.fixture(scope="module")
def onnx_engine():
    pytest.importorskip("onnxruntime")
    from embedsearch.vectors.onnx_e5 import OnnxE5

    return OnnxE5()


def test_late_sentence_vectors_come_from_the_passages_own_run(onnx_engine) -> None:
    """The passage vector is the one embed_passages gives (bit for bit), and each sentence's vector
    is read off the same run: the sentence about the question is the nearest of its passage."""
    from embedsearch.vectors.onnx_e5 import token_spans

    text = ("고양이는 하루에 열여섯 시간 정도를 잔다. 금리가 오르면 성장주의 주가가 먼저 떨어진다. "
            "장마철에는 빨래가 잘 마르지 않아 제습기를 켠다.")
    stored = of_chunk(text, 1, 1, "prose")
    parts = [(a, b) for a, b, _, _ in stored]
    vectors, sentence_vectors = onnx_engine.embed_passages_with_parts([text], [parts])
    assert np.array_equal(vectors, onnx_engine.embed_passages([text]))
    assert sentence_vectors[0].shape == (3, onnx_engine.dim)
    assert np.allclose(np.linalg.norm(sentence_vectors[0], axis=1), 1.0, atol=1e-5)
    # each sentence's tokens are counted alone, and they add up to the passage's own tokens
    tok = onnx_engine.tokenizer
    bounds = token_spans(tok, text, parts, len(tok.content_ids([text])[0]))
    assert [b - a for a, b in bounds] == [len(tok.content_ids([text[a:b]], "")[0]) for a, b in parts]
    questions = ["고양이는 얼마나 자나요?", "금리가 오르면 주가는 어떻게 되나?", "비 오는 날 빨래는 어떻게 말리나?"]
    nearest = (sentence_vectors[0] @ onnx_engine.embed_queries(questions).T).argmax(axis=0)
    assert nearest.tolist() == [0, 1, 2]


def sql(index: Path, *statements: str) -> None:
    """Change the index database behind embedsearch's back (an older release's, a damaged one)."""
    with sqlite3.connect(index / "embedsearch.db") as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def post_index(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "posts"
    write(folder / "cat.md", POST)
    write(folder / "other.md", "# 녹차\n\n녹차는 낮은 온도의 물로 우려야 쓴맛이 덜하다. 80도 정도가 알맞다.\n")
    index = tmp_path / "index"
    with Index(index, create=True) as ix:
        ix.add(folder)
    return folder, index


def test_every_hit_carries_its_best_sentence_with_its_own_lines(post_index) -> None:
    folder, index = post_index
    lines = (folder / "cat.md").read_text().splitlines()
    with Index(index) as ix:
        for mode in ("hybrid", "dense", "lexical"):
            hit = ix.search(GROWTH, k=1, mode=mode)[0]
            best = hit.evidence[0]
            assert best.text.startswith("금리가 오르면 성장주의 주가가"), mode
            assert best.line_start == best.line_end
            assert lines[best.line_start - 1].startswith(best.text)
            assert hit.text[best.start:best.end] == best.text
        hit = ix.search("고양이 수염은 어디에 쓰이나?", k=1)[0]
        assert hit.evidence[0].text == "고양이의 수염은 좁은 틈을 지날 수 있는지 재는 데 쓰인다"
        assert hit.evidence[0].line_start == lines.index("- " + hit.evidence[0].text) + 1


def test_sentences_are_stored_with_their_passage_and_updated_with_it(post_index) -> None:
    folder, index = post_index
    db = index / "embedsearch.db"

    def rows() -> dict[str, tuple[str, bytes]]:
        with sqlite3.connect(db) as conn:
            return {text: (sentences, vectors) for text, sentences, vectors in
                    conn.execute("SELECT text, sentences, sentence_vectors FROM chunks")}

    before = rows()
    for text, (sentences, vectors) in before.items():
        found = json.loads(sentences)
        assert len(vectors) == len(found) * 384 * 2  # float16, one row a sentence
    write(folder / "other.md", "# 녹차\n\n녹차는 낮은 온도의 물로 우려야 쓴맛이 덜하다. 70도 정도가 알맞다.\n")
    with Index(index) as ix:
        report = ix.add(folder)
    assert report.chunks_embedded == 1
    after = rows()
    assert {t: v for t, v in after.items() if "녹차" not in t} == {t: v for t, v in before.items() if "녹차" not in t}
    changed = next(v for t, v in after.items() if "70도" in t)
    assert len(json.loads(changed[0])) == 2 and len(changed[1]) == 2 * 384 * 2


def test_json_gives_the_evidence_and_where_it_is_in_the_snippet(post_index) -> None:
    _, index = post_index
    out = subprocess.run([sys.executable, "-m", "embedsearch", "search", "고양이는 하루에 얼마나 자나?", "--index",
                          str(index), "--json", "-k", "1"], capture_output=True, text=True, check=True)
    hit = json.loads(out.stdout.splitlines()[0])
    evidence = hit["evidence"][0]
    assert evidence["text"].startswith("고양이는 하루에 열여섯 시간")
    assert evidence["location"].endswith(f"cat.md:{evidence['line_start']}")
    start, end = hit["evidence_span"]
    assert hit["snippet"][start:end] == " ".join(evidence["text"].split())


def test_an_index_from_before_sentences_migrates_and_embeds_again(post_index) -> None:
    """A chunk stored without sentence vectors (schema 2, chunker v4) is searched as before, and the
    next `index` run gives it its sentences."""
    folder, index = post_index
    sql(index, "UPDATE chunks SET sentences = NULL, sentence_vectors = NULL",
        "UPDATE documents SET chunking = 'v4:old'")
    with Index(index) as ix:
        hit = ix.search(GROWTH, k=1)[0]
        assert hit.evidence == [] and "성장주" in hit.text
        before = ix.status()
        assert before["sentences"] == 0 and before["without_sentences"] == before["chunks"]
        assert "run `embedsearch index`" in status_rows(before)["Sentences"]  # status tells the user
        report = ix.add(folder)
        assert report.changed == 2 and report.chunks_reused == 0
        assert ix.search(GROWTH, k=1)[0].evidence
        after = ix.status()
        assert after["without_sentences"] == 0 and after["sentences"] > after["chunks"]
        assert status_rows(after)["Sentences"] == f"{after['sentences']:,}"


def test_plain_text_names_the_best_sentences_line(post_index) -> None:
    """A pipe or an agent reading MCP's text gets no bold: the sentence's own line is named instead,
    when it is not the whole passage."""
    from embedsearch.views import hits_text

    _, index = post_index
    with Index(index) as ix:
        hits = ix.search("고양이는 하루에 얼마나 자나?", k=2)
    text = hits_text(hits, "고양이는 하루에 얼마나 자나?", width=400)  # the temp path is long
    first = hits[0]
    assert first.line_end > first.line_start and first.evidence[0].line_start == first.line_start
    assert f"best sentence: {first.path}:{first.evidence[0].line_start}" in text


def test_a_damaged_sentence_row_costs_its_hit_the_evidence_only(post_index) -> None:
    _, index = post_index
    sql(index, "UPDATE chunks SET sentence_vectors = x'0102030405' WHERE text LIKE '%성장주%'",
        "UPDATE chunks SET sentences = 'not json' WHERE text LIKE '%고양이는 하루에%'")
    with Index(index) as ix:
        hit = ix.search(GROWTH, k=1)[0]
        assert "성장주" in hit.text and hit.evidence == []
        assert ix.search("고양이는 하루에 얼마나 자나?", k=1)[0].evidence == []
        assert ix.search("고양이는 하루에 얼마나 자나?", k=1, mode="lexical")[0].evidence == []
        assert ix.search("녹차는 몇 도에서 우리나?", k=1)[0].evidence  # the others keep theirs


def test_an_index_of_the_release_before_searches_before_it_is_migrated(post_index) -> None:
    """An upgrade must not break `search` on the index the user already has: schema 2 has no
    sentence columns, and only a writer migrates (a read-only copy never is)."""
    folder, index = post_index
    sql(index, "ALTER TABLE chunks DROP COLUMN sentence_vectors", "ALTER TABLE chunks DROP COLUMN sentences",
        "UPDATE meta SET value = '2' WHERE key = 'schema_version'",  # the previous release's database
        "UPDATE documents SET chunking = 'v4:64/256/512'")
    with Index(index) as ix:
        for mode in ("hybrid", "dense", "lexical"):
            hit = ix.search(GROWTH, k=1, mode=mode)[0]
            assert "성장주" in hit.text and hit.evidence == [], mode
        status = ix.status()
        assert status["sentences"] == 0 and status["without_sentences"] == status["chunks"] > 0
    out = subprocess.run([sys.executable, "-m", "embedsearch", "search", "성장주", "--index", str(index), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    with Index(index) as ix:  # the next index run migrates and embeds again
        report = ix.add(folder)
        assert report.changed == 2 and ix.store.schema_version() == 3
        assert ix.search(GROWTH, k=1)[0].evidence
