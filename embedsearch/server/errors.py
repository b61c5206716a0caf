"""Every error as `{"error": "one line"}` with a status that says whose fault it was; never a traceback.

    400  the request: an empty query, a bad glob, no index yet, a document not in the index
    401  no token, or the wrong one (security.Guard)
    403  a folder the server was not started with (security.Folders), a foreign Origin
    404  an unknown URL or job
    409  another indexing run holds the index
    422  a parameter of the wrong type or out of range
    413  a request body over 1 MiB (limits.BodyLimit)
    500  the server: a damaged index, a full disk, a bug (logged with its traceback)
    502  the LLM the server was configured with can't be reached

User input inside a message or a log line is clipped to 200 characters (`security.clip`): a
5,000-character folder name was once a 500 whose traceback logged the whole name, twice.
"""
from __future__ import annotations

import errno
import logging
import traceback
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import HTTP_STATUS, EmbedsearchError
from .security import NotAllowedError, clip

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

log = logging.getLogger(__name__)


def status_for(exc: EmbedsearchError) -> int:
    """The error's category as an HTTP status (errors.HTTP_STATUS); 403 for what the server was not started to do."""
    if isinstance(exc, NotAllowedError):
        return 403
    return HTTP_STATUS[exc.category]


def one_line(exc: RequestValidationError) -> str:
    """'k: Input should be greater than or equal to 1' (and how many more there are)."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return clip(f"{where + ': ' if where else ''}{first.get('msg', 'invalid')}{more}", 300)


# What a path argument can do to a system call that is the request's fault, not the server's.
USER_ERRNOS = {errno.ENAMETOOLONG, errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EINVAL}


def clipped_traceback(exc: BaseException, width: int = 300) -> str:
    """The traceback with every line cut to `width` characters (an exception's message may hold a
    client's whole argument)."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    return "\n".join(clip(line, width) for line in lines)


def install(app: "FastAPI") -> None:
    async def embedsearch_error(request: "Request", exc: Exception) -> JSONResponse:
        assert isinstance(exc, EmbedsearchError)
        from ..views import error_text

        return JSONResponse({"error": clip(error_text(exc, "http"), 400)}, status_code=status_for(exc))

    async def validation_error(request: "Request", exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"error": one_line(exc)}, status_code=422)

    async def http_error(request: "Request", exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": clip(str(exc.detail), 400)}, status_code=exc.status_code, headers=exc.headers)

    async def internal_error(request: "Request", exc: Exception) -> JSONResponse:
        if isinstance(exc, OSError) and exc.errno in USER_ERRNOS:  # a path no file system takes
            return JSONResponse({"error": clip(f"{exc.strerror or exc}: {exc.filename or ''}")}, status_code=400)
        log.error("%s %s failed\n%s", request.method, clip(request.url.path), clipped_traceback(exc))
        exc.embedsearch_logged = True  # type: ignore[attr-defined]  (CatchAll: not a second time)
        return JSONResponse({"error": "internal error: see the server's log"}, status_code=500)

    app.add_exception_handler(EmbedsearchError, embedsearch_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)


class CatchAll:
    """Outside FastAPI: Starlette answers an unhandled exception with `internal_error` and then
    raises it again, for uvicorn to log a second, unclipped traceback. Here it ends (logged once,
    clipped, if `internal_error` didn't log it: an error after a stream started)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # noqa: BLE001
            if scope.get("type") == "lifespan":
                raise
            if not getattr(exc, "embedsearch_logged", False):
                log.error("%s %s failed\n%s", scope.get("method", ""), clip(scope.get("path", "")),
                          clipped_traceback(exc))
