"""Does putting the title and heading path above the chunk text help the dense retriever?

    python benchmarks/quality/context_eval.py

KorQuAD: "text" vs "title\\ntext" embedded (the article title is the only context it has).
Hand-written sets: chunk text vs "title\\nheading > path\\ntext" (benchmarks/quality/datasets.with_context;
a plain-text file's title that is only its file name is left out).
"""
from __future__ import annotations

from common import TABLE_HEAD, fmt_row, metrics
from datasets import korquad_runs, own_runs
from fuse_eval import dense_top, fused, groups

from embedsearch.store import fts as lexical


def main() -> None:
    for label, ctx in (("text only", "text"), ("title + text", "title")):
        kc, runs = korquad_runs(ctx)
        ch = lexical.hangul_share(kc.conn)
        print(f"\n**KorQuAD dev, embedded: {label}**\n\n{TABLE_HEAD}")
        print(fmt_row("dense", metrics([[i for i, _ in dense_top(r)][:10] for r in runs], [r.relevant for r in runs])))
        print(fmt_row("hybrid", metrics([[f.chunk_id for f in fused(r, ch)][:10] for r in runs],
                                        [r.relevant for r in runs])), flush=True)
    for label, ctx in (("chunk text only", False), ("title + heading path + chunk text", True)):
        corpora, runs = own_runs(ctx)
        ch = {n: lexical.hangul_share(c.conn) for n, c in corpora.items()}
        g = groups(runs)
        print(f"\n**Hand-written sets, embedded: {label}** (dense R@1 / nDCG@10; hybrid R@1 / nDCG@10)\n")
        print("| set | dense | hybrid |\n|---|---|---|")
        for name, rs in g.items():
            d = metrics([[i for i, _ in dense_top(r)][:10] for r in rs], [r.relevant for r in rs])
            h = metrics([[f.chunk_id for f in fused(r, ch[r.corpus])][:10] for r in rs], [r.relevant for r in rs])
            print(f"| {name} ({len(rs)}) | {d['R@1']:.3f} / {d['nDCG@10']:.3f} | {h['R@1']:.3f} / {h['nDCG@10']:.3f} |")


if __name__ == "__main__":
    main()
