"""`embedsearch watch FOLDER…`: keep the index current while posts change."""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from .app import IndexOption, ModelOption, app, handle_errors, note, open_index, print_json

if TYPE_CHECKING:
    from ..records import IndexReport


@app.command()
@handle_errors
def watch(
    folders: List[Path] = typer.Argument(..., help="Folders of posts to keep indexed.", exists=True, file_okay=False),
    index: Optional[Path] = IndexOption,
    model: Optional[str] = ModelOption,
    max_file_size: Optional[str] = typer.Option(None, "--max-file-size", help="Skip files larger than this (e.g. 5MB)."),
    json_: bool = typer.Option(False, "--json", help="One JSON object per event on stdout."),
) -> None:
    """Index FOLDERs, then re-index files as they are added, changed, renamed or deleted.

    Catches up first (like `embedsearch index`), then applies each saved change within about a
    second. Ctrl-C stops it; the index stays consistent.
    """
    from ..watch import Watcher
    from .index import parse_size

    limit = parse_size(max_file_size) if max_file_size is not None else None

    def listener(event: str, report: "IndexReport | None", message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        if json_:
            from ..views import report_json

            print_json({"event": event, "time": stamp, "message": message,
                        **({"report": report_json(report)} if report else {})})
            return
        if event == "ready":
            note(f"{stamp} watching {message} (Ctrl-C to stop)")
        elif event == "update" and report is not None:
            note(f"{stamp} {describe(report)}")
        elif event in ("busy", "error"):
            note(f"{stamp} {message}", style="yellow")

    with open_index(index, model) as ix:
        Watcher(ix, folders, listener=listener, max_file_size=limit).run()


def describe(report: "IndexReport") -> str:
    """'posts/a.md, posts/b.md: 1 new, 1 changed; 2 chunks embedded' (names shortened past three),
    then the files skipped; a batch that only skipped files is just 'skipped posts/x.md (empty...)'
    (it was printed behind an empty label, ': no change; 0 chunks embedded; skipped ...')."""
    from ..views import display_path

    parts = []
    names = [display_path(p) for p in report.touched]
    if names:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        counts = [f"{n} {label}" for n, label in ((report.new, "new"), (report.changed, "changed"),
                                                  (report.removed, "removed")) if n]
        embedded = report.chunks_embedded
        parts.append(f"{shown}: {', '.join(counts) or 'no change'}; {embedded} chunk{'s' if embedded != 1 else ''} "
                     "embedded")
    if report.skipped:
        parts.append("skipped " + ", ".join(f"{display_path(p)} ({r})" for p, r in report.skipped))
    return "; ".join(parts) or "no change"
