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

import math
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

# Exact search (IndexFlatIP) below IVF_THRESHOLD vectors, an inverted-file index (IVF) from there.
# Figures of `python benchmarks/scale.py` on real and real-derived E5 vectors, 2 cores, are in the
# README; the threshold, nlist and nprobe below come from them. IVF, unlike HNSW, removes ids in
# place (FaissStore replays edits as delete + add), builds in seconds rather than minutes, and
# adds 1,000 vectors in milliseconds.
IVF_THRESHOLD = 200_000
FLAT_BELOW_SHARE = 0.5  # an IVF store goes back to exact search only below half the threshold: no flapping
IVF_LISTS_PER_SQRT = 4  # nlist = 4 sqrt(n), a power of two: 2,048 lists at 200k, 4,096 at 1M
# 64 lists probed: on 100,000 real E5 vectors (nlist 1,024) recall@10 0.970 at 0.8 ms a query,
# where 32 reached only 0.937 (`python benchmarks/scale.py --sizes 100000 --only faiss`).
IVF_NPROBE = 64
IVF_TRAIN_PER_LIST = 40  # k-means on 40 vectors per list (FAISS warns below 39), 10 iterations
# Persist once the log since the file holds this many changes (or a twentieth of the index):
# replaying 1,000 changes on open costs a cold search a few milliseconds.
PERSIST_AFTER = 1_000

_FILE = re.compile(r"^vectors-(\d+)\.faiss$")
_OLD_FILE = re.compile(r"^vectors\.\d+\.faiss$")  # schema 1's files, named by generation
_TEMP = re.compile(r"^\.vectors\..*\.tmp$")


def choose_kind(n: int) -> str:
    """The index kind for n vectors: "flat" (exact) or "ivf"."""
    return "ivf" if n >= IVF_THRESHOLD else "flat"


def ivf_nlist(n: int) -> int:
    """Inverted lists for n vectors: about 4 sqrt(n), rounded to a power of two (never more than n)."""
    return min(1 << max(4, round(math.log2(IVF_LISTS_PER_SQRT * math.sqrt(max(n, 1))))), max(n, 1))


def new_index(dim: int, kind: str = "flat", nlist: int = 0) -> "faiss.Index":
    """An empty inner-product index over L2-normalised vectors, keyed by chunk id.

    "flat" is ready to use; "ivf" (nlist lists, default for IVF_THRESHOLD vectors) must be
    trained first (`train`).
    """
    import faiss

    if kind == "ivf":
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist or ivf_nlist(IVF_THRESHOLD),
                                   faiss.METRIC_INNER_PRODUCT)
        index.cp.spherical = True  # centroids on the unit sphere, as the vectors are
        index.cp.niter = 10
        index.nprobe = IVF_NPROBE
        return index
    if kind != "flat":
        raise ValueError(f"unknown FAISS index kind {kind!r}")
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def train(index: "faiss.Index", vectors: np.ndarray, seed: int = 0) -> None:
    """Train an IVF index's centroids on a sample of `vectors`."""
    nlist = index.nlist
    sample = min(len(vectors), IVF_TRAIN_PER_LIST * nlist)
    if sample < len(vectors):
        picked = np.sort(np.random.default_rng(seed).choice(len(vectors), sample, replace=False))
        vectors = vectors[picked]
    index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST + 1
    index.cp.min_points_per_centroid = 1
    index.train(np.ascontiguousarray(vectors, dtype=np.float32))


def build(vectors: np.ndarray, ids: np.ndarray, kind: str | None = None, nlist: int = 0) -> "faiss.Index":
    """An index holding `vectors` under `ids`, of the kind their number calls for (or `kind`)."""
    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[0] else 0
    kind = kind or choose_kind(len(ids))
    index = new_index(dim, kind, nlist or (ivf_nlist(len(ids)) if kind == "ivf" else 0))
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "ivf":
        train(index, vectors)
    for start in range(0, len(ids), 100_000):
        index.add_with_ids(vectors[start : start + 100_000], np.asarray(ids[start : start + 100_000], dtype=np.int64))
    return index


def kind_of(index: "faiss.Index | None") -> str:
    import faiss

    return "ivf" if isinstance(index, faiss.IndexIVF) else "flat"


def contents(index: "faiss.Index") -> tuple[np.ndarray, np.ndarray]:
    """(vectors, ids) held by a flat or IVF index."""
    import faiss

    if kind_of(index) == "flat":
        return index.index.reconstruct_n(0, index.ntotal), faiss.vector_to_array(index.id_map).astype(np.int64)
    lists = index.invlists
    vectors, ids = [], []
    for i in range(index.nlist):
        size = lists.list_size(i)
        if size:
            ids.append(faiss.rev_swig_ptr(lists.get_ids(i), size).copy())
            codes = faiss.rev_swig_ptr(lists.get_codes(i), size * lists.code_size)
            vectors.append(codes.view(np.float32).reshape(size, index.d).copy())
    if not ids:
        return np.zeros((0, index.d), np.float32), np.zeros(0, np.int64)
    return np.concatenate(vectors), np.concatenate(ids).astype(np.int64)


class FaissStore(VectorStore):
    name = "faiss"
    shared = False

    def __init__(self, db: Any, dim: int, location: str = "") -> None:
        super().__init__(db, dim, location)
        self.directory = Path(location) if location else db.directory
        self.index: "faiss.Index | None" = None
        self.persisted_seq = -1
        self.stats["switches"] = 0  # index kind changed (flat <-> IVF) or IVF retrained for its size

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
            if kind_of(index) == "ivf":
                index.nprobe = IVF_NPROBE
            self.index, self.seq, self.persisted_seq = index, seq, seq
            return
        self.index, self.seq = None, -1

    def persist_due(self) -> bool:
        if self.persisted_seq < 0 or self._reshape_due():
            return True
        return self.seq - self.persisted_seq >= max(PERSIST_AFTER, self._count() // 20)

    def persist(self) -> None:
        """Switch the index kind if its size calls for it, then write the index for `self.seq`
        atomically and drop older files and log entries."""
        import faiss

        reshaped = self._reshape_due()
        if reshaped:
            self._reshape()
        if self.index is None or (self.seq == self.persisted_seq and not reshaped):
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

    # -- the index kind -------------------------------------------------------------------

    def _wanted(self) -> tuple[str, int]:
        """(kind, nlist) for the current size. Writers switch when they persist, so a store
        crossing the threshold is rebuilt once; an IVF store goes back to exact search only below
        half the threshold, and is retrained when it has grown about fourfold (nlist doubled)."""
        n = self._count()
        if kind_of(self.index) == "ivf":
            if n < IVF_THRESHOLD * FLAT_BELOW_SHARE:
                return "flat", 0
            nlist = ivf_nlist(n)
            return "ivf", nlist if nlist >= 2 * self.index.nlist else self.index.nlist
        return ("ivf", ivf_nlist(n)) if n >= IVF_THRESHOLD else ("flat", 0)

    def _reshape_due(self) -> bool:
        if self.index is None:
            return False
        kind, nlist = self._wanted()
        return kind != kind_of(self.index) or (kind == "ivf" and nlist != self.index.nlist)

    def _reshape(self) -> None:
        """Rebuild the index in the kind its size calls for, from the vectors it holds."""
        kind, nlist = self._wanted()
        with self._lock.write():
            vectors, ids = contents(self.index)
            self.index = build(vectors, ids, kind, nlist)
        self.stats["switches"] += 1

    def sync(self) -> bool:
        """Catch up with the log. Behind what the log still holds, load the newer file a writer
        saved (perhaps of another kind, after a switch) rather than rebuild from SQLite."""
        if self.seq < self.db.log_floor():
            newest = self.files()[:1]
            if newest and newest[0][0] > self.persisted_seq:
                self.load()
        return super().sync()

    def rebuild(self, head: int | None = None) -> None:
        super().rebuild(head)
        if self._reshape_due():
            self._reshape()

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
            sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            if kind_of(index) == "ivf":
                # probe more lists the fewer vectors pass, so about as many passing vectors are
                # scanned as without a filter; a narrow filter probes every list: exact
                nprobe = min(index.nlist, math.ceil(index.nprobe * index.ntotal / len(allowed)))
                params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
            else:
                params = faiss.SearchParameters(sel=sel)
        scores, ids = index.search(vector.reshape(1, -1), min(k, index.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def _count(self) -> int:
        return int(self.index.ntotal) if self.index is not None else 0

    def _clear(self) -> None:
        self.index = new_index(self.dim, "flat")

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["location"] = str(self.directory)
        info["persisted_seq"] = self.persisted_seq
        info["index"] = kind_of(self.index)
        if info["index"] == "ivf":
            info.update(nlist=self.index.nlist, nprobe=self.index.nprobe)
        return info


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
