"""Who may talk to the server, and what it may be asked to read.

127.0.0.1 is not private on a shared machine: every local user (and every process, `nobody`
included) can connect to it. Before this module asked for a token there, another OS user had
the server index a root-only 0600 folder and read the file back through /api/document, and
`{"folder": "/"}` started indexing 7,234 files (issue 16). So:

- **Token.** With a token, every `/api` and `/mcp` request must carry `Authorization: Bearer
  TOKEN` (401 otherwise). The page, the static files and the OpenAPI docs stay open: they hold
  nothing of the user's. `embedsearch serve` always has one: the user's (`--token`) or one made
  for the run (`new_token`), printed once in the page's URL and kept in a 0600 file that only
  the user can read (`TokenFile`), as Jupyter does.
- **Host** (without a token of the user's own). A server on 127.0.0.1 is reachable from any web
  page the user opens, through DNS rebinding: `evil.example` re-resolved to 127.0.0.1 makes the
  browser treat our API as that site's own. So such a server answers only requests addressed to
  a loopback name (`localhost`, `127.0.0.1`, `[::1]`).
- **Origin.** A page on another site can still send a "simple" cross-site POST (no CORS
  preflight) and start an indexing run or an LLM answer, even if it can't read the reply.
  Browsers name the sending page in `Origin`, so a request whose Origin is neither this server
  nor one given with `--cors` is refused (403). Clients that are not browsers send no Origin.
- **Folders** (`Folders`). Writes (`POST /api/index`, rebuilds) only for folders the server was
  started with (`--watch`, `--allow`) or inside them, compared as real paths; anything else
  is 403, whoever asks.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from ..errors import EmbedsearchError

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

    def __init__(self, app: ASGIApp, *, token: str | None = None, cors: Iterable[str] = (),
                 loopback_only: bool | None = None) -> None:
        """`loopback_only`: answer only Host names of this machine (default: when there is no token;
        `serve` keeps it on with the token it makes itself, off with the user's own `--token`)."""
        self.app = app
        self.token = token.encode() if token else None
        self.origins = {origin.rstrip("/") for origin in cors}
        self.loopback_only = not token if loopback_only is None else loopback_only

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        refusal = None
        if self.loopback_only and not is_loopback(_host_name(host)):
            refusal = (400, f"this server answers to localhost only, not {clip(host)!r} (start it with --token "
                            "to serve other names)")
        elif "origin" in headers and not self._origin_allowed(headers["origin"], host):
            refusal = (403, f"requests from {clip(headers['origin'])} are not allowed (start the server with "
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


def clip(text: str, limit: int = 200) -> str:
    """User input as errors and logs show it: at most `limit` characters (a 5,000-character folder
    name was once logged whole, twice, with its traceback)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


# -- the token of one run -------------------------------------------------------------------

def new_token() -> str:
    """A token for one run of the server: 32 random bytes, URL-safe (it travels in the page's URL)."""
    return secrets.token_urlsafe(32)


def runtime_dir() -> Path:
    """Where a running server leaves its token: $XDG_RUNTIME_DIR/embedsearch (a tmpfs only the user
    can enter) when there is one, else `runtime` in the user data directory."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base):
        return Path(base) / "embedsearch"
    import platformdirs

    return Path(platformdirs.user_data_dir("embedsearch")) / "runtime"


class TokenFile:
    """`serve-PORT.token` in `runtime_dir()`: the token, readable by its user only (0600, in a 0700
    folder), for scripts on the same machine (`curl -H "Authorization: Bearer $(cat FILE)"`).
    Removed when the server stops."""

    def __init__(self, port: int, token: str, folder: Path | None = None) -> None:
        self.path = (folder or runtime_dir()) / f"serve-{port}.token"
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        self.path.unlink(missing_ok=True)  # a stale file of an earlier run on this port
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


# -- which folders may be indexed -----------------------------------------------------------

class NotAllowedError(EmbedsearchError):
    """A request for something this server was not started to do (403)."""


class Folders:
    """The folders HTTP clients may have indexed: those the server was started with and below.

    Compared as real paths (symlinks and `..` resolved), so `allowed/../..`, a symlink out of an
    allowed folder, `""` (the server's working directory) and `/` are all refused unless they
    really are inside an allowed folder.
    """

    def __init__(self, folders: Iterable[str | os.PathLike[str]]) -> None:
        self.roots = [Path(os.path.realpath(os.path.expanduser(f))) for f in folders]

    def check(self, folder: str) -> str:
        """The real path of `folder` when it may be indexed; NotAllowedError (one line) otherwise."""
        if not self.roots:
            raise NotAllowedError("this server indexes no folders over HTTP: start it with --allow FOLDER "
                                  "(or --watch FOLDER) to let clients index that folder")
        if not folder.strip() or "\0" in folder:
            raise NotAllowedError("give a folder to index, inside one the server was started with (--allow, --watch)")
        try:
            real = Path(os.path.realpath(os.path.expanduser(folder)))
        except (OSError, ValueError):
            raise NotAllowedError(f"not a folder this server may index: {clip(folder)}") from None
        if not any(real == root or root in real.parents for root in self.roots):
            raise NotAllowedError(f"{clip(folder)} is outside the folders this server may index "
                                  "(start it with --allow FOLDER)")
        return str(real)


async def _send_error(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if status == 413:  # the rest of the body is never read: close, or uvicorn reads and drops all of it
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
