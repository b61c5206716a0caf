"""Keep an index current while posts change: file events -> `Index.update(paths)`, debounced.

    watcher = Watcher(Index("ix"), ["posts"])
    watcher.run()              # blocks (Ctrl-C ends it); or watcher.start() / watcher.stop()

watchfiles (the Rust `notify` library underneath) groups a burst of events until the files have
been quiet for `step` ms (at most `debounce` ms), so an editor's save (write a temp file, rename it
over the post) arrives as one batch. Every path in a batch goes to `Index.update`, which reads
what exists and removes what is gone: a rename is a removal plus an addition whose passages
reuse their stored vectors, so nothing is embedded again.

Two things notify does not do, so this module does: a watched folder that is deleted and created
again is watched no more (checked here: no event for a file written into the new folder), so
the watcher checks its roots whenever the event stream times out and starts over, catching up
with a full `add`; and a batch that arrives while another process holds the index's write lock
is kept and retried.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .errors import EmbedsearchError, IndexBusyError

if TYPE_CHECKING:
    from .operations import Index
    from .records import IndexReport

log = logging.getLogger(__name__)

# step: quiet time that closes a batch; 50 ms keeps a saved edit searchable well within 2 s
# (a one-paragraph edit embeds one passage: ~0.1 s). debounce: the longest a batch may grow.
STEP_MS = 50
DEBOUNCE_MS = 1600
POLL_MS = 300  # how often the roots are checked when nothing happens
RETRY_S = 1.0  # after "another index run is writing"

# (event, report): event is "ready" (caught up, watching), "update", "busy", "error", "stopped"
Listener = Callable[[str, "IndexReport | None", str], None]


class Watcher:
    def __init__(
        self,
        index: "Index",
        folders: Iterable[str | os.PathLike[str]],
        *,
        listener: Listener | None = None,
        max_file_size: int | None = None,
        step_ms: int = STEP_MS,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        self.index = index
        self.roots = [Path(f).expanduser().resolve() for f in folders]
        missing = [str(r) for r in self.roots if not r.is_dir()]
        if missing:
            raise EmbedsearchError(f"not a folder: {missing[0]}")
        self.listener = listener or (lambda event, report, message: None)
        self.max_file_size = max_file_size
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.updates = 0  # batches applied, for status and tests
        self.ready = False  # caught up and watching

    # -- running ------------------------------------------------------------------------------

    def run(self) -> None:
        """Catch up with the folders, then apply changes as they happen, until `stop()` or Ctrl-C."""
        watched: list[Path] = []
        try:
            while not self._stop.is_set():
                live = [r for r in self.roots if r.is_dir()]
                returning = [r for r in live if r not in watched]  # new, or back after being deleted
                watched = live
                if not live:
                    self._stop.wait(POLL_MS / 1000)
                    continue
                self._watch(live, catch_up=returning)
        finally:
            self.listener("stopped", None, "")

    def start(self) -> "Watcher":
        """Run in a daemon thread (what `serve --watch` does)."""
        self._thread = threading.Thread(target=self._run_logged, name="embedsearch-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception as exc:  # noqa: BLE001 (a background thread must say why it died)
            log.exception("watching stopped")
            self.listener("error", None, str(exc))

    # -- one watch session ----------------------------------------------------------------------

    def _watch(self, live: list[Path], catch_up: list[Path]) -> None:
        """Watch `live` until the set of existing roots changes (or stop): then the caller starts over.

        The roots in `catch_up` get a full `add` once the watches are in place, so no change made
        in between is missed (one made during the catch-up arrives as an event and costs nothing).
        """
        import watchfiles

        pending: set[str] = set()
        retry_at = 0.0
        first = True
        stream = watchfiles.watch(
            *live, watch_filter=PostsFilter(live), stop_event=self._stop, step=self.step_ms,
            debounce=self.debounce_ms, rust_timeout=POLL_MS, yield_on_timeout=True,
            raise_interrupt=threading.current_thread() is threading.main_thread(),
        )
        for changes in stream:
            if first:  # the first yield: notify's watches exist now
                first = False
                self._catch_up(catch_up)
                if not self.ready:
                    self.ready = True
                    self.listener("ready", None, ", ".join(map(str, self.roots)))
            pending.update(path for _, path in changes)
            gone = [r for r in live if not r.is_dir()]
            back = [r for r in self.roots if r not in live and r.is_dir()]
            pending.update(str(r) for r in gone)
            if pending and time.monotonic() >= retry_at:
                if self._apply(sorted(pending)):
                    pending.clear()
                else:
                    retry_at = time.monotonic() + RETRY_S
            if gone or back:
                return  # start over with the roots that exist now (run() catches up the returning ones)

    def _apply(self, paths: list[str]) -> bool:
        """Update the index for `paths`; False when another writer holds the index (try again later)."""
        try:
            report = self.index.update(paths, max_file_size=self.max_file_size)
        except IndexBusyError as exc:
            self.listener("busy", None, str(exc))
            return False
        except EmbedsearchError as exc:  # a disk full, a damaged file: say so, keep watching
            self.listener("error", None, str(exc))
            return True
        self.updates += 1
        if report.new or report.changed or report.removed or report.skipped:
            self.listener("update", report, f"{len(paths)} path(s)")
        return True

    def _catch_up(self, roots: list[Path]) -> None:
        """A full `add` of each root: files changed while nobody watched (or while a root was gone)."""
        for root in roots:
            while not self._stop.is_set():
                try:
                    report = self.index.add(root, max_file_size=self.max_file_size)
                except IndexBusyError as exc:
                    self.listener("busy", None, str(exc))
                    self._stop.wait(RETRY_S)
                    continue
                except EmbedsearchError as exc:  # e.g. "nothing to index" in an empty folder
                    self.listener("error", None, str(exc))
                    break
                if report.new or report.changed or report.removed or report.skipped:
                    self.listener("update", report, str(root))
                break


def _hidden(path: str, roots: list[Path]) -> bool:
    """A hidden file or a file in a hidden folder below a root (walk skips them too)."""
    for root in roots:
        try:
            parts = Path(path).relative_to(root).parts
        except ValueError:
            continue
        return any(part.startswith(".") for part in parts)
    return os.path.basename(path).startswith(".")


class PostsFilter:
    """Events worth an update: files a reader handles (or a folder, or anything deleted), not hidden,
    not editors' temp and backup files (watchfiles' DefaultFilter knows those)."""

    def __init__(self, roots: list[Path]) -> None:
        import watchfiles

        from .operations import readable_suffixes

        self.roots = roots
        self.suffixes = readable_suffixes()
        self.default = watchfiles.DefaultFilter()
        self.deleted = watchfiles.Change.deleted

    def __call__(self, change: object, path: str) -> bool:
        if not self.default(change, path) or _hidden(path, self.roots):  # type: ignore[arg-type]
            return False
        if change == self.deleted:
            return True
        return os.path.splitext(path)[1].lower() in self.suffixes or os.path.isdir(path)
