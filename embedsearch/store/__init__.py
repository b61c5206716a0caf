"""Stage 4: SQLite holds everything (documents, chunks, vectors, the FTS index); vector stores derive from it."""
from .database import Filter, Store, VectorRow
from .vector_store import VectorStore, open_store

__all__ = ["Filter", "Store", "VectorRow", "VectorStore", "open_store"]
