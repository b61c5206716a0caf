"""`embedsearch search QUERY`."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .app import (IndexOption, JsonOption, KindOption, ModeOption, ModelOption, PathFilterOption, TagFilterOption,
                  app, console, err_console, handle_errors, open_index, print_json, want_json)

if TYPE_CHECKING:
    from rich.console import Console

    from ..records import Hit


@app.command()
@handle_errors
def search(
    query: str = typer.Argument(..., help="What to look for, in any language."),
    k: int = typer.Option(5, "-k", "--top", min=1, help="How many passages to show."),
    mode: Optional[str] = ModeOption,
    min_score: Optional[float] = typer.Option(
        None, "--min-score", help="Hide passages scoring below this (the chosen mode's score)."
    ),
    explain: bool = typer.Option(False, "--explain", help="Show each passage's dense, lexical and fused scores."),
    path: Optional[str] = PathFilterOption,
    tag: Optional[str] = TagFilterOption,
    kind: Optional[str] = KindOption,
    index: Optional[Path] = IndexOption,
    model: Optional[str] = ModelOption,
    json_: bool = JsonOption,
) -> None:
    """Find the passages nearest in meaning to QUERY.

    On a terminal: each passage as `rank. path:line  score  title > heading` and its snippet
    around its sentence nearest the query (in bold), the query's words highlighted. With
    --json or when piped: one JSON object per passage, its `evidence` sentences with their
    lines. In hybrid mode, a passage the calibrated relevance signal does not back has its score marked
    with '?'; when none is backed, search says so.
    """
    # One short query: a single OpenMP thread embeds it faster than two that must wake and sync
    # (benchmarks/run.py, "warm query latency"), and doesn't stall behind other busy processes.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from .. import operations as ops

    request = ops.SearchRequest(query, k, mode=mode, min_score=min_score, path=path, tag=tag, kind=kind)
    with open_index(index, model) as ix:
        hits = ops.search(ix, request)
    if want_json(json_):
        from ..views import hit_json

        for hit in hits:
            print_json(hit_json(hit, query=query, explain=explain))
        return
    if not hits:
        console.print("No passages found.")
        return
    if ops.nothing_relevant(hits):
        err_console.print("[yellow]No passage looks relevant to this query[/]: these are only the nearest.")
    render_hits(hits, query, explain=explain)


# views.hit_header_parts' roles, as a terminal shows them
HEADER_STYLES = {"rank": "bold", "location": "cyan", "score": "green", "doubtful": "dim", "kind": "magenta",
                 "trail": "bold"}


def render_hits(hits: "list[Hit]", query: str, *, explain: bool = False, out: "Console | None" = None) -> None:
    """Hits for a terminal: a header line each, the snippet indented under it, query terms highlighted.

    rich wraps by display width at spaces, so Korean lines break between words and nothing is
    cut off, at any terminal width.
    """
    from rich.padding import Padding
    from rich.text import Text

    from ..views import also_text, hit_header_parts, hit_snippet, scores_text

    out = out or console
    for i, hit in enumerate(hits):
        if i:
            out.print()
        header = Text()
        for text, role in hit_header_parts(hit):
            header.append(text, style=HEADER_STYLES[role])
        # a header longer than the line goes on indented under its first line, as the snippet is
        lines = header.wrap(out, max(20, out.width - 3))
        out.print(lines[0], soft_wrap=True)
        for line in lines[1:]:
            out.print(Padding(line, (0, 0, 0, 3)))
        text, spans, found = hit_snippet(hit, query)
        body = Text(text, overflow="fold")
        if found and found[1] - found[0] < len(text):  # the sentence nearest the query, when it is a part
            body.stylize("bold", *found)
        for start, end in spans:
            body.stylize("bold yellow", start, end)
        out.print(Padding(body, (0, 0, 0, 3)))
        if hit.also:
            out.print(Padding(Text(also_text(hit), style="dim", overflow="fold"), (0, 0, 0, 3)))
        if explain and hit.scores:
            out.print(Padding(Text(scores_text(hit), style="dim", overflow="fold"), (0, 0, 0, 3)))
