"""Query latency quiet and while other processes keep every core busy (issue: spinning OpenMP waits).

    python benchmarks/query_under_load.py [FOLDER] [--queries N]

Indexes FOLDER (default data/posts) into a temp folder, then runs the same queries through the
Python API (`Index.search`, hybrid, as `embedsearch eval` does) twice: on a quiet machine and
while one `while True: pass` process per core runs. Prints p50/p95 per phase, their ratio and the
load average, so a figure always says the load it ran at. Target: p50 under load within 2x of quiet.
OpenMP's spinning waits once took a 35 ms query to 0.7-3.4 s under such load; embedsearch sets
OMP_WAIT_POLICY=PASSIVE when imported and onnxruntime's sessions don't spin.

Measured 2026-12-06 on data/posts (2 cores, 60 queries, two busy-loop processes in the busy phase):
    passive (default)              quiet p50 23.0 ms / p95 29.5   busy p50 33.3 / p95 45.6   1.45x
    OMP_WAIT_POLICY=ACTIVE (before) quiet p50 24.4 ms / p95 151.8  busy p50 80.2 / p95 268.1  3.28x
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUERIES = ["LLM은 어떻게 다음 단어를 고르나요?", "what is LoRA?", "토큰이란 무엇인가", "RAG 검색 증강 생성",
           "프롬프트 엔지니어링", "how does attention work", "파인튜닝과 양자화", "온도와 샘플링 전략"]


def timings(ix, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        ix.search(QUERIES[i % len(QUERIES)] + f" {i // len(QUERIES) or ''}".rstrip(), k=5)
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, ms: list[float]) -> float:
    p50 = statistics.median(ms)
    p95 = sorted(ms)[int(0.95 * (len(ms) - 1))]
    print(f"{name:>10}: p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  (n={len(ms)}, load {os.getloadavg()[0]:.2f})")
    return p50


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default=str(REPO / "data" / "posts"))
    ap.add_argument("--queries", type=int, default=60)
    args = ap.parse_args()
    from embedsearch import Index

    with tempfile.TemporaryDirectory() as tmp, Index(Path(tmp) / "ix", create=True) as ix:
        ix.add(args.folder)
        timings(ix, 5)  # warm: model loaded, FAISS read
        quiet = summary("quiet", timings(ix, args.queries))
        burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
        try:
            time.sleep(3)
            loaded = summary("busy", timings(ix, args.queries))
        finally:
            for p in burners:
                p.kill()
        print(f"p50 busy / quiet: {loaded / quiet:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
