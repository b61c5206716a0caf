"""Run a BEIR data set through embedsearch: index its corpus, search every query, score the rankings.

The corpus goes through `Index.add_documents`, the same chunking and embedding as
`embedsearch index`, so the figures describe the tool as shipped. Its index is cached under
the user cache directory, keyed by the corpus file's hash and the model, and brought up to
date incrementally, so a second run embeds nothing and only searches.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import EmbedsearchError
from ..records import Document, IndexReport
from . import beir
from .metrics import dedupe, evaluate, latency_summary

if TYPE_CHECKING:
    from ..index import Index, Progress  # Progress: (phase, done, total, detail); eval adds the phase "query"

# Every document of a data set is stored under this prefix: a later data set in the same
# `--index` replaces it rather than mixing with it.
SOURCE = "beir:"
DEPTH = 100  # results fetched per query: enough for Recall@100


@dataclass
class EvalResult:
    dataset: str
    model: str  # the embedder identity the index was built and searched with
    index: str
    queries: int
    documents: int
    chunks: int
    k: int
    mode: str
    metrics: dict[str, float]
    latency: dict[str, float]  # per query through Index.search, warm: p50_ms, p95_ms
    index_reused: bool  # no document was added, changed or removed
    index_seconds: float
    query_seconds: float
    report: dict[str, Any]  # the IndexReport of bringing the index up to date

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cache_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("embedsearch")) / "eval"


def cache_dir(corpus_hash: str, model: str | None) -> Path:
    """Where the index for this corpus and model lives; the embedder identity is checked on open."""
    from ..vectors import DEFAULT_MODEL, is_bundled

    name = DEFAULT_MODEL if is_bundled(model) else str(model)
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(name.rstrip("/")))[:40]
    key = hashlib.blake2b(f"{corpus_hash}\0{name}".encode(), digest_size=8).hexdigest()
    return cache_root() / f"{corpus_hash[:12]}-{slug}-{key}"


def documents(data: beir.BeirSet) -> Iterator[Document]:
    """The corpus as Documents whose path is `beir:<_id>`, text chunked as plain text.

    The content hash is left for `Index.add_documents` to compute (over title and text).
    """
    for doc in data.corpus():
        yield Document(path=SOURCE + doc.id, text=doc.text, content_hash="", mtime=0.0, title=doc.title)


def prepare_index(
    data: beir.BeirSet,
    *,
    model: str | None = None,
    index_path: Path | None = None,
    progress: Progress | None = None,
    engine: str | None = None,
) -> tuple["Index", IndexReport]:
    """Open the index of the data set's corpus and bring it up to date.

    `add_documents` is incremental: on a second run every document is unchanged and nothing is
    embedded, while a new chunker or search feature still updates the index. A cached index
    from another version of the embedder is rebuilt; one given with --index is the user's, so
    its ModelMismatchError stands.
    """
    from ..index import Index

    cached = index_path is None
    path = cache_dir(data.corpus_hash(), model) if cached else Path(index_path)  # type: ignore[arg-type]
    ix = Index(path, model=model, create=True, engine=engine)
    try:
        stored = ix.status()["embedder"]
        rebuild = cached and bool(stored) and stored != ix.embedder.identity
        return ix, ix.add_documents(documents(data), SOURCE, rebuild=rebuild, progress=progress)
    except BaseException:
        ix.close()
        raise


def run(
    dataset: Path,
    *,
    model: str | None = None,
    index_path: Path | None = None,
    k: int = 10,
    limit: int | None = None,
    mode: str | None = None,
    progress: Progress | None = None,
    engine: str | None = None,
) -> EvalResult:
    """Index (or reuse), search every judged query, and return the scores and latencies.

    `mode` is Index.search's: None means its default.
    """
    from ..search import DEFAULT_MODE

    if k < 1:
        raise EmbedsearchError("k must be at least 1")
    if limit is not None and limit < 1:
        raise EmbedsearchError("--limit must be at least 1")
    data = beir.load(Path(dataset))
    queries = list(data.queries.items())[:limit]

    started = time.perf_counter()
    ix, report = prepare_index(data, model=model, index_path=index_path, progress=progress, engine=engine)
    index_seconds = time.perf_counter() - started
    try:
        status = ix.status()
        if not status["chunks"]:
            raise EmbedsearchError(f"{data.corpus_path}: no document has any text to index")
        depth = max(DEPTH, k)
        ix.search(queries[0][1], k=depth, mode=mode)  # warm-up: load FAISS and the model
        rankings: dict[str, list[str]] = {}
        seconds: list[float] = []
        started = time.perf_counter()
        for n, (query_id, text) in enumerate(queries, 1):
            t0 = time.perf_counter()
            hits = ix.search(text, k=depth, mode=mode)
            seconds.append(time.perf_counter() - t0)
            rankings[query_id] = dedupe([h.path.removeprefix(SOURCE) for h in hits])
            if progress:
                progress("query", n, len(queries), "")
        query_seconds = time.perf_counter() - started
        identity = ix.embedder.identity
    finally:
        ix.close()

    return EvalResult(
        dataset=str(data.path),
        model=identity,
        index=str(ix.path),
        queries=len(queries),
        documents=status["documents"],
        chunks=status["chunks"],
        k=k,
        mode=mode or DEFAULT_MODE,
        metrics=evaluate(rankings, data.qrels, k),
        latency=latency_summary(seconds),
        index_reused=not (report.new or report.changed or report.removed),
        index_seconds=index_seconds,
        query_seconds=query_seconds,
        report={**asdict(report), "tokens_per_second": report.tokens_per_second},
    )
