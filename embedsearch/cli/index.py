"""`embedsearch index FOLDER` and `embedsearch status`."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Optional

import typer

from .app import IndexOption, JsonOption, ModelOption, app, console, err_console, handle_errors, open_index, print_json, want_json


@app.command()
@handle_errors
def index(
    folder: Path = typer.Argument(..., help="Folder of .md, .markdown and .txt posts (searched recursively), or one file."),
    index: Optional[Path] = IndexOption,
    model: Optional[str] = ModelOption,
    rebuild: bool = typer.Option(False, "--rebuild", help="Forget everything in the index and embed all again."),
    json_: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Index posts: split them into passages and embed them.

    Re-running it embeds only new or changed passages; passages of deleted files are removed.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..index import Interrupted

    ix = open_index(index, model, create=True)
    show = console.is_terminal and not json_
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err_console, disable=not err_console.is_terminal or json_, transient=True)
    tasks: dict[str, int] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task("Reading files" if phase == "scan" else "Embedding", total=total or None)
        bar.update(tasks[phase], completed=done, total=total or None)

    try:
        with bar:
            report = ix.add(folder, rebuild=rebuild, progress=progress)
    except Interrupted as exc:
        r = exc.report
        err_console.print(f"Interrupted: {r.new + r.changed} file(s) saved. Run the same command again to finish.")
        raise typer.Exit(130) from None
    finally:
        ix.close()

    for kind in ("empty", "binary", "undecodable"):
        for name in getattr(report, f"skipped_{kind}"):
            reason = {"empty": "empty", "binary": "binary", "undecodable": "not UTF-8 or CP949"}[kind]
            err_console.print(f"[yellow]Skipped[/] {name}: {reason}", highlight=False)
    if json_:
        print_json({**report.__dict__, "tokens_per_second": report.tokens_per_second, "index": str(ix.path)})
        return
    line = report.summary()
    if report.skipped:
        line += f"; {report.skipped} skipped"
    (console if show else err_console).print(line, highlight=False)


@app.command()
@handle_errors
def status(index: Optional[Path] = IndexOption, json_: bool = JsonOption) -> None:
    """Show what the index holds: documents, passages, model, size, last indexed."""
    with open_index(index, None) as ix:
        info = ix.status()
    if want_json(json_):
        print_json(info)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    last = info["last_indexed"]
    rows = {
        "Index": info["path"],
        "Documents": f"{info['documents']:,}",
        "Passages": f"{info['chunks']:,}",
        "Model": f"{info['model']} ({info['dimension']}-d)" if info["model"] else "-",
        "Size": _size(info["size_bytes"]),
        "Last indexed": datetime.datetime.fromtimestamp(last).strftime("%Y-%m-%d %H:%M") if last else "never",
    }
    for key, value in rows.items():
        table.add_row(f"[bold]{key}[/]", value)
    console.print(table)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} B"
