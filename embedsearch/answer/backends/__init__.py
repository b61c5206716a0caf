"""LLM backends, and the choice between them."""
from __future__ import annotations

from pathlib import Path

from ...errors import EmbedsearchError
from ..config import LLMConfig
from .base import LLM, estimate_tokens
from .extractive import ExtractiveAnswerer
from .llama import LlamaBackend, default_model_available, llama_available
from .openai import OpenAIBackend

__all__ = ["LLM", "ExtractiveAnswerer", "LlamaBackend", "OpenAIBackend", "choose_backend", "estimate_tokens", "open_llm"]


def choose_backend(config: LLMConfig) -> str:
    """'openai', 'llama', 'extractive' or 'none' for a config whose backend may be 'auto'.

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


def open_llm(config: LLMConfig) -> LLM | None:
    """The backend for `config`, or None when no LLM is configured (or `backend = "none"`)."""
    backend = choose_backend(config)
    if backend == "openai":
        return OpenAIBackend(config)
    if backend == "llama":
        if not llama_available():
            raise EmbedsearchError("the llama backend needs llama-cpp-python: pip install 'embedsearch[llm]'")
        return LlamaBackend(config)
    if backend == "extractive":
        return ExtractiveAnswerer()
    return None
