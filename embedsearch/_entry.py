"""The `embedsearch` command's entry point: nothing but Ctrl-C handling around the real CLI.

The console script imports this module first, so even a Ctrl-C that lands while typer and rich
are still being imported ends in one line and exit code 130, not a KeyboardInterrupt traceback.
"""
from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
