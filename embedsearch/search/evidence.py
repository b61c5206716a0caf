"""A passage's sentences against the query: the best one's cosine for the ranking, and the hit's evidence.

Each chunk row holds its sentences (characters and lines, sentences.py) and their vectors
(float16, from the passage's own model run). Scoring them is a few dot products a hit (a few
hundred for the ~100 candidates, when the ranking reads them: fusion.SENTENCE_WEIGHT): nothing is
embedded at query time but the query.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Mapping

from ..records import Evidence
from ..text import has_hangul

if TYPE_CHECKING:
    import sqlite3

    import numpy as np

# Besides the best, a hit shows a sentence within this much of it (at most MAX_EVIDENCE in all):
# two sentences that answer together ("...는 A다. 그래서 B다.") are shown together.
WITHIN = 0.02
MAX_EVIDENCE = 2
# A sentence is judged by its cosine plus this share of the question's words it holds (as hybrid
# search's evidence and the extractive answerer judge): a sentence vector read off its passage's
# run carries the passage's context, and the words tell its sentences apart. Tuning split
# (benchmarks/quality/sentence_lab.py): the answering passage's best sentence is on the answer's
# lines for 228 of 268 by cosine alone, 236 with the words (0.05-0.3: 234-237). Across scripts
# (an English question over Korean posts) the words count for nothing, as in the fusion.
COVERAGE_WEIGHT = 0.2


class Sentences:
    """The sentences of candidate rows, scored against one query vector as they are asked for."""

    def __init__(self, rows: "Mapping[int, sqlite3.Row]", vector: "np.ndarray | None", query: str = "") -> None:
        import numpy as np

        from ..tokens import tokens

        self.rows = rows
        self.words = set(tokens(query))
        self.hangul = has_hangul(query)
        self.vector = None if vector is None else np.asarray(vector, dtype=np.float32).reshape(-1)
        self._scores: dict[int, tuple[list[tuple[int, int, int, int]], np.ndarray] | None] = {}

    def scores(self, cid: int) -> "tuple[list[tuple[int, int, int, int]], np.ndarray] | None":
        """(spans, cosines) of a candidate's sentences; None when it has no sentence vectors."""
        if cid not in self._scores:
            self._scores[cid] = self._score(cid)
        return self._scores[cid]

    def _score(self, cid: int) -> "tuple[list[tuple[int, int, int, int]], np.ndarray] | None":
        import numpy as np

        row, q = self.rows.get(cid), self.vector
        if row is None or q is None:
            return None
        blob = row["sentence_vectors"]
        try:
            spans = json.loads(row["sentences"] or "[]")
            if not blob or not spans:
                return None
            matrix = np.frombuffer(blob, dtype=np.float16).reshape(len(spans), q.shape[0])
        except ValueError:  # a row another version or a damaged disk wrote: the hit without evidence
            return None
        return spans, matrix.astype(np.float32) @ q

    def best(self) -> dict[int, float]:
        """chunk id -> the cosine of its sentence nearest the query (chunks with sentence vectors)."""
        return {cid: float(found[1].max()) for cid in self.rows if (found := self.scores(cid)) is not None}

    def evidence(self, cid: int, text: str) -> list[Evidence]:
        """The hit's best sentence, and one more within WITHIN of it, best first."""
        found = self.scores(cid)
        if found is None:
            return []
        spans, cos = found
        score = cos.tolist()
        if self.words:
            from ..tokens import coverage

            pieces = [text[a:b] for a, b, _, _ in spans]
            if self.hangul or not any(has_hangul(p) for p in pieces):
                score = [c + COVERAGE_WEIGHT * coverage(self.words, p) for c, p in zip(score, pieces)]
        order = sorted(range(len(spans)), key=lambda i: -score[i])
        top = score[order[0]]
        out = []
        for i in order[:MAX_EVIDENCE]:
            if score[i] < top - WITHIN:
                break
            start, end, first, last = spans[i]
            out.append(Evidence(text[start:end], first, last, round(float(score[i]), 4), start, end))
        return out


def by_words(query: str, text: str, row: "sqlite3.Row") -> list[Evidence]:
    """Lexical mode (no query vector): the sentence holding most of the query's words."""
    from ..tokens import coverage, tokens

    try:
        spans = json.loads(row["sentences"] or "[]")
    except ValueError:  # damaged: the hit without evidence
        return []
    wanted = set(tokens(query))
    if not wanted or not spans:
        return []
    scored = [(coverage(wanted, text[a:b]), (a, b, first, last)) for a, b, first, last in spans]
    share, (a, b, first, last) = max(scored, key=lambda t: t[0])
    return [Evidence(text[a:b], first, last, round(share, 4), a, b)] if share > 0 else []

