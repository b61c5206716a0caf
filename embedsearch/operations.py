"""What every front end does, one call each: search, ask, read a document, status.

The CLI, the HTTP server, the MCP server and the watcher are parse -> operation -> render: each
turns its input (flags, a query string, JSON, tool arguments) into one of the requests below,
calls one function here, and renders the result with `views`. They import only this module,
`views`, `errors` and `records` from the library (tests/test_architecture.py checks), so a
filter, a limit or the loop that writes an answer exists once: before this module the filters
were declared three times with three k limits (1,000, 50, none) and the ask loop written five
times.

    from embedsearch import operations as ops

    with ops.open_index() as ix:
        for hit in ops.search(ix, ops.SearchRequest("LLM이 뭐야?", k=3)):
            print(hit.location)
        with ops.ask(ix, ops.AskRequest("LLM이 뭐야?")) as stream:
            for piece in stream:
                print(piece, end="")
            print(stream.answer.citations)

Names other than the operations themselves (Index, LLMConfig, ...) are re-exported here, so a
front end has one place to import from.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EmbedsearchError
from .records import DocumentText, Hit
from .search import DEFAULT_MODE, KINDS, MAX_K, MODES  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from .index import Index, Interrupted  # noqa: F401
    from .settings import Settings  # noqa: F401
    from .answer import LLM, AskStream, LLMConfig  # noqa: F401
    from .answer.backends import choose_backend, concurrency as llm_concurrency  # noqa: F401
    from .answer.config import ENV_VARS as LLM_ENV_VARS  # noqa: F401
    from .config import config_path  # noqa: F401
    from .evaluate.runner import EvalResult, run as run_eval  # noqa: F401

DEFAULT_K = 5

# Re-exported on first use (PEP 562): `embedsearch --help` and a cold search don't import them.
_LAZY = {
    "Index": (".index", "Index"),
    "Settings": (".settings", "Settings"),
    "Interrupted": (".index", "Interrupted"),
    "AskStream": (".answer", "AskStream"),
    "LLMConfig": (".answer", "LLMConfig"),
    "LLM_ENV_VARS": (".answer.config", "ENV_VARS"),
    "choose_backend": (".answer.backends", "choose_backend"),
    "llm_concurrency": (".answer.backends", "concurrency"),
    "config_path": (".config", "config_path"),
    "run_eval": (".evaluate.runner", "run"),
    "EvalResult": (".evaluate.runner", "EvalResult"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    return getattr(importlib.import_module(module, __package__), attr)


@dataclass(frozen=True)
class SearchRequest:
    """A search as every front end asks it: the query, how many passages, the mode and the filters.

    Empty strings (an HTML form's blank field, an agent's "") mean "no filter". The limits are
    the search engine's (k from 1 to `MAX_K`); they are checked there, once, for everyone.
    """

    query: str
    k: int = DEFAULT_K
    mode: str | None = None
    min_score: float | None = None
    path: str | None = None
    tag: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        for name in ("mode", "path", "tag", "kind"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)

    def filters(self) -> dict[str, Any]:
        """`Index.search`'s keyword arguments besides the query and k."""
        return {"mode": self.mode, "min_score": self.min_score, "path": self.path, "tag": self.tag,
                "kind": self.kind}


@dataclass(frozen=True)
class AskRequest(SearchRequest):
    """A question: retrieval as `SearchRequest`, then how to answer.

    `answer_anyway`: ask the LLM even when no passage looks relevant. `check`: check an LLM's
    sentences against the passages they cite. `template`: a Jinja2 prompt file.
    """

    answer_anyway: bool = False
    check: bool = True
    template: str | os.PathLike[str] | None = None

    @property
    def question(self) -> str:
        return self.query


def open_index(settings: "Settings | str | os.PathLike[str] | None" = None, model: str | None = None,
               **kwargs: Any) -> "Index":
    """The index the settings name, opened with their model, vector store and engine; or, as
    `Index(path, model=...)`, with the rest resolved from the environment and the config file."""
    from .index import Index
    from .settings import Settings

    if isinstance(settings, Settings):
        return Index(settings.index, **{**settings.index_options(), **kwargs})
    return Index(settings, model=model, **kwargs)


def search(index: "Index", request: SearchRequest) -> list[Hit]:
    """The passages for `request`, best first."""
    return index.search(request.query, request.k, **request.filters())


def nothing_relevant(hits: list[Hit]) -> bool:
    """Hybrid search's relevance signal backs none of the hits (they are only the nearest)."""
    return bool(hits) and all(hit.relevant is False for hit in hits)


def ask(index: "Index", request: AskRequest, llm: "LLMConfig | LLM | None" = None) -> "AskStream":
    """Retrieve and fill the prompt now (errors in the request surface here, before any streaming),
    and return the answer as a stream to iterate (`AskStream`).

    `llm=None` resolves the LLM from the environment and the config file; a front end that was
    given settings resolves them once (`answer.resolve_config`) and passes the config here.
    """
    from .answer import AskStream

    prepared = index.prepare_answer(request.query, k=request.k, template=request.template, llm=llm,
                                    decline=not request.answer_anyway, **request.filters())
    prepared.check = request.check
    return AskStream(prepared)


def read_document(index: "Index", location: str, line_start: int | None = None,
                  line_end: int | None = None) -> DocumentText:
    """A document, or some of its lines: `location` is a path as search shows it (or a unique tail
    of it), optionally with ':LINE' or ':START-END' (`views.parse_location`) when no lines are given."""
    from .views import parse_location

    if not location.strip():
        raise EmbedsearchError("empty path: give a document path as search shows it, e.g. 'posts/llm.md:25-31'")
    path = location
    if line_start is None and line_end is None:
        path, line_start, line_end = parse_location(location)
    if line_start is None and line_end is not None:
        line_start = 1
    return index.get(path, line_start, line_end)


def status(index: "Index", *, vectors: bool = True) -> dict[str, Any]:
    """What the index holds (`Index.status`), with the vector store's own account unless `vectors`
    is false (that loads the vectors: a server asks once they are loaded anyway)."""
    info = index.status()
    if vectors:
        info["vector_store"].update(index.vector_status())
    return info


def llm_config(**settings: Any) -> "LLMConfig":
    """The LLM settings: `settings` (flags) over the environment over the config file, resolved once."""
    from .answer import resolve_config

    return resolve_config(**settings)


def readable_suffixes() -> frozenset[str]:
    """The file suffixes some registered reader reads, as of now (a reader registered later counts)."""
    from . import files

    return frozenset(files.SUFFIXES)


def config_path_for_help() -> str:
    """The config file's path as help texts show it (~ for the home directory)."""
    from . import config

    return str(config.config_path()).replace(str(Path.home()), "~", 1)
