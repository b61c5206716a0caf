"""`ask` from retrieved passages: fill and fit the prompt, stream the LLM's answer, map its citations.

It takes the hits a search returned and never searches itself (retrieval belongs to the search
engine; `Index.ask` does both). Split in two steps so a caller can show the prompt when there
is no LLM, or when the LLM cannot be reached: `prepare` (no network) and `generate` (tokens,
then the Answer).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from ..errors import EmbedsearchError
from ..records import Answer, Hit
from ..text import has_hangul, nfc
from .backends import LLM, estimate_tokens, open_llm
from .citations import citations_for
from .config import LLMConfig, resolve_config
from .prompt import fit_prompt, load_template

if TYPE_CHECKING:
    from ..vectors import Embedder

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A filled prompt, ready for an LLM (or to show when there is none)."""

    question: str
    prompt: str
    passages: list[Hit]  # the passages in the prompt, numbered from 1
    dropped: int  # lowest-ranked passages left out to fit the context window
    prompt_tokens: int
    context_tokens: int | None  # None: no LLM and no --context-tokens, so nothing was trimmed
    llm: LLM | None
    timings: dict[str, float] = field(default_factory=dict)
    # hybrid search judged no passage relevant: answer that plainly instead of asking the LLM
    declined: bool = False
    # the index's embedder: scores the extractive answerer's sentences and checks an LLM's citations
    embedder: "Embedder | None" = None
    check: bool = True  # check each sentence of an LLM's answer against the passages (answer/check.py)

    def answer(self, text: str = "") -> Answer:
        cite = getattr(self.llm, "cite", None)  # an answerer that cites finer than passages
        return Answer(
            question=self.question,
            text=text,
            citations=cite(text) if cite else citations_for(text, self.passages),
            passages=self.passages,
            model=self.llm.model if self.llm else None,
            prompt=self.prompt,
            timings=dict(self.timings),
            dropped_passages=self.dropped,
            declined=bool(getattr(self.llm, "declined", False)),
        )


def prepare(
    question: str,
    hits: Sequence[Hit],
    *,
    template: str | Path | None = None,
    llm: LLMConfig | LLM | None = None,
    decline: bool = True,
    timings: dict[str, float] | None = None,
    embedder: "Embedder | None" = None,
) -> Prepared:
    """Fill the template with `question` and the retrieved `hits`, fitted to the LLM's context window.

    `llm` is a config (None: flags-free resolution from environment and config file) or an
    already-open backend. With `decline` (the default), when hybrid search's relevance signal
    backs none of the passages, the answer says so instead of letting the LLM invent one.
    `timings` carries what the caller measured before (e.g. "search"); `embedder` is the
    index's, for the extractive answerer (no LLM) to score sentences by meaning. Raises EmbedsearchError
    for a bad template, no passages, or a window too small for even one passage.
    """
    started = time.perf_counter()
    question = nfc(question).strip()
    if not question:
        raise EmbedsearchError("the question is empty")
    compiled = load_template(template)  # before any slow work, so template errors come first
    if not hits:
        raise EmbedsearchError("no passages found for the question; index some files first, or lower --min-score")
    timings = dict(timings or {})
    if llm is None:
        llm = resolve_config()
    config, backend = (llm, open_llm(llm)) if isinstance(llm, LLMConfig) else (LLMConfig(), llm)
    timings["load"] = time.perf_counter() - started

    mark = time.perf_counter()
    if backend is not None:
        context_tokens: int | None = backend.context_tokens
        max_tokens, count = backend.max_tokens, backend.count_tokens
    else:  # no LLM: trim only when asked to, for pasting the prompt into some other model
        context_tokens, max_tokens, count = config.context_tokens, config.max_tokens, estimate_tokens
    budget = context_tokens - max_tokens if context_tokens else 10**9
    if budget <= 0:
        raise EmbedsearchError(
            f"--max-tokens {max_tokens} leaves no room for a prompt in a {context_tokens}-token context window"
        )
    fitted = fit_prompt(compiled, question, hits, count, budget)
    timings["prompt"] = time.perf_counter() - mark
    if fitted.dropped:
        log.info("dropped %d lowest-ranked passages to fit %s tokens", fitted.dropped, context_tokens)
    bind = getattr(backend, "bind", None)
    if bind:
        bind(question, fitted.hits, embedder)
    return Prepared(
        question=question,
        prompt=fitted.prompt,
        passages=fitted.hits,
        dropped=fitted.dropped,
        prompt_tokens=fitted.tokens,
        context_tokens=context_tokens,
        llm=backend,
        timings=timings,
        declined=decline and all(hit.relevant is False for hit in hits),
        embedder=embedder,
    )


def decline_text(question: str) -> str:
    """What `ask` answers when no passage is relevant, in the question's language."""
    if has_hangul(question):
        return "색인된 글에는 이 질문에 대한 답이 없는 것 같습니다."
    return "The indexed posts don't seem to contain an answer to this question."


def generate(prepared: Prepared) -> Iterator[str | Answer]:
    """Yield the answer's text as it arrives, then the finished Answer (the last item).

    With no LLM, yields only an Answer whose text is "" and whose model is None.
    """
    llm = prepared.llm
    if llm is None:
        yield prepared.answer()
        return
    if prepared.declined:  # said plainly, without asking the LLM to invent an answer
        close = getattr(llm, "close", None)
        if close:
            close()
        text = decline_text(prepared.question)
        yield text
        answer = prepared.answer(text)
        answer.declined = True
        yield answer
        return
    started = time.perf_counter()
    parts: list[str] = []
    try:
        for text in llm.stream(prepared.prompt):
            if not parts:
                prepared.timings["first_token"] = time.perf_counter() - started
            parts.append(text)
            yield text
    finally:
        close = getattr(llm, "close", None)
        if close:
            close()
    prepared.timings["generate"] = time.perf_counter() - started
    answer = prepared.answer("".join(parts).strip())
    if prepared.check and prepared.embedder is not None and not hasattr(llm, "cite") and answer.text:
        from .check import check

        mark = time.perf_counter()
        answer.support = check(answer.text, answer.passages, prepared.embedder)
        answer.timings["check"] = prepared.timings["check"] = time.perf_counter() - mark
    answer.timings["total"] = prepared.timings["total"] = sum(
        prepared.timings.get(key, 0.0) for key in ("load", "search", "prompt", "generate", "check"))
    yield answer


class AskStream:
    """One answer as it is written: iterate for the pieces of its text; `.answer` once they end.

    The one loop over `generate()` that the CLI, the HTTP server, the MCP server and `Index.ask`
    share (each used to write its own). `close()` (or leaving a `with` block, or a consumer that
    stops early) closes the LLM's stream and its connection; a stream that was never started
    loads nothing. With no LLM the stream yields nothing and `.answer` is the prompt-only Answer.
    """

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.answer: Answer | None = None
        self._pieces = generate(prepared)

    @property
    def passages(self) -> list[Hit]:
        return self.prepared.passages

    @property
    def llm(self) -> LLM | None:
        return self.prepared.llm

    def __iter__(self) -> Iterator[str]:
        for item in self._pieces:
            if isinstance(item, Answer):
                self.answer = item
                return
            yield item

    def run(self, on_token: Callable[[str], None] | None = None) -> Answer:
        """Write the whole answer (each piece to `on_token`) and return it."""
        with self:
            for piece in self:
                if on_token:
                    on_token(piece)
        if self.answer is None:
            raise AssertionError("generate() always ends with an Answer")
        return self.answer

    def close(self) -> None:
        self._pieces.close()

    def __enter__(self) -> "AskStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ask_stream(
    question: str,
    hits: Sequence[Hit],
    *,
    template: str | Path | None = None,
    llm: LLMConfig | LLM | None = None,
    decline: bool = True,
    timings: dict[str, float] | None = None,
) -> AskStream:
    """`ask`, streamed: iterate for the text as the LLM writes it; the stream's `.answer` at the end."""
    return AskStream(prepare(question, hits, template=template, llm=llm, decline=decline, timings=timings))


def ask(
    question: str,
    hits: Sequence[Hit],
    *,
    template: str | Path | None = None,
    llm: LLMConfig | LLM | None = None,
    on_token: Callable[[str], None] | None = None,
    decline: bool = True,
    timings: dict[str, float] | None = None,
) -> Answer:
    """Answer `question` from the retrieved passages `hits`, citing them as [n].

    With no LLM configured, returns an Answer with text "" and model None; its `prompt` is the
    filled prompt, to use elsewhere.
    """
    return ask_stream(question, hits, template=template, llm=llm, decline=decline, timings=timings).run(on_token)
