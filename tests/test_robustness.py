"""Killed runs, Ctrl-C, concurrent readers and writers: the index stays consistent."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from embedsearch import Index

from conftest import write

# Index in the background, committing every 2 chunks, so a kill lands between commits.
INDEXER = """
import sys
import embedsearch.indexer as m
m.COMMIT_EVERY = 2
from embedsearch import Index
Index(sys.argv[1], create=True).add(sys.argv[2])
"""

TOPICS = ["바다", "산", "도시", "기차", "음악", "커피", "고양이", "축구", "겨울", "우주"]


def many_posts(folder: Path, n: int = 40) -> Path:
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        write(folder / f"post{i:03d}.md",
              f"# 글 {i}\n\n{topic}에 관한 {i}번째 이야기입니다. " * 6 + f"\n\n고유 번호 {i * 7919}번 문단입니다.\n")
    return folder


def count_documents(index_path: Path) -> int:
    db = index_path / "embedsearch.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def start_indexer(index_path: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", INDEXER, str(index_path), str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"indexer ended early: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("timed out waiting for the indexer")
        time.sleep(0.05)


def assert_consistent(index_path: Path) -> tuple[int, int]:
    with Index(index_path) as ix:
        conn = ix.store.conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = conn.execute(
            "SELECT count(*) FROM documents WHERE id NOT IN (SELECT document_id FROM chunks)").fetchone()[0]
        assert orphans == 0  # every committed document has its chunks
        docs, chunks = ix.store.counts()
        index = ix._synced_vectors().index
        assert index.ntotal == chunks  # the derived index matches SQLite
        if chunks:
            assert ix.search("고양이 이야기", k=3)
        return docs, chunks


# Enough posts that a run is still going when the kill or the Ctrl-C lands: with onnxruntime 40
# posts were indexed in about a second, and the Ctrl-C test skipped itself ("finished before").
MANY = 400


def test_killed_run_leaves_a_consistent_index_and_resumes(tmp_path: Path) -> None:
    folder = many_posts(tmp_path / "posts", MANY)
    index_path = tmp_path / "ix"
    proc = start_indexer(index_path, folder)
    wait_for(lambda: count_documents(index_path) >= 3, proc)
    proc.kill()
    proc.wait()
    docs, chunks = assert_consistent(index_path)
    assert 3 <= docs < MANY

    with Index(index_path) as ix:
        report = ix.add(folder)
    assert report.unchanged == docs and report.new == MANY - docs
    assert report.chunks_embedded == report.chunks_total - chunks  # nothing committed is embedded again
    assert assert_consistent(index_path)[0] == MANY


def test_ctrl_c_keeps_committed_work(tmp_path: Path) -> None:
    folder = many_posts(tmp_path / "posts", MANY)
    index_path = tmp_path / "ix"
    proc = subprocess.Popen([sys.executable, "-m", "embedsearch", "index", str(folder), "--index", str(index_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: count_documents(index_path) >= 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    err_text = err.decode()
    assert proc.returncode == 130, "the run finished before Ctrl-C arrived"
    assert "Interrupted" in err_text and "Traceback" not in err_text
    docs, _ = assert_consistent(index_path)
    assert docs >= 1


def test_search_works_while_an_index_run_writes(small_posts: Path, tmp_path: Path) -> None:
    index_path = tmp_path / "ix"
    with Index(index_path, create=True) as ix:
        ix.add(small_posts)
    proc = start_indexer(index_path, many_posts(tmp_path / "more"))
    searches_during_run = 0
    try:
        with Index(index_path) as reader:
            while proc.poll() is None:
                hits = reader.search("sourdough starter", k=3)
                assert hits and hits[0].path.endswith("cooking.md")
                searches_during_run += 1
                time.sleep(0.05)
    finally:
        proc.wait(timeout=600)
    assert proc.returncode == 0, proc.stderr.read().decode()
    assert searches_during_run >= 3
    assert assert_consistent(index_path)[0] == 43  # small_posts (3) and the new folder (40)


def test_second_writer_is_refused_with_a_clear_message(small_posts: Path, tmp_path: Path) -> None:
    index_path = tmp_path / "ix"
    with Index(index_path, create=True) as ix:
        ix.add(small_posts)
    with FileLock(str(index_path / ".write.lock")):
        result = subprocess.run([sys.executable, "-m", "embedsearch", "index", str(small_posts),
                                 "--index", str(index_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "another `embedsearch index` is writing" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
