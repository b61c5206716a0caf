"""The SQLite database: the one source of truth for documents, chunks and their vectors.

Writes happen in explicit transactions (`with store.transaction():`), each of which bumps a
generation counter; the FAISS file derived from the vectors is named by that generation, so a
stale or half-written FAISS file can always be told apart and rebuilt. WAL mode lets `search`
read while an `index` run writes.

Reads use the plain sqlite3 connection (fast to import, for a quick `search`); sqlite-utils
creates and migrates the schema.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..records import Chunk, Document
from ..search import lexical

SCHEMA_VERSION = 1
DB_NAME = "embedsearch.db"


class Store:
    def __init__(self, directory: Path, create: bool = False) -> None:
        self.directory = directory
        self.path = directory / DB_NAME
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA foreign_keys = ON")
        if create:
            self._create_schema()

    # -- schema ---------------------------------------------------------------------------

    def _create_schema(self) -> None:
        import sqlite_utils

        db = sqlite_utils.Database(self.conn)
        if "meta" in db.table_names():
            return
        db.enable_wal()
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
        db["chunks"].create(
            {
                "id": int,
                "document_id": int,
                "ordinal": int,
                "text": str,
                "heading": str,
                "line_start": int,
                "line_end": int,
                "token_count": int,
                "content_hash": str,
                "vector": bytes,  # float32, L2-normalised
            },
            pk="id",
            foreign_keys=[("document_id", "documents", "id")],
            if_not_exists=True,
        )
        db["chunks"].create_index(["document_id"], if_not_exists=True)
        db["chunks"].create_index(["content_hash"], if_not_exists=True)
        lexical.create_table(self.conn)
        with self.transaction():
            self.set_meta(schema_version=SCHEMA_VERSION, generation=0, created=time.time())

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

    @property
    def generation(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self, vectors_changed: bool = True) -> Iterator[None]:
        """One atomic write step: all of it lands, or none of it does.

        A step that may change chunks or vectors bumps the generation, which retires the FAISS
        file built from the previous state.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            if vectors_changed:
                self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    # -- the lexical index -----------------------------------------------------------------

    def has_lexical(self) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = ?", (lexical.TABLE,)
        ).fetchone() is not None

    def ensure_lexical(self) -> bool:
        """Create and fill the lexical index if this database predates it; True if it did."""
        if self.has_lexical():
            return False
        with self.transaction(vectors_changed=False):
            lexical.create_table(self.conn)
            rows = self.conn.execute(
                "SELECT chunks.id, chunks.text, documents.title, chunks.heading"
                " FROM chunks JOIN documents ON documents.id = chunks.document_id"
            )
            lexical.upsert(self.conn, ((cid, text, _context(title, heading)) for cid, text, title, heading in rows))
        return True

    def update_corpus_language(self) -> None:
        """Remember the share of Korean in the corpus, for the hybrid fusion's language rule."""
        share = lexical.hangul_share(self.conn)
        with self.transaction(vectors_changed=False):
            self.set_meta(corpus_hangul="" if share is None else f"{share:.4f}")

    # -- documents and chunks -------------------------------------------------------------

    def documents_under(self, prefix: str) -> dict[str, tuple[int, str, str]]:
        """path -> (id, content hash, chunking) for every document whose path starts with prefix."""
        rows = self.conn.execute(
            "SELECT path, id, content_hash, chunking FROM documents WHERE substr(path, 1, ?) = ?",
            (len(prefix), prefix),
        )
        return {path: (doc_id, h, chunking) for path, doc_id, h, chunking in rows}

    def vectors_by_hash(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """Stored vectors for chunk texts already embedded anywhere in the index (moves, renames)."""
        found: dict[str, bytes] = {}
        wanted = list(set(hashes))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            for h, vec in self.conn.execute(
                f"SELECT content_hash, vector FROM chunks WHERE content_hash IN ({marks}) GROUP BY content_hash",
                part,
            ):
                found[h] = vec
        return found

    def replace_document(self, doc: Document, chunking: str, chunks: Sequence[Chunk], vectors: Sequence[bytes]) -> list[int]:
        """Write a document and its chunks (inside a transaction); returns the new chunk ids."""
        row = self.conn.execute("SELECT id FROM documents WHERE path = ?", (doc.path,)).fetchone()
        values = (doc.content_hash, doc.mtime, doc.title, json.dumps(doc.front_matter, ensure_ascii=False),
                  doc.encoding, chunking, time.time())
        if row:
            doc_id = row[0]
            self.delete_chunks_of([doc_id])
            self.conn.execute(
                "UPDATE documents SET content_hash=?, mtime=?, title=?, front_matter=?, encoding=?, chunking=?,"
                " indexed_at=? WHERE id=?",
                (*values, doc_id),
            )
        else:
            cur = self.conn.execute(
                "INSERT INTO documents(path, content_hash, mtime, title, front_matter, encoding, chunking, indexed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (doc.path, *values),
            )
            doc_id = cur.lastrowid
        ids = []
        for chunk, vector in zip(chunks, vectors):
            cur = self.conn.execute(
                "INSERT INTO chunks(document_id, ordinal, text, heading, line_start, line_end, token_count,"
                " content_hash, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc_id, chunk.ordinal, chunk.text, chunk.heading, chunk.line_start, chunk.line_end,
                 chunk.token_count, chunk.content_hash, vector),
            )
            ids.append(int(cur.lastrowid))
        lexical.upsert(self.conn, [(i, c.text, _context(doc.title, c.heading)) for i, c in zip(ids, chunks)])
        return ids

    def delete_chunks_of(self, doc_ids: Sequence[int]) -> None:
        for doc_id in doc_ids:
            ids = [r[0] for r in self.conn.execute("SELECT id FROM chunks WHERE document_id = ?", (doc_id,))]
            lexical.delete(self.conn, ids)
            self.conn.execute("DELETE FROM chunks WHERE document_id = ?", (doc_id,))

    def delete_documents(self, doc_ids: Sequence[int]) -> None:
        self.delete_chunks_of(doc_ids)
        self.conn.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i in doc_ids])

    def clear(self) -> None:
        lexical.clear(self.conn)
        self.conn.execute("DELETE FROM chunks")
        self.conn.execute("DELETE FROM documents")

    # -- reads ----------------------------------------------------------------------------

    def all_vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every chunk, for (re)building the FAISS index."""
        rows = self.conn.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, dim), dtype=np.float32)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, vectors

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, sqlite3.Row]:
        if not ids:
            return {}
        self.conn.row_factory = sqlite3.Row
        try:
            marks = ",".join("?" * len(ids))
            rows = self.conn.execute(
                "SELECT chunks.id, chunks.text, chunks.heading, chunks.line_start, chunks.line_end,"
                " documents.path, documents.title FROM chunks JOIN documents ON documents.id = chunks.document_id"
                f" WHERE chunks.id IN ({marks})",
                [int(i) for i in ids],
            ).fetchall()
        finally:
            self.conn.row_factory = None
        return {row["id"]: row for row in rows}

    def chunk_ids_where(self, path: str | None = None, tag: str | None = None) -> list[int]:
        """Chunk ids of documents whose path matches a glob and/or whose front matter has a tag."""
        clauses, params = [], []
        if path:
            # "notes/*" matches any document with a "notes" folder in its path, not only at the root
            clauses.append("(documents.path GLOB ? OR documents.path GLOB ?)")
            params += [path, "*/" + path.lstrip("/")]
        if tag:
            clauses.append(
                "(EXISTS (SELECT 1 FROM json_each(documents.front_matter, '$.tags') WHERE value = ?)"
                " OR json_extract(documents.front_matter, '$.tags') = ?)"
            )
            params += [tag, tag]
        where = " AND ".join(clauses) or "1"
        sql = f"SELECT chunks.id FROM chunks JOIN documents ON documents.id = chunks.document_id WHERE {where}"
        return [row[0] for row in self.conn.execute(sql, params)]

    def counts(self) -> tuple[int, int]:
        docs = self.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        chunks = self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return docs, chunks

    def last_indexed(self) -> float | None:
        row = self.conn.execute("SELECT max(indexed_at) FROM documents").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.conn.close()


def _context(title: str, heading: str) -> str:
    """What the lexical index weighs above the body: the document title and heading path."""
    return f"{title}\n{heading}".strip()
