"""The retrieval runs every fusion experiment works from: per query, dense cosines over the whole
corpus and the lexical top 100 with its ideal score, plus the relevant passages.

Data sets:
  korquad            KorQuAD 1.0 dev, 964 passages (title + text), 5,774 questions
  shared / posts     hand-written questions (questions_own.jsonl) over ../shared/corpus and data/posts,
                     chunked by embedsearch's own parser and chunker; relevant = chunks containing a
                     given substring (whitespace-insensitive), so the sets survive chunking changes
  offtopic           hand-written questions with no answer, asked of both corpora
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common import CACHE, REPO, SHARED, cached_embeddings, korquad, model, nfc

from embedsearch.store import fts as lexical

QUESTIONS = Path(__file__).with_name("questions_own.jsonl")
CORPORA = {"shared": SHARED / "corpus", "posts": REPO / "data" / "posts"}
TOP = 100


@dataclass
class Run:
    query: str
    lang: str
    kind: str  # "korquad", "paraphrase", "crosslingual", "offtopic"
    dense: np.ndarray  # cosine to every passage of the corpus
    lexical: list[tuple[int, float]]  # (passage index, bm25) best first, top 100
    ideal: float  # lexical.ideal_score of the query
    relevant: set[int] = field(default_factory=set)
    corpus: str = ""
    split: str = "tune"  # "heldout": off-topic questions written after the thresholds were chosen


@dataclass
class Corpus:
    name: str
    texts: list[str]  # what is embedded / indexed
    plain: list[str]  # the passage text alone (for relevance by substring)
    conn: sqlite3.Connection
    vectors: np.ndarray
    lang_hangul: float  # share of letters that are Hangul


def hangul_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\uac00" <= c <= "\ud7a3" for c in letters) / len(letters) if letters else 0.0


def build_lexical(rows: list[tuple[str, str]]) -> sqlite3.Connection:
    """An in-memory FTS5 index of (text, context) pairs, rowid = position."""
    conn = sqlite3.connect(":memory:")
    lexical.create_table(conn)
    lexical.upsert(conn, [(i, text, context) for i, (text, context) in enumerate(rows)])
    return conn


def embed_cached(texts: list[str], kind: str) -> np.ndarray:
    """Embeddings cached by text hash in one SQLite file, so any chunking/context variant reuses work."""
    CACHE.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(CACHE / "embeddings.db")
    db.execute("CREATE TABLE IF NOT EXISTS e (h TEXT PRIMARY KEY, v BLOB)")
    keys = [hashlib.blake2b((kind + "\0" + t).encode(), digest_size=16).hexdigest() for t in texts]
    have = {}
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        have.update(db.execute(f"SELECT h, v FROM e WHERE h IN ({','.join('?' * len(part))})", part).fetchall())
    todo = [(k, t) for k, t in zip(keys, texts) if k not in have]
    if todo:
        m = model()
        fn = m.passage if kind == "passage" else m.query
        for i in range(0, len(todo), 16):
            batch = todo[i:i + 16]
            vecs = fn([nfc(t) for _, t in batch])
            db.executemany("INSERT OR REPLACE INTO e VALUES (?, ?)",
                           [(k, np.asarray(v, np.float32).tobytes()) for (k, _), v in zip(batch, vecs)])
            db.commit()
            have.update({k: np.asarray(v, np.float32).tobytes() for (k, _), v in zip(batch, vecs)})
    return np.stack([np.frombuffer(have[k], dtype=np.float32) for k in keys]) if keys else np.zeros((0, 384), np.float32)


def chunk_corpus(name: str, context: bool = True) -> tuple[list[str], list[str], list[str]]:
    """(texts to embed, plain chunk texts, title + heading contexts) of one own corpus, chunked by embedsearch."""
    from embedsearch.chunks import make_chunks
    from embedsearch.files import SUFFIXES, read_document, walk

    count = model().token_count
    root = CORPORA[name]
    texts, plain, contexts = [], [], []
    for path in sorted(walk(root, SUFFIXES)):
        doc, paragraphs = read_document(path)
        for ch in make_chunks(paragraphs, count):
            plain.append(ch.text)
            title = "" if doc.title == path.stem else doc.title  # a file-name fallback says nothing
            texts.append(with_context(title, ch.heading, ch.text) if context else ch.text)
            contexts.append(with_context(title, ch.heading, ""))
    return texts, plain, contexts


def with_context(title: str, heading: str, text: str) -> str:
    """Title and heading path above the chunk text, each once (a heading that repeats the title is dropped)."""
    lines = []
    if title:
        lines.append(title)
    heads = [re.sub(r"^#+\s*", "", h).strip() for h in heading.split(" > ")] if heading else []
    lines.extend(h for h in heads if h and h != title)
    return "\n".join(lines + [text]).strip()


_ws = re.compile(r"\s+")


def squash(s: str) -> str:
    return _ws.sub(" ", nfc(s)).strip()


def korquad_runs(context: str = "title") -> tuple[Corpus, list[Run]]:
    corpus, queries, qrels = korquad()
    texts = [(d["title"] + "\n" + d["text"]) for d in corpus] if context == "title" else [d["text"] for d in corpus]
    vectors = cached_embeddings(f"korquad_passages_{context}", texts, "passage")
    qv = cached_embeddings("korquad_queries", [q["text"] for q in queries], "query", batch=64)
    conn = build_lexical([(d["text"], d["title"]) for d in corpus])
    c = Corpus("korquad", texts, [d["text"] for d in corpus], conn, vectors,
               hangul_share(" ".join(d["text"] for d in corpus[:200])))
    index = {d["_id"]: i for i, d in enumerate(corpus)}
    lex = cached_lexical("korquad", conn, [q["text"] for q in queries])
    dense = qv @ vectors.T
    runs = [Run(q["text"], "ko", "korquad", dense[i], lex[i][0], lex[i][1], {index[qrels[q["_id"]]]}, "korquad")
            for i, q in enumerate(queries)]
    return c, runs


def cached_lexical(name: str, conn: sqlite3.Connection, queries: list[str]) -> list[tuple[list, float]]:
    """Lexical top-100 and ideal score per query, cached (keyed by the tokeniser's output for the corpus)."""
    sig = hashlib.blake2b(json.dumps([lexical.tokens_for_index("테스트 문장 Tests of the queries 1989년"),
                                      lexical.CONTEXT_WEIGHT, lexical.count(conn), queries[:50]]).encode(),
                          digest_size=8).hexdigest()
    path = CACHE / f"lexical_{name}_{sig}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return [([(int(i), float(s)) for i, s in hits], ideal) for hits, ideal in data]
    out = [(lexical.search(conn, q, TOP), lexical.ideal_score(conn, q)) for q in queries]
    path.write_text(json.dumps(out))
    return out


def own_corpus(name: str, context: bool = True) -> Corpus:
    texts, plain, contexts = chunk_corpus(name, context)
    vectors = embed_cached(texts, "passage")
    return Corpus(name, texts, plain, build_lexical(list(zip(plain, contexts))), vectors,
                  hangul_share(" ".join(plain)))


def own_runs(context: bool = True) -> tuple[dict[str, Corpus], list[Run]]:
    """Runs of questions_own.jsonl: each answerable question against its corpus, off-topic ones against both."""
    questions = [json.loads(line) for line in open(QUESTIONS, encoding="utf-8")]
    corpora = {name: own_corpus(name, context) for name in CORPORA}
    qvec = embed_cached([q["q"] for q in questions], "query")
    runs = []
    for qi, q in enumerate(questions):
        targets = [q["corpus"]] if q["corpus"] else list(CORPORA)
        for name in targets:
            c = corpora[name]
            rel = {i for i, t in enumerate(c.plain) if any(squash(r) in squash(t) for r in q["relevant"])}
            if q["relevant"] and not rel:
                raise SystemExit(f"{q['id']}: no chunk of {name} holds {q['relevant']}")
            runs.append(Run(q["q"], q["lang"], q["kind"], c.vectors @ qvec[qi],
                            lexical.search(c.conn, q["q"], TOP), lexical.ideal_score(c.conn, q["q"]), rel, name,
                            q.get("split", "tune")))
    return corpora, runs
