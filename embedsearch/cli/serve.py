"""`embedsearch serve`: the HTTP API, the web page and MCP over one index, on uvicorn."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional

import typer

from .app import IndexOption, ModelOption, app, fail, handle_errors, long_lived_process, note, open_index
from .ask import llm_option

if TYPE_CHECKING:
    import socket

    from ..server.security import TokenFile


@app.command()
@handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Anything but loopback needs --token."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    watch: Optional[List[Path]] = typer.Option(
        None, "--watch", help="Keep this folder indexed while serving (repeatable).", exists=True, file_okay=False
    ),
    allow: Optional[List[Path]] = typer.Option(
        None, "--allow", help="Let API clients index this folder and what is inside it (repeatable; "
        "--watch folders are allowed too; nothing else is).", exists=True, file_okay=False,
    ),
    token: Optional[str] = typer.Option(
        None, "--token", envvar="EMBEDSEARCH_TOKEN", show_envvar=True,
        help="The token /api and /mcp require as 'Authorization: Bearer TOKEN' (default: a new one each run, "
        "printed in the page's URL and kept in a file only you can read; prefer the environment variable: "
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

    Listens on 127.0.0.1 by default, where only this machine can connect, but every user of it
    can: so every API request must send a token. Without --token one is made for this run,
    printed once in the page's URL (open that URL) and written to a file only you can read
    (serve-PORT.token in your runtime directory) for scripts. Any address but loopback needs a
    token of your own (--token or EMBEDSEARCH_TOKEN). Clients may index only the --allow and
    --watch folders. The LLM for ask is chosen as for `embedsearch ask` (flags, environment,
    config file); a question may lower max_tokens or change the temperature.
    """
    long_lived_process()
    # A reader thread back from onnxruntime or SQLite (GIL released) waits for the GIL while
    # another thread runs Python; by default the holder is asked to let go after 5 ms, long
    # enough for the other core to sit idle. 1 ms: 129-131 q/s with 8 clients instead of
    # 118.5, i.e. 90-92% of what the CPU allows instead of 78% (benchmarks/load.py, quiet).
    sys.setswitchinterval(0.001)
    from .. import operations as ops
    from ..server import is_loopback

    if not token and not is_loopback(host):
        raise fail(f"--host {host} would let other machines read your posts: set a token with --token or "
                   "EMBEDSEARCH_TOKEN (every request must then send it)")
    llm = ops.llm_config(url=llm_url, model=llm_model, backend=llm_backend, context_tokens=context_tokens,
                         max_tokens=max_tokens, temperature=temperature)
    sock = listen(host, port)
    import uvicorn

    from ..server import create_app
    from ..server.limits import KEEP_ALIVE, connection_cap, protocol_class
    from ..server.security import new_token

    configure_logging()
    own_token = token or None
    run_token = own_token or new_token()
    with open_index(index, model, long_lived=True) as ix:
        application = create_app(ix, token=run_token, cors=cors or (), llm_config=llm,
                                 watch=[str(f) for f in watch or ()], allow=[str(f) for f in allow or ()],
                                 host=host, loopback_only=own_token is None)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        token_file = None if own_token else _token_file(bound_port, run_token)
        if own_token:
            note(f"embedsearch: serving {ix.path} at http://{shown}:{bound_port}/ (API docs: /docs; Ctrl-C stops)")
        else:
            where = f"; token in {token_file.path}" if token_file else ""
            note(f"embedsearch: serving {ix.path} at http://{shown}:{bound_port}/?token={run_token} "
                 f"(open this URL; API docs: /docs{where}; Ctrl-C stops)")
        # No access log: it would write every query, which are the user's own words, to the terminal.
        # The h11 protocol with a head timeout and a connection cap (server.limits); uvicorn's own
        # limit_concurrency is left off: it counts only connections that sent a request.
        config = uvicorn.Config(application, log_level="info", access_log=False, timeout_graceful_shutdown=5,
                                lifespan="on", http=protocol_class(connection_cap()), timeout_keep_alive=KEEP_ALIVE)
        try:
            _uvicorn_server(on_exit=token_file.remove if token_file else None)(config).run(sockets=[sock])
        finally:
            if token_file is not None:
                token_file.remove()


def _token_file(port: int, token: str) -> "TokenFile | None":
    """The run's token in a 0600 file (None, and a warning, when it can't be written: the URL has it)."""
    from ..server.security import TokenFile

    try:
        return TokenFile(port, token)
    except OSError as exc:
        note(f"embedsearch: could not write the token file ({exc.strerror or exc}); use the URL below")
        return None


def _uvicorn_server(on_exit: "Callable[[], None] | None" = None) -> type:
    """uvicorn's Server, logging "out of file descriptors" at most every 10 s (server.limits), and
    calling `on_exit` once it has shut down: uvicorn raises a caught SIGTERM again after that, which
    ends the process before any `finally` of ours runs (the token file outlived the server)."""
    import uvicorn

    class Server(uvicorn.Server):  # type: ignore[misc]
        async def _serve(self, sockets: "list[socket.socket] | None" = None) -> None:
            import asyncio

            from ..server.limits import quiet_accept_errors

            quiet_accept_errors(asyncio.get_running_loop())
            try:
                await super()._serve(sockets)
            finally:
                if on_exit is not None:
                    on_exit()

    return Server


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
