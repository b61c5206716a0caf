"""`embedsearch index FOLDER`, `embedsearch status` and `embedsearch get PATH[:LINES]`."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import typer

from .app import (IndexOption, JsonOption, ModelOption, app, console, err_console, handle_errors, note, open_index,
                  print_json, want_json)

PHASES = {"scan": "Indexing"}


def parse_size(text: str) -> int:
    """'5MB', '500k', '1048576' -> bytes (0: no limit)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", text.lower())
    if not match:
        raise typer.BadParameter(f"{text!r} is not a size: use e.g. 5MB, 500KB or a number of bytes")
    number, unit = float(match.group(1)), match.group(2)
    return int(number * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit])


def progress_bar(disable: bool, phases: dict[str, str] | None = None) -> tuple[Any, Any]:
    """A rich progress bar on stderr and the `(phase, done, total, file)` callback that drives it.

    One bar over the files ("scan"), the chunks embedded so far ("embed") and the file being
    worked on beside it; other phases (eval's "query") get a bar of their own.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
                   TimeRemainingColumn(), TextColumn("[dim]{task.fields[note]}"),
                   console=err_console.get(), disable=disable, transient=True)
    names = {**PHASES, **(phases or {})}
    tasks: dict[str, Any] = {}
    embedded = [0]

    def progress(phase: str, done: int, total: int, detail: str = "") -> None:
        from ..views import display_path

        if phase == "embed":
            embedded[0], phase, done, total = done, "scan", -1, -1
        name = display_path(detail) if detail else ""
        name = name if len(name) <= 28 else "…" + name[-27:]
        note = (f"{embedded[0]:,} embedded  " if embedded[0] else "") + name
        if phase not in tasks:
            tasks[phase] = bar.add_task(names.get(phase, phase), total=max(total, 0) or None, note=note)
        if done < 0:  # an embedding step: the file count stays
            bar.update(tasks[phase], note=note)
        else:
            bar.update(tasks[phase], completed=done, total=total or None, note=note)

    return bar, progress


@app.command()
@handle_errors
def index(
    folder: Path = typer.Argument(
        ..., help="Folder of posts (searched recursively: .md, .markdown, .txt, .html, .htm, WordPress .xml), or one file."
    ),
    index: Optional[Path] = IndexOption,
    model: Optional[str] = ModelOption,
    rebuild: bool = typer.Option(False, "--rebuild", help="Forget everything in the index and embed all again."),
    max_file_size: Optional[str] = typer.Option(
        None, "--max-file-size", help="Skip files larger than this (e.g. 5MB; 0: no limit). Default: 5MB."
    ),
    vector_store: Optional[str] = typer.Option(
        None, "--vector-store", envvar="EMBEDSEARCH_VECTOR_STORE", show_envvar=True,
        help="Where a NEW index keeps its vectors: faiss (default, in the index folder) or milvus:URI "
        "(a local .db file runs Milvus Lite; http://host:19530 a Milvus server).",
    ),
    follow_symlinks: bool = typer.Option(
        False, "--follow-symlinks",
        help="Also index files and folders that symlinks lead to outside FOLDER (by default they are skipped, and counted).",
    ),
    json_: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Index posts: split them into passages and embed them.

    Creates the index if needed. Re-running it embeds only new or changed passages; passages of
    deleted files are removed. Ctrl-C keeps everything finished so far: run it again to go on.
    A --rebuild is all or nothing: if it fails or is interrupted, the index stays as it was.
    """
    from ..operations import Interrupted

    limit = parse_size(max_file_size) if max_file_size is not None else None
    ix = open_index(index, model, vector_store=vector_store)
    bar, progress = progress_bar(disable=not err_console.is_terminal or json_)
    try:
        with bar:
            report = ix.add(folder, rebuild=rebuild, progress=progress, max_file_size=limit,
                            follow_symlinks=follow_symlinks)
    except Interrupted as exc:
        r = exc.report
        if r.rolled_back:
            note("Interrupted: the rebuild was undone; the index is as it was.")
        else:
            note(f"Interrupted: {r.new + r.changed} file(s) saved. Run the same command again to finish.")
        raise typer.Exit(130) from None
    finally:
        ix.close()

    from ..views import report_json, report_notes

    for line in report_notes(report):
        note(line, style="yellow")
    if json_:
        print_json(report_json(report, str(ix.path)))
        return
    if console.is_terminal:
        console.print(report.summary(), highlight=False)
    else:
        note(report.summary())


@app.command()
@handle_errors
def status(index: Optional[Path] = IndexOption, json_: bool = JsonOption) -> None:
    """Show what the index holds: documents, passages, model, vector store, size, last indexed."""
    from .. import operations as ops

    with open_index(index, None) as ix:
        info = ops.status(ix)
    if want_json(json_):
        print_json(info)
        return
    from rich.table import Table

    from ..views import status_rows

    table = Table(show_header=False, box=None)
    for key, value in status_rows(info).items():
        table.add_row(f"[bold]{key}[/]", value)
    console.print(table)


@app.command()
@handle_errors
def get(
    location: str = typer.Argument(..., help="A document's path (or a unique tail of it), optionally with :LINE or :START-END."),
    index: Optional[Path] = IndexOption,
    json_: bool = JsonOption,
) -> None:
    """Print an indexed document, or some of its lines, e.g. `embedsearch get posts/llm.md:26-30`."""
    from .. import operations as ops

    with open_index(index, None) as ix:
        doc = ops.read_document(ix, location)
    if want_json(json_):
        from ..views import document_json

        print_json(document_json(doc))
        return
    if doc.note:  # on stderr: the text on stdout stays the document's
        note(doc.note, style="dim")
    typer.echo(doc.text)
