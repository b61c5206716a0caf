"""Stage 2: paragraphs -> chunks that fit the embedder's window, counted with its own tokenizer.

Two rules, applied per document:
1. A paragraph longer than `max_tokens` is split at sentence boundaries (then at spaces, then
   between characters, for a "sentence" that is itself too long). Nothing is ever truncated:
   the pieces together hold every character, and each keeps its own line span.
2. Paragraphs shorter than `min_tokens` are merged with their neighbours under the same heading,
   as long as the merged chunk stays within `max_tokens`: a lone list item or a one-line
   paragraph says too little to be found on its own.

What gets embedded is the chunk's text under its document title and heading path (see
`context_text`): on KorQuAD that lifted dense R@1 from 0.744 to 0.772 and hybrid from 0.915 to
0.922 (benchmarks/quality/context_eval.py). Those lines count against the window too.

Why these sizes (see README, "Chunk sizes"): the bundled E5 model's window is 512 tokens
including the `passage: ` prefix and two special tokens, and it windows longer inputs silently,
so 512 is a hard ceiling. The merge floor keeps one-line list items from becoming chunks of
their own, while leaving most real paragraphs alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from .records import Chunk, Paragraph
from .text import content_hash, split_sentences

CHUNKER_VERSION = 2  # 2: title and heading path embedded with the text


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


def make_chunks(
    paragraphs: Iterable[Paragraph],
    count_tokens: Callable[[str], int],
    sizes: ChunkSizes = ChunkSizes(),
    title: str = "",
) -> list[Chunk]:
    """Chunks of a document whose title is `title` ("" when it only repeats the file name)."""
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

    pieces: list[tuple[Paragraph, int]] = []
    for paragraph in paragraphs:
        n = count_tokens(paragraph.text)
        if n <= limit(paragraph.heading):
            pieces.append((paragraph, n))
        else:
            pieces.extend(_split(paragraph, count_tokens, limit(paragraph.heading), overhead))

    merged = _merge_short(pieces, sizes, overhead, count_tokens, limit)
    chunks = []
    for ordinal, (p, _) in enumerate(merged):
        embed_text = context_text(*context(p.heading), p.text)
        chunks.append(Chunk(text=p.text, heading=p.heading, line_start=p.line_start, line_end=p.line_end,
                            token_count=count_tokens(embed_text), content_hash=content_hash(embed_text),
                            ordinal=ordinal, embed_text=embed_text))
    return chunks


def _merge_short(
    pieces: list[tuple[Paragraph, int]],
    sizes: ChunkSizes,
    overhead: int,
    count_tokens: Callable[[str], int],
    limit: Callable[[str], int],
) -> list[tuple[Paragraph, int]]:
    """Merge short paragraphs forward up to merge_tokens; then fold any chunk still under
    min_tokens into a neighbour under the same heading, up to max_tokens."""

    def join(a: tuple[Paragraph, int], b: tuple[Paragraph, int]) -> tuple[Paragraph, int]:
        text = a[0].text + "\n\n" + b[0].text
        return Paragraph(text, a[0].heading, a[0].line_start, b[0].line_end), count_tokens(text)

    def estimate(a: int, b: int) -> int:  # the parts without the second prefix, plus the separator
        return a + b - overhead + 1

    out: list[tuple[Paragraph, int]] = []
    for piece in pieces:
        if out and out[-1][0].heading == piece[0].heading and (
            out[-1][1] < sizes.min_tokens or piece[1] < sizes.min_tokens
        ) and estimate(out[-1][1], piece[1]) <= sizes.merge_tokens:
            out[-1] = join(out[-1], piece)
        else:
            out.append(piece)

    i = 0
    while i < len(out):
        p, n = out[i]
        if n < sizes.min_tokens and len(out) > 1:
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(out) and out[j][0].heading == p.heading]
            neighbours = [j for j in neighbours if estimate(out[j][1], n) <= limit(p.heading) - 8]
            if neighbours:
                j = min(neighbours, key=lambda j: out[j][1])
                a, b = sorted((i, j))
                joined = join(out[a], out[b])
                if joined[1] <= limit(p.heading):
                    out[a : b + 1] = [joined]
                    i = a
                    continue
        i += 1
    return out


def _split(
    paragraph: Paragraph, count_tokens: Callable[[str], int], max_tokens: int, overhead: int
) -> list[tuple[Paragraph, int]]:
    """Pack sentences into pieces of about equal size, each within max_tokens, keeping line spans."""
    units = [u for s in split_sentences(paragraph.text) for u in _fit(s, count_tokens, max_tokens)]
    sizes = [count_tokens(u) - overhead for u in units]
    total = sum(sizes)
    budget = max_tokens - overhead - 8  # slack for tokens that merge across a sentence boundary
    parts = -(-total // budget)
    target = min(budget, -(-total // parts))

    out: list[tuple[Paragraph, int]] = []
    offset = 0  # character offset of `buf` in paragraph.text
    buf, buf_tokens = "", 0
    for unit, n in zip(units, sizes):
        if buf and buf_tokens + n > target:
            out.extend(_piece(paragraph, offset, buf, count_tokens, max_tokens, overhead))
            offset += len(buf)
            buf, buf_tokens = "", 0
        buf += unit
        buf_tokens += n
    if buf.strip():
        out.extend(_piece(paragraph, offset, buf, count_tokens, max_tokens, overhead))
    return out


def _piece(
    paragraph: Paragraph, offset: int, text: str, count_tokens: Callable[[str], int], max_tokens: int, overhead: int
) -> list[tuple[Paragraph, int]]:
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    line_start = paragraph.line_start + paragraph.text[: offset + lead].count("\n")
    piece = Paragraph(stripped, paragraph.heading, line_start, line_start + stripped.count("\n"))
    n = count_tokens(stripped)
    if n > max_tokens:  # the estimate was off: split this piece again, more finely
        return _split(piece, count_tokens, max_tokens - 16, overhead)
    return [(piece, n)]


def _fit(sentence: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """A sentence that alone exceeds the window is cut at spaces, or between characters."""
    if count_tokens(sentence.strip()) <= max_tokens:
        return [sentence]
    words = sentence.split(" ")
    if len(words) > 1:
        halves = [" ".join(words[: len(words) // 2]) + " ", " ".join(words[len(words) // 2 :])]
    else:
        halves = [sentence[: len(sentence) // 2], sentence[len(sentence) // 2 :]]
    return [piece for half in halves for piece in _fit(half, count_tokens, max_tokens)]
