"""What one client may cost the server: body size, connection time, connections, log lines.

Measured before these limits (issue 16, `serve` on 127.0.0.1):

- eight 100 MB request bodies took the server from 565 MB to 2.7 GB: now a body over 1 MiB
  (`MAX_BODY`) is answered 413 before it is read (`BodyLimit`);
- a connection that never sends a request was never closed (uvicorn 0.55 starts its keep-alive
  timer only after a first response, and its `limit_concurrency` acts only once a request
  arrives); with the fd limit at 128, 130 idle connections stopped every answer while asyncio
  wrote 159 MB of log in 15 s (its accept loop logs EMFILE once per pending connection, up to
  the backlog, every tick). Now `protocol_class` gives each connection `HEAD_TIMEOUT` seconds
  for a complete request head (after connecting and after each response), keeps at most
  `connection_cap()` connections (making room by closing the one idle longest, or answering 503
  when all are busy), and `quiet_accept_errors` logs "out of file descriptors" once per 10 s.

Measured after (ulimit -n 128, 150 idle connections held 15 s): 5 of 5
status requests answered and 488 bytes of log; without the cap 2 of 5 answered (the idle ones
closed only at the head timeout), and without the throttle too the log took 52 MB in 15 s.
Eight clients announcing 100 MB bodies: RSS 94 -> 94 MB, and they got 23 MB into socket
buffers before the 413 closed each connection (without `connection: close`, uvicorn read and
dropped all 800 MB).
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from .security import ASGIApp, _send_error

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # 1 MiB: a question or an MCP call is a few KB
HEAD_TIMEOUT = 10.0  # seconds for a whole request head
KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open (uvicorn's timeout_keep_alive)
MAX_CONNECTIONS = 100
FD_RESERVE = 48  # descriptors left for SQLite connections, the model, MCP sessions, log files
ACCEPT_LOG_EVERY = 10.0


class BodyLimit:
    """413 for a request body over `limit` bytes, before it is read.

    A Content-Length over the limit is refused from the headers alone. A chunked body (no length)
    is read here up to the limit, then handed on whole; one chunk past it and the rest is never
    read. (uvicorn stops reading a socket while 64 KB wait unread, so nothing piles up.)
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                too_big = True  # h11 refuses those anyway
            if too_big:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        body, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            body.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        await _send_error(send, 413, f"request body too large: at most {self.limit // 1024} KiB")


def connection_cap(limit: int = MAX_CONNECTIONS) -> int:
    """How many connections to keep open at once: `limit`, or fewer when the process's descriptor
    limit (ulimit -n) leaves less room than that beside what is open now and `FD_RESERVE`."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limit
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = 64
    return max(4, min(limit, soft - in_use - FD_RESERVE))


def protocol_class(cap: int, head_timeout: float = HEAD_TIMEOUT) -> type:
    """uvicorn's h11 protocol with a head timeout and a connection cap (see the module's docstring)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):  # type: ignore[misc]
        _head_timer: asyncio.TimerHandle | None = None
        _idle_since = 0.0
        _request: Any = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._idle_since = time.monotonic()
            if len(self.connections) > cap and not self._make_room():
                transport.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
                                b"content-length: 21\r\nconnection: close\r\n\r\ntoo many connections\n")
                transport.close()
                self.connections.discard(self)
                return
            self._arm()

        def _make_room(self) -> bool:
            """Close the connection idle longest (no request in progress); False when none is idle."""
            idle = [c for c in self.connections if c is not self and c._idle()]
            if not idle:
                return False
            oldest = min(idle, key=lambda c: c._idle_since)
            oldest._close()
            return True

        def _idle(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._idle_since = time.monotonic()
            self._head_timer = self.loop.call_later(head_timeout, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._idle():
                self._close()

        def _close(self) -> None:
            self._disarm()
            self.connections.discard(self)
            if not self.transport.is_closing():
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._check_request()

        def _check_request(self) -> None:
            if self.cycle is not None and self.cycle is not self._request:  # a whole head arrived
                self._request = self.cycle
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()
                self._check_request()  # a pipelined request may have started already

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11Protocol


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log asyncio's "socket.accept() out of system resource" once per `ACCEPT_LOG_EVERY` seconds,
    with a count, instead of once per pending connection per tick (159 MB in 15 s, measured)."""
    previous = loop.get_exception_handler()
    state = {"last": 0.0, "missed": 0}

    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if context.get("message") == "socket.accept() out of system resource":
            now = time.monotonic()
            if now - state["last"] < ACCEPT_LOG_EVERY:
                state["missed"] += 1
                return
            missed, state["last"], state["missed"] = state["missed"], now, 0
            log.warning("cannot accept connections: out of file descriptors (%s)%s", context.get("exception"),
                        f"; {missed} more since the last warning" if missed else "")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
