"""The `embedsearch` command: a thin layer over the Python API."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .app import app

# One module per command; each registers itself on `app` when imported.
for _name in ("index", "search", "ask", "eval", "watch", "mcp", "serve"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # a command whose module isn't there yet
        if exc.name != f"{__name__}.{_name}":
            raise


def _reflow(text: str) -> str:
    """Help written hard-wrapped in the source, as paragraphs a terminal wraps to its own width.

    typer keeps single line breaks in a command's help, so text wrapped at ~100 columns in the
    source came out wrapped twice at 80 ("...fills a prompt template with them,\nstreams the
    LLM's answer,\nthen lists..."). Lines of a paragraph are joined; a line that starts a list
    item ("- ") or sits in a \\b block keeps its break.
    """
    import inspect

    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if paragraph.startswith("\b"):
            paragraphs.append(paragraph)
            continue
        lines: list[str] = []
        for line in paragraph.splitlines():
            if lines and not line.lstrip().startswith("- "):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


_METAVARS = {int: "N", float: "X", str: "TEXT", Path: "PATH"}


def _bounded(kind: type, low: Any, high: Any) -> Any:
    """A parser for a number option that checks its limits as click's IntRange would, without the
    range in the help's type column: "N [0<=x<=65535]" and "X [x>=0.0]" widened that column so
    far that at 80 columns the help column was ~38 wide and "[env var:
    EMBEDSEARCH_LLM_CONTEXT_TOKENS]" broke in two. The limits are plain from the help (a count,
    a port, a temperature)."""
    import typer

    def parse(value: Any) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a {'whole ' if kind is int else ''}number") from None
        if (low is not None and number < low) or (high is not None and number > high):
            limits = (f"between {low} and {high}" if low is not None and high is not None
                      else f"at least {low}" if low is not None else f"at most {high}")
            raise typer.BadParameter(f"{value} is not {limits}")
        return number

    parse.__name__ = _METAVARS[kind]
    return parse


def _tidy_help() -> None:
    """Every command's help reads well at 80 columns: paragraphs reflowed, and options' types
    shown as a short metavar (N, X, TEXT, PATH) without their range, so the help column stays
    wide enough for environment variable names (a 23-column "<float range> [x>=0.0]" column cut
    EMBEDSEARCH_LLM_CONTEXT_TOKENS to "EMBEDSEARCH_LLM_CONTEXT_T…")."""
    import inspect
    import typing

    from typer.models import OptionInfo

    for info in app.registered_commands:
        callback = info.callback
        if callback is None:
            continue
        help_text = info.help if info.help is not None else inspect.getdoc(callback)
        if help_text:
            info.help = _reflow(help_text)
        hints = typing.get_type_hints(callback)
        for name, parameter in inspect.signature(callback).parameters.items():
            option = parameter.default
            if not isinstance(option, OptionInfo):
                continue
            kind = hints.get(name)
            while typing.get_args(kind):  # Optional[List[Path]] -> Path
                kind = next(a for a in typing.get_args(kind) if a is not type(None))
            if option.metavar is None and kind in _METAVARS:
                option.metavar = _METAVARS[kind]
            if option.parser is None and (option.min is not None or option.max is not None) and kind in (int, float):
                option.parser = _bounded(kind, option.min, option.max)
                option.min = option.max = None


_tidy_help()


def main() -> None:
    app()


__all__ = ["app", "main"]
