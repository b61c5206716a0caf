"""The index database's schema: an old database migrates to what a new one is, in one transaction.

Real SQLite files; the schema-1 database is made the way embedsearch 0.1 made it (sqlite-utils
tables, no chunk kind, no vector log, no lexical table, a `generation` meta row).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from embedsearch import EmbedsearchError
from embedsearch.store import Filter, Store, schema
from embedsearch.store.database import SCHEMA_VERSION, text_hash

TEXTS = ["고양이는 하루에 열여섯 시간을 잡니다.", "바다는  넓고\n푸릅니다.", "녹차는 낮은 온도의 물로 우립니다."]


def make_schema_1(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(directory / "embedsearch.db")
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["documents"].create({"id": int, "path": str, "content_hash": str, "mtime": float, "title": str,
                            "front_matter": str, "encoding": str, "chunking": str, "indexed_at": float},
                           pk="id", not_null={"path", "content_hash"})
    db["documents"].create_index(["path"], unique=True)
    db["chunks"].create({"id": int, "document_id": int, "ordinal": int, "text": str, "heading": str,
                         "line_start": int, "line_end": int, "token_count": int, "content_hash": str,
                         "vector": bytes}, pk="id", foreign_keys=[("document_id", "documents", "id")])
    db["chunks"].create_index(["document_id"])
    db["chunks"].create_index(["content_hash"])
    db["documents"].insert_all([
        {"id": 1, "path": "cat.md", "content_hash": "a", "title": "고양이", "front_matter": '{"tags": ["pet"]}'},
        {"id": 2, "path": "sea.md", "content_hash": "b", "title": "바다", "front_matter": "{}"},
    ])
    vector = np.ones(4, dtype=np.float32).tobytes()
    db["chunks"].insert_all([
        {"id": i + 1, "document_id": 1 if i != 1 else 2, "ordinal": i, "text": text, "heading": "",
         "line_start": 1, "line_end": 1, "token_count": 5, "content_hash": f"h{i}", "vector": vector}
        for i, text in enumerate(TEXTS)
    ])
    db["meta"].insert_all([{"key": "schema_version", "value": "1"}, {"key": "generation", "value": "4"}])
    db.conn.close()


def new_store(directory: Path) -> Store:
    directory.mkdir(parents=True, exist_ok=True)  # as `Index` makes it
    return Store(directory)


def shape(directory: Path) -> dict[str, tuple]:
    """Every table's columns (type, not null, default) and indexes: what a reader or writer relies on."""
    conn = sqlite3.connect(directory / "embedsearch.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                             " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'chunks_fts_%'")]
        return {t: (conn.execute(f"PRAGMA table_xinfo([{t}])").fetchall(),
                    sorted(r[1:3] for r in conn.execute(f"PRAGMA index_list([{t}])"))) for t in sorted(tables)}
    finally:
        conn.close()


def test_a_schema_1_database_migrates_to_what_a_new_one_is(tmp_path: Path) -> None:
    make_schema_1(tmp_path / "old")
    store = Store(tmp_path / "old")
    assert store.exists() and store.schema_version() == 1
    store.create()
    assert store.schema_version() == SCHEMA_VERSION == 3
    assert "generation" not in store.meta()
    fresh = new_store(tmp_path / "new")
    fresh.create()
    assert shape(tmp_path / "old") == shape(tmp_path / "new")
    assert {"kind", "sentences", "sentence_vectors"} <= {c[1] for c in shape(tmp_path / "new")["chunks"][0]}
    # every chunk: its text hash, a place in the vector log (vector stores rebuild), its lexical entry
    rows = store.chunk_rows([1, 2, 3])
    assert [rows[i]["text_hash"] for i in (1, 2, 3)] == [text_hash(t) for t in TEXTS]
    assert rows[2]["text_hash"] == text_hash("바다는 넓고 푸릅니다.") and rows[2]["kind"] == "prose"
    assert sorted(store.changed_since(0, store.head_seq())) == [1, 2, 3] and store.head_seq() == 3
    assert [cid for cid, _ in store.lexical_search("녹차", 5)] == [3]
    assert store.chunk_ids(Filter(tag="pet")) == [1, 3]
    store.create()  # current: nothing to do
    assert store.head_seq() == 3
    store.close()
    fresh.close()


def test_a_failed_step_leaves_the_database_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A later step failing (a kill, a full disk) rolls back every step before it too."""
    make_schema_1(tmp_path / "ix")
    before = shape(tmp_path / "ix")

    def broken(db: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, (4, broken)])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 4)
    store = Store(tmp_path / "ix")
    with pytest.raises(EmbedsearchError, match="no space left"):
        store.create()
    assert store.schema_version() == 1 and shape(tmp_path / "ix") == before
    assert store.meta()["generation"] == "4"
    store.close()


def test_adding_a_schema_is_adding_one_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new step reaches old databases and new ones alike (as schema.py's docstring promises)."""
    def to_4(db: sqlite_utils.Database) -> None:
        db.execute("ALTER TABLE documents ADD COLUMN summary TEXT")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, (4, to_4)])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 4)
    make_schema_1(tmp_path / "old")
    Store(tmp_path / "old").create()
    new_store(tmp_path / "new").create()
    assert shape(tmp_path / "old") == shape(tmp_path / "new")
    assert "summary" in [c[1] for c in shape(tmp_path / "new")["documents"][0]]
    assert Store(tmp_path / "old").schema_version() == 4


def test_a_database_from_a_newer_embedsearch_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.create()
    store.set_meta(schema_version=SCHEMA_VERSION + 1)
    with pytest.raises(EmbedsearchError, match="newer embedsearch"):
        store.create()
    store.close()
