"""The typer app and what every command shares: options, opening the index, errors, output.

Commands live one per module (index, search, ask, get, eval, serve, mcp, watch) and only parse
arguments, call one of `embedsearch.operations`, and render with `embedsearch.views`. Heavy modules are imported inside
the commands so `--help` stays instant.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

import typer

from ..errors import EmbedsearchError, FilterError

if TYPE_CHECKING:
    from rich.console import Console

    from ..operations import Index


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"embedsearch {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="embedsearch",
    help="Semantic search and question answering over your own posts and notes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Semantic search and question answering over your own posts and notes."""


class _LazyConsole:
    """A rich Console made on first use: `rich.console` costs ~40 ms to import, and a search that
    prints JSON (or an error line, or --help) never needs it."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: "Console | None" = None

    def get(self) -> "Console":
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


console = _LazyConsole()
err_console = _LazyConsole(stderr=True)


def long_lived_process() -> None:
    """Engine settings for a process that starts once and answers many queries (serve, mcp).

    Set before the first model loads (OpenMP reads them once):
    - one OpenMP thread per query, waiting without spinning: concurrent queries then take a core
      each instead of fighting over both (spinning waits once turned a 20 ms query into 200-500
      ms under load); indexing (jobs, --watch) runs on onnxruntime's own thread pool;
    - queries on onnxruntime: not set here but in the process's `Settings` (`open_index(...,
      long_lived=True)`), which resolve engine auto to onnx for such a process.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


IndexOption = typer.Option(
    None,
    "--index",
    envvar="EMBEDSEARCH_INDEX",
    help="Index directory. Default: your user data directory (see `embedsearch status`).",
    show_envvar=True,
)
ModelOption = typer.Option(
    None,
    "--model",
    "-m",
    envvar="EMBEDSEARCH_MODEL",
    help="Embedding model: a sentence-transformers name or local path. "
    "Default: the index's own model, else the bundled multilingual-e5-small.",
    show_envvar=True,
)
ModeOption = typer.Option(
    None,
    "--mode",
    envvar="EMBEDSEARCH_MODE",
    help="hybrid (default: meaning and words together), dense (meaning: E5 cosine) or lexical (words: BM25).",
    show_envvar=True,
)
PathFilterOption = typer.Option(
    None, "--path", help="Only documents whose path matches this glob, e.g. 'notes/*' or '*.md'."
)
TagFilterOption = typer.Option(
    None, "--tag", help="Only documents whose front matter `tags` include this tag (in any case)."
)
KindOption = typer.Option(None, "--kind", help="Only prose passages, or only code (code blocks and program output).")
JsonOption = typer.Option(False, "--json", help="Print JSON (one object per line for lists) instead of text.")

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print a one-line error on stderr and return the Exit to raise."""
    from rich.markup import escape

    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn the library's user errors into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FilterError as exc:  # named as this command's option: "--path 'lovit'"
            raise fail(exc.worded(f"--{exc.name}"), exc.exit_code) from None
        except EmbedsearchError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("Interrupted.")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # `embedsearch search ... | head`: the reader left; that's fine.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except OSError as exc:
            import errno

            if exc.errno == errno.ENOSPC:
                raise fail(f"no space left on the device ({exc.filename or 'writing'}): free some space and "
                           "run the command again", 1) from None
            raise

    return wrapper  # type: ignore[return-value]


def open_index(index: Optional[Path], model: Optional[str], *, vector_store: Optional[str] = None,
               long_lived: bool = False) -> "Index":
    """The index, with every setting resolved once (`settings.Settings`: flags over environment
    over config file). `long_lived`: serve, mcp, watch and eval answer many queries: queries
    on onnxruntime (see `long_lived_process`)."""
    from .. import operations as ops

    settings = ops.Settings.resolve(index=index, model=model, vector_store=vector_store, long_lived=long_lived)
    return ops.open_index(settings)


def want_json(flag: bool) -> bool:
    """JSON when asked for, or when stdout is not a terminal (a pipe or a file)."""
    return flag or not sys.stdout.isatty() or os.environ.get("EMBEDSEARCH_JSON") == "1"


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def note(message: str, *, style: str | None = None) -> None:
    """A line on stderr, never hard-wrapped when stderr is not a terminal (logs, pipes)."""
    err_console.print(message, style=style, highlight=False, soft_wrap=not err_console.is_terminal, markup=False)
