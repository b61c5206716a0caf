"""FAISS as the vector store: an in-process index, updated in place, persisted now and then.

Each process holds the index in memory and catches up with SQLite's vector log before it
searches (an `index` run that edits one paragraph costs its readers one delete and one add).
The file on disk, `vectors-<seq>.faiss`, is the index as of log position `seq`; it is written to a
temp file and renamed into place, so a reader finds a complete file or none. A writer persists
when replaying the log on open would get long (`persist_due`); until then a cold `search` loads
the file and replays the few changes after it.

Filters become an id selector resolved in SQLite (FAISS has no metadata of its own).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import DiskFullError
from .database import defer_interrupts
from .vector_store import VectorStore

if TYPE_CHECKING:
    import faiss

    from .database import Filter, VectorRow

# Exact search up to this many vectors: it stays interactive (p50 75 ms at 1M, 2 cores), and it
# supports removing ids, which in-place updates need (HNSW can't remove). Approximate recall on
# E5-like vectors was also weak (1M vectors with e5-small's spread: HNSW efSearch=128 recall@10
# 0.46; IVF nprobe=64 0.48). `python benchmarks/run.py --scale` measures it.
HNSW_THRESHOLD = 2_000_000
HNSW_M = 32
HNSW_EF_SEARCH = 256
HNSW_EF_CONSTRUCTION = 80
# Persist once the log since the file holds this many changes (or a twentieth of the index):
# replaying 1,000 changes on open costs a cold search a few milliseconds.
PERSIST_AFTER = 1_000

_FILE = re.compile(r"^vectors-(\d+)\.faiss$")
_OLD_FILE = re.compile(r"^vectors\.\d+\.faiss$")  # schema 1's files, named by generation
_TEMP = re.compile(r"^\.vectors\..*\.tmp$")


def choose_kind(n: int) -> str:
    return "hnsw" if n >= HNSW_THRESHOLD else "flat"


def new_index(dim: int, kind: str = "flat") -> "faiss.Index":
    """An empty inner-product index over L2-normalised vectors, keyed by chunk id."""
    import faiss

    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        inner = faiss.IndexFlatIP(dim)
    return faiss.IndexIDMap2(inner)


def build(vectors: np.ndarray, ids: np.ndarray, kind: str | None = None) -> "faiss.Index":
    """An index holding `vectors` under `ids` (benchmarks build them directly)."""
    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[0] else 0
    index = new_index(dim, kind or choose_kind(len(ids)))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    return index


class FaissStore(VectorStore):
    name = "faiss"
    shared = False

    def __init__(self, db: Any, dim: int, location: str = "") -> None:
        super().__init__(db, dim, location)
        self.directory = Path(location) if location else db.directory
        self.index: "faiss.Index | None" = None
        self.persisted_seq = -1

    # -- files ----------------------------------------------------------------------------

    def files(self) -> list[tuple[int, Path]]:
        """(seq, path) of the persisted indexes here, newest first."""
        found = []
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        for name in names:
            match = _FILE.match(name)
            if match:
                found.append((int(match.group(1)), self.directory / name))
        return sorted(found, reverse=True)

    def load(self) -> None:
        """The newest readable file, or nothing (sync then builds from SQLite)."""
        import faiss

        for seq, path in self.files():
            try:
                index = faiss.read_index(str(path))
            except (RuntimeError, OSError):  # damaged, or removed by a writer since listing
                continue
            if index.d != self.dim and index.ntotal:
                continue
            self.index, self.seq, self.persisted_seq = index, seq, seq
            return
        self.index, self.seq = None, -1

    def persist_due(self) -> bool:
        if self.persisted_seq < 0:
            return True
        return self.seq - self.persisted_seq >= max(PERSIST_AFTER, self._count() // 20)

    def persist(self) -> None:
        """Write the index for `self.seq` atomically, then drop older files and log entries."""
        import faiss

        if self.index is None or self.seq == self.persisted_seq:
            return
        target = self.directory / f"vectors-{self.seq}.faiss"
        fd, tmp = tempfile.mkstemp(prefix=".vectors.", suffix=".tmp", dir=self.directory)
        os.close(fd)
        try:
            with self._lock.read():
                faiss.write_index(self.index, tmp)
            os.chmod(tmp, _file_mode(self.db.path))
            with defer_interrupts():
                os.replace(tmp, target)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, (RuntimeError, OSError)) and _no_space(exc, self.directory):
                raise DiskFullError(
                    f"no space left on the disk holding {self.directory} while saving the vector index: free "
                    "some space and run the command again (the index is as it was)"
                ) from None
            raise
        self.persisted_seq = self.seq
        self.stats["persisted"] += 1
        for seq, path in self.files():
            if seq != self.seq:
                path.unlink(missing_ok=True)
        self.db.prune_log(self.seq)

    def clean(self) -> None:
        """Remove temp files of killed writers and schema 1's files (a writer calls this)."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in names:
            if _TEMP.match(name) or _OLD_FILE.match(name):
                (self.directory / name).unlink(missing_ok=True)

    # -- primitives -----------------------------------------------------------------------

    def _ensure(self) -> "faiss.Index":
        if self.index is None:
            self.index = new_index(self.dim, "flat")
        return self.index

    def _upsert(self, rows: "list[VectorRow]") -> None:
        if not rows:
            return
        index = self._ensure()
        ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.vstack([r.vector for r in rows]).astype(np.float32, copy=False)
        self._remove(index, ids)
        index.add_with_ids(np.ascontiguousarray(vectors), ids)

    def _delete(self, ids: Sequence[int]) -> None:
        if self.index is not None and len(ids):
            self._remove(self.index, np.asarray(ids, dtype=np.int64))

    @staticmethod
    def _remove(index: "faiss.Index", ids: np.ndarray) -> None:
        import faiss

        if index.ntotal:
            index.remove_ids(faiss.IDSelectorBatch(ids))

    def _search(self, vector: np.ndarray, k: int, flt: "Filter | None") -> list[tuple[int, float]]:
        index = self.index
        if index is None or index.ntotal == 0:
            return []
        params = None
        if flt:
            import faiss

            allowed = self.db.chunk_ids(flt)
            if not allowed:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        scores, ids = index.search(vector.reshape(1, -1), min(k, index.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def _count(self) -> int:
        return int(self.index.ntotal) if self.index is not None else 0

    def _clear(self) -> None:
        self.index = new_index(self.dim, "flat")

    def rebuild(self, head: int | None = None) -> None:
        super().rebuild(head)
        if self.index is not None and choose_kind(self.index.ntotal) != "flat":
            # Past HNSW_THRESHOLD: an approximate index, built once from the exact one's vectors
            with self._lock.write():
                flat = self.index
                ids = faiss_ids(flat)
                vectors = flat.index.reconstruct_n(0, flat.ntotal)
                self.index = build(vectors, ids, "hnsw")

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["location"] = str(self.directory)
        info["persisted_seq"] = self.persisted_seq
        return info


def faiss_ids(index: "faiss.Index") -> np.ndarray:
    import faiss

    return faiss.vector_to_array(index.id_map).astype(np.int64)


def _file_mode(reference: Path) -> int:
    """The database's permissions for the vector file (mkstemp would make it 0600)."""
    try:
        return reference.stat().st_mode & 0o666
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _no_space(exc: BaseException, directory: Path) -> bool:
    import errno

    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    try:
        st = os.statvfs(directory)
        return st.f_bavail * st.f_frsize < 1 << 20
    except OSError:
        return False
