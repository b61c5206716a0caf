"""Stage 2: paragraphs -> chunks that fit the embedder's window, counted with its own tokenizer.

The rules, applied per document:
1. A paragraph longer than the window is split into near-equal pieces: prose at sentence
   boundaries, code at line boundaries (then at spaces, then between characters, for a unit that
   is itself too long). Nothing is ever truncated: the pieces together hold every character, and
   each keeps its own line span (a paragraph's text line i is its source line `line_start + i`
   when it has as many lines as its span, which the readers keep; otherwise lines are
   interpolated).
2. Paragraphs shorter than `min_tokens` are merged with their neighbours under the same heading
   and of the same kind, as long as the merged chunk stays within the window: a lone list item or
   a one-line paragraph says too little to be found on its own. Code and prose are never merged.
3. A code chunk carries the sentence that introduces it ("다음과 같이 구현합니다:", the last
   sentence of the prose paragraph right before the block, under the same heading), so that a
   question about what the code does finds the code by its description. Each line still belongs
   to one passage, so that a search never shows one place twice: a paragraph that is only that
   sentence is the code's (in its text and line span, and no passage of its own); the last
   sentence of a longer paragraph stays in that paragraph, which reads better whole, and is
   embedded above the code as its context, as the heading is. When the sentence was in both,
   lovit had 1,389 pairs of passages sharing lines (484 of them a one-sentence paragraph beside
   its code), and 255 pairs of the top-10 hits of its 306 questions covered the same lines;
   now 1 and 0 (benchmarks/overlaps.py), with real-blog hit@5 0.846 -> 0.857, hit@1 0.602 ->
   0.593 (benchmarks/quality/real_eval.py).

What gets embedded is the chunk's text under its document title and heading path (see
`context_text`): on KorQuAD that lifted dense R@1 from 0.744 to 0.772 and hybrid from 0.915 to
0.922 (benchmarks/quality/context_eval.py). Those lines count against the window too.

Why these sizes (see README, "Chunk sizes"): the bundled E5 model's window is 512 tokens
including the `passage: ` prefix and two special tokens, and it windows longer inputs silently,
so 512 is a hard ceiling. The merge floor keeps one-line list items from becoming chunks of
their own, while leaving most real paragraphs alone.

Time is linear in the text's size: each character is tokenized about twice, once in its piece
and once in its chunk (a 2 MB one-line file took 51 s before; see
benchmarks/pathological_files.py for today's figures).
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from .records import Chunk, Paragraph
from .text import content_hash, split_sentences

CHUNKER_VERSION = 5  # 2: title and heading path embedded with the text; 3: code kind, introductions;
# 4: an introduction is in one passage only; 5: sentences have vectors (an older index embeds again)
INTRO_MAX_TOKENS = 96  # a longer last sentence is a paragraph's conclusion, not an introduction
LONG = 16_384  # characters: far more than a window holds (~1,500 for Korean, ~2,500 for English)


@dataclass(frozen=True)
class ChunkSizes:
    min_tokens: int = 64  # a paragraph below this is merged with its neighbours
    merge_tokens: int = 256  # merging stops growing a chunk past this
    max_tokens: int = 512  # the model's window: a hard ceiling, longer paragraphs are split

    @property
    def fingerprint(self) -> str:
        return f"v{CHUNKER_VERSION}:{self.min_tokens}/{self.merge_tokens}/{self.max_tokens}"


def context_text(title: str, heading: str, text: str) -> str:
    """The title and each heading of the path on its own line above the text, each once."""
    lines = [title] if title else []
    heads = [h.lstrip("#").strip() for h in heading.split(" > ")] if heading else []
    lines.extend(h for h in heads if h and h != title)
    return "\n".join(lines + [text]).strip()


@dataclass
class _Piece:
    """A paragraph or a part of one (or several merged), with its token count and the indices of
    the paragraphs it came from."""

    paragraph: Paragraph
    tokens: int
    first: int
    last: int


def make_chunks(
    paragraphs: Iterable[Paragraph],
    count_tokens: Callable[[str], int],
    sizes: ChunkSizes = ChunkSizes(),
    title: str = "",
) -> list[Chunk]:
    """Chunks of a document whose title is `title` ("" when it only repeats the file name)."""
    paragraphs = list(paragraphs)
    overhead = count_tokens("")  # prefix and special tokens, counted once per chunk
    contexts: dict[str, tuple[tuple[str, str], int]] = {}

    def context(heading: str) -> tuple[str, str]:
        """(title, heading) to embed above text under `heading`, and the window left for text.

        Context may take at most a quarter of the window: past that, the heading path goes,
        then the title.
        """
        if heading not in contexts:
            for t, h in ((title, heading), (title, ""), ("", "")):
                cost = count_tokens(context_text(t, h, "x")) - count_tokens("x")
                if cost <= sizes.max_tokens // 4:
                    break
            contexts[heading] = ((t, h), sizes.max_tokens - cost - 4)  # 4: tokens may merge at the line break
        return contexts[heading][0]

    def limit(heading: str) -> int:
        context(heading)
        return contexts[heading][1]

    pieces: list[_Piece] = []
    for index, paragraph in enumerate(paragraphs):
        n = count_tokens(paragraph.text) if len(paragraph.text) <= LONG else 0  # 0: longer than any window
        intro = _whole_introduction(paragraphs, index, count_tokens)
        if intro is not None and n and pieces and pieces[-1].first == index - 1 and pieces[-1].last == index - 1 \
                and pieces[-1].paragraph is intro:  # the sentence before the block moves into it
            text = intro.text.strip() + "\n" + paragraph.text
            k = count_tokens(text)
            if k <= limit(paragraph.heading):
                pieces[-1] = _Piece(replace(paragraph, text=text, line_start=intro.line_start), k, index - 1, index)
                continue
        if n and n <= limit(paragraph.heading):
            pieces.append(_Piece(paragraph, n, index, index))
        else:
            pieces.extend(_Piece(p, k, index, index)
                          for p, k in _split(paragraph, count_tokens, limit(paragraph.heading), overhead, n))

    merged = _merge_short(pieces, sizes, overhead, count_tokens, limit)
    chunks = []
    for ordinal, piece in enumerate(merged):
        p = piece.paragraph
        starts_its_block = ordinal == 0 or merged[ordinal - 1].last != piece.first  # not a later part of a split
        intro = ""
        if p.kind == "code" and starts_its_block and paragraphs[piece.first].kind == "code":
            intro = _introduction(p, paragraphs, piece.first, count_tokens, limit(p.heading))
        embed_text = context_text(*context(p.heading), f"{intro}\n{p.text}" if intro else p.text)
        chunks.append(Chunk(text=p.text, heading=p.heading, line_start=p.line_start, line_end=p.line_end,
                            token_count=count_tokens(embed_text), content_hash=content_hash(embed_text),
                            ordinal=ordinal, embed_text=embed_text, kind=p.kind, language=p.language, intro=intro))
    return chunks


def _whole_introduction(
    paragraphs: list[Paragraph], index: int, count_tokens: Callable[[str], int]
) -> Paragraph | None:
    """The prose paragraph right before code paragraph `index` when it is one short sentence that
    introduces the block ("다음과 같이 실행한다:"): it then belongs to the code's passage.

    Only a block the author marked as code (a fence, an indented block, <pre>): text that merely
    reads as code, such as the rows of numbers a PDF export leaves in AutoRAG-ko's corpus, took
    1,174 "introductions" there (a caption, "출처 19", the sentence before a table) and its
    hybrid nDCG@10 fell from 0.931 to 0.927.
    """
    code = paragraphs[index]
    before = _prose_before(code, paragraphs, index) if code.kind == "code" and code.block else None
    if before is None or len([s for s in split_sentences(before.text) if s.strip()]) != 1:
        return None
    if len(before.text) > LONG or count_tokens(before.text.strip()) > INTRO_MAX_TOKENS:
        return None
    return before


def _prose_before(code: Paragraph, paragraphs: list[Paragraph], index: int) -> Paragraph | None:
    """The prose paragraph right before the code block at `index`, under the same heading and
    above it (the only place its introduction can be), or None."""
    if index == 0:
        return None
    before = paragraphs[index - 1]
    if before.kind != "prose" or before.heading != code.heading or before.line_end >= code.line_start:
        return None
    return before


def _introduction(
    code: Paragraph, paragraphs: list[Paragraph], index: int, count_tokens: Callable[[str], int], limit: int
) -> str:
    """The last sentence of the longer prose paragraph right before a code block, to embed above
    the code (the paragraph keeps it in its text and lines); "" when there is none, or it is too
    long to be an introduction."""
    before = _prose_before(code, paragraphs, index)
    if before is None:
        return ""
    sentences = [s for s in split_sentences(before.text) if s.strip()]
    if not sentences:
        return ""
    intro = sentences[-1].strip()
    if count_tokens(intro) > INTRO_MAX_TOKENS or count_tokens(intro + "\n" + code.text) > limit:
        return ""
    return intro


class _Lines:
    """Character offset in a paragraph's text -> source line, in O(log n) per look-up."""

    def __init__(self, paragraph: Paragraph) -> None:
        self.paragraph = paragraph
        self.breaks = [m.start() for m in re.finditer("\n", paragraph.text)]
        self.aligned = len(self.breaks) == paragraph.line_end - paragraph.line_start  # text line i = line_start + i

    def at(self, offset: int) -> int:
        p = self.paragraph
        if self.aligned:
            return p.line_start + bisect_left(self.breaks, offset)
        return p.line_start + round((p.line_end - p.line_start) * offset / max(1, len(p.text)))


def _merge_short(
    pieces: list[_Piece],
    sizes: ChunkSizes,
    overhead: int,
    count_tokens: Callable[[str], int],
    limit: Callable[[str], int],
) -> list[_Piece]:
    """Merge short pieces forward up to merge_tokens; then fold any chunk still under min_tokens
    into a neighbour under the same heading and of the same kind, up to max_tokens."""

    def mergeable(a: _Piece, b: _Piece) -> bool:
        pa, pb = a.paragraph, b.paragraph
        return pa.heading == pb.heading and pa.kind == pb.kind and (
            not pa.language or not pb.language or pa.language == pb.language
        )

    def join(a: _Piece, b: _Piece) -> _Piece:
        pa, pb = a.paragraph, b.paragraph
        text = pa.text + "\n\n" + pb.text
        # min/max, not first/last: a notebook stores a cell's outputs above its source in the JSON,
        # so source + output joined ran from line 242 to line 237 (on a real Korean notebook)
        paragraph = replace(pa, text=text, line_start=min(pa.line_start, pb.line_start),
                            line_end=max(pa.line_end, pb.line_end), language=pa.language or pb.language)
        return _Piece(paragraph, count_tokens(text), a.first, b.last)

    def estimate(a: int, b: int) -> int:  # the parts without the second prefix, plus the separator
        return a + b - overhead + 1

    out: list[_Piece] = []
    for piece in pieces:
        if out and mergeable(out[-1], piece) and (
            out[-1].tokens < sizes.min_tokens or piece.tokens < sizes.min_tokens
        ) and estimate(out[-1].tokens, piece.tokens) <= sizes.merge_tokens:
            out[-1] = join(out[-1], piece)
        else:
            out.append(piece)

    i = 0
    while i < len(out):
        p = out[i]
        heading = p.paragraph.heading
        if p.tokens < sizes.min_tokens and len(out) > 1:
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(out) and mergeable(out[j], p)]
            neighbours = [j for j in neighbours if estimate(out[j].tokens, p.tokens) <= limit(heading) - 8]
            if neighbours:
                j = min(neighbours, key=lambda j: out[j].tokens)
                a, b = sorted((i, j))
                joined = join(out[a], out[b])
                if joined.tokens <= limit(heading):
                    out[a : b + 1] = [joined]
                    i = a
                    continue
        i += 1
    return out


def _split(
    paragraph: Paragraph, count_tokens: Callable[[str], int], max_tokens: int, overhead: int, known: int = 0
) -> list[tuple[Paragraph, int]]:
    """Pack sentences (lines, for code) into pieces of about equal size, each within max_tokens,
    keeping line spans. `known`: the paragraph's token count, when counted already."""
    if paragraph.kind == "code":
        units = paragraph.text.splitlines(keepends=True)
    else:
        units = split_sentences(paragraph.text)
    counted = [(u, n) for unit in units
               for u, n in _fit(unit, count_tokens, max_tokens, known if len(units) == 1 else 0)]
    units = [u for u, _ in counted]
    sizes = [n - overhead for _, n in counted]
    total = sum(sizes)
    budget = max_tokens - overhead - 8  # slack for tokens that merge across a sentence boundary
    parts = max(1, -(-total // budget))
    target = min(budget, -(-total // parts))

    out: list[tuple[Paragraph, int]] = []
    lines = _Lines(paragraph)
    offset = 0  # character offset of `buf` in paragraph.text
    buf: list[str] = []
    buf_tokens = 0
    for unit, n in zip(units, sizes):
        if buf and buf_tokens + n > target:
            text = "".join(buf)
            out.extend(_piece(paragraph, lines, offset, text, count_tokens, max_tokens, overhead,
                              buf_tokens + overhead if len(buf) == 1 else 0))
            offset += len(text)
            buf, buf_tokens = [], 0
        buf.append(unit)
        buf_tokens += n
    if "".join(buf).strip():
        out.extend(_piece(paragraph, lines, offset, "".join(buf), count_tokens, max_tokens, overhead,
                          buf_tokens + overhead if len(buf) == 1 else 0))
    return out


def _piece(
    paragraph: Paragraph, lines: _Lines, offset: int, text: str, count_tokens: Callable[[str], int], max_tokens: int,
    overhead: int, known: int,
) -> list[tuple[Paragraph, int]]:
    """One piece of a split paragraph; `known` is its token count when it is one counted unit."""
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    if not stripped:
        return []
    line_start = lines.at(offset + lead)
    line_end = lines.at(offset + lead + len(stripped) - 1)
    piece = replace(paragraph, text=stripped, line_start=line_start, line_end=max(line_start, line_end))
    n = known or count_tokens(stripped)
    if n > max_tokens:  # the estimate was off: split this piece again, more finely
        return _split(piece, count_tokens, max_tokens - 16, overhead)
    return [(piece, n)]


def _fit(unit: str, count_tokens: Callable[[str], int], max_tokens: int, known: int = 0) -> list[tuple[str, int]]:
    """(piece, tokens) of a sentence (or line): one piece if it fits the window, else windows cut
    at spaces, or between characters. A count of the unit (or of its start, for a very long one)
    gives its characters per token, so each window is cut to size at once and counted once; a
    window that still comes out too long is cut again."""
    if len(unit) > LONG:  # counting a window's worth gives the characters per token
        n = known or count_tokens(unit[: LONG // 2]) * len(unit) // (LONG // 2)
    else:
        n = known or count_tokens(unit)
        if n <= max_tokens or len(unit) < 2:
            return [(unit, n)]
    width = max(1, int(len(unit) / n * max_tokens * 0.8))
    out: list[tuple[str, int]] = []
    start = 0
    while start < len(unit):
        end = min(len(unit), start + width)
        if end < len(unit):
            space = unit.rfind(" ", start + width // 2, end)
            end = space + 1 if space >= 0 else end
        window = unit[start:end]
        k = count_tokens(window)
        if k <= max_tokens or len(window) < 2:
            out.append((window, k))
        else:
            middle = window.rfind(" ", 0, len(window) // 2 + 1) + 1 or len(window) // 2
            out.extend(p for half in (window[:middle], window[middle:]) if half
                       for p in _fit(half, count_tokens, max_tokens))
        start = end
    return out
