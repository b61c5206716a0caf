"""The prompt: a Jinja2 template filled with the question and numbered passages, fitted to a window.

Jinja2 (not str.format) so user templates can loop over passages and use conditionals, and
StrictUndefined so a misspelt placeholder is an error instead of silently empty text.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import jinja2
import jinja2.meta

from ..errors import EmbedsearchError
from ..records import Hit
from ..views import display_path, heading_trail, source_trail  # noqa: F401 (re-exported)

DEFAULT_TEMPLATE = """\
Answer the question using only the numbered passages below.
- Answer in the same language as the question.
- Cite each passage you use by its number in square brackets, like [n].
- If the passages do not contain the answer, say so plainly (for example "The passages do not say." \
or "제공된 글에는 답이 없습니다.") and do not guess.

Passages:

{{ context }}

Question: {{ question }}
Answer:"""

PLACEHOLDERS: dict[str, str] = {
    "question": "the question, as asked",
    "context": "all passages, each as '[n] title > heading (path:line)' and its text, blank-line separated",
    "passages": "a list; each has number, header, text, title, heading, path, line_start, line_end, score",
}
# A template must show the model the question and the passages, one way or the other.
_REQUIRED = (("question",), ("context", "passages"))


@dataclass
class Passage:
    """One numbered passage as a template sees it."""

    number: int
    header: str  # "[n] title > heading (path:line)"
    text: str
    title: str
    heading: str
    path: str
    line_start: int
    line_end: int
    score: float

    def __str__(self) -> str:
        return f"{self.header}\n{self.text}"


def passage_header(number: int, hit: Hit) -> str:
    return f"[{number}] {source_trail(hit.title, hit.heading, hit.path)} ({display_path(hit.path)}:{hit.line_start})"


def number_passages(hits: Sequence[Hit]) -> list[Passage]:
    return [
        Passage(
            number=n,
            header=passage_header(n, hit),
            text=hit.text.strip(),
            title=hit.title,
            heading=hit.heading,
            path=hit.path,
            line_start=hit.line_start,
            line_end=hit.line_end,
            score=hit.score,
        )
        for n, hit in enumerate(hits, start=1)
    ]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def load_template(template: str | Path | None = None) -> jinja2.Template:
    """Compile the built-in template, a template file (Path or path string), and check its placeholders."""
    if template is None:
        source, name = DEFAULT_TEMPLATE, "built-in template"
    else:
        path = Path(template).expanduser()
        name = f"template {path}"
        try:
            source = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise EmbedsearchError(f"template file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise EmbedsearchError(f"cannot read template {path}: {exc}") from None
    env = _environment()
    try:
        parsed = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise EmbedsearchError(f"{name}, line {exc.lineno}: {exc.message}") from None
    used = jinja2.meta.find_undeclared_variables(parsed)
    unknown = sorted(used - set(PLACEHOLDERS))
    if unknown:
        raise EmbedsearchError(
            f"{name}: unknown placeholder {{{{ {unknown[0]} }}}} (available: {', '.join(PLACEHOLDERS)})"
        )
    for group in _REQUIRED:
        if not used & set(group):
            wanted = " or ".join(f"{{{{ {name_} }}}}" for name_ in group)
            raise EmbedsearchError(f"{name}: missing placeholder {wanted}")
    compiled = env.from_string(source)
    compiled.name = name
    return compiled


def render_prompt(template: jinja2.Template, question: str, passages: Sequence[Passage]) -> str:
    context = "\n\n".join(str(p) for p in passages)
    try:
        return template.render(question=question, context=context, passages=list(passages)).strip()
    except jinja2.UndefinedError as exc:  # e.g. {{ passages[0].url }}
        raise EmbedsearchError(f"{template.name}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise EmbedsearchError(f"{template.name}: {exc}") from None


@dataclass
class FittedPrompt:
    prompt: str
    passages: list[Passage]
    hits: list[Hit]
    dropped: int
    tokens: int


def fit_prompt(
    template: jinja2.Template,
    question: str,
    hits: Sequence[Hit],
    count_tokens: Callable[[str], int],
    budget: int,
) -> FittedPrompt:
    """Fill the template with as many passages as fit in `budget` tokens, dropping the lowest-ranked first.

    Re-renders after each drop rather than summing passage sizes, so a user template's own text
    and layout are counted exactly. k is small, so this costs little.
    """
    kept = list(hits)
    while True:
        passages = number_passages(kept)
        prompt = render_prompt(template, question, passages)
        tokens = count_tokens(prompt)
        if tokens <= budget:
            return FittedPrompt(prompt, passages, kept, len(hits) - len(kept), tokens)
        if len(kept) <= 1:
            raise EmbedsearchError(
                f"the prompt needs {tokens} tokens with even one passage, but only {budget} fit in the "
                "LLM's context window after the answer's share; raise --context-tokens or lower --max-tokens"
            )
        kept.pop()
