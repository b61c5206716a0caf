"""What a reader sees of the commands themselves: every `--help` at 80 columns, help for every
command and option, every command in the README, one spelling of the count option."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from embedsearch.cli import app
from embedsearch.views import cell_width

ROOT = Path(__file__).resolve().parents[1]
GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)  # type: ignore[attr-defined]
# EMBEDSEARCH_LLM_URL, and the families EMBEDSEARCH_LLM_<KEY> and EMBEDSEARCH_LLM_*
ENV_NAME = re.compile(r"EMBEDSEARCH_(?:[A-Z0-9]+_)*(?:[A-Z0-9]+|<[A-Z]+>|\*)")


def help_at(command: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": str(columns), "TERM": "dumb",
                                                                "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


def visible_params(command: str) -> list:
    return [p for p in GROUP.commands[command].params if not getattr(p, "hidden", False) and p.name != "help"]


def test_every_command_is_listed() -> None:
    assert set(COMMANDS) >= {"index", "search", "get", "status", "ask", "eval", "watch", "serve", "mcp"}


@pytest.mark.parametrize("command", COMMANDS)
def test_help_at_80_columns_cuts_nothing(command: str) -> None:
    """No line wider than 80 display columns, no '…' cutting a word (an option's variable came out
    as EMBEDSEARCH_LLM_CONTEXT_T…), and every EMBEDSEARCH_* variable the command's options read
    or its help text names appears whole, on one line."""
    out = help_at(command)
    lines = out.splitlines()
    assert lines and all(cell_width(line) <= 80 for line in lines), out
    assert "…" not in out
    cmd = GROUP.commands[command]
    names = {p.envvar for p in cmd.params if isinstance(getattr(p, "envvar", None), str)}
    for text in [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]:
        names.update(ENV_NAME.findall(text))
    names = {n for n in names if n.startswith("EMBEDSEARCH_")}
    assert names or command in ("status", "get", "eval") or not visible_params(command)
    for name in names:
        assert re.search(rf"{re.escape(name)}(?![A-Z0-9_])", out), f"{name} not whole in `{command} --help`:\n{out}"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_paragraphs_are_wrapped_once(command: str) -> None:
    """The description is wrapped by the terminal, not by the source: no line of a paragraph stops
    well short of the edge when the paragraph goes on (text hard-wrapped at ~100 columns came out
    wrapped twice), and every line of a paragraph starts at the same column (a paragraph indented
    in the source had its first line alone indented)."""
    lines = help_at(command).splitlines()
    panels = next(i for i, line in enumerate(lines) if line.startswith("╭"))
    usage = next(i for i, line in enumerate(lines) if "Usage:" in line)
    paragraph: list[str] = []
    for line in [*lines[usage + 1:panels], ""]:
        if line.strip():
            paragraph.append(line.rstrip())
            continue
        for this, after in zip(paragraph, paragraph[1:]):
            assert cell_width(this) >= 60, f"hard break after {this!r}"
            assert len(this) - len(this.lstrip()) == len(after) - len(after.lstrip()), f"ragged: {this!r} / {after!r}"
        paragraph = []


def test_help_column_keeps_variable_names_on_one_line() -> None:
    """Options' types are a short word without their range ('N', not 'N [x>=1]'), so the help
    column is wide enough for '[env var: EMBEDSEARCH_LLM_CONTEXT_TOKENS]' on one line."""
    out = help_at("ask")
    assert "[env var: EMBEDSEARCH_LLM_CONTEXT_TOKENS]" in out
    assert "[x>=" not in out and "<float" not in out and "<integer" not in out


def test_limits_are_still_checked() -> None:
    result = CliRunner().invoke(app, ["search", "x", "-k", "0"])
    assert result.exit_code == 2 and "0 is not at least 1" in result.output
    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code == 2 and "70000 is not between 0 and 65535" in result.output
    result = CliRunner().invoke(app, ["ask", "x", "--temperature", "warm"])
    assert result.exit_code == 2 and "'warm' is not a number" in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_and_option_has_help(command: str) -> None:
    cmd = GROUP.commands[command]
    assert (cmd.help or "").strip(), f"`{command}` has no help"
    for param in visible_params(command):
        assert (getattr(param, "help", None) or "").strip(), f"`{command}` {param.opts} has no help"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"embedsearch {command}" in readme, f"README.md never mentions `embedsearch {command}`"


# -- one spelling for the count -----------------------------------------------------------------

def test_search_and_ask_spell_the_count_alike() -> None:
    for command in ("search", "ask"):
        out = help_at(command)
        assert re.search(r"--top\s+-k\s", out), out
        assert "--k " not in out  # ask's old spelling works but is not offered


@pytest.mark.usefixtures("llm_env")
def test_asks_old_count_spelling_still_works(ask_index_path: Path) -> None:
    for args in (["-k", "2"], ["--top", "2"], ["--k", "2"]):
        result = CliRunner().invoke(app, ["ask", "LLM이 뭐야?", "--index", str(ask_index_path), "--llm-backend",
                                          "none", "--json", *args])
        assert result.exit_code == 0, result.output
        assert len(json.loads(result.stdout)["passages"]) == 2, args
