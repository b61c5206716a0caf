"""The write lock of an index directory: one writer at a time, across processes.

An `embedsearch index` run, a watcher, a server's indexing job and a Milvus store rebuilding a
lost collection all write the same files, so all of them take this one lock first, and never wait
for it: a second writer is told at once that another one is busy (an `IndexBusyError`) instead of
queueing behind a run that may last minutes. A directory the process may not write is read-only
for this purpose: it can be searched, not changed.

filelock is imported only when the lock is taken, so a search that never writes does not load it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import EmbedsearchError, IndexBusyError

LOCK_NAME = ".write.lock"


def acquire(directory: Path) -> Any:
    """Take the write lock of `directory` now, or raise; the caller releases the returned lock."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(directory / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError(
            f"another `embedsearch index` is writing to {directory}; wait for it to finish and try again"
        ) from None
    except OSError as exc:
        import errno

        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise EmbedsearchError(f"index {directory} is read-only: it can be searched, not changed", category="state") from None
        raise EmbedsearchError(f"cannot write to index directory {directory}: {exc.strerror}") from None
    return lock


def writer_busy(directory: Path) -> bool:
    """True when another writer (an `index` run, a watcher) holds the write lock of `directory`."""
    if not directory.is_dir():
        return False
    try:
        acquire(directory).release()
    except IndexBusyError:
        return True
    except EmbedsearchError:  # read-only: nobody can be writing here
        return False
    return False
