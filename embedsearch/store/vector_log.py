"""The vector log: every change to a chunk, numbered, written in the transaction that makes it.

Vector stores are derived from SQLite and catch up by replaying the log since the sequence number
they reflect, so an edit to one paragraph updates a vector store in place instead of rebuilding
it. `head_seq()` is the database's position in that log; `prune_log` forgets what every persisted
vector store already reflects, and `log_floor()` tells an older store it must rebuild instead.
"""
from __future__ import annotations

from typing import Iterable

from .schema import Schema


class VectorLog(Schema):
    """The log of chunk changes vector stores replay (its floor is a meta row, hence on `Schema`)."""

    def head_seq(self) -> int:
        """The newest change in the vector log (0 for none): the state a vector store must reach."""
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'vector_log'").fetchone()
        return int(row[0]) if row else 0

    def log_floor(self) -> int:
        """Changes up to this sequence number were pruned from the log: older stores must rebuild."""
        return int(self.meta().get("vector_log_pruned", 0))

    def changed_since(self, seq: int, head: int) -> list[int]:
        """Chunk ids touched by changes (seq, head]: each was deleted, added, or both."""
        rows = self.conn.execute(
            "SELECT DISTINCT chunk_id FROM vector_log WHERE seq > ? AND seq <= ?", (seq, head)
        ).fetchall()
        return [r[0] for r in rows]

    def prune_log(self, upto: int) -> None:
        """Forget changes up to `upto` (inclusive) once a persisted vector store reflects them."""
        with self.transaction():
            self.conn.execute("DELETE FROM vector_log WHERE seq <= ?", (upto,))
            self.set_meta(vector_log_pruned=max(upto, self.log_floor()))

    def _log(self, chunk_ids: Iterable[int]) -> None:
        self.conn.executemany("INSERT INTO vector_log(chunk_id) VALUES (?)", [(int(i),) for i in chunk_ids])
