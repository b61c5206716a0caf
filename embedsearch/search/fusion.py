"""Hybrid ranking: fuse the dense and the lexical result lists into one, and say when nothing fits.

Why not plain reciprocal rank fusion: RRF throws the scores away, so a passage that BM25 finds
with every word of the question counts no more than one sharing a single common word; on
KorQuAD that made RRF (0.85 R@1) worse than BM25 alone (0.91); this fusion reaches 0.92.

Instead both scores are put on scales that mean the same for every query, and added:

    fused = cosine + w * coverage + adjustment

    cosine    the E5 cosine of query and chunk; for a chunk only BM25 found, its exact cosine
              (the engine computes it from the stored vector; at most the lowest cosine the dense
              list reached). The dense floor used before flattered every BM25-only chunk alike:
              the exact cosine is +0.011 hit@5 on the real blogs (Korean questions for a term the
              post writes in English: 0.707 -> 0.780).
    coverage  bm25 / lexical.ideal_score(query): the share of the query's IDF mass the chunk
              matches, 0 = no shared token, ~1 = all of them
    w         `lexical_weight`: LEXICAL_WEIGHT, plus LONG_QUERY_STEP for every query token past
              LONG_QUERY_FROM: a long question names many specific words, and a chunk holding
              most of them is the answer far more often than one a little closer in meaning
              (AutoRAG-ko, median 33 tokens: nDCG@10 0.919 -> 0.931; the real-blog questions,
              12-21 tokens, are paraphrases that avoid the post's words and want a light 0.15).
              Times LANGUAGE_MISMATCH (0) when the query is in another script than the corpus:
              for an English question over Korean posts BM25 can only match the odd English term.

and three small corrections, each worth less than a typical cosine gap between the answer and the
runner-up, so they only decide near-ties (`adjustment`):

    CODE_PENALTY    a code passage, when the query does not look like code (`looks_like_code`):
                    E5 rates code blocks that repeat the query's identifiers close to any question
                    about them; code in the top 5 of prose questions 0.145 -> 0.102.
    LANGUAGE_BIAS   a question in another script than the corpus: prefer passages in the corpus's
                    language. E5 rates an English passage (a quote, a reference list) closer to an
                    English question whatever it says; English questions hit@5 0.779 -> 0.821.
    SHORT_PENALTY   passages shorter than SHORT_CHARS, in proportion: a heading-sized fragment
                    matches everything a little and answers nothing (+0.011 hit@5 on the real blogs).

All constants were chosen with benchmarks/quality/rank_lab.py on the real-blog questions
(questions_real.jsonl), AutoRAG-ko and KorQuAD dev. The grids were read on all real questions;
the tuning split alone picks the same rules (and w 0.125-0.15), and the held-out third is
reported separately (README, "Retrieval quality"). Each figure above is the change
from dropping that one rule, the others in place; neighbouring values (w 0.125-0.175, penalties
x0.5-x2) move real-blog hit@1 / hit@5 by at most ~0.01 (rank_lab.py grid). Altogether: real
blogs hit@1 / hit@5 0.556 / 0.834 -> 0.602 / 0.857 (held out 0.521 / 0.806 -> 0.562 / 0.847).

The same evidence answers "is anything here relevant at all" (`is_relevant`): unrelated questions
reach high cosines (0.80-0.85) but little lexical coverage, related ones usually both.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..store.fts import query_tokens

LEXICAL_WEIGHT = 0.15
# The passage's meaning with its best sentence's: (1 - w) * cosine + w * best sentence cosine (or,
# with SENTENCE_MAX, the sentence only where it beats the passage). Measured on the tuning split of
# the real-blog questions (benchmarks/quality/sentence_lab.py, 291 questions, today's fusion
# 0.605 / 0.866 hit@1 / hit@5): with the sentence vectors the index stores (read off the passage's
# own run) no weight wins (w 0.25-1.0: 0.598-0.605 / 0.856-0.866; max-sim 0.595-0.601). Sentences
# embedded again on their own, at twice the indexing time, did not win either (best: max-sim 0.5,
# 0.632 / 0.849; with their heading 0.625 / 0.866). So the ranking stays the passage's (w = 0);
# the sentences serve as each hit's evidence (search/evidence.py) and as the offline answer.
SENTENCE_WEIGHT = 0.0
SENTENCE_MAX = False
LONG_QUERY_FROM = 15  # query tokens (Korean bigrams, English words) before w starts to grow
LONG_QUERY_STEP = 0.04  # added to w per token past LONG_QUERY_FROM ...
LONG_QUERY_SPAN = 20  # ... for at most this many tokens (w <= 0.95)
LANGUAGE_MISMATCH = 0.0
CODE_PENALTY = 0.01
LANGUAGE_BIAS = 0.02  # times (share of the passage's letters in the corpus's script - 0.5)
SHORT_PENALTY = 0.03  # times the share of SHORT_CHARS a passage falls short by
SHORT_CHARS = 100
# "No relevant passage" when the best hit's evidence (cosine + EVIDENCE_WEIGHT * coverage) is below
# this. E5 cosines across languages run about 0.05 lower than within one, hence the second value
# for a question in another script than the corpus. Re-calibrated on the real-blog questions,
# whose 42 `type: none` ones are on the blogs' own topics (the hardest kind to decline): at
# 0.88 / 0.84 the signal keeps 416 of 435 answerable questions and declines 17 of 42; 0.89 kept
# 408 and declined the same 17; 0.90 declines 22 but drops 18 more answerable ones. On the
# hand-written off-topic questions (questions_own.jsonl) 0.88 declines 3 of 100 fewer than 0.89.
EVIDENCE_WEIGHT = 0.2
RELEVANCE_THRESHOLD = 0.88
CROSS_LANGUAGE_THRESHOLD = 0.84


@dataclass
class QueryInfo:
    """What the fusion needs besides the two result lists."""

    query: str
    lexical_ideal: float = 0.0  # lexical.ideal_score(conn, query); 0 = no usable lexical tokens
    corpus_hangul: float | None = None  # lexical.hangul_share(conn); None = unknown, no mismatch rule


@dataclass
class Passage:
    """What the fusion's corrections read of a candidate: its kind and its text; and the cosine of
    its sentence nearest the query (None: no sentence has a vector)."""

    kind: str = "prose"
    text: str = ""
    best_sentence: float | None = None


@dataclass
class Fused:
    chunk_id: int
    score: float
    parts: dict[str, float] = field(default_factory=dict)  # dense, lexical, coverage, fused, evidence


_HANGUL_LETTER = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3131-\u318e]")  # syllables, jamo, compatibility jamo


@functools.lru_cache(maxsize=8192)
def hangul_share(text: str) -> float:
    """Share of letters that are Hangul (0 for text without letters).

    The language correction runs this on ~100 candidates a query, and a Python loop per
    character took ~9% of a server's query CPU (py-spy, benchmarks/load.py): now C loops
    (`str.isalpha` mapped, a regex), and a cache, since the same passages come back as
    candidates query after query."""
    letters = sum(map(str.isalpha, text))
    if not letters:
        return 0.0
    return len(_HANGUL_LETTER.findall(text)) / letters


def language_mismatch(query: str, corpus_hangul: float | None) -> bool:
    """True for an (almost) all-Latin query over a mostly Korean corpus, or the other way round."""
    if corpus_hangul is None:
        return False
    q = hangul_share(query)
    return (q < 0.2 and corpus_hangul > 0.5) or (q > 0.8 and corpus_hangul < 0.2)


def lexical_weight(info: QueryInfo) -> float:
    """w in `cosine + w * coverage` for this query: heavier for long queries, 0 across scripts."""
    if info.lexical_ideal <= 0:
        return 0.0
    extra = min(max(len(query_tokens(info.query)) - LONG_QUERY_FROM, 0), LONG_QUERY_SPAN)
    w = LEXICAL_WEIGHT + LONG_QUERY_STEP * extra
    if language_mismatch(info.query, info.corpus_hangul):
        w *= LANGUAGE_MISMATCH
    return w


# Signs that a query asks for code: identifiers (snake_case, camelCase, calls, dotted calls),
# flags, assignments, brackets; or it says so ("...하는 코드", "which command").
_CODE_SHAPE = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]|\w\(|\(\)|\w\.\w+\(|[a-z][A-Z]|\bimport\b|--\w|\w=\w|[{}\[\]<>;]")
_CODE_WORDS = re.compile(r"코드|명령|\b(?:code|command|snippet|script)\b", re.IGNORECASE)


def looks_like_code(query: str) -> bool:
    """Does the query ask for code? Then code passages are not marked down (CODE_PENALTY)."""
    return bool(_CODE_SHAPE.search(query) or _CODE_WORDS.search(query))


def adjustment(passage: Passage, info: QueryInfo, codeish: bool, mismatch: bool) -> float:
    """The corrections added to a passage's fused score (<= 0 but for LANGUAGE_BIAS; see the module doc)."""
    adj = 0.0
    if passage.kind == "code" and not codeish:
        adj -= CODE_PENALTY
    if mismatch and info.corpus_hangul is not None:
        share = hangul_share(passage.text)
        native = share if info.corpus_hangul > 0.5 else 1.0 - share
        adj += LANGUAGE_BIAS * (native - 0.5)
    adj -= SHORT_PENALTY * max(0.0, 1.0 - len(passage.text) / SHORT_CHARS)
    return adj


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    info: QueryInfo,
    passages: Mapping[int, Passage] | None = None,
    cosines: Mapping[int, float] | None = None,
) -> list[Fused]:
    """One ranking of the union of (chunk id, cosine) and (chunk id, bm25) lists, best first.

    `passages` (chunk id -> Passage) enables the corrections (`adjustment`); `cosines` gives the
    exact cosine of chunks only the lexical list holds (capped at the dense floor; without it
    they get the floor). `parts` keeps what `--explain` shows: the cosine (NaN if dense did not
    retrieve the chunk), the raw BM25 score (0 if lexical did not), the coverage, the
    corrections ("adjust", when not 0) and the fused score; and the evidence `is_relevant` reads
    (cosine + EVIDENCE_WEIGHT * coverage, whatever the query's own w).
    """
    dense_map = dict(dense)
    lex_map = dict(lexical)
    floor = min(dense_map.values()) if dense_map else 0.0
    cosines = cosines or {}
    w = lexical_weight(info)
    ideal = info.lexical_ideal
    mismatch = language_mismatch(info.query, info.corpus_hangul)
    codeish = looks_like_code(info.query)
    out = []
    for cid in dict.fromkeys([i for i, _ in dense] + [i for i, _ in lexical]):
        cos = dense_map.get(cid)
        bm25 = lex_map.get(cid, 0.0)
        coverage = bm25 / ideal if ideal > 0 else 0.0
        cosine = cos if cos is not None else min(cosines.get(cid, floor), floor)
        passage = passages.get(cid) if passages else None
        adj = adjustment(passage, info, codeish, mismatch) if passage else 0.0
        meaning = cosine
        best = passage.best_sentence if passage else None
        if best is not None:
            meaning = (1 - SENTENCE_WEIGHT) * cosine + SENTENCE_WEIGHT * (max(best, cosine) if SENTENCE_MAX else best)
        score = meaning + w * coverage + adj
        parts = {"dense": cos if cos is not None else math.nan, "lexical": bm25, "coverage": coverage,
                 "fused": score, "evidence": cosine + EVIDENCE_WEIGHT * coverage}
        if best is not None:
            parts["sentence"] = best
        if cos is None and cid in cosines:
            parts["cosine"] = cosine
        if adj:
            parts["adjust"] = adj
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
