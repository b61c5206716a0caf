"""Answers with no LLM: the sentences of the retrieved passages that answer the question, cited.

The default when no LLM is configured. The only offline LLM a package ships (Gemma 3 270M) is a
base model: it proves the pipeline and writes junk, so it is no default answerer. The posts'
own sentences are: each sentence of the top prose passages is scored against the question by
meaning (the E5 cosine of `query: question` and `passage: sentence`) plus the share of the
question's words it holds (the coverage that hybrid search uses), and the best few are the
answer, in reading order, duplicates folded, each cited as `[n]` -> `path:line` of that
sentence. When hybrid search backs none of the passages as relevant, `ask` declines before this
runs (pipeline.generate), as it does for an LLM.

It behaves as an `LLM` (`stream` yields the answer), so every front end that streams an LLM's
answer shows this one the same way; `bind` hands it the question and passages after the prompt
is fitted, and `cite` gives the sentence-level citations instead of passage-level ones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

from ...records import Citation, Hit
from .base import estimate_tokens

if TYPE_CHECKING:
    from ...vectors import Embedder

MODEL = "extractive"
MAX_SENTENCES = 3  # an answer, not a summary of the passages
PASSAGES = 5  # sentences come from the top passages only: further down they rarely answer
MIN_CHARS = 12  # shorter pieces are headings, labels, list stubs
# Sentences besides the best are kept only when nearly as good: on the sample posts' questions
# the runner-up within 0.03 was the best's continuation or its other half; further off, it
# was a neighbouring topic.
KEEP_WITHIN = 0.03
COVERAGE_WEIGHT = 0.2  # as in hybrid search's evidence (cosine + 0.2 x coverage)
# What the model reads for a sentence: "heading\nsentence" (the passage's last heading) or the
# sentence alone. A sentence often leans on its heading for its subject ("...그 둘만 학습한다"
# under "LoRA: 작은 행렬 두 개만 학습한다"), as passages lean on theirs.
CONTEXT = "heading"
# Decline when the best sentence scores below this (cosine + coverage; see `decline_below`):
# hybrid search's relevance signal judges passages, and a passage on the question's topic that
# never answers it passes that signal. None: only the signal declines.
DECLINE_BELOW: float | None = None
DECLINE_BELOW_CROSS_SCRIPT: float | None = None


@dataclass
class Sentence:
    text: str
    passage: int  # 0-based rank of its passage among the answer's passages
    context: str  # what the model reads for it (see CONTEXT)
    offset: int  # characters into the passage's text
    line_start: int
    line_end: int
    score: float = 0.0


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
        self.best_score: float | None = None

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def bind(self, question: str, passages: Sequence[Hit], embedder: "Embedder | None" = None) -> None:
        self.question, self.passages = question, list(passages)
        self.embedder = embedder or self.embedder

    def stream(self, prompt: str) -> Iterator[str]:
        self.chosen = choose(self.question, self.passages, self.embedder)
        self.best_score = max((s.score for s in self.chosen), default=None)
        if self.chosen and self.best_score < decline_below(self.question, self.passages):
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


def decline_below(question: str, passages: Sequence[Hit]) -> float:
    """The score the best sentence must reach to be an answer (-inf when none is set)."""
    cross = not _has_hangul(question) and sum(_has_hangul(p.text) for p in passages) * 2 > len(passages)
    threshold = DECLINE_BELOW_CROSS_SCRIPT if cross else DECLINE_BELOW
    return float("-inf") if threshold is None else threshold


def answer_text(chosen: Sequence[Sentence]) -> str:
    """'First sentence. [1] Second sentence. [2]': each sentence followed by its citation."""
    return " ".join(f"{_flat(s.text)} [{n}]" for n, s in enumerate(chosen, start=1))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# A sentence ends at . ! ? … (full-width too) and closing quotes, followed by white space; at a
# blank line; or at a line break before a list item. A single line break inside a paragraph is
# the author's wrapping, not an end (text.split_sentences, made for fitting chunks, breaks there:
# "...without\nPython or a GPU, ..." became a sentence starting mid-clause).
_END = re.compile(r"(?<=[.!?…。！？])[\"'”’)\]]*\s+|\n\s*\n\s*|\n(?=\s*(?:[-*+•]|\d+[.)])\s)")


def split(text: str) -> list[tuple[int, str]]:
    """(offset, piece) for each sentence of `text`; the pieces together are the whole text."""
    pieces, start = [], 0
    for match in _END.finditer(text):
        if match.end() > start:
            pieces.append((start, text[start:match.end()]))
        start = match.end()
    if start < len(text):
        pieces.append((start, text[start:]))
    return pieces


def sentences_of(hits: Sequence[Hit], *, limit: int = PASSAGES, min_chars: int = MIN_CHARS,
                 code: bool = False) -> list[Sentence]:
    """The prose sentences of the top `limit` passages (code too with `code`), each with its
    exact lines in its file.

    A passage's text keeps its file's line breaks (a paragraph of three lines is three lines
    of text), so a sentence's lines are the passage's first line plus the line breaks before it.
    """
    out: list[Sentence] = []
    for rank, hit in enumerate(hits[:limit]):
        if hit.kind == "code" and not code:
            continue
        for start, piece in split(hit.text):
            text = re.sub(r"^\s*(?:[-*+•]|\d+[.)])\s+", "", piece).strip()
            if len(text) < min_chars or not re.search(r"\w{2}", text):
                continue
            lead = start + piece.index(text[:1])
            first = hit.line_start + hit.text.count("\n", 0, lead)
            last = hit.line_start + hit.text.count("\n", 0, lead + len(text))
            context = _context(hit, text)
            out.append(Sentence(text, rank, context, start, min(first, hit.line_end), min(last, hit.line_end)))
    return out


def _context(hit: Hit, text: str) -> str:
    if CONTEXT == "heading":
        from ...views import heading_trail

        heading = heading_trail(hit.heading).split(" > ")[-1] or hit.title
        return f"{heading}\n{text}" if heading else text
    return text


def choose(question: str, hits: Sequence[Hit], embedder: "Embedder | None") -> list[Sentence]:
    """The sentences that answer `question` best, in reading order (passage rank, then position)."""
    candidates = sentences_of(hits)
    if not candidates:
        return []
    for sentence, score in zip(candidates, _scores(question, candidates, embedder)):
        sentence.score = score
    ranked = sorted(candidates, key=lambda s: -s.score)
    best = ranked[0]
    chosen: list[Sentence] = []
    seen: set[str] = set()
    for sentence in ranked:
        key = re.sub(r"\W+", "", sentence.text).lower()
        if key in seen or sentence.score < best.score - KEEP_WITHIN:
            continue
        # Besides the best, only sentences of passages the search backs as relevant: a sentence
        # of an off-topic passage that shares a letter or two with the question ("k1", "b")
        # scored within reach and joined a BM25 answer with a LoRA step.
        if chosen and sentence.passage != best.passage and hits[sentence.passage].relevant is False:
            continue
        seen.add(key)
        chosen.append(sentence)
        if len(chosen) == MAX_SENTENCES:
            break
    return sorted(chosen, key=lambda s: (s.passage, s.offset))


def _scores(question: str, sentences: Sequence[Sentence], embedder: "Embedder | None") -> list[float]:
    from ...tokens import tokens

    wanted = set(tokens(question))
    coverage = [len(wanted & set(tokens(s.text))) / len(wanted) if wanted else 0.0 for s in sentences]
    if embedder is None:
        return coverage
    # As in hybrid search: a question in another script than the posts (English over Korean)
    # matches only the odd English term by words, which would favour any English sentence.
    hangul = [_has_hangul(s.text) for s in sentences]
    weight = 0.0 if not _has_hangul(question) and sum(hangul) * 2 > len(hangul) else COVERAGE_WEIGHT
    query = embedder.embed_queries([question])[0]
    vectors = embedder.embed_passages([s.context for s in sentences])
    cosines = vectors @ query
    return [float(c) + weight * cov for c, cov in zip(cosines, coverage)]


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in text)
