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

sqlite-utils creates and migrates the schema (inside one `atomic()` block); reads use the plain
sqlite3 connection, which is faster to import for a quick `search`.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..errors import DamagedIndexError, DiskFullError, EmbedsearchError
from ..records import Chunk, Document
from ..text import content_hash
from . import fts

SCHEMA_VERSION = 2  # 2: chunk kind/language/text_hash, vector_log
DB_NAME = "embedsearch.db"
# The one write lock of an index directory, taken by `Index` and by a Milvus store repairing itself.
LOCK_NAME = ".write.lock"


@dataclass(frozen=True)
class Filter:
    """What a search may return: documents whose path matches a glob, that carry a tag, chunks of a kind.

    Vector stores turn it into their own terms: FAISS into an id selector resolved here in SQLite,
    Milvus into a scalar-field expression.
    """

    path: str | None = None  # a glob: "notes/*" matches a "notes" folder anywhere in the path
    tag: str | None = None  # matched whatever its case ("LLM" finds tag "llm")
    kind: str | None = None  # "prose" or "code"
    # the tag as documents spell it (the search engine looks them up): what the stores match exactly
    tag_forms: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.path or self.tag or self.kind)

    def tags(self) -> list[str]:
        """The tag values a document may carry to pass: the stored spellings, else the tag as given."""
        return list(self.tag_forms) if self.tag_forms else [self.tag] if self.tag else []

    def path_globs(self) -> list[str]:
        """The GLOB patterns the path filter stands for: as given, and under any folder."""
        if not self.path:
            return []
        return [self.path, "*/" + self.path.lstrip("/")]


@dataclass
class VectorRow:
    """One chunk as a vector store needs it: its vector and the fields filters look at."""

    id: int
    vector: np.ndarray
    path: str
    tags: list[str]
    kind: str


def text_hash(text: str) -> str:
    """The hash repeated paragraphs share: the chunk text with white space collapsed."""
    return content_hash(" ".join(text.split()))


def _tags(front_matter: str | None) -> list[str]:
    try:
        tags = json.loads(front_matter or "{}").get("tags")
    except (ValueError, AttributeError):
        return []
    if tags is None:
        return []
    return [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]


class Store:
    """One index database. Safe to share between threads: each thread gets its own connection."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / DB_NAME
        self.read_only = False
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.conn  # open now, so a damaged or unreadable database is reported where it is opened

    # -- connections ----------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        # SQLite opens a file it may not write read-only without a word, and then reads it fine
        # when its -shm file is there (an index copied while open): ask the file system first.
        if not self.read_only and self.path.exists() and not (
                os.access(self.path, os.W_OK) and os.access(self.directory, os.W_OK)):
            self.read_only = True
        if not self.read_only:
            try:
                conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
                self._probe(conn)
                conn.execute("PRAGMA foreign_keys = ON")
                return conn
            except sqlite3.OperationalError as exc:
                if not _is_read_only_error(exc):
                    raise _translate(exc, self.path) from None
            self.read_only = True
        return self._connect_read_only()

    def _connect_read_only(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri()
        last: sqlite3.Error | None = None
        for params in ("mode=ro", "immutable=1"):  # immutable: no -shm file can be created here
            try:
                conn = sqlite3.connect(f"{uri}?{params}", uri=True, isolation_level=None, check_same_thread=False)
                self._probe(conn)
                return conn
            except sqlite3.OperationalError as exc:
                last = exc
        raise _translate(last, self.path) from None  # type: ignore[arg-type]

    def _probe(self, conn: sqlite3.Connection) -> None:
        """Touch the file, so a damaged database or an unopenable one fails here, not mid-search."""
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise
            raise _translate(exc, self.path) from None

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    # -- schema ---------------------------------------------------------------------------

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
            if version == 0:
                self._create_tables(db)
                self.set_meta(created=time.time(), **meta)
            else:
                self._migrate_v1(db)
            self.set_meta(schema_version=SCHEMA_VERSION)

    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    def _create_tables(self, db: Any) -> None:
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
            " line_start INTEGER, line_end INTEGER, token_count INTEGER, content_hash TEXT, vector BLOB,"
            " kind TEXT NOT NULL DEFAULT 'prose', language TEXT NOT NULL DEFAULT '', text_hash TEXT)"
        )
        self._create_v2_parts(db)
        fts.create_table(db.conn)

    def _create_v2_parts(self, db: Any) -> None:
        db["chunks"].create_index(["document_id"], if_not_exists=True)
        db["chunks"].create_index(["content_hash"], if_not_exists=True)
        db["chunks"].create_index(["text_hash"], if_not_exists=True)
        db.execute("CREATE TABLE IF NOT EXISTS vector_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id INTEGER NOT NULL)")

    def _migrate_v1(self, db: Any) -> None:
        """Schema 1 -> 2: chunk kind, language and text hash; the vector log (one transaction)."""
        columns = set(db["chunks"].columns_dict)
        for name, sql in (("kind", "TEXT NOT NULL DEFAULT 'prose'"), ("language", "TEXT NOT NULL DEFAULT ''"),
                          ("text_hash", "TEXT")):
            if name not in columns:
                db.execute(f"ALTER TABLE chunks ADD COLUMN {name} {sql}")
        self._create_v2_parts(db)
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

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write step: all of it lands, or none of it does.

        Ctrl-C during the COMMIT itself is held back until the commit has finished (before, it
        could interrupt the commit and then fail to roll back: "cannot rollback").
        """
        conn = self.conn
        depth = getattr(self._local, "depth", 0)
        if depth:  # inside another transaction (a rebuild's): a savepoint, committed with the outer one
            name = f"step{depth}"
            self._local.depth = depth + 1
            try:
                with self._writing():
                    conn.execute(f"SAVEPOINT {name}")
                    try:
                        yield
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute(f"ROLLBACK TO {name}")
                        raise
                    finally:
                        if conn.in_transaction:
                            conn.execute(f"RELEASE {name}")
            finally:
                self._local.depth = depth
            return
        with self._writing():
            conn.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            try:
                yield
                with defer_interrupts():
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise
            finally:
                self._local.depth = 0

    def in_transaction(self) -> bool:
        """True inside `transaction()` on this thread (a rebuild's writes are not committed yet)."""
        return bool(getattr(self._local, "depth", 0))

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn SQLite's write failures (full disk, read-only file) into one-line errors."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise _translate(exc, self.path) from None

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside sees the same committed state."""
        conn = self.conn
        if conn.in_transaction:  # nested: the outer snapshot holds
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def checkpoint(self) -> None:
        """Fold the WAL into the main file: a copy of the directory (or a read-only open) sees everything."""
        if self.read_only:
            return
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass  # a reader holds the WAL; the next writer checkpoints

    # -- the vector log ---------------------------------------------------------------------

    def head_seq(self) -> int:
        """The newest change in the vector log (0 for none): the state a vector store must reach."""
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'vector_log'").fetchone()
        return int(row[0]) if row else 0

    def log_floor(self) -> int:
        """Changes up to this sequence number were pruned from the log: older stores must rebuild."""
        return int(self.meta().get("vector_log_pruned", 0))

    def changed_since(self, seq: int, head: int) -> list[int]:
        """Chunk ids touched by changes (seq, head]: each was deleted, added, or both."""
        rows = self.conn.execute(
            "SELECT DISTINCT chunk_id FROM vector_log WHERE seq > ? AND seq <= ?", (seq, head)
        ).fetchall()
        return [r[0] for r in rows]

    def prune_log(self, upto: int) -> None:
        """Forget changes up to `upto` (inclusive) once a persisted vector store reflects them."""
        with self.transaction():
            self.conn.execute("DELETE FROM vector_log WHERE seq <= ?", (upto,))
            self.set_meta(vector_log_pruned=max(upto, self.log_floor()))

    def _log(self, chunk_ids: Iterable[int]) -> None:
        self.conn.executemany("INSERT INTO vector_log(chunk_id) VALUES (?)", [(int(i),) for i in chunk_ids])

    # -- the lexical index ------------------------------------------------------------------

    def lexical_search(self, query: str, k: int, flt: Filter | None = None) -> list[tuple[int, float]]:
        allowed = self.chunk_ids(flt) if flt else None
        return fts.search(self.conn, query, k, allowed)

    def lexical_ideal(self, query: str) -> float:
        return fts.ideal_score(self.conn, query)

    def lexical_count(self) -> int:
        return fts.count(self.conn)

    def update_corpus_language(self) -> None:
        """Remember the share of Korean in the corpus, for the hybrid fusion's language rule."""
        share = fts.hangul_share(self.conn)
        with self.transaction():
            self.set_meta(corpus_hangul="" if share is None else f"{share:.4f}")

    # -- documents and chunks -------------------------------------------------------------

    def documents_under(self, prefix: str) -> dict[str, tuple[int, str, str]]:
        """path -> (id, content hash, chunking) for every document whose path starts with prefix."""
        rows = self.conn.execute(
            "SELECT path, id, content_hash, chunking FROM documents WHERE substr(path, 1, ?) = ?",
            (len(prefix), prefix),
        )
        return {path: (doc_id, h, chunking) for path, doc_id, h, chunking in rows}

    def documents_at(self, paths: Sequence[str]) -> dict[str, tuple[int, str, str]]:
        """Like `documents_under`, for exact paths and the posts of multi-document files (`file#slug`)."""
        found: dict[str, tuple[int, str, str]] = {}
        for path in paths:
            rows = self.conn.execute(
                "SELECT path, id, content_hash, chunking FROM documents WHERE path = ? OR substr(path, 1, ?) = ?",
                (path, len(path) + 1, path + "#"),
            )
            found.update({p: (doc_id, h, chunking) for p, doc_id, h, chunking in rows})
        return found

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
        values = (doc.content_hash, doc.mtime, doc.title, json.dumps(doc.front_matter, ensure_ascii=False, default=str),
                  doc.encoding, chunking, time.time())
        if row:
            doc_id = row[0]
            self._delete_chunks_of([doc_id])
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
                " content_hash, vector, kind, language, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc_id, chunk.ordinal, chunk.text, chunk.heading, chunk.line_start, chunk.line_end,
                 chunk.token_count, chunk.content_hash, vector, chunk.kind, chunk.language, text_hash(chunk.text)),
            )
            ids.append(int(cur.lastrowid))
        fts.upsert(self.conn, [(i, c.text, _context(doc.title, c.heading)) for i, c in zip(ids, chunks)])
        self._log(ids)
        return ids

    def _delete_chunks_of(self, doc_ids: Sequence[int]) -> None:
        for doc_id in doc_ids:
            ids = [r[0] for r in self.conn.execute("SELECT id FROM chunks WHERE document_id = ?", (doc_id,))]
            fts.delete(self.conn, ids)
            self.conn.execute("DELETE FROM chunks WHERE document_id = ?", (doc_id,))
            self._log(ids)

    def delete_documents(self, doc_ids: Sequence[int]) -> None:
        self._delete_chunks_of(doc_ids)
        self.conn.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i in doc_ids])

    def clear(self) -> None:
        """Remove every document (inside a transaction): `index --rebuild`.

        A rebuild calls this inside the one transaction that also writes what it indexed, so a
        rebuild that fails (an empty folder) or is interrupted (Ctrl-C, a kill) leaves the index as
        it was: cleared first and committed alone, `index EMPTY --rebuild` emptied the index and
        then said "nothing to index" (issue 16).
        """
        if not self.in_transaction():
            raise RuntimeError("Store.clear() outside a transaction would commit an empty index on its own")
        self._log(r[0] for r in self.conn.execute("SELECT id FROM chunks"))
        fts.clear(self.conn)
        self.conn.execute("DELETE FROM chunks")
        self.conn.execute("DELETE FROM documents")

    # -- reads ----------------------------------------------------------------------------

    def vector_rows(self, ids: Sequence[int] | None = None, dim: int = 0) -> Iterator[list[VectorRow]]:
        """Chunks as vector stores need them, in batches: the given ids (those that still exist), or all."""
        sql = ("SELECT chunks.id, chunks.vector, documents.path, documents.front_matter, chunks.kind FROM chunks"
               " JOIN documents ON documents.id = chunks.document_id")
        if ids is None:
            cursor = self.conn.execute(sql + " ORDER BY chunks.id")
            while rows := cursor.fetchmany(10_000):
                yield [self._vector_row(r) for r in rows]
            return
        id_list = [int(i) for i in ids]
        for start in range(0, len(id_list), 10_000):
            part = id_list[start : start + 10_000]
            rows = self.conn.execute(sql + " WHERE chunks.id IN (SELECT value FROM json_each(?))",
                                     (json.dumps(part),)).fetchall()
            if rows:
                yield [self._vector_row(r) for r in rows]

    @staticmethod
    def _vector_row(row: tuple) -> VectorRow:
        return VectorRow(id=row[0], vector=np.frombuffer(row[1], dtype=np.float32), path=row[2],
                         tags=_tags(row[3]), kind=row[4])

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, sqlite3.Row]:
        if not ids:
            return {}
        conn = self.conn
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute(
                "SELECT chunks.id, chunks.text, chunks.heading, chunks.line_start, chunks.line_end, chunks.kind,"
                " chunks.language, chunks.text_hash, documents.path, documents.title, documents.id AS document_id"
                " FROM chunks JOIN documents ON documents.id = chunks.document_id"
                " WHERE chunks.id IN (SELECT value FROM json_each(?))",
                (json.dumps([int(i) for i in ids]),),
            ).fetchall()
        finally:
            conn.row_factory = None
        return {row["id"]: row for row in rows}

    def copies(self, hashes: Sequence[str]) -> dict[str, list[tuple[int, str, int]]]:
        """text hash -> [(chunk id, path, line)] of every chunk with that text: an author's reused paragraphs."""
        if not hashes:
            return {}
        rows = self.conn.execute(
            "SELECT chunks.text_hash, chunks.id, documents.path, chunks.line_start FROM chunks"
            " JOIN documents ON documents.id = chunks.document_id"
            " WHERE chunks.text_hash IN (SELECT value FROM json_each(?)) ORDER BY documents.path, chunks.line_start",
            (json.dumps(list(hashes)),),
        ).fetchall()
        out: dict[str, list[tuple[int, str, int]]] = {}
        for h, cid, path, line in rows:
            out.setdefault(h, []).append((cid, path, line))
        return out

    def chunk_ids(self, flt: Filter) -> list[int]:
        """Chunk ids that pass a filter (FAISS's id selector and the FTS search use them)."""
        clauses, params = [], []
        globs = flt.path_globs()
        if globs:
            clauses.append("(documents.path GLOB ? OR documents.path GLOB ?)")
            params += globs
        if flt.tag:
            wanted = json.dumps(flt.tags())
            clauses.append(
                "(EXISTS (SELECT 1 FROM json_each(documents.front_matter, '$.tags')"
                " WHERE CAST(value AS TEXT) IN (SELECT value FROM json_each(?)))"
                " OR CAST(json_extract(documents.front_matter, '$.tags') AS TEXT) IN (SELECT value FROM json_each(?)))"
            )
            params += [wanted, wanted]
        if flt.kind:
            clauses.append("chunks.kind = ?")
            params.append(flt.kind)
        where = " AND ".join(clauses) or "1"
        sql = f"SELECT chunks.id FROM chunks JOIN documents ON documents.id = chunks.document_id WHERE {where}"
        return [row[0] for row in self.conn.execute(sql, params)]

    def any_path_matches(self, globs: Sequence[str]) -> bool:
        """Whether some document's path matches one of these GLOB patterns."""
        where = " OR ".join("path GLOB ?" for _ in globs) or "1"
        return self.conn.execute(f"SELECT 1 FROM documents WHERE {where} LIMIT 1", list(globs)).fetchone() is not None

    def document_paths(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT path FROM documents")]

    def tag_counts(self) -> dict[str, int]:
        """Each tag as documents spell it -> how many documents carry it (17 ms for 10,000
        documents with 4 tags each: the search engine keeps it until the index changes)."""
        rows = self.conn.execute(
            "SELECT CAST(value AS TEXT), COUNT(DISTINCT documents.id) FROM documents,"
            " json_each(documents.front_matter, '$.tags') WHERE value IS NOT NULL GROUP BY 1")
        return {tag: n for tag, n in rows if tag}

    def document(self, path: str) -> sqlite3.Row | None:
        conn = self.conn
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute("SELECT * FROM documents WHERE path = ?", (path,)).fetchone()
        finally:
            conn.row_factory = None

    def document_chunks(self, doc_id: int) -> list[sqlite3.Row]:
        conn = self.conn
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(
                "SELECT id, ordinal, text, heading, line_start, line_end, kind, language FROM chunks"
                " WHERE document_id = ? ORDER BY ordinal", (doc_id,)).fetchall()
        finally:
            conn.row_factory = None

    def counts(self) -> tuple[int, int]:
        docs = self.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        chunks = self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return docs, chunks

    def kind_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT kind, count(*) FROM chunks GROUP BY kind").fetchall())

    def last_indexed(self) -> float | None:
        row = self.conn.execute("SELECT max(indexed_at) FROM documents").fetchone()
        return row[0] if row else None


def _context(title: str, heading: str) -> str:
    """What the lexical index weighs above the body: the document title and heading path."""
    return f"{title}\n{heading}".strip()


# -- errors -------------------------------------------------------------------------------

_READ_ONLY_MESSAGES = ("unable to open database file", "attempt to write a readonly database", "readonly database")


def _is_read_only_error(exc: sqlite3.Error) -> bool:
    return any(m in str(exc).lower() for m in _READ_ONLY_MESSAGES)


def _translate(exc: sqlite3.Error, path: Path) -> EmbedsearchError:
    """SQLite's errors as one line that says what happened and what to do."""
    message = str(exc)
    low = message.lower()
    if "disk is full" in low or ("disk i/o error" in low and _disk_full(path.parent)):
        return DiskFullError(
            f"no space left on the disk holding {path.parent}: free some space and run the command again "
            f"(the index is as it was after its last completed step)"
        )
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return DamagedIndexError(
            f"the index database {path} is damaged ({message}): rebuild it with "
            f"`embedsearch index FOLDER --rebuild --index {path.parent}`"
        )
    if "readonly" in low:
        return EmbedsearchError(f"index {path.parent} is read-only: it can be searched, not changed", category="state")
    if "locked" in low or "busy" in low:
        return EmbedsearchError(f"index {path.parent} is busy (another process holds it): try again in a moment")
    return EmbedsearchError(f"cannot use the index database {path}: {message}")


def _disk_full(directory: Path) -> bool:
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1 << 20


@contextmanager
def defer_interrupts() -> Iterator[None]:
    """Hold Ctrl-C back until the block ends, then raise it: for commits and file renames.

    Only the main thread receives signals; elsewhere this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except (ValueError, OSError):  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt
