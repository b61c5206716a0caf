"""Which chunk sizes retrieve best? Two sets, indexed with several ChunkSizes:

- data/posts (markdown, real paragraphs) with benchmarks/data/sample_posts_questions.jsonl: each
  question names the `path:line` of the one paragraph that answers it; a hit counts when its
  line span covers that line.
- ../shared/corpus (plain text, one paragraph or list item per line) with the shared-corpus
  questions in benchmarks/quality/questions_own.jsonl: a hit counts when its text contains one
  of the question's `relevant` snippets.

    python benchmarks/chunk_sizes.py [--only posts|shared]

Prints, per set and setting: chunks, mean tokens per chunk, then Recall@1, Recall@3 and MRR@10
for the Korean and the English questions.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embedsearch import Index  # noqa: E402
from embedsearch.chunks import ChunkSizes  # noqa: E402

SETTINGS = [
    ChunkSizes(min_tokens=0, merge_tokens=0, max_tokens=512),  # one chunk per block, no merging
    ChunkSizes(min_tokens=32, merge_tokens=128, max_tokens=512),
    ChunkSizes(min_tokens=64, merge_tokens=256, max_tokens=512),  # the default
    ChunkSizes(min_tokens=128, merge_tokens=384, max_tokens=512),
    ChunkSizes(min_tokens=64, merge_tokens=256, max_tokens=256),  # long paragraphs split finer
]


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def sets() -> dict[str, tuple[Path, list[dict], object]]:
    posts = ROOT / "data" / "posts"
    shared = ROOT.parent / "shared" / "corpus"

    def on_line(q: dict, hit) -> bool:
        return hit.path == str((posts / q["path"]).resolve()) and hit.line_start <= q["line"] <= hit.line_end

    def has_snippet(q: dict, hit) -> bool:
        return hit.path.endswith(q["file"]) and any(snippet in hit.text for snippet in q["relevant"])

    shared_questions = [
        {"question": q["q"], **q} for q in load(ROOT / "benchmarks/quality/questions_own.jsonl")
        if q.get("corpus") == "shared"
    ]
    return {
        "posts": (posts, load(ROOT / "benchmarks/data/sample_posts_questions.jsonl"), on_line),
        "shared": (shared, shared_questions, has_snippet),
    }


def main() -> None:
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    for name, (folder, questions, relevant) in sets().items():
        if only and name != only:
            continue
        print(f"{name}: {len(questions)} questions")
        print(f"{'min/merge/max':>14} {'chunks':>6} {'tokens':>6}  " + "  ".join(
            f"{lang}:R@1 R@3 MRR" for lang in ("ko", "en")))
        for sizes in SETTINGS:
            run(sizes, folder, questions, relevant)


def run(sizes: ChunkSizes, folder: Path, questions: list[dict], relevant) -> None:
    with tempfile.TemporaryDirectory() as tmp, Index(tmp, create=True, chunk_sizes=sizes) as ix:
        ix.add(folder)
        chunks, tokens = ix.store.conn.execute("SELECT count(*), avg(token_count) FROM chunks").fetchone()
        cells = []
        for lang in ("ko", "en"):
            qs = [q for q in questions if q["lang"] == lang]
            first_ranks = []
            for q in qs:
                ranks = [h.rank for h in ix.search(q["question"], k=10) if relevant(q, h)]
                first_ranks.append(ranks[0] if ranks else None)
            n = max(len(qs), 1)
            r1 = sum(r == 1 for r in first_ranks) / n
            r3 = sum(r is not None and r <= 3 for r in first_ranks) / n
            mrr = sum(1 / r for r in first_ranks if r) / n
            cells.append(f"{r1:.2f} {r3:.2f} {mrr:.2f}")
    print(f"{sizes.min_tokens:>4}/{sizes.merge_tokens}/{sizes.max_tokens:<4} {chunks:>6} {tokens:>6.0f}  "
          + "     ".join(cells), flush=True)


if __name__ == "__main__":
    main()
