"""`watch`: the index follows the folder as files are edited, saved by editors, renamed, deleted, recreated."""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from embedsearch import Index
from embedsearch.watch import Watcher

from conftest import write

TIMEOUT = 60  # generous for a loaded CI machine; the latency itself is measured in benchmarks/load.py


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def watched(small_posts: Path, tmp_path: Path) -> Iterator[tuple[Path, Index, Watcher]]:
    """small_posts indexed and watched in a background thread; a second Index to search with."""
    index_path = tmp_path / "ix"
    writer = Index(index_path)
    events: list[str] = []
    watcher = Watcher(writer, [small_posts], listener=lambda event, report, message: events.append(event)).start()
    wait_until(lambda: "ready" in events, what="the first catch-up")
    reader = Index(index_path)
    try:
        yield small_posts, reader, watcher
    finally:
        watcher.stop()
        reader.close()
        writer.close()
    assert "error" not in events


def found(reader: Index, query: str, needle: str) -> bool:
    return any(needle in hit.text for hit in reader.search(query, k=3))


def paths(reader: Index) -> set[str]:
    return {Path(row[0]).name for row in reader.store.conn.execute("SELECT path FROM documents")}


def test_a_saved_edit_becomes_searchable(watched: tuple[Path, Index, Watcher]) -> None:
    folder, reader, _ = watched
    post = folder / "cooking.md"
    post.write_text(post.read_text().replace("twenty minutes with the lid on", "forty-two minutes with the lid on"))
    wait_until(lambda: found(reader, "forty-two minutes lid", "forty-two"), what="the edit to be searchable")
    assert reader.vectors.stats["rebuilds"] == 0  # the reader caught up in place


def test_an_editors_temp_file_and_rename_save(watched: tuple[Path, Index, Watcher]) -> None:
    folder, reader, _ = watched
    post = folder / "llm.md"
    tmp = folder / ".llm.md.swp"
    backup = folder / "llm.md~"
    shutil.copy(post, backup)
    tmp.write_text(post.read_text().replace("트랜스포머 구조를 쓰며", "순환 신경망이 아니라 트랜스포머 구조를 쓰며"))
    os.replace(tmp, post)
    wait_until(lambda: found(reader, "순환 신경망이 아니라 트랜스포머", "순환 신경망이 아니라"), what="the renamed-over save")
    assert paths(reader) == {"llm.md", "cooking.md", "memo.txt"}  # no temp or backup file indexed


def test_rename_and_delete(watched: tuple[Path, Index, Watcher]) -> None:
    folder, reader, _ = watched
    (folder / "archive").mkdir()
    os.rename(folder / "cooking.md", folder / "archive" / "bread.md")
    wait_until(lambda: paths(reader) == {"llm.md", "bread.md", "memo.txt"}, what="the rename")
    hit = reader.search("sourdough starter", k=1)[0]
    assert hit.path.endswith("archive/bread.md")
    (folder / "notes" / "memo.txt").unlink()
    wait_until(lambda: paths(reader) == {"llm.md", "bread.md"}, what="the deletion")


def test_a_folder_deleted_and_created_again(watched: tuple[Path, Index, Watcher]) -> None:
    folder, reader, watcher = watched
    shutil.rmtree(folder)
    wait_until(lambda: paths(reader) == set(), what="the deleted folder's documents to go")
    write(folder / "new.md", "# 새 글\n\n폴더를 지웠다가 다시 만든 뒤에 쓴 글입니다. 고양이는 상자를 좋아합니다.")
    wait_until(lambda: paths(reader) == {"new.md"}, what="the recreated folder to be watched again")
    write(folder / "later.md", "# 나중 글\n\n다시 만든 폴더의 두 번째 글입니다. 강아지는 산책을 좋아합니다.")
    wait_until(lambda: paths(reader) == {"new.md", "later.md"}, what="events in the recreated folder")


def test_a_burst_of_a_thousand_writes(watched: tuple[Path, Index, Watcher]) -> None:
    folder, reader, _ = watched
    texts = [f"# 메모\n\n{topic}에 관한 짧은 메모입니다. 번호는 {i}번입니다." for i, topic in
             enumerate(["바다", "산", "도시", "기차", "음악", "커피", "고양이", "축구", "겨울", "우주"])]
    burst = folder / "burst"
    burst.mkdir()
    for i in range(1000):
        (burst / f"note{i:04d}.md").write_text(texts[i % 10], encoding="utf-8")
    wait_until(lambda: len(paths(reader)) == 1003, timeout=600, what="all 1,000 files to be indexed")
    n_chunks = reader.store.counts()[1]
    assert reader._synced_vectors().count() == n_chunks  # every passage searchable by meaning too


def test_ctrl_c_leaves_the_index_consistent(small_posts: Path, tmp_path: Path) -> None:
    index_path = tmp_path / "ix"
    proc = subprocess.Popen([sys.executable, "-m", "embedsearch", "watch", str(small_posts), "--index", str(index_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def indexed() -> int:
            if proc.poll() is not None:
                pytest.fail(f"watch ended early: {proc.stderr.read()}")
            try:
                with sqlite3.connect(index_path / "embedsearch.db", timeout=5) as conn:
                    return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
            except sqlite3.Error:
                return 0

        wait_until(lambda: indexed() == 3, what="the catch-up")
        for i in range(20):  # changes arriving while Ctrl-C lands
            write(small_posts / f"extra{i}.md", f"# 추가 {i}\n\n추가한 글 {i}번의 본문입니다. " * 3)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    with Index(index_path) as ix:
        assert ix.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        docs, chunks = ix.store.counts()
        assert docs >= 3 and ix._synced_vectors().count() == chunks
        report = ix.add(small_posts)  # the next run finishes what was left
        assert report.new == 23 - docs and ix.store.counts()[0] == 23


# -- what watch reports --------------------------------------------------------------------------

def test_a_new_folder_counts_each_file_once(small_posts: Path, tmp_path: Path) -> None:
    """A folder made with files in it arrives as one batch of the folder and each file (a long
    quiet time here makes sure of it); each file was read twice and the batch reported "6 new"
    for 3 files."""
    writer = Index(tmp_path / "ix")
    reports: list = []
    watcher = Watcher(writer, [small_posts], step_ms=600, debounce_ms=3000,
                      listener=lambda event, report, message: reports.append((event, report))).start()
    try:
        wait_until(lambda: watcher.ready, what="the first catch-up")
        reports.clear()
        folder = small_posts / "새 폴더"
        folder.mkdir()
        time.sleep(0.2)  # notify watches the new folder now: its files arrive as events too
        for i in range(3):
            write(folder / f"글{i}.md", f"# 새 글 {i}\n\n새 폴더에 쓴 {i}번째 글입니다. 고양이는 상자를 좋아합니다.")
        wait_until(lambda: sum(r.new for e, r in reports if r is not None) >= 3, what="the new folder's files")
        time.sleep(1.5)  # any later batch
    finally:
        watcher.stop()
        writer.close()
    updates = [r for e, r in reports if e == "update"]
    assert sum(r.new for r in updates) == 3, [(r.new, r.touched) for r in updates]
    touched = [p for r in updates for p in r.touched]
    assert len(touched) == len(set(touched)) == 3


def test_update_reads_a_file_once_when_its_folder_is_given_too(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix") as ix:
        ix.add(small_posts)
        folder = small_posts / "new"
        for i in range(2):
            write(folder / f"n{i}.md", f"# 글 {i}\n\n{i}번째 글입니다.")
        report = ix.update([folder, folder / "n0.md", folder / "n1.md"])
        assert report.new == 2 and sorted(Path(p).name for p in report.touched) == ["n0.md", "n1.md"]


def test_watch_lines_name_what_happened(small_posts: Path, tmp_path: Path) -> None:
    """The command's lines on stderr: a new file by name, and a skipped file without an empty label
    in front of it (": no change; 0 chunks embedded; skipped posts/empty.md (...)")."""
    proc = subprocess.Popen([sys.executable, "-m", "embedsearch", "watch", str(small_posts), "--index",
                             str(tmp_path / "ix")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=small_posts.parent)
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if "watching" in line:
                break
        (small_posts / "empty.md").write_text("", encoding="utf-8")
        lines.append(proc.stderr.readline().rstrip("\n"))
        write(small_posts / "한글.md", "# 한글\n\n새로 쓴 한 편의 글입니다.")
        lines.append(proc.stderr.readline().rstrip("\n"))
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    skipped, added = lines[-2].split(" ", 1)[1], lines[-1].split(" ", 1)[1]  # after the HH:MM:SS stamp
    assert skipped == "skipped posts/empty.md (empty: no text to index)", lines
    assert added == "posts/한글.md: 1 new; 1 chunk embedded", lines
