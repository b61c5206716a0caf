"""Mixed Korean/English text -> the tokens the lexical (FTS5) index stores and queries.

Korean glues particles and endings onto words ("임종석이", "임종석은"), so whitespace words
rarely match. Overlapping character bigrams of each Hangul run do: both words above yield 임종
and 종석. Measured on KorQuAD (benchmarks/quality/lexical_korquad.py) bigrams are as good as Kiwi
morphemes (BM25 R@1 0.904 vs 0.907; both together 0.913) while needing no dictionary, no 2.8 s /
500 MB analyser load on every `search`, and never failing on new words or names.

Latin words are lowercased, English stop words dropped and plurals folded; digits stay tokens of
their own. All of it happens here, in Python, so the FTS5 table stores exactly these tokens and
its vocabulary can be read back for IDF weights (lexical.ideal_score).
"""
from __future__ import annotations

import re
import unicodedata

# Hangul syllables; CJK ideographs (Hanja) and kana: no spaces between words, so n-grams too.
_HANGUL = "\uac00-\ud7a3"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NGRAM_SCRIPT = re.compile(rf"[{_HANGUL}{_CJK}]")
_RUN = re.compile(rf"[{_HANGUL}]+|[{_CJK}]+|[0-9]+|[^\W0-9_{_HANGUL}{_CJK}]+")
_WORD = re.compile(r"\w+")

# Lucene's English stop words plus question words: in a mostly Korean corpus "the" or "what" are
# rare, so BM25 would rate them as informative and rank any English chunk above the answer.
ENGLISH_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with what which who whom whose how why when where does do did can could should "
    "would i me my you your we our about from".split()
)


def runs(text: str) -> list[str]:
    """Split text into script runs, lowercased: Hangul, other CJK, digits, other letters."""
    text = unicodedata.normalize("NFC", text).lower()
    out: list[str] = []
    for word in _WORD.findall(text):
        out.extend(_RUN.findall(word))
    return out


def s_stem(word: str) -> str:
    """Harman's S-stemmer: fold English plurals only ("models" -> "model", "queries" -> "query").

    Conservative on purpose: Porter also merges words such as "general" and "generate".
    """
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def latin_token(run: str) -> str | None:
    """A non-Hangul run as a token: digits kept, accents stripped, stop words dropped, plurals folded."""
    if run.isdigit():
        return run
    if not run.isascii():  # "café" -> "cafe", as FTS5's remove_diacritics would
        run = "".join(c for c in unicodedata.normalize("NFD", run) if not unicodedata.combining(c))
        run = unicodedata.normalize("NFC", run)
    if run in ENGLISH_STOPWORDS:
        return None
    return s_stem(run)


def coverage(wanted: set[str], text: str) -> float:
    """The share of the `wanted` tokens (a question's) that `text` holds; 0 when none are wanted.

    What hybrid search calls coverage, sentence by sentence: the extractive answerer, a hit's
    evidence and the citation check weigh a sentence by it."""
    return len(wanted & set(tokens(text))) / len(wanted) if wanted else 0.0


def tokens(text: str) -> list[str]:
    """Overlapping character bigrams of Hangul/CJK runs (a one-syllable run stays whole); other runs whole."""
    out: list[str] = []
    for run in runs(text):
        if _NGRAM_SCRIPT.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            tok = latin_token(run)
            if tok:
                out.append(tok)
    return out
