"""Retrieval metrics, as BEIR and trec_eval compute them, on plain lists and dicts.

Pure functions, so that a test can check each against a value worked out by hand. A ranking
is a list of document ids, best first, already reduced to one entry per document (a document
is scored by its best chunk). Relevance grades come from qrels: a grade > 0 is relevant, and
nDCG uses the grade itself as the gain (trec_eval's linear gain, which BEIR reports).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]  # query id -> document id -> relevance grade
Run = Mapping[str, Sequence[str]]  # query id -> ranked document ids, best first

RECALL_CUTOFFS = (1, 5, 10, 100)


def relevant(grades: Mapping[str, int]) -> set[str]:
    return {doc_id for doc_id, grade in grades.items() if grade > 0}


def ndcg_at_k(ranking: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """Discounted cumulative gain of the top k over that of the ideal ordering."""
    dcg = sum(max(grades.get(doc_id, 0), 0) / math.log2(i + 2) for i, doc_id in enumerate(ranking[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at_k(ranking: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """1 / rank of the first relevant document in the top k; 0 when there is none."""
    for i, doc_id in enumerate(ranking[:k]):
        if grades.get(doc_id, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def recall_at_k(ranking: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """|relevant ∩ top k| / |relevant|."""
    wanted = relevant(grades)
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranking[:k])) / len(wanted)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation between ranks, as numpy's default."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def dedupe(doc_ids: Sequence[str]) -> list[str]:
    """Keep each document's first (best-ranked) occurrence: a document counts by its best chunk."""
    return list(dict.fromkeys(doc_ids))


def evaluate(run: Run, qrels: Qrels, k: int = 10) -> dict[str, float]:
    """Mean nDCG@10, MRR@10 and Recall@1/5/10/100 (and nDCG@k, Recall@k for another k).

    Means are over the queries in `run` that have a relevant document: a query that returned
    nothing still counts, with zeros; queries without any relevant document are left out, as
    BEIR does.
    """
    ndcg_cutoffs = sorted({10, k})
    recall_cutoffs = sorted({*RECALL_CUTOFFS, k})
    names = [*(f"ndcg@{c}" for c in ndcg_cutoffs), "mrr@10", *(f"recall@{c}" for c in recall_cutoffs)]
    totals = dict.fromkeys(names, 0.0)
    counted = 0
    for query_id, ranking in run.items():
        grades = qrels.get(query_id, {})
        if not relevant(grades):
            continue
        counted += 1
        for c in ndcg_cutoffs:
            totals[f"ndcg@{c}"] += ndcg_at_k(ranking, grades, c)
        totals["mrr@10"] += mrr_at_k(ranking, grades, 10)
        for c in recall_cutoffs:
            totals[f"recall@{c}"] += recall_at_k(ranking, grades, c)
    return {name: total / counted if counted else 0.0 for name, total in totals.items()}


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of per-query latencies, in milliseconds."""
    return {
        "p50_ms": percentile(seconds, 50) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
    }
