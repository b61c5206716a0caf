"""Dense vs lexical vs fusions, on KorQuAD dev and on the hand-written question sets; and the
"no relevant passage" signal on hand-written off-topic questions.

    python benchmarks/quality/fuse_eval.py            # the tables in README "Retrieval quality"
    python benchmarks/quality/fuse_eval.py --grid     # how R@1 moves with the fusion constants

Needs KorQuAD (converted and embedded on first use: embed_korquad.py, ~30 min on 2 busy cores);
the hand-written sets embed themselves (a few minutes). Each fusion sees what the real search
sees: the dense top 100 and the lexical top 100 of each query.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

import numpy as np

from common import TABLE_HEAD, fmt_row, metrics
from datasets import QUESTIONS, TOP, Run, embed_cached, korquad_runs, own_runs

from embedsearch.search import fusion
from embedsearch.store import fts as lexical


def dense_top(run: Run, k: int = TOP) -> list[tuple[int, float]]:
    idx = np.argsort(-run.dense)[:k]
    return [(int(i), float(run.dense[i])) for i in idx]


def fused(run: Run, corpus_hangul: float | None) -> list[fusion.Fused]:
    return fusion.fuse(dense_top(run), run.lexical, fusion.QueryInfo(run.query, run.ideal, corpus_hangul))


def minmax(pairs):
    vals = [s for _, s in pairs]
    lo, hi = (min(vals), max(vals)) if vals else (0, 1)
    return {i: (s - lo) / (hi - lo) if hi > lo else 1.0 for i, s in pairs}


METHODS = {
    "dense (e5-small, title+heading+text)": lambda r, ch: [i for i, _ in dense_top(r)],
    "lexical (FTS5 BM25, char bigrams)": lambda r, ch: [i for i, _ in r.lexical],
    "RRF k=60": lambda r, ch: [i for i, _ in fusion.rrf([dense_top(r), r.lexical])],
    "min-max convex, 0.5/0.5": lambda r, ch: (lambda d, l: sorted(set(d) | set(l), key=lambda i: -(
        0.5 * d.get(i, 0.0) + 0.5 * l.get(i, 0.0))))(minmax(dense_top(r)), minmax(r.lexical)),
    "**hybrid (default)**": lambda r, ch: [f.chunk_id for f in fused(r, ch)],
}


def groups(runs: list[Run]) -> dict[str, list[Run]]:
    g: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        if r.kind == "offtopic":
            continue
        if r.kind == "korquad":
            g["KorQuAD 1.0 dev"].append(r)
            continue
        corpus = {"shared": "../shared/corpus", "posts": "data/posts"}[r.corpus]
        what = {"paraphrase": "paraphrased", "crosslingual": "cross-lingual"}[r.kind]
        g[f"{corpus}: {r.lang} questions, {what}"].append(r)
        g["all hand-written answerable questions"].append(r)
    return dict(sorted(g.items(), key=lambda kv: (kv[0] != "KorQuAD 1.0 dev", kv[0])))


def evaluate(method, runs, ch):
    return metrics([method(r, ch[r.corpus])[:10] for r in runs], [r.relevant for r in runs])


def load(with_korquad: bool = True):
    corpora, runs = own_runs()
    ch = {name: lexical.hangul_share(c.conn) for name, c in corpora.items()}
    if with_korquad:
        kc, kruns = korquad_runs()
        ch["korquad"] = lexical.hangul_share(kc.conn)
        runs += kruns
        # off-topic for KorQuAD's Wikipedia corpus: the hand-written off-topic questions
        qs = [json.loads(line) for line in open(QUESTIONS, encoding="utf-8")]
        off = [q for q in qs if q["kind"] == "offtopic" and "비트코인" not in q["q"]]  # KorQuAD has 암호화폐
        qv = embed_cached([q["q"] for q in off], "query")
        for q, v in zip(off, qv):
            runs.append(Run(q["q"], q["lang"], "offtopic", kc.vectors @ v, lexical.search(kc.conn, q["q"], TOP),
                            lexical.ideal_score(kc.conn, q["q"]), set(), "korquad", q.get("split", "tune")))
    return runs, ch


def signal_table(runs, ch) -> None:
    """Precision/recall of fusion.is_relevant, positive = "the corpus holds an answer"."""
    print("\n**No-relevant-passage signal** (`fusion.is_relevant`: evidence = cosine + "
          f"{fusion.EVIDENCE_WEIGHT} x coverage of the best hit >= "
          f"{fusion.RELEVANCE_THRESHOLD}, or >= {fusion.CROSS_LANGUAGE_THRESHOLD} for a question in another "
          "script than the corpus; positive = answerable)\n")
    print("| questions | answerable kept | off-topic declined | precision | recall | AUC evidence / cosine / coverage |")
    print("|---|---|---|---|---|---|")
    subsets = [("hand-written, over ../shared/corpus + data/posts (tuning set)",
                lambda r: r.corpus != "korquad" and r.split == "tune"),
               ("same answerable + held-out off-topic", lambda r: r.corpus != "korquad" and (
                   r.kind != "offtopic" or r.split == "heldout")),
               ("KorQuAD questions + all off-topic, over KorQuAD", lambda r: r.corpus == "korquad")]
    for name, sub in subsets:
        rows = []
        for r in runs:
            if not sub(r):
                continue
            best = fused(r, ch[r.corpus])[0]
            flag = fusion.is_relevant(best, fusion.QueryInfo(r.query, r.ideal, ch[r.corpus]))
            rows.append((r.kind != "offtopic", best, flag))
        pos = [b for a, b, _ in rows if a]
        neg = [b for a, b, _ in rows if not a]
        tp = sum(f for a, _, f in rows if a)
        tn = sum(not f for a, _, f in rows if not a)
        fp = len(neg) - tn
        prec = tp / (tp + fp) if tp + fp else 0.0
        aucs = [auc([f(b) for b in pos], [f(b) for b in neg]) for f in
                (lambda b: b.parts["evidence"], lambda b: b.parts["dense"] if b.parts["dense"] == b.parts["dense"] else 0,
                 lambda b: b.parts["coverage"])]
        print(f"| {name} | {tp}/{len(pos)} | {tn}/{len(neg)} | {prec:.3f} | {tp / len(pos):.3f} | "
              + " / ".join(f"{a:.3f}" for a in aucs) + " |")


def auc(pos, neg) -> float:
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if not len(pos) or not len(neg):
        return float("nan")
    return float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))


def grid(g, ch) -> None:
    keys = list(g)
    print("| w | mismatch | " + " | ".join(keys) + " |\n" + "|---" * (2 + len(keys)) + "|")
    for w in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5):
        for mm in (1.0, 0.25, 0.1, 0.0):
            if w == 0 and mm != 1.0:
                continue
            fusion.LEXICAL_WEIGHT, fusion.LANGUAGE_MISMATCH = w, mm
            cells = [f"{evaluate(METHODS['**hybrid (default)**'], g[k], ch)['R@1']:.3f}" for k in keys]
            print(f"| {w} | {mm} | " + " | ".join(cells) + " |", flush=True)


def threshold_sweep(runs, ch) -> None:
    """Share of answerable questions kept and off-topic ones declined per threshold, for questions in the
    corpus's script and for questions in another script (English over Korean)."""
    rows = []
    for r in runs:
        if r.split != "tune":
            continue
        mismatch = fusion.language_mismatch(r.query, ch[r.corpus])
        group = "KorQuAD" if r.corpus == "korquad" else ("own, other script" if mismatch else "own, same script")
        rows.append((group, r.kind != "offtopic", fused(r, ch[r.corpus])[0].parts["evidence"]))
    names = ["own, same script", "own, other script", "KorQuAD"]
    print("\n| threshold | " + " | ".join(f"{n}: kept / declined" for n in names) + " |\n|---" * 1 + "|---" * 3 + "|")
    for t in np.arange(0.80, 0.95, 0.01):
        cells = []
        for n in names:
            pos = np.array([s for g, a, s in rows if g == n and a])
            neg = np.array([s for g, a, s in rows if g == n and not a])
            cells.append(f"{np.mean(pos >= t):.3f} / {np.mean(neg < t):.3f}" if len(pos) and len(neg) else "-")
        print(f"| {t:.2f} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", action="store_true", help="R@1 over a grid of LEXICAL_WEIGHT x LANGUAGE_MISMATCH")
    ap.add_argument("--thresholds", action="store_true", help="sweep RELEVANCE_THRESHOLD")
    ap.add_argument("--no-korquad", action="store_true")
    args = ap.parse_args()
    runs, ch = load(not args.no_korquad)
    g = groups(runs)
    if args.grid:
        grid(g, ch)
        return
    if args.thresholds:
        threshold_sweep(runs, ch)
        return
    for gname, rs in g.items():
        print(f"\n**{gname}** ({len(rs)} questions)\n\n{TABLE_HEAD}")
        for mname, m in METHODS.items():
            print(fmt_row(mname, evaluate(m, rs, ch)))
        sys.stdout.flush()
    signal_table(runs, ch)


if __name__ == "__main__":
    main()
