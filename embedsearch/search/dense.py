"""Dense retrieval: the query's E5 vector against the FAISS index of chunk vectors."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    import faiss


def search(
    index: "faiss.Index", query_vector: np.ndarray, k: int, allowed: Sequence[int] | None = None
) -> list[tuple[int, float]]:
    """(chunk id, cosine) pairs, best first; only chunks in `allowed` when it is given (filters)."""
    if index.ntotal == 0 or k <= 0 or (allowed is not None and not len(allowed)):
        return []
    params = None
    if allowed is not None:
        import faiss

        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
    query = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
    scores, ids = index.search(query, min(k, index.ntotal), params=params)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]
