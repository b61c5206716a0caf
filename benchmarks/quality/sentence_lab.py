"""Sentence-level evidence, measured: which sentence vectors, and which mix with the passage's score.

    python benchmarks/quality/sentence_lab.py record            # tune split: candidates + sentence cosines
    python benchmarks/quality/sentence_lab.py run               # the mixes over the recorded candidates

`record` searches each tuning question of questions_real.jsonl (never the blind set) with the
sentence term off (fusion.SENTENCE_WEIGHT = 0: today's fusion), keeps the top DEPTH candidates
with their score parts, and scores every sentence of every candidate against the query three
ways:

    late      the vector stored with the index: the mean of the sentence's tokens' last hidden
              states in its passage's own run (vectors/onnx_e5.py), free at indexing time
    late2     windows of two neighbouring sentences (the mean of their stored vectors)
    alone     the sentence embedded on its own as a passage (`passage: sentence`)
    heading   `passage: heading\\nsentence` (what the extractive answerer embeds)

(`alone` and `heading` cost a second embedding of every sentence: about twice the indexing.)
`run` reranks each candidate list by `fused + w * (best - cosine)` and by the max-sim form
`fused + w * max(0, best - cosine)`, for each kind of sentence vector, and reports passage hit@1,
hit@5 and how often the best sentence of the answering passage lies on the answer's lines.
Uses the indexes real_eval.py builds ($REAL_INDEX).
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import real_eval  # noqa: E402

DEPTH = 20
OUT = real_eval.CACHE / "sentence_lab.pkl"


def record(split: str) -> None:
    from embedsearch.search import evidence, fusion
    from embedsearch.sentences import spans

    fusion.SENTENCE_WEIGHT = 0.0
    questions = [q for q in real_eval.load_questions() if q.split == split and q.type != "none"]
    runs = []
    by_corpus: dict[str, list] = {}
    for q in questions:
        by_corpus.setdefault(q.corpus, []).append(q)
    for corpus, qs in by_corpus.items():
        root = real_eval.CORPORA / corpus
        ix = real_eval.open_index(corpus, update=False)
        engine = ix.engine
        cache = real_eval.QueryCache(engine._embed_query, ix.embedder.identity)
        engine._embed_query = cache
        embedder = ix.embedder
        # each chunk's cosine to its document's mean vector: how generic (an introduction, a
        # summary) or specific a passage is within its post
        by_doc: dict[str, list[tuple[int, np.ndarray]]] = {}
        for batch in ix.store.vector_rows():
            for row in batch:
                by_doc.setdefault(row.path, []).append((row.id, row.vector))
        generic: dict[int, float] = {}
        for items in by_doc.values():
            matrix = np.stack([v for _, v in items])
            centre = matrix.mean(axis=0)
            centre /= np.linalg.norm(centre) or 1.0
            generic.update({cid: float(v @ centre) for (cid, _), v in zip(items, matrix)})
        known: dict[str, np.ndarray] = {}

        def embed(texts: list[str]) -> np.ndarray:
            """Passage vectors of `texts`, each text embedded once per corpus."""
            todo = [t for t in dict.fromkeys(texts) if t not in known]
            if todo:
                known.update(zip(todo, embedder.embed_passages(todo)))
            return np.stack([known[t] for t in texts]) if texts else np.zeros((0, embedder.dim), np.float32)
        for n, q in enumerate(qs):
            hits = ix.search(q.q, k=DEPTH)
            qv = cache(q.q).reshape(-1)
            rows = ix.store.chunk_rows([h.chunk_id for h in hits])
            late = evidence.Sentences(rows, qv)
            cands = []
            for h in hits:
                sp = spans(h.text, h.line_start, h.line_end, h.kind)
                texts = [h.text[s.start:s.end] for s in sp]
                head = ([p for p in h.heading.split(" > ") if p] or [h.title])[-1].lstrip("#").strip()
                alone = embed(texts) @ qv
                heading = embed([f"{head}\n{t}" for t in texts]) @ qv
                got = late.scores(h.chunk_id)
                # windows of two neighbouring sentences: the mean of their stored vectors
                row = rows.get(h.chunk_id)
                pairs: list[float] = []
                if got and row is not None and len(got[0]) > 1:
                    matrix = np.frombuffer(row["sentence_vectors"], dtype=np.float16).astype(np.float32)
                    matrix = matrix.reshape(len(got[0]), -1)
                    both = matrix[:-1] + matrix[1:]
                    pairs = ((both / np.linalg.norm(both, axis=1, keepdims=True)) @ qv).tolist()
                cands.append({
                    "id": h.chunk_id, "path": h.path, "line": h.line_start, "generic": generic.get(h.chunk_id, 0.0),
                    "sentences": texts, "text": h.text,
                    "answers": real_eval.hit_answers(q, root, h), "file": real_eval.hit_in_file(q, root, h),
                    "fused": h.score, "cosine": h.scores.get("dense") if h.scores.get("dense") == h.scores.get("dense")
                    else h.scores.get("cosine", 0.0), "coverage": h.scores.get("coverage", 0.0),
                    "lines": [(s.line_start, s.line_end) for s in sp],
                    "late": got[1].tolist() if got else [], "late2": pairs, "alone": alone.tolist(), "heading": heading.tolist(),
                })
            runs.append({"id": q.id, "lines": q.lines, "type": q.type, "cands": cands})
            if n % 20 == 0:
                print(f"{corpus} {n}/{len(qs)}", file=sys.stderr)
        cache.save()
        ix.close()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(pickle.dumps(runs))
    print(f"recorded {len(runs)} questions -> {OUT}")


def rank_of(run: dict, key) -> int | None:
    order = sorted(range(len(run["cands"])), key=lambda i: -key(run["cands"][i]))
    return next((r for r, i in enumerate(order, 1) if run["cands"][i]["answers"]), None)


def evaluate(runs: list[dict], key) -> tuple[float, float]:
    ranks = [rank_of(r, key) for r in runs]
    n = len(runs)
    return sum(r == 1 for r in ranks) / n, sum(r is not None and r <= 5 for r in ranks) / n


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "record":
        record(sys.argv[2] if len(sys.argv) > 2 else "tune")
        return
    runs = pickle.loads(OUT.read_bytes())
    base = evaluate(runs, lambda c: c["fused"])
    print(f"{len(runs)} questions; today's fusion hit@1 {base[0]:.3f} hit@5 {base[1]:.3f}")
    present = sum(any(c["answers"] for c in r["cands"]) for r in runs)
    print(f"answering passage within the top {DEPTH}: {present}")
    for kind in ("late", "late2", "alone", "heading"):
        if kind not in runs[0]["cands"][0]:
            continue
        def best(c, kind=kind):
            return max(c[kind]) if c[kind] else c["cosine"]
        line = []
        for w in (0.25, 0.5, 0.75, 1.0):
            h1, h5 = evaluate(runs, lambda c, w=w: c["fused"] + w * (best(c) - c["cosine"]))
            line.append(f"w{w}: {h1:.3f}/{h5:.3f}")
        for w in (0.25, 0.5, 1.0):
            h1, h5 = evaluate(runs, lambda c, w=w: c["fused"] + w * max(0.0, best(c) - c["cosine"]))
            line.append(f"max{w}: {h1:.3f}/{h5:.3f}")
        print(f"{kind:8s} " + "  ".join(line))
        # the answering passage's best sentence on the answer's lines
        good = total = 0
        for r in runs:
            for c in r["cands"]:
                if c["answers"] and c[kind]:
                    i = int(np.argmax(c[kind]))
                    a, b = (c["lines"][i][0], c["lines"][i + 1][1]) if kind == "late2" else c["lines"][i]
                    total += 1
                    good += a <= r["lines"][1] and r["lines"][0] <= b
                    break
        print(f"{'':8s} best sentence of the answering passage on the answer's lines: {good}/{total}")
    # how generic a passage is within its post (cosine to the post's mean vector), as a penalty
    if runs and "generic" in runs[0]["cands"][0]:
        line = []
        for g in (0.02, 0.05, 0.1, 0.2):
            h1, h5 = evaluate(runs, lambda c, g=g: c["fused"] - g * c["generic"])
            line.append(f"g{g}: {h1:.3f}/{h5:.3f}")
        print("generic  " + "  ".join(line))
        from embedsearch.tokens import tokens

        questions = {q.id: q.q for q in real_eval.load_questions()}
        for r in runs:
            wanted = set(tokens(questions[r["id"]]))
            for c in r["cands"]:
                c["sentence_coverage"] = max((len(wanted & set(tokens(t))) / len(wanted) for t in c["sentences"]),
                                             default=0.0) if wanted else 0.0
        line = []
        for w in (0.02, 0.05, 0.1):
            h1, h5 = evaluate(runs, lambda c, w=w: c["fused"] + w * c["sentence_coverage"])
            line.append(f"cov{w}: {h1:.3f}/{h5:.3f}")
        print("sentcov  " + "  ".join(line))


if __name__ == "__main__":
    main()
