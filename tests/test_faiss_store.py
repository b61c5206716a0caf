"""FaissStore in place, with each index kind: exact (flat) below the threshold, IVF above it.

Real SQLite and FAISS. The threshold is lowered so that a few thousand 32-d vectors cross it in
seconds; the vectors are clustered (a few dozen topics), as real E5 vectors are.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedsearch.records import Chunk, Document
from embedsearch.store import Filter, Store
from embedsearch.store import faiss_store
from embedsearch.store.faiss_store import FaissStore, kind_of

DIM = 32
THRESHOLD = 2_000


@pytest.fixture(autouse=True)
def _small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faiss_store, "IVF_THRESHOLD", THRESHOLD)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class Corpus:
    """Documents of one chunk each in a real index database; vector i is kept for checking."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.db = Store(directory)
        self.db.create(vector_store="faiss")
        rng = np.random.default_rng(0)
        self.centres = unit(rng.standard_normal((40, DIM)))
        self.rng = rng
        self.vectors: dict[int, np.ndarray] = {}  # chunk id -> vector
        self.doc_of: dict[int, int] = {}  # chunk id -> document id
        self.n = 0

    def vector(self) -> np.ndarray:
        centre = self.centres[self.rng.integers(len(self.centres))]
        return unit(centre + 0.15 * self.rng.standard_normal(DIM).astype(np.float32))

    def add(self, count: int) -> list[int]:
        added = []
        with self.db.transaction():
            for _ in range(count):
                i, self.n = self.n, self.n + 1
                folder = "notes" if i % 3 == 0 else "posts"
                doc = Document(path=f"/home/me/{folder}/p{i}.md", text=f"t{i}", content_hash=f"h{i}", mtime=0.0,
                               title=f"p{i}", front_matter={"tags": ["even"] if i % 2 == 0 else ["odd"]})
                chunk = Chunk(text=f"t{i}", heading="", line_start=1, line_end=1, token_count=3, content_hash=f"c{i}",
                              kind="code" if i % 7 == 0 else "prose")
                v = self.vector()
                (cid,) = self.db.replace_document(doc, "test", [chunk], [(v.tobytes(), b"")])
                self.vectors[cid] = v
                self.doc_of[cid] = self.db.document(doc.path)["id"]
                added.append(cid)
        return added

    def remove(self, ids: list[int]) -> None:
        with self.db.transaction():
            self.db.delete_documents([self.doc_of.pop(i) for i in ids])
        for i in ids:
            del self.vectors[i]

    def exact(self, query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[int]:
        ids = [i for i in self.vectors if allowed is None or i in allowed]
        scores = np.stack([self.vectors[i] for i in ids]) @ query
        return [ids[j] for j in np.argsort(-scores, kind="stable")[:k]]

    def store(self) -> FaissStore:
        """A store as a fresh process opens it: the newest file, then the log."""
        store = FaissStore(self.db, DIM)
        store.load()
        store.sync()
        return store


def recall(store: FaissStore, corpus: Corpus, queries: np.ndarray, flt: Filter | None = None,
           allowed: set[int] | None = None) -> float:
    found = 0
    for q in queries:
        got = {i for i, _ in store.search(q, 10, flt)}
        found += len(got & set(corpus.exact(q, 10, allowed)))
    return found / (10 * len(queries))


def test_a_store_crossing_the_threshold_switches_to_ivf_once(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path)
    corpus.add(THRESHOLD - 100)
    store = corpus.store()
    store.persist()
    assert kind_of(store.index) == "flat" and store.stats["switches"] == 0

    corpus.add(150)  # past the threshold: in place until the writer persists, then switched once
    store.sync()
    assert kind_of(store.index) == "flat" and store.persist_due()
    store.persist()
    assert kind_of(store.index) == "ivf" and store.stats["switches"] == 1
    assert store.index.nlist == faiss_store.ivf_nlist(THRESHOLD + 50) and store.count() == THRESHOLD + 50
    assert store.describe()["index"] == "ivf" and store.stats["rebuilds"] == 1  # the first build only

    for _ in range(3):  # later runs just under and over the threshold keep the kind: no flapping
        corpus.remove(list(corpus.vectors)[:100])
        store.sync()
        store.persist()
        corpus.add(100)
        store.sync()
        store.persist()
    assert kind_of(store.index) == "ivf" and store.stats["switches"] == 1 and not store.persist_due()

    queries = unit(corpus.centres[:20] + 0.3 * corpus.rng.standard_normal((20, DIM)).astype(np.float32))
    assert recall(store, corpus, queries) >= 0.9

    corpus.remove(list(corpus.vectors)[: int(THRESHOLD * 0.6)])  # below half the threshold: exact again
    store.sync()
    store.persist()
    assert kind_of(store.index) == "flat" and store.stats["switches"] == 2
    assert recall(store, corpus, queries) == 1.0


def test_ivf_adds_and_removes_in_place(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path)
    corpus.add(THRESHOLD + 500)
    store = corpus.store()
    assert kind_of(store.index) == "ivf" and store.stats["switches"] == 1  # built from SQLite as IVF
    store.persist()

    gone = list(corpus.vectors)[:50]
    gone_vectors = [corpus.vectors[i] for i in gone]
    corpus.remove(gone)
    new = corpus.add(30)
    assert store.sync()
    assert store.stats["rebuilds"] == 1 and store.stats["switches"] == 1  # in place: no second build
    assert store.stats["deleted"] >= 50 and store.count() == THRESHOLD + 480
    for cid in new:  # each new vector is found as its own nearest neighbour
        (top, score), *_ = store.search(corpus.vectors[cid], 3)
        assert top == cid and score == pytest.approx(1.0, abs=1e-5)
    for v in gone_vectors:
        assert not {i for i, _ in store.search(v, 10)} & set(gone)


def test_filters_on_ivf_return_what_exact_search_over_the_passing_chunks_returns(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path)
    corpus.add(THRESHOLD + 500)
    store = corpus.store()
    assert kind_of(store.index) == "ivf"
    queries = unit(corpus.centres[:15] + 0.3 * corpus.rng.standard_normal((15, DIM)).astype(np.float32))
    for flt in (Filter(path="notes/*"), Filter(tag="even"), Filter(kind="code"), Filter(path="*.md", tag="odd")):
        allowed = set(corpus.db.chunk_ids(flt))
        assert 0 < len(allowed) < len(corpus.vectors)
        for q in queries:
            assert {i for i, _ in store.search(q, 10, flt)} <= allowed
        # the fewer chunks pass, the more lists are probed
        assert recall(store, corpus, queries, flt, allowed) >= 0.9, flt


def test_a_persisted_ivf_reloads_and_replays_the_log(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path)
    corpus.add(THRESHOLD + 200)
    writer = corpus.store()
    writer.persist()
    files = writer.files()
    assert len(files) == 1 and files[0][0] == writer.seq

    removed = list(corpus.vectors)[10:20]
    corpus.remove(removed)
    added = corpus.add(5)  # committed to SQLite, not persisted by any FAISS file yet

    reader = corpus.store()  # loads the file, replays the 15 changes after it
    assert kind_of(reader.index) == "ivf" and reader.stats["rebuilds"] == 0 and reader.stats["switches"] == 0
    assert reader.stats["deleted"] == 15 and reader.stats["upserted"] == 5
    assert reader.count() == THRESHOLD + 195 and reader.index.nprobe == faiss_store.IVF_NPROBE
    query = corpus.vectors[added[0]]
    assert reader.search(query, 1)[0][0] == added[0]
    assert not set(dict(reader.search(query, 50))) & set(removed)
    writer.sync()
    assert reader.search(query, 10) == writer.search(query, 10)


def test_a_reader_adopts_the_file_a_writer_switched(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path)
    corpus.add(THRESHOLD - 10)
    writer = corpus.store()
    writer.persist()
    reader = corpus.store()
    assert kind_of(reader.index) == "flat"

    corpus.add(40)
    writer.sync()
    writer.persist()  # switched and saved
    assert kind_of(writer.index) == "ivf"
    reader.sync()  # behind the pruned log: it loads the writer's file instead of rebuilding
    assert kind_of(reader.index) == "ivf" and reader.seq == writer.seq
    assert reader.stats["switches"] == 0 and reader.stats["rebuilds"] == 0


def test_ivf_grown_fourfold_is_retrained_with_more_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faiss_store, "IVF_THRESHOLD", 500)
    corpus = Corpus(tmp_path)
    corpus.add(600)
    store = corpus.store()
    store.persist()
    first = store.index.nlist
    corpus.add(900)  # 2.5x: same lists
    store.sync()
    assert not store.persist_due()
    store.persist()
    assert store.index.nlist == first and store.stats["switches"] == 1
    corpus.add(1_400)  # ~5x the size it was trained at: nlist doubles, trained again once
    store.sync()
    store.persist()
    assert store.index.nlist == 2 * first and store.stats["switches"] == 2 and store.count() == 2_900


def test_build_picks_the_kind_by_size() -> None:
    assert faiss_store.choose_kind(THRESHOLD - 1) == "flat" and faiss_store.choose_kind(THRESHOLD) == "ivf"
    rng = np.random.default_rng(1)
    vectors = unit(rng.standard_normal((3_000, DIM)).astype(np.float32))
    index = faiss_store.build(vectors, np.arange(100, 3_100))
    assert kind_of(index) == "ivf" and index.ntotal == 3_000
    _, ids = index.search(vectors[:1], 1)
    assert ids[0][0] == 100
    back, back_ids = faiss_store.contents(index)
    order = np.argsort(back_ids)
    assert np.array_equal(back_ids[order], np.arange(100, 3_100)) and np.allclose(back[order], vectors)


def test_an_index_past_the_threshold_searches_and_edits_in_place(small_posts: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Through Index: the indexer's sync and persist switch the store once; an edit stays in place."""
    from embedsearch import Index

    monkeypatch.setattr(faiss_store, "IVF_THRESHOLD", 4)
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
        assert kind_of(ix.vectors.index) == "ivf" and ix.vectors.stats["switches"] == 1
        assert "Dutch oven" in ix.search("How hot is the oven for the bread?", k=1, mode="dense")[0].text
        memo = small_posts / "notes" / "memo.txt"
        memo.write_text(memo.read_text("utf-8") + "\nHNSW는 그래프 기반의 근사 최근접 이웃 탐색 방법입니다.\n", "utf-8")
        ix.add(small_posts)
        assert ix.vectors.stats["switches"] == 1 and ix.vectors.stats["rebuilds"] <= 1
    with Index(tmp_path / "ix") as reader:  # a fresh process: the IVF file, then the log
        hit = reader.search("그래프 기반 근사 최근접 이웃", k=1, mode="dense")[0]
        assert "HNSW" in hit.text and kind_of(reader.vectors.index) == "ivf"


def test_a_writer_gets_the_lock_while_searches_overlap_without_a_gap() -> None:
    """Four searchers whose read locks always overlap (each holds 20 ms, staggered by 5 ms) must
    not keep a writer (the watcher's update, a sync) waiting: a waiting writer holds off new
    readers. A lock that lets readers in whenever no writer holds it fails this."""
    import threading
    import time

    from embedsearch.store.vector_store import RWLock

    lock = RWLock()
    stop = threading.Event()

    def searcher(delay: float) -> None:
        time.sleep(delay)
        while not stop.is_set():
            with lock.read():
                time.sleep(0.02)

    threads = [threading.Thread(target=searcher, args=(i * 0.005,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    got = threading.Event()

    def writer() -> None:
        with lock.write():
            got.set()

    started = time.monotonic()
    threading.Thread(target=writer, daemon=True).start()
    try:
        assert got.wait(3.0), "the writer waited as long as the searches went on"
        assert time.monotonic() - started < 1.0
    finally:
        stop.set()
        for t in threads:
            t.join(2)
