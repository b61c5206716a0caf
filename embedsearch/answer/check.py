"""Check an answer's citations: does the passage a sentence cites say what the sentence says?

An LLM maps `[2]` to a passage whether or not passage 2 backs the sentence; generative search
engines back only about half of their sentences with the citations they give (the paper
reviewed in ../shared/corpus 004). Each sentence of an answer is compared with every sentence
of the retrieved passages:

- **supported**: a sentence of a passage it cites says it;
- **wrong citation**: it cites none that says it, but another retrieved passage does;
- **unsupported**: no retrieved passage says it (or it cites nothing and nothing says it).

"Says it" is a support score over the passage's sentences: the E5 cosine of the two sentences
(both embedded as `query: `, E5's form for symmetric similarity) plus a share of the answer
sentence's words found in the passage sentence, at or above SUPPORT_THRESHOLD; and the passage
(with its title and headings) must pass the vetoes in CHECKS, each aimed at a near miss that
reads like its passage and so scores like it: every number the sentence states appears in the
passage (a changed year or count); a Korean sentence's Latin-script terms and an English
sentence's names ("PaLM", "CUDA") are words of it (a swapped name); an absolute it states
("항상", "모든", "always", "only") is stated there too (an over-generalisation). Calibrated on
the set CITATION_SET.md describes (`python benchmarks/quality/citation_eval.py`): unsupported
sentences flagged with precision 0.952 and recall 0.908 (0.985 / 0.736 with numbers and
substring terms only).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from ..records import Hit, SentenceSupport
from ..sentences import split
from .citations import cited_numbers

if TYPE_CHECKING:
    from ..vectors import Embedder

# Calibrated on benchmarks/quality/citation_check_set (252 sentences, `python
# benchmarks/quality/citation_eval.py --sweep`): at 0.93 / 0.86 "unsupported" is flagged with
# precision 0.985 and recall 0.736, and "not backed by its citation" with 0.983 / 0.796 (accuracy
# over the three labels 0.861), before the vetoes of CHECKS were widened. Lower thresholds lose
# recall (0.90 / 0.84: 0.983 / 0.678); higher ones lose precision (0.95 / 0.88: 0.865 / 0.736).
# With CHECKS as below: benchmarks/quality/README.md ("Citation check") has the figures.
SUPPORT_THRESHOLD = 0.93
# An English sentence about a Korean passage (or the reverse) shares no words with it and its
# cosine runs lower.
CROSS_SCRIPT_THRESHOLD = 0.86
COVERAGE_WEIGHT = 0.2
_MARKER = re.compile(r"\s*[\[［]\^?\s*\d+(?:\s*(?:[,，、;]|[-–~])\s*\d+)*\s*[\]］]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, cited numbers) for each sentence of an answer.

    A marker that starts the next piece after a sentence end ("... 끝이다. [2]") belongs to the
    sentence before it.
    """
    out: list[tuple[str, list[int]]] = []
    for _, piece in split(text):
        markers = cited_numbers(piece, 10**6)
        body = _MARKER.sub("", piece).strip()
        if not re.search(r"\w", body):
            if out and markers:
                out[-1][1].extend(n for n in markers if n not in out[-1][1])
            continue
        out.append((body, markers))
    return out


def check(answer_text: str, passages: Sequence[Hit], embedder: "Embedder") -> list[SentenceSupport]:
    """Each sentence of `answer_text` against the numbered `passages` (1-based as cited)."""
    from .backends.extractive import Sentence, sentences_of

    items = answer_sentences(answer_text)
    if not items or not passages:
        return [SentenceSupport(text, cites, "unsupported", 0.0) for text, cites in items]
    evidence: list[Sentence] = sentences_of(passages, limit=len(passages), min_chars=4, code=True)
    texts = [t for t, _ in items]
    vectors = embedder.embed_queries(texts + [e.text for e in evidence])
    claims, facts = vectors[: len(texts)], vectors[len(texts):]
    cosines = claims @ facts.T if len(evidence) else None
    out = []
    for i, (text, cites) in enumerate(items):
        best: dict[int, tuple[float, Sentence]] = {}
        for j, fact in enumerate(evidence):
            score = float(cosines[i, j]) + COVERAGE_WEIGHT * _coverage(text, fact.text)
            number = fact.passage + 1
            if number not in best or score > best[number][0]:
                best[number] = (score, fact)
        backing = {n: v for n, v in best.items() if v[0] >= _threshold(text, v[1].text)
                   and _agrees(text, _said(passages[n - 1]))}
        cited = [n for n in cites if n in backing]
        if cited:
            status, number = "supported", max(cited, key=lambda n: backing[n][0])
        elif backing:
            status, number = "wrong_citation", max(backing, key=lambda n: backing[n][0])
        else:
            status, number = "unsupported", None
        if number is not None:
            score, fact = backing[number]
            hit = passages[number - 1]
            out.append(SentenceSupport(text, cites, status, round(score, 4), number, hit.path, fact.line_start,
                                       fact.line_end, fact.text))
        else:
            top = max((v[0] for v in best.values()), default=0.0)
            out.append(SentenceSupport(text, cites, status, round(top, 4)))
    return out


# What a passage must also pass to back a sentence that scores high enough (see _CHECKS; the
# calibration script's --checks measures each). Checked on the whole passage: on the single best
# sentence, a claim drawn from two sentences of it failed (terms: unsupported precision 0.972 ->
# 0.775 on the calibration set).
CHECKS = ("numbers", "terms", "names", "absolutes")


def _said(hit: Hit) -> str:
    """What the vetoes read of a passage: its title and headings too, where a post names its
    subject once ("AutoGPT의 기능") and its list items never again."""
    return "\n".join(part for part in (hit.title, hit.heading, hit.text) if part)


def _agrees(claim: str, passage: str) -> bool:
    return all(_CHECKS[name](claim, passage) for name in CHECKS)


def _threshold(claim: str, fact: str) -> float:
    return SUPPORT_THRESHOLD if _hangul(claim) == _hangul(fact) else CROSS_SCRIPT_THRESHOLD


def _hangul(text: str) -> bool:
    """Mostly Hangul (more Hangul syllables than Latin letters)."""
    syllables = sum("\uac00" <= c <= "\ud7a3" for c in text)
    return syllables > sum(c.isascii() and c.isalpha() for c in text)


def _coverage(claim: str, fact: str) -> float:
    from ..tokens import coverage, tokens

    return coverage(set(tokens(claim)), fact)


def _numbers_agree(claim: str, passage: str) -> bool:
    """Every number the claim states appears in the passage ("2021", "1,750", "0.39")."""
    have = {n.replace(",", "") for n in _NUMBER.findall(passage)}
    return all(n.replace(",", "") in have for n in _NUMBER.findall(claim))



# A Latin-script word, hyphenated compounds whole ("self-supervised", "E5-large-v2").
_TERM = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")


def _terms_agree(claim: str, passage: str) -> bool:
    """A Korean sentence's Latin-script words ("SGD", "OpenWebText", "Google") are words of the
    passage: Korean posts keep such names as written, so a term the passage lacks is a changed
    name, the near miss that reads most like its passage (cosine 1.0-1.15 on the calibration set).
    Whole words, not substrings: "supervised" is not in "self-supervised", nor "VGGNet" in a
    passage that names only AlexNet. English sentences are exempt (see _names_agree): over Korean
    posts they translate what the posts transliterate."""
    if not _korean(claim):
        return True
    have = _Words(passage)
    return all(have.holds(term, claim) for term in _TERM.findall(claim) if len(term) > 1)


# Absolutes by sense: a sentence that states one must find one of the same sense in its passage,
# in either language. Korean words match at a word's start ("모든", "항상", "대부분의"; "늘" and "꼭"
# are left out: 늘어나다, 꼭짓점); English ones as whole words, not inside a compound
# ("decoder-only"), not "at all" (an intensifier) nor "only" before a number ("only 5": few).
_ABSOLUTES = {
    "always": ("always", "항상", "언제나", "매번", "무조건"),
    "all": ("all", "every", "모든", "모두", "전부", "전면"),
    "never": ("never", "절대", "결코", "전혀"),
    "only": ("only", "exactly", "solely", "오직", "유일"),
    "most": ("most", "대부분"),
    "must": ("must", "반드시"),
}
# What else answers a sense in a passage: Korean says "only", "must" and "most" with endings and
# particles an English sentence translates into those words ("중에서만", "사용해야 함", "가장 일반적").
_ANSWERS = {
    "only": r"[\uac00-\ud7a3]만(?![\uac00-\ud7a3])|만으로|만을|만이|뿐",
    "must": r"야\s*(?:하|한|합|함|해)",
    "most": r"가장|주로",
}


def _word_pattern(words: Sequence[str]) -> str:
    return "|".join(rf"(?<![\w-]){w}(?![\w-])" if w.isascii() else rf"(?<![\uac00-\ud7a3]){w}" for w in words)


_SAID = {sense: re.compile(rf"(?<!\bat )(?:{_word_pattern(words)})(?!\s+\d)", re.IGNORECASE)
         for sense, words in _ABSOLUTES.items()}
_ANSWERED = {sense: re.compile("|".join(filter(None, [_word_pattern(words), _ANSWERS.get(sense)])), re.IGNORECASE)
             for sense, words in _ABSOLUTES.items()}


def _absolutes_agree(claim: str, passage: str) -> bool:
    """An absolute the sentence states ("항상", "모든", "반드시", "always", "never", "only") is
    stated in the passage too, in either language: widening a passage's "일부" or "can" to "대부분"
    or "always" keeps its wording and its cosine, and is the over-generalisation an LLM adds."""
    return all(_ANSWERED[sense].search(passage) for sense, said in _SAID.items() if said.search(claim))


# A name-like Latin word: with a digit or a capital inside ("GPT", "PaLM", "WSL2", "RoBERTa"), not
# a word capitalised for starting a sentence.
_NAME_LIKE = re.compile(r"[A-Za-z]*(?:\d|[A-Z][A-Z]|[a-z][A-Z])")


def _names_agree(claim: str, passage: str) -> bool:
    """An English sentence's names ("ELECTRA", "PaLM", "CUDA") are words of the passage: Korean
    posts write product and model names in Latin script, so even a translated sentence keeps
    them, and a name the passage lacks is a swapped one ("compared with ELECTRA" over a passage
    comparing with XLNet). Ordinary words are exempt: the posts translate those. Parts of a
    compound are looked at one by one ("human-AI": "AI")."""
    if _korean(claim):
        return True
    have = _Words(passage)
    names = [p for term in _TERM.findall(claim) for p in term.split("-") if _NAME_LIKE.match(p)]
    return all(have.holds(name, claim) for name in names)


def _korean(text: str) -> bool:
    """Written in Korean: Hangul words (a particle on a Latin word counts) at least half as many as
    Latin ones. Counting letters instead made "Google Research의 FastText repository에는 세 종류의
    논문이 ..." English and exempt from _terms_agree; counting words, an English sentence quoting
    one Korean word ("아프리카_1") stays English. On the calibration set this tells every
    sentence's language right."""
    return 2 * len(re.findall("[\uac00-\ud7a3]+", text)) >= len(_TERM.findall(text))


class _Words:
    """The Latin-script words of a passage, case and plural folded, for whole-word look-ups."""

    def __init__(self, passage: str) -> None:
        self.words = {_fold(t) for t in _TERM.findall(passage)}
        self.compounds = [w.split("-") for w in self.words if "-" in w]

    def holds(self, term: str, claim: str) -> bool:
        """`term` of `claim` is a word of the passage. A hyphenated term also counts when each
        part is; a part of the passage's compound only when the claim has all its parts ("Full
        Sentences" is in "FULL-SENTENCES", "supervised" is not in "self-supervised")."""
        term = _fold(term)
        if term in self.words:
            return True
        parts = term.split("-")
        if len(parts) > 1:
            return all(len(p) < 2 or p in self.words for p in parts)
        if not self.compounds:
            return False
        said = {p for t in _TERM.findall(claim) for p in _fold(t).split("-")}
        return any(term in c and all(p in said for p in c) for c in self.compounds)


def _fold(term: str) -> str:
    from ..tokens import s_stem

    return "-".join(s_stem(p) for p in term.lower().split("-"))


_CHECKS = {"numbers": _numbers_agree, "terms": _terms_agree, "names": _names_agree, "absolutes": _absolutes_agree}
