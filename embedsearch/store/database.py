"""The SQLite database: the one source of truth for documents, chunks, their vectors and the FTS index.

Three promises the rest of the package builds on:

- **An index directory is usable or cleanly absent at every instant.** The whole schema and its
  meta rows are created in one transaction, so a kill during creation leaves a database with no
  tables, which reads as "no index yet" and is finished by the next writer. (Created one
  statement at a time, 3 of 10 kills during creation left an index no command could repair.)
- **Every change to a chunk is logged in the same transaction** (`vector_log`: a sequence number
  and the chunk id). Vector stores are derived from SQLite and catch up by replaying the log
  since the sequence number they reflect, so an edit to one paragraph updates a vector store in
  place instead of rebuilding it. `head_seq()` is the database's position in that log.
- **Readers always see a consistent state while a writer commits.** Each thread has its own
  connection (a server searches from many threads while a watcher writes); WAL mode lets reads
  go on during a write, and `snapshot()` pins one consistent view for a whole search.

A database on a read-only directory or mount opens read-only (`mode=ro`, or `immutable=1` when
SQLite cannot even create its shared-memory file there): a read-only copy of an index searches
like a writable one. Writers checkpoint the WAL when they finish, so the main file is complete.

`Store` is one object (one per index, shared by every thread) made of four parts, each a class in
its own module that reaches SQLite through the same per-thread connection:

- `connection.Connection`: connections, read-only opening, transactions, SQLite's errors;
- `schema.Schema`: creating and migrating the schema, meta rows;
- `vector_log.VectorLog`: the log vector stores replay;
- `documents.Documents`: documents and chunks, written and read.

Each part builds on the one before it (a chunk write logs itself, the log's floor is a meta row,
everything writes in a transaction), so they are stacked as base classes rather than held as
separate objects: the callers keep one `Store` with the methods they always had, a transaction
opened by one part covers the writes of another, and there is one connection per thread to share,
not four. This module keeps the promises above and the names it always exported.
"""
from __future__ import annotations

from .connection import (  # noqa: F401 (re-exported)
    _READ_ONLY_MESSAGES,
    DB_NAME,
    Connection,
    _disk_full,
    _is_read_only_error,
    _translate,
    defer_interrupts,
)
from .documents import Documents, Filter, VectorRow, _context, _tags, text_hash  # noqa: F401 (re-exported)
from .lock import LOCK_NAME  # noqa: F401 (re-exported: the write lock lives in lock.py)
from .schema import SCHEMA_VERSION, Schema  # noqa: F401 (re-exported)
from .vector_log import VectorLog


class Store(Documents, VectorLog, Schema, Connection):
    """One index database. Safe to share between threads: each thread gets its own connection."""


__all__ = ["DB_NAME", "LOCK_NAME", "SCHEMA_VERSION", "Filter", "Store", "VectorRow", "defer_interrupts", "text_hash"]
