"""The `embedsearch` command: a thin layer over the Python API."""
from __future__ import annotations

import importlib

from .app import app

# One module per command; each registers itself on `app` when imported.
for _name in ("index", "search", "ask", "eval", "watch", "mcp", "serve"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # a command whose module isn't there yet
        if exc.name != f"{__name__}.{_name}":
            raise


def main() -> None:
    app()


__all__ = ["app", "main"]
