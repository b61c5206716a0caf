"""The operations layer every front end shares: one request shape with one set of limits, one
answer stream, and errors each front end words its own way."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from embedsearch import operations as ops
from embedsearch import views
from embedsearch.cli import app
from embedsearch.errors import (EmbedsearchError, IndexBusyError, LLMUnreachableError, NoIndexError,
                                DamagedIndexError)
from embedsearch.records import Hit


def test_blank_filters_mean_no_filter() -> None:
    request = ops.SearchRequest("LLM", 3, mode="", path="", tag="", kind="")
    assert request.filters() == {"mode": None, "min_score": None, "path": None, "tag": None, "kind": None}
    ask = ops.AskRequest("LLM이 뭐야?", path="notes/*", answer_anyway=True)
    assert ask.question == "LLM이 뭐야?" and ask.k == ops.DEFAULT_K and ask.filters()["path"] == "notes/*"


@pytest.mark.parametrize("k", [0, ops.MAX_K + 1])
def test_one_limit_on_k_for_the_api_and_the_cli(sample_index: Path, k: int) -> None:
    with ops.open_index(sample_index) as ix:
        with pytest.raises(EmbedsearchError, match=f"between 1 and {ops.MAX_K}") as raised:
            ops.search(ix, ops.SearchRequest("GGUF", k))
        assert raised.value.category == "usage"
        assert len(ops.search(ix, ops.SearchRequest("GGUF", ops.MAX_K))) > 0
    if k > 0:  # (typer's own min=1 answers k=0 before the library sees it)
        result = CliRunner().invoke(app, ["search", "GGUF", "-k", str(k), "--index", str(sample_index)])
        assert result.exit_code == 2 and f"--top must be between 1 and {ops.MAX_K}" in result.stderr


def test_errors_carry_a_category_each_front_end_maps() -> None:
    from embedsearch.errors import EXIT_CODES, HTTP_STATUS

    cases = {EmbedsearchError("x"): ("usage", 2, 400), NoIndexError("x"): ("state", 2, 400),
             IndexBusyError("x"): ("busy", 2, 409), LLMUnreachableError("x"): ("upstream", 2, 502),
             DamagedIndexError("x"): ("fault", 1, 500),
             EmbedsearchError("x", category="state"): ("state", 2, 400)}
    for exc, (category, code, status) in cases.items():
        assert (exc.category, exc.exit_code, HTTP_STATUS[exc.category]) == (category, code, status)
        assert EXIT_CODES[exc.category] == code
    with pytest.raises(ValueError):
        EmbedsearchError("x", category="sorry")


def test_a_message_names_options_in_each_front_ends_words() -> None:
    exc = EmbedsearchError("--path '[x': unclosed '['; or lower --min-score, or set --llm-url, -k 3")
    assert views.error_text(exc, "cli") == str(exc)
    http = views.error_text(exc, "http")
    assert http == "path '[x': unclosed '['; or lower min_score, or set --llm-url, -k 3"
    assert views.error_text(EmbedsearchError("--top must be between 1 and 100, not 0"), "mcp") == \
        "k must be between 1 and 100, not 0"


def test_no_index_is_a_state_error(tmp_path: Path) -> None:
    with ops.open_index(tmp_path / "none") as ix:
        with pytest.raises(NoIndexError, match="no index at"):
            ops.search(ix, ops.SearchRequest("LLM"))


def test_read_document_takes_a_location_as_search_shows_it(sample_index: Path) -> None:
    with ops.open_index(sample_index) as ix:
        hit = ops.search(ix, ops.SearchRequest("GGUF 형식", 1))[0]
        doc = ops.read_document(ix, f"{hit.path}:{hit.line_start}-{hit.line_end}")
        assert (doc.line_start, doc.line_end) == (hit.line_start, hit.line_end)
        assert ops.read_document(ix, hit.path, None, hit.line_start).line_start == 1
        with pytest.raises(EmbedsearchError, match="empty path"):
            ops.read_document(ix, "  ")


class _Writer:
    """An LLM backend that writes three pieces and records whether its stream was closed."""

    model = "fake"
    context_tokens = 4096
    max_tokens = 64

    def __init__(self) -> None:
        self.finished = False
        self.closed = False

    def count_tokens(self, text: str) -> int:
        return len(text) // 2 + 1

    def stream(self, prompt: str) -> Iterator[str]:
        try:
            yield from ["LLM은 ", "다음 토큰을 ", "예측한다 [1]"]
        finally:
            self.finished = True

    def close(self) -> None:
        self.closed = True


def _hits() -> list[Hit]:
    return [Hit(rank=1, chunk_id=1, score=0.9, path="/p/llm.md", line_start=3, line_end=4, title="LLM",
                heading="# LLM", text="LLM은 다음 토큰을 예측한다.", kind="prose")]


def test_an_ask_stream_yields_pieces_then_holds_the_answer() -> None:
    from embedsearch.answer import ask_stream

    llm = _Writer()
    stream = ask_stream("LLM이 뭐야?", _hits(), llm=llm)
    assert stream.answer is None
    assert list(stream) == ["LLM은 ", "다음 토큰을 ", "예측한다 [1]"]
    assert stream.answer is not None and stream.answer.text == "LLM은 다음 토큰을 예측한다 [1]"
    assert [c.number for c in stream.answer.citations] == [1] and llm.closed


def test_closing_an_ask_stream_early_stops_the_llm() -> None:
    from embedsearch.answer import ask_stream

    llm = _Writer()
    with ask_stream("LLM이 뭐야?", _hits(), llm=llm) as stream:
        assert next(iter(stream)) == "LLM은 "
    assert llm.finished and llm.closed and stream.answer is None
