"""`ask` over HTTP: the answer as server-sent events, written by a worker thread.

The LLM streams from blocking code (httpx to a server, or llama.cpp in this process), so one
worker thread iterates the `operations.ask` stream and hands each piece to the event loop,
which writes it out as an event:

    event: passages   {"passages": [hit + "number"], "dropped": n, "declined": bool, "model": ...}
    event: token      {"text": "..."}                  (as many as the LLM writes)
    event: answer     views.answer_json(answer)        (the last event)
    event: error      {"error": "one line"}            (instead of the answer, when it fails)

Only as many answers are written at once as the LLM can take: one for llama.cpp in this process
(one model, one context: two generations at once would corrupt each other), a few for a server
(which queues them itself). Further questions wait their turn, with a keep-alive comment every
15 s so nothing between gives up on the connection. When the client goes away, the worker stops
at the next piece and closes the LLM's stream.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from ..errors import EmbedsearchError

if TYPE_CHECKING:
    from ..operations import AskStream, LLMConfig

log = logging.getLogger(__name__)
KEEPALIVE_SECONDS = 15.0
SERVER_CONCURRENCY = 4  # answers written at once through an LLM server
Emit = Callable[[str, Any], None]


def frame(event: str, data: Any) -> str:
    """One server-sent event (JSON has no raw newlines, so one data line is enough)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Answers:
    def __init__(self, llm: "LLMConfig") -> None:
        from ..operations import choose_backend, llm_concurrency

        self.llm = llm
        self.backend = choose_backend(llm)  # a bad setting fails when the server starts, not at a question
        workers = llm_concurrency(llm, SERVER_CONCURRENCY)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embedsearch-ask")

    def describe(self) -> dict[str, Any]:
        """What `status` says about the LLM (never the API key)."""
        return {"backend": self.backend, "url": self.llm.url, "model": self.llm.model,
                "max_tokens": self.llm.max_tokens, "temperature": self.llm.temperature}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def config(self, **settings: Any) -> "LLMConfig":
        """The server's LLM settings, with this question's overrides (max_tokens, temperature)."""
        return dataclasses.replace(self.llm, **{k: v for k, v in settings.items() if v is not None})

    async def stream(self, stream: "AskStream") -> AsyncIterator[str]:
        """The events of one answer whose passages were retrieved and whose prompt was filled
        (`operations.ask`, on a reader thread, so a bad question is a 400 before any event)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        stopped = threading.Event()

        def emit(event: str, data: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (event, data) if event else None)
            except RuntimeError:  # the loop is closed: the server is shutting down
                stopped.set()

        self._pool.submit(_write, stream, emit, stopped)
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    return
                yield frame(*item)
        finally:
            stopped.set()


def _write(stream: "AskStream", emit: Emit, stopped: threading.Event) -> None:
    """The worker: stream the LLM's answer into `emit`, always end the stream of events."""
    from ..views import answer_json, error_text, hit_json

    prepared = stream.prepared
    try:
        with stream:  # leaving the block closes the LLM's stream and its connection
            if stopped.is_set():
                return
            emit("passages", {
                "passages": [dict(hit_json(hit, query=prepared.question), number=n)
                             for n, hit in enumerate(prepared.passages, 1)],
                "dropped": prepared.dropped,
                "declined": prepared.declined,
                "model": prepared.llm.model if prepared.llm else None,
            })
            for piece in stream:
                if stopped.is_set():
                    return
                emit("token", {"text": piece})
            if stream.answer is not None:
                emit("answer", answer_json(stream.answer))
    except EmbedsearchError as exc:
        emit("error", {"error": error_text(exc, "http")})
    except Exception:  # noqa: BLE001 (a stream must end with an event, never a dropped connection)
        log.exception("answering %r failed", prepared.question[:200])
        emit("error", {"error": "internal error: see the server's log"})
    finally:
        emit("", None)
