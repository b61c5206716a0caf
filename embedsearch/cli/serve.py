"""`embedsearch serve`: the HTTP API, the web page and MCP over one index, on uvicorn."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from .app import IndexOption, ModelOption, app, fail, handle_errors, long_lived_process, note, open_index
from .ask import llm_option

if TYPE_CHECKING:
    import socket


@app.command()
@handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Anything but loopback needs --token."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    watch: Optional[List[Path]] = typer.Option(
        None, "--watch", help="Keep this folder indexed while serving (repeatable).", exists=True, file_okay=False
    ),
    token: Optional[str] = typer.Option(
        None, "--token", envvar="EMBEDSEARCH_TOKEN", show_envvar=True,
        help="Require 'Authorization: Bearer TOKEN' on /api and /mcp (prefer the environment variable: "
        "a flag shows in the process list).",
    ),
    cors: Optional[List[str]] = typer.Option(
        None, "--cors", help="Let pages from this origin call the API, e.g. http://localhost:5173 (repeatable)."
    ),
    index: Optional[Path] = IndexOption,
    model: Optional[str] = ModelOption,
    llm_url: Optional[str] = llm_option("--llm-url", "url", "OpenAI-compatible server for ask."),
    llm_model: Optional[str] = llm_option("--llm-model", "model", "Model name on the server, or a .gguf file."),
    llm_backend: Optional[str] = llm_option("--llm-backend", "backend", "auto, openai, llama or none."),
    context_tokens: Optional[int] = llm_option("--context-tokens", "context_tokens", "The LLM's context window.", min=1),
    max_tokens: Optional[int] = llm_option("--max-tokens", "max_tokens", "Default longest answer, in tokens.", min=1),
    temperature: Optional[float] = llm_option("--temperature", "temperature", "Default sampling temperature.", min=0.0),
) -> None:
    """Serve search and ask over HTTP: a web page at /, a JSON API under /api (docs at /docs), and
    MCP at /mcp.

    Listens on 127.0.0.1 by default, where only this machine can connect. Any other address needs
    a token (--token or EMBEDSEARCH_TOKEN) that every API request must send. The LLM for ask is
    chosen as for `embedsearch ask` (flags, environment, config file); a question may lower
    max_tokens or change the temperature.
    """
    long_lived_process()
    # A reader thread back from onnxruntime or SQLite (GIL released) waits for the GIL while
    # another thread runs Python; by default the holder is asked to let go after 5 ms, long
    # enough for the other core to sit idle. 1 ms: 129-131 q/s with 8 clients instead of
    # 118.5, i.e. 90-92% of what the CPU allows instead of 78% (benchmarks/load.py, quiet).
    sys.setswitchinterval(0.001)
    from ..answer import resolve_config
    from ..server import is_loopback

    if not token and not is_loopback(host):
        raise fail(f"--host {host} would let other machines read your posts: set a token with --token or "
                   "EMBEDSEARCH_TOKEN (every request must then send it)")
    llm = resolve_config(url=llm_url, model=llm_model, backend=llm_backend, context_tokens=context_tokens,
                         max_tokens=max_tokens, temperature=temperature)
    sock = listen(host, port)
    import uvicorn

    from ..server import create_app

    configure_logging()
    with open_index(index, model) as ix:
        application = create_app(ix, token=token or None, cors=cors or (), llm_config=llm,
                                 watch=[str(f) for f in watch or ()], host=host)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        note(f"embedsearch: serving {ix.path} at http://{shown}:{bound_port}/ (API docs: /docs; Ctrl-C stops)")
        # No access log: it would write every query, which are the user's own words, to the terminal.
        config = uvicorn.Config(application, log_level="info", access_log=False, timeout_graceful_shutdown=5,
                                lifespan="on")
        uvicorn.Server(config).run(sockets=[sock])


def listen(host: str, port: int) -> "socket.socket":
    """A listening socket, so a port in use is one line and exit 2 (and --port 0 gets a free port).

    Listening before the "serving ... at URL" line is printed: a client that reads the URL and
    connects at once waits in the backlog until uvicorn accepts, instead of being refused.
    """
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def configure_logging() -> None:
    """The server's own lines (watch updates, errors with tracebacks) on stderr, beside uvicorn's."""
    import logging

    logger = logging.getLogger("embedsearch")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
