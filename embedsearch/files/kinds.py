"""Is a block of text program output or code pasted as a plain paragraph, rather than prose?

Line by line. A line is code-like when it is a prompt or traceback line (`$ `, `>>> `,
`In [3]:`, `File "x.py", line 3`, `ValueError: …`), a statement (`import x`, `x = f(y)`, a line
ending in `;` or `{`), or, once quoted strings are set aside, mostly digits, brackets and
punctuation: a row of numbers, a printed list of tuples such as `[('너무', 'Noun'), …]`,
`key = 30` pairs, `청하/VV + 는/ETM` tags, table rows whose cells are mostly values. It is prose when it reads as words: Korean with a
sentence ending, or three or more words that are none of the above. A block is code when at least
60% of its lines are code-like and at most one line in seven reads as prose (a table's header
row; one line in blocks of three to thirteen), and a block of one or two lines only when none does.
In a block with a prompt or traceback line, every line but a Korean sentence is taken as the
session's output.

Measured on the real blogs (benchmarks/real_corpus.py, tuned on the 484 unlabelled code blocks
and the prose paragraphs of lovit and meme2515): see the figures in `classify`.
"""
from __future__ import annotations

import re

_PROMPT = re.compile(r"^\s*(?:\$ |>>> |\.\.\. |In \[\d*\]:|Out\[\d+\]:|C:\\\S*>|PS \S*> |\w+@[\w.-]+:\S*[$#] )")
_TRACE = re.compile(r"^\s*(?:Traceback \(most recent call last\)|File \".*\", line \d+|[A-Z]\w*(?:Error|Exception)\b"
                    r"|at [\w.$]+\(.*\)$|-+> ?\d+ )")
_STATEMENT = re.compile(  # case-sensitive: "For example, …" and "Docker is …" are prose
    r"^\s*(?:import [\w.]+|from [\w.]+ import |def \w+\s*\(|class \w+\s*[(:]|return\b|print\s*\("
    r"|(?:if|elif|while|for|with|except)\b.*:\s*$|(?:else|try|finally)\s*:|lambda\b|(?:var|let|const) \w+\s*="
    r"|function\s*\w*\s*\(|(?:public|private|protected|static) \w|#include|@\w+\(?"
    r"|(?:SELECT|INSERT|UPDATE|DELETE|CREATE|DROP) [A-Z*]"
    r"|(?:pip3?|conda|sudo|cd|ls|git|python3?|java|javac|docker|kubectl|npm|yarn|echo|export|mkdir|wget|curl|apt"
    r"|apt-get|brew|chmod|ssh|scp|tar|unzip|ollama) (?!.*[.!?]\s*$)[^가-힣]*$"
    r"|[\w.\[\]'\"]+\s*[-+*/]?=\s*[^=\s가-힣][^가-힣]*$|.*[;{]\s*$|[\w.]+\([^가-힣]*\)\s*$)"
)
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_PAIR = re.compile(r"^\s*[^\s:=]{1,30}\s*[:=]\s*[-+]?\d[\d.,%]*\s*,?\s*$")  # 공연은 : 30, 이=18
_TAGGED = re.compile(r"\S/[A-Za-z]{1,6}\b|\w=\S")  # 청하/VV, first=청하
_HANGUL = re.compile(r"[가-힣]")
_SENTENCE_END = re.compile(r"(?:다|요|죠|까|니다|습니다|세요|네요|군요|음|함|됨|임)[.!?…]*\s*$|[가-힣][.!?]\s")
_WORD = re.compile(r"[A-Za-z가-힣]{2,}")


def code_like(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if _PROMPT.match(line) or _TRACE.match(line):
        return True
    if _HANGUL.search(stripped) and _SENTENCE_END.search(stripped) and len(_HANGUL.findall(stripped)) >= 6:
        return False
    if _PAIR.match(stripped) or len(_TAGGED.findall(stripped)) >= 2:
        return True
    cells = [c for c in stripped.strip("|").split("|") if c.strip()]
    if len(cells) >= 3 and sum(any(ch.isdigit() for ch in c) for c in cells) * 2 >= len(cells):
        return True  # a table row of values: `샤이니 (0.891) | 신체 (0.877) | …`
    rest = _QUOTED.sub(" ", stripped)
    visible = re.sub(r"\s", "", rest)
    if not visible:
        return True  # quoted strings only: a printed list of strings
    if len(visible) >= 6 and sum(ch.isdigit() for ch in visible) >= len(visible) * 0.3:
        return True
    if len(_HANGUL.findall(rest)) >= 4:
        return False
    if _STATEMENT.match(rest):
        return True
    return sum(ch.isalpha() for ch in visible) < len(visible) * 0.4


def prose_like(line: str, is_code: bool | None = None) -> bool:
    if code_like(line) if is_code is None else is_code:
        return False
    return bool(_SENTENCE_END.search(line)) or len(_WORD.findall(_QUOTED.sub(" ", line))) >= 3


_MATH_OR_URL = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$|\\\(.+?\\\)|\\\[.+?\\\]|https?://\S+", re.S)
SAMPLE = 400  # lines looked at in a longer block (a 50,000-row table), evenly spread


def readable(text: str) -> bool:
    """Whether a block holds anything to read: a letter or a digit ("...", "* * *" and "---" do not)."""
    return any(ch.isalnum() for ch in text)


def classify(text: str) -> str:
    """"code" for program output or code written as a plain paragraph, else "prose".

    Formulas ($…$, \\(…\\)) and URLs are set aside first, then lines without a letter or digit
    (a table rule, a lone bracket): a paragraph that is only a formula or a link is prose.
    """
    lines = [line for line in _MATH_OR_URL.sub(" ", text).split("\n") if any(ch.isalnum() for ch in line)]
    if not lines:
        return "prose"
    if len(lines) > SAMPLE:
        lines = lines[:: -(-len(lines) // SAMPLE)]
    if any(_PROMPT.match(line) or _TRACE.match(line) for line in lines):  # a session: the rest is its output
        prose = sum(bool(_SENTENCE_END.search(line)) and len(_HANGUL.findall(line)) >= 6 for line in lines)
        code = len(lines) - prose
    else:
        flags = [code_like(line) for line in lines]
        code = sum(flags)
        prose = sum(prose_like(line, is_code) for line, is_code in zip(lines, flags))
    allowed = max(1, int(0.15 * len(lines))) if len(lines) >= 3 else 0
    return "code" if code >= 0.6 * len(lines) and prose <= allowed else "prose"
