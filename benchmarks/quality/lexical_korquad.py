"""Which tokenisation should feed the FTS5 (BM25) index? Measured on KorQuAD 1.0 dev (964 passages, 5,774 questions).

    python benchmarks/quality/lexical_korquad.py [--limit N]

Each variant builds an in-memory FTS5 table (unicode61 over space-joined tokens, ranked by bm25())
and ranks every question by an OR of its quoted tokens. "title column x2" is what
embedsearch.store.fts does: title in its own column, weighted 2 in bm25(). Latency =
tokenising the query + the FTS5 query for the top 100, one thread, on a shared 2-core machine.
Kiwi (kiwipiepy, optional) is only needed for the Kiwi rows.
"""
from __future__ import annotations

import argparse
import re
import sqlite3
import time
from functools import lru_cache
from typing import Callable

from common import TABLE_HEAD, fmt_row, korquad, metrics

from embedsearch import tokens as tokenize
from embedsearch.store import fts as lexical

# Kiwi part-of-speech tags kept as content: nouns, numerals, pronouns, verb/adjective stems, roots,
# adverbs, foreign words (SL), Hanja (SH), numbers (SN).
KIWI_CONTENT = ("NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "MAG", "SL", "SH", "SN")
KIWI_NOUNS = ("NNG", "NNP", "NNB", "NR", "NP", "SL", "SH", "SN", "XR")


@lru_cache(maxsize=1)
def kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


def kiwi_tokens(text: str, keep: tuple[str, ...] = KIWI_CONTENT) -> list[str]:
    out = []
    for tok in kiwi().tokenize(text):
        if tok.tag.split("-")[0] in keep:  # "VV-R" (regular verb) -> "VV"
            out.extend(tokenize.tokens(tok.form) if not tokenize._NGRAM_SCRIPT.match(tok.form) else [tok.form])
    return out


VARIANTS: list[tuple[str, Callable[[str], list[str]] | None, str]] = [
    # name, tokens function (None = FTS5's trigram tokenizer on raw text), layout
    ("char bigrams, text only", tokenize.tokens, "body"),
    ("char bigrams, title + text in one column", tokenize.tokens, "concat"),
    ("char bigrams, title column x2 (default)", tokenize.tokens, "columns"),
    ("Kiwi morphemes (content tags), title + text", kiwi_tokens, "concat"),
    ("Kiwi nouns/SL/SN/SH/XR, title + text", lambda t: kiwi_tokens(t, KIWI_NOUNS), "concat"),
    ("Kiwi morphemes + char bigrams, title + text", lambda t: kiwi_tokens(t) + tokenize.tokens(t), "concat"),
    ("FTS5 trigram tokenizer on raw title + text", None, "concat"),
]


def trigram_query(q: str) -> str | None:
    grams = {w[i:i + 3] for w in re.findall(r"\w+", q.lower()) for i in range(max(len(w) - 2, 0))}
    return " OR ".join('"' + g.replace('"', '""') + '"' for g in sorted(grams)) or None


def quoted_or(toks: list[str]) -> str | None:
    toks = list(dict.fromkeys(toks))[: lexical.MAX_QUERY_TOKENS]
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in toks) or None


def run_variant(corpus, queries, tokens_fn, layout, k=100):
    conn = sqlite3.connect(":memory:")
    tokenizer = "trigram" if tokens_fn is None else lexical.TOKENIZER
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(context, body, tokenize='{tokenizer}')")
    tok = (lambda s: s) if tokens_fn is None else (lambda s: " ".join(tokens_fn(s)))
    t0 = time.perf_counter()
    rows = []
    for i, d in enumerate(corpus):
        if layout == "body":
            rows.append((i, "", tok(d["text"])))
        elif layout == "concat":
            rows.append((i, "", tok(d["title"] + "\n" + d["text"])))
        else:
            rows.append((i, tok(d["title"]), tok(d["text"])))
    conn.executemany("INSERT INTO t(rowid, context, body) VALUES (?, ?, ?)", rows)
    index_s = time.perf_counter() - t0
    rank = f"bm25(t, {lexical.CONTEXT_WEIGHT}, 1.0)" if layout == "columns" else "bm25(t)"
    results, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        m = trigram_query(q["text"]) if tokens_fn is None else quoted_or(tokens_fn(q["text"]))
        hits = conn.execute(f"SELECT rowid, {rank} s FROM t WHERE t MATCH ? ORDER BY s LIMIT ?", (m, k)).fetchall() \
            if m else []
        times.append(time.perf_counter() - t0)
        results.append(hits)
    times.sort()
    return results, index_s, times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions")
    ap.add_argument("--no-kiwi", action="store_true", help="skip the Kiwi rows (slow; needs kiwipiepy)")
    args = ap.parse_args()
    corpus, queries, qrels = korquad()
    if args.limit:
        queries = queries[: args.limit]
    ids = [d["_id"] for d in corpus]
    head, rule = TABLE_HEAD.splitlines()
    print(head + " index s | query ms p50 / p95 |\n" + rule + "---|---|")
    for name, tokens_fn, layout in VARIANTS:
        if args.no_kiwi and "Kiwi" in name:
            continue
        results, index_s, times = run_variant(corpus, queries, tokens_fn, layout)
        m = metrics([[ids[i] for i, _ in r] for r in results], [{qrels[q["_id"]]} for q in queries])
        p50, p95 = times[len(times) // 2] * 1000, times[int(len(times) * 0.95)] * 1000
        print(fmt_row(name, m, f" {index_s:.1f} | {p50:.1f} / {p95:.1f} |"), flush=True)


if __name__ == "__main__":
    main()
