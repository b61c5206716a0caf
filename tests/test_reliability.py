"""Reliability: kills, Ctrl-C, odd files, read-only and damaged indexes, a full disk.

Real processes and real signals. The kill harness (tests/kill_harness.py) strikes at chosen
moments; this module runs its short form (one kill per phase) and the single cases of issue 12.
`python benchmarks/reliability.py` runs the long form (50 kills, 5 Ctrl-Cs).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedsearch import EmbedsearchError, Index

import kill_harness as kh
from conftest import write

ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def posts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kh.make_posts(tmp_path_factory.mktemp("kill") / "posts", n=12)


@pytest.fixture(scope="module")
def reference(posts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh, uninterrupted build of `posts`: what every killed-and-resumed index must equal."""
    path = tmp_path_factory.mktemp("reference") / "ix"
    result = kh.cli("index", str(posts), "--index", str(path))
    assert result.returncode == 0, result.stderr
    return path


# One kill per phase, each at a moment that matters: inside the schema transaction, mid-scan,
# mid-embedding, just before a COMMIT, and between the FAISS temp file and its rename.
SHORT_FORM = [
    ("startup", "py:_file_lock", 1),
    ("schema", "py:_create_v2_parts", 1),
    ("schema", "py:set_meta", 1),
    ("scanning", "py:read_documents", 5),
    ("embedding", "py:embed_passages_with_parts", 1),
    ("committing", "py:defer_interrupts", 1),
    ("vector store", "pyany:write_index", 1),
]


@pytest.mark.parametrize("phase, target, nth", SHORT_FORM, ids=[f"{p}-{t}" for p, t, _ in SHORT_FORM])
def test_a_kill_at_any_moment_leaves_a_usable_index(phase: str, target: str, nth: int, posts: Path, reference: Path,
                                                     tmp_path: Path) -> None:
    index = tmp_path / "ix"
    killed = kh.strike(index, posts, target, nth)
    outcome = kh.Outcome(phase, target, nth, "SIGKILL", killed.returncode)
    assert killed.returncode == -signal.SIGKILL, f"the kill did not land: {killed.stderr[-500:]}"
    committed = kh.check_after(index, posts, outcome)
    kh.resume_and_check(index, posts, committed, outcome)
    assert outcome.problems == []
    assert kh.compare(index, reference) == (0, 0, 0)


@pytest.mark.parametrize("target", ["py:defer_interrupts", "py:embed_passages_with_parts"])
def test_ctrl_c_during_a_commit_or_embedding_is_one_line_and_exit_130(target: str, posts: Path, reference: Path,
                                                                       tmp_path: Path) -> None:
    index = tmp_path / "ix"
    result = kh.strike(index, posts, target, 1, "SIGINT")
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    outcome = kh.Outcome("sigint", target, 1, "SIGINT", result.returncode)
    committed = kh.check_after(index, posts, outcome)
    kh.resume_and_check(index, posts, committed, outcome)
    assert outcome.problems == [] and kh.compare(index, reference) == (0, 0, 0)


@pytest.mark.parametrize("nth", [1, 25, 120])
def test_ctrl_c_while_the_command_line_starts_is_one_line(nth: int, posts: Path, tmp_path: Path) -> None:
    """Ctrl-C at the n-th module import of the command line's start (typer, rich, the index...)."""
    result = kh.strike(tmp_path / "ix", posts, "pyany:_find_and_load", nth, "SIGINT")
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_ctrl_c_a_moment_after_start(posts: Path, tmp_path: Path) -> None:
    """The same with a real timer: 0.3 s in, the command is importing or reading."""
    proc = subprocess.Popen([sys.executable, "-m", "embedsearch", "index", str(posts), "--index", str(tmp_path / "ix")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 0), err  # 0: it finished first
    assert "Traceback" not in err


def test_leftover_temp_files_are_removed_by_the_next_writer(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    kh.strike(index, posts, "pyany:write_index", 1)  # killed after the FAISS temp file was made, mid-write
    assert list(index.glob(".vectors.*.tmp"))
    assert kh.cli("index", str(posts), "--index", str(index)).returncode == 0
    assert not list(index.glob(".vectors.*.tmp"))
    vector_file = next(index.glob("vectors-*.faiss"))
    assert vector_file.stat().st_mode & 0o777 == (index / "embedsearch.db").stat().st_mode & 0o777


def test_two_index_runs_started_together_on_a_new_folder(posts: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    procs = [subprocess.Popen([sys.executable, "-m", "embedsearch", "index", str(posts), "--index", str(index)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results  # both finish one after the other, or one is refused
    for code, err in results:
        if code == 2:
            assert "another `embedsearch index` is writing" in err and "locked" not in err
    assert len(kh.documents(index)) == 12


# -- odd inputs --------------------------------------------------------------------------------

def test_odd_files_are_skipped_with_a_reason_and_the_rest_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    write(folder / "ok.md", "# 보통 글\n\n평범한 글 하나입니다. 고양이는 귀엽습니다.")
    (folder / os.fsdecode(b"bad\xffname.md")).write_text("# 이상한 이름\n\n이름이 UTF-8이 아닌 파일입니다.", encoding="utf-8")
    (folder / "huge.md").write_bytes(b"a" * (6 * 1024 * 1024))  # one 6 MB line
    (folder / "windows.txt").write_bytes("윈도우 메모장이 쓴 UTF-16 파일입니다.".encode("utf-16"))
    result = kh.cli("index", str(folder), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("Skipped")]
    assert len(skipped) == 1 and "huge.md" in skipped[0] and "larger than" in skipped[0]
    names = {Path(p).name for p in kh.documents(tmp_path / "ix")}
    assert names == {"ok.md", "bad\\xffname.md", "windows.txt"}
    found = json.loads(kh.cli("search", "UTF-8이 아닌 이름", "--index", str(tmp_path / "ix"), "--json", "-k", "1").stdout)
    assert found["path"].endswith("bad\\xffname.md")
    with Index(tmp_path / "ix") as ix:  # the printable name leads back to the file
        assert "UTF-8이 아닌" in ix.get(found["path"]).text


def test_a_large_file_does_not_hold_back_the_others(tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    write(folder / "a.md", "# 첫 글\n\n작은 글입니다. 바다는 넓습니다.")
    write(folder / "b.md", "# 둘째 글\n\n작은 글입니다. 산은 높습니다.")
    rows = "\n".join(f"| {i} | 값 {i * 31 % 997} | 설명 {i} 번째 줄 |" for i in range(6000))
    write(folder / "table.md", "# 큰 표\n\n| 번호 | 값 | 설명 |\n|---|---|---|\n" + rows + "\n")
    index = tmp_path / "ix"
    proc = subprocess.Popen([sys.executable, "-m", "embedsearch", "index", str(folder), "--index", str(index)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while len(kh.documents(index)) < 2:  # the two small posts are committed before the big one is done
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 0) and "Traceback" not in err, err  # 0: the table was done first
    assert {Path(p).name for p in kh.documents(index)} >= {"a.md", "b.md"}


def test_damaged_database_is_one_line_everywhere(posts: Path, reference: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    shutil.copytree(reference, index)
    db = index / "embedsearch.db"
    for name in ("embedsearch.db-wal", "embedsearch.db-shm"):
        (index / name).unlink(missing_ok=True)
    db.write_bytes(os.urandom(db.stat().st_size))
    for args in (["status"], ["search", "고양이"], ["index", str(posts)], ["get", "post001.md"]):
        result = kh.cli(*args, "--index", str(index))
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "damaged" in result.stderr and "--rebuild" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert kh.cli("index", str(posts), "--index", str(index), "--rebuild").returncode == 0
    assert list(index.glob("embedsearch.db.damaged-*"))  # kept aside, not deleted
    assert kh.compare(index, reference) == (0, 0, 0)


def test_queries_and_filters_that_cannot_work_are_one_line(reference: Path) -> None:
    # 40,000 syllables: 120 KB, near Linux's limit for one command-line argument (128 KB)
    for args, message in ((["search", "가" * 40_000], "characters long"),
                          (["search", "고양이", "--path", "["], "unclosed '['"),
                          (["search", "고양이", "--kind", "poem"], "unknown kind")):
        result = kh.cli(*args, "--index", str(reference))
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_numeric_tags_can_be_filtered(tmp_path: Path) -> None:
    write(tmp_path / "posts" / "a.md", "---\ntitle: 숫자 태그\ntags: 42\n---\n\n숫자 하나가 태그인 글입니다.")
    write(tmp_path / "posts" / "b.md", "---\ntitle: 다른 글\ntags: [x, 7]\n---\n\n태그가 둘인 다른 글입니다.")
    with Index(tmp_path / "ix") as ix:
        ix.add(tmp_path / "posts")
        assert [Path(h.path).name for h in ix.search("글", tag="42")] == ["a.md"]
        assert [Path(h.path).name for h in ix.search("글", tag="7")] == ["b.md"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_query_text_is_a_result_or_a_clean_error(reference: Path, query: str) -> None:
    with Index(reference) as ix:
        try:
            hits = ix.search(query, k=3, mode="lexical")
        except EmbedsearchError as exc:
            assert "\n" not in str(exc)
            return
        assert len(hits) <= 3


# -- read-only indexes and a full disk (need root: chattr, mount namespaces) --------------------

needs_root = pytest.mark.skipif(not ROOT or shutil.which("unshare") is None, reason="needs root and unshare")


def in_namespace(script: str) -> subprocess.CompletedProcess:
    """Run a shell script in a private mount namespace (read-only binds, a tiny tmpfs)."""
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=600)


@needs_root
def test_a_read_only_mount_searches_like_a_writable_index(reference: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    shutil.copytree(reference, index)
    py = f"{sys.executable} -m embedsearch"
    result = in_namespace(
        f"mount --bind {index} {index} && mount -o remount,ro,bind {index} && "
        f"{py} search '고양이 이야기' --index {index} --json -k 3 && {py} status --index {index} --json && "
        f"{{ {py} index {index.parent} --index {index}; echo index-exit=$?; }}"
    )
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5, result.stdout + result.stderr
    hits = [json.loads(line) for line in lines[:3]]
    assert "고양이" in hits[0]["text"]
    assert json.loads(lines[3])["read_only"] is True
    assert lines[4] == "index-exit=2" and "read-only" in result.stderr


@needs_root
def test_an_immutable_directory_searches(reference: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    shutil.copytree(reference, index)
    subprocess.run(["chattr", "+i", str(index)], check=True)
    try:
        result = kh.cli("search", "고양이 이야기", "--index", str(index), "--json", "-k", "1")
    finally:
        subprocess.run(["chattr", "-i", str(index)], check=True)
    assert result.returncode == 0 and "고양이" in json.loads(result.stdout)["text"], result.stderr


@needs_root
def test_a_full_disk_is_one_line_and_the_index_stays_as_it_was(posts: Path, tmp_path: Path) -> None:
    mount = tmp_path / "tiny"
    mount.mkdir()
    big = kh.make_posts(tmp_path / "big", n=600)
    py = f"{sys.executable} -m embedsearch"
    result = in_namespace(
        f"mount -t tmpfs -o size=1200k tmpfs {mount} && "
        f"{{ {py} index {posts} --index {mount}/ix; echo first=$?; }} && "
        f"{{ {py} index {big} --index {mount}/ix; echo second=$?; }} && "
        f"{py} status --index {mount}/ix --json && "
        f"{py} search '고양이' --index {mount}/ix --json -k 1"
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "first=0" in result.stdout
    assert "second=1" in result.stdout and "no space left" in result.stderr, result.stdout + result.stderr
    status = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{\"path\"")))
    assert status["documents"] >= 12  # what was committed before the disk filled stays searchable


def test_an_index_brought_up_to_date_edit_by_edit_equals_a_fresh_build(tmp_path: Path) -> None:
    """The same text gets the same vector whatever else is embedded with it: an index updated one
    edit at a time (each file re-embedded alone) holds exactly what a fresh build of the final
    files holds. With per-batch int8 scales 102 of 347 vectors differed beyond cosine 0.999."""
    from embedsearch import Index

    posts = kh.make_posts(tmp_path / "posts", n=9)
    edited = tmp_path / "ix"
    with Index(edited, create=True) as ix:
        ix.add(posts)
        for i in (0, 3, 6):  # one file at a time, as watch applies saves
            path = posts / f"post{i:03d}.md"
            path.write_text(path.read_text(encoding="utf-8").replace("정말 좋습니다", f"{i}번째로 고쳤습니다"),
                            encoding="utf-8")
            ix.update([path])
    fresh = tmp_path / "fresh"
    with Index(fresh, create=True) as ix:
        ix.add(posts)
    assert kh.compare(edited, fresh) == (0, 0, 0)
    got, want = kh.snapshot(edited), kh.snapshot(fresh)
    assert all(np.array_equal(got[key][6], want[key][6]) for key in want)  # the same bytes, not only close
    assert all(np.array_equal(got[key][7], want[key][7]) for key in want)  # and the sentences' vectors
    assert sum(len(want[key][7]) for key in want) > len(want)  # (they have sentences)
