"""Shared fixtures: real files in temp folders, real indexes, the real bundled model."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The LLM fixtures (a real llama.cpp server, the packaged Gemma, a small ask index) are
# session-wide: registered once here, every module shares one server instead of starting its own.
pytest_plugins = ["llm_server"]

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_POSTS = ROOT / "data" / "posts"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's real index, config or cache."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    # The cache holds only what is derived from the installed model (the ONNX graph takes ~4 s to
    # build): one per session, still not the user's.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    for var in ("EMBEDSEARCH_INDEX", "EMBEDSEARCH_MODEL", "EMBEDSEARCH_CONFIG", "EMBEDSEARCH_LLM_URL",
                "EMBEDSEARCH_LLM_MODEL", "EMBEDSEARCH_LLM_BACKEND", "EMBEDSEARCH_LLM_API_KEY", "OPENAI_API_KEY",
                "EMBEDSEARCH_JSON"):
        monkeypatch.delenv(var, raising=False)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def small_posts(tmp_path: Path) -> Path:
    """Three short posts: quick to embed, distinct enough to search."""
    folder = tmp_path / "posts"
    write(folder / "llm.md", LLM_POST)
    write(folder / "cooking.md", COOKING_POST)
    write(folder / "notes" / "memo.txt", MEMO)
    return folder


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/posts indexed once per session (read-only for tests)."""
    from embedsearch import Index

    path = tmp_path_factory.mktemp("sample-index")
    with Index(path, create=True) as ix:
        ix.add(SAMPLE_POSTS)
    return path


@pytest.fixture
def shared_corpus() -> Path:
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"reference corpus not found at {corpus} (../shared/corpus from the repo root)")
    return corpus


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


LLM_POST = """---
title: 대규모 언어 모델 입문
date: 2024-03-01
tags: [llm, 입문]
---

# 대규모 언어 모델

대규모 언어 모델(LLM)은 방대한 텍스트로 다음 토큰을 예측하도록 학습된 신경망입니다. 트랜스포머 구조를 쓰며, 주어진 문맥 다음에 올 토큰의 확률 분포를 계산합니다.

## 학습

사전학습 단계에서는 인터넷 문서와 책에서 모은 수천억 개의 토큰으로 다음 토큰 예측을 반복합니다. 이후 지시 튜닝과 사람 피드백 강화학습(RLHF)으로 대화에 맞게 다듬습니다.

## 추론

추론할 때는 온도(temperature)와 top-p 같은 샘플링 설정이 답변의 다양성을 정합니다. 온도가 0에 가까우면 가장 확률이 높은 토큰만 고릅니다.
"""

COOKING_POST = """# Weekend bread

Sourdough needs a lively starter: feed it flour and water twelve hours before baking, and keep it
somewhere warm so that it doubles in size.

## Baking

Bake the loaf in a preheated Dutch oven at 250 degrees Celsius for twenty minutes with the lid on,
then twenty-five minutes with the lid off until the crust is deep brown.
"""

MEMO = """벡터 검색은 문장을 임베딩으로 바꾼 뒤 코사인 유사도가 가장 높은 문단을 찾습니다.

FAISS는 페이스북이 만든 벡터 검색 라이브러리로, 수백만 개의 벡터에서도 빠르게 최근접 이웃을 찾습니다.
"""
