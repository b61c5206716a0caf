"""The extractive answerer's choices re-run in seconds: each question's passages recorded once.

    python benchmarks/quality/extractive_lab.py record --split tune      # search once per question (needs real_eval's indexes)
    python benchmarks/quality/extractive_lab.py run                      # the shipped settings
    python benchmarks/quality/extractive_lab.py run --set answer.backends.extractive.MAX_SENTENCES=2
    python benchmarks/quality/extractive_lab.py run --show               # each miss with its answer

`extractive_eval.py --real` asks through `Index.ask` end to end; what the answerer does after the
search (split, score, choose, decline) depends only on the question and its passages, so `record`
keeps those (and whether the relevance signal declined) in $HYBRID_CACHE/extractive_lab.pkl and
`run` hands them to the real `ExtractiveAnswerer`, with the embedder's vectors cached by text.
Graded as extractive_eval grades (`holds`); the same figures as it for the shipped settings.
Never record the blind set: it is for reporting only.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import extractive_eval  # noqa: E402
import real_eval  # noqa: E402

RECORD = real_eval.CACHE / "extractive_lab.pkl"
VECTORS = real_eval.CACHE / "extractive_lab_vectors.pkl"


def record(split: str) -> None:
    from embedsearch.answer import LLMConfig

    questions = [q for q in real_eval.load_questions(real_eval.QUESTIONS) if split == "all" or q.split == split]
    rows = []
    for corpus in dict.fromkeys(q.corpus for q in questions):
        with real_eval.open_index(corpus) as ix:
            for q in (q for q in questions if q.corpus == corpus):
                prepared = ix.prepare_answer(q.q, llm=LLMConfig(backend="extractive"))
                rows.append((q, prepared.declined, prepared.passages))
    real_eval.CACHE.mkdir(parents=True, exist_ok=True)
    RECORD.write_bytes(pickle.dumps(rows))
    print(f"{len(rows)} questions recorded in {RECORD}")


class CachedEmbedder:
    """The index's embedder, each text embedded once across runs (the bundled model loads only for new texts)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str], np.ndarray] = pickle.loads(VECTORS.read_bytes()) if VECTORS.exists() else {}
        self.model = None
        self.new = 0

    def _embed(self, kind: str, texts) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self.cache))
        if missing:
            if self.model is None:
                from embedsearch import Index

                corpus = next(iter(sorted(p.name for p in real_eval.INDEXES.glob("ix-*"))))
                self.model = Index(real_eval.INDEXES / corpus).embedder
            embed = self.model.embed_queries if kind == "q" else self.model.embed_passages
            for text, vector in zip(missing, embed(missing)):
                self.cache[kind, text] = np.asarray(vector, dtype=np.float32)
            self.new += len(missing)
        return np.stack([self.cache[kind, t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def embed_queries(self, texts):
        return self._embed("q", list(texts))

    def embed_passages(self, texts):
        return self._embed("p", list(texts))

    def save(self) -> None:
        if self.new:
            VECTORS.write_bytes(pickle.dumps(self.cache))


def run(show: bool, sweep: bool) -> dict:
    from embedsearch.answer.backends.extractive import ExtractiveAnswerer
    from embedsearch.answer.pipeline import decline_text

    rows = pickle.loads(RECORD.read_bytes())
    embedder = CachedEmbedder()
    graded, best = [], []
    for q, signal_declined, passages in rows:
        answerer = ExtractiveAnswerer(embedder)
        answerer.bind(q.q, passages)
        if signal_declined:
            answer = SimpleNamespace(text=decline_text(q.q), citations=[], declined=True)
        else:
            text = "".join(answerer.stream(""))
            answer = SimpleNamespace(text=text, citations=answerer.cite(text), declined=answerer.declined)
        root = real_eval.CORPORA / q.corpus
        ok = q.type != "none" and not answer.declined and extractive_eval.holds(q, root, answer)
        graded.append((q, answer, ok))
        best.append(answerer.best_score)
        if show and q.type != "none" and not ok:
            print(f"{'dec' if answer.declined else '-- '} {q.id} [{q.type}] {q.q}\n     want {q.file}:{q.lines} {q.snippet or ''}")
            print(f"     got  {answer.text[:400]}")
            for c in answer.citations:
                print(f"          [{c.number}] {real_eval.relative(c.path, root)}:{c.line_start}-{c.line_end}")
            for rank, hit in enumerate(passages, 1):
                mark = "*" if real_eval.hit_answers(q, root, hit) else " "
                print(f"       {mark}p{rank} {hit.kind} {real_eval.relative(hit.path, root)}:{hit.line_start}-{hit.line_end}")
    embedder.save()
    answerable = [r for r in graded if r[0].type != "none"]
    none = [r for r in graded if r[0].type == "none"]
    figures = {
        "holds": f"{sum(ok for _, _, ok in answerable)}/{len(answerable)}",
        "holds_answer": round(sum(ok for _, _, ok in answerable) / max(1, len(answerable)), 3),
        "answerable_declined": round(sum(a.declined for _, a, _ in answerable) / max(1, len(answerable)), 3),
        "declines": f"{sum(a.declined for _, a, _ in none)}/{len(none)}",
        "declined": round(sum(a.declined for _, a, _ in none) / max(1, len(none)), 3),
        "sentences_per_answer": round(sum(len(a.citations) for _, a, _ in graded if not a.declined)
                                      / max(1, sum(not a.declined for _, a, _ in graded)), 2),
        "passage_in_top5": sum(any(real_eval.hit_answers(q, real_eval.CORPORA / q.corpus, h) for h in p)
                               for q, _, p in rows if q.type != "none"),
    }
    if sweep:
        cross = [q.lang == "en" for q, _, _ in graded]
        for name, pick in (("same script", False), ("cross script (English questions)", True)):
            print(name)
            extractive_eval.sweep([r for r, c in zip(graded, cross) if c == pick],
                                  [b for b, c in zip(best, cross) if c == pick])
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=("record", "run"))
    ap.add_argument("--split", choices=("tune", "heldout", "all"), default="tune", help="record: which questions")
    ap.add_argument("--show", action="store_true", help="run: each answerable question missed")
    ap.add_argument("--sweep", action="store_true", help="run: holds/declines over decline thresholds")
    ap.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE")
    args = ap.parse_args()
    real_eval.apply_overrides(args.set)
    if args.command == "record":
        record(args.split)
    else:
        print(json.dumps(run(args.show, args.sweep), indent=1))


if __name__ == "__main__":
    main()
