"""Stage 4: SQLite holds everything (documents, chunks, vectors, the FTS index); vector stores derive from it.

Vector stores are found by name in `VECTOR_STORES` (FAISS, Milvus, and any an installed package
adds through the `embedsearch.vector_stores` entry-point group).
"""
from .database import Filter, Store, VectorRow
from .vector_store import VECTOR_STORES, VectorStore, open_store

__all__ = ["Filter", "Store", "VectorRow", "VectorStore", "VECTOR_STORES", "open_store"]
