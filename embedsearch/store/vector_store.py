"""The vector-store interface: where chunk vectors are searched, derived from SQLite and kept in step with it.

SQLite holds every vector; a vector store is an index over them that can always be rebuilt from
it. Each backend implements five primitives (`_upsert`, `_delete`, `_search`, `_count`,
`_clear`) plus loading and persisting its own state; this base class does the rest, the same for
every backend:

- `sync()` catches up with the database by replaying its vector log (the chunk ids changed
  since the sequence number the store reflects): delete those ids, re-add the ones that still
  exist. An edit to one paragraph costs one delete and one add, not a rebuild. A store that is
  missing, damaged, or older than what the log still holds is rebuilt from SQLite.
- `search(vector, k, filter)` under a read lock, `upsert`/`delete`/`sync` under a write lock, so
  a server's search threads and its watcher never see a half-applied change.

Backends are registered by name in `VECTOR_STORES` (`register("faiss", "module:Class")`, or an
entry point in the group `embedsearch.vector_stores`: see embedsearch/registry.py) and chosen when
an index is created (`--vector-store faiss` or `milvus:URI`); the choice is recorded in the
index's meta and an index can't be opened with another store.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Sequence

import numpy as np

from ..errors import EmbedsearchError, ModelMismatchError
from ..registry import Registry

if TYPE_CHECKING:
    from .database import Filter, Store, VectorRow

DEFAULT = "faiss"


def _store_class(part: Any) -> "type[VectorStore]":
    """What a name resolves to must be a VectorStore class (a plugin's mistake is one line)."""
    if not (isinstance(part, type) and issubclass(part, VectorStore)):
        raise EmbedsearchError(f"vector store {part!r} is not a subclass of embedsearch.store.VectorStore")
    return part


VECTOR_STORES: "Registry[type[VectorStore]]" = Registry("vector store", "embedsearch.vector_stores",
                                                       hint=" (e.g. milvus:URI)", prepare=_store_class)


def register(name: str, target: "type[VectorStore] | str") -> None:
    """Make a backend available as `--vector-store name[:location]`; target is the class or "module:Class"."""
    VECTOR_STORES.register(name, target)


def names() -> list[str]:
    return VECTOR_STORES.names()


def parse_spec(spec: str | None) -> tuple[str, str]:
    """"faiss" -> ("faiss", ""); "milvus:./x.db" -> ("milvus", "./x.db"). Unknown names are an error."""
    spec = (spec or DEFAULT).strip()
    name, _, location = spec.partition(":")
    entry = VECTOR_STORES.entry(name)
    if entry is None:
        raise VECTOR_STORES.unknown(spec)
    return entry.name, location


def backend_class(name: str) -> type["VectorStore"]:
    return VECTOR_STORES.get(name)


register("faiss", "embedsearch.store.faiss_store:FaissStore")
register("milvus", "embedsearch.store.milvus_store:MilvusStore")


def open_store(spec: str, db: "Store", dim: int) -> "VectorStore":
    """The vector store an index was created with, loaded (not yet synced)."""
    name, location = parse_spec(spec)
    store = backend_class(name)(db, dim, location)
    store.load()
    return store


class RWLock:
    """Many readers or one writer (searches run together; a sync waits for them and holds them off).

    A writer that is waiting keeps new readers out. Without that, a server's searches, each
    holding the read lock for a moment, overlap without a gap under load and the writer (the
    watcher's update, a sync) waits as long as the load lasts: an edit took 10-21 s to become
    searchable with 8 clients (benchmarks/load.py), where it takes under 2 s. Not re-entrant:
    a reader must not take the lock again while it holds it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class VectorStore(ABC):
    """Vectors of chunks, searchable by inner product (vectors are L2-normalised: cosine)."""

    name: ClassVar[str]
    # True for a store other processes share (a Milvus server): only writers sync it, readers
    # search it as it is. False for an in-process index (FAISS): every process catches up itself.
    shared: ClassVar[bool] = False

    def __init__(self, db: "Store", dim: int, location: str = "") -> None:
        self.db = db
        self.dim = dim
        self.location = location
        self.seq = -1  # the vector-log position this store reflects; -1: nothing loaded
        self.stats = {"rebuilds": 0, "upserted": 0, "deleted": 0, "persisted": 0}
        self._lock = RWLock()
        self._sync_lock = threading.Lock()

    @classmethod
    def normalise_location(cls, location: str) -> str:
        """The location as recorded in the index's meta (e.g. a local file made absolute)."""
        return location

    # -- what a backend implements ----------------------------------------------------------

    @abstractmethod
    def load(self) -> None:
        """Load persisted state and set `self.seq` (-1 when there is none to load)."""

    @abstractmethod
    def persist(self) -> None:
        """Make the applied state durable, recording `self.seq`."""

    @abstractmethod
    def _upsert(self, rows: "list[VectorRow]") -> None: ...

    @abstractmethod
    def _delete(self, ids: Sequence[int]) -> None: ...

    @abstractmethod
    def _search(self, vector: np.ndarray, k: int, flt: "Filter | None") -> list[tuple[int, float]]: ...

    @abstractmethod
    def _count(self) -> int: ...

    @abstractmethod
    def _clear(self) -> None: ...

    def persist_due(self) -> bool:
        """Whether a writer should persist now (FAISS: when replaying the log gets long)."""
        return True

    def describe(self) -> dict[str, Any]:
        """What `status` shows about the store."""
        return {"kind": self.name, "location": self.location or None, "vectors": self.count()}

    def close(self) -> None:
        pass

    # -- the interface ------------------------------------------------------------------------

    def upsert(self, rows: "list[VectorRow]") -> None:
        """Add vectors, replacing any with the same ids."""
        if rows:
            for row in rows:
                self._check_dim(row.vector, "vector")
            with self._lock.write():
                self._upsert(rows)
            self.stats["upserted"] += len(rows)

    def delete(self, ids: Sequence[int]) -> None:
        """Remove vectors by id (ids not present are ignored)."""
        if len(ids):
            with self._lock.write():
                self._delete(ids)
            self.stats["deleted"] += len(ids)

    def search(self, vector: np.ndarray, k: int, flt: "Filter | None" = None) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the k nearest vectors that pass the filter, best first."""
        if k <= 0:
            return []
        query = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(-1))
        self._check_dim(query, "query vector")
        with self._lock.read():
            return self._search(query, k, flt or None)

    def _check_dim(self, vector: np.ndarray, what: str) -> None:
        """The same one-line error from every store for a vector of another model: FAISS failed
        with a bare AssertionError, Milvus Lite with a matmul error and a logged traceback."""
        if vector.size != self.dim:
            raise ModelMismatchError(f"{what} has {vector.size} dimensions but the {self.name} store holds "
                                     f"{self.dim}: it was made with another model")

    def count(self) -> int:
        with self._lock.read():
            return self._count()

    def sync(self) -> bool:
        """Catch up with the database; True when anything changed. Rebuilds only when it must."""
        with self._sync_lock:
            db = self.db
            with db.snapshot():
                head = db.head_seq()
                if self.seq == head:
                    return False
                if self.seq < db.log_floor() or self.seq > head:
                    self.rebuild(head)
                    return True
                changed = db.changed_since(self.seq, head)
                rows = [row for batch in db.vector_rows(changed) for row in batch]
            with self._lock.write():
                self._delete(changed)
                self._upsert(rows)
                self.seq = head
            self.stats["deleted"] += len(changed)
            self.stats["upserted"] += len(rows)
            return True

    def rebuild(self, head: int | None = None) -> None:
        """Forget everything and add every vector in SQLite (a missing or stale store)."""
        db = self.db
        with db.snapshot():
            head = db.head_seq() if head is None else head
            with self._lock.write():
                self._clear()
                for batch in db.vector_rows():
                    self._upsert(batch)
                self.seq = head
        self.stats["rebuilds"] += 1
