"""`embedsearch mcp`: the MCP server, driven by the mcp SDK's own client.

Over stdio, as an agent runs it: `python -m embedsearch mcp --index ...` spawned by the SDK's
stdio client, on a real index of three posts (one Korean). Over streamable HTTP: `http_app`
mounted in a FastAPI app served by a real uvicorn on 127.0.0.1. The ask test talks to the real
llama.cpp server of `llm_server.py`, through EMBEDSEARCH_LLM_URL in the server's environment.

One stdio server serves most tests (module scope, behind an anyio blocking portal), to keep
the spawns (each ~2-4 s of imports on 2 cores) few.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from llm_server import free_port, needs_llm
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {"search", "get", "ask", "status"}


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a spawned server: its own HOME and config, no LLM settings of the machine's."""
    env = {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(home / "cache")),  # the session's graph cache
        "EMBEDSEARCH_CONFIG": str(home / "config.toml"),
        "PYTHONPATH": str(ROOT),
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    env.update(extra)
    return env


def stdio_params(index: Path, cwd: Path, env: dict[str, str], *args: str) -> StdioServerParameters:
    command = ["-m", "embedsearch", "mcp", "--index", str(index), *args]
    return StdioServerParameters(command=sys.executable, args=command, env=env, cwd=str(cwd))


class Session:
    """A connected SDK client, called from sync tests through a blocking portal."""

    def __init__(self, portal: BlockingPortal, client: Client) -> None:
        self.portal = portal
        self.client = client

    def call(self, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.portal.call(lambda: self.client.call_tool(name, arguments or {}, **kwargs))

    def list_tools(self) -> Any:
        return self.portal.call(self.client.list_tools)


@pytest.fixture(scope="module")
def stdio(ask_index_path: Path, posts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """`embedsearch mcp` with no LLM, as Claude Desktop and Claude Code start it (the initialize handshake)."""
    env = server_env(tmp_path_factory.mktemp("mcp-home"), EMBEDSEARCH_LLM_BACKEND="none")
    params = stdio_params(ask_index_path, posts_dir.parent, env)
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Client(params, mode="legacy", read_timeout_seconds=120)) as client:
            yield Session(portal, client)


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


# -- stdio -----------------------------------------------------------------------------------

def test_lists_the_tools_with_their_schemas(stdio: Session) -> None:
    tools = {tool.name: tool for tool in stdio.list_tools().tools}
    assert set(tools) == TOOLS

    search = tools["search"]
    assert search.input_schema["required"] == ["query"]
    props = search.input_schema["properties"]
    assert set(props) == {"query", "k", "mode", "path", "tag", "kind"}
    assert props["k"]["default"] == 5 and props["k"]["maximum"] == 100
    assert set(props["mode"]["enum"]) >= {"hybrid", "dense", "lexical"}
    assert "Korean" in search.description and "location" in search.description
    assert search.output_schema and "results" in search.output_schema["properties"]
    assert search.annotations.read_only_hint is True

    assert tools["get"].input_schema["required"] == ["path"]
    assert set(tools["get"].input_schema["properties"]) == {"path", "line_start", "line_end"}
    ask_props = tools["ask"].input_schema["properties"]
    assert "question" in tools["ask"].input_schema["required"] and "answer_anyway" in ask_props
    assert "ctx" not in ask_props  # the SDK's Context is injected, not an argument
    assert tools["status"].input_schema.get("properties", {}) == {}
    assert all(tools[name].output_schema for name in TOOLS)


def test_search_korean_query_finds_the_korean_post(stdio: Session, posts_dir: Path) -> None:
    result = stdio.call("search", {"query": "LLM이 사실이 아닌 내용을 지어내는 문제", "k": 2})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["query"].startswith("LLM이") and data["mode"] == "hybrid" and len(data["results"]) == 2
    top = data["results"][0]
    assert top["path"] == str(posts_dir / "llm.md") and top["heading"] == "대규모 언어 모델 > 한계"
    assert top["headings"] == ["대규모 언어 모델", "한계"]
    assert top["location"] == f"{posts_dir.name}/llm.md:{top['line_start']}"  # relative to the server's cwd
    assert "환각" in top["text"] and top["snippet"] and top["highlights"]
    best = top["evidence"][0]  # the sentence to cite, with its own line
    assert "환각" in best["text"] and best["location"] == f"{posts_dir.name}/llm.md:{best['line_start']}"
    schema = next(t for t in stdio.list_tools().tools if t.name == "search").output_schema
    assert '"evidence"' in json.dumps(schema) and '"line_start"' in json.dumps(schema)
    text = text_of(result)
    assert text.startswith(f"1. {top['location']}  ")
    assert "대규모 언어 모델 정리 > 한계" in text and "환각(hallucination)" in text


def test_search_english_query_and_filters(stdio: Session) -> None:
    result = stdio.call("search", {"query": "how long does the stew boil?", "k": 1, "mode": "dense"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["mode"] == "dense"
    assert result.structured_content["results"][0]["path"].endswith("kimchi.md")
    only = stdio.call("search", {"query": "tomatoes", "k": 5, "path": "*kimchi*"})
    assert {hit["path"].rsplit("/", 1)[1] for hit in only.structured_content["results"]} == {"kimchi.md"}


def test_get_document_and_line_ranges(stdio: Session, posts_dir: Path) -> None:
    hit = stdio.call("search", {"query": "환각", "k": 1}).structured_content["results"][0]
    one = stdio.call("get", {"path": hit["location"]})  # "posts0/llm.md:12", as search returned it
    assert not one.is_error, text_of(one)
    assert one.structured_content["line_start"] == one.structured_content["line_end"] == hit["line_start"]
    assert one.structured_content["text"] == hit["text"]
    assert text_of(one).splitlines()[-1] == f"{hit['line_start']}  {hit['text']}"

    whole = stdio.call("get", {"path": "llm.md"})
    doc = whole.structured_content
    assert doc["path"] == str(posts_dir / "llm.md") and doc["source"] == "file" and doc["line_start"] == 1
    assert doc["title"] == "대규모 언어 모델 정리" and doc["text"] == (posts_dir / "llm.md").read_text()
    assert text_of(whole).splitlines()[0].endswith("대규모 언어 모델 정리")

    lines = (posts_dir / "llm.md").read_text().split("\n")
    by_suffix = stdio.call("get", {"path": "llm.md:6-8"}).structured_content
    by_args = stdio.call("get", {"path": "llm.md", "line_start": 6, "line_end": 8}).structured_content
    assert by_suffix == by_args
    assert by_suffix["text"] == "\n".join(lines[5:8]) and by_suffix["location"].endswith("llm.md:6-8")


def test_ask_without_llm_returns_the_passages_and_says_so(stdio: Session) -> None:
    result = stdio.call("ask", {"question": "LLM의 한계는 뭐야?", "k": 2})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["answer"] is None and data["model"] is None and data["citations"] == []
    assert data["passages"][0]["path"].endswith("llm.md") and data["passages"][0]["number"] == 1
    assert "prompt" not in data and "No LLM is configured" in data["note"]
    text = text_of(result)
    assert text.startswith("No LLM is configured") and "EMBEDSEARCH_LLM_URL" in text
    assert "llm.md:12" in text and "환각" in text


def test_status(stdio: Session, ask_index_path: Path) -> None:
    result = stdio.call("status")
    assert not result.is_error, text_of(result)
    info = result.structured_content
    assert info["path"] == str(ask_index_path) and info["documents"] == 3 and info["chunks"] >= 3
    assert info["model"] and info["vector_store"]["kind"] == "faiss" and info["vector_store"]["vectors"] >= 3
    assert "Documents: 3" in text_of(result)


@pytest.mark.parametrize(
    "name, arguments, message",
    [
        ("search", {"query": "   "}, "empty query"),
        ("search", {"query": "LLM", "mode": "semantic"},
         "unknown search mode 'semantic': use one of hybrid, dense, lexical"),
        ("search", {"query": "LLM", "kind": "poem"}, "unknown kind 'poem': use prose or code"),
        ("search", {"query": "LLM", "path": "kimchi"},
         "no indexed document matches the path filter 'kimchi'; did you mean '*kimchi*'?"),
        ("search", {"query": "LLM", "tag": "llm"},
         "no indexed document matches the tag filter 'llm': no indexed document lists tags in its front matter"),
        ("search", {"query": "LLM", "k": 0}, "k must be between 1 and 100, not 0"),
        ("get", {"path": "nope.md"}, "no document 'nope.md' in the index"),
        ("get", {"path": "llm.md:999"}, "lines: no line 999"),
        ("ask", {"question": " "}, "the question is empty"),
    ],
)
def test_user_errors_are_tool_errors_and_the_server_lives_on(stdio: Session, name: str, arguments: dict[str, Any],
                                                             message: str) -> None:
    result = stdio.call(name, arguments)
    assert result.is_error
    text = text_of(result)
    assert message in text and "\n" not in text and "Traceback" not in text
    assert not stdio.call("search", {"query": "kimchi", "k": 1}).is_error  # still serving


def test_no_index_is_a_tool_error(tmp_path: Path) -> None:
    """In-process (no spawn): every tool says there is no index, and how to build one."""
    import anyio

    from embedsearch import Index
    from embedsearch.mcp_server import create_server

    async def main() -> list[Any]:
        async with Client(create_server(Index(tmp_path / "none"))) as client:
            return [await client.call_tool(name, args) for name, args in
                    [("search", {"query": "LLM"}), ("get", {"path": "a.md"}), ("status", {})]]

    for result in anyio.run(main):
        assert result.is_error
        assert text_of(result).startswith(f"no index at {tmp_path / 'none'}: run `embedsearch index")


@needs_llm
def test_ask_with_a_real_llm_server(ask_index_path: Path, posts_dir: Path, llm_server: str,  # noqa: F811
                                    tmp_path: Path) -> None:
    env = server_env(tmp_path, EMBEDSEARCH_LLM_URL=llm_server, EMBEDSEARCH_LLM_MAX_TOKENS="24")
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    with start_blocking_portal() as portal:
        # the default mode: discover the newest protocol, fall back to the handshake
        with portal.wrap_async_context_manager(Client(stdio_params(ask_index_path, posts_dir.parent, env),
                                                      read_timeout_seconds=300)) as client:
            session = Session(portal, client)
            result = session.call("ask", {"question": "LLM의 한계는 무엇인가?", "k": 2, "answer_anyway": True},
                                  progress_callback=on_progress)
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert isinstance(data["answer"], str) and data["answer"].strip()
    assert data["model"] == "gemma-3-270m" and "note" not in data
    assert data["passages"][0]["path"].endswith("llm.md") and data["timings"]["generate"] > 0
    text = text_of(result)
    assert text.startswith(data["answer"].strip()[:20]) and "\nSources" in text and "llm.md:" in text
    assert progress[:2] == ["Searching the posts", "Asking the LLM"]  # the server's model is named once it answers
    assert all(message.startswith("Writing the answer: ") for message in progress[2:])


# -- the process itself --------------------------------------------------------------------

def spawn(index: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **server_env(tmp_path, EMBEDSEARCH_LLM_BACKEND="none")}
    return subprocess.Popen([sys.executable, "-m", "embedsearch", "mcp", "--index", str(index)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def exchange(process: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
    """Initialize and one search, by hand: each line the server writes must be a JSON-RPC message."""
    assert process.stdin and process.stdout
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "search", "arguments": {"query": "김치"}}},
    ]
    for request in requests:
        process.stdin.write(json.dumps(request).encode() + b"\n")
    process.stdin.flush()
    replies = [json.loads(process.stdout.readline()) for _ in range(2)]
    assert [r["id"] for r in replies] == [1, 2] and all(r["jsonrpc"] == "2.0" for r in replies)
    assert replies[0]["result"]["serverInfo"]["name"] == "embedsearch"
    assert replies[1]["result"]["structuredContent"]["results"]
    return replies


def finish(process: subprocess.Popen[bytes]) -> tuple[int, bytes, bytes]:
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the server did not exit")
    assert process.stdout and process.stderr
    return code, process.stdout.read(), process.stderr.read()


def test_eof_ends_the_server_quietly(ask_index_path: Path, tmp_path: Path) -> None:
    process = spawn(ask_index_path, tmp_path)
    exchange(process)
    assert process.stdin
    process.stdin.close()
    code, out, err = finish(process)
    assert (code, out, err) == (0, b"", b"")


def test_ctrl_c_ends_the_server_without_a_traceback(ask_index_path: Path, tmp_path: Path) -> None:
    process = spawn(ask_index_path, tmp_path)
    exchange(process)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)  # stdin stays open: the server must not wait for another line
    code, out, err = finish(process)
    assert time.monotonic() - started < 10
    assert (code, out) == (130, b"") and err.decode().strip() == "Interrupted."


def test_search_cold_path_does_not_import_the_mcp_sdk(ask_index_path: Path) -> None:
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('\\nHEAVY:' + ','.join(m for m in ('mcp', 'pydantic', 'starlette', "
        "'embedsearch.mcp_server') if m in sys.modules)))\n"
        "from embedsearch._entry import main\n"
        f"sys.argv = ['embedsearch', 'search', 'LLM', '-k', '1', '--json', '--index', {str(ask_index_path)!r}]\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rank"] == 1
    assert result.stderr.rsplit("HEAVY:", 1)[1].strip() == ""


# -- streamable HTTP ----------------------------------------------------------------------

TOKEN = "test-token"


class RequireBearer:
    """What `serve` does when a token is set (pure ASGI, so streamed responses pass through untouched)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != f"Bearer {TOKEN}".encode():
            from starlette.responses import PlainTextResponse

            await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@pytest.fixture
def http_server(ask_index_path: Path) -> Iterator[str]:
    """A FastAPI app with the MCP app at /mcp (a route) and /mounted (a mount), on a real uvicorn."""
    import uvicorn
    from fastapi import FastAPI

    from embedsearch import Index
    from embedsearch.mcp_server import http_app

    index = Index(ask_index_path)
    mcp_app = http_app(index)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        async with mcp_app.lifespan():
            yield

    app = FastAPI(lifespan=lifespan)
    app.add_route("/mcp", mcp_app)
    app.mount("/mounted", mcp_app)
    app.add_middleware(RequireBearer)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        index.close()


def test_http_app_mounted_under_fastapi(http_server: str, posts_dir: Path) -> None:
    import anyio
    import httpx
    import httpx2  # the SDK's HTTP client
    from mcp.client.streamable_http import streamable_http_client

    async def session(url: str) -> tuple[set[str], Any]:
        # the SDK's own timeouts (httpx2's default of 5 s is shorter than a first search on a busy machine)
        timeout = httpx2.Timeout(30, read=300)
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=timeout) as http:
            async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                return names, await client.call_tool("search", {"query": "LLM의 환각 문제", "k": 1})

    for url in (f"{http_server}/mcp", f"{http_server}/mounted/"):
        names, result = anyio.run(session, url)
        assert names == TOOLS
        assert not result.is_error, text_of(result)
        assert result.structured_content["results"][0]["path"] == str(posts_dir / "llm.md")
        assert "llm.md:12" in text_of(result)

    refused = httpx.post(f"{http_server}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, trust_env=False)
    assert refused.status_code == 401


def test_http_app_without_its_lifespan_says_so(ask_index_path: Path) -> None:
    import anyio
    import httpx

    from embedsearch import Index
    from embedsearch.mcp_server import http_app

    async def post() -> Any:
        transport = httpx.ASGITransport(app=http_app(Index(ask_index_path)))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            return await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                   headers={"accept": "application/json, text/event-stream"})

    response = anyio.run(post)
    assert response.status_code == 503 and "lifespan()" in response.json()["error"]["message"]


def test_a_long_document_is_cut_at_a_line_with_a_way_to_read_on() -> None:
    from embedsearch.mcp_server import MAX_DOCUMENT_CHARS, _document_text, _truncate
    from embedsearch.records import DocumentText

    lines = [f"line {n} " + "가나다라 " * 20 for n in range(1, 401)]
    doc = DocumentText(path="/posts/long.md", title="Long", front_matter={"title": "Long", "tags": ["a", "b"]},
                       line_start=11, line_end=410, text="\n".join(lines), source="file")
    cut, full_end = _truncate(doc)
    assert full_end == 410 and len(cut.text) <= MAX_DOCUMENT_CHARS
    assert cut.line_end == 10 + len(cut.text.split("\n")) and lines[cut.line_end - 11] == cut.text.split("\n")[-1]
    text = _document_text(cut, full_end).splitlines()
    assert text[0].endswith(f":11-{cut.line_end}  Long") and text[1] == "tags: a, b"
    assert text[3].startswith(" 11  line 1 ")
    assert text[-1] == (f"[cut at line {cut.line_end} of 410: call get with line_start={cut.line_end + 1} "
                        "and line_end=410 to read on]")
    short = DocumentText("/p.md", "", {}, 1, 1, "short", "file")
    assert _truncate(short) == (short, None)
