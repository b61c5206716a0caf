"""Who may talk to the server: a bearer token when one is set, and no other web site ever.

Three checks, in one ASGI middleware in front of everything:

- **Token.** With a token, every `/api` and `/mcp` request must carry `Authorization: Bearer
  TOKEN` (401 otherwise). The page, the static files and the OpenAPI docs stay open: they hold
  nothing of the user's.
- **Host** (only without a token). A server on 127.0.0.1 is reachable from any web page the
  user opens, through DNS rebinding: `evil.example` re-resolved to 127.0.0.1 makes the browser
  treat our API as that site's own. So an unprotected server answers only requests addressed to
  a loopback name (`localhost`, `127.0.0.1`, `[::1]`).
- **Origin.** A page on another site can still send a "simple" cross-site POST (no CORS
  preflight) and start an indexing run or an LLM answer, even if it can't read the reply.
  Browsers name the sending page in `Origin`, so a request whose Origin is neither this server
  nor one given with `--cors` is refused (403). Clients that are not browsers send no Origin.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import urlsplit

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]
PROTECTED = ("/api", "/mcp")


def is_loopback(host: str) -> bool:
    """True for an address or name that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """'127.0.0.1:8000' -> '127.0.0.1'; '[::1]:8000' -> '::1'."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _protected(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PROTECTED)


class Guard:
    """The ASGI middleware that applies the checks above to HTTP and websocket requests."""

    def __init__(self, app: ASGIApp, *, token: str | None = None, cors: Iterable[str] = ()) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.origins = {origin.rstrip("/") for origin in cors}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        refusal = None
        if not self.token and not is_loopback(_host_name(host)):
            refusal = (400, f"this server answers to localhost only, not {host!r} (start it with --token "
                            "to serve other names)")
        elif "origin" in headers and not self._origin_allowed(headers["origin"], host):
            refusal = (403, f"requests from {headers['origin']} are not allowed (start the server with "
                            "--cors ORIGIN to allow a web site)")
        elif self.token and _protected(scope["path"]) and not self._authorized(headers.get("authorization", "")):
            refusal = (401, "this server needs a token: send the header 'Authorization: Bearer TOKEN'")
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await _send_error(send, *refusal)
        else:
            await send({"type": "websocket.close", "code": 1008})

    def _origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/")
        return origin in self.origins or urlsplit(origin).netloc == host

    def _authorized(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("latin-1"), self.token or b"")


async def _send_error(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
