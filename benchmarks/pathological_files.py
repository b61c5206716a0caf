"""Odd files within the size limit: does reading and chunking stay roughly linear in their size?

Generates, in a temp folder, files that hold up a naive reader or chunker, at two sizes each (the
second twice the first, so the ratio of the times shows whether the cost is linear):
- one line of words with no sentence end (1 MB, 2 MB): the chunker must cut it into windows;
- a markdown table (25,000 and 50,000 rows);
- one paragraph of short sentences (1 MB, 2 MB);
- a 10 MB file, which is over the default limit and skipped before it is read.

Prints, per file: size, paragraphs, chunks, seconds to read and parse, seconds to chunk (with the
bundled model's tokenizer; nothing is embedded).

    python benchmarks/pathological_files.py
"""
from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embedsearch.chunks import make_chunks  # noqa: E402
from embedsearch.files import Skip, read_documents  # noqa: E402
from embedsearch.vectors import load_embedder  # noqa: E402

WORDS = "한국어 문장 토큰 모델 검색 벡터 임베딩 word token model search the of and 2024 0.85".split()


def one_line(size: int) -> str:
    rng = random.Random(0)
    out, n = [], 0
    while n < size:
        word = rng.choice(WORDS)
        out.append(word)
        n += len(word.encode()) + 1
    return " ".join(out)


def table(rows: int) -> str:
    return "\n".join(["| id | 이름 | 값 |", "|---|---|---|"] + [f"| {i} | 항목{i} | {i * 0.5} |" for i in range(rows)])


def sentences(size: int) -> str:
    rng = random.Random(1)
    out, n = [], 0
    while n < size:
        s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) + "입니다. "
        out.append(s)
        n += len(s.encode())
    return "".join(out)


def main() -> None:
    count = load_embedder().count_tokens
    cases = {
        "one-line-1mb.md": one_line(1_000_000),
        "one-line-2mb.md": one_line(2_000_000),
        "table-25000.md": table(25_000),
        "table-50000.md": table(50_000),
        "sentences-1mb.md": sentences(1_000_000),
        "sentences-2mb.md": sentences(2_000_000),
        "huge-10mb.md": one_line(10_000_000),
    }
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'file':18} {'bytes':>10} {'paragraphs':>10} {'chunks':>7} {'read s':>7} {'chunk s':>8}")
        for name, text in cases.items():
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            started = time.perf_counter()
            try:
                [(doc, paragraphs)] = read_documents(path)
            except Skip as exc:
                print(f"{name:18} {path.stat().st_size:>10,} skipped in {time.perf_counter() - started:.3f} s: {exc}")
                continue
            read_s = time.perf_counter() - started
            started = time.perf_counter()
            chunks = make_chunks(paragraphs, count, title=doc.title)
            chunk_s = time.perf_counter() - started
            assert all(c.token_count <= 512 for c in chunks)
            print(f"{name:18} {path.stat().st_size:>10,} {len(paragraphs):>10} {len(chunks):>7} {read_s:>7.2f} {chunk_s:>8.2f}")


if __name__ == "__main__":
    main()
