"""Ranking experiments without re-running the search engine: every query's candidates recorded once.

    python benchmarks/quality/rank_lab.py record          # real blogs + AutoRAG-ko + KorQuAD (cached)
    python benchmarks/quality/rank_lab.py compare         # the current fusion vs the variants below
    python benchmarks/quality/rank_lab.py grid NAME=v1,v2 ...

For each question it records what the hybrid search sees: the dense top 100 (exact cosine over
the index's own stored vectors, what FAISS returns) and the lexical top 100 (the index's FTS5
table), the query's ideal BM25 score, and per candidate its document, kind and text hash. A
ranking function then re-orders those candidates in microseconds, so a variant is scored on
all sets in seconds. Whatever wins here is implemented in embedsearch/search and confirmed end
to end with real_eval.py and `embedsearch eval`.

Sets: the real-blog questions (questions_real.jsonl, graded as real_eval.py grades), AutoRAG-ko
(../shared/eval/autorag-ko) and KorQuAD 1.0 dev (converted to BEIR in $KORQUAD_BEIR), both
through the index `embedsearch eval` caches. Query vectors are cached (real_eval's cache for
the real sets).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import pickle
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from real_eval import CACHE, CORPORA, INDEXES, QueryCache, answers, load_questions, open_index  # noqa: E402

from embedsearch.search import fusion  # noqa: E402

TOP = 100
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


@dataclass
class Cand:
    cid: int
    doc: int
    kind: str
    text_hash: str
    dense: float | None
    bm25: float
    letters: float = 1.0  # share of letters among the text's non-space characters (output dumps: low)
    language: str = ""
    chars: int = 0  # length of the passage text
    cos: float = 0.0  # the exact cosine, also for a chunk only BM25 found
    hangul: float = 0.0  # share of the text's letters that are Hangul
    doc_cos: float = 0.0  # cosine of the query and the post's mean passage vector
    title_cos: float = 0.0  # cosine of the query and the post's title (embedded as a passage)


@dataclass
class QRun:
    set: str  # "lovit", "meme2515", "taewan-html", "autorag", "korquad"
    qid: str
    query: str
    qtype: str  # real sets: paraphrase/term/crossterm/english/none; BEIR sets: "beir"
    answer: str | None
    split: str
    ideal: float
    corpus_hangul: float | None
    cands: list[Cand]
    good: set = field(default_factory=set)  # chunk ids that answer; real sets also by text hash
    good_hashes: set = field(default_factory=set)
    doc_of_good: set = field(default_factory=set)  # BEIR: relevant document ids (index doc ids)
    extra: dict = field(default_factory=dict)


def _corpus_tables(db):
    rows = db.conn.execute(
        "SELECT chunks.id, chunks.document_id, documents.path, chunks.line_start, chunks.line_end, chunks.kind,"
        " chunks.text_hash, chunks.text, chunks.vector, chunks.language FROM chunks JOIN documents ON documents.id = chunks.document_id"
        " ORDER BY chunks.id").fetchall()
    ids = np.array([r[0] for r in rows])
    vecs = np.stack([np.frombuffer(r[8], dtype=np.float32) for r in rows])
    info = {r[0]: (*r[:8], letter_share(r[7]), r[9], fusion.hangul_share(r[7] or "")) for r in rows}
    return ids, vecs, info


def letter_share(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(c.isalpha() for c in chars) / len(chars) if chars else 0.0


def _record(ix, name: str, queries: list[tuple], embed) -> list[QRun]:
    """queries: (qid, text, qtype, answer, split, good_fn) where good_fn(info_row) -> bool."""
    db = ix.engine.db
    ids, vecs, info = _corpus_tables(db)
    index = {int(c): i for i, c in enumerate(ids)}
    docs = sorted({row[1] for row in info.values()})
    doc_row = {d: i for i, d in enumerate(docs)}
    doc_vecs = np.zeros((len(docs), vecs.shape[1]), dtype=np.float32)
    for i, cid in enumerate(ids):
        doc_vecs[doc_row[info[int(cid)][1]]] += vecs[i]
    doc_vecs /= np.linalg.norm(doc_vecs, axis=1, keepdims=True)
    titles = dict(db.conn.execute("SELECT id, title FROM documents").fetchall())
    title_vecs = np.asarray(ix.embedder.embed_passages([titles[d] or "" for d in docs]), dtype=np.float32)
    ch = db.meta().get("corpus_hangul")
    ch = float(ch) if ch else None
    runs = []
    for n, (qid, text, qtype, answer, split, good_fn) in enumerate(queries):
        qv = embed(text)
        sims = vecs @ qv
        top = np.argsort(-sims)[:TOP]
        dense = {int(ids[i]): float(sims[i]) for i in top}
        lex = dict(db.lexical_search(text, TOP))
        dcos = doc_vecs @ qv
        tcos = title_vecs @ qv
        cands = [Cand(cid, info[cid][1], info[cid][5], info[cid][6], dense.get(cid), lex.get(cid, 0.0), info[cid][8],
                      info[cid][9], len(info[cid][7] or ""), float(sims[index[cid]]), info[cid][10],
                      float(dcos[doc_row[info[cid][1]]]), float(tcos[doc_row[info[cid][1]]]))
                 for cid in dict.fromkeys(list(dense) + list(lex))]
        good = {cid for cid, row in info.items() if good_fn(row)} if good_fn else set()
        run = QRun(name, qid, text, qtype, answer, split, db.lexical_ideal(text), ch, cands, good,
                   {info[c][6] for c in good if info[c][6]}, {info[c][1] for c in good})
        runs.append(run)
        if n % 200 == 0:
            print(f"\r{name}: {n}/{len(queries)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return runs


def record_real() -> list[QRun]:
    runs = []
    questions = load_questions()
    for corpus in dict.fromkeys(q.corpus for q in questions):
        root = CORPORA / corpus
        ix = open_index(corpus, update=False)
        try:
            cache = QueryCache(ix.engine._embed_query, ix.embedder.identity)
            qs = []
            for q in (q for q in questions if q.corpus == corpus):
                def good(row, q=q, root=root):
                    return q.type != "none" and answers(q, root, row[2], row[3], row[4], row[7])
                qs.append((q.id, q.q, q.type, q.answer, q.split, good))
            runs += _record(ix, corpus, qs, cache)
            cache.save()
        finally:
            ix.close()
    return runs


OWN_CORPORA = {"shared": SHARED / "corpus", "posts": Path(__file__).resolve().parents[2] / "data" / "posts"}


def record_own() -> list[QRun]:
    """questions_own.jsonl (the earlier hand-written sets) over ../shared/corpus and data/posts, indexed
    with the real engine; a chunk answers when it holds one of the question's substrings. Off-topic
    questions are asked of both corpora."""
    import re

    rows = [json.loads(line) for line in open(Path(__file__).with_name("questions_own.jsonl"), encoding="utf-8")]
    runs = []
    for name, folder in OWN_CORPORA.items():
        ix = open_index(name, update=False) if (Path(INDEXES) / f"ix-{name}").exists() else None
        if ix is None:
            from embedsearch import Index

            ix = Index(Path(INDEXES) / f"ix-{name}", create=True)
            ix.add(folder)
        try:
            cache = QueryCache(ix.engine._embed_query, ix.embedder.identity)
            squash = lambda t: re.sub(r"\s+", "", t)  # noqa: E731
            qs = []
            for r in rows:
                if r["kind"] != "offtopic" and r["corpus"] != name:
                    continue
                want = [squash(x) for x in r["relevant"]]
                qtype = "none" if r["kind"] == "offtopic" else f"own-{r['kind']}"
                qs.append((r["id"], r["q"], qtype, None, r.get("split", "tune"),
                           lambda row, want=want: any(w in squash(row[7] or "") for w in want)))
            runs += _record(ix, f"own-{name}", qs, cache)
            cache.save()
        finally:
            ix.close()
    return runs


def record_beir(name: str, path: Path, limit: int | None = None) -> list[QRun]:
    from embedsearch.evaluate import beir
    from embedsearch.evaluate.runner import SOURCE, prepare_index

    data = beir.load(path)
    ix, _ = prepare_index(data)
    try:
        cache = QueryCache(ix.engine._embed_query, ix.embedder.identity + name)
        qs = []
        for qid, text in list(data.queries.items())[:limit]:
            rel = {d for d, g in data.qrels[qid].items() if g > 0}
            qs.append((qid, text, "beir", None, "tune", lambda row, rel=rel: row[2].removeprefix(SOURCE) in rel))
        runs = _record(ix, name, qs, cache)
        cache.save()
    finally:
        ix.close()
    return runs


def lab_cache(name: str) -> Path:
    return CACHE / f"rank_lab-{name}.pkl"


def load(names=("real", "autorag", "korquad")) -> list[QRun]:
    runs = []
    for name in names:
        path = lab_cache(name)
        if not path.exists():
            sys.exit(f"{path} missing: run `rank_lab.py record` first")
        runs += pickle.loads(path.read_bytes())
    return runs


# --- ranking functions: (run, params) -> candidate list best first -----------------------------

def hybrid(run: QRun, p: dict) -> list[tuple[Cand, float]]:
    """fusion.fuse as shipped (the dense floor, coverage, language rule), plus the experimental terms."""
    k = p.get("candidates", 50)
    dense = sorted((c for c in run.cands if c.dense is not None), key=lambda c: -c.dense)[:k]
    lex = sorted((c for c in run.cands if c.bm25 > 0), key=lambda c: -c.bm25)[:k]
    pool = {c.cid: c for c in dense + lex}
    floor = min((c.dense for c in dense), default=0.0)
    info = fusion.QueryInfo(run.query, run.ideal, run.corpus_hangul)
    w = p.get("w", fusion.LEXICAL_WEIGHT) if run.ideal > 0 else 0.0
    if p.get("len_slope"):
        from embedsearch.store import fts

        n = len(fts.query_tokens(run.query))
        w += p["len_slope"] * min(max(n - p.get("len_from", 20), 0), p.get("len_span", 20))
    mismatch = fusion.language_mismatch(run.query, run.corpus_hangul)
    w_native = w * p.get("mm_native", 0.0)  # mismatch: weight for passages in the corpus language
    if mismatch:
        w *= p.get("mismatch", fusion.LANGUAGE_MISMATCH)
    lex_ids = {c.cid for c in lex}
    dense_ids = {c.cid for c in dense}
    scored = []
    for c in pool.values():
        in_dense = c.dense is not None and c.cid in dense_ids
        cos = c.dense if in_dense else (min(c.cos, floor) if p.get("exact") else floor)
        cov = (c.bm25 / run.ideal if run.ideal > 0 else 0.0) if c.cid in lex_ids else 0.0
        wc = w
        if mismatch and p.get("mm_native") and (c.hangul >= 0.5) == (run.corpus_hangul > 0.5):
            wc = w_native
        scored.append([c, cos + wc * cov, cos, cov])
    if p.get("doc_w") or p.get("title_w"):
        best_doc = max(s[0].doc_cos for s in scored) if scored else 0.0
        best_title = max(s[0].title_cos for s in scored) if scored else 0.0
        for s in scored:
            s[1] += p.get("doc_w", 0.0) * (s[0].doc_cos - best_doc) + p.get("title_w", 0.0) * (s[0].title_cos - best_title)
    if p.get("lang_bias") and fusion.language_mismatch(run.query, run.corpus_hangul) and not (
            p.get("lang_bias_code") and looks_like_code(run.query)):
        # an English question over Korean posts: e5 prefers the English passages whatever they say
        for s in scored:
            s[1] += p["lang_bias"] * (s[0].hangul - 0.5)
    if p.get("short"):
        for s in scored:
            s[1] -= p["short"] * max(0.0, 1 - s[0].chars / p.get("short_chars", 100))
    codeish = looks_like_code(run.query) or (p.get("code_words") and CODE_WORDS.search(run.query))
    if p.get("code_penalty") and not codeish:
        for s in scored:
            if s[0].kind == "code":
                s[1] -= p["code_penalty"]
    if p.get("post"):
        by_doc = defaultdict(list)
        for s in scored:
            by_doc[s[0].doc].append(s[1])
        best = max(s[1] for s in scored) if scored else 0.0
        for s in scored:
            others = sorted(by_doc[s[0].doc], reverse=True)
            support = post_support(others, s[1], best, p)
            s[1] += p["post"] * support
    scored.sort(key=lambda s: -s[1])
    if p.get("diverse"):
        # the n-th passage of a post pays n-1 times the penalty: other posts get a look in
        seen = defaultdict(int)
        for s in scored:
            s[1] -= p["diverse"] * seen[s[0].doc]
            seen[s[0].doc] += 1
        scored.sort(key=lambda s: -s[1])
    return [(s[0], s[1]) for s in scored]


def post_support(doc_scores: list[float], own: float, best: float, p: dict) -> float:
    """How much the rest of a passage's post agrees with the query (post-level signal variants)."""
    form = p.get("post_form", "second")
    rest = list(doc_scores)
    rest.remove(own)
    if form == "second":  # the post's best other passage, relative to the query's best hit
        return max(0.0, (rest[0] - best + p.get("post_margin", 0.1))) if rest else 0.0
    if form == "count":  # how many of the post's passages are within a margin of the best hit
        return sum(1 for s in rest if s >= best - p.get("post_margin", 0.05))
    if form == "mean2":
        top = sorted(doc_scores, reverse=True)[:2]
        return sum(top) / len(top) - best
    raise ValueError(form)


CODE_WORDS = fusion._CODE_WORDS  # the shipped rule's parts, so the lab can switch the words off


def looks_like_code(query: str) -> bool:
    """The code shapes of fusion.looks_like_code, without its words (the `code_words` variant adds them)."""
    return bool(fusion._CODE_SHAPE.search(query))


def rank_docs(run: QRun, ranked) -> list[int]:
    return list(dict.fromkeys(c.doc for c, _ in ranked))


def first_good(run: QRun, ranked) -> int | None:
    seen = set()
    rank = 0
    for c, _ in ranked:
        key = c.text_hash or c.cid
        if key in seen:
            continue
        seen.add(key)
        rank += 1
        if c.cid in run.good or (c.text_hash and c.text_hash in run.good_hashes):
            return rank
        if rank >= 10:
            return None
    return None


def evaluate(runs: list[QRun], fn, p: dict) -> dict[str, dict]:
    groups: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        if run.qtype == "none":
            continue
        ranked = fn(run, p)
        if run.qtype == "beir":
            docs = rank_docs(run, ranked)[:10]
            rel = run.doc_of_good
            dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(docs) if d in rel)
            idcg = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
            groups[run.set + " nDCG@10"].append(dcg / idcg if idcg else 0.0)
            groups[run.set + " R@1"].append(1.0 if docs and docs[0] in rel else 0.0)
            continue
        r = first_good(run, ranked)
        if run.set.startswith("own-"):
            for g in ("own", run.set):
                groups[g + " hit@1"].append(1.0 if r == 1 else 0.0)
                groups[g + " mrr"].append(1 / r if r else 0.0)
            continue
        if run.answer == "prose":
            top5 = list({(c.text_hash or c.cid): c for c, _ in ranked[:8]}.values())[:5]
            groups["code in top5 of prose"].append(sum(c.kind == "code" for c in top5) / 5)
        for g in (run.set, "real", f"real {run.qtype}", f"real {run.split}", f"real answer={run.answer}"):
            groups[g + " hit@1"].append(1.0 if r == 1 else 0.0)
            groups[g + " hit@5"].append(1.0 if r and r <= 5 else 0.0)
            groups[g + " mrr"].append(1 / r if r else 0.0)
    return {g: float(np.mean(v)) for g, v in groups.items()}


SHOW = ["real tune hit@1", "real tune hit@5", "real hit@1", "real hit@5", "real mrr", "real heldout hit@1", "real heldout hit@5", "real answer=prose hit@1",
        "real answer=prose hit@5", "code in top5 of prose",
        "lovit hit@5", "meme2515 hit@5", "taewan-html hit@5",
        "real paraphrase hit@5", "real crossterm hit@5", "real english hit@5", "real term hit@5",
        "real answer=code hit@5", "own hit@1", "own mrr", "autorag nDCG@10", "korquad R@1"]


def show(name: str, m: dict) -> None:
    print(f"| {name} | " + " | ".join(f"{m.get(k, float('nan')):.3f}" for k in SHOW) + " |", flush=True)


def header() -> None:
    print("| variant | " + " | ".join(SHOW) + " |\n|---|" + "---|" * len(SHOW))


# The ranking as shipped (embedsearch/search/fusion.py since the exact-cosine / long-query / corrections
# change), and as it was before it: `compare` prints both. The lab's defaults are the old rules, so
# every new term is switched on by name.
SHIPPED = dict(exact=1, w=fusion.LEXICAL_WEIGHT, len_slope=fusion.LONG_QUERY_STEP, len_from=fusion.LONG_QUERY_FROM,
               len_span=fusion.LONG_QUERY_SPAN, code_penalty=fusion.CODE_PENALTY, code_words=1,
               lang_bias=fusion.LANGUAGE_BIAS, short=fusion.SHORT_PENALTY, short_chars=fusion.SHORT_CHARS)
VARIANTS = {
    "before (w=0.2, dense floor, no corrections)": {"w": 0.2},
    "shipped": SHIPPED,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("record", "compare", "grid"))
    ap.add_argument("params", nargs="*")
    ap.add_argument("--sets", default="real,autorag,korquad")
    ap.add_argument("--fn", default="hybrid", help="ranking function: hybrid or an experiment (zfuse)")
    args = ap.parse_args()
    sets = args.sets.split(",")
    if args.what == "record":
        for name in sets:
            if name == "real":
                runs = record_real()
            elif name == "own":
                runs = record_own()
            elif name == "autorag":
                runs = record_beir("autorag", SHARED / "eval" / "autorag-ko")
            else:
                from common import KORQUAD_BEIR, korquad

                korquad()  # converts on first use
                runs = record_beir("korquad", KORQUAD_BEIR)
            lab_cache(name).write_bytes(pickle.dumps(runs))
        return
    runs = load(sets)
    header()
    if args.what == "compare":
        for name, p in VARIANTS.items():
            show(name, evaluate(runs, hybrid, p))
        return
    axes = []
    for spec in args.params:
        key, _, values = spec.partition("=")
        axes.append([(key, json.loads(v) if v[:1] in "0123456789.-[{tfn" else v) for v in values.split(",")])
    for combo in itertools.product(*axes):
        p = dict(combo)
        show(" ".join(f"{k}={v}" for k, v in combo), evaluate(runs, globals()[args.fn], p))


if __name__ == "__main__":
    import rank_lab  # pickled runs then name their classes rank_lab.QRun, loadable from anywhere

    rank_lab.main()


def zfuse(run: QRun, p: dict) -> list[tuple[Cand, float]]:
    """Experiment: each score standardised over the candidate pool, then mixed (a = lexical share)."""
    base = hybrid(run, {**p, "w": 0.0})
    pool = [c for c, _ in base]
    cos = np.array([c.cos for c in pool])
    cov = np.array([c.bm25 / run.ideal if run.ideal > 0 else 0.0 for c in pool])
    z = lambda x: (x - x.mean()) / (x.std() + 1e-9)  # noqa: E731
    a = p.get("a", 0.5)
    if fusion.language_mismatch(run.query, run.corpus_hangul) or run.ideal <= 0:
        a = 0.0
    s = (1 - a) * z(cos) + a * z(cov)
    order = np.argsort(-s)
    return [(pool[i], float(s[i])) for i in order]
