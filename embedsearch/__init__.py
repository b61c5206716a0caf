"""embedsearch: semantic search and question answering over your own posts and notes.

    from embedsearch import Index
    ix = Index()
    ix.add("posts")
    hits = ix.search("what is LLM?")

Every name is imported on first use (PEP 562): `import embedsearch` costs nothing, so the
command line's Ctrl-C handling (embedsearch._entry) is in place a few milliseconds after start.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS = {
    "Index": ".index",
    "EmbedsearchError": ".errors",
    "Answer": ".records",
    "Chunk": ".records",
    "Citation": ".records",
    "Document": ".records",
    "DocumentText": ".records",
    "Hit": ".records",
    "IndexReport": ".records",
    "Paragraph": ".records",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .errors import EmbedsearchError
    from .index import Index
    from .records import Answer, Chunk, Citation, Document, DocumentText, Hit, IndexReport, Paragraph


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
