"""Documents and chunks: what an index holds, written and read through SQLite.

A document is a file (or one post of a multi-post file) with its content hash, title and front
matter; its chunks carry their text, place, vector and kind. Writing one is a single step inside
a transaction: the rows, the lexical index (`fts`) and the vector log change together, so a
vector store replaying the log and a lexical search always agree with the chunks table.

`Filter` says what a search may return, `VectorRow` is a chunk as a vector store needs it.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..records import Chunk, Document
from ..text import content_hash
from . import fts
from .vector_log import VectorLog


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


class Documents(VectorLog):
    """Documents and chunks of the index (each change logged for the vector stores)."""

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

    def vectors_by_hash(self, hashes: Iterable[str]) -> dict[str, tuple[bytes, bytes]]:
        """Stored vectors (the passage's, its sentences') for chunk texts already embedded anywhere
        in the index (moves, renames). A chunk stored before sentences had vectors is not reused."""
        found: dict[str, tuple[bytes, bytes]] = {}
        wanted = list(set(hashes))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            for h, vec, sentence_vectors in self.conn.execute(
                f"SELECT content_hash, vector, sentence_vectors FROM chunks WHERE content_hash IN ({marks})"
                " AND sentence_vectors IS NOT NULL GROUP BY content_hash",
                part,
            ):
                found[h] = (vec, sentence_vectors)
        return found

    def replace_document(self, doc: Document, chunking: str, chunks: Sequence[Chunk],
                         vectors: Sequence[tuple[bytes, bytes]]) -> list[int]:
        """Write a document and its chunks (inside a transaction); returns the new chunk ids.

        `vectors`: each chunk's vector (float32) and its sentences' vectors (float16, one row each)."""
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
        for chunk, (vector, sentence_vectors) in zip(chunks, vectors):
            cur = self.conn.execute(
                "INSERT INTO chunks(document_id, ordinal, text, heading, line_start, line_end, token_count,"
                " content_hash, vector, kind, language, text_hash, sentences, sentence_vectors)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc_id, chunk.ordinal, chunk.text, chunk.heading, chunk.line_start, chunk.line_end,
                 chunk.token_count, chunk.content_hash, vector, chunk.kind, chunk.language, text_hash(chunk.text),
                 json.dumps(chunk.sentences), sentence_vectors),
            )
            ids.append(int(cur.lastrowid))
        # a code chunk's introduction is searched with it, as it is embedded with it: out of the
        # shown text (one place, one hit), BM25 still finds the code by it (AutoRAG-ko hybrid
        # nDCG@10: 0.931 as before the introduction left the text, 0.927 without it here)
        fts.upsert(self.conn, [(i, f"{c.intro}\n{c.text}" if c.intro else c.text, _context(doc.title, c.heading))
                               for i, c in zip(ids, chunks)])
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
                f" chunks.language, chunks.text_hash, {self._sentence_columns()},"
                " documents.path, documents.title, documents.id AS document_id"
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

    def _sentence_columns(self) -> str:
        """The sentence columns to read, or NULLs in their place in an index of schema 2: a
        release before them searches an index it has not migrated yet (only a writer migrates,
        and a read-only copy never is)."""
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(chunks)")}
        if "sentence_vectors" in columns:
            return "chunks.sentences, chunks.sentence_vectors"
        return "NULL AS sentences, NULL AS sentence_vectors"

    def sentence_counts(self) -> tuple[int, int]:
        """(sentences with vectors, passages stored before sentences had vectors)."""
        if self._sentence_columns().startswith("NULL"):
            return 0, self.counts()[1]
        row = self.conn.execute(
            "SELECT coalesce(sum(CASE WHEN sentence_vectors IS NOT NULL THEN json_array_length(sentences) END), 0),"
            " sum(sentence_vectors IS NULL) FROM chunks").fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def kind_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT kind, count(*) FROM chunks GROUP BY kind").fetchall())

    def last_indexed(self) -> float | None:
        row = self.conn.execute("SELECT max(indexed_at) FROM documents").fetchone()
        return row[0] if row else None


def _context(title: str, heading: str) -> str:
    """What the lexical index weighs above the body: the document title and heading path."""
    return f"{title}\n{heading}".strip()

