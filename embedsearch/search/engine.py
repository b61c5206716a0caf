"""The search engine: a query -> ranked Hits, by meaning (dense), by words (lexical), or both (hybrid).

It owns everything between the stores and the caller: checking the query, running the
retrievers against one consistent snapshot of the database, fusing their lists
(`fusion.fuse`), the calibrated "is anything here relevant" signal, filters, and collapsing an
author's repeated paragraphs into one hit that lists the other places it appears.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from ..errors import EmbedsearchError, FilterError
from ..records import Hit
from ..text import nfc
from . import DEFAULT_MODE, HYBRID_CANDIDATES, KINDS, MAX_K, MODES, evidence, fusion

if TYPE_CHECKING:
    import numpy as np

    from ..store import Filter, Store, VectorStore

# A query longer than this is a mistake (a pasted file): the model reads only its first ~512
# tokens (about 1,000-2,000 characters), and a 100,000-character query took 51.6 s to embed.
MAX_QUERY_CHARS = 4_000
# The relevance signal's thresholds were calibrated for the bundled model's cosines, and its
# lexical coverage needs IDF statistics that mean something: below this many chunks they don't.
RELEVANCE_MIN_CHUNKS = 50


def check_query(query: str) -> str:
    """The query, NFC-normalised and stripped; an error for an empty or overlong one."""
    query = nfc(query).strip()
    if not query:
        raise EmbedsearchError("empty query")
    if len(query) > MAX_QUERY_CHARS:
        raise EmbedsearchError(
            f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,} "
            "(the model reads only about the first 500 tokens): shorten it"
        )
    return query


def check_filter(flt: "Filter") -> None:
    """One clear line for a filter that can match nothing by mistake."""
    if flt.kind and flt.kind not in KINDS:
        raise EmbedsearchError(f"unknown kind {flt.kind!r}: use prose or code")
    if flt.path is not None:
        problem = _glob_problem(flt.path)
        if problem:
            raise FilterError("path", flt.path, "{filter}: " + problem)


def _glob_problem(pattern: str) -> str | None:
    if not pattern.strip():
        return "empty pattern"
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] in "^!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":  # "[]x]": a leading ] is a member
                j += 1
            close = pattern.find("]", j)
            if close < 0:
                return "unclosed '[' in the glob (write [[] for a literal '[')"
            i = close
        i += 1
    return None


def resolve_filter(db: "Store", flt: "Filter", tag_counts: "Callable[[], dict[str, int]] | None" = None) -> "Filter":
    """The filter with its tag as documents spell it; an error that says so, and what was likely
    meant, when the path or the tag matches no indexed document.

    Both used to find nothing in silence: `--path lovit` (the glob is matched against the whole
    path, so a folder needs 'lovit/*') and `--tag LLM` for documents tagged "llm". Tags now match
    whatever their case. A path costs one query that stops at the first matching document
    (0.8 ms over 10,000); the tags, `tag_counts()` (cached by the engine).
    """
    import dataclasses

    if flt.path and not db.any_path_matches(flt.path_globs()):
        hint = path_suggestion(flt.path, db.document_paths())
        raise FilterError("path", flt.path, "no indexed document matches {filter}" + (
            f"; did you mean {hint!r}?" if hint else " (a glob over the whole path: 'notes/*' for a folder, "
                                                      "'*.md' for a suffix)"))
    if flt.tag:
        counts = tag_counts() if tag_counts else db.tag_counts()
        forms = tuple(sorted(t for t in counts if t.casefold() == flt.tag.casefold()))
        if not forms:
            raise FilterError("tag", flt.tag, "no indexed document matches {filter}" + _tag_hint(flt.tag, counts))
        flt = dataclasses.replace(flt, tag_forms=forms)
    return flt


def path_suggestion(pattern: str, paths: "list[str]") -> str | None:
    """A glob like `pattern` that matches some of `paths`: the folder ('lovit' -> 'lovit/*'), a
    part of a name ('*lovit*'), or the spelling the paths use ('Lovit/*' -> 'lovit/*')."""
    import fnmatch

    def matches(glob: str, fold: bool = False) -> str | None:
        globs = [glob, "*/" + glob.lstrip("/")]
        if fold:
            globs = [g.casefold() for g in globs]
        for path in paths:
            name = path.casefold() if fold else path
            if any(fnmatch.fnmatchcase(name, g) for g in globs):
                return path
        return None

    bare = pattern.rstrip("/")
    plain = not any(c in bare for c in "*?[")
    candidates = ([] if bare.endswith("*") else [bare + "/*"]) + ([f"*{bare}*"] if plain and bare else [])
    for glob in candidates:
        if matches(glob):
            return glob
    for glob in [pattern, *candidates]:
        found = matches(glob, fold=True)
        if found:
            return _spelled_as(glob, found)
    return None


def _spelled_as(glob: str, path: str) -> str | None:
    """`glob` with its literal parts spelled as in `path`, which it matches but for case."""
    lower = path.lower()
    if len(lower) != len(path):
        return None
    out, at = [], 0
    for part in re.findall(r"\[[^\]]*\]|[*?]|[^*?\[]+", glob):
        found = -1 if part[0] in "*?[" else lower.find(part.lower(), at)
        if found >= 0:
            part, at = path[found:found + len(part)], found + len(part)
        out.append(part)
    fixed = "".join(out)
    return fixed if fixed != glob else None


def _tag_hint(tag: str, counts: "dict[str, int]") -> str:
    import difflib

    if not counts:
        return ": no indexed document lists tags in its front matter"
    folded = {t.casefold(): t for t in sorted(counts, key=lambda t: -counts[t])}
    close = difflib.get_close_matches(tag.casefold(), list(folded), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {folded[close[0]]!r}?"
    common = sorted(counts, key=lambda t: (-counts[t], t))[:5]
    return "; the most used tags are " + ", ".join(map(repr, common))


class SearchEngine:
    def __init__(
        self,
        db: "Store",
        vectors: "Callable[[], VectorStore]",
        embed_query: "Callable[[str], np.ndarray]",
        calibrated_model: bool,
    ) -> None:
        self.db = db
        self._vectors = vectors  # synced on each dense search; lexical search never loads FAISS
        self._embed_query = embed_query
        self.calibrated_model = calibrated_model
        self._tags: tuple[int, dict[str, int]] | None = None  # (index state, tag counts) for tag filters

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: str | None = None,
        min_score: float | None = None,
        flt: "Filter | None" = None,
    ) -> list[Hit]:
        """The k passages that best match `query`, best first (see `Index.search`)."""
        mode = mode or DEFAULT_MODE
        if mode not in MODES:
            raise EmbedsearchError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        query = check_query(query)
        if not 1 <= k <= MAX_K:
            raise EmbedsearchError(f"--top must be between 1 and {MAX_K}, not {k}")
        if flt:
            check_filter(flt)
            flt = resolve_filter(self.db, flt, self._tag_counts)
        flt = flt or None

        vectors = self._vectors() if mode != "lexical" else None  # caught up with committed changes
        with self.db.snapshot():
            return self._search(query, k, mode, min_score, flt, vectors)

    def _tag_counts(self) -> dict[str, int]:
        """The index's tags, read again only after the index changed (every write logs a change)."""
        head, cached = self.db.head_seq(), self._tags
        if cached is None or cached[0] != head:
            cached = self._tags = (head, self.db.tag_counts())
        return cached[1]

    def _search(self, query: str, k: int, mode: str, min_score: float | None, flt: "Filter | None",
                vectors: "VectorStore | None") -> list[Hit]:
        calibrated = self.calibrated_model and self.db.lexical_count() >= RELEVANCE_MIN_CHUNKS
        # extra candidates: repeated paragraphs collapse into one hit
        wanted = k + min(k, 20)
        candidates = max(wanted, HYBRID_CANDIDATES)
        dense: list[tuple[int, float]] = []
        vector = None
        if vectors is not None:
            vector = self._embed_query(query)
            dense = vectors.search(vector, candidates if mode == "hybrid" else wanted, flt)
        # dense mode ranks by cosine alone, but its relevance signal needs the lexical evidence too
        lexical: list[tuple[int, float]] = []
        if mode != "dense" or calibrated:
            lexical = self.db.lexical_search(query, wanted if mode == "lexical" else candidates, flt)

        relevant: dict[int, bool] = {}
        rows = None
        sentences = None
        if mode == "lexical":
            ranked, parts = lexical, {i: {"lexical": s} for i, s in lexical}
            rows = self.db.chunk_rows([i for i, _ in ranked])
        else:
            corpus_hangul = self.db.meta().get("corpus_hangul")
            ideal = self.db.lexical_ideal(query) if lexical else 0.0
            info = fusion.QueryInfo(query, ideal, float(corpus_hangul) if corpus_hangul else None)
            rows = self.db.chunk_rows(list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in lexical])))
            sentences = evidence.Sentences(rows, vector, query)
            best = sentences.best() if fusion.SENTENCE_WEIGHT else {}  # else only the hits' are read
            passages = {i: fusion.Passage(row["kind"] or "prose", row["text"] or "", best.get(i))
                        for i, row in rows.items()}
            fused = fusion.fuse(dense, lexical, info, passages, self._cosines(vector, dense, lexical))
            if mode == "hybrid":
                ranked, parts = [(f.chunk_id, f.score) for f in fused], {f.chunk_id: f.parts for f in fused}
            else:
                ranked, parts = dense, {i: {"dense": s} for i, s in dense}
            if calibrated:
                relevant = {f.chunk_id: fusion.is_relevant(f, info) for f in fused}
        if min_score is not None:
            ranked = [(i, s) for i, s in ranked if s >= min_score]
        hits = self._hits(ranked, parts, k, rows)
        for hit in hits:
            hit.relevant = relevant.get(hit.chunk_id)
            if sentences is not None:
                hit.evidence = sentences.evidence(hit.chunk_id, hit.text)
            elif hit.chunk_id in rows:
                hit.evidence = evidence.by_words(query, hit.text, rows[hit.chunk_id])
        return hits

    def _cosines(self, vector: "np.ndarray | None", dense: list[tuple[int, float]],
                 lexical: list[tuple[int, float]]) -> dict[int, float]:
        """The exact cosine of each chunk only the lexical list holds, from the vectors SQLite stores.

        Without it such a chunk gets the dense list's lowest cosine, an upper bound that flatters
        every BM25-only chunk alike (fusion: +0.011 hit@5 on the real blogs). At most ~50 vectors.
        """
        if vector is None or not lexical:
            return {}
        in_dense = {i for i, _ in dense}
        ids = [i for i, _ in lexical if i not in in_dense]
        q = vector.reshape(-1)
        return {int(row.id): float(row.vector @ q) for batch in self.db.vector_rows(ids) for row in batch
                if row.vector.shape == q.shape}

    def _hits(self, ranked: list[tuple[int, float]], parts: dict[int, dict[str, float]], k: int,
              rows: dict | None = None) -> list[Hit]:
        """Hits for the ranked ids, best first; a paragraph the author repeated appears once, and
        so does a place: a passage whose lines overlap a better hit's in the same file is left out.

        Passages rarely share lines since chunks.py gives each line one passage (lovit: 1 pair
        left of 1,389); the pieces of a long paragraph written on one line still do, and a hit's
        location reads back its whole lines, so two such hits would be one place shown twice.
        """
        if rows is None:  # hybrid and dense modes pass the rows the fusion read
            rows = self.db.chunk_rows([i for i, _ in ranked])
        hits: list[Hit] = []
        hashes: dict[str, Hit] = {}
        spans: dict[str, list[tuple[int, int]]] = {}
        for i, score in ranked:
            row = rows.get(i)
            if row is None:  # deleted by a concurrent writer since the vector store was read
                continue
            if row["text_hash"] and row["text_hash"] in hashes:
                continue
            taken = spans.setdefault(row["path"], [])
            if any(start <= row["line_end"] and row["line_start"] <= end for start, end in taken):
                continue
            taken.append((row["line_start"], row["line_end"]))
            hit = Hit(score=score, text=row["text"], path=row["path"], line_start=row["line_start"],
                      line_end=row["line_end"], heading=row["heading"], title=row["title"], chunk_id=i,
                      rank=len(hits) + 1, scores=parts.get(i, {}), kind=row["kind"], language=row["language"])
            hits.append(hit)
            if row["text_hash"]:
                hashes[row["text_hash"]] = hit
            if len(hits) == k:
                break
        for h, places in self.db.copies(list(hashes)).items():
            hit = hashes[h]
            # the same text, so the same number of lines: each copy's range, as the hit's location
            length = hit.line_end - hit.line_start
            hit.also = [f"{path}:{line}-{line + length}" if length else f"{path}:{line}"
                        for cid, path, line in places if cid != hit.chunk_id]
        return hits
