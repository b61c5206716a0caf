"""The lexical index inside a real embedsearch index: same ids as the chunks table after every kind of update."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from embedsearch import Index
from embedsearch.store import fts as lexical


def ids(index_dir: Path) -> tuple[set[int], set[int]]:
    """(chunk ids in `chunks`, chunk ids in the FTS table), read from the database file itself."""
    with sqlite3.connect(index_dir / "embedsearch.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert lexical.TABLE in tables
        chunks = {r[0] for r in conn.execute("SELECT id FROM chunks")}
        fts = {r[0] for r in conn.execute(f"SELECT rowid FROM {lexical.TABLE}")}
        return chunks, fts


def in_sync(index_dir: Path) -> set[int]:
    chunks, fts = ids(index_dir)
    assert chunks == fts
    return chunks


def test_lexical_rows_follow_adds_edits_moves_deletes_and_rebuilds(small_posts: Path, tmp_path: Path) -> None:
    path = tmp_path / "ix"
    with Index(path, create=True) as ix:
        ix.add(small_posts)
        first = in_sync(path)
        assert first

        cooking = small_posts / "cooking.md"
        cooking.write_text(cooking.read_text().replace("twenty minutes", "thirty minutes"), encoding="utf-8")
        ix.add(small_posts)
        in_sync(path)

        shutil.move(small_posts / "notes" / "memo.txt", small_posts / "memo-moved.txt")
        ix.add(small_posts)
        in_sync(path)

        cooking.unlink()
        ix.add(small_posts)
        after_delete = in_sync(path)
        assert len(after_delete) < len(first)

        ix.add(small_posts, rebuild=True)
        rebuilt = in_sync(path)
        assert not rebuilt & first  # chunk ids are never reused, so no vector store mistakes a new chunk for an old one

    with sqlite3.connect(path / "embedsearch.db") as conn:
        # the FTS rows hold the chunks' words: the edit is searchable, the deleted file is not
        assert lexical.search(conn, "sourdough", 5) == []
        memo = lexical.search(conn, "페이스북이 만든 벡터 검색 라이브러리", 1)
        assert memo and memo[0][0] in rebuilt


def test_a_killed_write_leaves_both_untouched(small_posts: Path, tmp_path: Path) -> None:
    """The FTS rows are written in the chunks' own transaction: a rollback drops both."""
    path = tmp_path / "ix"
    with Index(path, create=True) as ix:
        ix.add(small_posts)
        before = in_sync(path)
        with pytest.raises(RuntimeError):
            with ix.store.transaction():
                ix.store.conn.execute("DELETE FROM chunks")
                lexical.delete(ix.store.conn, before)
                raise RuntimeError("killed")
        assert in_sync(path) == before
