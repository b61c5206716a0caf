"""How results look to the outside: one JSON shape and one plain-text shape for hits, answers, documents
and index runs, shared by the CLI, the HTTP server and the MCP server.

Plain text reads like ripgrep's or qmd's results, which suit passages better than a table: a
header line per hit (`1. path:15-21  score  title > heading`) and the snippet under it, indented
and wrapped by display width, so Korean (two columns a syllable) is wrapped between words, never
cut. Paths under the working directory are shown relative to it.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Any, Iterable, Sequence

from .records import Answer, DocumentText, Hit, IndexReport

SNIPPET_CHARS = 240  # about three 80-column lines of Korean, five of English
INDENT = "   "


def display_path(path: str) -> str:
    """A path relative to the working directory when it is inside it: shorter, and clickable in terminals.

    Not when the working directory is the file system's root (MCP clients may start servers
    there): "home/u/posts/a.md" would look relative and mislead.
    """
    try:
        cwd = os.getcwd()
        if os.path.dirname(cwd) == cwd:
            return path
        rel = os.path.relpath(path, cwd)
    except (ValueError, OSError):  # another drive on Windows; a deleted working directory
        return path
    return path if rel.startswith("..") else rel


def parse_location(location: str) -> tuple[str, int | None, int | None]:
    """'a.md:12-20' -> ('a.md', 12, 20); 'a.md:12' -> ('a.md', 12, None); 'a.md' -> ('a.md', None, None)."""
    match = re.fullmatch(r"(.+?):(\d+)(?:-(\d+))?", location.strip())
    if not match:
        return location.strip(), None, None
    return match.group(1), int(match.group(2)), int(match.group(3)) if match.group(3) else None


def span(line_start: int, line_end: int) -> str:
    return f"{line_start}" if line_end == line_start else f"{line_start}-{line_end}"


def place(item: Any) -> str:
    """'posts/a.md:15-21' for anything with a path and a line range (a hit, a citation, a checked
    sentence's backing, a document): the lines `get` reads back whole (a first line alone read one)."""
    return f"{display_path(item.path)}:{span(item.line_start, item.line_end)}"


def heading_parts(heading: str) -> list[str]:
    """'# A > ## B' -> ['A', 'B']: the headings above a passage, outermost first, as a reader names
    them. JSON gave the stored form ("# A > ## B") and every client had to strip the markers."""
    parts = (re.sub(r"^#{1,6}(?:\s+|$)", "", part.strip()).strip() for part in heading.split(" > "))
    return [part for part in parts if part]


def heading_trail(heading: str) -> str:
    """'# A > ## B' -> 'A > B': the markdown markers mean nothing to a reader."""
    return " > ".join(heading_parts(heading))


def source_trail(title: str, heading: str, path: str = "") -> str:
    """'title > heading > subheading', without repeating a title that is also the first heading.

    A first heading the title begins with is the title too: "한국어는 왜 토큰을 더 많이 먹을까:
    BPE, SentencePiece..." over "# 한국어는 왜 토큰을 더 많이 먹을까" printed the same words twice
    in every hit's header of that post.
    """
    from pathlib import Path

    parts = [title or (Path(path).stem if path else "")]
    for i, part in enumerate(heading_parts(heading)):
        if part != parts[-1] and not (i == 0 and _begins_with_words(parts[0], part)):
            parts.append(part)
    return " > ".join(part for part in parts if part)


def _begins_with_words(title: str, heading: str) -> bool:
    """'LLM 정리' begins with the words 'LLM'; 'LLMs' does not."""
    rest = title[len(heading):] if title.startswith(heading) else None
    return rest is not None and (not rest or not rest[0].isalnum())


# -- query terms in a text --------------------------------------------------------------------

# Runs of a text outside Hangul (digits, other letters), as the lexical tokenizer cuts them. Each
# class lies within \w, so a run never crosses a word's end and one pass finds them all.
_OTHER_RUN = re.compile(r"[0-9]+|[^\W0-9_\uac00-\ud7a3]+")

# What Korean glues onto a word: particles, the copula, the endings of 하다/되다 verbs made from a
# noun ("학습하는" is "학습" + "하는") and a few noun suffixes ("생성형", "최적화"). A query word
# loses the longest of these (keeping at least two syllables) and what is left must begin a word
# of the text: "임종석은" -> "임종석", which begins "임종석이"; "학습하는" -> "학습", which begins
# "학습을" and "학습하게".
_PARTICLES = (
    "이 가 은 는 을 를 의 에 와 과 도 로 으로 만 나 이나 에서 에게 께 한테 까지 부터 보다 처럼 만큼 마다 "
    "이란 란 이라는 라는 이라고 라고 이며 며 이고 고 에는 에서는 으로는 로는 와는 과는 에도 에서도 으로도 "
    "로도 이든 든 조차 밖에 인가 인지 이다 다 입니다 이에요 예요 이야 야 이라 라 에서의 에의 으로의 로의 들 들이 "
    "들은 들을 들의 들에"
).split()
_VERB_ENDINGS = tuple(
    stem + ending
    for stem in ("하", "되", "시키")
    for ending in "는 다 고 며 면 여 기 게 지 는가 는지 나요 던 였다 였던".split() + [""]
) + ("한", "할", "함", "해", "했", "했다", "했던", "해서", "합니다", "한다", "된", "될", "됨", "돼", "됐다", "된다",
     "됩니다", "시킨", "시킬", "적인", "적으로", "적", "형", "화")
_ENDINGS = tuple(sorted(set(_PARTICLES) | set(_VERB_ENDINGS), key=len, reverse=True))
# one-syllable particles a one-syllable word may carry ("일을"), and the ones a query's lone
# syllable is most likely to be ("AI가": the particle of a Latin word, not a word to light)
_ONE_SYLLABLE_PARTICLES = "".join(sorted(e for e in _PARTICLES if len(e) == 1))


def _is_syllable(c: str) -> bool:
    return "\uac00" <= c <= "\ud7a3"


def _stem(word: str) -> str:
    """A Korean word without its particle or verb ending, at least two syllables long."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            return word[: -len(ending)]
    return word


def _korean_pattern(word: str) -> str:
    """A regex for the start of a text word that begins with `word`'s stem, taking in as much of
    the rest of `word` as follows it ("임종석은" lights "임종석" in "임종석이", "임종석은" whole)."""
    stem = _stem(word)
    if len(stem) == 1:  # one syllable: a word of its own, perhaps with a particle ("일", "일을")
        return f"{re.escape(stem)}(?=[{_ONE_SYLLABLE_PARTICLES}]?(?![\uac00-\ud7a3]))"
    rest = word[len(stem):]
    tail = ""
    for c in reversed(rest):
        tail = f"(?:{re.escape(c)}{tail})?"
    return re.escape(stem) + tail


@functools.lru_cache(maxsize=256)
def _query_terms(query: str) -> "tuple[frozenset[str], re.Pattern[str] | None, bool]":
    """A query's lexical tokens (the set, for its non-Hangul words), a regex for the places its
    Korean words begin a word of a text, and whether it has non-Hangul tokens; once per query,
    not once per hit."""
    from . import tokens

    wanted = frozenset(tokens.tokens(query))
    words = {run for run in tokens.runs(query) if _is_syllable(run[0])}
    words = {w for w in words if not (len(w) == 1 and w in _ONE_SYLLABLE_PARTICLES)}
    alternatives = [_korean_pattern(w) for w in sorted(words, key=lambda w: (-len(_stem(w)), -len(w), w))]
    korean = re.compile(f"(?<!\\w)(?:{'|'.join(alternatives)})") if alternatives else None
    return wanted, korean, any(not _is_syllable(t[0]) for t in wanted)


@functools.lru_cache(maxsize=4096)
def _latin(piece: str) -> str:
    from . import tokens

    return tokens.latin_token(piece.lower()) or ""


def term_spans(text: str, query: str) -> list[tuple[int, int]]:
    """(start, end) character spans of `text` that match the query's words, merged.

    A Korean query word lights the start of a text word that begins with its stem ("임종석은"
    lights "임종석" in "임종석이"), never a piece inside another word: lighting the lexical
    index's bigrams anywhere marked "하는" inside "구성하는", "표현하는", "예측하는" and "어가"
    inside "단어가" (for "한국어가"), "일" inside "23일": on six real queries over ../shared/corpus
    (top 10 hits each) 34 of 208 marks began inside a word, 0 of 169 now; what is no longer lit is
    a compound's tail ("튜닝" in "튜닝을" for "파인튜닝"). Other words match as the lexical index's
    tokens (English without stop words, plurals folded). Regexes are built once per query and English words go
    through a cache: a snippet for each of a search's hits cost ~4 ms a query when every run went
    through Python (py-spy on `serve`).
    """
    wanted, korean, others = _query_terms(query)
    if not wanted:
        return []
    spans: list[tuple[int, int]] = []
    if korean is not None:
        spans.extend(m.span() for m in korean.finditer(text) if m.end() > m.start())
    if others:
        spans.extend(run.span() for run in _OTHER_RUN.finditer(text) if _latin(run.group()) in wanted)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def snippet(text: str, query: str = "", limit: int = SNIPPET_CHARS,
            focus: str = "") -> tuple[str, list[tuple[int, int]]]:
    """The passage flattened to one paragraph, cut to about `limit` characters around `focus` (a
    sentence of it: the hit's evidence) or else the first query term (at spaces, marked with
    "…"), and the query terms' spans in it."""
    flat = " ".join(text.split())
    spans = term_spans(flat, query) if query else []
    if len(flat) <= limit:
        return flat, spans
    at = flat.find(" ".join(focus.split())) if focus else -1
    first = at + limit // 4 if at >= 0 else spans[0][0] if spans else 0
    start = max(0, first - limit // 4)
    if start:
        space = flat.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 40 else start
    end = min(len(flat), start + limit)
    if end < len(flat):
        space = flat.rfind(" ", start + limit // 2, end)
        end = space if space > 0 else end
    prefix = "…" if start else ""
    suffix = "…" if end < len(flat) else ""
    piece = prefix + flat[start:end].strip() + suffix
    shift = len(prefix) - start - (len(flat[start:end]) - len(flat[start:end].lstrip()))
    kept = [(s + shift, e + shift) for s, e in spans if s >= start and e <= end]
    return piece, kept


# -- JSON ---------------------------------------------------------------------------------

def _heading_fields(heading: str) -> dict[str, Any]:
    """`heading` as the text views show it ("A > B") and `headings`, the same as a list."""
    parts = heading_parts(heading)
    return {"heading": " > ".join(parts), "headings": parts}


def clean_scores(scores: dict[str, float]) -> dict[str, float | None]:
    """Rounded, with NaN (a retriever that did not find the passage) as null: valid JSON."""
    return {k: (None if v != v else round(v, 4)) for k, v in scores.items()}


def hit_json(hit: Hit, *, query: str = "", explain: bool = False) -> dict[str, Any]:
    """One hit as JSON; with the query, a snippet and the spans of its terms in it."""
    out: dict[str, Any] = {
        "rank": hit.rank,
        "chunk_id": hit.chunk_id,
        "score": round(hit.score, 4),
        "path": hit.path,
        "line_start": hit.line_start,
        "line_end": hit.line_end,
        "location": place(hit),
        "title": hit.title,
        **_heading_fields(hit.heading),
        "kind": hit.kind,
        "language": hit.language or None,
        "text": hit.text,
        "also": [f"{display_path(p)}:{lines}" for p, lines in (a.rsplit(":", 1) for a in hit.also)],
    }
    if hit.evidence:
        out["evidence"] = [{"text": e.text, "line_start": e.line_start, "line_end": e.line_end,
                            "location": f"{display_path(hit.path)}:{span(e.line_start, e.line_end)}",
                            "score": e.score} for e in hit.evidence]
    if query:
        out["snippet"], spans, found = hit_snippet(hit, query)
        out["highlights"] = [list(s) for s in spans]
        if found:
            out["evidence_span"] = list(found)
    if hit.relevant is not None:
        out["relevant"] = hit.relevant
    if explain and hit.scores:
        out["scores"] = clean_scores(hit.scores)
    return out


def hit_snippet(hit: Hit, query: str = "") -> tuple[str, list[tuple[int, int]], tuple[int, int] | None]:
    """A hit's snippet as every front end shows it: around its best sentence (else the first query
    term), the query terms' spans in it, and where the best sentence is in it (None: not there)."""
    text, spans = snippet(hit.text, query, focus=hit.evidence[0].text if hit.evidence else "")
    return text, spans, evidence_span(text, hit)


def evidence_span(piece: str, hit: Hit) -> tuple[int, int] | None:
    """Where the hit's best sentence is in its snippet `piece` (cut at the snippet's ends), or None."""
    if not hit.evidence:
        return None
    words = " ".join(hit.evidence[0].text.split())
    at = piece.find(words)
    if at >= 0:
        return at, at + len(words)
    for size in range(len(words) - 1, 19, -1):  # the snippet cut it: its longest kept end or start
        if piece.startswith("…" + words[-size:]):
            return 1, 1 + size
        if piece.endswith(words[:size] + "…"):
            return len(piece) - size - 1, len(piece) - 1
    return None


def citation_json(citation: Any) -> dict[str, Any]:
    """A citation as JSON; its location as hits show theirs (relative path, a line range)."""
    return dict(dataclasses.asdict(citation), **_heading_fields(citation.heading), location=place(citation))


def answer_json(answer: Answer) -> dict[str, Any]:
    """{question, answer, citations, passages, model, timings, ...}; answer is null with no LLM."""
    return {
        "question": answer.question,
        "answer": answer.text if answer.model is not None else None,
        "citations": [citation_json(c) for c in answer.citations],
        "passages": [
            dict(hit_json(hit, explain=True), number=n) for n, hit in enumerate(answer.passages, start=1)
        ],
        "model": answer.model,
        "timings": {key: round(value, 4) for key, value in answer.timings.items()},
        "dropped_passages": answer.dropped_passages,
        "declined": answer.declined,
        "support": None if answer.support is None else [support_json(s) for s in answer.support],
        "support_summary": answer.support_summary() or None,
        "prompt": answer.prompt,
    }


def support_json(support: Any) -> dict[str, Any]:
    """One checked sentence: its status and, when a passage backs it, the backing sentence's place."""
    out = dataclasses.asdict(support)
    out["location"] = place(support) if support.path else None
    return out


def support_lines(answer: Answer, width: int = 80) -> list[str]:
    """The check of an LLM's answer: a summary line, then each sentence its citation doesn't back.

    '✗' marks a sentence no passage backs; '≠' one that another passage than the cited backs.
    """
    if not answer.support:
        return []
    lines = [f"Checked: {answer.support_summary()}"]
    for s in answer.support:
        if s.status == "supported":
            continue
        cited = "".join(f"[{n}]" for n in s.cites) or "no citation"
        if s.status == "wrong_citation":
            text = f"≠ {s.text} ({cited}; backed by [{s.passage}] {place(s)})"
        else:
            text = f"✗ {s.text} ({cited}; no passage says this)"
        lines += wrap(text, width, indent="  ")
    return lines


def document_json(doc: DocumentText) -> dict[str, Any]:
    return dict(dataclasses.asdict(doc), location=place(doc))


def skipped_lines(skipped: Sequence[tuple[str, str]]) -> list[str]:
    """'Skipped a.txt: empty…' per file; files skipped because their reader's library could not be
    imported fold into one line per file type: 'Skipped 36 .html files: trafilatura could not be
    imported (…)' (36 identical lines would bury the files skipped for their own reasons)."""
    from .files.decode import MISSING_LIBRARY

    lines: list[str] = []
    groups: dict[tuple[str, str], list[int]] = {}  # (suffix, reason) -> [index of its line, count]
    for name, reason in skipped:
        if MISSING_LIBRARY not in reason:
            lines.append(f"Skipped {display_path(name)}: {reason}")
            continue
        suffix = os.path.splitext(name.split("#", 1)[0])[1].lower() or "(no suffix)"
        if (suffix, reason) not in groups:
            groups[(suffix, reason)] = [len(lines), 0]
            lines.append("")
        groups[(suffix, reason)][1] += 1
    for (suffix, reason), (at, n) in groups.items():
        lines[at] = f"Skipped {n} {suffix} file{'s' if n != 1 else ''}: {reason}"
    return lines


def status_rows(info: dict[str, Any]) -> dict[str, str]:
    """`status` as label -> value, for the CLI's table and MCP's text alike."""
    import datetime

    last = info["last_indexed"]
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(info["kinds"].items()))
    store = info["vector_store"]
    return {
        "Index": info["path"] + (" (read-only)" if info["read_only"] else ""),
        "Documents": f"{info['documents']:,}",
        "Passages": f"{info['chunks']:,}" + (f" ({kinds})" if kinds else ""),
        "Sentences": f"{info.get('sentences', 0):,}" + (
            f" ({info['without_sentences']:,} passages from an older version have none: run `embedsearch index`"
            " on their folder)" if info.get("without_sentences") else ""),
        "Model": f"{info['model']} ({info['dimension']}-d)" if info["model"] else "-",
        "Vectors": f"{store['kind']}: {store.get('vectors', 0):,} vectors"
        + (f" at {store['location']}" if store.get("location") and store["kind"] != "faiss" else ""),
        "Size": size_text(info["size_bytes"]),
        "Last indexed": datetime.datetime.fromtimestamp(last).strftime("%Y-%m-%d %H:%M") if last else "never",
    }


def size_text(n: float) -> str:
    """1,234 B, 12.3 KB, 4.5 MB, 1.2 GB."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} B"


def report_notes(report: IndexReport) -> list[str]:
    """What an index run did not read, a line each: skipped files, unread file types, symlinks out."""
    from .files import WalkStats

    walked = WalkStats(links_skipped=report.links_skipped)
    walked.unread.update(report.unread)
    return [*skipped_lines(report.skipped), *(line for line in (walked.unread_line(), walked.links_line()) if line)]


def report_json(report: IndexReport, index: str = "") -> dict[str, Any]:
    out = dataclasses.asdict(report)
    out["skipped"] = [{"path": p, "reason": r} for p, r in report.skipped]
    out["tokens_per_second"] = round(report.tokens_per_second, 1)
    if index:
        out["index"] = index
    return out


# -- errors -------------------------------------------------------------------------------

# A library message names options as the CLI spells them ("--path 'x': unclosed '['"). HTTP and
# MCP callers set request fields instead: the options that are fields there are renamed; others
# (--llm-url, --allow) are settings the server was started with, and stay as they are.
_OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")
REQUEST_FIELDS = {"top": "k", "k": "k", "path": "path", "tag": "tag", "kind": "kind", "mode": "mode",
                  "min-score": "min_score", "rebuild": "rebuild", "answer-anyway": "answer_anyway",
                  "max-tokens": "max_tokens", "temperature": "temperature"}


def error_text(exc: BaseException, front_end: str = "cli") -> str:
    """An error's one line in a front end's own words: 'cli' as raised; 'http' and 'mcp' with the
    options that are request fields there named as those fields ('--min-score' -> 'min_score')."""
    text = str(exc)
    if front_end == "cli":
        return text
    return _OPTION.sub(lambda m: REQUEST_FIELDS.get(m.group(1), m.group(0)), text)


# -- plain text -----------------------------------------------------------------------------

def hit_header_parts(hit: Hit) -> list[tuple[str, str]]:
    """A hit's header as (text, role) pieces: the terminal styles each role, plain text joins them.

    Roles: rank, location, score (or doubtful: not backed as relevant, marked '?'), kind, trail.
    """
    doubtful = hit.relevant is False
    parts = [(f"{hit.rank}. ", "rank"), (place(hit), "location"),
             (f"  {hit.score:.3f}" + ("?" if doubtful else ""), "doubtful" if doubtful else "score")]
    if hit.kind == "code":
        parts.append((f"  [{hit.language or 'code'}]", "kind"))
    trail = source_trail(hit.title, hit.heading, hit.path)
    if trail:
        parts.append((f"  {trail}", "trail"))
    return parts


def hit_header(hit: Hit) -> str:
    """'1. path:15-21  0.912  title > heading' (the score marked '?' when not backed as relevant)."""
    return "".join(text for text, _ in hit_header_parts(hit))


def also_text(hit: Hit) -> str:
    """'also: b.md:3-4, c.md:10-11': where else the same paragraph appears ("" when nowhere)."""
    return "also: " + ", ".join(display_path(a) for a in hit.also) if hit.also else ""


def scores_text(hit: Hit) -> str:
    """'dense 0.812, lexical 3.100, fused 0.913' (--explain); '-' for a retriever that missed it."""
    return ", ".join(f"{name} {'-' if v is None else f'{v:.3f}'}" for name, v in clean_scores(hit.scores).items())


def hits_text(hits: Sequence[Hit], query: str = "", width: int = 80) -> str:
    """Hits as plain text wrapped to `width` display columns (MCP results, pipes that want text)."""
    blocks = []
    for hit in hits:
        lines = wrap(hit_header(hit), width, indent=INDENT)
        text, _, _ = hit_snippet(hit, query)
        lines += wrap(text, width, first=INDENT, indent=INDENT)
        if evidence_text(hit):
            lines += wrap(evidence_text(hit), width, first=INDENT, indent=INDENT)
        if hit.also:
            lines += wrap(also_text(hit), width, first=INDENT, indent=INDENT)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def evidence_text(hit: Hit) -> str:
    """'best sentence: path:17': the best sentence's own lines, when they are not the whole passage's
    (plain text cannot show it in bold; an agent reading it cites that line)."""
    if not hit.evidence:
        return ""
    best = hit.evidence[0]
    if (best.line_start, best.line_end) == (hit.line_start, hit.line_end):
        return ""
    return f"best sentence: {display_path(hit.path)}:{span(best.line_start, best.line_end)}"


def answer_text(answer: Answer, width: int = 80) -> str:
    """The answer, its check (when an LLM wrote it), then a Sources list mapping each [n] to path:line and heading."""
    check = support_lines(answer, width)
    return "\n".join([answer.text.strip() or "(no answer)", "", *check, *([""] if check else []),
                      *answer_sources_lines(answer, width)])


def answer_sources_lines(answer: Answer, width: int = 80) -> list[str]:
    """The Sources list of an answer: the passages it cited, else the ones retrieved (said so)."""
    if answer.citations:
        return sources_lines([(c.number, c) for c in answer.citations], "Sources", width)
    return sources_lines(list(enumerate(answer.passages, start=1)),
                         "Sources (the answer cited none; these were retrieved)", width)


def sources_lines(rows: Sequence[tuple[int, Any]], title: str, width: int = 80) -> list[str]:
    """'[n] path:15-21  title > heading', wrapped between words by display width.

    A table with a column per field cut a Korean heading short at 80 columns ("토큰이라는 단위"
    came out as "토큰이라 …"): here nothing is cut, a long trail continues on indented lines.
    """
    lines = [title]
    for n, item in rows:
        location = place(item)
        trail = source_trail(item.title, item.heading, item.path)
        lines += wrap(f"[{n}] {location}  {trail}".rstrip(), width, indent=" " * (len(str(n)) + 3))
    return lines


def cell_width(text: str) -> int:
    """Display columns: East Asian wide and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, width: int, *, first: str = "", indent: str = "") -> list[str]:
    """Wrap at spaces by display width; a word wider than a line is split between characters.

    Every character of `text` is kept (only the spaces where lines break are dropped).
    """
    lines: list[str] = []
    line = first
    room = max(10, width)
    for word in text.split(" "):
        candidate = f"{line} {word}" if line.strip() else line + word
        if cell_width(candidate) <= room:
            line = candidate
            continue
        if line.strip():
            lines.append(line)
        line = indent
        while cell_width(indent + word) > room:  # a very long word (a URL, a run of code)
            cut = _fit(word, room - cell_width(indent))
            lines.append(indent + word[:cut])
            word = word[cut:]
        line = indent + word
    if line.strip():
        lines.append(line)
    return lines


def _fit(word: str, columns: int) -> int:
    used = 0
    for i, c in enumerate(word):
        used += cell_width(c)
        if used > columns:
            return max(1, i)
    return len(word)
