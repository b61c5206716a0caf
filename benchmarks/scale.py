"""Vector stores at scale, judged on real E5 vectors: FAISS index kinds and Milvus Lite, at 100k and 1M.

    python benchmarks/scale.py                           # 100,000 and 1,000,000 vectors, FAISS and Milvus Lite
    python benchmarks/scale.py --sizes 100000 --only faiss
    python benchmarks/run.py --scale                     # the same, as a section of the benchmark suite

**Real vectors.** Every real text at hand is embedded once with `embedsearch.vectors.load_embedder()`
(the index's own model) and cached in --workdir (`real-<embedder>.npz`; embedding is resumable):
- passages: the chunks the indexer makes of data/posts, ../shared/corpus and the three blogs of
  ../shared/corpus-real; KorQuAD dev's 964 contexts (title above the text, as the indexer embeds
  them); AutoRAG-ko's 720 passages; and, for more of them, every sentence of those texts of 20 to
  400 characters, and every pair of neighbouring sentences;
- queries: every KorQuAD dev question, AutoRAG-ko's questions and the project's hand-written ones,
  embedded as queries. They are only ever searched, never added to a store.

**Derived vectors.** Beyond the real ones (kept as they are, first), vector i+1 is made from a real
vector x (taken in turn), one of its 10 nearest real neighbours y (at random), and two other real
vectors a, b (at random):  normalise(x + t (y - x) + s (a - b)),  t ~ U(0, 0.5), s ~ N(0, SPREAD).
It lies between real neighbours, inside the cone real E5 vectors fill, and the random step along a
difference of real vectors keeps its noise in the directions real vectors vary in (isotropic noise
would leave that cone: the old "e5-fit" vectors were harder than real data for that reason).
`python benchmarks/scale.py --check-derived` tests the recipe: derived vectors grown from one half of
the real ones must be as hard for HNSW and IVF as the real vectors of the same count.

Ground truth is exact search (IndexFlatIP) over the same vectors; recall@10 is the share of the
exact top 10 found, over RECALL_QUERIES real questions. Latency is one query at a time, as the CLI
searches, over LATENCY_QUERIES questions, with 2 FAISS threads and with 1. Results are kept in
--workdir (`results.json`): a later run measures only what is missing (--fresh measures again).
Heavy: at 1M, HNSW takes minutes to build and everything wants ~6 GB of RAM; run it with `nice`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
POSTS = REPO / "data" / "posts"

RECALL_QUERIES = 1_000
LATENCY_QUERIES = 200
SPREAD = 0.08
NEIGHBOURS = 10


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


# -- real texts ---------------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    from embedsearch.text import split_sentences

    return [s.strip() for s in split_sentences(text) if 20 <= len(s.strip()) <= 400]


def real_texts() -> tuple[list[str], list[str]]:
    """(passages, queries): every real text at hand, in a fixed order, without repeats."""
    from embedsearch import files
    from embedsearch.chunks import make_chunks
    from embedsearch.text import nfc
    from embedsearch.vectors import load_embedder

    count = load_embedder().count_tokens
    chunks: list[str] = []
    folders = [POSTS, SHARED / "corpus", *sorted((SHARED / "corpus-real").glob("*"))]
    for folder in folders:
        for path in sorted(files.walk(folder, files.SUFFIXES)):
            try:
                documents = files.read_documents(path)
            except files.Skip:
                continue
            for doc, paragraphs in documents:
                title = "" if doc.title == path.stem else doc.title
                chunks += [c.embed_text for c in make_chunks(paragraphs, count, title=title)]
    korquad = json.loads((SHARED / "eval" / "korquad" / "KorQuAD_v1.0_dev.json").read_text("utf-8"))["data"]
    contexts = [(a["title"], p["context"]) for a in korquad for p in a["paragraphs"]]
    chunks += [nfc(f"{title}\n{context}") for title, context in contexts]
    autorag = SHARED / "eval" / "autorag-ko"
    chunks += [nfc(json.loads(line)["text"]) for line in (autorag / "corpus.jsonl").read_text("utf-8").splitlines()
               if line.strip()]

    # chunks first, then sentences, then sentence pairs: embedding is resumable in this order
    split = [_sentences(c) for c in chunks]
    passages = chunks + [s for ss in split for s in ss] + [a + " " + b for ss in split for a, b in zip(ss, ss[1:])]

    questions = [nfc(q["question"]) for a in korquad for p in a["paragraphs"] for q in p["qas"]]
    questions += [nfc(json.loads(line)["text"]) for line in (autorag / "queries.jsonl").read_text("utf-8").splitlines()
                  if line.strip()]
    for name in ("benchmarks/quality/questions_own.jsonl", "benchmarks/data/sample_posts_questions.jsonl"):
        for line in (REPO / name).read_text("utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                questions.append(nfc(record.get("q") or record["question"]))
    return _unique(passages), _unique(questions)


def _unique(texts: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for t in texts:
        key = " ".join(t.split())
        if key and key not in seen:
            seen.add(key)
            out.append(t)
    return out



def real_vectors(workdir: Path, *, embed: bool = True, log: Callable[[str], None] = print) -> tuple[np.ndarray, np.ndarray]:
    """(passages, queries) as E5 vectors, embedded once into workdir in parts of PART texts (a killed
    run resumes where it stopped). With embed=False, what is cached so far."""
    from embedsearch.vectors import load_embedder

    embedder = load_embedder()
    passages, queries = real_texts()
    digest = hashlib.blake2b("\x00".join(passages + ["--"] + queries).encode(), digest_size=6).hexdigest()
    folder = workdir / f"real-{_safe(embedder.identity)}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, texts, fn in (("queries", queries, embedder.embed_queries), ("passages", passages, embedder.embed_passages)):
        parts = []
        for start in range(0, len(texts), PART):
            path = folder / f"{kind}-{start:07d}.npy"
            if not path.exists():
                if not embed:
                    break
                t0 = time.perf_counter()
                part = texts[start : start + PART]
                vectors = np.concatenate([fn(part[i : i + 64]) for i in range(0, len(part), 64)]) if kind == "queries" \
                    else fn(part)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, np.asarray(vectors, dtype=np.float32))
                os.replace(tmp, path)
                log(f"   embedded {kind} {start + len(part):,}/{len(texts):,} "
                    f"({len(part) / (time.perf_counter() - t0):.1f}/s; {load()})")
            parts.append(np.load(path))
        out.append(np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32))
    return out[1], out[0]


PART = 2_000


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "embedsearch-bench" / "scale")
    ap.add_argument("--embed-only", action="store_true", help="embed the real texts into the cache, then stop")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.embed_only:
        passages, queries = real_vectors(args.workdir)
        print(f"{len(passages):,} passages, {len(queries):,} queries")
        return


if __name__ == "__main__":
    main()
