"""The JSON API under /api: search, ask (server-sent events), document, status, index jobs.

Each endpoint parses its parameters, runs `Index` on a worker thread and answers with the shapes
`embedsearch.views` gives the CLI's --json, so a script can switch between the two freely.
"""
from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Query, Request, Security
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from .. import operations as ops
from .service import Service

Mode = Literal["hybrid", "dense", "lexical"]
Kind = Literal["prose", "code"]


class Error(BaseModel):
    """Every error's body (server.errors)."""

    error: str = Field(..., description="What went wrong, in one line.")


ERROR: dict[str, Any] = {"model": Error, "description": "A request the server can't serve (see `error`)."}
# The bearer scheme is declared for the OpenAPI docs (their "Authorize" button); the check itself
# is security.Guard.
router = APIRouter(prefix="/api", dependencies=[Security(HTTPBearer(auto_error=False))],
                   responses={422: {"model": Error, "description": "A parameter of the wrong type or out of range."}})
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy may hold events back


def service(request: Request) -> Service:
    return request.app.state.service


class Filters(BaseModel):
    """What every retrieval takes besides the question (operations.SearchRequest; the CLI's options of the same names)."""

    k: int = Field(ops.DEFAULT_K, ge=1, le=ops.MAX_K, description=f"How many passages, 1 to {ops.MAX_K}.")
    mode: Optional[Mode] = Field(None, description="hybrid (default: meaning and words), dense or lexical.")
    min_score: Optional[float] = Field(None, description="Drop passages scoring below this (the mode's score).")
    path: Optional[str] = Field(None, description="Only documents whose path matches this glob, e.g. 'notes/*'.")
    tag: Optional[str] = Field(None, description="Only documents whose front matter `tags` include this tag.")
    kind: Optional[Kind] = Field(None, description="Only prose passages, or only code.")

    def search_request(self, query: str) -> ops.SearchRequest:
        return ops.SearchRequest(query, self.k, mode=self.mode, min_score=self.min_score, path=self.path,
                                 tag=self.tag, kind=self.kind)


class AskRequest(Filters):
    question: str = Field(..., description="The question, in any language.")
    answer_anyway: bool = Field(False, description="Ask the LLM even when no passage looks relevant.")
    max_tokens: Optional[int] = Field(None, ge=1, description="Longest answer in tokens (default: the server's).")
    temperature: Optional[float] = Field(None, ge=0, description="Sampling temperature (default: the server's).")

    def ask_request(self) -> ops.AskRequest:
        return ops.AskRequest(self.question, self.k, mode=self.mode, min_score=self.min_score, path=self.path,
                              tag=self.tag, kind=self.kind, answer_anyway=self.answer_anyway)


class IndexRequest(BaseModel):
    folder: str = Field(..., max_length=4096, description=(
        "A folder (or file) on the server's machine, inside one the server was started with (--allow, --watch); "
        "relative to where it runs."))
    rebuild: bool = Field(False, description="Forget the index and embed everything again.")
    wait: bool = Field(False, description="Answer when the job ends instead of at once.")


@router.get("/search", responses={400: ERROR}, summary="Search passages")
async def search(
    request: Request,
    q: Annotated[str, Query(description="What to look for, in any language.")],
    filters: Annotated[Filters, Query()],
    explain: Annotated[bool, Query(description="Add each passage's dense, lexical and fused scores.")] = False,
) -> JSONResponse:
    """The passages nearest to `q`, best first: `{"query", "hits": [hit]}`, each hit as
    `embedsearch search --json` prints it, with a `snippet` and the `highlights` ([start, end]
    character spans of the query's terms in it)."""
    from ..views import hit_json

    svc = service(request)

    def run() -> list[dict[str, Any]]:
        hits = ops.search(svc.index, filters.search_request(q))
        return [hit_json(hit, query=q, explain=explain) for hit in hits]

    # A JSONResponse as is: FastAPI would otherwise walk the hits through jsonable_encoder in
    # Python first, on the event loop, for every search.
    return JSONResponse({"query": q, "hits": await svc.read(run)})


@router.post(
    "/ask", summary="Answer a question (server-sent events)", responses={
        200: {"content": {"text/event-stream": {}}, "description": (
            "Events: `passages` (the numbered passages in the prompt), `token` ({text}, one per piece), "
            "then `answer` (as `embedsearch ask --json` prints it) or `error` ({error})."
        )}, 400: ERROR},
)
async def ask(request: Request, body: AskRequest) -> StreamingResponse:
    """Retrieve passages as `search` does, then stream the LLM's answer to them, citing them as [n].

    The LLM is the one the server was started with (flags, environment, config file, as for
    `embedsearch ask`); `max_tokens` and `temperature` may be set per question. Errors in the
    question or filters are answered with 400 before the stream starts; anything after that (an
    LLM that can't be reached) ends the stream with an `error` event."""
    svc = service(request)
    config = svc.answers.config(max_tokens=body.max_tokens, temperature=body.temperature)
    stream = await svc.read(ops.ask, svc.index, body.ask_request(), config)
    return StreamingResponse(svc.answers.stream(stream), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/document", responses={400: ERROR}, summary="Read a document or some of its lines")
async def document(
    request: Request,
    path: Annotated[str, Query(max_length=4096,
                               description="The document's path as search shows it, or a unique tail of it.")],
    start: Annotated[Optional[int], Query(ge=1, description="First line (1-based).")] = None,
    end: Annotated[Optional[int], Query(ge=1, description="Last line (default: start; all without start).")] = None,
) -> dict[str, Any]:
    """The document's text (as the file is now), or lines `start`-`end` of it, as `embedsearch get --json`."""
    from ..views import document_json

    svc = service(request)
    return document_json(await svc.read(ops.read_document, svc.index, path, start, end))


@router.get("/status", summary="What the index holds, and the server's settings")
async def status(request: Request) -> dict[str, Any]:
    """`{"index": {...}, "llm": {...}, "watch": [folders], "mcp": "/mcp" or null}`; `index` is what
    `embedsearch status --json` prints, or just `{"path", "exists": false}` before the first run."""
    svc = service(request)
    return await svc.read(svc.status)


@router.post("/index", status_code=202, responses={400: ERROR, 403: ERROR, 409: ERROR},
             summary="Index a folder (a job)")
async def index_folder(request: Request, body: IndexRequest) -> JSONResponse:
    """Start (re)indexing a folder: 202 with the job (`url` to poll), 403 for a folder outside those
    the server was started with (`--allow`, `--watch`), or 409 while another run writes to the
    index. The job's `report` is what `embedsearch index --json` prints."""
    svc = service(request)
    job = svc.jobs.start(svc.folders.check(body.folder), rebuild=body.rebuild)
    if body.wait:
        await asyncio.wrap_future(job.future)  # type: ignore[arg-type]
        return JSONResponse(job.to_json())
    return JSONResponse(job.to_json(), status_code=202, headers={"Location": job.url})


@router.get("/index/jobs/{job_id}", responses={404: ERROR}, summary="An indexing job's state")
async def index_job(request: Request, job_id: str) -> dict[str, Any]:
    """`state` is running, done, failed (`error` says why) or interrupted; `progress` is the
    current phase (scan, chunk, embed) with done and total counts."""
    from fastapi import HTTPException

    job = service(request).jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no indexing job {job_id} (the server keeps the last 20)")
    return job.to_json()
