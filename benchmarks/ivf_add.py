"""Adding and removing 1,000 vectors in the FAISS store's IVF index at 1,000,000 vectors, at normal priority.

    python benchmarks/ivf_add.py          # after `python benchmarks/scale.py --embed-only` has cached the real vectors

benchmarks/scale.py measures this too, but its 1M run takes an hour at low priority, and there the
add ran with the rest of the machine busy (1.8 s). An IVF add costs one nearest-centroid search per
vector (nlist = 4,096 at 1M) and an append to that list; it does not depend on how well the
centroids were trained, so they are trained quickly here (5 vectors per list) on the same 1M
vectors scale.py uses (real E5 vectors, then derived ones).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import scale  # noqa: E402

from embedsearch.store import faiss_store as fs  # noqa: E402


def main() -> None:
    workdir = Path(tempfile.gettempdir()) / "embedsearch-bench" / "scale"
    real, _ = scale.real_vectors(workdir, 100_000, embed=False)
    n = 1_000_000
    xb = scale.derive(real, n)
    extra = scale.derive(real, 1_000, offset=n)
    fs.IVF_TRAIN_PER_LIST = 5
    t = time.perf_counter()
    index = fs.build(xb, np.arange(n, dtype=np.int64), "ivf", fs.ivf_nlist(n))
    print(f"IVF over {n:,} vectors, nlist {index.nlist}, built in {time.perf_counter() - t:.1f} s", flush=True)
    for rep in range(3):
        ids = np.arange(2 * n + rep * 1_000, 2 * n + (rep + 1) * 1_000, dtype=np.int64)
        t = time.perf_counter()
        index.add_with_ids(extra, ids)
        added = time.perf_counter() - t
        t = time.perf_counter()
        index.remove_ids(ids)
        removed = time.perf_counter() - t
        print(f"add 1,000: {added:.3f} s, remove 1,000: {removed:.3f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
