"""Stage 4: SQLite holds everything; FAISS is a derived index rebuilt from it."""
from .database import Store

__all__ = ["Store"]
