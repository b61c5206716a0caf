"""The Python API: adding folders, incremental re-runs, searching, status."""
from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from embedsearch import EmbedsearchError, Hit, Index
from embedsearch.errors import FilterError

from conftest import write


def test_add_and_search(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        report = ix.add(small_posts)
        assert (report.new, report.changed, report.unchanged, report.removed) == (3, 0, 0, 0)
        assert report.chunks_embedded == report.chunks_total > 0 and report.tokens_embedded > 0
        hits = ix.search("At what temperature is the loaf baked in a Dutch oven?", k=3)
        assert isinstance(hits[0], Hit) and hits[0].path.endswith("cooking.md")
        assert hits[0].heading == "# Weekend bread > ## Baking" and hits[0].title == "Weekend bread"
        assert hits[0].line_start == 8 and hits[0].rank == 1
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        korean = ix.search("다음 토큰 예측을 하는 신경망", k=1)[0]
        assert korean.path.endswith("llm.md") and korean.title == "대규모 언어 모델 입문"


def test_search_normalises_nfd_queries(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
        query = "FAISS 벡터 검색 라이브러리"
        nfc_hits = ix.search(query, k=2)
        nfd_hits = ix.search(unicodedata.normalize("NFD", query), k=2)
        assert [(h.chunk_id, round(h.score, 5)) for h in nfc_hits] == [(h.chunk_id, round(h.score, 5)) for h in nfd_hits]


def test_second_run_embeds_nothing(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
        again = ix.add(small_posts)
    assert (again.new, again.changed, again.unchanged, again.removed, again.chunks_embedded) == (0, 0, 3, 0, 0)


def test_editing_one_paragraph_re_embeds_one_chunk(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
        post = small_posts / "cooking.md"
        post.write_text(post.read_text().replace("twenty minutes with the lid on", "thirty minutes with the lid on"))
        report = ix.add(small_posts)
        assert (report.new, report.changed, report.unchanged, report.chunks_embedded) == (0, 1, 2, 1)
        assert report.chunks_reused == 1
        assert "thirty minutes" in ix.search("thirty minutes lid on", k=1)[0].text


def test_moving_a_file_re_embeds_nothing(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
        (small_posts / "archive").mkdir()
        shutil.move(small_posts / "llm.md", small_posts / "archive" / "renamed.md")
        report = ix.add(small_posts)
        assert (report.new, report.removed, report.chunks_embedded) == (1, 1, 0)
        assert report.chunks_reused > 0
        hit = ix.search("다음 토큰 예측을 하는 신경망", k=1)[0]
        assert hit.path == str((small_posts / "archive" / "renamed.md").resolve())


def test_deleting_a_file_removes_its_chunks(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
        before = ix.status()["chunks"]
        (small_posts / "cooking.md").unlink()
        report = ix.add(small_posts)
        assert report.removed == 1 and report.chunks_embedded == 0
        assert ix.status()["documents"] == 2 and ix.status()["chunks"] < before
        assert all(not h.path.endswith("cooking.md") for h in ix.search("sourdough bread baking", k=10))


def test_two_folders_live_side_by_side(small_posts: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write(other / "x.md", "# Other\n\nGardening: tomatoes need six hours of sun a day.")
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
        ix.add(other)
        assert ix.status()["documents"] == 4  # indexing one folder does not remove the other's files
        assert ix.search("how much sun do tomatoes need", k=1)[0].path.endswith("x.md")


def test_rebuild_starts_over(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        first = ix.add(small_posts)
        rebuilt = ix.add(small_posts, rebuild=True)
    assert rebuilt.new == 3 and rebuilt.chunks_embedded == first.chunks_embedded


def test_faiss_is_rebuilt_from_sqlite_when_missing(small_posts: Path, tmp_path: Path) -> None:
    path = tmp_path / "ix"
    with Index(path, create=True) as ix:
        ix.add(small_posts)
        expected = ix.search("FAISS", k=3)
    files = list(path.glob("vectors-*.faiss"))
    assert files
    for f in files:
        f.unlink()
    with Index(path) as ix:
        again = ix.search("FAISS", k=3)
        assert [h.chunk_id for h in again] == [h.chunk_id for h in expected]
        assert [h.score for h in again] == pytest.approx([h.score for h in expected], abs=1e-5)
        assert ix.vectors.stats["rebuilds"] == 1
        head = ix.store.head_seq()
    assert (path / f"vectors-{head}.faiss").exists()  # and written back for next time


def test_faiss_matches_sqlite_vectors(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
        rows = [row for batch in ix.store.vector_rows() for row in batch]
    with Index(tmp_path / "ix") as reader:  # a fresh process's view: the file plus the log
        index = reader._synced_vectors().index
        assert index is not None and index.ntotal == len(rows)
        vectors = np.vstack([r.vector for r in rows])
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        assert np.allclose(index.reconstruct(int(rows[0].id)), rows[0].vector)


def test_min_score_and_k(sample_index: Path) -> None:
    with Index(sample_index) as ix:
        hits = ix.search("LoRA 랭크", k=7)
        assert len(hits) == 7
        cut = hits[3].score
        assert all(h.score >= cut for h in ix.search("LoRA 랭크", k=7, min_score=cut))


def test_sample_posts_answer_their_own_questions(sample_index: Path) -> None:
    with Index(sample_index) as ix:
        hit = ix.search("BPE는 원래 무엇을 위한 알고리즘이었나?", k=1)[0]
        assert hit.path.endswith("korean-tokenization.md")
        hit = ix.search("Who started llama.cpp and when?", k=1)[0]
        assert hit.path.endswith("running-small-models-locally.md")


def test_status(sample_index: Path) -> None:
    with Index(sample_index) as ix:
        info = ix.status()
    assert info["documents"] == 7 and info["chunks"] > 7
    assert info["model"] == "multilingual-e5-small" and info["dimension"] == 384
    assert info["size_bytes"] > 0 and info["last_indexed"] > 0


def test_user_errors(small_posts: Path, tmp_path: Path) -> None:
    with pytest.raises(EmbedsearchError, match="no index at"):
        Index(tmp_path / "missing").search("x")
    assert not (tmp_path / "missing").exists()  # looking doesn't create anything
    with Index(tmp_path / "ix", create=True) as ix:
        with pytest.raises(EmbedsearchError, match="no such folder"):
            ix.add(tmp_path / "nope")
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(EmbedsearchError, match="nothing to index"):
            ix.add(empty)
        write(empty / "blank.md", "\n\n")
        (empty / "image.txt").write_bytes(b"\x89PNG\x00\x00binary")
        with pytest.raises(EmbedsearchError, match="2 file"):
            ix.add(empty)
        ix.add(small_posts)
        with pytest.raises(EmbedsearchError, match="empty query"):
            ix.search("   ")
    with pytest.raises(EmbedsearchError, match="built with model 'multilingual-e5-small'.*--rebuild"):
        Index(tmp_path / "ix", model="sentence-transformers/all-MiniLM-L6-v2").search("x")
    blocker = write(tmp_path / "a-file", "x")
    with pytest.raises(EmbedsearchError, match="cannot"):
        Index(blocker / "ix", create=True)


def test_skipped_files_are_reported(small_posts: Path, tmp_path: Path) -> None:
    write(small_posts / "empty.md", "")
    (small_posts / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (small_posts / "latin.txt").write_bytes(bytes([0x80, 0xFF, 0xFE, 0x81]) * 8)  # not UTF-8, CP949 or a UTF-16 BOM
    with Index(tmp_path / "ix", create=True) as ix:
        report = ix.add(small_posts)
    assert report.new == 3 and len(report.skipped) == 3
    reasons = {Path(p).name: reason for p, reason in report.skipped}
    assert set(reasons) == {"empty.md", "blob.txt", "latin.txt"} and "binary" in reasons["blob.txt"]


def test_shared_corpus_second_run_embeds_nothing(shared_corpus: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        first = ix.add(shared_corpus)
        assert first.new == 5 and first.chunks_embedded > 100
        second = ix.add(shared_corpus)
        assert (second.unchanged, second.chunks_embedded) == (5, 0)
        assert "LLM" in " ".join(h.text for h in ix.search("LLM 사전학습", k=3))


def test_filters_by_path_glob_and_tag(sample_index: Path) -> None:
    with Index(sample_index) as ix:
        notes = ix.search("LLM", k=20, path="notes/*")
        assert notes and all("/notes/" in h.path for h in notes)
        assert {Path(h.path).name for h in ix.search("LLM", k=50, path="*.txt")} == {"study-memo.txt"}
        tagged = ix.search("모델", k=50, tag="lora")
        assert tagged and {Path(h.path).name for h in tagged} == {"finetuning-vs-prompting.md"}
        assert {Path(h.path).name for h in ix.search("모델", k=50, tag="LoRA")} == {"finetuning-vs-prompting.md"}
        with pytest.raises(FilterError, match="no indexed document matches the tag filter 'no-such-tag'"):
            ix.search("모델", k=5, tag="no-such-tag")


def test_ask_without_an_llm_returns_the_filled_prompt(sample_index: Path) -> None:
    from embedsearch.answer import LLMConfig

    no_llm = LLMConfig(backend="none")
    with Index(sample_index) as ix:
        answer = ix.ask("GGUF는 언제 GGML 형식을 대체했나?", k=3, llm=no_llm)
        assert answer.text == "" and answer.model is None
        assert len(answer.passages) == 3 and "[1]" in answer.prompt and "[3]" in answer.prompt
        assert f"{Path(answer.passages[0].path).name}:{answer.passages[0].line_start}" in answer.prompt
        stream = ix.ask_stream("GGUF는 언제 GGML 형식을 대체했나?", k=3, llm=no_llm)
        assert list(stream) == [] and stream.answer is not None and stream.answer.prompt == answer.prompt


def test_editing_one_paragraph_updates_the_vector_index_in_place(small_posts: Path, tmp_path: Path) -> None:
    """No full rebuild: the writer applies one delete and one add; a reader replays them from the log."""
    path = tmp_path / "ix"
    with Index(path) as ix:
        ix.add(small_posts)
        files = sorted(p.name for p in path.glob("vectors-*.faiss"))
        stats = dict(ix.vectors.stats)
        post = small_posts / "cooking.md"
        post.write_text(post.read_text().replace("twenty minutes with the lid on", "thirty minutes with the lid on"))
        report = ix.add(small_posts)
        assert (report.changed, report.chunks_embedded) == (1, 1)
        after = ix.vectors.stats
        assert after["rebuilds"] == stats["rebuilds"]  # nothing rebuilt from SQLite
        changed = after["upserted"] - stats["upserted"]
        assert 1 <= changed <= len(ix.store.document_chunks(ix._find_document("cooking.md")["id"]))
        assert sorted(p.name for p in path.glob("vectors-*.faiss")) == files  # not even rewritten: the log carries it
    with Index(path) as reader:
        hit = reader.search("thirty minutes lid on", k=1)[0]
        assert "thirty minutes" in hit.text and reader.vectors.stats["rebuilds"] == 0
