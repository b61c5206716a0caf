"""A hashing embedder for tests: `Index(path, model="fake")`, `--model fake`.

Every word and every pair of adjacent characters inside a word is hashed (BLAKE2b, so the same
in every process) into one of `dim` signed buckets, and the sum is L2-normalised. Texts that
share words get a positive cosine, so a search for a word finds the passage holding it, which is
all a test of the plumbing (stores, the walk, the index) needs; nothing here is semantic. It
embeds a thousand short passages in a few milliseconds where the bundled model takes seconds,
and loads nothing.
"""
from __future__ import annotations

import hashlib
import re
from typing import Callable, Sequence

import numpy as np

from .base import normalise

_TOKEN = re.compile(r"\w+|[^\w\s]")


class HashEmbedder:
    """The Embedder interface (vectors/base.py) over feature hashing."""

    def __init__(self, dim: int = 64, max_tokens: int = 512) -> None:
        self.dim = dim
        self.max_tokens = max_tokens
        self.identity = f"fake:hash-{dim}@1"

    def count_tokens(self, text: str) -> int:
        """One token per word or punctuation mark, plus two as a model's specials."""
        return len(_TOKEN.findall(text)) + 2

    def _vector(self, text: str) -> np.ndarray:
        out = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            features = [word] + [word[i : i + 2] for i in range(len(word) - 1)]
            for feature in features:
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                out[bucket] += 1.0 if digest[4] & 1 else -1.0
        if not out.any():
            out[0] = 1.0  # no words: one fixed direction, never a zero vector
        return out

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(np.stack([self._vector(t) for t in texts]))

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        vectors = self._embed(texts)
        if progress:
            progress(len(texts))
        return vectors

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)
