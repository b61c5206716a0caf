"""FAISS at scale: exact (IndexFlatIP) against HNSW and IVF on synthetic 384-d unit vectors.

Answers two questions for `embedsearch/store/faiss_store.py`: from how many chunks is flat
search too slow, and which approximate index keeps recall@10 (against flat) near 1 there.

No public set of a million Korean E5 vectors is at hand, so the vectors are synthetic, of
two kinds that bracket real ones:
- "e5-fit": drawn from a Gaussian with the mean and covariance of real E5 vectors (passages
  from an index, queries embedded as queries). It has their anisotropy (all vectors share a
  large common direction) but none of their topical clusters: harder than real data.
- "mixture": n/100 Gaussian clusters (within-cluster cosine about 0.7): clusters as tidy as
  IVF could wish, so easier than real data.
Uniformly random vectors, the textbook worst case, are available as "uniform".
Queries are searched one at a time, as the CLI does.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

DIM = 384
BLOCK = 100_000  # vectors drawn at a time, to bound the peak memory


@dataclass
class Row:
    data: str
    n: int
    index: str
    params: str
    build_s: float
    p50_ms: float
    p95_ms: float
    recall_at_10: float
    memory_mb: float


def _draw(count: int, block: Callable[[int], np.ndarray]) -> np.ndarray:
    out = np.empty((count, DIM), dtype=np.float32)
    for start in range(0, count, BLOCK):
        x = block(min(BLOCK, count - start))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start : start + len(x)] = x
    return out


def mixture(n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(n // 100, 1), DIM), dtype=np.float32)

    def block(m: int) -> np.ndarray:
        return 0.65 * rng.standard_normal((m, DIM), dtype=np.float32) + centres[rng.integers(0, len(centres), m)]

    return _draw(n, block), _draw(n_queries, block)


def uniform(n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)

    def block(m: int) -> np.ndarray:
        return rng.standard_normal((m, DIM), dtype=np.float32)

    return _draw(n, block), _draw(n_queries, block)


def fitted(n: int, n_queries: int, passages: np.ndarray, queries: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draws from Gaussians with the mean and covariance of real passage and query vectors."""
    rng = np.random.default_rng(seed)

    def sampler(real: np.ndarray) -> Callable[[int], np.ndarray]:
        mean = real.mean(axis=0)
        root = np.linalg.cholesky(np.cov(real, rowvar=False) + 1e-6 * np.eye(DIM)).astype(np.float32)
        return lambda m: mean + rng.standard_normal((m, DIM), dtype=np.float32) @ root.T

    return _draw(n, sampler(passages)), _draw(n_queries, sampler(queries))


def latencies(search: Callable[[np.ndarray], Any], queries: np.ndarray) -> tuple[float, float]:
    """p50, p95 in ms of one-query searches (after one untimed warm-up)."""
    search(queries[:1])
    times = []
    for i in range(len(queries)):
        start = time.perf_counter()
        search(queries[i : i + 1])
        times.append(time.perf_counter() - start)
    p50, p95 = np.percentile(times, [50, 95]) * 1000
    return float(p50), float(p95)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def index_bytes(index: Any) -> float:
    import faiss

    if isinstance(index, NumpyFlat):
        return index.vectors.nbytes / 1e6
    return faiss.serialize_index(index).size / 1e6


def measure(data: str, index_name: str, params: str, build: Callable[[np.ndarray], Any], xb: np.ndarray,
            xq: np.ndarray, truth: np.ndarray, settings: list[Callable[[Any], str]] | None = None,
            log: Callable[[str], None] = print) -> list[Row]:
    """Build once, then for each search setting (a function that applies it and names it): one row."""
    start = time.perf_counter()
    index = build(xb)
    build_s = time.perf_counter() - start
    size = index_bytes(index)
    rows = []
    for apply in settings or [lambda _: ""]:
        extra = apply(index)
        p50, p95 = latencies(lambda q: index.search(q, 10), xq)
        row = Row(data, len(xb), index_name, " ".join(x for x in (params, extra) if x), build_s, p50, p95,
                  recall(index.search(xq, 10)[1], truth), size)
        rows.append(row)
        log(format_row(row))
    return rows


class NumpyFlat:
    """Exact search with one matrix product: what a small index could do without importing FAISS."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = queries @ self.vectors.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        ids = np.take_along_axis(top, order, axis=1)
        return np.take_along_axis(scores, ids, axis=1), ids


def ef_search(value: int) -> Callable[[Any], str]:
    """A setting for an HNSW index, bare or inside an IDMap (as the tool builds it)."""
    import faiss

    def apply(index: Any) -> str:
        inner = faiss.downcast_index(index.index) if hasattr(index, "id_map") else faiss.downcast_index(index)
        inner.hnsw.efSearch = value
        return f"efS={value}"

    return apply


def run(
    data: str,
    xb: np.ndarray,
    xq: np.ndarray,
    *,
    hnsw_m: tuple[int, ...] = (16, 32),
    ef_construction: int = 40,
    ef: tuple[int, ...] = (16, 32, 64, 128),
    nprobe: tuple[int, ...] = (8, 16, 32, 64),
    extra: dict[str, tuple[str, Callable[[np.ndarray], Any], tuple[int, ...]]] | None = None,
    log: Callable[[str], None] = print,
) -> list[Row]:
    """Flat, HNSW (each M, each efSearch), IVF (each nprobe), then `extra` HNSW builders
    (name -> (params, build, efSearch values)), all against flat's exact top 10."""
    import faiss

    def flat(x: np.ndarray) -> Any:
        index = faiss.IndexFlatIP(DIM)
        index.add(x)
        return index

    truth = flat(xb).search(xq, 10)[1]
    rows = measure(data, "flat", "", flat, xb, xq, truth, log=log)
    rows += measure(data, "numpy", "", NumpyFlat, xb, xq, truth, log=log)

    for m in hnsw_m:
        def hnsw(x: np.ndarray, m: int = m) -> Any:
            index = faiss.IndexHNSWFlat(DIM, m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            index.add(x)
            return index

        rows += measure(data, "hnsw", f"M={m} efC={ef_construction}", hnsw, xb, xq, truth,
                        [ef_search(v) for v in ef], log=log)

    if nprobe:
        nlist = int(4 * np.sqrt(len(xb)))

        def ivf(x: np.ndarray) -> Any:
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(x[np.random.default_rng(1).choice(len(x), min(len(x), 40 * nlist), replace=False)])
            index.add(x)
            return index

        def probe(value: int) -> Callable[[Any], str]:
            def apply(index: Any) -> str:
                index.nprobe = value
                return f"nprobe={value}"
            return apply

        rows += measure(data, "ivf", f"nlist={nlist}", ivf, xb, xq, truth, [probe(v) for v in nprobe], log=log)

    for name, (params, build, values) in (extra or {}).items():
        rows += measure(data, name, params, build, xb, xq, truth, [ef_search(v) for v in values], log=log)
    return rows


HEADER = f"{'data':8} {'n':>9} {'index':5} {'params':28} {'build s':>8} {'p50 ms':>7} {'p95 ms':>7} {'R@10':>6} {'MB':>6}"


def format_row(row: Row) -> str:
    return (
        f"{row.data:8} {row.n:>9,} {row.index:5} {row.params:28} {row.build_s:8.1f} {row.p50_ms:7.2f} "
        f"{row.p95_ms:7.2f} {row.recall_at_10:6.3f} {row.memory_mb:6.0f}"
    )


def as_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
