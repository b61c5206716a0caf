"""Metric functions, checked against values worked out by hand."""
from __future__ import annotations

import pytest

from embedsearch.evaluate.metrics import (
    dedupe,
    evaluate,
    latency_summary,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
)

# 1 / log2(3): the discount at rank 2
D2 = 0.6309297535714575

QRELS = {
    "q1": {"d1": 1},  # binary
    "q2": {"d2": 2, "d3": 1},  # graded
    "q3": {"d4": 1},
    "q4": {"d5": 0},  # nothing relevant: left out of the means
}
RUN = {
    "q1": ["d2", "d1", "d3"],  # relevant at rank 2
    "q2": ["d3", "d9", "d2"],  # grade 1 at rank 1, grade 2 at rank 3
    "q3": [],  # nothing returned: counts as zeros
    "q4": ["d5"],
}


def test_ndcg_binary_and_graded():
    assert ndcg_at_k(RUN["q1"], QRELS["q1"]) == pytest.approx(D2)  # (1/log2 3) / 1
    # DCG = 1/log2(2) + 2/log2(4) = 2; ideal = 2/log2(2) + 1/log2(3) = 2.6309...
    assert ndcg_at_k(RUN["q2"], QRELS["q2"]) == pytest.approx(2 / (2 + D2))
    assert ndcg_at_k(["d2", "d3"], QRELS["q2"]) == pytest.approx(1.0)
    assert ndcg_at_k([], QRELS["q3"]) == 0.0
    # the cut-off applies: the relevant document at rank 3 is outside the top 2
    assert ndcg_at_k(["x", "y", "d1"], {"d1": 1}, k=2) == 0.0


def test_mrr_and_recall():
    assert mrr_at_k(RUN["q1"], QRELS["q1"]) == 0.5
    assert mrr_at_k(RUN["q2"], QRELS["q2"]) == 1.0
    assert mrr_at_k(["x"] * 10 + ["d1"], {"d1": 1}, k=10) == 0.0  # rank 11
    assert recall_at_k(RUN["q2"], QRELS["q2"], 1) == 0.5
    assert recall_at_k(RUN["q2"], QRELS["q2"], 5) == 1.0
    assert recall_at_k(RUN["q1"], QRELS["q1"], 1) == 0.0
    ranking = [f"x{i}" for i in range(60)] + ["d1"]  # rank 61
    assert recall_at_k(ranking, {"d1": 1}, 10) == 0.0
    assert recall_at_k(ranking, {"d1": 1}, 100) == 1.0


def test_evaluate_means_over_judged_queries():
    scores = evaluate(RUN, QRELS)
    assert set(scores) == {"ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@100"}
    assert scores["ndcg@10"] == pytest.approx((D2 + 2 / (2 + D2) + 0) / 3)
    assert scores["mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert scores["recall@1"] == pytest.approx((0 + 0.5 + 0) / 3)
    assert scores["recall@5"] == pytest.approx((1 + 1 + 0) / 3)
    assert scores["recall@100"] == pytest.approx(2 / 3)


def test_evaluate_extra_cutoff():
    scores = evaluate(RUN, QRELS, k=2)
    assert scores["recall@2"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert scores["ndcg@2"] == pytest.approx((D2 + 1 / (2 + D2) + 0) / 3)  # q2: DCG@2 = 1
    assert "ndcg@10" in scores and "recall@100" in scores


def test_dedupe_keeps_each_documents_best_chunk():
    assert dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_percentiles():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)  # 3 + 0.85 * (4 - 3)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) == 0.0
    assert latency_summary([0.010, 0.020, 0.030]) == {"p50_ms": pytest.approx(20.0), "p95_ms": pytest.approx(29.0)}
