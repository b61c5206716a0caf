"""Every error as `{"error": "one line"}` with a status that says whose fault it was; never a traceback.

    400  the request: an empty query, a bad glob, no index yet, a document not in the index
    401  no token, or the wrong one (security.Guard)
    404  an unknown URL or job
    409  another indexing run holds the index
    422  a parameter of the wrong type or out of range
    500  the server: a damaged index, a full disk, a bug (logged with its traceback)
    502  the LLM the server was configured with can't be reached
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import EmbedsearchError, IndexBusyError, LLMUnreachableError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

log = logging.getLogger(__name__)


def status_for(exc: EmbedsearchError) -> int:
    if isinstance(exc, IndexBusyError):
        return 409
    if isinstance(exc, LLMUnreachableError):
        return 502
    return 400 if exc.exit_code == 2 else 500  # exit code 1: damaged index, full disk


def one_line(exc: RequestValidationError) -> str:
    """'k: Input should be greater than or equal to 1' (and how many more there are)."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where + ': ' if where else ''}{first.get('msg', 'invalid')}{more}"


def install(app: "FastAPI") -> None:
    async def embedsearch_error(request: "Request", exc: Exception) -> JSONResponse:
        assert isinstance(exc, EmbedsearchError)
        return JSONResponse({"error": str(exc)}, status_code=status_for(exc))

    async def validation_error(request: "Request", exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"error": one_line(exc)}, status_code=422)

    async def http_error(request: "Request", exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    async def internal_error(request: "Request", exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error: see the server's log"}, status_code=500)

    app.add_exception_handler(EmbedsearchError, embedsearch_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
