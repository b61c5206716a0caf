"""Read a retrieval set in the BEIR layout, the one BEIR, MTEB and pyserini share.

    DATASET/corpus.jsonl      {"_id": ..., "title": ..., "text": ...} per line
    DATASET/queries.jsonl     {"_id": ..., "text": ...} per line
    DATASET/qrels/test.tsv    query-id <tab> corpus-id <tab> score, after a header line

The corpus is streamed (it can be large); queries and qrels are small enough to hold.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EmbedsearchError
from ..text import nfc


@dataclass
class BeirDoc:
    id: str
    title: str
    text: str


@dataclass
class BeirSet:
    """A data set on disk: its queries and judgements in memory, its corpus read on demand."""

    path: Path
    queries: dict[str, str]  # query id -> text, in file order, only queries that have judgements
    qrels: dict[str, dict[str, int]]  # query id -> document id -> grade
    split: str = "test"

    @property
    def corpus_path(self) -> Path:
        return self.path / "corpus.jsonl"

    def corpus(self) -> Iterator[BeirDoc]:
        for line_number, row in _jsonl(self.corpus_path):
            doc_id = _field(row, "_id", self.corpus_path, line_number)
            yield BeirDoc(id=doc_id, title=nfc(str(row.get("title") or "")), text=nfc(str(row.get("text") or "")))

    def corpus_hash(self) -> str:
        """A digest of corpus.jsonl's bytes: the key under which its index is cached."""
        digest = hashlib.blake2b(digest_size=16)
        with open(self.corpus_path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def load(path: Path, split: str = "test") -> BeirSet:
    """Check the layout and read queries and qrels; raise a one-line error if it is not BEIR."""
    path = Path(path)
    qrels_path = path / "qrels" / f"{split}.tsv"
    for needed in (path / "corpus.jsonl", path / "queries.jsonl", qrels_path):
        if not needed.is_file():
            raise EmbedsearchError(
                f"{path} is not a BEIR data set: {needed.relative_to(path)} "
                "is missing (expected corpus.jsonl, queries.jsonl and qrels/<split>.tsv)"
            )
    qrels = read_qrels(qrels_path)
    queries: dict[str, str] = {}
    for line_number, row in _jsonl(path / "queries.jsonl"):
        query_id = _field(row, "_id", path / "queries.jsonl", line_number)
        if query_id in qrels:
            queries[query_id] = nfc(_field(row, "text", path / "queries.jsonl", line_number))
    if not queries:
        raise EmbedsearchError(f"{path}: no query in queries.jsonl has a judgement in {qrels_path.name}")
    return BeirSet(path=path, queries=queries, qrels=qrels, split=split)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            parts = line.rstrip("\r\n").split("\t")
            if not line.strip():
                continue
            if len(parts) < 3:
                raise EmbedsearchError(f"{path}:{line_number}: expected query-id, corpus-id and score separated by tabs")
            query_id, doc_id, score = parts[0], parts[1], parts[-1]
            try:
                grade = int(float(score))
            except ValueError:
                if line_number == 1:  # the header, "query-id corpus-id score"
                    continue
                raise EmbedsearchError(f"{path}:{line_number}: score {score!r} is not a number") from None
            qrels.setdefault(query_id, {})[doc_id] = grade
    return qrels


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EmbedsearchError(f"{path}:{line_number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise EmbedsearchError(f"{path}:{line_number}: expected a JSON object")
            yield line_number, row


def _field(row: dict[str, Any], name: str, path: Path, line_number: int) -> str:
    if name not in row:
        raise EmbedsearchError(f"{path}:{line_number}: missing {name!r}")
    return str(row[name])
