"""Plain records that flow through the pipeline: files -> chunks -> vectors -> store -> search -> answer.

They are dataclasses so that the library, the CLI and scripts share one vocabulary, and so
that `dataclasses.asdict` gives the JSON the CLI prints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    """One source file, as read from disk (text already NFC-normalised)."""

    path: str  # absolute, resolved path
    text: str
    content_hash: str
    mtime: float
    title: str
    front_matter: dict[str, Any] = field(default_factory=dict)
    encoding: str = "utf-8"


@dataclass
class Paragraph:
    """One block of a document: a paragraph, list, quote, table or code fence."""

    text: str
    heading: str  # heading path, e.g. "# A > ## B"; "" when none
    line_start: int  # 1-based, inclusive
    line_end: int  # 1-based, inclusive
    kind: str = "prose"  # "prose" or "code" (a code block, or program output pasted as text)
    language: str = ""  # a code block's language ("python"), when the author named it
    # code the author marked as a block (a fence, an indented block, <pre>, a notebook cell), not a
    # paragraph that reads as code or output; only such a block takes its introducing sentence
    block: bool = False


@dataclass
class Chunk:
    """The unit that is embedded and retrieved: one or more paragraphs under one heading.

    `text` is what the author wrote; `embed_text` is what the model reads: the document title
    and heading path above the text, which tells the model what a terse paragraph is about.
    `token_count` and `content_hash` are of `embed_text`.
    """

    text: str
    heading: str
    line_start: int
    line_end: int
    token_count: int
    content_hash: str
    ordinal: int = 0
    embed_text: str = ""
    kind: str = "prose"  # "prose" or "code": see Paragraph.kind
    language: str = ""
    # a code chunk's introducing sentence that stays in the passage before it: embedded above the
    # code and in its full-text row (store/documents.py), not shown as its text
    intro: str = ""
    # its sentences (sentences.py): (start, end) characters of `text`, (line_start, line_end)
    sentences: list[tuple[int, int, int, int]] = field(default_factory=list)


@dataclass
class Evidence:
    """The sentence of a hit that comes nearest the query: what a reader looks at first."""

    text: str
    line_start: int
    line_end: int
    score: float  # what it was chosen by: its cosine with the query + 0.2 x the query's words it holds
    start: int = 0  # characters [start, end) of the hit's text
    end: int = 0


@dataclass
class Hit:
    """One search result."""

    score: float
    text: str
    path: str
    line_start: int
    line_end: int
    heading: str
    title: str
    chunk_id: int
    rank: int = 0
    # what each retriever scored it (dense cosine, lexical BM25, coverage, fused): for --explain
    scores: dict[str, float] = field(default_factory=dict)
    # hybrid mode's calibrated "this passage is evidence for the query"; None in other modes
    relevant: bool | None = None
    kind: str = "prose"  # "prose" or "code"
    language: str = ""  # a code passage's language, when known
    # the same paragraph elsewhere (an author's reused text): "path:start-end" of each other copy
    also: list[str] = field(default_factory=list)
    # its sentences nearest the query, best first (dense and hybrid modes, an index with sentence
    # vectors); a reader's eye goes there, and `ask` without an LLM answers from them
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def location(self) -> str:
        """'path:15-21' (or 'path:15' for one line): what `Index.get` reads back as the passage."""
        end = f"-{self.line_end}" if self.line_end > self.line_start else ""
        return f"{self.path}:{self.line_start}{end}"


@dataclass
class DocumentText:
    """A document, or a range of its lines, read back for a reader (`Index.get`)."""

    path: str
    title: str
    front_matter: dict[str, Any]
    line_start: int
    line_end: int
    text: str
    source: str  # "file": read from the file now; "index": the indexed passages (file gone, or an export's post)
    # why the indexed passages stand in for the file ("the file changed since it was indexed;
    # showing the indexed text"); "" when the file was read, or the document is an export's post
    note: str = ""

    @property
    def location(self) -> str:
        span = f"{self.line_start}" if self.line_end == self.line_start else f"{self.line_start}-{self.line_end}"
        return f"{self.path}:{span}"


@dataclass
class IndexReport:
    """What one `Index.add` run did, for the summary line and for tests."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_total: int = 0
    tokens_embedded: int = 0
    embed_seconds: float = 0.0
    seconds: float = 0.0
    # (file name, why it was not indexed): empty, binary, undecodable, too large, unsupported
    skipped: list[tuple[str, str]] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)  # documents added, changed or removed
    interrupted: bool = False
    # suffix -> files under the folder that no reader reads (".mdx": 71); "" for files without one
    unread: dict[str, int] = field(default_factory=dict)
    links_skipped: int = 0  # symlinks leading out of the folder, not followed (--follow-symlinks)
    rolled_back: bool = False  # a rebuild that failed or was interrupted: the index is as it was

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_embedded / self.embed_seconds if self.embed_seconds > 0 else 0.0

    def summary(self) -> str:
        line = f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, {self.removed} removed"
        line += f"; {self.chunks_embedded} chunks embedded"
        if self.chunks_embedded:
            line += f" ({self.tokens_per_second:,.0f} tokens/s)"
        line += f", {self.chunks_reused} reused"
        if self.skipped:
            line += f"; {len(self.skipped)} skipped"
        return line


@dataclass
class Citation:
    """A passage number `[n]` that an answer cites, mapped back to its source."""

    number: int
    path: str
    line_start: int
    line_end: int
    heading: str
    title: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line_start}"


@dataclass
class SentenceSupport:
    """How one sentence of an LLM's answer is backed by the retrieved passages (answer/check.py)."""

    text: str  # the sentence, without its [n] markers
    cites: list[int]  # the passage numbers it cites
    status: str  # "supported", "wrong_citation" (another passage backs it) or "unsupported"
    score: float  # the support score of the passage that backs it (else the best there was)
    passage: int | None = None  # the number of the passage that backs it best, when one does
    path: str = ""  # where the backing sentence is
    line_start: int = 0
    line_end: int = 0
    evidence: str = ""  # the backing sentence itself

    @property
    def location(self) -> str:
        if not self.path:
            return ""
        end = f"-{self.line_end}" if self.line_end > self.line_start else ""
        return f"{self.path}:{self.line_start}{end}"


@dataclass
class Answer:
    """An LLM answer grounded in numbered passages."""

    question: str
    text: str
    citations: list[Citation]
    passages: list[Hit]
    model: str | None
    prompt: str
    timings: dict[str, float] = field(default_factory=dict)
    dropped_passages: int = 0  # passages trimmed to fit the context window
    declined: bool = False  # no passage was relevant, so the LLM was not asked
    # each sentence of an LLM's answer checked against the passages (None: not checked)
    support: list[SentenceSupport] | None = None

    def support_summary(self) -> str:
        """'4 of 5 sentences supported by their citations (1 by no passage)'; "" when not checked."""
        if not self.support:
            return ""
        n = len(self.support)
        supported = sum(s.status == "supported" for s in self.support)
        wrong = sum(s.status == "wrong_citation" for s in self.support)
        extra = [f"{wrong} by another passage than cited"] if wrong else []
        extra += [f"{n - supported - wrong} by no passage"] if n - supported - wrong else []
        line = f"{supported} of {n} sentence{'s' if n != 1 else ''} supported by their citations"
        return line + (f" ({', '.join(extra)})" if extra else "")
