"""One hit per place: how often two passages (or two hits of one search) cover the same lines.

A code block's introducing sentence ("다음과 같이 실행한다:") travels with the code (chunks.py);
when it also stays in the prose passage before the block, one place is two passages, and a search
can show it twice. This counts, on a real blog:

- chunks: pairs of passages of one document whose line spans overlap (and of those, how many
  start on the same line), from reading and chunking alone (the bundled tokenizer, no embedding);
- results (with --index): pairs of hits among the top 10 (and the top 5, what `ask` cites) of
  each question of benchmarks/quality/questions_real.jsonl for the blog, hybrid mode, that
  come from one file and overlap.

    python benchmarks/overlaps.py [--corpus DIR] [--index IX] [--examples N]

DIR defaults to ../shared/corpus-real/lovit; IX is an index of it (benchmarks/quality/real_eval.py
builds one under $REAL_INDEX/ix-lovit).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embedsearch.chunks import make_chunks  # noqa: E402
from embedsearch.files import Skip, read_documents  # noqa: E402


def overlapping(spans: list[tuple[int, int]]) -> tuple[int, int]:
    """(pairs that overlap, pairs that start on the same line) among line spans of one file."""
    pairs = same = 0
    for i, (a0, a1) in enumerate(spans):
        for b0, b1 in spans[i + 1:]:
            if a0 <= b1 and b0 <= a1:
                pairs += 1
                same += a0 == b0
    return pairs, same


def chunk_figures(corpus: Path, examples: int) -> None:
    from embedsearch.vectors import load_embedder

    count = load_embedder().count_tokens
    chunks = pairs = same = 0
    shown = 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        try:
            documents = read_documents(path)
        except Skip:
            continue
        for doc, paragraphs in documents:
            made = make_chunks(paragraphs, count, title=doc.title)
            chunks += len(made)
            p, s = overlapping([(c.line_start, c.line_end) for c in made])
            pairs, same = pairs + p, same + s
            for a, b in zip(made, made[1:]):
                if shown < examples and a.line_start <= b.line_end and b.line_start <= a.line_end:
                    shown += 1
                    print(f"  {path.name}:{a.line_start}-{a.line_end} [{a.kind}] {a.text[-60:]!r}\n"
                          f"  {path.name}:{b.line_start}-{b.line_end} [{b.kind}] {b.text[:60]!r}\n")
    print(f"chunks: {chunks} passages; {pairs} pairs overlap within a document, {same} of them start on one line")


def result_figures(corpus: Path, index: Path) -> None:
    from embedsearch import Index

    questions = [json.loads(line) for line in open(ROOT / "benchmarks/quality/questions_real.jsonl", encoding="utf-8")
                 if line.strip()]
    questions = [q for q in questions if q["corpus"] == corpus.name]
    totals = {10: [0, 0, 0], 5: [0, 0, 0]}  # depth -> [pairs, same start, questions with any]
    with Index(index) as ix:
        for q in questions:
            hits = ix.search(q["q"], k=10)
            for depth, row in totals.items():
                by_file: dict[str, list[tuple[int, int]]] = defaultdict(list)
                for hit in hits[:depth]:
                    by_file[hit.path].append((hit.line_start, hit.line_end))
                found = [overlapping(spans) for spans in by_file.values()]
                p, s = sum(f[0] for f in found), sum(f[1] for f in found)
                row[0] += p
                row[1] += s
                row[2] += p > 0
    for depth, (p, s, n) in totals.items():
        print(f"results: top {depth} of {len(questions)} questions: {p} overlapping pairs ({s} start on one line), "
              f"in {n} questions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus-real" / "lovit")
    ap.add_argument("--index", type=Path, help="an index of the corpus: also count overlaps among search results")
    ap.add_argument("--examples", type=int, default=0, help="print N overlapping neighbours")
    ap.add_argument("--no-chunks", action="store_true", help="only the search results")
    args = ap.parse_args()
    if not args.no_chunks:
        chunk_figures(args.corpus, args.examples)
    if args.index:
        result_figures(args.corpus, args.index)


if __name__ == "__main__":
    main()
