"""LLM backends, and the choice between them.

Backends are found by name in `LLM_BACKENDS` (embedsearch/registry.py): "openai", "llama",
"extractive", "none", and any an installed package adds through the entry-point group
`embedsearch.llm_backends`. A backend is a factory `(LLMConfig) -> LLM | None`, named by a
"module:attr" string so that only the one in use is imported (`ask` with the extractive backend
does not import httpx).
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ...errors import EmbedsearchError
from ...registry import Registry
from ..config import LLMConfig
from .base import LLM, estimate_tokens

if TYPE_CHECKING:
    from .extractive import ExtractiveAnswerer
    from .llama import LlamaBackend, default_model_available, llama_available
    from .openai import OpenAIBackend

__all__ = ["LLM", "LLM_BACKENDS", "ExtractiveAnswerer", "LlamaBackend", "OpenAIBackend", "choose_backend",
           "estimate_tokens", "open_llm"]

LLM_BACKENDS: "Registry[Callable[[LLMConfig], LLM | None]]" = Registry("LLM backend", "embedsearch.llm_backends")

_LAZY = {"ExtractiveAnswerer": ".extractive", "LlamaBackend": ".llama", "OpenAIBackend": ".openai",
         "default_model_available": ".llama", "llama_available": ".llama"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


def choose_backend(config: LLMConfig) -> str:
    """A registered backend's name ('openai', 'llama', 'extractive', 'none', ...) for a config
    whose backend may be 'auto'.

    auto: a URL means a server; else a .gguf model means llama.cpp; else extractive (the posts'
    own sentences). The packaged Gemma 3 270M is a base model that writes junk answers, so it
    is used only when asked for (backend llama with no model); none shows the prompt only.
    """
    if config.backend != "auto":
        return config.backend
    if config.url:
        return "openai"
    if config.model:
        if config.model.lower().endswith(".gguf") or Path(config.model).expanduser().is_file():
            return "llama"
        raise EmbedsearchError(
            f"LLM model {config.model!r} needs a server URL (--llm-url) or must be a .gguf file"
        )
    return "extractive"


def concurrency(config: LLMConfig, default: int) -> int:
    """How many answers the config's backend may write at once: its registered `concurrency`
    (1 for llama.cpp in this process), else `default` (a server queues requests itself)."""
    entry = LLM_BACKENDS.entry(choose_backend(config))
    return int(entry.meta.get("concurrency", default)) if entry is not None else default


def open_llm(config: LLMConfig) -> LLM | None:
    """The backend for `config`, or None when no LLM is configured (or `backend = "none"`)."""
    return LLM_BACKENDS.get(choose_backend(config))(config)


def open_llama(config: LLMConfig) -> "LlamaBackend":
    from .llama import LlamaBackend, llama_available

    if not llama_available():
        raise EmbedsearchError("the llama backend needs llama-cpp-python: pip install 'embedsearch[llm]'")
    return LlamaBackend(config)


def open_extractive(config: LLMConfig) -> "ExtractiveAnswerer":
    from .extractive import ExtractiveAnswerer

    return ExtractiveAnswerer()


def open_none(config: LLMConfig) -> None:
    return None


LLM_BACKENDS.register("openai", "embedsearch.answer.backends.openai:OpenAIBackend")
# One model and one context in this process: two answers at once would corrupt each other.
LLM_BACKENDS.register("llama", open_llama, concurrency=1)
LLM_BACKENDS.register("extractive", open_extractive)
LLM_BACKENDS.register("none", open_none)
