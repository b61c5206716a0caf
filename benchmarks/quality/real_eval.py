"""Retrieval on real blogs: the hand-written questions of questions_real.jsonl over ../shared/corpus-real.

    python benchmarks/quality/real_eval.py                     # hybrid, every set, README tables
    python benchmarks/quality/real_eval.py --mode all          # hybrid, dense and lexical side by side
    python benchmarks/quality/real_eval.py --split heldout     # only the questions held out from tuning
    python benchmarks/quality/real_eval.py --set fusion.CODE_PENALTY=0   # an experiment: override a constant
    python benchmarks/quality/real_eval.py --misses            # list the questions missed at rank 5
    python benchmarks/quality/real_eval.py --blind             # the blind set (questions_blind.jsonl)

The blind set was written by someone who saw neither the ranking code nor the other question
sets (benchmarks/quality/BLIND.md); it is for reporting only: never tune on it.

Each corpus is indexed with the real engine (`Index.add`, the tool as shipped) into
$REAL_INDEX/ix-<corpus> (default $TMPDIR/real_eval): the first run embeds (lovit's 4,000 chunks
take ~10 minutes on 2 busy cores), later runs only bring the index up to date. Query vectors
are cached in $HYBRID_CACHE/real_queries.npz, so ranking experiments re-run in seconds.

The grader: a hit answers a question when it comes from the expected file (or a file the
question lists in `also_files`, e.g. a page the blog published twice) and either its line span
overlaps the answer's `lines` (in the expected file) or its text holds the question's
`snippet` (whitespace ignored). A hit that stands for copies of a repeated paragraph counts for
every place in its `also` list. Per question: the rank of the first answering hit in the top 10;
hit@1, hit@5 and MRR@10 are means over questions. File-level hit@5 counts a question when any
of the top 5 hits comes from its file: the gap between it and passage-level hit@5 is the
"right post, wrong passage" share.

The "no relevant passage" signal (`Hit.relevant` of the best hit) is scored as in fuse_eval:
positive = "the blog answers this", precision and recall over the answerable questions and the
`type: none` ones (questions the blog doesn't answer).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import re
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO.parent / "shared" / "corpus-real"
QUESTIONS = Path(__file__).with_name("questions_real.jsonl")
BLIND = Path(__file__).with_name("questions_blind.jsonl")
INDEXES = Path(os.environ.get("REAL_INDEX", Path(tempfile.gettempdir()) / "real_eval"))
CACHE = Path(os.environ.get("HYBRID_CACHE", Path(tempfile.gettempdir()) / "hybrid_cache"))
DEPTH = 10
TYPES = ("paraphrase", "term", "crossterm", "english")


@dataclass
class Question:
    id: str
    corpus: str
    q: str
    lang: str
    type: str
    answer: str | None
    split: str
    file: str | None = None
    lines: tuple[int, int] | None = None
    snippet: str | None = None
    also_files: list[str] = field(default_factory=list)
    answer_sentence: str | None = None


@dataclass
class Graded:
    question: Question
    rank: int | None  # 1-based rank of the first answering hit in the top DEPTH, None = missed
    relevant: bool | None  # the best hit's relevance flag
    kinds: list[str]  # kind of each of the top 5 hits
    top: list[str]  # "path:line" of the top 5 hits, for --misses
    file_rank: int | None = None  # 1-based rank of the first hit from the answering file


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    out = []
    for line in open(path, encoding="utf-8"):
        if line.strip():
            row = json.loads(line)
            if row.get("lines"):
                row["lines"] = tuple(row["lines"])
            out.append(Question(**row))
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def answers(q: Question, root: Path, path: str, start: int, end: int, text: str) -> bool:
    """Does a passage at path:start-end with this text answer q?"""
    rel = relative(path, root)
    if rel != q.file and rel not in q.also_files:
        return False
    if q.snippet and _squash(q.snippet) in _squash(text):
        return True
    return rel == q.file and q.lines is not None and start <= q.lines[1] and end >= q.lines[0]


def relative(path: str, root: Path) -> str:
    """A hit's path relative to its corpus folder ("post/x/index.html"); as it is if it is not under it."""
    prefix = str(root.resolve()) + os.sep
    return path[len(prefix):].replace(os.sep, "/") if path.startswith(prefix) else path


def hit_answers(q: Question, root: Path, hit) -> bool:
    if answers(q, root, hit.path, hit.line_start, hit.line_end, hit.text):
        return True
    from embedsearch.views import parse_location

    for place in hit.also:  # the same paragraph elsewhere: "path:start-end"
        path, start, end = parse_location(place)
        if start is not None and answers(q, root, path, start, end or start, hit.text):
            return True
    return False


def hit_in_file(q: Question, root: Path, hit) -> bool:
    """Does the hit (or a place of its repeated paragraph) come from the answering file?"""
    files = {q.file, *q.also_files}
    return relative(hit.path, root) in files or any(
        relative(place.rpartition(":")[0], root) in files for place in hit.also)


class QueryCache:
    """Query vectors by text, kept on disk: ranking experiments then skip the model."""

    def __init__(self, embed, identity: str) -> None:
        self.embed = embed
        self.path = CACHE / f"real_queries-{hashlib.blake2b(identity.encode(), digest_size=6).hexdigest()}.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            self.vectors = {k: data[k] for k in data.files}
        self.dirty = False

    def __call__(self, query: str) -> np.ndarray:
        key = hashlib.blake2b(query.encode(), digest_size=10).hexdigest()
        if key not in self.vectors:
            self.vectors[key] = np.asarray(self.embed(query), dtype=np.float32)
            self.dirty = True
        return self.vectors[key]

    def save(self) -> None:
        if self.dirty:
            CACHE.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self.vectors)


def open_index(corpus: str, update: bool = True):
    from embedsearch import Index

    ix = Index(INDEXES / f"ix-{corpus}", create=True)
    if update:
        report = ix.add(CORPORA / corpus)
        if report.new or report.changed or report.removed:
            print(f"{corpus}: {report.summary()}", file=sys.stderr)
    return ix


def run(questions: list[Question], mode: str, update: bool = True) -> list[Graded]:
    graded = []
    by_corpus: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        by_corpus[q.corpus].append(q)
    for corpus, qs in by_corpus.items():
        root = CORPORA / corpus
        ix = open_index(corpus, update)
        try:
            engine = ix.engine
            cache = QueryCache(engine._embed_query, ix.embedder.identity)
            engine._embed_query = cache
            for q in qs:
                hits = ix.search(q.q, k=DEPTH, mode=mode)
                rank = next((i for i, h in enumerate(hits, 1) if q.type != "none" and hit_answers(q, root, h)), None)
                file_rank = next((i for i, h in enumerate(hits, 1) if q.type != "none" and hit_in_file(q, root, h)), None)
                graded.append(Graded(q, rank, hits[0].relevant if hits else False, [h.kind for h in hits[:5]],
                                     [f"{Path(h.path).relative_to(root)}:{h.line_start}" for h in hits[:5]], file_rank))
            cache.save()
        finally:
            ix.close()
    return graded


def scores(rows: list[Graded]) -> dict[str, float]:
    n = len(rows)
    if not n:
        return {"n": 0, "hit@1": 0.0, "hit@5": 0.0, "mrr@10": 0.0, "file@5": 0.0}
    return {
        "n": n,
        "hit@1": sum(r.rank == 1 for r in rows) / n,
        "hit@5": sum(r.rank is not None and r.rank <= 5 for r in rows) / n,
        "mrr@10": sum(1 / r.rank for r in rows if r.rank) / n,
        "file@5": sum(r.file_rank is not None and r.file_rank <= 5 for r in rows) / n,
    }


def relevance(rows: list[Graded]) -> dict[str, float]:
    pos = [r for r in rows if r.question.type != "none"]
    neg = [r for r in rows if r.question.type == "none"]
    tp = sum(bool(r.relevant) for r in pos)
    fp = sum(bool(r.relevant) for r in neg)
    return {"answerable": len(pos), "kept": tp, "unanswerable": len(neg), "declined": len(neg) - fp,
            "precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / len(pos) if pos else 0.0}


def code_share(rows: list[Graded]) -> tuple[int, int]:
    """Code passages among the top-5 hits of prose questions (the issue counted 65 of 200)."""
    kinds = [k for r in rows if r.question.answer == "prose" for k in r.kinds]
    return sum(k == "code" for k in kinds), len(kinds)


def cell(s: dict[str, float]) -> str:
    return f"{s['hit@1']:.3f} / {s['hit@5']:.3f} / {s['mrr@10']:.3f} / {s['file@5']:.3f}" if s["n"] else "-"


def report(results: dict[str, list[Graded]]) -> dict:
    """Markdown tables on stdout; the same figures as a dict (for --json)."""
    modes = list(results)
    out: dict = {}
    answerable = {m: [r for r in rs if r.question.type != "none"] for m, rs in results.items()}
    corpora = list(dict.fromkeys(r.question.corpus for r in answerable[modes[0]]))
    print("passage hit@1 / passage hit@5 / MRR@10 / file hit@5 (n questions)\n")
    print("| set | n | " + " | ".join(modes) + " |\n|---|---|" + "---|" * len(modes))

    def row(name: str, pick) -> None:
        cells = {m: scores([r for r in answerable[m] if pick(r.question)]) for m in modes}
        out[name] = cells
        print(f"| {name} | {cells[modes[0]]['n']} | " + " | ".join(cell(cells[m]) for m in modes) + " |")

    for c in corpora + ["all"]:
        in_c = (lambda q, c=c: c == "all" or q.corpus == c)
        row(f"{c}", in_c)
        for split in dict.fromkeys(r.question.split for r in answerable[modes[0]]):
            row(f"{c}, {split}", lambda q, in_c=in_c, s=split: in_c(q) and q.split == s)
    print()
    print("| question type | n | " + " | ".join(modes) + " |\n|---|---|" + "---|" * len(modes))
    for t in TYPES:
        for c in corpora + ["all"]:
            row(f"{t}, {c}", lambda q, t=t, c=c: q.type == t and (c == "all" or q.corpus == c))
    for a in ("prose", "code"):
        row(f"answer in {a}, all", lambda q, a=a: q.answer == a)
    print()
    print("| code passages in the top 5 of prose questions | " + " | ".join(modes) + " |\n|---|" + "---|" * len(modes))
    shares = {m: code_share(answerable[m]) for m in modes}
    out["code_share"] = shares
    print("| all corpora | " + " | ".join(f"{a} of {b}" for a, b in shares.values()) + " |")
    print()
    print("| no-relevant-passage signal (" + modes[0] + ") | answerable kept | unanswerable declined | precision | recall |")
    print("|---|---|---|---|---|")
    for c in corpora + ["all"]:
        splits = {r.question.split for r in results[modes[0]]}
        for split in ("all", "heldout") if "heldout" in splits else ("all",):
            rows = [r for r in results[modes[0]] if (c == "all" or r.question.corpus == c)
                    and (split == "all" or r.question.split == split)]
            rel = relevance(rows)
            out[f"relevance {c} {split}"] = rel
            print(f"| {c}, {split} questions | {rel['kept']}/{rel['answerable']} | {rel['declined']}/{rel['unanswerable']} "
                  f"| {rel['precision']:.3f} | {rel['recall']:.3f} |")
    return out


def apply_overrides(settings: list[str]) -> None:
    """--set module.NAME=value: change a ranking constant for one run (module under embedsearch)."""
    for setting in settings:
        target, _, value = setting.partition("=")
        module_name, _, name = target.rpartition(".")
        module = importlib.import_module(f"embedsearch.{module_name}" if module_name != "search" else "embedsearch.search")
        if not hasattr(module, name):
            sys.exit(f"--set {setting}: {module.__name__} has no {name}")
        old = getattr(module, name)
        if isinstance(old, str):
            setattr(module, name, value)
        else:  # None (an unset threshold) in either direction is taken as it is
            new = json.loads(value)
            setattr(module, name, new if old is None or new is None else type(old)(new))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", default="hybrid", help="hybrid, dense, lexical or all")
    ap.add_argument("--split", choices=("all", "tune", "heldout"), default="all")
    ap.add_argument("--blind", action="store_true", help="the blind set (questions_blind.jsonl) instead")
    ap.add_argument("--corpus", action="append", help="only this corpus (repeatable)")
    ap.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE")
    ap.add_argument("--misses", action="store_true", help="list questions missed at rank 5 (first mode)")
    ap.add_argument("--no-update", action="store_true", help="search the indexes as they are")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    apply_overrides(args.set)
    questions = [q for q in load_questions(BLIND if args.blind else QUESTIONS) if (args.split == "all" or q.split == args.split)
                 and (not args.corpus or q.corpus in args.corpus)]
    modes = ("hybrid", "dense", "lexical") if args.mode == "all" else (args.mode,)
    results = {m: run(questions, m, update=not args.no_update and i == 0) for i, m in enumerate(modes)}
    figures = report(results)
    if args.misses:
        print()
        for r in results[modes[0]]:
            if r.question.type != "none" and (r.rank is None or r.rank > 5):
                q = r.question
                print(f"- {q.id} [{q.type}/{q.answer}] {q.q} -> want {q.file}:{q.lines}; got {', '.join(r.top[:3])}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
