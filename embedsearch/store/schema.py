"""The index database's schema: made and migrated in one transaction, and its meta rows.

A new database and an old one are brought to `SCHEMA_VERSION` by the same code: `_create_tables`
makes the tables a database starts from (schema 1), and `MIGRATIONS` then runs, in order, every
step above the database's version. **Adding schema 4 is adding one function** `_migrate_to_4(db)`
and its entry `(4, _migrate_to_4)` at the end of `MIGRATIONS`: new databases get it too, so a new
and a migrated index cannot drift apart. A step receives a `sqlite_utils.Database` inside the one
`atomic()` block of `Schema.create`, so a kill anywhere in it leaves the database as it was.

sqlite-utils creates and migrates the schema; reads use the plain sqlite3 connection, which is
faster to import for a quick `search`.
"""
from __future__ import annotations

import sqlite3
import time
from typing import Any, Callable

from ..errors import EmbedsearchError
from . import fts
from .connection import Connection, _translate


class Schema(Connection):
    """Schema and meta rows of the index database."""

    def exists(self) -> bool:
        """True when the schema is complete (a half-created database reads as absent)."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return False
        return row is not None

    def create(self, **meta: Any) -> None:
        """Create or migrate the schema in one transaction; a no-op for a current database.

        `meta` is written in the same transaction (the vector store an index was created with).
        """
        import sqlite_utils

        if self.read_only:
            raise EmbedsearchError(f"index {self.directory} is read-only: it can be searched, not changed", category="state")
        conn = self.conn
        version = self.schema_version()
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise EmbedsearchError(
                f"index {self.directory} was made by a newer embedsearch (schema {version}): upgrade embedsearch"
            )
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # can't run inside a transaction; harmless alone
        except sqlite3.OperationalError as exc:
            raise _translate(exc, self.path) from None
        db = sqlite_utils.Database(conn)
        with self._writing(), db.atomic():
            new = version == 0
            if new:
                _create_tables(db)
                version = 1
            for target, migrate in MIGRATIONS:
                if target > version:
                    migrate(db)
            if new:
                self.set_meta(created=time.time(), **meta)
            self.set_meta(schema_version=SCHEMA_VERSION)

    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    # -- meta -----------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        try:
            return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.OperationalError:
            return {}

    def set_meta(self, **values: Any) -> None:
        self.conn.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )


# -- the tables and their migrations -----------------------------------------------------------

def _create_tables(db: Any) -> None:
    """The tables a new database starts from (schema 1); `MIGRATIONS` brings them up to date."""
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["documents"].create(
        {
            "id": int,
            "path": str,
            "content_hash": str,
            "mtime": float,
            "title": str,
            "front_matter": str,  # JSON
            "encoding": str,
            "chunking": str,  # the chunker fingerprint the chunks were made with
            "indexed_at": float,
        },
        pk="id",
        not_null={"path", "content_hash"},
        if_not_exists=True,
    )
    db["documents"].create_index(["path"], unique=True, if_not_exists=True)
    # AUTOINCREMENT: a chunk id is never reused, so no vector store can confuse an old chunk
    # with a new one that got its id
    db.execute(
        "CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " document_id INTEGER REFERENCES documents(id), ordinal INTEGER, text TEXT, heading TEXT,"
        " line_start INTEGER, line_end INTEGER, token_count INTEGER, content_hash TEXT, vector BLOB)"
    )


def _create_v2_parts(db: Any) -> None:
    db["chunks"].create_index(["document_id"], if_not_exists=True)
    db["chunks"].create_index(["content_hash"], if_not_exists=True)
    db["chunks"].create_index(["text_hash"], if_not_exists=True)
    db.execute("CREATE TABLE IF NOT EXISTS vector_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id INTEGER NOT NULL)")


def _migrate_to_2(db: Any) -> None:
    """Schema 1 -> 2: chunk kind, language and text hash; the lexical index; the vector log."""
    from .documents import _context, text_hash  # documents builds on this module

    columns = set(db["chunks"].columns_dict)
    for name, sql in (("kind", "TEXT NOT NULL DEFAULT 'prose'"), ("language", "TEXT NOT NULL DEFAULT ''"),
                      ("text_hash", "TEXT")):
        if name not in columns:
            db.execute(f"ALTER TABLE chunks ADD COLUMN {name} {sql}")
    _create_v2_parts(db)
    fts.create_table(db.conn)
    rows = db.execute("SELECT id, text FROM chunks").fetchall()
    db.conn.executemany("UPDATE chunks SET text_hash = ? WHERE id = ?", [(text_hash(t or ""), i) for i, t in rows])
    # every existing chunk counts as changed: a vector store made before the log existed is rebuilt
    db.execute("INSERT INTO vector_log(chunk_id) SELECT id FROM chunks")
    fts_rows = db.execute(
        "SELECT chunks.id, chunks.text, documents.title, chunks.heading FROM chunks"
        " JOIN documents ON documents.id = chunks.document_id"
    ).fetchall()
    fts.upsert(db.conn, ((cid, text, _context(title, heading)) for cid, text, title, heading in fts_rows))
    db.execute("DELETE FROM meta WHERE key = 'generation'")


def _migrate_to_3(db: Any) -> None:
    """Schema 2 -> 3: each chunk's sentences and their vectors (sentences.py). A chunk stored
    before has neither: its passage is still found, and the next `index` run embeds it again
    (the chunker's fingerprint changed with it) to give its sentences vectors."""
    columns = set(db["chunks"].columns_dict)
    for name, sql in (("sentences", "TEXT"), ("sentence_vectors", "BLOB")):
        if name not in columns:
            db.execute(f"ALTER TABLE chunks ADD COLUMN {name} {sql}")


# (version, the step that brings a database of the version before it there), oldest first.
MIGRATIONS: list[tuple[int, Callable[[Any], None]]] = [
    (2, _migrate_to_2),  # chunk kind/language/text_hash, vector_log
    (3, _migrate_to_3),  # chunk sentences and their vectors
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
