"""The FAISS index: derived from the vectors in SQLite, never the source of truth.

It is written to a temp file and renamed into place under a name that carries the SQLite
generation it was built from, so a reader always finds either a complete index that matches the
database or none (and then builds one from SQLite).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss

# Exact search up to this many vectors: it stays interactive (p50 75 ms at 1M, 2 cores), and the
# index is rebuilt after every changing `index` run, where HNSW's build (342 s at 1M) would land
# on each one-paragraph edit. Approximate recall on E5-like vectors was also weak (1M vectors
# with e5-small's spread: HNSW efSearch=128 recall@10 0.46; IVF nprobe=64 0.48; real, clustered
# data does better). `python benchmarks/run.py --scale` measures it.
HNSW_THRESHOLD = 2_000_000
HNSW_M = 32
HNSW_EF_SEARCH = 256
HNSW_EF_CONSTRUCTION = 80


def choose_kind(n: int) -> str:
    return "hnsw" if n >= HNSW_THRESHOLD else "flat"


def build(vectors: np.ndarray, ids: np.ndarray, kind: str | None = None) -> "faiss.Index":
    """An inner-product index over L2-normalised vectors, keyed by chunk id."""
    import faiss

    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[0] else 0
    kind = kind or choose_kind(len(ids))
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        inner = faiss.IndexFlatIP(dim)
    index = faiss.IndexIDMap2(inner)
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    return index


def path_for(directory: Path, generation: int) -> Path:
    return directory / f"vectors.{generation}.faiss"


def load(directory: Path, generation: int) -> "faiss.Index | None":
    path = path_for(directory, generation)
    if not path.exists():
        return None
    import faiss

    try:
        return faiss.read_index(str(path))
    except RuntimeError:  # a damaged file is rebuilt from SQLite
        return None


def save(index: "faiss.Index", directory: Path, generation: int) -> Path:
    """Atomically write the index for `generation` and remove older ones."""
    import faiss

    target = path_for(directory, generation)
    fd, tmp = tempfile.mkstemp(prefix=".vectors.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        faiss.write_index(index, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in directory.glob("vectors.*.faiss"):
        if old != target:
            old.unlink(missing_ok=True)
    return target
