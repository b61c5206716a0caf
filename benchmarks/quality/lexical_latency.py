"""Latency of the lexical side at personal-corpus scale: indexing, search (top 100), ideal_score, hangul_share.

    python benchmarks/quality/lexical_latency.py [--sizes 1000,10000,50000]

The corpus is KorQuAD dev's 964 passages repeated (each copy with its own id) up to N chunks,
in a file-backed SQLite database like a real index; queries are the first 300 KorQuAD questions.
"""
from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from common import korquad

from embedsearch.store import fts as lexical


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(int(len(xs) * p), len(xs) - 1)] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,50000")
    args = ap.parse_args()
    corpus, queries, _ = korquad()
    questions = [q["text"] for q in queries[:300]]
    print("| chunks | index s (chunks/s) | db MB | search p50 / p95 ms | ideal_score p50 ms | hangul_share ms |")
    print("|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.db"
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            lexical.create_table(conn)
            rows = [(i, corpus[i % len(corpus)]["text"], corpus[i % len(corpus)]["title"]) for i in range(n)]
            t0 = time.perf_counter()
            conn.execute("BEGIN")
            for start in range(0, n, 128):  # the store commits in groups like this
                lexical.upsert(conn, rows[start:start + 128])
            conn.execute("COMMIT")
            index_s = time.perf_counter() - t0
            search, ideal = [], []
            for q in questions:
                t0 = time.perf_counter()
                lexical.search(conn, q, 100)
                search.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                lexical.ideal_score(conn, q)
                ideal.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            lexical.hangul_share(conn)
            share_ms = (time.perf_counter() - t0) * 1000
            conn.close()
            mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
            print(f"| {n:,} | {index_s:.1f} ({n / index_s:,.0f}) | {mb:.0f} | {pct(search, .5):.1f} / {pct(search, .95):.1f} "
                  f"| {pct(ideal, .5):.1f} | {share_ms:.0f} |", flush=True)


if __name__ == "__main__":
    main()
