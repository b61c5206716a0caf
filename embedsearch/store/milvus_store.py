"""Milvus as the vector store: Milvus Lite in a local folder, or a Milvus server or cluster by URI.

    embedsearch index posts --vector-store milvus                         # Milvus Lite in <index>/milvus.db
    embedsearch index posts --vector-store milvus:./vectors.db            # Milvus Lite there
    embedsearch index posts --vector-store milvus:http://host:19530       # Milvus standalone or distributed

The same pymilvus client talks to both: a local path runs Milvus Lite in this process (its
gRPC server on 127.0.0.1), a URI (`http://`, `https://`, `tcp://`, `unix:`) talks to a server. A
token for a server is read from EMBEDSEARCH_MILVUS_TOKEN (`user:password` or an API key), never
stored in the index.

**Layout.** One collection per index, `embedsearch_<12 hex digits>` (a hash of the index's
creation time, so it survives moving the index folder; `embedsearch status` shows it): an int64
primary key (the chunk id), the float vector, and the scalar fields `path` (VARCHAR), `tags`
(ARRAY of VARCHAR) and `kind` (VARCHAR) that filters look at, compared by inner product over
L2-normalised vectors (cosine). Filters become expressions: a path glob -> `path like ...`
(under any folder too, as with FAISS), a tag -> `array_contains(tags, "x")`, a kind ->
`kind == "code"`.

**Keeping in step.** SQLite stays the source of truth. Milvus is shared by every process that
uses the index, so only writers sync it (`shared = True`): they replay SQLite's vector log into
it (an edited paragraph costs one delete and one upsert) and, once Milvus has taken the
change, record the log position in the index's meta (`vector_store_seq`) and prune the log. A
writer killed between its SQLite commit and its Milvus write leaves the position behind; the
next writer replays from there (replaying is idempotent). A missing collection (dropped, a new
server) is rebuilt from SQLite by the next writer, or by a search that can take the index's
write lock.

**Milvus Lite and several processes.** Milvus Lite 3.x holds an exclusive lock on its folder
while a process has it open, so a second process can't open it (measured: `search` during an
`index` run failed with "Open local milvus failed"). The process that holds the folder serves
it anyway, on a 127.0.0.1 port, so this store writes that address to `<folder>/embedsearch.endpoint`
and a process that finds the folder locked talks to the holder instead (and opens the folder
itself once the holder is gone). Milvus Lite is for trying Milvus on small indexes: every
search walks all rows in Python (measured: 70 ms at 20,000 vectors, ~0.5 s at 100,000; see
`python benchmarks/scale.py`); a Milvus server is for the scale FAISS on one machine can't hold.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import EmbedsearchError, FilterError, IndexBusyError
from .vector_store import VectorStore

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from .database import Filter, VectorRow

SEQ_KEY = "vector_store_seq"  # the vector-log position the collection reflects, in the index's meta
ENDPOINT_FILE = "embedsearch.endpoint"
TOKEN_ENV = "EMBEDSEARCH_MILVUS_TOKEN"
DEFAULT_LITE = "milvus.db"  # `--vector-store milvus` with no location: Milvus Lite in the index folder
_URI_PREFIXES = ("http://", "https://", "tcp://", "unix:")

# Milvus Lite searches every row in Python whatever the index type, so FLAT (exact) costs no more
# than an approximate index there and returns exact results. A server gets HNSW, which the FAISS
# measurements (benchmarks/scale.py) show keeps recall@10 >= 0.95 at 1M real-derived vectors with
# efSearch 128 and M 32.
LITE_INDEX: dict[str, Any] = {"index_type": "FLAT", "params": {}}
SERVER_INDEX: dict[str, Any] = {"index_type": "HNSW", "params": {"M": 32, "efConstruction": 128}}
SERVER_EF = 128

BATCH = 2_000  # rows per insert or delete call: well under gRPC's 64 MB message limit at 384 dims
PATH_BYTES = 65_535  # Milvus's VARCHAR limit
TAG_BYTES = 1_024
MAX_TAGS = 256
MAX_LIMIT = 16_384  # Milvus's largest top-k
LITE_WAIT = 10.0  # seconds to wait for a Milvus Lite folder whose holder doesn't share it (yet)


def is_uri(location: str) -> bool:
    return location.startswith(_URI_PREFIXES)


def _hide_password(uri: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    return uri


# -- filters as expressions ---------------------------------------------------------------------


def _literal(text: str) -> str:
    """A string literal for a Milvus expression."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def like_pattern(glob: str) -> tuple[str, bool]:
    """A glob as a LIKE pattern, and whether the pattern is wider than the glob.

    `*` -> `%`, `?` -> `_`. A literal `%`, `_` or backslash can't be written reliably: Milvus
    escapes them with a backslash, but Milvus Lite ignores the escape when the expression also
    holds `array_contains` (measured: `path like "a\\_b/%" and array_contains(tags, "u")` matched
    nothing). So each becomes `_` (any one character, itself included) and the caller checks the
    paths of the hits against the glob.
    """
    out, wider = [], False
    for ch in glob:
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in "%_\\":
            out.append("_")
            wider = True
        else:
            out.append(ch)
    return "".join(out), wider


def expression(flt: "Filter | None") -> tuple[str, list[str]]:
    """(expression, globs to check hit paths against: empty when the expression is exact)."""
    if not flt:
        return "", []
    clauses, check = [], []
    globs = flt.path_globs()
    if globs:
        if "[" in flt.path:
            raise FilterError("path", flt.path, "{filter}: character classes ([...]) can't be used with a Milvus "
                              "vector store; use * and ? only")
        likes = []
        for glob in globs:
            pattern, wider = like_pattern(glob)
            likes.append(f"path like {_literal(pattern)}")
            if wider:
                check = globs
        clauses.append("(" + " or ".join(likes) + ")")
    if flt.tag:
        tags = flt.tags()
        clauses.append(f"array_contains(tags, {_literal(tags[0])})" if len(tags) == 1 else
                       f"array_contains_any(tags, [{', '.join(map(_literal, tags))}])")
    if flt.kind:
        clauses.append(f"kind == {_literal(flt.kind)}")
    return " and ".join(clauses), check


# -- connections --------------------------------------------------------------------------------


class _Connection:
    """One client per location per process, shared by every store that uses it (Milvus Lite
    allows one holder of its folder per process anyway)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.lite = None if is_uri(location) else Path(location)
        self.client: "MilvusClient | None" = None
        self.holder = False  # this process holds the Milvus Lite folder (and serves it to others)
        self.refs = 0

    def open(self) -> "MilvusClient":
        if self.client is None:
            self.client = self._open_lite() if self.lite else self._connect(self.location, server=True)
        return self.client

    def reopen(self) -> "MilvusClient":
        """After the process this one talked through has gone: open the folder, or its new holder."""
        self.close_client()
        return self.open()

    def close_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # a client whose server is gone may fail to close
                pass
        if self.holder:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(self.lite))
            endpoint = self.lite / ENDPOINT_FILE
            if _read_endpoint(self.lite)[0] == os.getpid():
                endpoint.unlink(missing_ok=True)
            self.holder = False

    def _connect(self, uri: str, server: bool) -> "MilvusClient":
        from pymilvus import MilvusClient, MilvusException

        try:
            return MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, "") if server else "", timeout=10)
        except MilvusException as exc:
            if not server:
                raise
            raise EmbedsearchError(
                f"cannot reach Milvus at {_hide_password(uri)} ({exc.message}): start the server or correct the "
                f"address; a token goes in {TOKEN_ENV}"
            ) from None

    def _open_lite(self) -> "MilvusClient":
        from pymilvus import MilvusException

        path = self.lite
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbedsearchError(f"cannot create the Milvus Lite folder {path}: {exc.strerror}") from None
        deadline = time.monotonic() + LITE_WAIT
        while True:
            uri, problem = _start_lite(path)
            if uri:
                client = self._connect(uri, server=False)
                self.holder = True
                _write_endpoint(path, uri)
                return client
            if problem != "locked":
                raise EmbedsearchError(f"cannot open the Milvus Lite folder {path}: {problem}")
            pid, endpoint = _read_endpoint(path)
            if endpoint and _alive(pid):
                try:
                    client = self._connect(endpoint, server=False)
                    client.list_collections()
                    return client
                except MilvusException:
                    pass  # the holder is just closing it: try again
            if time.monotonic() > deadline:
                raise EmbedsearchError(
                    f"the Milvus Lite folder {path} is locked by another process that doesn't share it "
                    f"(Milvus Lite lets one process open it; {'pid ' + str(pid) if pid else 'not embedsearch'}): "
                    "wait for it to finish, or use a Milvus server (--vector-store milvus:http://host:19530)"
                )
            time.sleep(0.2)


_connections: dict[str, _Connection] = {}
_connections_lock = threading.Lock()


def _acquire(location: str) -> _Connection:
    with _connections_lock:
        conn = _connections.get(location)
        if conn is None:
            conn = _connections[location] = _Connection(location)
        conn.refs += 1
        try:
            conn.open()
        except BaseException:
            conn.refs -= 1
            raise
        return conn


def _release(conn: _Connection) -> None:
    with _connections_lock:
        conn.refs -= 1
        if conn.refs <= 0:
            conn.close_client()
            _connections.pop(conn.location, None)


def _start_lite(path: Path) -> tuple[str | None, str]:
    """Start Milvus Lite's in-process server on the folder: (its URI, "") or (None, why not).

    milvus_lite logs a traceback when it fails; it is kept from the terminal and turned into
    the reason ("locked" when another process holds the folder).
    """
    from milvus_lite.exceptions import DataDirLockedError
    from milvus_lite.server_manager import server_manager_instance

    logger = logging.getLogger("milvus_lite.server_manager")
    failures: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            failures.append(record)

    handler, propagate = Keep(logging.ERROR), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        uri = server_manager_instance.start_and_get_uri(str(path))
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    if uri:
        return uri, ""
    exc = next((r.exc_info[1] for r in failures if r.exc_info), None)
    if isinstance(exc, DataDirLockedError):
        return None, "locked"
    return None, str(exc or "Milvus Lite did not start")


def _write_endpoint(folder: Path, uri: str) -> None:
    tmp = folder / f".{ENDPOINT_FILE}.{os.getpid()}"
    try:
        tmp.write_text(json.dumps({"pid": os.getpid(), "uri": uri}))
        os.replace(tmp, folder / ENDPOINT_FILE)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only folder: others can't share it, nothing worse


def _read_endpoint(folder: Path) -> tuple[int, str]:
    try:
        data = json.loads((folder / ENDPOINT_FILE).read_text())
        return int(data["pid"]), str(data["uri"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0, ""


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    return True


def _require(lite: bool) -> None:
    """pymilvus (and milvus-lite for a local folder), or a line saying how to install them; then
    pymilvus's own logging quietened."""
    try:
        import pymilvus  # noqa: F401

        if lite:
            import milvus_lite  # noqa: F401
    except ImportError as exc:
        raise EmbedsearchError(f"the Milvus vector store needs {exc.name}: pip install 'embedsearch[milvus]'") from None
    _quiet_pymilvus()


def _quiet_pymilvus() -> None:
    """pymilvus logs failed calls and reconnections with tracebacks; this store reports what
    matters as one line (and reconnects itself when a Milvus Lite holder has gone)."""
    for name in ("pymilvus.decorators", "pymilvus.client.connection_manager"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _clip(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


# -- the store ----------------------------------------------------------------------------------


class _Missing(Exception):
    """The collection is gone (dropped, or a new server): rebuild it from SQLite."""


class MilvusStore(VectorStore):
    name = "milvus"
    shared = True

    def __init__(self, db: Any, dim: int, location: str = "") -> None:
        super().__init__(db, dim, location or str(db.directory / DEFAULT_LITE))
        self.collection = collection_name(db.meta())
        self._conn: _Connection | None = None
        self._exists = False

    @classmethod
    def normalise_location(cls, location: str) -> str:
        """A URI stays as it is; a local path becomes absolute (the index may be used from anywhere)."""
        if is_uri(location):
            return location
        return str(Path(location).expanduser().absolute())

    @property
    def lite(self) -> bool:
        return not is_uri(self.location)

    @property
    def client(self) -> "MilvusClient":
        if self._conn is None:
            self._conn = _acquire(self.location)
        return self._conn.open()

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One Milvus call, with its errors as one line. Through another process's Milvus Lite
        server that has since exited, it reconnects once (usually opening the folder itself), and
        loads the collection once when the server it reaches has not."""
        _require(lite=self.lite)
        from pymilvus import MilvusException

        reconnected = reloaded = False
        while True:
            try:
                return fn(self.client, *args, **kwargs)
            except MilvusException as exc:
                text = str(exc.message)
                low = text.lower()
                if exc.code == 100 or "not exist" in low or "not found" in low:  # 100: no such collection
                    raise _Missing() from None
                if not reloaded and (exc.code == 101 or "released" in low or "not loaded" in low):  # 101
                    reloaded = True
                    self.client.load_collection(self.collection)
                    continue
                unavailable = exc.code in (2, 14) or "unavailable" in low or "connect" in low
                if unavailable and not reconnected and self._conn is not None and self._conn.lite \
                        and not self._conn.holder:
                    reconnected = True
                    self._conn.reopen()
                    continue
                where = self.location if self.lite else _hide_password(self.location)
                if unavailable:
                    raise EmbedsearchError(f"Milvus at {where} stopped answering during {what} ({text}): "
                                           "check the server and run the command again") from None
                raise EmbedsearchError(f"Milvus {what} failed on {where}: {text}") from None

    # -- state --------------------------------------------------------------------------

    def load(self) -> None:
        """Connect; the applied log position comes from the index's meta (-1: rebuild on sync)."""
        self._exists = self._call("has_collection", lambda c: c.has_collection(self.collection))
        if self._exists:
            fields = self._call("describe_collection", lambda c: c.describe_collection(self.collection))["fields"]
            dim = next((int(f["params"].get("dim", 0)) for f in fields if f["name"] == "vector"), 0)
            if dim != self.dim:  # a --rebuild with another model
                self._exists = False
            else:
                self._call("load_collection", lambda c: c.load_collection(self.collection))
        seq = self.db.meta().get(SEQ_KEY)
        self.seq = int(seq) if self._exists and seq not in (None, "") else -1

    def persist(self) -> None:
        """Record the log position Milvus now reflects, and forget the log up to it. Milvus Lite
        also seals what it holds in memory: it searched 20,000 unsealed rows in 5 s a query,
        sealed ones in 0.07 s."""
        if self.seq < 0 or not self._may_record():
            return
        if self.lite:
            self._call("flush", lambda c: c.flush(self.collection))
        self._record()
        self.db.prune_log(self.seq)
        self.stats["persisted"] += 1

    def _record(self) -> None:
        if str(self.seq) != self.db.meta().get(SEQ_KEY):
            with self.db.transaction():
                self.db.set_meta(**{SEQ_KEY: self.seq})

    def sync(self) -> bool:
        """Replay the log into Milvus and record how far it got (a missing collection is rebuilt)."""
        if not self._call("has_collection", lambda c: c.has_collection(self.collection)):
            self._exists, self.seq = False, -1
        try:
            changed = super().sync()
        except _Missing:
            self._exists, self.seq = False, -1
            changed = super().sync()
        if changed and self._may_record():
            self._record()
        return changed

    def _may_record(self) -> bool:
        """Whether the log position can be written now: not in a read-only index, and not from
        inside a search's read snapshot (a repair there leaves it to the next writer, whose
        replay from the older position is idempotent)."""
        return not self.db.read_only and not self.db.conn.in_transaction

    def search(self, vector: np.ndarray, k: int, flt: "Filter | None" = None) -> list[tuple[int, float]]:
        if not self._exists:
            self._repair()
        try:
            return super().search(vector, k, flt)
        except _Missing:
            self._repair()
            return super().search(vector, k, flt)

    def _repair(self) -> None:
        """A search found no collection: rebuild it from SQLite when this process may write."""
        from . import lock as write_lock

        what = f"the Milvus collection {self.collection} of index {self.db.directory} is missing"
        if self.db.read_only:
            raise EmbedsearchError(f"{what}: run `embedsearch index FOLDER` on a writable copy to rebuild it")
        try:
            lock = write_lock.acquire(self.db.directory)  # the one lock `Index` writes under
        except IndexBusyError:
            raise EmbedsearchError(f"{what}; a running `embedsearch index` rebuilds it: try again when it is done") from None
        try:
            self.sync()
            if self._may_record():
                self.persist()
            elif self.lite:
                self._call("flush", lambda c: c.flush(self.collection))
        finally:
            lock.release()

    # -- primitives -----------------------------------------------------------------------

    def _clear(self) -> None:
        def clear(client: "MilvusClient") -> None:
            if client.has_collection(self.collection):
                client.drop_collection(self.collection)
            create_collection(client, self.collection, self.dim, lite=self.lite,
                              description=f"embedsearch index {self.db.directory}")

        self._call("create_collection", clear)
        self._exists = True

    def _upsert(self, rows: "list[VectorRow]") -> None:
        for start in range(0, len(rows), BATCH):
            data = [{"id": int(r.id), "vector": np.asarray(r.vector, dtype=np.float32), "path": _clip(r.path, PATH_BYTES),
                     "tags": [_clip(t, TAG_BYTES) for t in r.tags[:MAX_TAGS]], "kind": r.kind}
                    for r in rows[start : start + BATCH]]
            self._call("upsert", lambda c: c.upsert(self.collection, data))

    def _delete(self, ids: Sequence[int]) -> None:
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            self._call("delete", lambda c: c.delete(self.collection, ids=part))

    def _search(self, vector: np.ndarray, k: int, flt: "Filter | None") -> list[tuple[int, float]]:
        expr, check = expression(flt)
        params: dict[str, Any] = {"metric_type": "IP"}
        if not self.lite:
            params["params"] = {"ef": max(SERVER_EF, k)}
        limit = min(k if not check else 2 * k + 10, MAX_LIMIT)
        while True:
            if not self.lite:
                params["params"]["ef"] = max(SERVER_EF, limit)
            found = self._call("search", lambda c: c.search(
                self.collection, data=[vector.tolist()], limit=limit, filter=expr, search_params=params,
                output_fields=["path"] if check else []))[0]
            hits = [(int(h["id"]), float(h["distance"])) for h in found
                    if not check or any(fnmatch.fnmatchcase(h["entity"]["path"], g) for g in check)]
            if len(hits) >= k or len(found) < limit or limit >= MAX_LIMIT:
                return hits[:k]
            limit = min(limit * 4, MAX_LIMIT)

    def _count(self) -> int:
        if not self._exists:
            return 0
        rows = self._call("count", lambda c: c.query(self.collection, filter="", output_fields=["count(*)"]))
        return int(rows[0]["count(*)"]) if rows else 0

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["location"] = self.location if self.lite else _hide_password(self.location)
        info["engine"] = "Milvus Lite" if self.lite else "Milvus server"
        info["collection"] = self.collection
        info["index"] = (LITE_INDEX if self.lite else SERVER_INDEX)["index_type"]
        info["applied_seq"] = self.seq
        return info

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _release(conn)


def create_collection(client: "MilvusClient", name: str, dim: int, *, lite: bool, description: str) -> None:
    """The collection layout (see the module docstring), created and loaded."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description=description)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("path", DataType.VARCHAR, max_length=PATH_BYTES)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_TAGS, max_length=TAG_BYTES)
    schema.add_field("kind", DataType.VARCHAR, max_length=16)
    spec = LITE_INDEX if lite else SERVER_INDEX
    index = client.prepare_index_params()
    index.add_index("vector", index_type=spec["index_type"], metric_type="IP", params=spec["params"])
    # Strong: a search right after an `index` run sees its changes
    client.create_collection(name, schema=schema, consistency_level="Strong")
    # sync=False: waiting for an index on an empty collection polls every 0.5 s, and asks for a
    # timestamp Milvus Lite doesn't implement (its server logs the error)
    client.create_index(name, index, sync=False)
    client.load_collection(name)


def collection_name(meta: dict[str, str]) -> str:
    """The index's collection: named from its creation time, which moving the folder keeps."""
    seed = meta.get("created") or ""
    return "embedsearch_" + hashlib.blake2b(seed.encode(), digest_size=6).hexdigest()
