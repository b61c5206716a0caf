"""The contract every registered vector store keeps, the same assertions for each.

Parametrized over `VECTOR_STORES.names()`, so a store another package registers (an entry point
in `embedsearch.vector_stores`) is held to it too. Each store is opened as an index opens it
(`open_store(name, db, dim)`, default location: FAISS files or a Milvus Lite folder in the index
folder) over a real SQLite index; vectors come from the registered "fake" hashing embedder, so
the expected answers are computed exactly with numpy. Search results must equal exact inner-
product search (both built-in stores search exactly at this size).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from embedsearch import Index
from embedsearch.errors import ModelMismatchError
from embedsearch.records import Chunk, Document
from embedsearch.store import VECTOR_STORES, Filter, Store, VectorStore, open_store
from embedsearch.text import content_hash
from embedsearch.vectors import EMBEDDERS, load_embedder

# stores that need an optional package to run at all: skipped (not failed) where it is missing
NEEDS = {"milvus": "milvus_lite"}

POSTS: dict[str, tuple[list[str], list[str]]] = {  # path -> (tags, one passage per chunk)
    "posts/bread.md": (["bread"], ["사워도우 스타터를 키우는 법", "밀가루와 물을 같은 무게로 섞어 둔다"]),
    "posts/vectors.md": (["search"], ["FAISS는 벡터 검색 라이브러리다", "코사인 유사도로 가까운 벡터를 찾는다"]),
    "posts/model.md": (["llm"], ["작은 언어 모델을 내 컴퓨터에서 돌린다", "GGUF 형식으로 양자화한 모델"]),
    "notes/memo.txt": (["search", "bread"], ["벡터 검색으로 빵 레시피를 찾는다"]),
    "notes/code.md": ([], ["import faiss\nindex = faiss.IndexFlatIP(64)"]),
}


@pytest.fixture(params=VECTOR_STORES.names())
def name(request: pytest.FixtureRequest) -> str:
    needed = NEEDS.get(request.param)
    if needed and importlib.util.find_spec(needed) is None:
        pytest.skip(f"{request.param} needs {needed}")
    return request.param


class Corpus:
    """A real index database whose chunk vectors come from the fake embedder; vectors kept for checking."""

    def __init__(self, directory: Path, store_name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.embedder = load_embedder("fake")
        self.dim = self.embedder.dim
        self.db = Store(directory)
        self.db.create(vector_store=store_name, dim=str(self.dim))
        self.name = store_name
        self.vectors: dict[int, np.ndarray] = {}
        self.chunks_of: dict[str, list[int]] = {}

    def put(self, path: str, texts: list[str], tags: list[str] = ()) -> list[int]:  # type: ignore[assignment]
        vectors = self.embedder.embed_passages(texts)
        doc = Document(path=f"/home/me/{path}", text="\n\n".join(texts), content_hash=content_hash("\n".join(texts).encode()),
                       mtime=0.0, title=Path(path).stem, front_matter={"tags": list(tags)})
        chunks = [Chunk(text=t, heading="", line_start=2 * i + 1, line_end=2 * i + 1, token_count=5,
                        content_hash=content_hash(t.encode()), ordinal=i,
                        kind="code" if t.startswith("import") else "prose") for i, t in enumerate(texts)]
        with self.db.transaction():
            ids = self.db.replace_document(doc, "test", chunks, [(v.tobytes(), b"") for v in vectors])
        for old in self.chunks_of.pop(path, []):
            del self.vectors[old]
        self.chunks_of[path] = ids
        self.vectors.update(zip(ids, vectors))
        return ids

    def remove(self, path: str) -> list[int]:
        doc = self.db.document(f"/home/me/{path}")
        with self.db.transaction():
            self.db.delete_documents([doc["id"]])
        gone = self.chunks_of.pop(path)
        for i in gone:
            del self.vectors[i]
        return gone

    def fill(self) -> None:
        for path, (tags, texts) in POSTS.items():
            self.put(path, texts, tags)

    def open(self, dim: int | None = None) -> VectorStore:
        return open_store(self.name, self.db, dim or self.dim)

    def query(self, text: str) -> np.ndarray:
        return self.embedder.embed_queries([text])[0]

    def exact(self, query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        ids = [i for i in self.vectors if allowed is None or i in allowed]
        scores = np.stack([self.vectors[i] for i in ids]) @ query if ids else np.zeros(0)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(ids[j], float(scores[j])) for j in order]


@pytest.fixture
def corpus(tmp_path: Path, name: str) -> Corpus:
    return Corpus(tmp_path / "ix", name)


def assert_exact(got: list[tuple[int, float]], corpus: Corpus, query: np.ndarray, k: int,
                 allowed: set[int] | None = None) -> None:
    """The top k of exact search: the same scores best first, each id's true score its own (ids
    of equal score may come in any order), ids as ints, none outside the filter."""
    expected = corpus.exact(query, k, allowed)
    assert all(type(i) is int and isinstance(s, float) for i, s in got)
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-4)
    assert [s for _, s in got] == pytest.approx([float(corpus.vectors[i] @ query) for i, _ in got], abs=1e-4)
    assert len({i for i, _ in got}) == len(got) and (allowed is None or {i for i, _ in got} <= allowed)


def same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    """The same results: the same scores, and the same ids but for ties at the cut."""
    if len(a) != len(b) or not np.allclose([s for _, s in a], [s for _, s in b], atol=1e-5):
        return False
    cut = a[-1][1] + 1e-5 if a else 0.0
    return {i for i, s in a if s > cut} == {i for i, s in b if s > cut}


QUERIES = ["벡터 검색", "빵 반죽", "언어 모델", "faiss index"]


def test_the_fake_embedder_is_registered_and_deterministic() -> None:
    assert "fake" in EMBEDDERS.names()
    a, b = load_embedder("fake"), load_embedder("fake")
    vectors = a.embed_passages(["사워도우 스타터", "FAISS 벡터", ""])
    assert vectors.shape == (3, a.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors, b.embed_passages(["사워도우 스타터", "FAISS 벡터", ""]))
    q = a.embed_queries(["사워도우"])[0]
    assert q @ vectors[0] > 0.3 > abs(q @ vectors[1])  # shared words: close; none: far


def test_an_empty_store_finds_nothing(corpus: Corpus, name: str) -> None:
    store = corpus.open()
    assert isinstance(store, VectorStore) and store.name == name and store.dim == corpus.dim
    store.sync()
    assert store.count() == 0 and store.search(corpus.query("벡터"), 5) == []
    assert store.describe()["kind"] == name and store.describe()["vectors"] == 0
    store.close()


def test_search_is_exact_inner_product_with_and_without_filters(corpus: Corpus) -> None:
    corpus.fill()
    store = corpus.open()
    assert store.sync() and store.count() == len(corpus.vectors) == 8
    for cid, vector in corpus.vectors.items():  # every vector finds itself first
        (top, score), *_ = store.search(vector, 1)
        assert top == cid and score == pytest.approx(1.0, abs=1e-4)
    for text in QUERIES:
        q = corpus.query(text)
        assert_exact(store.search(q, 4), corpus, q, 4)
        assert_exact(store.search(q, 100), corpus, q, 100)  # k past the count: all of them
        assert store.search(q, 0) == []
        for flt in (Filter(path="notes/*"), Filter(tag="bread"), Filter(kind="code"), Filter(path="*.md", tag="search"),
                    Filter(tag="no-such-tag")):
            allowed = set(corpus.db.chunk_ids(flt))
            assert_exact(store.search(q, 5, flt), corpus, q, 5, allowed)
    store.close()


def test_edits_and_deletions_reach_the_store(corpus: Corpus) -> None:
    corpus.fill()
    store = corpus.open()
    store.sync()
    old = corpus.chunks_of["posts/bread.md"]
    new = corpus.put("posts/bread.md", ["호밀 사워도우를 굽는다", "반죽을 하룻밤 냉장고에서 숙성한다"], ["bread"])
    gone = corpus.remove("notes/memo.txt")
    assert store.sync() and not store.sync()  # caught up: a second sync has nothing to do
    assert store.count() == len(corpus.vectors) == 7 and store.stats["rebuilds"] == 1  # the first build only
    everything = {i for i, _ in store.search(corpus.query("사워도우 빵 검색"), 100)}
    assert everything == set(corpus.vectors) and not everything & set(old + gone) and set(new) <= everything
    q = corpus.query("호밀 사워도우")
    assert_exact(store.search(q, 3), corpus, q, 3)

    store.delete([10**9])  # an id it never held: ignored
    rows = [row for batch in corpus.db.vector_rows(new) for row in batch]
    store.upsert(rows)  # the same ids again: replaced, not doubled
    assert store.count() == 7
    store.delete(new)
    assert store.count() == 5 and not {i for i, _ in store.search(q, 100)} & set(new)
    store.close()


def test_a_persisted_store_reopens_where_it_was(corpus: Corpus) -> None:
    corpus.fill()
    store = corpus.open()
    store.sync()
    store.persist()
    q = corpus.query("벡터 검색")
    before = store.search(q, 5)
    store.close()

    again = corpus.open()  # as another process opens it: loaded, nothing to rebuild or replay
    assert again.seq == corpus.db.head_seq() and not again.sync()
    assert again.stats["rebuilds"] == 0 and again.stats["upserted"] == 0
    assert again.count() == 8 and same(again.search(q, 5), before)

    added = corpus.put("posts/new.md", ["새 글: 벡터 검색을 다시 정리한다"], ["search"])  # a writer elsewhere
    assert again.sync() and again.stats["rebuilds"] == 0 and again.stats["upserted"] == len(added)
    assert_exact(again.search(q, 5), corpus, q, 5)
    again.close()


def test_a_rebuild_gives_the_same_answers(corpus: Corpus) -> None:
    corpus.fill()
    store = corpus.open()
    store.sync()
    q = corpus.query("언어 모델")
    before = store.search(q, 5)
    store.rebuild()
    assert store.count() == 8 and store.stats["rebuilds"] == 2 and same(store.search(q, 5), before)
    store.close()


def test_dimensions_are_checked(corpus: Corpus, name: str) -> None:
    corpus.fill()
    store = corpus.open()
    store.sync()
    store.persist()
    for wrong in (corpus.dim // 2, corpus.dim * 2):  # another model's vector: one typed line, no traceback
        with pytest.raises(ModelMismatchError, match=rf"{wrong} dimensions .*{name} store holds {corpus.dim}"):
            store.search(np.ones(wrong, dtype=np.float32), 3)
    rows = [row for batch in corpus.db.vector_rows() for row in batch][:1]
    rows[0].vector = np.ones(corpus.dim * 2, dtype=np.float32)
    with pytest.raises(ModelMismatchError):
        store.upsert(rows)
    store.close()

    other = corpus.open(dim=corpus.dim * 2)  # what it persisted is of another dimension: not loaded
    assert other.dim == corpus.dim * 2 and other.seq == -1
    other.close()


def test_an_index_runs_on_the_fake_embedder(tmp_path: Path, name: str) -> None:
    """Index(model="fake") end to end on each store: the registry's fake embedder is enough for
    tests of the plumbing, in milliseconds instead of the model's seconds."""
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "bread.md").write_text("# 빵\n\n사워도우 스타터를 키우는 법을 적어 둔다.\n", "utf-8")
    (posts / "faiss.md").write_text("# 검색\n\nFAISS는 벡터 검색 라이브러리다.\n", "utf-8")
    with Index(tmp_path / "ix", model="fake", vector_store=name) as ix:
        report = ix.add(posts)
        assert report.new == 2 and report.chunks_embedded == 2
        status = ix.status()
        assert status["embedder"] == "fake:hash-64@1" and status["dimension"] == 64
        assert status["vector_store"]["kind"] == name
        hit = ix.search("사워도우 스타터", k=1, mode="dense")[0]
        assert hit.path.endswith("bread.md")
        # the sentence evidence lives in SQLite beside the passage, whatever store holds the vectors
        assert [e.text for e in hit.evidence] == ["사워도우 스타터를 키우는 법을 적어 둔다."]
        assert hit.evidence[0].line_start == 3
    with Index(tmp_path / "ix") as reopened:  # the model is the index's own: fake again
        assert reopened.embedder.identity == "fake:hash-64@1"
        assert reopened.search("FAISS 벡터 검색", k=1, mode="dense")[0].path.endswith("faiss.md")
