"""embedsearch: semantic search and question answering over your own posts and notes.

    from embedsearch import Index
    ix = Index()
    ix.add("posts")
    hits = ix.search("what is LLM?")
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import EmbedsearchError
from .records import Answer, Chunk, Citation, Document, Hit, IndexReport, Paragraph

__version__ = "0.1.0"
__all__ = ["Index", "EmbedsearchError", "Answer", "Chunk", "Citation", "Document", "Hit", "IndexReport", "Paragraph"]

if TYPE_CHECKING:
    from .index import Index


def __getattr__(name: str) -> Any:
    # Imported lazily so `import embedsearch` (and the CLI's --help) stays fast.
    if name == "Index":
        from .index import Index

        return Index
    raise AttributeError(name)
