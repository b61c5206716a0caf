"""Indexing: diff what's on disk against the index, embed what changed, write it, update the vector store.

Three steps, each cheap to interrupt:

1. **Read** every file (decode and parse, no embedding) and compare content hashes with the
   index: unchanged documents cost nothing more. Files are taken smallest first, so one huge
   file never holds back the posts beside it.
2. **Embed and write** the new and changed documents a group at a time (about COMMIT_EVERY new
   chunks, whole documents only), each group in one transaction. A chunk whose text already has
   a vector anywhere in the index reuses it (moved and renamed files embed nothing). Ctrl-C or a
   kill keeps every group already written; the next run picks up from there.
3. **Remove** documents that are gone, then bring the vector store up to date in place from the
   vector log (no rebuild), persist it when due, and checkpoint the WAL.

`Indexer` knows nothing of folders or the CLI: it takes `Source` items (a file's documents, or
why it was skipped) and a `scope` that says which stored documents the items replace.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import numpy as np

from .chunks import ChunkSizes, make_chunks
from .records import Chunk, Document, IndexReport, Paragraph

if TYPE_CHECKING:
    from .store import Store, VectorStore
    from .vectors import Embedder

# (phase, done, total, detail): phase is "scan" (files read), "chunk" (documents split) or
# "embed" (chunks embedded); detail names the file being worked on.
Progress = Callable[[str, int, int, str], None]

# Chunks are embedded and committed in groups of about this many: a killed run keeps every
# group it finished, and a re-run picks up from there.
COMMIT_EVERY = 128


@dataclass
class Source:
    """One file's contribution: its documents (a WXR export holds many), or why it was skipped."""

    name: str  # the file's display name
    documents: list[tuple[Document, list[Paragraph]]] = field(default_factory=list)
    skipped: str = ""  # the reason, when the file is not indexed


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
    def __init__(self, db: "Store", vectors: "VectorStore", embedder: "Embedder", chunk_sizes: ChunkSizes) -> None:
        self.db = db
        self.vectors = vectors
        self.embedder = embedder
        self.chunk_sizes = chunk_sizes

    def run(self, sources: Iterable[Source], scope: Scope, *, total_files: int = 0,
            progress: Progress | None = None) -> IndexReport:
        """Bring the index in line with `sources`. Raises Interrupted on Ctrl-C (committed work stays)."""
        started = time.perf_counter()
        report = IndexReport()
        try:
            pending, seen = self._diff(sources, scope, report, total_files, progress)
            self._embed_and_write(pending, report, progress)
            self._remove(scope, seen, report)
        except KeyboardInterrupt:
            report.interrupted = True
            report.seconds = time.perf_counter() - started
            self._finish(report, persist=False)
            raise Interrupted(report) from None
        self._finish(report, persist=True)
        report.chunks_total = self.db.counts()[1]
        report.seconds = time.perf_counter() - started
        return report

    # -- 1. read and diff ---------------------------------------------------------------------

    def _diff(self, sources: Iterable[Source], scope: Scope, report: IndexReport, total: int,
              progress: Progress | None) -> tuple[list[_Pending], set[str]]:
        existing = self.existing(scope)
        fingerprint = self.chunk_sizes.fingerprint
        seen: set[str] = set()
        pending: list[_Pending] = []
        for n, source in enumerate(sources, 1):
            if progress:
                progress("scan", n, total, source.name)
            if source.skipped:
                report.skipped.append((source.name, source.skipped))
                continue
            for doc, paragraphs in source.documents:
                seen.add(doc.path)
                old = existing.get(doc.path)
                if old and old[1] == doc.content_hash and old[2] == fingerprint:
                    report.unchanged += 1
                    continue
                pending.append(_Pending(doc, paragraphs, "changed" if old else "new"))
        return pending, seen

    def existing(self, scope: Scope) -> dict[str, tuple[int, str, str]]:
        """path -> (id, content hash, chunking) of the stored documents in `scope`."""
        found = self.db.documents_at(scope.paths) if scope.paths else {}
        for prefix in scope.prefixes:
            found.update(self.db.documents_under(prefix))
        return found

    # -- 2. embed and write -------------------------------------------------------------------

    def _chunk(self, item: _Pending) -> list[Chunk]:
        doc = item.document
        # A title that only repeats the file name says nothing, and would make a renamed
        # file's chunks look new.
        title = "" if doc.title == Path(doc.path.split("#", 1)[0]).stem else doc.title
        return make_chunks(item.paragraphs, self.embedder.count_tokens, self.chunk_sizes, title=title)

    def _embed_and_write(self, pending: list[_Pending], report: IndexReport, progress: Progress | None) -> None:
        """Chunk each document, embed what no stored vector covers, commit a group of documents at a time."""
        for n, item in enumerate(pending, 1):
            if progress:
                progress("chunk", n, len(pending), item.document.path)
            item.chunks = self._chunk(item)
        known = self.db.vectors_by_hash(c.content_hash for p in pending for c in p.chunks)
        total = len({c.content_hash for p in pending for c in p.chunks if c.content_hash not in known})
        done = 0
        if progress:
            progress("embed", 0, total, "")

        for group, new in _groups(pending, known):
            if new:
                texts = [c.embed_text for c in new.values()]
                name = group[-1].document.path
                t0 = time.perf_counter()

                def step(k: int) -> None:
                    nonlocal done
                    done += k
                    if progress:
                        progress("embed", done, total, name)

                vectors = self.embedder.embed_passages(texts, progress=step)
                report.embed_seconds += time.perf_counter() - t0
                report.tokens_embedded += sum(c.token_count for c in new.values())
                for h, v in zip(new, vectors):
                    known[h] = np.asarray(v, dtype=np.float32).tobytes()
            with self.db.transaction():
                for p in group:
                    self.db.replace_document(p.document, self.chunk_sizes.fingerprint, p.chunks,
                                             [known[c.content_hash] for c in p.chunks])
            for p in group:
                setattr(report, p.status, getattr(report, p.status) + 1)
                report.touched.append(p.document.path)
            report.chunks_embedded += len(new)
            report.chunks_reused += sum(len(p.chunks) for p in group) - len(new)
            self.vectors.sync()  # in place: only this group's chunks

    # -- 3. remove and finish -----------------------------------------------------------------

    def _remove(self, scope: Scope, seen: set[str], report: IndexReport) -> None:
        gone = {path: doc_id for path, (doc_id, _, _) in self.existing(scope).items() if path not in seen}
        if gone:
            with self.db.transaction():
                self.db.delete_documents(list(gone.values()))
            report.removed = len(gone)
            report.touched.extend(gone)

    def _finish(self, report: IndexReport, *, persist: bool) -> None:
        if report.new or report.changed or report.removed or "corpus_hangul" not in self.db.meta():
            self.db.update_corpus_language()
        self.vectors.sync()
        if persist and self.vectors.persist_due():
            self.vectors.persist()
        self.db.checkpoint()


def _groups(pending: list[_Pending], known: dict[str, bytes]) -> Iterator[tuple[list[_Pending], dict[str, Chunk]]]:
    """Whole documents in groups of about COMMIT_EVERY chunks that need embedding."""
    group: list[_Pending] = []
    new: dict[str, Chunk] = {}
    for item in pending:
        group.append(item)
        for c in item.chunks:
            if c.content_hash not in known and c.content_hash not in new:
                new[c.content_hash] = c
        if len(new) >= COMMIT_EVERY:
            yield group, new
            group, new = [], {}
    if group:
        yield group, new
