"""Embed KorQuAD dev passages (text, and title + newline + text) and queries once, into the cache (common.CACHE).

    python benchmarks/quality/embed_korquad.py
"""
from common import cached_embeddings, korquad


def main() -> None:
    corpus, queries, _ = korquad()
    cached_embeddings("korquad_queries", [q["text"] for q in queries], "query", batch=64)
    cached_embeddings("korquad_passages_text", [d["text"] for d in corpus], "passage")
    cached_embeddings("korquad_passages_title", [d["title"] + "\n" + d["text"] for d in corpus], "passage")


if __name__ == "__main__":
    main()
