"""`embedsearch ask` on a real index, without an LLM: the prompt fallback, errors, context trimming."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from llm_server import free_port
from typer.testing import CliRunner

import embedsearch.cli.ask as ask_cli
from embedsearch.answer import LLMConfig
from embedsearch.cli import app
from embedsearch.errors import EmbedsearchError, LLMUnreachableError

pytestmark = pytest.mark.usefixtures("llm_env")


def run(*args: str) -> "object":
    return CliRunner().invoke(app, ["ask", *args])


@pytest.fixture
def human(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render for a terminal although CliRunner's stdout is not one."""
    monkeypatch.setattr(ask_cli, "want_json", lambda flag: flag)


def test_show_prompt_prints_prompt_and_sources(ask_index_path: Path, human: None) -> None:
    result = run("LLM의 한계는 뭐야?", "--index", str(ask_index_path), "-k", "2", "--llm-backend", "none")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("[1] 대규모 언어 모델 정리 > 한계 (") < out.index("Question: LLM의 한계는 뭐야?")
    assert "환각(hallucination)" in out
    assert "[2] " in out and "[3] " not in out
    assert "Sources" in out and "llm.md:" in out
    assert "No LLM configured" in result.stderr and "--llm-url" in result.stderr
    assert "EMBEDSEARCH_LLM_URL" in result.stderr


def test_no_llm_json(ask_index_path: Path) -> None:
    result = run("How long does kimchi stew boil?", "--index", str(ask_index_path), "--llm-backend", "none", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"answer", "citations", "passages", "model", "timings"}
    assert data["answer"] is None and data["model"] is None and data["citations"] == []
    assert data["passages"][0]["path"].endswith("kimchi.md")
    assert data["passages"][0]["number"] == 1
    assert "Question: How long does kimchi stew boil?" in data["prompt"]


def test_unreachable_url_exits_2_with_the_url(ask_index_path: Path, human: None) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run("LLM이 뭐야?", "--index", str(ask_index_path), "--llm-url", url, "-k", "1", "--answer-anyway")
    assert result.exit_code == 2, result.output
    assert url in result.stderr
    assert "Traceback" not in result.output
    assert "Question: LLM이 뭐야?" in result.stdout  # the prompt is still shown, to use elsewhere


def test_unreachable_url_library_error(ask_index: object) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LLMUnreachableError, match=url):
        ask_index.ask("LLM이 뭐야?", llm=LLMConfig(url=url, model="m"), decline=False)


def test_template_with_unknown_placeholder(ask_index_path: Path, tmp_path: Path) -> None:
    template = tmp_path / "mine.j2"
    template.write_text("질문: {{ question }}\n자료: {{ passages_text }}\n", encoding="utf-8")
    result = run("LLM이 뭐야?", "--index", str(ask_index_path), "--llm-backend", "none", "--template", str(template))
    assert result.exit_code == 2
    assert "unknown placeholder {{ passages_text }}" in result.stderr
    assert "question, context, passages" in result.stderr
    assert "Traceback" not in result.output


def test_user_template_is_used(ask_index_path: Path, tmp_path: Path) -> None:
    template = tmp_path / "ko.j2"
    template.write_text("다음 글만 보고 답하세요.\n\n{{ context }}\n\n질문: {{ question }}\n답:", encoding="utf-8")
    result = run("토마토는 언제 심어?", "--index", str(ask_index_path), "--llm-backend", "none", "--json",
                 "--template", str(template))  # fmt: skip
    assert result.exit_code == 0, result.output
    prompt = json.loads(result.stdout)["prompt"]
    assert prompt.startswith("다음 글만 보고 답하세요.\n\n[1] Tomatoes (")
    assert prompt.endswith("질문: 토마토는 언제 심어?\n답:")


def test_context_trimming_drops_lowest_ranked_and_says_so(ask_index_path: Path, ask_index: object) -> None:
    full = ask_index.prepare_answer("LLM이 뭐야?", k=5, llm=LLMConfig(backend="none"))
    assert full.dropped == 0 and len(full.passages) == 5
    # a window that holds the prompt less a bit more than the smallest passage
    window = full.prompt_tokens + 100 - 30
    result = run("LLM이 뭐야?", "--index", str(ask_index_path), "--llm-backend", "none", "--json", "-k", "5",
                 "--context-tokens", str(window), "--max-tokens", "100")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert 1 <= data["dropped_passages"] < 5
    kept = [p["chunk_id"] for p in data["passages"]]
    assert kept == [h.chunk_id for h in full.passages[: len(kept)]]  # the best-ranked stay
    assert len(kept) + data["dropped_passages"] == 5
    assert f"left out the {data['dropped_passages']} lowest-ranked of 5 passages" in result.stderr
    assert f"{window}-token context window" in result.stderr


def test_window_too_small(ask_index: object) -> None:
    with pytest.raises(EmbedsearchError, match="leaves no room"):
        ask_index.prepare_answer("LLM이 뭐야?", llm=LLMConfig(backend="none", context_tokens=100, max_tokens=100))


def test_help_documents_configuration() -> None:
    result = CliRunner().invoke(app, ["ask", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("--llm-url", "EMBEDSEARCH_LLM_URL", "EMBEDSEARCH_LLM_API_KEY", "config.toml", "{{ question }}",
                 "{{ context }}", "{{ passages }}", "--context-tokens"):  # fmt: skip
        assert text in result.stdout, text


def test_api_key_from_env_and_http_errors(ask_index_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that refuses the key: its message and a hint, exit 2; the key came from the environment."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("Authorization"))
            body = json.dumps({"error": {"message": "Incorrect API key provided"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    try:
        result = run("LLM이 뭐야?", "--index", str(ask_index_path), "--llm-url", url, "--llm-model", "gpt-x", "--json",
                     "--answer-anyway")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["Bearer sk-test"]
    assert result.exit_code == 2
    assert "HTTP 401: Incorrect API key provided" in result.stderr
    assert "EMBEDSEARCH_LLM_API_KEY" in result.stderr


def test_ask_takes_the_search_filters(ask_index_path: Path) -> None:
    result = run("LLM이 뭐야?", "--index", str(ask_index_path), "--llm-backend", "none", "--json",
                 "--path", "*kimchi.md", "-k", "5")
    assert result.exit_code == 0, result.output
    passages = json.loads(result.stdout)["passages"]
    assert passages and all(p["path"].endswith("kimchi.md") for p in passages)


def _terminal_output(args: list[str], columns: int = 80) -> str:
    """Run the CLI with stdout on a real pseudo-terminal `columns` wide; the screen's text, no colour codes."""
    import os
    import pty
    import re
    import subprocess
    import sys

    main, child = pty.openpty()
    env = dict(os.environ, COLUMNS=str(columns), LINES="50")
    process = subprocess.Popen([sys.executable, "-c", "from embedsearch.cli import main; main()", *args],
                               stdout=child, stderr=subprocess.DEVNULL, env=env, cwd="/")
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=60)
    os.close(main)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode()).replace("\r", "")


def test_sources_keep_every_korean_character_at_80_columns(tmp_path: Path) -> None:
    """A table with one column per field cut '토큰이라는 단위' to '토큰이라 …' at 80 columns (paths
    outside the working directory are long): the Sources list now wraps whole, every line fits."""
    from embedsearch import Index
    from embedsearch.views import cell_width

    from conftest import write

    heading = "### 토큰이라는 단위에 관하여 길게 붙인 소제목"
    write(tmp_path / "posts" / "deeply" / "nested" / "folder" / "llm-next-token.md",
          "# LLM은 결국 다음 토큰을 맞히는 기계다\n\n## 언어 모델이란 무엇인가\n\n" + heading + "\n\n"
          "모델은 글자를 직접 보지 않고 토큰이라는 조각 단위로 본다.\n")
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(tmp_path / "posts")
    screen = _terminal_output(["ask", "토큰이라는 단위", "--index", str(tmp_path / "ix"), "--llm-backend", "none"])
    sources = screen[screen.rindex("Sources"):]
    lines = [line.rstrip() for line in sources.splitlines() if line.strip()]
    assert lines[1].startswith("[1]")
    assert "…" not in sources
    joined = "".join(line.strip() for line in lines[1:])
    assert "llm-next-token.md:7" in joined  # the path, broken between characters when wider than a line
    assert "토큰이라는단위에관하여길게붙인소제목" in joined.replace(" ", "")
    assert all(cell_width(line) <= 80 for line in lines)
