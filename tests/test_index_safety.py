"""Index safety (issues 16 and 17): what `get` opens, what the walk follows, what a failed rebuild keeps.

Real symlinks, a real FIFO (os.mkfifo), a real link to /dev/zero, real processes killed with
real signals (the reliability harness's child, tests/kill_harness.py).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from embedsearch import EmbedsearchError, Index
from embedsearch.files import Reader, WalkStats, registry, walk

import kill_harness as kh
from conftest import write

SECRET = "SSH 비밀 열쇠: 이 줄이 검색되거나 보이면 안 됩니다. zebra-quartz-7731"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(posts folder, index, a secret file outside the folder)."""
    posts = tmp_path / "posts"
    write(posts / "cat.md", "# 고양이\n\n고양이는 하루에 열여섯 시간을 잡니다. 낮잠을 좋아합니다.\n")
    write(posts / "sea.md", "# 바다\n\n바다는 넓고 푸릅니다. 파도 소리를 들으면 마음이 편합니다.\n")
    write(posts / "sub" / "tea.txt", "녹차는 낮은 온도의 물로 우려야 쓰지 않습니다.\n")
    secret = write(tmp_path / "home" / ".ssh" / "id_rsa.txt", SECRET + "\n")
    return posts, tmp_path / "ix", secret


def call_with_timeout(fn, seconds: float = 20.0):  # type: ignore[no-untyped-def]
    """fn() in a thread: a FIFO or /dev/zero that blocks or floods fails the test instead of hanging it."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (blocked on a FIFO, or reading /dev/zero)"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def hits(index: Path, query: str, k: int = 5) -> list[tuple[str, int, float]]:
    with Index(index) as ix:
        return [(h.path, h.line_start, round(h.score, 4)) for h in ix.search(query, k=k)]


# -- 2. get opens only the file that was indexed ---------------------------------------------

def test_get_reads_the_indexed_file_as_before(setup: tuple[Path, Path, Path]) -> None:
    posts, index, _ = setup
    with Index(index) as ix:
        ix.add(posts)
        doc = ix.get("cat.md", 3)
    assert doc.source == "file" and doc.note == "" and "열여섯 시간" in doc.text


@pytest.mark.parametrize("swap", ["symlink-out", "fifo", "dev-zero", "symlink-in", "changed", "gone"])
def test_get_never_serves_what_was_swapped_in(swap: str, setup: tuple[Path, Path, Path]) -> None:
    posts, index, secret = setup
    with Index(index) as ix:
        ix.add(posts)
    target = posts / "cat.md"
    target.unlink()
    if swap == "symlink-out":
        target.symlink_to(secret)
    elif swap == "fifo":
        os.mkfifo(target)
    elif swap == "dev-zero":
        target.symlink_to("/dev/zero")
    elif swap == "symlink-in":  # a link to another post of the folder: not the bytes that were indexed
        target.symlink_to(posts / "sea.md")
    elif swap == "changed":
        write(target, "# 고양이\n\n" + SECRET + "\n")
    with Index(index) as ix:
        doc = call_with_timeout(lambda: ix.get(str(target)))
        lines = call_with_timeout(lambda: ix.get("cat.md", 3, 3))
    assert doc.source == "index" and "showing the indexed text" in doc.note
    assert "열여섯 시간" in doc.text and SECRET not in doc.text and "바다" not in doc.text
    assert lines.source == "index" and "열여섯 시간" in lines.text
    expected = {"symlink-out": "leads out of the indexed folder", "fifo": "not a regular file",
                "dev-zero": "leads out of the indexed folder", "symlink-in": "changed since it was indexed",
                "changed": "changed since it was indexed", "gone": "gone"}[swap]
    assert expected in doc.note, doc.note


def test_get_refuses_a_device_or_fifo_even_when_links_were_allowed(setup: tuple[Path, Path, Path]) -> None:
    """--follow-symlinks lets a link lead out of the folder; it still never reads /dev/zero or a FIFO."""
    posts, index, _ = setup
    with Index(index) as ix:
        ix.add(posts, follow_symlinks=True)
    (posts / "cat.md").unlink()
    (posts / "cat.md").symlink_to("/dev/zero")
    (posts / "sea.md").unlink()
    os.mkfifo(posts / "sea.md")
    with Index(index) as ix:
        zero = call_with_timeout(lambda: ix.get("cat.md"))
        fifo = call_with_timeout(lambda: ix.get("sea.md"))
    assert zero.source == fifo.source == "index"
    assert "not a regular file" in zero.note and "not a regular file" in fifo.note


def test_get_holds_a_file_to_the_size_limit_of_its_index(setup: tuple[Path, Path, Path]) -> None:
    posts, index, _ = setup
    with Index(index) as ix:
        ix.add(posts, max_file_size=200)
        assert ix.get("cat.md").source == "file"  # 100-odd bytes: within the limit
    with open(posts / "cat.md", "a", encoding="utf-8") as f:
        f.write("덧붙인 줄입니다. " * 100)
    with Index(index) as ix:
        doc = ix.get("cat.md")
    assert doc.source == "index" and "--max-file-size" in doc.note and "덧붙인" not in doc.text


def test_cli_get_prints_the_note_on_one_line_and_mcp_shows_it(setup: tuple[Path, Path, Path]) -> None:
    posts, index, secret = setup
    with Index(index) as ix:
        ix.add(posts)
    (posts / "cat.md").unlink()
    (posts / "cat.md").symlink_to(secret)
    import pty

    master, slave = pty.openpty()  # stdout a terminal: the text, not JSON
    proc = subprocess.Popen([sys.executable, "-m", "embedsearch", "get", "cat.md", "--index", str(index)],
                            stdout=slave, stderr=subprocess.PIPE, text=True)
    os.close(slave)
    _, err = proc.communicate(timeout=120)
    out = b""
    while True:
        try:
            part = os.read(master, 65536)
        except OSError:
            break
        if not part:
            break
        out += part
    os.close(master)
    assert proc.returncode == 0, err
    assert SECRET not in out.decode() and "열여섯 시간" in out.decode()
    assert err.strip() == "the file now leads out of the indexed folder; showing the indexed text"
    as_json = json.loads(kh.cli("get", "cat.md", "--index", str(index), "--json").stdout)
    assert as_json["source"] == "index" and "leads out" in as_json["note"] and SECRET not in as_json["text"]

    from embedsearch.mcp_server import _document_text

    with Index(index) as ix:
        text = _document_text(ix.get("cat.md"), None)
    assert "(the file now leads out of the indexed folder; showing the indexed text)" in text and SECRET not in text


# -- 3. the walk does not follow symlinks out of the folder ----------------------------------

def test_links_out_of_the_folder_are_not_indexed_unless_asked(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    posts, index, secret = setup
    (posts / "key.txt").symlink_to(secret)  # a file link out
    (posts / "ssh").symlink_to(secret.parent, target_is_directory=True)  # a folder link out
    (posts / "same.md").symlink_to(posts / "sea.md")  # a link inside: one file, indexed once
    with Index(index) as ix:
        report = ix.add(posts)
        assert report.links_skipped == 2 and report.new == 3, report
        assert all(SECRET not in h.text for h in ix.search("SSH 비밀 열쇠 zebra-quartz", k=10))
        with pytest.raises(EmbedsearchError, match="no document"):
            ix.get("key.txt")
    result = kh.cli("index", str(posts), "--index", str(index))
    assert "Skipped 2 symlinks that lead out of the folder (--follow-symlinks to index them)" in result.stderr

    followed = tmp_path / "ix-follow"
    result = kh.cli("index", str(posts), "--index", str(followed), "--follow-symlinks", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["links_skipped"] == 0
    with Index(followed) as ix:
        found = ix.search("SSH 비밀 열쇠 zebra-quartz", k=3)
        assert SECRET in found[0].text
        assert ix.get("key.txt").source == "file"  # the index allowed that link: served, as indexed
        assert ix.status()["documents"] == 4  # id_rsa.txt once (key.txt and ssh/id_rsa.txt are one file)


def test_symlink_loops_end_and_each_file_is_read_once(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    write(posts / "a" / "one.md", "# 하나\n\n첫 번째 글입니다.\n")
    (posts / "a" / "back").symlink_to(posts, target_is_directory=True)  # posts/a/back -> posts: a loop
    (posts / "self").symlink_to(posts / "self")  # a link to itself
    for follow in (False, True):
        stats = WalkStats()
        found = call_with_timeout(lambda: list(walk(posts, follow_symlinks=follow, stats=stats)))
        assert [p.name for p in found] == ["one.md"] and stats.links_skipped == 0


def test_a_file_swapped_for_a_link_after_the_walk_is_not_read(setup: tuple[Path, Path, Path]) -> None:
    """The indexer checks each file again when it reads it: a link or FIFO swapped in is skipped."""
    from embedsearch.writing import _read_source

    posts, _, secret = setup
    (posts / "cat.md").unlink()
    (posts / "cat.md").symlink_to(secret)
    (posts / "sea.md").unlink()
    os.mkfifo(posts / "sea.md")
    fence = os.path.realpath(posts)
    linked = _read_source(posts / "cat.md", None, fence)
    fifo = call_with_timeout(lambda: _read_source(posts / "sea.md", None, fence))
    assert not linked.documents and "leads out of the folder" in linked.skipped
    assert not fifo.documents and fifo.skipped == "not a regular file"


# -- 6. a failed rebuild leaves the index as it was --------------------------------------------

def index_state(index: Path) -> tuple[dict[str, str], list[tuple[str, int, float]], list[tuple[str, int, float]]]:
    return kh.documents(index), hits(index, "고양이 낮잠"), hits(index, "녹차 우리는 온도")


def test_a_rebuild_with_nothing_to_index_changes_nothing(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    posts, index, _ = setup
    with Index(index) as ix:
        ix.add(posts)
    before = index_state(index)
    assert len(before[0]) == 3 and before[1]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = kh.cli("index", str(empty), "--index", str(index), "--rebuild")
    assert result.returncode == 2 and "nothing to index" in result.stderr, result.stderr
    assert index_state(index) == before
    unreadable = tmp_path / "unreadable"  # files, but none that can be read: all skipped
    (unreadable / "blob.md").parent.mkdir()
    (unreadable / "blob.md").write_bytes(b"\x00\x01\x02binary" * 10)
    write(unreadable / "blank.txt", "\n\n")
    with Index(index) as ix:
        with pytest.raises(EmbedsearchError, match="nothing to index.*2 file"):
            ix.add(unreadable, rebuild=True)
    assert index_state(index) == before
    with Index(index) as ix:  # and a rebuild that works still replaces everything
        report = ix.add(posts / "sub", rebuild=True)
        assert report.new == 1 and ix.status()["documents"] == 1


@pytest.mark.parametrize("signame", ["SIGKILL", "SIGINT"])
def test_an_interrupted_rebuild_leaves_the_index_as_it_was(signame: str, tmp_path: Path) -> None:
    posts = kh.make_posts(tmp_path / "posts", n=12)
    index = tmp_path / "ix"
    assert kh.cli("index", str(posts), "--index", str(index)).returncode == 0
    before = kh.documents(index), hits(index, "고양이 이야기"), hits(index, "기차 이야기")
    vector_files = sorted(p.name for p in index.glob("vectors-*.faiss"))
    edited = kh.make_posts(tmp_path / "edited", n=12, version=1)
    # the 5th document written, groups of 2 chunks committed as they fill: before this change
    # the first groups were committed over an already cleared index
    killed = subprocess.run([sys.executable, "-c", kh.CHILD, "py:replace_document", "5", signame, "2", "index",
                             str(edited), "--index", str(index), "--rebuild"],
                            capture_output=True, text=True, timeout=600)
    if signame == "SIGKILL":
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-500:]
    else:
        assert killed.returncode == 130 and "Traceback" not in killed.stderr, killed.stderr
        assert killed.stderr.strip() == "Interrupted: the rebuild was undone; the index is as it was."
    after = kh.documents(index), hits(index, "고양이 이야기"), hits(index, "기차 이야기")
    assert after == before
    assert sorted(p.name for p in index.glob("vectors-*.faiss")) == vector_files
    outcome = kh.Outcome("rebuild", "py:replace_document", 5, signame, killed.returncode)
    kh.check_after(index, posts, outcome)
    assert outcome.problems == []
    done = kh.cli("index", str(edited), "--index", str(index), "--rebuild", "--json")  # and it can be run again
    assert done.returncode == 0 and json.loads(done.stdout)["new"] == 12, done.stderr
    assert kh.documents(index) != before[0]


# -- 17. the walk says what it did not read ---------------------------------------------------

UNREAD = ".textile"  # a format no reader handles (a .mdx reader is on its way)


def test_unread_suffixes_are_counted_and_reported(tmp_path: Path) -> None:
    assert UNREAD not in registry.suffixes()
    posts = tmp_path / "posts"
    for i in range(71):
        write(posts / f"post{i:02d}{UNREAD}", f"h1. 글 {i}\n\n본문 {i}.\n")
    (posts / "cover.png").write_bytes(b"\x89PNG\r\n")
    (posts / ".DS_Store").write_bytes(b"\x00")  # hidden: not a post, not counted
    result = kh.cli("index", str(posts), "--index", str(tmp_path / "ix"))
    assert result.returncode == 2, result.stderr
    assert "nothing to index" in result.stderr and f"skipped 71 {UNREAD} files, 1 .png file (no reader)" in result.stderr

    write(posts / "one.md", "# 하나\n\n읽을 수 있는 글 하나입니다.\n")
    result = kh.cli("index", str(posts), "--index", str(tmp_path / "ix"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["unread"] == {UNREAD: 71, ".png": 1}
    assert f"Skipped 71 {UNREAD} files, 1 .png file (no reader)" in result.stderr


def test_a_reader_registered_after_import_is_walked_to(tmp_path: Path) -> None:
    from embedsearch import files

    class TextileReader(Reader):
        suffixes = (UNREAD,)

        def parse(self, text: str, path: str):  # type: ignore[no-untyped-def]
            return files.parse(text, path + ".txt")

    posts = tmp_path / "posts"
    write(posts / f"a{UNREAD}", "h1. 제목\n\n텍스타일로 쓴 글입니다.\n")
    assert list(walk(posts)) == [] and UNREAD not in files.SUFFIXES
    registry.register(TextileReader())
    try:
        assert [p.name for p in walk(posts)] == [f"a{UNREAD}"] and UNREAD in files.SUFFIXES
        with Index(tmp_path / "ix") as ix:
            report = ix.add(posts)
            assert report.new == 1 and report.unread == {}
    finally:
        registry.READERS.unregister(UNREAD)
