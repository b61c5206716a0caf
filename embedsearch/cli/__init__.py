"""The `embedsearch` command: a thin layer over the Python API."""
from __future__ import annotations

import importlib
from pathlib import Path

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


def _tidy_help() -> None:
    """Every command's help reads well at 80 columns: paragraphs reflowed, and options' types
    shown as a short metavar (N, X, TEXT, PATH) so the help column stays wide enough for
    environment variable names (a 23-column "<float range> [x>=0.0]" column cut
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
            if isinstance(option, OptionInfo) and option.metavar is None:
                kind = hints.get(name)
                args = [a for a in typing.get_args(kind) if a is not type(None)]
                metavar = _METAVARS.get(args[0] if args else kind)
                if metavar:
                    option.metavar = metavar


_tidy_help()


def main() -> None:
    app()


__all__ = ["app", "main"]
