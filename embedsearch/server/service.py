"""What every endpoint shares: the index, the LLM, the indexing jobs, and the threads work runs on.

Searching, reading documents and status run on a small pool of long-lived reader threads: the
event loop never blocks, and because each thread keeps its own SQLite connection (`Store` opens
one per thread), a fixed pool means a fixed number of connections, where the ASGI server's own
pool would open one for every new thread it spins up. More readers than cores would only make
the query embeddings (and OpenMP) fight over the CPU.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from .. import operations as ops
from ..errors import EmbedsearchError, IndexBusyError
from .answers import Answers
from .jobs import IndexJobs, Job
from .security import Folders, clip

if TYPE_CHECKING:
    from ..operations import Index, LLMConfig

log = logging.getLogger(__name__)
T = TypeVar("T")
READERS = max(2, min(4, os.cpu_count() or 2))


class Service:
    def __init__(self, index: "Index", llm: "LLMConfig", watch: Iterable[str | os.PathLike[str]] = (),
                 allow: Iterable[str | os.PathLike[str]] = ()) -> None:
        self.index = index
        self.answers = Answers(llm)
        self.jobs = IndexJobs(index, on_finish=self._catch_up)
        self.watch_folders = [str(Path(f).expanduser().resolve()) for f in watch]
        self.folders = Folders([*self.watch_folders, *allow])  # what POST /api/index may touch
        self.mcp: str | None = None  # where the MCP server is mounted, when it is
        self._readers = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="embedsearch-read")
        self._watcher: Any = None

    async def read(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking read (search, get, status) on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(func, *args, **kwargs))

    def status(self) -> dict[str, Any]:
        index: dict[str, Any] = {"path": str(self.index.path), "exists": self.index.exists()}
        if index["exists"]:
            index.update(ops.status(self.index))
        return {"index": index, "llm": self.answers.describe(), "watch": self.watch_folders, "mcp": self.mcp}

    def start(self) -> None:
        """Start watching the folders given with --watch (in a thread of the watcher's own)."""
        if self.watch_folders:
            from ..watch import Watcher

            self._watcher = Watcher(self.index, self.watch_folders, listener=_log_watch).start()

    def _catch_up(self, job: Job) -> None:
        """After a rebuild job, bring the watched folders up to date again: a rebuild forgets every
        document, and the watcher only hears of files that change, so without this the watched
        folders' documents were gone until each file was saved again (issue 16). Any other job
        leaves documents outside its folder as they were: walking the watched folders again after
        it only held the write lock (a client's next job was a 409 meanwhile)."""
        if self._watcher is None or not job.rebuild:
            return
        for root in self.watch_folders:
            for _ in range(60):  # the watcher itself may be writing a batch: wait for it
                try:
                    if Path(root).is_dir():
                        report = self.index.add(root)
                        log.info("watch: caught up %s after indexing job %s: %s", root, job.id, report.summary())
                    break
                except IndexBusyError:
                    time.sleep(1)
                except EmbedsearchError as exc:
                    log.warning("watch: catching up %s: %s", root, clip(str(exc), 400))
                    break

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        self.jobs.close()
        self.answers.close()
        self._readers.shutdown(wait=True)


def _log_watch(event: str, report: Any, message: str) -> None:
    if event == "update" and report is not None:
        log.info("watch: %s: %s", message, report.summary())
    elif event in ("busy", "error"):
        log.warning("watch: %s", message)
    elif event == "ready":
        log.info("watching %s", message)
