"""English words in the lexical index: does folding plurals (S-stemmer) or dropping stop words help?

    python benchmarks/quality/english_tokens.py

Lexical-only and hybrid R@1 / nDCG@10 on the hand-written sets (KorQuAD has almost no English),
with the default tokeniser, without the plural folding, and without the stop-word list.
"""
from __future__ import annotations

import datasets
import fuse_eval as fe

from embedsearch import tokens as tokenize
from embedsearch.store import fts as lexical


def run(label: str) -> None:
    runs, ch = fe.load(with_korquad=False)
    print(f"\n**{label}**\n\n| set | lexical R@1 / nDCG@10 | hybrid R@1 / nDCG@10 |\n|---|---|---|")
    for name, rs in fe.groups(runs).items():
        lex = fe.evaluate(fe.METHODS["lexical (FTS5 BM25, char bigrams)"], rs, ch)
        hyb = fe.evaluate(fe.METHODS["**hybrid (default)**"], rs, ch)
        print(f"| {name} | {lex['R@1']:.3f} / {lex['nDCG@10']:.3f} | {hyb['R@1']:.3f} / {hyb['nDCG@10']:.3f} |")


def main() -> None:
    datasets.cached_lexical = lambda name, conn, qs: [(lexical.search(conn, q, datasets.TOP),
                                                       lexical.ideal_score(conn, q)) for q in qs]
    stem, stop = tokenize.s_stem, tokenize.ENGLISH_STOPWORDS
    run("default: plurals folded, stop words dropped")
    tokenize.s_stem = lambda w: w
    run("no plural folding")
    tokenize.s_stem, tokenize.ENGLISH_STOPWORDS = stem, frozenset()
    run("no stop-word list")
    tokenize.ENGLISH_STOPWORDS = stop


if __name__ == "__main__":
    main()
