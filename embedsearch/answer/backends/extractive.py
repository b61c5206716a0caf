"""Answers with no LLM: the sentences of the retrieved passages that answer the question, cited.

The default when no LLM is configured. The only offline LLM a package ships (Gemma 3 270M) is a
base model: it proves the pipeline and writes junk, so it is no default answerer. The posts'
own sentences are: each sentence of the top prose passages (and the sentence that introduces a
code passage) is scored against the question by meaning (the E5 cosine of `query: question` and
`passage: sentence`) plus the share of the question's words it holds (the coverage that hybrid
search uses), less a little for its passage's rank; the best sentence of each passage competes,
and the best few are the answer, in reading order, each cited as `[n]` -> `path:line` of that
sentence. When hybrid search backs none of the passages as relevant, `ask` declines before this
runs (pipeline.generate), as it does for an LLM; it declines here too when no sentence comes near
the question's meaning (`DECLINE_BELOW`).

Measured on the real blogs' tuning questions (`python benchmarks/quality/extractive_lab.py run`,
the same figures as `extractive_eval.py --real --split tune`): the answering sentence in the
answer for 184 of 291 answerable questions with the top sentences overall, 206 with one per
passage, the rank term and code introductions (2.3 sentences an answer before, 2.2 after);
questions the blogs don't answer declined 8 of 28 -> 13 of 28 with the cosine threshold, at no
cost in answers that hold. 252 of the 291 have an answering passage among the 5 at all.
Re-measured with the indexes of chunker 5 (sentences stored, the same passages), the same
settings: 209 of 291 hold, 14 of 28 declined; the held-out third 97 of 144 and 9 of 14, the blind
set 83 of 136 and 13 of 34 (measured once, not tuned on: benchmarks/quality/README.md).

It behaves as an `LLM` (`stream` yields the answer), so every front end that streams an LLM's
answer shows this one the same way; `bind` hands it the question and passages after the prompt
is fitted, and `cite` gives the sentence-level citations instead of passage-level ones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

from ...records import Citation, Hit
from ...sentences import MIN_CHARS, spans  # MIN_CHARS: shorter pieces are headings, labels
from ...text import has_hangul
from .base import estimate_tokens

if TYPE_CHECKING:
    from ...vectors import Embedder

MODEL = "extractive"
MAX_SENTENCES = 3  # an answer, not a summary of the passages
PASSAGES = 5  # sentences come from the top passages only: further down they rarely answer
# Sentences besides the best are kept only when nearly as good. With one sentence a passage (below)
# the runner-ups are other passages' best: within 0.05 (tune split, extractive_lab.py) 206 of 291
# answers hold the answering sentence; 0.03: 199, 0.04: 203, 0.06: 206 with more sentences, 0.08:
# 206. (With the top sentences overall, 0.03 was best: a runner-up was the best's continuation.)
KEEP_WITHIN = 0.05
# At most this many sentences from one passage: the runner-up of the best's own passage was mostly
# its neighbour, not another answer, while the next passage's best often was the answer (a
# passage is a unit of the search's evidence). Tune split: 206 holds of 291 with 1, 199 with 2,
# 198 with no limit (the rank term and code intros in place).
PER_PASSAGE = 1
# Subtracted per rank of a sentence's passage: the search ranks passages by the hybrid of meaning
# and words over the whole passage and its headings, which a sentence's own score lacks. Tune
# split: 0.005-0.01 all give 206 of 291 (0: 198, 0.015: 201).
RANK_WEIGHT = 0.008
# A code passage's introducing sentence (its first line, "subtokens 에 입력되는 tuple 의 형식은
# (word, begin, end, score) 입니다": the chunker moves a one-sentence paragraph before a block into
# the block's passage) is a candidate like prose; the code itself is not. Tune split: 203 -> 206.
CODE_INTRO = True
COVERAGE_WEIGHT = 0.2  # as in hybrid search's evidence (cosine + 0.2 x coverage)
# What the model reads for a sentence: "heading\nsentence" (the passage's last heading) or the
# sentence alone. A sentence often leans on its heading for its subject ("...그 둘만 학습한다"
# under "LoRA: 작은 행렬 두 개만 학습한다"), as passages lean on theirs.
CONTEXT = "heading"
# Decline when no sentence's cosine with the question reaches this (the meaning alone; see
# `meaning`): hybrid search's relevance signal judges passages by meaning and shared words, and a
# question on the blog's topic that it never answers ("XGBoost 의 하이퍼파라미터는 어떻게
# 튜닝하나?" over an ML blog) shares words and passes. A sentence that answers comes nearer in
# meaning than any sentence of a neighbouring topic. Tune split, the 13 same-script unanswerable
# questions the signal let through, against the 138 answers that hold: the best sentence cosine
# separates them with AUC 0.91 (the cosine + coverage score 0.79, the top passage's evidence 0.80).
# Below 0.855 same-script declines go 5 -> 10 of 18 and no answer that holds is lost (the lowest
# that holds is at 0.856, so expect a few lost on other questions); 0.86: 11, 3 lost; 0.865: 12,
# 11 lost; 0.85: 7, 0 lost. On the sample posts' 42 questions (data/posts, extractive_eval.py
# with no --real) 33 hold with or without it; 4 more that didn't hold are declined.
# (`python benchmarks/quality/extractive_eval.py --real --split tune --sweep`, or
# `extractive_lab.py run --sweep --set answer.backends.extractive.DECLINE_BELOW=null`.)
DECLINE_BELOW: float | None = 0.855
# An answer with a sentence in another script than the question (an English question over Korean
# posts, a Korean one answered from English posts): cross-script cosines run ~0.03-0.05 lower on
# another spread, so None leaves such questions to the relevance signal. Judging them by the best
# cosine + 0.03 declined no more of the 28 tune questions but lost 3 answers that hold, and on the
# sample posts (mixed Korean and English) lost 2 of 33. Judging by the passages' majority script
# (an earlier rule) lost 4 there; letting any other-script sentence among the candidates count as
# near declined one fewer on the tune split (a Korean post's English fragments).
CROSS_SCRIPT_LIFT: float | None = None


@dataclass
class Sentence:
    text: str
    passage: int  # 0-based rank of its passage among the answer's passages
    context: str  # what the model reads for it (see CONTEXT)
    offset: int  # characters into the passage's text
    line_start: int
    line_end: int
    score: float = 0.0  # what the choice ranks by: cosine + coverage - rank term
    cosine: float | None = None  # the meaning alone (None without an embedder)


class ExtractiveAnswerer:
    """An `LLM` whose answer is made of the passages' own sentences (see the module docstring)."""

    model = MODEL
    context_tokens = None  # nothing to fit: it reads the passages, not a prompt
    max_tokens = 0

    def __init__(self, embedder: "Embedder | None" = None) -> None:
        self.embedder = embedder
        self.question = ""
        self.passages: list[Hit] = []
        self.chosen: list[Sentence] = []
        self.declined = False
        self.best_score: float | None = None  # what the decline threshold reads: the best sentence cosine

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def bind(self, question: str, passages: Sequence[Hit], embedder: "Embedder | None" = None) -> None:
        self.question, self.passages = question, list(passages)
        self.embedder = embedder or self.embedder

    def stream(self, prompt: str) -> Iterator[str]:
        candidates = scored(self.question, self.passages, self.embedder)
        self.chosen = pick(candidates, self.passages)
        self.best_score = meaning(self.question, candidates, self.chosen, self.embedder)
        if self.chosen and self.best_score is not None and DECLINE_BELOW is not None \
                and self.best_score < DECLINE_BELOW:
            self.chosen = []
        if not self.chosen:
            from ..pipeline import decline_text

            self.declined = True
            yield decline_text(self.question)
            return
        yield answer_text(self.chosen)

    def cite(self, text: str) -> list[Citation]:
        """One citation per chosen sentence, numbered as the answer text numbers them."""
        return [
            Citation(number=n, path=self.passages[s.passage].path, line_start=s.line_start, line_end=s.line_end,
                     heading=self.passages[s.passage].heading, title=self.passages[s.passage].title)
            for n, s in enumerate(self.chosen, start=1)
        ]

    def close(self) -> None:
        pass


def meaning(question: str, candidates: Sequence[Sentence], chosen: Sequence[Sentence],
            embedder: "Embedder | None") -> float | None:
    """What DECLINE_BELOW judges. When the answer's sentences (`chosen`) are all in the question's
    script: the best cosine of the candidates in that script (a stray English fragment of a Korean
    post has another scale and doesn't count). When one is in another script: the best cosine
    lifted by CROSS_SCRIPT_LIFT (inf when that is None: never declined). None when nothing can be
    judged: no sentences, no embedder, or not the bundled model the threshold was measured with
    (another model's cosines live on another scale, as for the relevance signal)."""
    from ...vectors import is_bundled

    if not candidates or not is_bundled(getattr(embedder, "name", None)) \
            or any(s.cosine is None for s in candidates):
        return None
    hangul = has_hangul(question)
    if any(has_hangul(s.text) != hangul for s in chosen):
        return float("inf") if CROSS_SCRIPT_LIFT is None else max(s.cosine for s in candidates) + CROSS_SCRIPT_LIFT
    return max((s.cosine for s in candidates if has_hangul(s.text) == hangul), default=None)


def answer_text(chosen: Sequence[Sentence]) -> str:
    """'First sentence. [1] Second sentence. [2]': each sentence followed by its citation."""
    return " ".join(f"{_flat(s.text)} [{n}]" for n, s in enumerate(chosen, start=1))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def sentences_of(hits: Sequence[Hit], *, limit: int = PASSAGES, min_chars: int = MIN_CHARS,
                 code: bool = False) -> list[Sentence]:
    """The prose sentences of the top `limit` passages (code too with `code`), each with its
    exact lines in its file: the sentences the index stores for a passage (sentences.py)."""
    out: list[Sentence] = []
    for rank, hit in enumerate(hits[:limit]):
        kind = "prose" if code else hit.kind
        if kind == "code" and not CODE_INTRO:
            continue
        for span in spans(hit.text, hit.line_start, hit.line_end, kind, min_chars=min_chars, limit=None):
            text = hit.text[span.start:span.end]
            out.append(Sentence(text, rank, _context(hit, text), span.start, span.line_start, span.line_end))
    return out


def _context(hit: Hit, text: str) -> str:
    if CONTEXT == "heading":
        from ...views import heading_parts

        heading = (heading_parts(hit.heading) or [""])[-1] or hit.title
        return f"{heading}\n{text}" if heading else text
    return text


def choose(question: str, hits: Sequence[Hit], embedder: "Embedder | None") -> list[Sentence]:
    """The sentences that answer `question` best, in reading order (passage rank, then position)."""
    return pick(scored(question, hits, embedder), hits)


def scored(question: str, hits: Sequence[Hit], embedder: "Embedder | None") -> list[Sentence]:
    """The candidate sentences of `hits`, each with its score and cosine."""
    candidates = sentences_of(hits)
    if candidates:
        for sentence, (score, cosine) in zip(candidates, _scores(question, candidates, embedder)):
            sentence.score, sentence.cosine = score - RANK_WEIGHT * sentence.passage, cosine
    return candidates


def pick(candidates: Sequence[Sentence], hits: Sequence[Hit]) -> list[Sentence]:
    """The best of the scored `candidates` (see KEEP_WITHIN, PER_PASSAGE), in reading order."""
    if not candidates:
        return []
    ranked = sorted(candidates, key=lambda s: -s.score)
    best = ranked[0]
    chosen: list[Sentence] = []
    seen: set[str] = set()
    per_passage: dict[int, int] = {}
    for sentence in ranked:
        key = re.sub(r"\W+", "", sentence.text).lower()
        if key in seen or sentence.score < best.score - KEEP_WITHIN or per_passage.get(sentence.passage, 0) >= PER_PASSAGE:
            continue
        # Besides the best, only sentences of passages the search backs as relevant: a sentence
        # of an off-topic passage that shares a letter or two with the question ("k1", "b")
        # scored within reach and joined a BM25 answer with a LoRA step.
        if chosen and sentence.passage != best.passage and hits[sentence.passage].relevant is False:
            continue
        seen.add(key)
        per_passage[sentence.passage] = per_passage.get(sentence.passage, 0) + 1
        chosen.append(sentence)
        if len(chosen) == MAX_SENTENCES:
            break
    return sorted(chosen, key=lambda s: (s.passage, s.offset))


def _scores(question: str, sentences: Sequence[Sentence],
            embedder: "Embedder | None") -> list[tuple[float, float | None]]:
    """(cosine + coverage, cosine) of each sentence; coverage alone with no embedder."""
    from ...tokens import coverage, tokens

    wanted = set(tokens(question))
    shares = [coverage(wanted, s.text) for s in sentences]
    if embedder is None:
        return [(c, None) for c in shares]
    # As in hybrid search: a question in another script than the posts (English over Korean)
    # matches only the odd English term by words, which would favour any English sentence.
    hangul = [has_hangul(s.text) for s in sentences]
    weight = 0.0 if not has_hangul(question) and sum(hangul) * 2 > len(hangul) else COVERAGE_WEIGHT
    query = embedder.embed_queries([question])[0]
    vectors = embedder.embed_passages([s.context for s in sentences])
    cosines = vectors @ query
    return [(float(c) + weight * cov, float(c)) for c, cov in zip(cosines, shares)]
