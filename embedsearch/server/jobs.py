"""Indexing runs started over HTTP: one at a time, on one writer thread, each a job to poll.

A job rather than a request that waits for the answer: the first indexing of a folder embeds
about 8 passages a second on two cores, so a blog of a thousand posts takes minutes, longer
than a browser, a proxy or a script should hold a request open. `POST /api/index` answers at
once with the job's URL; the job shows its progress and ends with the same report
`embedsearch index --json` prints. (`"wait": true` holds the request until it ends, for scripts
that prefer that.)

A second run while one is going is refused with 409, as is one while another process (or
`serve --watch`) holds the index's write lock. Stopping the server interrupts a running job
between two steps; what it committed stays, as after Ctrl-C in `embedsearch index`.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import EmbedsearchError, IndexBusyError
from .security import clip

if TYPE_CHECKING:
    from ..operations import Index

log = logging.getLogger(__name__)
KEEP_JOBS = 20  # finished jobs remembered for their status URL


@dataclass
class Job:
    id: str
    folder: str
    rebuild: bool
    state: str = "running"  # running | done | failed | interrupted
    started: float = field(default_factory=time.time)
    finished: float | None = None
    progress: dict[str, Any] | None = None  # {"phase", "done", "total"}
    report: dict[str, Any] | None = None  # views.report_json
    error: str | None = None
    future: "Future[None] | None" = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"/api/index/jobs/{self.id}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "folder": self.folder, "rebuild": self.rebuild, "state": self.state,
                "started": self.started, "finished": self.finished, "progress": self.progress,
                "report": self.report, "error": self.error}


class IndexJobs:
    def __init__(self, index: "Index", on_finish: "Callable[[Job], None] | None" = None) -> None:
        """`on_finish(job)` runs on the writer thread after each job (the watcher's catch-up)."""
        self.index = index
        self.on_finish = on_finish
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedsearch-write")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self, folder: str, rebuild: bool = False) -> Job:
        """Start indexing `folder`; IndexBusyError when a job or another writer is at it."""
        try:
            exists = Path(folder).expanduser().exists()
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL
            raise EmbedsearchError(f"not a folder: {clip(folder)} ({getattr(exc, 'strerror', None) or exc})") from None
        if not exists:
            raise EmbedsearchError(f"no such folder: {clip(folder)}")
        with self._lock:
            running = next((job for job in self._jobs.values() if job.state == "running"), None)
            if running:
                raise IndexBusyError(f"an indexing job is already running: {running.url}")
            if self.index.writer_busy():  # another writer now: say so here, not in the job
                raise IndexBusyError(
                    f"another `embedsearch index` is writing to {self.index.path}; wait for it to finish and try again"
                )
            job = Job(id=str(next(self._ids)), folder=folder, rebuild=rebuild)
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
            job.future = self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def close(self) -> None:
        """Interrupt a running job at its next step and wait for it."""
        self._stopping.set()
        self._pool.shutdown(wait=True)

    def _run(self, job: Job) -> None:
        from ..operations import Interrupted
        from ..views import report_json

        def progress(phase: str, done: int, total: int, detail: str = "") -> None:
            if self._stopping.is_set():
                raise KeyboardInterrupt  # the indexer's own way to stop with everything committed kept
            job.progress = {"phase": phase, "done": done, "total": total}

        state, report, error = "failed", None, None
        try:
            report, state = report_json(self.index.add(job.folder, rebuild=job.rebuild, progress=progress),
                                        str(self.index.path)), "done"
        except Interrupted as exc:
            report, state = report_json(exc.report, str(self.index.path)), "interrupted"
        except EmbedsearchError as exc:
            error = str(exc)
        except Exception:  # noqa: BLE001 (the job must end in a state, and the log must say why)
            log.exception("indexing %s failed", clip(job.folder))
            error = "internal error: see the server's log"
        finally:  # the state last: a client that sees it finished finds the rest filled in
            if self.on_finish is not None and not self._stopping.is_set():
                try:
                    self.on_finish(job)
                except Exception:  # noqa: BLE001
                    log.exception("after indexing %s", clip(job.folder))
            job.finished, job.report, job.error = time.time(), report, clip(error, 400) if error else None
            job.state = state
