"""The MCP server: embedsearch's search, get, ask and status as tools for AI agents.

Built on the official `mcp` SDK's `MCPServer`, which derives each tool's input schema from its
signature and validates the arguments. One server, two transports:

    run_stdio(index)     `embedsearch mcp`: an agent (Claude Desktop, Claude Code, ...) starts it
                         as a subprocess and speaks MCP over its stdin and stdout
    http_app(index)      streamable HTTP, an ASGI app that `embedsearch serve` mounts at /mcp

Every tool answers twice: readable text for the model (`views.hits_text`, `views.answer_text`)
and structured content (the JSON of `--json` and the HTTP API: `views.hit_json`, `answer_json`,
`document_json`, `Index.status`) under a declared output schema. Errors a caller can cause (an empty query, no index yet, an
unknown mode, a path not in the index) come back as tool errors carrying embedsearch's one-line
message, so the agent can correct itself; the server keeps running.

Blocking work stays off the event loop: the SDK runs the sync tools on worker threads, and `ask`
hands its search and LLM to one. Calls may run concurrently against the one shared `Index`,
which is made for that (a SQLite connection per thread, locks around lazy loading and the
embedder); only the in-process llama.cpp model, one instance in this process, is used by one
`ask` at a time.

This module imports the mcp SDK, pydantic and starlette (about a second), so only `embedsearch
mcp` and `embedsearch serve` import it, never the CLI's cold path.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import os

import stat
import sys
import threading
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, AsyncIterator, Callable, Mapping, Optional

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from . import __version__, operations as ops, views
from .errors import EmbedsearchError

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from .operations import Index, LLMConfig
    from .records import Answer, DocumentText, Hit

log = logging.getLogger(__name__)

MAX_K = ops.MAX_K  # passages per call: the one limit every front end has
# `get` returns at most this much text (a long post is ~10,000 characters): MCP clients cap a
# tool result (Claude Code warns at 10,000 tokens), and a line range reads on from where it stops.
MAX_DOCUMENT_CHARS = 20_000
PROGRESS_EVERY = 1.0  # seconds between progress notifications while the LLM writes

INSTRUCTIONS = """\
embedsearch searches the user's own posts and notes (a personal archive, mostly in Korean, some in
English) by meaning and by words. Use `search` to find passages about anything the user wrote,
`get` to read a post or the lines around a hit, `ask` for an answer written by the LLM configured
for embedsearch with [n] citations, and `status` to see what is indexed. Queries work in any
language; Korean matches the Korean posts best. Cite what you use as path:line."""

SEARCH_DESCRIPTION = """\
Search the user's own posts and notes for the passages that best match `query`, best first.

Use it whenever the user asks about something they wrote, thought or noted, or when their notes
may hold the answer. It is fast (tens of milliseconds): if the first results miss, search again
with other words (the user's own terms, or Korean) rather than giving up. Most posts are Korean;
queries may be in any language (an English query finds Korean passages by meaning).

Returns up to k passages, each with `location` (path:start-end; pass it to `get` to read the
passage's lines, or its `path` for the whole post), title > heading, score, the passage text with
a snippet, and `evidence`: its sentence nearest the query with that sentence's own `location`
(cite that line). When
`relevant` is false the passage is only the nearest there is, not a real match: say the notes
don't seem to cover the question rather than stretching it."""

GET_DESCRIPTION = """\
Read an indexed post: the whole document, or a range of its lines.

Use it after `search` to see the context of a passage or to read the whole post. `path` is a
document path as `search` returned it (`path` or `location`), or any unique tail of it
("llm.md", "posts/llm.md"); "path:25" reads line 25 and "path:20-40" lines 20 to 40, as do
line_start and line_end. Returns the text as the file is now (lines numbered in the readable
text), with the document's title and front matter (date, tags). A long document is cut at about
20,000 characters; the result says where, and line_start reads on."""

ASK_DESCRIPTION = """\
Answer a question from the user's posts with the LLM configured for embedsearch: it retrieves
passages as `search` does, has the LLM answer from them only, and returns the answer with its
[n] citations mapped to path:line and the passages it was given.

Use it when the user wants embedsearch's own answer. Often you can do better by calling `search`
(and `get`) and answering yourself from the passages: the configured LLM may be small. Slow
(seconds to a minute). When no LLM is configured for the server, returns the retrieved passages
and says so; when no passage looks relevant, says the posts don't seem to contain an answer
instead of letting the LLM invent one (answer_anyway=true asks anyway)."""

STATUS_DESCRIPTION = """\
What the index holds: how many documents and passages (prose and code), the embedding model,
the vector store, size on disk, and when it was last updated. Use it to check that an index
exists and is current, or to tell the user what is searchable."""

ModeArg = Annotated[
    Optional[str],
    Field(
        description="hybrid (default: meaning and words together, best almost always), dense (meaning only: "
        "paraphrases, another language) or lexical (exact words only: names, code identifiers, rare terms).",
        json_schema_extra={"enum": ["hybrid", "dense", "lexical", None]},
    ),
]
PathArg = Annotated[
    Optional[str],
    Field(description="Only documents whose path matches this glob, e.g. 'notes/*' or '*2024*'. Omit for all."),
]
TagArg = Annotated[Optional[str], Field(description="Only documents whose front matter tags include this tag.")]
KindArg = Annotated[
    Optional[str],
    Field(
        description="Only 'prose' passages, or only 'code' (code blocks and program output). Omit for both.",
        json_schema_extra={"enum": ["prose", "code", None]},
    ),
]
KArg = Annotated[int, Field(description=f"How many passages, 1 to {MAX_K}.", json_schema_extra={"minimum": 1,
                                                                                                 "maximum": MAX_K})]


# -- output schemas: the JSON views' shapes, so clients know what structured content holds ----------

class EvidenceOut(TypedDict):
    text: str  # the sentence as written (its line breaks kept)
    line_start: int
    line_end: int
    location: str  # path:line of the sentence itself
    score: float  # its cosine with the query, plus 0.2 x the share of the query's words it holds


class HitOut(TypedDict):
    rank: int
    chunk_id: int
    score: float
    path: str  # the stored (absolute) path
    line_start: int
    line_end: int
    location: str  # path:start-end (path:line for one line), relative to the working directory when inside it
    title: str
    heading: str  # the headings above the passage, "A > B"
    headings: list[str]  # the same as a list, outermost first: ["A", "B"]
    kind: str  # prose or code
    language: Optional[str]
    text: str
    also: list[str]  # other path:start-end places the same paragraph appears
    snippet: NotRequired[str]
    highlights: NotRequired[list[list[int]]]
    evidence: NotRequired[list[EvidenceOut]]  # the sentence(s) nearest the query, best first
    evidence_span: NotRequired[list[int]]  # where the first is in the snippet
    relevant: NotRequired[bool]
    scores: NotRequired[dict[str, Optional[float]]]
    number: NotRequired[int]  # ask: the [n] the passage had in the prompt


class SearchOut(TypedDict):
    query: str
    mode: str
    results: list[HitOut]


class DocumentOut(TypedDict):
    path: str
    title: str
    front_matter: dict[str, Any]
    line_start: int
    line_end: int
    text: str
    source: str  # "file": read from the file now; "index": the indexed passages stand in
    note: NotRequired[str]  # why the indexed passages stand in (the file changed, is not a regular file...)
    location: str
    truncated: NotRequired[bool]


class CitationOut(TypedDict):
    number: int
    path: str
    line_start: int
    line_end: int
    heading: str  # "A > B"
    headings: list[str]
    title: str
    location: str


class AnswerOut(TypedDict):
    question: str
    answer: Optional[str]  # null when no LLM is configured
    citations: list[CitationOut]
    passages: list[HitOut]
    model: Optional[str]
    timings: dict[str, float]
    dropped_passages: int
    declined: bool
    note: NotRequired[str]


class StatusOut(TypedDict):
    path: str
    documents: int
    chunks: int
    kinds: dict[str, int]
    model: Optional[str]
    embedder: Optional[str]
    dimension: Optional[int]
    vector_store: dict[str, Any]
    size_bytes: int
    last_indexed: Optional[float]  # seconds since the epoch
    schema_version: int
    read_only: bool


# -- the server ------------------------------------------------------------------------------

def create_server(index: "Index", *, llm: "LLMConfig | None" = None) -> MCPServer:
    """An MCP server whose tools search, read and answer from `index` (opened once, shared by every call).

    `llm` is the LLM `ask` uses, resolved once by the caller (flags over the environment over the
    config file, as for `embedsearch ask`); None resolves it here from the environment and the
    config file.
    """
    tools = _Tools(index, llm or ops.llm_config())
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    server: MCPServer = MCPServer(
        "embedsearch",
        title="embedsearch",
        description="Semantic search and question answering over your own posts and notes.",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )
    # MCPServer() calls logging.basicConfig; logging is the host's to configure (the CLI, or serve's uvicorn).
    root.handlers[:] = handlers
    root.setLevel(level)
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                open_world_hint=False)
    server.add_tool(tools.search, name="search", title="Search the posts", description=SEARCH_DESCRIPTION,
                    annotations=read_only)
    server.add_tool(tools.get, name="get", title="Read a post or lines of it", description=GET_DESCRIPTION,
                    annotations=read_only)
    server.add_tool(tools.ask, name="ask", title="Answer from the posts, with citations", description=ASK_DESCRIPTION,
                    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False))
    server.add_tool(tools.status, name="status", title="What the index holds", description=STATUS_DESCRIPTION,
                    annotations=read_only)
    return server


def _tool_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """A user error becomes a tool error with its one-line message (not the SDK's 'Error executing tool' prefix)."""
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except EmbedsearchError as exc:
                return error_result(views.error_text(exc, "mcp"))

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EmbedsearchError as exc:
            return error_result(views.error_text(exc, "mcp"))

    return wrapper


def error_result(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _result(text: str, structured: Mapping[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=dict(structured))


class _Tools:
    """The tool functions, bound to one index. Their signatures are the tools' input schemas."""

    def __init__(self, index: "Index", llm: "LLMConfig") -> None:
        self.index = index
        self.llm = llm

    @_tool_errors
    def search(
        self,
        query: Annotated[str, Field(description="What to look for, in any language: a question, a phrase or "
                                                "keywords. Korean matches the (mostly Korean) posts best.")],
        k: KArg = 5,
        mode: ModeArg = None,
        path: PathArg = None,
        tag: TagArg = None,
        kind: KindArg = None,
    ) -> Annotated[CallToolResult, SearchOut]:
        hits = ops.search(self.index, ops.SearchRequest(query, k, mode=mode, path=path, tag=tag, kind=kind))
        structured = {"query": query, "mode": mode or ops.DEFAULT_MODE,
                      "results": [views.hit_json(hit, query=query) for hit in hits]}
        return _result(_hits_text(hits, query), structured)

    @_tool_errors
    def get(
        self,
        path: Annotated[str, Field(description="A document path or a unique tail of it ('posts/llm.md'); "
                                               "'path:25' or 'path:20-40' for lines.")],
        line_start: Annotated[Optional[int], Field(description="First line to read (1-based). Omit for the "
                                                               "whole document.")] = None,
        line_end: Annotated[Optional[int], Field(description="Last line to read; omit for just line_start.")] = None,
    ) -> Annotated[CallToolResult, DocumentOut]:
        doc, full_end = _truncate(ops.read_document(self.index, path, line_start, line_end))
        structured = views.document_json(doc)
        if full_end is not None:
            structured["truncated"] = True
        return _result(_document_text(doc, full_end), structured)

    @_tool_errors
    async def ask(
        self,
        question: Annotated[str, Field(description="The question, in any language.")],
        ctx: Context,
        k: KArg = 5,
        mode: ModeArg = None,
        path: PathArg = None,
        tag: TagArg = None,
        kind: KindArg = None,
        answer_anyway: Annotated[bool, Field(description="Ask the LLM even when no passage looks relevant.")] = False,
    ) -> Annotated[CallToolResult, AnswerOut]:
        request = ops.AskRequest(question, k, mode=mode, path=path, tag=tag, kind=kind, answer_anyway=answer_anyway)
        progress = _Progress(ctx)
        await progress.report("Searching the posts")
        try:
            # abandoned when the call is cancelled (the client gave up, Ctrl-C), and told to stop at the next token
            answer, note = await anyio.to_thread.run_sync(
                functools.partial(self._answer, request, progress), abandon_on_cancel=True)
        finally:
            progress.stopped.set()
        structured = views.answer_json(answer)
        del structured["prompt"]  # the passages, again, as a prompt: the agent has them already
        if note:
            structured["note"] = note
            text = f"{note}\n\n{_hits_text(answer.passages, question)}"
        else:
            text = views.answer_text(answer)
        return _result(text, structured)

    def _answer(self, request: "ops.AskRequest", progress: "_Progress") -> "tuple[Answer, str]":
        """Search, prompt, generate (on a worker thread); the Answer and a note when no LLM answered."""
        stream = ops.ask(self.index, request, self.llm)
        if stream.llm is None:
            return stream.run(), _no_llm_note(stream.passages)
        progress.from_thread(f"Asking {stream.llm.model or 'the LLM'}")
        written = 0

        def piece(text: str) -> None:  # raising here closes the LLM's stream (AskStream.run)
            nonlocal written
            if progress.stopped.is_set():
                raise EmbedsearchError("the ask was cancelled")
            written += len(text)
            progress.from_thread(f"Writing the answer: {written} characters", throttle=True)

        return stream.run(piece), ""

    @_tool_errors
    def status(self) -> Annotated[CallToolResult, StatusOut]:
        info = ops.status(self.index)
        return _result("\n".join(f"{key}: {value}" for key, value in views.status_rows(info).items()), info)


class _Progress:
    """Progress notifications for a long `ask` (a no-op unless the client asked for them).

    They tell the user what is happening and keep clients that reset their timeout on progress
    waiting for a slow LLM. Sent from the worker thread through anyio's portal to the event loop.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.count = 0
        self.last = 0.0
        self.stopped = threading.Event()  # the call is over: nobody waits for the answer any more

    async def report(self, message: str) -> None:
        self.count += 1
        self.last = time.monotonic()
        try:
            await self.ctx.report_progress(self.count, None, message)
        except Exception:  # a client that went away must not fail the answer
            log.debug("progress notification failed", exc_info=True)

    def from_thread(self, message: str, *, throttle: bool = False) -> None:
        if self.stopped.is_set() or (throttle and time.monotonic() - self.last < PROGRESS_EVERY):
            return
        try:
            anyio.from_thread.run(self.report, message)
        except RuntimeError:  # the event loop is gone (the server is shutting down)
            self.stopped.set()


# -- readable text ---------------------------------------------------------------------------

def _hits_text(hits: "list[Hit]", query: str) -> str:
    if not hits:
        return "No passages found."
    text = views.hits_text(hits, query)
    if all(hit.relevant is False for hit in hits):
        text = "No passage looks relevant to this query: these are only the nearest.\n\n" + text
    return text


def _no_llm_note(passages: "list[Hit]") -> str:
    note = ("No LLM is configured for this embedsearch server, so these are only the passages retrieved for "
            "the question: answer from them yourself, citing path:line. (To have embedsearch answer, set "
            "EMBEDSEARCH_LLM_URL to an OpenAI-compatible server in the MCP server's environment, or [llm] url "
            "in its config file.)")
    if passages and all(hit.relevant is False for hit in passages):
        note += " None of them looks relevant to the question."
    return note


def _document_text(doc: "DocumentText", full_end: int | None) -> str:
    """A header (path:lines, title, front matter), then the text; a file's lines numbered for citing.

    `full_end` is the last line asked for when the text was cut short (see `_truncate`).
    """
    header = f"{views.display_path(doc.path)}:{views.span(doc.line_start, doc.line_end)}  {doc.title}".rstrip()
    lines = [header]
    meta = ", ".join(f"{key}: {_plain(value)}" for key, value in doc.front_matter.items() if key != "title")
    if meta and not (doc.source == "file" and doc.line_start == 1):  # else it's there in the text
        lines.append(meta)
    lines.append("")
    if doc.source == "file":
        width = len(str(doc.line_end))
        lines += [f"{n:>{width}}  {line}".rstrip() for n, line in enumerate(doc.text.split("\n"), doc.line_start)]
    else:
        lines += [f"({doc.note})" if doc.note else "(the indexed passages: the file holds many posts)", doc.text]
    if full_end is not None:
        lines.append("")
        lines.append(f"[cut at line {doc.line_end} of {full_end}: call get with line_start={doc.line_end + 1} and "
                     f"line_end={full_end} to read on]" if doc.source == "file"
                     else f"[cut at {MAX_DOCUMENT_CHARS:,} characters]")
    return "\n".join(lines)


def _plain(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _truncate(doc: "DocumentText") -> "tuple[DocumentText, int | None]":
    """At most MAX_DOCUMENT_CHARS of text, cut at a line end (a file's line_end follows the cut),
    and the last line asked for when it was cut (None when it wasn't)."""
    if len(doc.text) <= MAX_DOCUMENT_CHARS:
        return doc, None
    if doc.source != "file":
        return dataclasses.replace(doc, text=doc.text[:MAX_DOCUMENT_CHARS]), doc.line_end
    kept, size = [], 0
    for line in doc.text.split("\n"):
        if kept and size + len(line) + 1 > MAX_DOCUMENT_CHARS:
            break
        kept.append(line[:MAX_DOCUMENT_CHARS])
        size += len(line) + 1
    return dataclasses.replace(doc, text="\n".join(kept), line_end=doc.line_start + len(kept) - 1), doc.line_end


# -- transports ------------------------------------------------------------------------------

def run_stdio(index: "Index", *, llm: "LLMConfig | None" = None) -> None:
    """Serve MCP on stdin/stdout until the client closes stdin (returns) or Ctrl-C (KeyboardInterrupt).

    While it runs, the SDK points file descriptor 1 at stderr and writes the protocol to a private
    copy of it, so a stray print or a C library's chatter can't corrupt the stream.
    """
    server = create_server(index, llm=llm)
    anyio.run(_serve_stdio, server)


async def _serve_stdio(server: MCPServer) -> None:
    from mcp.server.stdio import stdio_server

    lowlevel = getattr(server, "_lowlevel_server", None)  # MCPServer has no public way to pass stdin
    if lowlevel is None or not _pollable(0):
        await server.run_stdio_async()
        return
    async with stdio_server(stdin=_StdinLines(0)) as (read_stream, write_stream):  # type: ignore[arg-type]
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def _pollable(fd: int) -> bool:
    """A pipe, socket or terminal: something the event loop can wait on (a regular file can't be)."""
    if sys.platform == "win32":
        return False
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


class _StdinLines:
    """The lines arriving on a descriptor, waited for on the event loop, for the SDK's stdio transport.

    The SDK reads stdin with a blocking read on a worker thread, which Ctrl-C can't interrupt:
    the server hung until the client sent one more line. Waiting for the descriptor to become
    readable is cancellable, so Ctrl-C ends the server at once.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.eof = False

    def __aiter__(self) -> "_StdinLines":
        return self

    async def __anext__(self) -> str:
        while b"\n" not in self.buffer and not self.eof:
            await anyio.wait_readable(self.fd)
            chunk = os.read(self.fd, 1 << 16)
            if chunk:
                self.buffer += chunk
            else:
                self.eof = True
        if not self.buffer:
            raise StopAsyncIteration
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        line = bytes(self.buffer[:end])
        del self.buffer[:end]
        return line.decode("utf-8", errors="replace")


LOOPBACK = ("127.0.0.1", "localhost", "::1")
# A session costs ~37 KB and the SDK kept up to 10,000 of them for 30 idle minutes each (issue 16):
# 64 at once (a 65th is answered 503 until one ends or expires) and 5 idle minutes. An agent
# whose session expired starts a new one (404, then initialize).
MAX_SESSIONS = 64
SESSION_IDLE_TIMEOUT = 300.0
MAX_BODY = 1 << 20  # as the rest of the server (server.limits)


def http_app(index: "Index", *, host: str = "127.0.0.1", llm: "LLMConfig | None" = None,
             max_sessions: int = MAX_SESSIONS, session_idle_timeout: float = SESSION_IDLE_TIMEOUT,
             ) -> "McpHttpApp":
    """The MCP server as an ASGI app speaking streamable HTTP, for `embedsearch serve` to mount at /mcp.

    The app answers at whatever path it is mounted on. In a FastAPI or Starlette host::

        mcp_app = http_app(index, host=args.host)

        @asynccontextmanager
        async def lifespan(app):
            async with mcp_app.lifespan():      # required: runs the MCP session manager
                yield

        app = FastAPI(lifespan=lifespan)
        app.add_route("/mcp", mcp_app)          # Route: serves exactly /mcp (all methods)
        # or app.mount("/mcp", mcp_app): serves /mcp/, and /mcp answers with a redirect to it

    The host must run `mcp_app.lifespan()` in its own lifespan: Starlette does not pass lifespan
    events to mounted apps, and without it every MCP request gets 503 and a message saying so.
    It can be entered once (the SDK's session manager can't restart): make a new app for a new
    server. Served alone (`uvicorn.run(http_app(index))`), the app runs it itself.

    `host` is the address the server binds: on loopback (the default) the SDK's DNS-rebinding
    protection is on, so only Host headers 127.0.0.1, localhost and [::1] (any port) and
    matching Origins are accepted; elsewhere it is off, and the host's bearer-token check (which
    covers the mounted route like any other) is what keeps strangers out. Sessions are stateful
    (an mcp-session-id header): at most `max_sessions` at once, each closed after
    `session_idle_timeout` idle seconds; request bodies up to 1 MiB.
    """
    from mcp.server.transport_security import TransportSecuritySettings

    server = create_server(index, llm=llm)
    security = (TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                          allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                                          allowed_origins=["http://127.0.0.1:*", "http://localhost:*",
                                                           "http://[::1]:*"])
                if host in LOOPBACK else TransportSecuritySettings(enable_dns_rebinding_protection=False))
    server.streamable_http_app(transport_security=security, host=host,  # creates the session manager
                               max_sessions=max_sessions, session_idle_timeout=session_idle_timeout,
                               max_request_body_size=MAX_BODY)
    return McpHttpApp(server)


class McpHttpApp:
    """An ASGI app: MCP's streamable HTTP transport at any path, plus the lifespan it needs (see `http_app`)."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self._manager = server.session_manager
        self._running = False

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the MCP session manager for as long as the host app runs (enter it in the host's lifespan)."""
        async with self._manager.run():
            self._running = True
            try:
                yield
            finally:
                self._running = False

    async def __call__(self, scope: "Scope", receive: "Receive", send: "Send") -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if not self._running:
            from starlette.responses import JSONResponse

            message = ("the MCP session manager is not running: the app that mounts embedsearch's MCP app must "
                       "enter mcp_app.lifespan() in its lifespan")
            log.error(message)
            response = JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": message}},
                                    status_code=503)
            await response(scope, receive, send)
            return
        await self._manager.handle_request(scope, receive, send)

    async def _serve_lifespan(self, receive: "Receive", send: "Send") -> None:
        """The ASGI lifespan protocol, for when this app is served on its own."""
        if (await receive())["type"] != "lifespan.startup":
            return
        started = False
        try:
            async with self.lifespan():
                started = True
                await send({"type": "lifespan.startup.complete"})
                while (await receive())["type"] != "lifespan.shutdown":
                    pass
        except Exception as exc:
            await send({"type": f"lifespan.{'shutdown' if started else 'startup'}.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})
