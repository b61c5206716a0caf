"""An independent audit of chunks made from real blog posts: markup residue, fake headings, lines.

Used by tests/test_real_corpus.py and benchmarks/real_corpus.py. It deliberately shares no code
with embedsearch.files: it judges the reader's output against the raw source with its own
(simple) rules, so a bug in the reader cannot hide itself.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# Template and markup residue in the text a reader would read.
LIQUID_TAG = re.compile(r"\{%-?\s*[A-Za-z_]")  # {% highlight %}, {% link %}, {% raw %}, {% codeblock %}
LIQUID_OUTPUT = re.compile(r"\{\{-?\s*[^\s<%{]")  # {{ site.baseurl }}, {{ "x" | absolute_url }}
SHORTCODE = re.compile(r"\{\{[<%]")  # Hugo {{< highlight >}}, {{% notice %}}
IAL = re.compile(r"\{::|\{:\s*[.#]?[A-Za-z_][\w-]*\s*(?:=|\}|\s)")  # kramdown {: .notice}, {: width="70%"}
HTML_TAG = re.compile(
    r"</?(?:a|b|big|blockquote|br|center|code|col|colgroup|details|div|em|figcaption|figure|font|h[1-6]|hr"
    r"|i|iframe|img|li|ol|p|pre|script|section|small|source|span|strong|style|sub|summary|sup|table|tbody"
    r"|td|th|thead|tr|u|ul|video)(?:\s[^<>]*)?/?>",
    re.I,
)
MARKDOWN_SYNTAX = re.compile(r"!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)|^\s*\[[^\]]+\]:\s*\S+", re.M)

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_OPEN = re.compile(r"\{%-?\s*(highlight|codeblock)\b|\{\{<\s*highlight\b")
CODE_CLOSE = re.compile(r"\{%-?\s*end(highlight|codeblock)\b|\{\{<\s*/\s*highlight\b")
ATX = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
SETEXT = re.compile(r"^ {0,3}(?:=+|-+)\s*$")


def strip_markup(text: str) -> str:
    """The text without template tags, IALs, HTML tags and markdown link/image targets."""
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "", IAL.sub("", text))
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)|\]\[[^\]]*\]|^\s*\[[^\]]+\]:.*$", "]", text, flags=re.M)
    return HTML_TAG.sub("", text)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def squash(text: str) -> str:
    """Only the word characters: compares text across markup that was removed."""
    return "".join(words(html.unescape(text)))


def heading_lines(source: str) -> list[set[str]]:
    """The words of each markdown heading line (ATX or setext), outside fenced and template code blocks."""
    lines = source.split("\n")
    found: list[set[str]] = []
    fence = ""
    in_template = False
    for i, line in enumerate(lines):
        if in_template:
            in_template = not CODE_CLOSE.search(line)
            continue
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)):].strip():
                fence = ""
            continue
        if m:
            fence = m.group(1)
            continue
        if CODE_OPEN.search(line):
            in_template = not CODE_CLOSE.search(line)
            continue
        if ATX.match(line) or (
            line.strip() and i + 1 < len(lines) and SETEXT.match(lines[i + 1]) and not line.startswith("    ")
        ):
            found.append(set(words(html.unescape(line))) | set(words(strip_markup(line))))
    return found


@dataclass
class Audit:
    """Counts over a set of chunks; `examples` keeps a few offenders per kind for messages."""

    chunks: int = 0
    code_chunks: int = 0
    liquid: int = 0
    kramdown: int = 0
    shortcode: int = 0
    html: int = 0
    markdown: int = 0
    markup_only: int = 0
    fake_heading: int = 0
    bad_lines: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, where: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.examples.setdefault(kind, [])
        if len(self.examples[kind]) < 5:
            self.examples[kind].append(where)

    def residue(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("liquid", "kramdown", "shortcode", "html", "markdown", "markup_only",
                                              "fake_heading", "bad_lines")}


def audit_document(audit: Audit, name: str, source: str, chunks, *, liquid_outputs: bool = True) -> None:
    """Audit one document's chunks against its source text (as decoded, line for line).

    `liquid_outputs`: whether `{{ … }}` counts as residue. Jekyll renders it (so it must go); Hugo
    leaves it in the page (a post about Airflow shows `{{ ds }}` to its readers), so it stays.
    """
    lines = source.split("\n")
    real_headings = heading_lines(source)
    for c in chunks:
        audit.chunks += 1
        where = f"{name}:{c.line_start}: {c.text[:80]!r}"
        is_code = getattr(c, "kind", "prose") == "code"
        audit.code_chunks += is_code
        if LIQUID_TAG.search(c.text) or (liquid_outputs and LIQUID_OUTPUT.search(c.text)):
            audit.note("liquid", where)
        if SHORTCODE.search(c.text):
            audit.note("shortcode", where)
        if not is_code:  # code may hold `'{:.3f}'.format`, `<String>` or `[i](x)` legitimately
            if IAL.search(c.text):
                audit.note("kramdown", where)
            if HTML_TAG.search(c.text):
                audit.note("html", where)
            if MARKDOWN_SYNTAX.search(c.text):
                audit.note("markdown", where)
        if not words(strip_markup(c.text)):
            audit.note("markup_only", where)
        for head in filter(None, c.heading.split(" > ")):
            key = set(words(head))
            if not any(key <= h for h in real_headings):
                audit.note("fake_heading", f"{name}: heading {head!r}")
        if not _lines_match(c, lines):
            audit.note("bad_lines", where)


def _lines_match(chunk, lines: list[str]) -> bool:
    """The chunk's words all come from its own source lines, its first word from the first line
    of text in the span and its last word from the last (so a span off by one line fails).
    Lines without text of their own (a fence, a template tag, `$$`, an IAL, an image, a table
    rule, a bracket) may open or close the span; blank lines may not. Source words are compared
    with markup removed as well, since `[추출][ref]할` reads "추출할"."""
    if not 1 <= chunk.line_start <= chunk.line_end <= len(lines):
        return False
    span = lines[chunk.line_start - 1 : chunk.line_end]
    if not span[0].strip() or not span[-1].strip():
        return False
    ws = words(html.unescape(chunk.text))
    if not ws:
        return True
    # code is literal: '[distance range]: num of dist (%)' in a code block is text, not a link
    # definition (a line of HTML tags alone, '</table>', still has no text of its own)
    literal = getattr(chunk, "kind", "prose") == "code"
    text_lines = [line for line in span if (words(strip_markup(line)) or literal and words(line)
                                            and not re.fullmatch(r"\s*(<[^>]*>\s*)+", line))
                  and not re.match(r"^\s*(`{3,}|~{3,})", line)] or span

    def source(lines_: list[str]) -> str:
        joined = "\n".join(lines_)
        return squash(joined) + " " + squash(strip_markup(joined))

    whole = source(span)
    return all(w in whole for w in ws) and ws[0] in source(text_lines[:1]) and ws[-1] in source(text_lines[-1:])
