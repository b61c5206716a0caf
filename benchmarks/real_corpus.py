"""How the reader and chunker do on real blogs: markup residue, fake headings, line spans, code share.

Reads and chunks every post of ../shared/corpus-real/lovit (Jekyll) and meme2515 (Hugo) with the
bundled model's tokenizer (no embedding), audits each chunk with tests/corpus_audit.py (which
shares no code with the reader) and prints, per blog: chunks, code chunks, and the chunks with
Liquid, kramdown, Hugo shortcode, HTML or markdown-syntax residue, markup-only chunks, headings
that are not real markdown headings, and chunks whose text is not found in its own lines.

    python benchmarks/real_corpus.py [--examples] [--sample N]

`--sample N` prints N random prose and N random code chunks of lovit (seeded) for a spot check.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from corpus_audit import Audit, audit_document  # noqa: E402
from embedsearch.chunks import make_chunks  # noqa: E402
from embedsearch.files import Skip, read_documents  # noqa: E402
from embedsearch.vectors import load_embedder  # noqa: E402

BLOGS = {"lovit": "jekyll", "meme2515": "hugo"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", action="store_true", help="print a few offenders of each kind")
    parser.add_argument("--sample", type=int, default=0, help="print N prose and N code chunks of lovit")
    args = parser.parse_args()
    count = load_embedder().count_tokens
    corpus = ROOT.parent / "shared" / "corpus-real"
    for blog, engine in BLOGS.items():
        audit = Audit()
        all_chunks = []
        started = time.perf_counter()
        skipped = []
        for path in sorted((corpus / blog).rglob("*.md")):
            try:
                documents = read_documents(path)
            except Skip as exc:
                skipped.append(f"{path.name} ({exc})")
                continue
            for doc, paragraphs in documents:
                chunks = make_chunks(paragraphs, count, title=doc.title)
                all_chunks.extend((path.name, c) for c in chunks)
                audit_document(audit, path.name, doc.text, chunks, liquid_outputs=engine == "jekyll")
        seconds = time.perf_counter() - started
        print(f"{blog}: {audit.chunks} chunks, {audit.code_chunks} code ({audit.code_chunks / audit.chunks:.1%}), "
              f"{seconds:.1f} s; skipped: {', '.join(skipped) or 'none'}")
        for kind, n in audit.residue().items():
            print(f"  {kind:13} {n}")
            if args.examples and n:
                for example in audit.examples[kind]:
                    print(f"      {example}")
        if args.sample and blog == "lovit":
            rng = random.Random(8)
            for kind in ("prose", "code"):
                pool = [(name, c) for name, c in all_chunks if getattr(c, "kind", "prose") == kind]
                for name, c in rng.sample(pool, min(args.sample, len(pool))):
                    print(f"--- {kind} {name}:{c.line_start}-{c.line_end} [{c.language}]\n{c.text[:400]}")


if __name__ == "__main__":
    main()
