"""Hybrid ranking: fuse the dense and the lexical result lists into one, and say when nothing fits.

Why not plain reciprocal rank fusion: RRF throws the scores away, so a passage that BM25 finds
with every word of the question counts no more than one sharing a single common word; on
KorQuAD that made RRF (0.85 R@1) worse than BM25 alone (0.91); this fusion reaches 0.92.

Instead both scores are put on scales that mean the same for every query, and added:

    fused = cosine + w * coverage

    cosine    the E5 cosine of query and chunk (for a chunk only BM25 found: the lowest cosine
              the dense list reached, an upper bound for it)
    coverage  bm25 / lexical.ideal_score(query): the share of the query's IDF mass the chunk
              matches, 0 = no shared token, ~1 = all of them
    w         LEXICAL_WEIGHT, times LANGUAGE_MISMATCH (0) when the query is in another script
              than the corpus: for an English question over Korean posts BM25 can only match the
              odd English term, so the dense ranking stands as it is

Coverage 1 is worth LEXICAL_WEIGHT of cosine. On E5 a relevant passage beats the runner-up by
0.01-0.03 in cosine, so a chunk holding every query word outranks one that is a little closer in
meaning; a chunk sharing one common word does not. All constants were chosen on KorQuAD dev and
the hand-written sets in benchmarks/quality/ (fuse_eval.py --grid shows how flat the optimum is).

The same sum answers "is anything here relevant at all" (`is_relevant`): unrelated questions
reach high cosines (0.80-0.85) but little lexical coverage, related ones usually both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

LEXICAL_WEIGHT = 0.2
LANGUAGE_MISMATCH = 0.0
# "No relevant passage" when the best hit's evidence (cosine + LEXICAL_WEIGHT * coverage) is below
# this. E5 cosines across languages run about 0.05 lower than within one, hence the second value
# for a question in another script than the corpus.
RELEVANCE_THRESHOLD = 0.89
CROSS_LANGUAGE_THRESHOLD = 0.84


@dataclass
class QueryInfo:
    """What the fusion needs besides the two result lists."""

    query: str
    lexical_ideal: float = 0.0  # lexical.ideal_score(conn, query); 0 = no usable lexical tokens
    corpus_hangul: float | None = None  # lexical.hangul_share(conn); None = unknown, no mismatch rule


@dataclass
class Fused:
    chunk_id: int
    score: float
    parts: dict[str, float] = field(default_factory=dict)  # dense, lexical, coverage, fused, evidence


def hangul_share(text: str) -> float:
    """Share of letters that are Hangul (0 for text without letters)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if "\uac00" <= c <= "\ud7a3" or "\u1100" <= c <= "\u11ff"
               or "\u3130" <= c <= "\u318f") / len(letters)


def language_mismatch(query: str, corpus_hangul: float | None) -> bool:
    """True for an (almost) all-Latin query over a mostly Korean corpus, or the other way round."""
    if corpus_hangul is None:
        return False
    q = hangul_share(query)
    return (q < 0.2 and corpus_hangul > 0.5) or (q > 0.8 and corpus_hangul < 0.2)


def lexical_weight(info: QueryInfo) -> float:
    """w in `cosine + w * coverage` for this query."""
    if info.lexical_ideal <= 0:
        return 0.0
    w = LEXICAL_WEIGHT
    if language_mismatch(info.query, info.corpus_hangul):
        w *= LANGUAGE_MISMATCH
    return w


def fuse(dense: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]], info: QueryInfo) -> list[Fused]:
    """One ranking of the union of (chunk id, cosine) and (chunk id, bm25) lists, best first.

    `parts` keeps what `--explain` shows: the cosine (NaN if dense did not retrieve the chunk),
    the raw BM25 score (0 if lexical did not), the coverage and the fused score; and the
    evidence `is_relevant` reads (the fused score without the language-mismatch discount).
    """
    dense_map = dict(dense)
    lex_map = dict(lexical)
    floor = min(dense_map.values()) if dense_map else 0.0
    w = lexical_weight(info)
    ideal = info.lexical_ideal
    out = []
    for cid in dict.fromkeys([i for i, _ in dense] + [i for i, _ in lexical]):
        cos = dense_map.get(cid)
        bm25 = lex_map.get(cid, 0.0)
        coverage = bm25 / ideal if ideal > 0 else 0.0
        cosine = cos if cos is not None else floor
        score = cosine + w * coverage
        parts = {"dense": cos if cos is not None else math.nan, "lexical": bm25, "coverage": coverage,
                 "fused": score, "evidence": cosine + LEXICAL_WEIGHT * coverage}
        out.append(Fused(cid, score, parts))
    out.sort(key=lambda f: f.score, reverse=True)
    return out


def is_relevant(best: Fused | None, info: QueryInfo) -> bool:
    """The "is there an answer here at all" signal, from the best hybrid hit of `fuse`.

    Unrelated questions reach E5 cosines of 0.80-0.85 but share no informative words with any
    chunk; related ones usually have both, so the fused score separates them much better than the
    cosine alone (precision/recall on hand-written off-topic questions: README). Calibrated for
    the bundled e5-small: another model's cosines live on another scale.
    """
    if best is None:
        return False
    mismatch = language_mismatch(info.query, info.corpus_hangul)
    return best.parts["evidence"] >= (CROSS_LANGUAGE_THRESHOLD if mismatch else RELEVANCE_THRESHOLD)


def rrf(lists: Sequence[Sequence[tuple[int, float]]], k: int = 60) -> list[tuple[int, float]]:
    """Plain reciprocal rank fusion (Cormack et al. 2009): the baseline the README compares against."""
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, (cid, _) in enumerate(ranked, 1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda t: t[1], reverse=True)
