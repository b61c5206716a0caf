"""The index database's connections: one per thread, read-only where the directory is, and atomic writes.

A server searches from many threads while a watcher writes, so each thread gets its own SQLite
connection (WAL mode lets the reads go on during a write). A database on a read-only directory or
mount opens read-only (`mode=ro`, or `immutable=1` when SQLite cannot even create its
shared-memory file there). SQLite's errors leave here as one-line `EmbedsearchError`s.

`Connection` is the base every other part of `Store` builds on: the schema, the vector log and
the documents all reach SQLite through `self.conn` and write inside `self.transaction()`.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import DamagedIndexError, DiskFullError, EmbedsearchError

DB_NAME = "embedsearch.db"


class Connection:
    """The connections to one index database: each thread gets its own, so it is safe to share."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / DB_NAME
        self.read_only = False
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.conn  # open now, so a damaged or unreadable database is reported where it is opened

    # -- connections ----------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        # SQLite opens a file it may not write read-only without a word, and then reads it fine
        # when its -shm file is there (an index copied while open): ask the file system first.
        if not self.read_only and self.path.exists() and not (
                os.access(self.path, os.W_OK) and os.access(self.directory, os.W_OK)):
            self.read_only = True
        if not self.read_only:
            try:
                conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
                self._probe(conn)
                conn.execute("PRAGMA foreign_keys = ON")
                return conn
            except sqlite3.OperationalError as exc:
                if not _is_read_only_error(exc):
                    raise _translate(exc, self.path) from None
            self.read_only = True
        return self._connect_read_only()

    def _connect_read_only(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri()
        last: sqlite3.Error | None = None
        for params in ("mode=ro", "immutable=1"):  # immutable: no -shm file can be created here
            try:
                conn = sqlite3.connect(f"{uri}?{params}", uri=True, isolation_level=None, check_same_thread=False)
                self._probe(conn)
                return conn
            except sqlite3.OperationalError as exc:
                last = exc
        raise _translate(last, self.path) from None  # type: ignore[arg-type]

    def _probe(self, conn: sqlite3.Connection) -> None:
        """Touch the file, so a damaged database or an unopenable one fails here, not mid-search."""
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise
            raise _translate(exc, self.path) from None

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write step: all of it lands, or none of it does.

        Ctrl-C during the COMMIT itself is held back until the commit has finished (before, it
        could interrupt the commit and then fail to roll back: "cannot rollback").
        """
        conn = self.conn
        depth = getattr(self._local, "depth", 0)
        if depth:  # inside another transaction (a rebuild's): a savepoint, committed with the outer one
            name = f"step{depth}"
            self._local.depth = depth + 1
            try:
                with self._writing():
                    conn.execute(f"SAVEPOINT {name}")
                    try:
                        yield
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute(f"ROLLBACK TO {name}")
                        raise
                    finally:
                        if conn.in_transaction:
                            conn.execute(f"RELEASE {name}")
            finally:
                self._local.depth = depth
            return
        with self._writing():
            conn.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            try:
                yield
                with defer_interrupts():
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise
            finally:
                self._local.depth = 0

    def in_transaction(self) -> bool:
        """True inside `transaction()` on this thread (a rebuild's writes are not committed yet)."""
        return bool(getattr(self._local, "depth", 0))

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn SQLite's write failures (full disk, read-only file) into one-line errors."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise _translate(exc, self.path) from None

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside sees the same committed state."""
        conn = self.conn
        if conn.in_transaction:  # nested: the outer snapshot holds
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def checkpoint(self) -> None:
        """Fold the WAL into the main file: a copy of the directory (or a read-only open) sees everything."""
        if self.read_only:
            return
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass  # a reader holds the WAL; the next writer checkpoints


# -- errors -------------------------------------------------------------------------------

_READ_ONLY_MESSAGES = ("unable to open database file", "attempt to write a readonly database", "readonly database")


def _is_read_only_error(exc: sqlite3.Error) -> bool:
    return any(m in str(exc).lower() for m in _READ_ONLY_MESSAGES)


def _translate(exc: sqlite3.Error, path: Path) -> EmbedsearchError:
    """SQLite's errors as one line that says what happened and what to do."""
    message = str(exc)
    low = message.lower()
    if "disk is full" in low or ("disk i/o error" in low and _disk_full(path.parent)):
        return DiskFullError(
            f"no space left on the disk holding {path.parent}: free some space and run the command again "
            f"(the index is as it was after its last completed step)"
        )
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return DamagedIndexError(
            f"the index database {path} is damaged ({message}): rebuild it with "
            f"`embedsearch index FOLDER --rebuild --index {path.parent}`"
        )
    if "readonly" in low:
        return EmbedsearchError(f"index {path.parent} is read-only: it can be searched, not changed", category="state")
    if "locked" in low or "busy" in low:
        return EmbedsearchError(f"index {path.parent} is busy (another process holds it): try again in a moment")
    return EmbedsearchError(f"cannot use the index database {path}: {message}")


def _disk_full(directory: Path) -> bool:
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1 << 20


@contextmanager
def defer_interrupts() -> Iterator[None]:
    """Hold Ctrl-C back until the block ends, then raise it: for commits and file renames.

    Only the main thread receives signals; elsewhere this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except (ValueError, OSError):  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt
