"""The Python API: an `Index` of a person's posts, to add folders to and search.

    from embedsearch import Index
    ix = Index()                     # the default index in the user data directory
    ix.add("posts")                  # embeds only what changed since the last run
    for hit in ix.search("what is LLM?"):
        print(hit.score, hit.location, hit.heading)

The CLI is a thin layer over this class.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np

from .chunks import ChunkSizes, make_chunks
from .errors import EmbedsearchError, IndexBusyError, ModelMismatchError
from .records import Chunk, Document, Hit, IndexReport, Paragraph
from .store import Store
from .store import faiss_index
from .text import content_hash, nfc

if TYPE_CHECKING:
    import faiss

    from .answer import LLM, LLMConfig
    from .records import Answer
    from .vectors import Embedder

# (phase, done, total): phase is "scan" (files read) or "embed" (chunks embedded)
Progress = Callable[[str, int, int], None]

# Chunks are embedded and committed in groups of about this many: a killed run keeps every
# group it finished, and a re-run picks up from there.
COMMIT_EVERY = 128


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during `add`: what was committed so far is kept; `report` says how much."""

    def __init__(self, report: IndexReport) -> None:
        super().__init__()
        self.report = report


@dataclass
class _Pending:
    document: Document
    chunks: list[Chunk]
    status: str  # "new" or "changed"


class Index:
    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        model: str | None = None,
        *,
        create: bool = False,
        chunk_sizes: ChunkSizes = ChunkSizes(),
    ) -> None:
        from .config import default_index_path

        self.path = Path(path).expanduser() if path is not None else default_index_path()
        self.chunk_sizes = chunk_sizes
        self._requested_model = model
        self._embedder: Embedder | None = None
        self._faiss: tuple[int, faiss.Index] | None = None
        exists = (self.path / "embedsearch.db").exists()
        if not exists and not create:
            raise EmbedsearchError(
                f"no index at {self.path}: run `embedsearch index FOLDER` first (or pass --index)"
            )
        if self.path.exists() and not self.path.is_dir():
            raise EmbedsearchError(f"index path {self.path} is a file, not a directory")
        try:
            self.store = Store(self.path, create=create)
        except (OSError, sqlite3.Error) as exc:  # PermissionError, NotADirectoryError, a locked or corrupt db
            raise EmbedsearchError(f"cannot open index directory {self.path}: {exc}") from None

    # -- the embedder ---------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """The model this index uses: the one asked for, else the one it was built with."""
        from .vectors import DEFAULT_MODEL, is_bundled

        name = self._requested_model or self.store.meta().get("model") or DEFAULT_MODEL
        if is_bundled(name):
            return DEFAULT_MODEL
        local = Path(name).expanduser()
        return str(local.resolve()) if local.exists() else name  # a local folder, wherever it's named from

    @property
    def embedder(self) -> "Embedder":
        if self._embedder is None:
            from .vectors import load_embedder

            self._embedder = load_embedder(self.model_name)
        return self._embedder

    def _check_model(self) -> None:
        """An index built with one embedder can't be searched or extended with another."""
        meta = self.store.meta()
        stored = meta.get("embedder")
        if not stored:
            return
        if self._requested_model is not None and self.model_name != meta.get("model"):
            raise ModelMismatchError(
                f"index {self.path} was built with model {meta.get('model')!r}, not {self.model_name!r}: "
                f"drop --model to use it, or re-index with `embedsearch index FOLDER --model "
                f"{self.model_name} --rebuild`"
            )
        if self.embedder.identity != stored:
            raise ModelMismatchError(
                f"index {self.path} was built with embedder {stored!r} but {self.embedder.identity!r} is "
                f"loaded: re-index with `embedsearch index FOLDER --rebuild`"
            )

    # -- adding ---------------------------------------------------------------------------

    def add(self, folder: str | os.PathLike[str], *, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        """Index the posts under `folder` (or one file): embed new and changed chunks, drop deleted files."""
        from .files import SUFFIXES, walk

        root = Path(folder).expanduser()
        if not root.exists():
            raise EmbedsearchError(f"no such folder: {folder}")
        root = root.resolve()
        if root.is_file():
            paths = [root]
            prefix = str(root)
        else:
            paths = list(walk(root, SUFFIXES))
            prefix = str(root) + os.sep
        if not paths and not self.store.documents_under(prefix):
            raise EmbedsearchError(f"nothing to index in {folder}: no .md, .markdown or .txt files")
        return self._add(self._read_files(paths), prefix, rebuild=rebuild, progress=progress, total=len(paths),
                         require_any=str(folder))

    def add_documents(
        self, documents: Iterable[Document], source: str, *, rebuild: bool = False, progress: Progress | None = None
    ) -> IndexReport:
        """Index documents that do not come from files (e.g. a BEIR corpus).

        Each Document.path is a unique id that starts with `source`; documents under `source`
        that are not given again are removed. Text is split like a file of the same suffix.
        """
        from .files import parse

        def parsed() -> Iterator[tuple[Document, list[Paragraph]] | tuple[str, str]]:
            for doc in documents:
                doc.text = nfc(doc.text)
                _, front_matter, paragraphs = parse(doc.text, doc.path)
                if not doc.content_hash:
                    doc.content_hash = content_hash(doc.title + "\n" + doc.text)
                if paragraphs:
                    yield doc, paragraphs
                else:
                    yield ("empty", doc.path)

        return self._add(parsed(), source, rebuild=rebuild, progress=progress, total=0, require_any=None)

    def _read_files(self, paths: list[Path]) -> Iterator[tuple[Document, list[Paragraph]] | tuple[str, str]]:
        from .files import Binary, Empty, Undecodable, read_document

        for path in paths:
            try:
                yield read_document(path)
            except Empty:
                yield ("empty", str(path))
            except Binary:
                yield ("binary", str(path))
            except Undecodable:
                yield ("undecodable", str(path))
            except OSError as exc:
                yield ("undecodable", f"{path} ({exc.strerror})")

    def _add(
        self,
        items: Iterable[tuple[Document, list[Paragraph]] | tuple[str, str]],
        prefix: str,
        *,
        rebuild: bool,
        progress: Progress | None,
        total: int,
        require_any: str | None,
    ) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport()
        with self._write_lock():
            if rebuild:
                with self.store.transaction():
                    self.store.clear()
                    self.store.set_meta(embedder="", model="")
            else:
                self._check_model()
            embedder = self.embedder
            settings = {"embedder": embedder.identity, "model": self.model_name, "dim": str(embedder.dim),
                        "chunking": self.chunk_sizes.fingerprint}
            meta = self.store.meta()
            if any(meta.get(k) != v for k, v in settings.items()):
                with self.store.transaction(vectors_changed=False):
                    self.store.set_meta(**settings)

            self.store.ensure_lexical()
            existing = self.store.documents_under(prefix)
            seen: set[str] = set()
            pending: list[_Pending] = []
            for n, item in enumerate(items, 1):
                if progress:
                    progress("scan", n, total)
                if isinstance(item[0], str):
                    kind, name = item  # type: ignore[misc]
                    getattr(report, f"skipped_{kind}").append(name)
                    continue
                doc, paragraphs = item  # type: ignore[misc]
                seen.add(doc.path)
                old = existing.get(doc.path)
                if old and old[1] == doc.content_hash and old[2] == self.chunk_sizes.fingerprint:
                    report.unchanged += 1
                    continue
                # A title that only repeats the file name says nothing, and would make a renamed
                # file's chunks look new.
                title = "" if doc.title == Path(doc.path).stem else doc.title
                chunks = make_chunks(paragraphs, embedder.count_tokens, self.chunk_sizes, title=title)
                pending.append(_Pending(doc, chunks, "changed" if old else "new"))

            if require_any is not None and not seen and not existing:
                raise EmbedsearchError(
                    f"nothing to index in {require_any}: {report.skipped} file(s) skipped "
                    f"(empty, binary or not UTF-8/CP949)"
                )
            try:
                self._embed_and_write(pending, report, progress)
            except KeyboardInterrupt:
                report.interrupted = True
                report.seconds = time.perf_counter() - started
                raise Interrupted(report) from None

            gone = [doc_id for path, (doc_id, _, _) in existing.items() if path not in seen]
            if gone:
                with self.store.transaction():
                    self.store.delete_documents(gone)
                report.removed = len(gone)
            if report.new or report.changed or report.removed or "corpus_hangul" not in self.store.meta():
                self.store.update_corpus_language()
            self._sync_faiss(write=True)
        report.chunks_total = self.store.counts()[1]
        report.seconds = time.perf_counter() - started
        return report

    def _embed_and_write(self, pending: list[_Pending], report: IndexReport, progress: Progress | None) -> None:
        """Embed what no stored vector covers, committing a group of documents at a time."""
        known = self.store.vectors_by_hash(c.content_hash for p in pending for c in p.chunks)
        total = len({c.content_hash for p in pending for c in p.chunks if c.content_hash not in known})
        done = 0
        if progress:
            progress("embed", 0, total)

        group: list[_Pending] = []
        group_new: dict[str, Chunk] = {}
        for i, item in enumerate(pending):
            group.append(item)
            for c in item.chunks:
                if c.content_hash not in known:  # `known` grows as each group is embedded
                    group_new[c.content_hash] = c
            if len(group_new) < COMMIT_EVERY and i < len(pending) - 1:
                continue
            if group_new:
                texts = [c.embed_text for c in group_new.values()]
                t0 = time.perf_counter()

                def step(n: int) -> None:
                    nonlocal done
                    done += n
                    if progress:
                        progress("embed", done, total)

                vectors = self.embedder.embed_passages(texts, progress=step)
                report.embed_seconds += time.perf_counter() - t0
                report.tokens_embedded += sum(c.token_count for c in group_new.values())
                for h, v in zip(group_new, vectors):
                    known[h] = np.asarray(v, dtype=np.float32).tobytes()
            with self.store.transaction():
                for p in group:
                    self.store.replace_document(p.document, self.chunk_sizes.fingerprint, p.chunks,
                                                [known[c.content_hash] for c in p.chunks])
            for p in group:
                setattr(report, p.status, getattr(report, p.status) + 1)
            report.chunks_embedded += len(group_new)
            report.chunks_reused += sum(len(p.chunks) for p in group) - len(group_new)
            group, group_new = [], {}

    # -- the derived FAISS index ----------------------------------------------------------

    def _sync_faiss(self, write: bool) -> "faiss.Index":
        """The FAISS index for the current generation: cached, loaded, or rebuilt from SQLite."""
        generation = self.store.generation
        if self._faiss and self._faiss[0] == generation:
            return self._faiss[1]
        index = faiss_index.load(self.path, generation)
        if index is None:
            dim = int(self.store.meta().get("dim") or 0) or self.embedder.dim
            ids, vectors = self.store.all_vectors(dim)
            index = faiss_index.build(vectors, ids)
            if write:
                faiss_index.save(index, self.path, generation)
            elif self._try_lock():  # no `index` run is writing: keep the rebuilt file for next time
                try:
                    faiss_index.save(index, self.path, generation)
                except OSError:
                    pass  # a read-only index still searches, from memory
                finally:
                    self._lock().release()
        self._faiss = (generation, index)
        return index

    # -- searching ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: str | None = None,
        min_score: float | None = None,
        path: str | None = None,
        tag: str | None = None,
    ) -> list[Hit]:
        """The k passages that best match `query`, best first.

        `mode` is "hybrid" (the default: meaning and words together), "dense" (meaning: E5
        cosine) or "lexical" (words: BM25). `min_score` applies to that mode's score. `path`
        keeps documents whose path matches a glob (`notes/*`, `*.md`); `tag` keeps documents
        whose front matter lists that tag.
        """
        from .search import DEFAULT_MODE, HYBRID_CANDIDATES, MODES

        mode = mode or DEFAULT_MODE
        if mode not in MODES:
            raise EmbedsearchError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        query = nfc(query).strip()
        if not query:
            raise EmbedsearchError("empty query")
        if k < 1:
            raise EmbedsearchError("k must be at least 1")
        allowed = self.store.chunk_ids_where(path, tag) if (path or tag) else None
        calibrated = self._relevance_calibrated()
        candidates = max(k, HYBRID_CANDIDATES)
        dense_ranked = self._dense(query, candidates if mode == "hybrid" else k, allowed) if mode != "lexical" else []
        # dense mode ranks by cosine alone, but its relevance signal needs the lexical evidence too
        lexical_ranked = (self._lexical(query, k if mode == "lexical" else candidates, allowed)
                          if mode != "dense" or calibrated else [])

        relevant: dict[int, bool] = {}
        if mode == "lexical":
            ranked, parts = lexical_ranked, {i: {"lexical": s} for i, s in lexical_ranked}
        else:
            from .search import fusion, lexical

            corpus_hangul = self.store.meta().get("corpus_hangul")
            ideal = lexical.ideal_score(self.store.conn, query) if lexical_ranked else 0.0
            info = fusion.QueryInfo(query, ideal, float(corpus_hangul) if corpus_hangul else None)
            fused = fusion.fuse(dense_ranked, lexical_ranked, info)
            if mode == "hybrid":
                ranked, parts = [(f.chunk_id, f.score) for f in fused], {f.chunk_id: f.parts for f in fused}
            else:
                ranked, parts = dense_ranked, {i: {"dense": s} for i, s in dense_ranked}
            if calibrated:
                relevant = {f.chunk_id: fusion.is_relevant(f, info) for f in fused}
        if min_score is not None:
            ranked = [(i, s) for i, s in ranked if s >= min_score]
        hits = self._hits(ranked[:k], parts)
        for hit in hits:
            hit.relevant = relevant.get(hit.chunk_id)
        return hits

    # The relevance signal's thresholds were calibrated for the bundled model's cosines, and its
    # lexical coverage needs IDF statistics that mean something: below this many chunks they don't.
    RELEVANCE_MIN_CHUNKS = 50

    def _relevance_calibrated(self) -> bool:
        from .search import lexical
        from .vectors import is_bundled

        return (is_bundled(self.model_name) and self.store.has_lexical()
                and lexical.count(self.store.conn) >= self.RELEVANCE_MIN_CHUNKS)

    def _dense(self, query: str, n: int, allowed: list[int] | None) -> list[tuple[int, float]]:
        from .search import dense

        self._check_model()
        index = self._sync_faiss(write=False)
        vector = self.embedder.embed_queries([query])[0]
        return dense.search(index, vector, n, allowed)

    def _lexical(self, query: str, n: int, allowed: list[int] | None) -> list[tuple[int, float]]:
        from .search import lexical

        if not self.store.has_lexical():
            raise EmbedsearchError(
                f"index {self.path} has no lexical index yet: run `embedsearch index FOLDER` once to add it"
            )
        return lexical.search(self.store.conn, query, n, allowed)

    def _hits(self, ranked: list[tuple[int, float]], parts: dict[int, dict[str, float]] | None = None) -> list[Hit]:
        rows = self.store.chunk_rows([i for i, _ in ranked])
        hits = []
        for i, score in ranked:
            row = rows.get(i)
            if row is None:  # deleted by a concurrent `index` since the FAISS file was read
                continue
            hits.append(
                Hit(score=score, text=row["text"], path=row["path"], line_start=row["line_start"],
                    line_end=row["line_end"], heading=row["heading"], title=row["title"], chunk_id=i,
                    rank=len(hits) + 1, scores=(parts or {}).get(i, {}))
            )
        return hits

    # -- answering ------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        template: str | os.PathLike[str] | None = None,
        llm: "LLMConfig | LLM | None" = None,
        on_token: Callable[[str], None] | None = None,
        **search_kwargs: Any,
    ) -> "Answer":
        """Answer `question` from the nearest passages with an LLM, citing them as [n].

        `llm=None` reads the environment and the config file; with no LLM configured the
        Answer's text is "" and its `prompt` holds the filled prompt.
        """
        from .answer import ask

        return ask(self, question, k=k, template=template, llm=llm, on_token=on_token, **search_kwargs)

    def ask_stream(
        self,
        question: str,
        *,
        k: int = 5,
        template: str | os.PathLike[str] | None = None,
        llm: "LLMConfig | LLM | None" = None,
        **search_kwargs: Any,
    ) -> "Iterator[str | Answer]":
        """`ask`, streamed: the answer's text as it arrives, then the finished Answer."""
        from .answer import ask_stream

        return ask_stream(self, question, k=k, template=template, llm=llm, **search_kwargs)

    # -- status ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        meta = self.store.meta()
        documents, chunks = self.store.counts()
        size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        return {
            "path": str(self.path),
            "documents": documents,
            "chunks": chunks,
            "model": meta.get("model") or None,
            "embedder": meta.get("embedder") or None,
            "dimension": int(meta["dim"]) if meta.get("dim") else None,
            "size_bytes": size,
            "last_indexed": self.store.last_indexed(),
            "schema_version": int(meta.get("schema_version", 0)),
        }

    # -- locking and lifetime -------------------------------------------------------------

    def _lock(self):  # type: ignore[no-untyped-def]
        from filelock import FileLock

        if not hasattr(self, "_filelock"):
            self._filelock = FileLock(str(self.path / ".write.lock"))
        return self._filelock

    def _write_lock(self):  # type: ignore[no-untyped-def]
        from filelock import Timeout

        lock = self._lock()
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise IndexBusyError(
                f"another `embedsearch index` is writing to {self.path}; wait for it to finish and try again"
            ) from None
        except OSError as exc:
            raise EmbedsearchError(f"cannot write to index directory {self.path}: {exc.strerror}") from None
        return _Releasing(lock)

    def _try_lock(self) -> bool:
        from filelock import Timeout

        try:
            self._lock().acquire(timeout=0)
            return True
        except (Timeout, OSError):
            return False

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r}, model={self.model_name!r})"


class _Releasing:
    def __init__(self, lock: Any) -> None:
        self.lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

