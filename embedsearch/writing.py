"""`Index`'s writing half: adding folders, files and documents under the one write lock.

A mixin of `Index` (index.py), which provides the parts (store, vectors, embedder) and their
locks: the methods here used to make up half of a 800-line class. `add` and `update` walk and
read (files/), the `Indexer` diffs and embeds (indexer.py); `_writing` holds the write lock
(store/lock.py), creates or migrates the schema, checks the embedder, and makes a `--rebuild`
one transaction that leaves the index as it was when it fails.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import DamagedIndexError, EmbedsearchError
from .indexer import Indexer, Interrupted, Progress, Scope, Source
from .reading import _roots
from .records import Document, IndexReport
from .store.database import DB_NAME
from .text import content_hash, nfc


class Writing:
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
