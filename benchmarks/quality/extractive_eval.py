"""Offline `ask` (no LLM: the extractive answerer) on questions whose answering lines are known.

    python benchmarks/quality/extractive_eval.py                       # sample posts (data/posts), 42 questions
    python benchmarks/quality/extractive_eval.py --real --split tune   # questions_real.jsonl over ../shared/corpus-real
    python benchmarks/quality/extractive_eval.py --blind               # the blind set: report only, never tune on it
    python benchmarks/quality/extractive_eval.py --show                # every question with its answer

An answer "holds the answer" when one of its cited sentences overlaps the question's answering
lines in the expected file (or its text holds the question's snippet). Reported: that share over
answerable questions, the share declined of questions the posts don't answer (type "none"),
and how often an answerable question was declined. The sample posts are indexed into a temp
folder; the real corpora use real_eval.py's indexes ($REAL_INDEX, default $TMPDIR/real_eval).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import real_eval  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "posts"
SAMPLE_QUESTIONS = REPO / "benchmarks" / "data" / "sample_posts_questions.jsonl"


def sample_questions() -> list[real_eval.Question]:
    out = []
    for i, line in enumerate(open(SAMPLE_QUESTIONS, encoding="utf-8")):
        row = json.loads(line)
        out.append(real_eval.Question(id=f"sample-{i:03d}", corpus="sample", q=row["question"], lang=row["lang"],
                                      type="paraphrase", answer="prose", split="tune", file=row["path"],
                                      lines=(row["line"], row["line"])))
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def holds(q: real_eval.Question, root: Path, answer) -> bool:
    if q.snippet and squash(q.snippet) in squash(answer.text):
        return True
    for c in answer.citations:
        rel = real_eval.relative(c.path, root)
        if rel == q.file and q.lines and c.line_start <= q.lines[1] and c.line_end >= q.lines[0]:
            return True
    return False


BEST: list[float | None] = []  # the best sentence's score of each answer, for --sweep


def _record_best_scores() -> None:
    from embedsearch.answer.backends import extractive

    stream = extractive.ExtractiveAnswerer.stream

    def recording(self, prompt):
        yield from stream(self, prompt)
        BEST[-1] = self.best_score

    extractive.ExtractiveAnswerer.stream = recording


def sweep(rows, best: list[float | None]) -> None:
    """Holds/declines if answers whose best sentence scores below t were declined too."""
    for t in [None] + [round(0.80 + 0.005 * i, 3) for i in range(31)]:
        kept = [(q, a, ok) for (q, a, ok), b in zip(rows, best) if t is None or a.declined or (b is not None and b >= t)]
        dropped = {id(a) for _, a, _ in rows} - {id(a) for _, a, _ in kept}
        answerable = [r for r in rows if r[0].type != "none"]
        none = [r for r in rows if r[0].type == "none"]
        holds = sum(ok and id(a) not in dropped for _, a, ok in answerable) / max(1, len(answerable))
        declined = sum(a.declined or id(a) in dropped for _, a, _ in none) / max(1, len(none))
        wrong = sum(a.declined or id(a) in dropped for _, a, _ in answerable) / max(1, len(answerable))
        print(f"decline below {t}: holds {holds:.3f}  unanswerable declined {declined:.3f}  answerable declined {wrong:.3f}")


def run(questions, roots: dict[str, Path], indexes: dict[str, Path], show: bool) -> dict:
    from embedsearch import Index
    from embedsearch.answer import LLMConfig

    rows = []
    for corpus in dict.fromkeys(q.corpus for q in questions):
        with Index(indexes[corpus]) as ix:
            for q in (q for q in questions if q.corpus == corpus):
                BEST.append(None)
                answer = ix.ask(q.q, llm=LLMConfig(backend="extractive"))
                ok = q.type != "none" and not answer.declined and holds(q, roots[corpus], answer)
                rows.append((q, answer, ok))
                if show:
                    mark = "ok " if ok else ("dec" if answer.declined else "-- ")
                    print(f"{mark} {q.id} {q.q}\n     want {q.file}:{q.lines}\n     got  {answer.text[:300]}")
                    for c in answer.citations:
                        print(f"          [{c.number}] {real_eval.relative(c.path, roots[corpus])}:{c.line_start}-{c.line_end}")
    answerable = [r for r in rows if r[0].type != "none"]
    none = [r for r in rows if r[0].type == "none"]
    figures = {
        "answerable": len(answerable),
        "holds_answer": sum(ok for _, _, ok in answerable) / max(1, len(answerable)),
        "answerable_declined": sum(a.declined for _, a, _ in answerable) / max(1, len(answerable)),
        "unanswerable": len(none),
        "declined": sum(a.declined for _, a, _ in none) / max(1, len(none)),
    }
    figures["_rows"] = rows
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", action="store_true", help="questions_real.jsonl over ../shared/corpus-real")
    ap.add_argument("--blind", action="store_true", help="questions_blind.jsonl over ../shared/corpus-real")
    ap.add_argument("--split", default="all")
    ap.add_argument("--corpus", action="append")
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="holds/declines over decline thresholds (cross-script questions apart)")
    ap.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE",
                    help="override a constant, e.g. answer.backends.extractive.CONTEXT=none")
    args = ap.parse_args()
    real_eval.apply_overrides(args.set)
    if args.real or args.blind:
        questions = [q for q in real_eval.load_questions(real_eval.BLIND if args.blind else real_eval.QUESTIONS)
                     if (args.split == "all" or q.split == args.split) and (not args.corpus or q.corpus in args.corpus)]
        corpora = list(dict.fromkeys(q.corpus for q in questions))
        for corpus in corpora:
            real_eval.open_index(corpus).close()  # brought up to date
        roots = {c: real_eval.CORPORA / c for c in corpora}
        indexes = {c: real_eval.INDEXES / f"ix-{c}" for c in corpora}
    else:
        from embedsearch import Index

        questions = sample_questions()
        folder = Path(tempfile.mkdtemp(prefix="extractive-eval-"))
        with Index(folder / "ix", create=True) as ix:
            ix.add(SAMPLE)
        roots, indexes = {"sample": SAMPLE}, {"sample": folder / "ix"}
    if args.sweep:
        _record_best_scores()
    figures = run(questions, roots, indexes, args.show)
    rows = figures.pop("_rows")
    print(json.dumps(figures, indent=1))
    if args.sweep:
        cross = [q.lang == "en" for q, _, _ in rows]
        for name, pick in (("same script", False), ("cross script (English questions)", True)):
            print(name)
            sweep([r for r, c in zip(rows, cross) if c == pick], [b for b, c in zip(BEST, cross) if c == pick])


if __name__ == "__main__":
    main()
