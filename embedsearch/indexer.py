"""Indexing: diff what's on disk against the index, embed what changed, write it, update the vector store.

Three steps, each cheap to interrupt:

1. **Read** each file (decode, parse) and compare its content hash with the index: unchanged
   documents cost nothing more. The caller hands files smallest first, and groups are written
   as they fill, so the posts read first are saved before one huge file is even read.
2. **Embed and write** the new and changed documents a group at a time (about COMMIT_EVERY new
   chunks, whole documents only), each group in one transaction. A chunk whose text already has
   a vector anywhere in the index reuses it (moved and renamed files embed nothing). Ctrl-C or a
   kill keeps every group already written; the next run picks up from there.
3. **Remove** documents that are gone, then bring the vector store up to date in place from the
   vector log (no rebuild), persist it when due, and checkpoint the WAL.

A rebuild is different: it runs inside one transaction that first clears the index
(`deferred=True`), and the vector store is brought up to date and persisted only after that
transaction commits (`finish_deferred`). A rebuild that fails or is interrupted leaves the index
as it was, and no reader ever sees (or the vector file holds) a half-rebuilt index.

`Indexer` knows nothing of folders or the CLI: it takes `Source` items (a file's documents, or
why it was skipped) and a `scope` that says which stored documents the items replace.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from . import sentences
from .chunks import ChunkSizes, make_chunks
from .records import Chunk, Document, IndexReport, Paragraph

if TYPE_CHECKING:
    from .store import Store, VectorStore
    from .vectors import Embedder

# (phase, done, total, detail): phase is "scan" (files read, of total) or "embed" (chunks embedded
# so far; total 0: not known ahead, files are read as they are embedded); detail names the file.
Progress = Callable[[str, int, int, str], None]

# Chunks are embedded and committed in groups of about this many (or whatever was read in
# FLUSH_SECONDS): a killed run keeps every group it finished, and a re-run picks up from there.
COMMIT_EVERY = 128
FLUSH_SECONDS = 5.0
# Before reading a file this big (bytes), the documents read so far are written: reading and
# splitting a 1 MB markdown table takes seconds, and the posts before it shouldn't wait for it.
BIG_FILE = 256 * 1024


@dataclass
class Source:
    """One file's contribution: its documents (a WXR export holds many), or why it was skipped.

    A source can be lazy: `load` reads it when the indexer gets to it, and `size` (bytes) lets the
    indexer save what it has before it starts on a big file.
    """

    name: str  # the file's display name
    documents: list[tuple[Document, list[Paragraph]]] = field(default_factory=list)
    skipped: str = ""  # the reason, when the file is not indexed
    notes: list[str] = field(default_factory=list)  # what of it was left out (a PDF's pages without text)
    size: int = 0
    load: "Callable[[], Source] | None" = None

    def loaded(self) -> "Source":
        return self.load() if self.load is not None else self


@dataclass
class Scope:
    """Which stored documents a run covers: those under folder prefixes, and those of given files
    (with the posts of a multi-document file, `file#slug`).

    Stored documents in the scope that no Source yields again are removed.
    """

    prefixes: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    document: Document
    paragraphs: list[Paragraph]
    status: str  # "new" or "changed"
    chunks: list[Chunk] = field(default_factory=list)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: what was committed so far is kept; `report` says how much."""

    def __init__(self, report: IndexReport) -> None:
        super().__init__()
        self.report = report


class Indexer:
    def __init__(self, db: "Store", vectors: "VectorStore", embedder: "Embedder", chunk_sizes: ChunkSizes,
                 *, deferred: bool = False) -> None:
        self.db = db
        self.vectors = vectors
        self.embedder = embedder
        self.chunk_sizes = chunk_sizes
        # inside a rebuild's transaction: the vector store must not see uncommitted chunks (a
        # server's searches share it), so it catches up in `finish_deferred`, after the commit
        self.deferred = deferred

    def run(self, sources: Iterable[Source], scope: Scope, *, total_files: int = 0,
            progress: Progress | None = None) -> IndexReport:
        """Bring the index in line with `sources`. Raises Interrupted on Ctrl-C (committed work stays)."""
        started = time.perf_counter()
        report = IndexReport()
        try:
            seen = self._stream(sources, scope, report, total_files, progress)
            self._remove(scope, seen, report)
        except KeyboardInterrupt:
            report.interrupted = True
            report.seconds = time.perf_counter() - started
            if not self.deferred:
                self._finish(report, persist=False)
            raise Interrupted(report) from None
        if self.deferred:
            self.db.update_corpus_language()
        else:
            self._finish(report, persist=True)
        report.chunks_total = self.db.counts()[1]
        report.seconds = time.perf_counter() - started
        return report

    def existing(self, scope: Scope) -> dict[str, tuple[int, str, str]]:
        """path -> (id, content hash, chunking) of the stored documents in `scope`."""
        found = self.db.documents_at(scope.paths) if scope.paths else {}
        for prefix in scope.prefixes:
            found.update(self.db.documents_under(prefix))
        return found

    # -- 1 and 2: read, diff, chunk, embed, write -----------------------------------------------

    def _stream(self, sources: Iterable[Source], scope: Scope, report: IndexReport, total: int,
                progress: Progress | None) -> set[str]:
        """Read the files one by one; commit a group whenever it holds COMMIT_EVERY new chunks or has
        waited FLUSH_SECONDS, so the posts read first are saved before a big file is even read."""
        existing = self.existing(scope)
        fingerprint = self.chunk_sizes.fingerprint
        seen: set[str] = set()
        group: list[_Pending] = []
        new_chunks = 0
        since = time.monotonic()
        embedded = [0]

        def flush() -> None:
            nonlocal group, new_chunks, since
            if group:
                self._write(group, report, progress, embedded)
            group, new_chunks, since = [], 0, time.monotonic()

        for n, source in enumerate(sources, 1):
            if progress:
                progress("scan", n, total, source.name)
            if group and source.size >= BIG_FILE:
                flush()
            source = source.loaded()
            report.skipped.extend((source.name, note) for note in source.notes)
            if source.skipped:
                report.skipped.append((source.name, source.skipped))
                continue
            for doc, paragraphs in source.documents:
                seen.add(doc.path)
                old = existing.get(doc.path)
                if old and old[1] == doc.content_hash and old[2] == fingerprint:
                    report.unchanged += 1
                    continue
                item = _Pending(doc, paragraphs, "changed" if old else "new")
                item.chunks = self._chunk(item)
                if group and new_chunks + len(item.chunks) > COMMIT_EVERY:
                    flush()  # a long document (a 6,000-row table) must not hold back the posts read before it
                group.append(item)
                new_chunks += len(item.chunks)
            if group and (new_chunks >= COMMIT_EVERY or time.monotonic() - since >= FLUSH_SECONDS):
                flush()
        flush()
        return seen

    def _chunk(self, item: _Pending) -> list[Chunk]:
        doc = item.document
        # A title that only repeats the file name says nothing, and would make a renamed
        # file's chunks look new.
        title = "" if doc.title == Path(doc.path.split("#", 1)[0]).stem else doc.title
        chunks = make_chunks(item.paragraphs, self.embedder.count_tokens, self.chunk_sizes, title=title)
        for c in chunks:
            c.sentences = sentences.of_chunk(c.text, c.line_start, c.line_end, c.kind)
            if c.sentences and not sentences.in_embedded(c.text, c.embed_text, c.sentences):
                c.sentences = []  # not where the model reads it (never seen): the passage alone
        return chunks

    def _write(self, group: list[_Pending], report: IndexReport, progress: Progress | None,
               embedded: list[int]) -> None:
        """Embed what no stored vector covers (moved files, repeated text: reused), commit the group
        in one transaction, and apply it to the vector store in place.

        Each passage's sentences get their vectors from the passage's own run
        (`vectors.embed_with_parts`), stored with it as float16: half the bytes, and a sentence's
        cosine to a query moves by at most 0.00004 (97 sentences of data/posts, 3 queries)."""
        known = self.db.vectors_by_hash(c.content_hash for p in group for c in p.chunks)
        new = {c.content_hash: c for p in group for c in p.chunks if c.content_hash not in known}
        if new:
            name = group[-1].document.path

            def step(k: int) -> None:
                embedded[0] += k
                if progress:
                    progress("embed", embedded[0], 0, name)

            from .vectors.base import embed_with_parts

            t0 = time.perf_counter()
            chunks = list(new.values())
            vectors, parts = embed_with_parts(
                self.embedder, [c.embed_text for c in chunks],
                [sentences.in_embedded(c.text, c.embed_text, c.sentences) for c in chunks], progress=step)
            report.embed_seconds += time.perf_counter() - t0
            report.tokens_embedded += sum(c.token_count for c in chunks)
            for h, v, part in zip(new, vectors, parts):
                known[h] = (np.asarray(v, dtype=np.float32).tobytes(), np.asarray(part, dtype=np.float16).tobytes())
        with self.db.transaction():
            for p in group:
                self.db.replace_document(p.document, self.chunk_sizes.fingerprint, p.chunks,
                                         [known[c.content_hash] for c in p.chunks])
        for p in group:
            setattr(report, p.status, getattr(report, p.status) + 1)
            report.touched.append(p.document.path)
        report.chunks_embedded += len(new)
        report.chunks_reused += sum(len(p.chunks) for p in group) - len(new)
        if not self.deferred:
            self.vectors.sync()  # in place: only this group's chunks

    # -- 3. remove and finish -----------------------------------------------------------------

    def _remove(self, scope: Scope, seen: set[str], report: IndexReport) -> None:
        gone = {path: doc_id for path, (doc_id, _, _) in self.existing(scope).items() if path not in seen}
        if gone:
            with self.db.transaction():
                self.db.delete_documents(list(gone.values()))
            report.removed = len(gone)
            report.touched.extend(gone)

    def finish_deferred(self) -> None:
        """After a rebuild's transaction committed: the vector store catches up and is saved."""
        self.vectors.sync()
        if self.vectors.persist_due():
            self.vectors.persist()
        self.db.checkpoint()

    def _finish(self, report: IndexReport, *, persist: bool) -> None:
        if report.new or report.changed or report.removed or "corpus_hangul" not in self.db.meta():
            self.db.update_corpus_language()
        self.vectors.sync()
        if persist and self.vectors.persist_due():
            self.vectors.persist()
        self.db.checkpoint()
