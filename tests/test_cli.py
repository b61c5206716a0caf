"""The command line: output for people and for scripts, and one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embedsearch.cli import app

from conftest import write

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def run_process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embedsearch", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_index_then_search_json(small_posts: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    result = run("index", small_posts, "--index", ix)
    assert result.exit_code == 0, result.output
    assert "3 new, 0 changed, 0 unchanged, 0 removed" in result.output
    again = run("index", small_posts, "--index", ix, "--json")
    summary = json.loads(again.stdout)
    assert summary["unchanged"] == 3 and summary["chunks_embedded"] == 0

    result = run("search", "Dutch oven temperature", "--index", ix, "-k", "2", "--json")
    assert result.exit_code == 0
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(hits) == 2 and hits[0]["rank"] == 1
    top = hits[0]
    assert top["path"].endswith("cooking.md") and top["location"].endswith("cooking.md:8-9")
    assert top["heading"] == "Weekend bread > Baking" and top["headings"] == ["Weekend bread", "Baking"]
    assert 0 < top["score"] <= 1
    assert set(top) >= {"score", "path", "line_start", "line_end", "heading", "title", "text"}


def test_search_output_is_json_when_piped(sample_index: Path) -> None:
    result = run_process("search", "GGUF 형식", "--index", sample_index, "-k", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["score"] > 0 for line in lines)


@pytest.mark.parametrize("width", [80, 52])
def test_search_output_keeps_every_korean_character_at_80_columns(sample_index: Path, width: int) -> None:
    """Each hit is a header line and its snippet, wrapped by display width: nothing is cut off."""
    from rich.cells import cell_len
    from rich.console import Console

    from embedsearch import Index
    from embedsearch.cli.search import render_hits
    from embedsearch.views import display_path, hit_snippet

    query = "토큰화할 때 한국어가 더 많은 토큰을 쓰는 이유"
    console = Console(record=True, width=width, force_terminal=True)
    with Index(sample_index) as ix:
        hits = ix.search(query, k=3)
    render_hits(hits, query, out=console)
    text = console.export_text()
    assert all(cell_len(line) <= width for line in text.splitlines())
    flat = "".join(text.split())
    for hit in hits:
        shown, spans, best = hit_snippet(hit, query)
        assert "".join(shown.split()) in flat  # every character of the snippet, only wrapped
        assert best and shown[best[0]:best[1]] == " ".join(hit.evidence[0].text.split())  # in bold
        assert "".join(f"{display_path(hit.path)}:{hit.line_start}".split()) in flat
        assert spans  # the query's words are found (and highlighted) in each snippet
    assert any("\uac00" <= c <= "\ud7a3" for c in flat)


def test_plain_text_view_wraps_korean_by_display_width(sample_index: Path) -> None:
    from embedsearch import Index
    from embedsearch.views import cell_width, hit_snippet, hits_text

    query = "LoRA는 무엇을 학습하나"
    with Index(sample_index) as ix:
        hits = ix.search(query, k=3)
    text = hits_text(hits, query, width=80)
    assert all(cell_width(line) <= 80 for line in text.splitlines())
    assert text.startswith("1. ") and "finetuning-vs-prompting.md:" in text
    flat = "".join(text.split())
    for hit in hits:
        assert "".join(hit_snippet(hit, query)[0].split()) in flat


def test_min_score_filters(sample_index: Path) -> None:
    result = run("search", "LoRA", "--index", sample_index, "--min-score", "0.99", "--json")
    assert result.exit_code == 0 and result.stdout.strip() == ""


def test_status_json(sample_index: Path) -> None:
    info = json.loads(run("status", "--index", sample_index, "--json").stdout)
    assert info["documents"] == 7 and info["model"] == "multilingual-e5-small"


def test_index_uses_environment_variable(small_posts: Path, tmp_path: Path) -> None:
    ix = tmp_path / "from-env"
    assert run("index", small_posts, env={"EMBEDSEARCH_INDEX": str(ix)}).exit_code == 0
    assert (ix / "embedsearch.db").exists()


def test_default_index_lives_in_the_user_data_directory(small_posts: Path, tmp_path: Path) -> None:
    result = run_process("index", small_posts)
    assert result.returncode == 0, result.stderr
    info = json.loads(run_process("status", "--json").stdout)
    assert "embedsearch" in info["path"] and info["documents"] == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "anything", "--index", "{tmp}/missing"], "no index at"),
        (["index", "{tmp}/no-such-folder", "--index", "{tmp}/ix"], "no such folder"),
        (["index", "{tmp}/empty", "--index", "{tmp}/ix"], "nothing to index"),
        (["search", "  ", "--index", "{index}"], "empty query"),
        (["search", "x", "--index", "{index}", "--model", "intfloat/multilingual-e5-base"], "--rebuild"),
        (["index", "{posts}", "--index", "{tmp}/file/ix"], "cannot"),
    ],
)
def test_user_errors_are_one_line_with_exit_2(args, message, sample_index: Path, small_posts: Path,
                                               tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "file", "a file where a directory should be")
    args = [a.format(tmp=tmp_path, index=sample_index, posts=small_posts) for a in args]
    result = run_process(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_help_explains_every_command() -> None:
    result = run("--help")
    for command in ("index", "search", "status"):
        assert command in result.output
    assert "--min-score" in run("search", "--help").output


COMMANDS = ("index", "search", "get", "status", "ask", "eval", "watch", "serve", "mcp")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_reads_well_at_80_columns(command: str) -> None:
    """At 80 columns no line is wider than the terminal, nothing is cut with '…' (an option's
    environment variable came out as EMBEDSEARCH_LLM_CONTEXT_T…), and the description is not
    wrapped twice: a line that stops well short of the edge ends its paragraph."""
    import os
    import re
    import subprocess
    import sys

    from embedsearch.views import cell_width

    env = dict(os.environ, COLUMNS="80", TERM="dumb", NO_COLOR="1")
    out = subprocess.run([sys.executable, "-m", "embedsearch", command, "--help"], capture_output=True, text=True,
                         env=env, timeout=120).stdout
    lines = out.splitlines()
    assert lines and all(cell_width(line) <= 80 for line in lines), out
    assert "…" not in out
    for name in set(re.findall(r"EMBEDSEARCH_[A-Z_]+(?![<A-Z_*])", out)):  # EMBEDSEARCH_LLM_<KEY>, _* are meant
        assert not name.endswith("_"), name
    panels = next(i for i, line in enumerate(lines) if line.startswith("╭"))
    description = [line.rstrip() for line in lines[:panels]]
    for line, after in zip(description, description[1:]):
        if line.strip() and after.strip() and not after.lstrip().startswith("- "):
            assert cell_width(line) >= 60, f"hard break after {line!r}"


def test_ask_and_search_take_the_same_count_option() -> None:
    for command in ("search", "ask"):
        help_text = run(command, "--help").output
        assert "--top" in help_text and "-k" in help_text and "--k " not in help_text


def test_a_long_korean_header_wraps_indented_at_80_columns_with_nothing_cut() -> None:
    import io

    from rich.console import Console

    from embedsearch.cli.search import render_hits
    from embedsearch.records import Hit
    from embedsearch.views import cell_width

    title = "한국어는 왜 토큰을 더 많이 먹을까: BPE, SentencePiece, 그리고 NFC와 NFD"
    hit = Hit(score=0.99, text="모델은 문자열을 직접 다루지 못하고 정수 ID의 나열만 다룬다.", path="posts/korean-tokenization.md",
              line_start=15, line_end=21, heading="# 한국어는 왜 토큰을 더 많이 먹을까 > ## 토큰화가 필요한 이유",
              title=title, chunk_id=1, rank=1)
    buf = io.StringIO()
    render_hits([hit], "토큰화", out=Console(file=buf, width=80, force_terminal=False, color_system=None))
    lines = buf.getvalue().rstrip("\n").splitlines()
    assert all(cell_width(line.rstrip()) <= 80 for line in lines), lines
    assert lines[0].startswith("1. posts/korean-tokenization.md:15-21  0.990  ")
    assert all(line.startswith("   ") for line in lines[1:])  # the header's rest and the snippet, indented
    flat = "".join(line.strip() for line in lines).replace(" ", "")
    # the whole trail, and the first heading (which the title begins with) not repeated
    assert (title + ">토큰화가필요한이유").replace(" ", "") in flat
    assert flat.count("한국어는왜토큰을더많이먹을까") == 1


def test_a_trail_skips_a_first_heading_the_title_begins_with_as_words() -> None:
    from embedsearch.views import source_trail

    assert source_trail("대규모 언어 모델 정리", "# 대규모 언어 모델 > ## 한계") == "대규모 언어 모델 정리 > 한계"
    assert source_trail("LLMs", "# LLM > ## A") == "LLMs > LLM > A"  # not the same words
    assert source_trail("", "# A > ## B", "posts/note.md") == "note > A > B"
    assert source_trail("T", "## 정리") == "T > 정리"
