"""Any sentence-transformers model by name or local path (optional extra: it pulls torch).

E5 models get their `query: ` / `passage: ` prefixes automatically; other models take
prefixes from the caller (or none).
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np

from ..errors import EmbedsearchError
from .base import embed_sorted, normalise


def _array(value: object) -> np.ndarray:
    """A tensor or an array as float32 numpy (sentence-transformers returns tensors for some outputs)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().float().numpy()  # type: ignore[attr-defined]
    return np.asarray(value, dtype=np.float32)


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

    def embed_passages_with_parts(
        self, texts: Sequence[str], parts: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors as `embed_passages` gives them, and each part's (a character span: a
        sentence) as the mean of its tokens' output embeddings in the same run, found by the
        tokenizer's offsets: a sentence costs no second run, as with the bundled model
        (vectors/onnx_e5.py). A part past the model's window gets the passage's vector."""
        out_vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        out_parts: list[np.ndarray] = [np.zeros((0, self.dim), dtype=np.float32) for _ in texts]
        shift = len(self.passage_prefix)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = [self.passage_prefix + texts[i] for i in idx]
            outputs = self._model.encode(batch, batch_size=self.batch_size, output_value=None,
                                         convert_to_numpy=True, show_progress_bar=False)
            offsets = self._model.tokenizer(batch, return_offsets_mapping=True, truncation=True,
                                            max_length=self.max_tokens)["offset_mapping"]
            for i, output, spans in zip(idx, outputs, offsets):
                vector = normalise(_array(output["sentence_embedding"]))[0]
                out_vectors[i] = vector
                if not parts[i]:
                    continue
                tokens = _array(output["token_embeddings"])[: len(spans)]
                pooled = []
                for a, b in parts[i]:
                    rows = [t for t, (s, e) in enumerate(spans) if e > s and s >= a + shift and e <= b + shift]
                    pooled.append(tokens[rows].mean(axis=0) if rows else vector)
                out_parts[i] = normalise(np.stack(pooled))
            if progress:
                progress(len(idx))
        return out_vectors, out_parts

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return embed_sorted([self.query_prefix + t for t in texts], self._encode, self.dim, self.batch_size)
