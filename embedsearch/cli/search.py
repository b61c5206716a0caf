"""`embedsearch search QUERY`."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .app import (IndexOption, JsonOption, ModeOption, ModelOption, PathFilterOption, TagFilterOption, app, console,
                  err_console, handle_errors, open_index, print_json, want_json)

if TYPE_CHECKING:
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
    index: Optional[Path] = IndexOption,
    model: Optional[str] = ModelOption,
    json_: bool = JsonOption,
) -> None:
    """Find the passages nearest in meaning to QUERY.

    On a terminal: a table of rank, score, path:line, heading and snippet. With --json or when
    piped: one JSON object per passage. In hybrid mode, a passage that the calibrated relevance
    signal does not back is marked; when none is backed, search says so.
    """
    # One short query: a single OpenMP thread embeds it faster than two that must wake and sync
    # (benchmarks/run.py, "warm query latency"), and doesn't stall behind other busy processes.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with open_index(index, model) as ix:
        hits = ix.search(query, k=k, mode=mode, min_score=min_score, path=path, tag=tag)
    if want_json(json_):
        for hit in hits:
            print_json(hit_json(hit, explain))
        return
    if not hits:
        console.print("No passages found.")
        return
    if all(h.relevant is False for h in hits):
        err_console.print("[yellow]No passage looks relevant to this query[/]: these are only the nearest.")
    render_hits(hits, explain=explain)


def _fmt(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def display_path(path: str) -> str:
    """Paths under the working directory are shown relative to it: shorter, and clickable in terminals."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def hit_json(hit: "Hit", explain: bool = False) -> dict:
    return {
        "rank": hit.rank,
        "score": round(hit.score, 4),
        "path": hit.path,
        "line_start": hit.line_start,
        "line_end": hit.line_end,
        "location": f"{display_path(hit.path)}:{hit.line_start}",
        "title": hit.title,
        "heading": hit.heading,
        "text": hit.text,
        **({} if hit.relevant is None else {"relevant": hit.relevant}),
        **({"scores": clean_scores(hit.scores)} if explain and hit.scores else {}),
    }


def clean_scores(scores: dict[str, float]) -> dict[str, float | None]:
    """Rounded, with NaN (a retriever that did not find the passage) as null: valid JSON."""
    return {k: (None if v != v else round(v, 4)) for k, v in scores.items()}  # NaN -> null


def render_hits(hits: "list[Hit]", explain: bool = False) -> None:
    from rich.table import Table

    table = Table(show_lines=True)
    table.add_column("#", justify="right", style="dim")
    table.add_column("Score", justify="right")
    if explain:
        table.add_column("Dense", justify="right")
        table.add_column("BM25", justify="right")
        table.add_column("Coverage", justify="right")
    table.add_column("Where", style="cyan", overflow="fold")
    table.add_column("Passage", ratio=1)
    for hit in hits:
        heading = hit.heading.split(" > ")[-1].lstrip("# ") if hit.heading else ""
        where = f"{display_path(hit.path)}:{hit.line_start}"
        context = " > ".join(x for x in (hit.title, heading) if x)
        snippet = " ".join(hit.text.split())
        if len(snippet) > 300:
            snippet = snippet[:299] + "…"
        from rich.text import Text

        cell = Text()
        if context:
            cell.append(context + "\n", style="bold")
        cell.append(snippet)
        score = f"{hit.score:.3f}" if hit.relevant is not False else f"[dim]{hit.score:.3f}?[/]"
        extra = [_fmt(hit.scores.get(name)) for name in ("dense", "lexical", "coverage")] if explain else []
        table.add_row(str(hit.rank), score, *extra, where, cell)
    console.print(table)
