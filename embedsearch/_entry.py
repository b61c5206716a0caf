"""The `embedsearch` command's entry point: nothing but Ctrl-C handling around the real CLI.

The console script imports this module first, so even a Ctrl-C that lands while typer and rich
are still being imported ends in one line and exit code 130, not a KeyboardInterrupt traceback.
"""
from __future__ import annotations

import signal
import sys


def main() -> None:
    try:
        from .cli import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    finally:
        # The command has finished (or said why not): a Ctrl-C now would only interrupt Python's
        # own shutdown, which then dies by the signal (exit -2) instead of exiting as reported.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
