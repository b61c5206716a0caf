"""`ask` without an index or an LLM: templates, context fitting, citations, configuration."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from embedsearch.answer.backends import choose_backend, estimate_tokens
from embedsearch.answer.backends.openai import endpoints
from embedsearch.answer.citations import citations_for, cited_numbers
from embedsearch.answer.config import LLMConfig, resolve_config
from embedsearch.answer.prompt import fit_prompt, load_template, number_passages, render_prompt
from embedsearch.errors import EmbedsearchError
from embedsearch.records import Hit

pytestmark = pytest.mark.usefixtures("llm_env")


def hit(n: int, text: str = "본문입니다.", heading: str = "# 대규모 언어 모델 > ## 정의") -> Hit:
    return Hit(
        score=1.0 - n / 10,
        text=text,
        path=os.path.abspath(f"posts/post{n}.md"),
        line_start=10 * n,
        line_end=10 * n + 2,
        heading=heading,
        title=f"글 {n}",
        chunk_id=n,
        rank=n,
    )


HITS = [hit(1), hit(2, heading=""), hit(3, text="Third passage, in English.")]


def test_default_template_numbers_passages_with_headers() -> None:
    prompt = render_prompt(load_template(), "LLM이 뭐야?", number_passages(HITS))
    assert f"[1] 글 1 > 대규모 언어 모델 > 정의 ({os.path.join('posts', 'post1.md')}:10)\n본문입니다." in prompt
    assert f"[2] 글 2 ({os.path.join('posts', 'post2.md')}:20)\n" in prompt
    assert "[3] 글 3 > 대규모 언어 모델 > 정의" in prompt
    assert prompt.rstrip().endswith("Question: LLM이 뭐야?\nAnswer:")
    # the built-in instructions: question's language, [n] citations, say so when the answer is missing
    assert "same language as the question" in prompt
    assert "square brackets" in prompt
    assert "do not contain the answer" in prompt


def test_user_template_can_loop_over_passages(tmp_path: Path) -> None:
    template = tmp_path / "t.j2"
    template.write_text(
        "Q={{ question }}\n{% for p in passages %}<{{ p.number }}|{{ p.path }}|{{ p.line_start }}>{% endfor %}",
        encoding="utf-8",
    )
    prompt = render_prompt(load_template(template), "why?", number_passages(HITS[:2]))
    assert prompt == f"Q=why?\n<1|{HITS[0].path}|10><2|{HITS[1].path}|20>"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ question }}\n{{ contxt }}", "unknown placeholder {{ contxt }}"),
        ("{{ context }} only", "missing placeholder {{ question }}"),
        ("Q: {{ question }}", "missing placeholder {{ context }} or {{ passages }}"),
        ("{{ question }} {% for p in passages %}{{ p.url }}{% endfor %}", "has no attribute 'url'"),
        ("{{ question }} {{ context }", "line 1"),
    ],
)
def test_template_errors_are_clear(tmp_path: Path, source: str, message: str) -> None:
    template = tmp_path / "bad.j2"
    template.write_text(source, encoding="utf-8")
    with pytest.raises(EmbedsearchError) as info:
        render_prompt(load_template(template), "q", number_passages(HITS))
    assert message in str(info.value)
    assert str(template) in str(info.value)


def test_template_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(EmbedsearchError, match="template file not found"):
        load_template(tmp_path / "nope.j2")


def test_fit_drops_lowest_ranked_first() -> None:
    hits = [hit(n, text="가" * 200) for n in range(1, 6)]
    template = load_template()
    full = fit_prompt(template, "질문", hits, estimate_tokens, 10**6)
    assert full.dropped == 0 and len(full.passages) == 5
    budget = full.tokens - 150  # less than one passage's 200 tokens
    fitted = fit_prompt(template, "질문", hits, estimate_tokens, budget)
    assert fitted.dropped == 1
    assert [h.chunk_id for h in fitted.hits] == [1, 2, 3, 4]
    assert fitted.tokens <= budget
    assert "[4]" in fitted.prompt and "[5]" not in fitted.prompt


def test_fit_fails_clearly_when_one_passage_is_too_big() -> None:
    with pytest.raises(EmbedsearchError, match="even one passage"):
        fit_prompt(load_template(), "질문", [hit(1, text="가" * 500)], estimate_tokens, 300)


def test_estimate_is_conservative_for_korean_and_english() -> None:
    assert estimate_tokens("가" * 100) >= 100
    assert estimate_tokens("a" * 300) >= 100


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("LLM은 신경망이다 [1]. 환각이 있다[3].", [1, 3]),
        ("Both [2, 1] and [1-3] and [^2]", [1, 2, 3]),
        ("전각 괄호 ［2］도", [2]),
        ("No citation, [7] is out of range, [n] is not a number", []),
    ],
)
def test_cited_numbers(text: str, numbers: list[int]) -> None:
    assert cited_numbers(text, 3) == numbers


def test_citations_map_numbers_to_sources() -> None:
    citations = citations_for("답 [2][3]", HITS)
    assert [(c.number, c.path, c.line_start, c.heading) for c in citations] == [
        (2, HITS[1].path, 20, ""),
        (3, HITS[2].path, 30, HITS[2].heading),
    ]
    assert citations[0].location == f"{HITS[1].path}:20"


def test_config_precedence_flags_env_file(llm_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    llm_env.write_text(
        '[llm]\nurl = "http://file:1/v1"\nmodel = "file-model"\nmax_tokens = 100\n[llm.options]\ntop_p = 0.5\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("EMBEDSEARCH_LLM_MODEL", "env-model")
    monkeypatch.setenv("EMBEDSEARCH_LLM_MAX_TOKENS", "200")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    config = resolve_config(max_tokens=300)
    assert (config.url, config.model, config.max_tokens) == ("http://file:1/v1", "env-model", 300)
    assert config.options == {"top_p": 0.5}
    assert config.api_key == "sk-fallback"
    monkeypatch.setenv("EMBEDSEARCH_LLM_API_KEY", "sk-own")
    assert resolve_config().api_key == "sk-own"
    assert choose_backend(config) == "openai"


def test_config_file_errors_name_the_problem(llm_env: Path) -> None:
    llm_env.write_text('[llm]\nurll = "http://x"\n', encoding="utf-8")
    with pytest.raises(EmbedsearchError, match="unknown key 'urll'"):
        resolve_config()
    llm_env.write_text('[llm]\nmax_tokens = "many"\n', encoding="utf-8")
    with pytest.raises(EmbedsearchError, match="max_tokens must be a number"):
        resolve_config()
    llm_env.write_text("[llm\n", encoding="utf-8")
    with pytest.raises(EmbedsearchError, match="not valid TOML"):
        resolve_config()


def test_backend_choice() -> None:
    assert choose_backend(LLMConfig(backend="none", url="http://x")) == "none"
    assert choose_backend(LLMConfig()) == "extractive"  # never the packaged base model by default
    assert choose_backend(LLMConfig(url="http://x")) == "openai"
    assert choose_backend(LLMConfig(model="/models/qwen.gguf")) == "llama"
    with pytest.raises(EmbedsearchError, match="needs a server URL"):
        choose_backend(LLMConfig(model="llama3.2"))
    with pytest.raises(EmbedsearchError, match="backend must be one of"):
        resolve_config(backend="gpt")


@pytest.mark.parametrize(
    ("url", "chat"),
    [
        ("http://localhost:11434", "http://localhost:11434/v1/chat/completions"),
        ("localhost:11434/v1/", "http://localhost:11434/v1/chat/completions"),
        ("https://api.example.com/v1/chat/completions", "https://api.example.com/v1/chat/completions"),
        ("http://h/openai/v1", "http://h/openai/v1/chat/completions"),
    ],
)
def test_server_url_forms(url: str, chat: str) -> None:
    assert endpoints(url)[0] == chat
