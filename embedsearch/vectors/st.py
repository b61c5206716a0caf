"""Any sentence-transformers model by name or local path (optional extra: it pulls torch).

E5 models get their `query: ` / `passage: ` prefixes automatically; other models take
prefixes from the caller (or none).
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np

from ..errors import EmbedsearchError
from .base import embed_sorted


def default_prefixes(name: str) -> tuple[str, str]:
    """(query prefix, passage prefix) for a model name: E5 models were trained with them."""
    if "e5" in os.path.basename(name.rstrip("/")).lower():
        return "query: ", "passage: "
    return "", ""


class SentenceTransformerEmbedder:
    batch_size = 32

    def __init__(self, name: str, query_prefix: str | None = None, passage_prefix: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EmbedsearchError(
                f"model {name!r} needs sentence-transformers: pip install 'embedsearch[st]'"
            ) from None
        q, p = default_prefixes(name)
        self.query_prefix = q if query_prefix is None else query_prefix
        self.passage_prefix = p if passage_prefix is None else passage_prefix
        try:
            self._model = SentenceTransformer(name, device="cpu")
        except Exception as exc:  # OSError, ValueError, HF hub errors: all mean "can't load this model"
            raise EmbedsearchError(f"cannot load model {name!r}: {str(exc).splitlines()[0]}") from None
        self.name = name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.max_tokens = int(self._model.max_seq_length or 512)
        self.identity = f"st:{name}|q={self.query_prefix}|p={self.passage_prefix}"

    def count_tokens(self, text: str) -> int:
        ids = self._model.tokenizer(self.passage_prefix + text, add_special_tokens=True)["input_ids"]
        return len(ids)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        prefixed = [self.passage_prefix + t for t in texts]
        return embed_sorted(prefixed, self._encode, self.dim, self.batch_size, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return embed_sorted([self.query_prefix + t for t in texts], self._encode, self.dim, self.batch_size)
