"""Dense retrieval: the query's E5 vector against the FAISS index of chunk vectors."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss


def search(index: "faiss.Index", query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(chunk id, cosine) pairs, best first."""
    if index.ntotal == 0 or k <= 0:
        return []
    scores, ids = index.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), min(k, index.ntotal))
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]
