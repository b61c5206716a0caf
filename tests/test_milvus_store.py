"""The Milvus vector store against a real Milvus Lite folder, with the real model and SQLite.

The reference corpus (../shared/corpus and data/posts) is embedded once for the module; the
tests that change an index use the three small posts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from embedsearch import Index
from embedsearch.errors import EmbedsearchError
from embedsearch.store import Filter
from embedsearch.store.database import LOCK_NAME
from embedsearch.store.faiss_store import FaissStore
from embedsearch.store.milvus_store import ENDPOINT_FILE, MilvusStore, expression, like_pattern

from conftest import SAMPLE_POSTS, SHARED

pytest.importorskip("milvus_lite")

QUERIES = Path(__file__).parent / "data" / "reference_queries.txt"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Index:
    """../shared/corpus and data/posts in one index whose vectors live in Milvus Lite."""
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"reference corpus not found at {corpus}")
    base = tmp_path_factory.mktemp("milvus-reference")
    ix = Index(base / "ix", vector_store=f"milvus:{base / 'vectors.db'}", create=True)
    ix.add(corpus)
    ix.add(SAMPLE_POSTS)
    yield ix
    ix.close()


@pytest.fixture(scope="module")
def exact_faiss(reference: Index) -> FaissStore:
    """A FAISS store over the same SQLite vectors (exact search at this size)."""
    store = FaissStore(reference.store, reference.vectors.dim, str(reference.path))
    store.sync()
    return store


def test_a_glob_becomes_a_like_expression() -> None:
    assert like_pattern("notes/*.md") == ("notes/%.md", False)
    assert like_pattern("a?b") == ("a_b", False)
    assert like_pattern("my_notes/100%") == ("my_notes/100_", True)  # widened, then checked
    expr, check = expression(Filter(path="notes/*", tag='say "hi"', kind="code"))
    assert expr == ('(path like "notes/%" or path like "%/notes/%") and array_contains(tags, "say \\"hi\\"")'
                    ' and kind == "code"')
    assert check == []
    assert expression(Filter(path="a_b/*"))[1] == ["a_b/*", "*/a_b/*"]
    with pytest.raises(EmbedsearchError, match=r"^the path filter 'notes/\[ab\]\*': character classes"):
        expression(Filter(path="notes/[ab]*"))
    # a tag spelled in several cases in the documents: any of them
    assert expression(Filter(tag="llm", tag_forms=("LLM", "llm")))[0] == 'array_contains_any(tags, ["LLM", "llm"])'
    assert expression(Filter()) == ("", [])


def test_milvus_and_faiss_return_the_same_top_10_on_the_reference_corpus(reference: Index,
                                                                        exact_faiss: FaissStore) -> None:
    queries = [q for q in QUERIES.read_text("utf-8").splitlines() if q.strip()]
    assert len(queries) == 100
    vectors = np.concatenate([reference.embedder.embed_queries(queries[i : i + 25]) for i in range(0, 100, 25)])
    rows = [row for batch in reference.store.vector_rows() for row in batch]
    ids = np.array([r.id for r in rows])
    matrix = np.stack([r.vector for r in rows])
    milvus = reference.vectors
    assert isinstance(milvus, MilvusStore) and milvus.count() == len(rows) == exact_faiss.count()
    found_milvus = found_faiss = same = 0
    for q in vectors:
        exact = set(ids[np.argsort(-(matrix @ q), kind="stable")[:10]])
        m = milvus.search(q, 10)
        f = exact_faiss.search(q, 10)
        assert_same_ranking(m, f)
        found_milvus += len(exact & {i for i, _ in m})
        found_faiss += len(exact & {i for i, _ in f})
        same += len({i for i, _ in m} & {i for i, _ in f})
    assert found_milvus / 1000 >= 0.99 and found_faiss / 1000 >= 0.99 and same / 1000 >= 0.99


@pytest.mark.parametrize("flt", [Filter(path="notes/*"), Filter(path="*.txt"), Filter(path="00?_*"),
                                 Filter(tag="lora"), Filter(tag="LoRA", tag_forms=("lora", "LoRA")),
                                 Filter(kind="code"), Filter(path="*.md", kind="code"),
                                 Filter(path="*_*.txt", tag="no-such-tag")],
                         ids=lambda f: str(f))
def test_filters_are_milvus_expressions_that_agree_with_sqlite(reference: Index, exact_faiss: FaissStore,
                                                               flt: Filter) -> None:
    allowed = set(reference.store.chunk_ids(flt))
    query = reference.embedder.embed_queries(["모델을 작게 만들어 내 컴퓨터에서 돌리는 방법"])[0]
    milvus = reference.vectors.search(query, 50, flt)
    assert {i for i, _ in milvus} <= allowed
    assert len(milvus) == min(50, len(allowed))
    assert_same_ranking(milvus[:10], exact_faiss.search(query, 10, flt))


def assert_same_ranking(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> None:
    """Same scores in order; the same ids, but for ties at the cut (repeated paragraphs)."""
    assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-4)
    if a:
        cut = a[-1][1] + 1e-4
        assert {i for i, s in a if s > cut} == {i for i, s in b if s > cut}


def test_search_and_status_through_the_index(reference: Index) -> None:
    hits = reference.search("GGUF 형식은 무엇인가", k=3, path="*running-small-models*")
    assert hits and all("running-small-models" in h.path for h in hits)
    code = reference.search("llama.cpp 빌드", k=5, kind="code", mode="dense")
    assert code and all(h.kind == "code" for h in code)
    status = reference.status()
    assert status["vector_store"]["kind"] == "milvus"
    described = reference.vector_status()
    assert described["vectors"] == status["chunks"] and described["engine"] == "Milvus Lite"
    assert described["collection"].startswith("embedsearch_") and described["applied_seq"] == reference.store.head_seq()


def test_index_edit_delete_and_rebuild_on_milvus(small_posts: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from embedsearch.cli import app

    folder = small_posts  # a fresh copy for this test
    ix_path, db = tmp_path / "ix", tmp_path / "lite" / "vectors.db"
    result = CliRunner().invoke(app, ["index", str(folder), "--index", str(ix_path), "--vector-store", f"milvus:{db}"])
    assert result.exit_code == 0, result.output
    status = CliRunner().invoke(app, ["status", "--index", str(ix_path), "--json"])
    store_info = json.loads(status.stdout)["vector_store"]
    assert store_info["kind"] == "milvus" and store_info["location"] == str(db) and store_info["vectors"] > 0

    with Index(ix_path) as ix:
        milvus = ix.vectors
        before = milvus.count()
        memo = folder / "notes" / "memo.txt"  # one chunk: its edit is one delete and one upsert
        (old_id,) = [r[0] for r in ix.store.conn.execute(
            "SELECT chunks.id FROM chunks JOIN documents ON documents.id = chunks.document_id WHERE path LIKE ?",
            ("%memo.txt",))]
        memo.write_text(memo.read_text("utf-8").replace("페이스북이 만든", "메타(옛 페이스북)가 만든"), "utf-8")
        report = ix.add(folder)
        assert report.changed == 1 and report.chunks_embedded == 1
        assert milvus.stats["upserted"] == 1 and milvus.stats["rebuilds"] == 0 and milvus.count() == before
        hit = ix.search("메타가 만든 벡터 검색 라이브러리", k=1, mode="dense")[0]
        assert hit.chunk_id != old_id and "메타(옛 페이스북)" in hit.text
        assert not milvus.client.get(milvus.collection, ids=[old_id])
        assert ix.store.meta()["vector_store_seq"] == str(ix.store.head_seq())

        (folder / "cooking.md").unlink()
        ix.add(folder)
        assert milvus.count() == ix.store.counts()[1] < before
        assert not [h for h in ix.search("sourdough starter", k=10, mode="dense") if "cooking" in h.path]

        expected = [h.chunk_id for h in ix.search("벡터 검색", k=3, mode="dense")]
        milvus.client.drop_collection(milvus.collection)  # lost: rebuilt from SQLite by the next user

    with FileLock(str(ix_path / LOCK_NAME)), Index(ix_path) as blocked:  # as a running `index` holds it
        with pytest.raises(EmbedsearchError, match="a running `embedsearch index` rebuilds it"):
            blocked.search("벡터 검색", k=3, mode="dense")
    with Index(ix_path) as reader:  # a search finds it missing and rebuilds it under the write lock
        assert [h.chunk_id for h in reader.search("벡터 검색", k=3, mode="dense")] == expected
        assert reader.vectors.stats["rebuilds"] == 1
    with Index(ix_path) as writer:
        writer.vectors.client.drop_collection(writer.vectors.collection)
        writer.add(folder)  # nothing changed on disk, yet the collection comes back
        assert writer.vectors.stats["rebuilds"] == 1 and writer.vectors.count() == writer.store.counts()[1]

    with pytest.raises(EmbedsearchError, match="keeps its vectors in 'milvus:"):
        Index(ix_path, vector_store="faiss").add(folder)


def test_a_second_process_searches_while_this_one_holds_the_lite_folder(reference: Index) -> None:
    """Milvus Lite lets one process open its folder; the holder serves it to the others."""
    endpoint = json.loads((Path(reference.vectors.location) / ENDPOINT_FILE).read_text())
    assert endpoint["pid"] == os.getpid() and endpoint["uri"].startswith("http://127.0.0.1:")
    expected = reference.search("BPE는 원래 무엇을 위한 알고리즘이었나?", k=3)
    out = subprocess.run([sys.executable, "-m", "embedsearch", "search", "BPE는 원래 무엇을 위한 알고리즘이었나?",
                          "-k", "3", "--json", "--index", str(reference.path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["chunk_id"] for line in out.stdout.splitlines()] == [h.chunk_id for h in expected]
    assert "Traceback" not in out.stderr


def test_locations_and_an_unreachable_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert MilvusStore.normalise_location("vectors.db") == str(tmp_path / "vectors.db")
    assert MilvusStore.normalise_location("http://milvus.internal:19530") == "http://milvus.internal:19530"
    with pytest.raises(EmbedsearchError, match=r"cannot reach Milvus at http://127\.0\.0\.1:9 .*start the server"):
        Index(tmp_path / "ix", vector_store="milvus:http://127.0.0.1:9", create=True)
