"""`embedsearch serve`: a JSON HTTP API, a web page and the MCP server over one index.

    from embedsearch import Index
    from embedsearch.server import create_app
    app = create_app(Index("my-index"))      # any ASGI server runs it; `embedsearch serve` uses uvicorn

    /               the web page (static files, no build step)
    /api/...        search, ask (server-sent events), document, status, index jobs (server.api)
    /mcp            the MCP server over streamable HTTP, when embedsearch.mcp_server provides it
    /docs, /redoc   the OpenAPI docs (/openapi.json)

FastAPI (for the generated OpenAPI) and uvicorn are imported only here and by the `serve`
command: `embedsearch search` never pays for them.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterable

from .security import ASGIApp, Guard, is_loopback

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..operations import Index, LLMConfig

__all__ = ["create_app", "is_loopback"]

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MCP_PATH = "/mcp"
# The page runs only its own files: even if some index text got past the escaping, it could
# neither run inline script nor send anything elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def create_app(
    index: "Index",
    *,
    token: str | None = None,
    cors: Iterable[str] = (),
    llm_config: "LLMConfig | None" = None,
    watch: Iterable[str] = (),
    host: str = "127.0.0.1",
    allow: Iterable[str] = (),
    loopback_only: bool | None = None,
) -> ASGIApp:
    """The whole server as one ASGI app.

    `token`: every /api and /mcp request needs `Authorization: Bearer TOKEN`; without one, only
    requests addressed to localhost are served (see `security`). `cors`: web origins allowed to
    call the API from their pages (none by default). `llm_config`: the LLM `ask` uses (default:
    environment and config file, as `embedsearch ask` without flags). `watch`: folders kept
    indexed while the server runs. `host`: the address it is served on (MCP's own DNS-rebinding
    check is on for loopback). `allow`: folders (and what is inside them) `POST /api/index` may
    index, besides the watched ones; nothing else, ever. `loopback_only`: answer only requests
    addressed to a loopback name (default: when there is no token).

    Request bodies over 1 MiB are refused with 413 (`limits.BodyLimit`); the connection limits
    are the ASGI server's part (`limits.protocol_class`, which `embedsearch serve` gives uvicorn).
    """
    from .. import operations as ops
    from .service import Service

    llm = llm_config or ops.llm_config()
    service = Service(index, llm, watch, allow)
    mcp = _mcp_app(index, host, llm)
    service.mcp = MCP_PATH if mcp is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if mcp is not None:  # Starlette passes no lifespan to a mounted app: its session manager runs here
                await stack.enter_async_context(mcp.lifespan())
            stack.callback(service.close)
            service.start()
            yield

    from .. import __version__

    api = _fastapi(title="embedsearch", version=__version__, lifespan=lifespan,
                   description="Semantic search and question answering over your own posts.")
    api.state.service = service
    _add_routes(api)
    from .errors import CatchAll
    from .limits import BodyLimit

    app: ASGIApp = CatchAll(api)
    if mcp is not None:
        app = _PathDispatch(app, mcp, MCP_PATH)
    cors = list(cors)
    app = Guard(BodyLimit(app), token=token, cors=cors, loopback_only=loopback_only)
    if cors:
        from starlette.middleware.cors import CORSMiddleware

        app = CORSMiddleware(app, allow_origins=cors, allow_methods=["GET", "POST"],
                             allow_headers=["Authorization", "Content-Type"])
    return app


def _add_routes(api: "FastAPI") -> None:
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    from .api import router
    from .errors import install

    install(api)
    api.include_router(router)

    @api.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    api.mount("/static", StaticFiles(directory=STATIC), name="static")


def _fastapi(**kwargs: Any) -> "FastAPI":
    """A FastAPI app whose /docs and /redoc load Swagger UI and ReDoc from the fastapi-offline
    package, so they work without internet; without that package, FastAPI's own (from a CDN)."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        from fastapi import FastAPI

        return FastAPI(**kwargs)
    return FastAPIOffline(**kwargs)


def _mcp_app(index: "Index", host: str, llm: "LLMConfig") -> Any:
    """`embedsearch.mcp_server.http_app`: the MCP server's streamable HTTP app, answering `ask` with
    the same LLM as the API; None (and a log line) when that module or the `mcp` SDK is missing."""
    try:
        from ..mcp_server import http_app
    except ImportError as exc:
        log.info("MCP over HTTP not mounted at %s: %s", MCP_PATH, exc)
        return None
    return http_app(index, host=host, llm=llm)


class _PathDispatch:
    """Requests for `prefix` and below go to `sub`; everything else, lifespan included, to `main`.

    (Starlette's Mount would answer a bare /mcp with a redirect to /mcp/, which MCP clients don't
    all follow for a POST.)"""

    def __init__(self, main: ASGIApp, sub: ASGIApp, prefix: str) -> None:
        self.main, self.sub, self.prefix = main, sub, prefix

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "lifespan" and (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.sub(scope, receive, send)
        else:
            await self.main(scope, receive, send)
