"""Retrieval-augmented answers with citations, from passages a search returned: `ask(question, hits)`.

    from embedsearch import Index
    from embedsearch.answer import ask, LLMConfig

    with Index() as ix:
        question = "LLM이 뭐야?"
        answer = ask(question, ix.search(question), llm=LLMConfig(url="http://localhost:11434/v1"))
        print(answer.text)
        for c in answer.citations:
            print(c.number, c.location)

(`Index.ask` does the search and this in one call.)

Names are imported on first use (PEP 562), so `embedsearch --help` does not pay for httpx,
Jinja2 and llama.cpp.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backends import LLM, open_llm
    from .citations import citations_for, cited_numbers
    from .config import LLMConfig, config_path, resolve_config
    from .pipeline import AskStream, Prepared, ask, ask_stream, generate, prepare
    from .prompt import DEFAULT_TEMPLATE, PLACEHOLDERS, load_template

_EXPORTS = {
    "LLM": ".backends",
    "open_llm": ".backends",
    "citations_for": ".citations",
    "cited_numbers": ".citations",
    "LLMConfig": ".config",
    "config_path": ".config",
    "resolve_config": ".config",
    "AskStream": ".pipeline",
    "Prepared": ".pipeline",
    "ask": ".pipeline",
    "ask_stream": ".pipeline",
    "generate": ".pipeline",
    "prepare": ".pipeline",
    "DEFAULT_TEMPLATE": ".prompt",
    "PLACEHOLDERS": ".prompt",
    "load_template": ".prompt",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
