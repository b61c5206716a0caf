"""Kill `embedsearch index` at chosen moments and check what is left: the reliability harness.

A child process runs the real command line (`embedsearch index FOLDER --index PATH`) under a
`sys.setprofile` hook that sends the child a signal when it reaches the n-th call of a chosen
function, so a kill lands exactly in schema creation, scanning, embedding, a commit or the FAISS
write, not wherever a timer happens to fall. After each kill the harness checks that:

- `status` and `search` end cleanly (exit 0, or exit 2 "no index" before any schema existed),
  never with a traceback, and the database passes `PRAGMA integrity_check`;
- nothing committed is lost: every document in the database right after the kill is still
  there after the next run, and that run does not embed it again;
- after a final complete run, the index equals one built from scratch (same chunks, same
  vectors) and its vector store holds exactly the chunks.

`tests/test_reliability.py` runs a short form in CI; `python benchmarks/reliability.py` runs
the 50-kill version and prints its figures.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHILD = r"""
import os, signal, sys
target, nth, signame, commit_every = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
kind, _, name = target.partition(":")
count = 0

def hook(frame, event, arg):
    global count
    if kind == "c" and event == "c_call":  # a C function of a module (os.replace), not a str method
        hit = getattr(arg, "__name__", "") == name and bool(getattr(arg, "__module__", None))
    elif kind == "py" and event == "call":  # a function of embedsearch's own
        hit = frame.f_code.co_name == name and "embedsearch" in frame.f_code.co_filename
    elif kind == "pyany" and event == "call":  # a Python function anywhere (faiss's SWIG wrappers)
        hit = frame.f_code.co_name == name
    else:
        return
    if hit:
        count += 1
        if count == nth:
            sys.setprofile(None)
            os.kill(os.getpid(), getattr(signal, signame))

# As at a terminal: a process started in the background by a shell inherits SIGINT ignored, and
# Python then installs no KeyboardInterrupt handler (the SIGINT strikes of a backgrounded
# benchmarks/reliability.py run all went unheard).
signal.signal(signal.SIGINT, signal.default_int_handler)
import embedsearch.indexer
embedsearch.indexer.COMMIT_EVERY = commit_every  # small groups: a kill lands between commits
sys.argv = ["embedsearch", *sys.argv[5:]]
from embedsearch._entry import main
sys.setprofile(hook)
main()
"""

# phase -> the functions whose n-th call is the moment to strike ("py:" embedsearch's Python,
# "pyany:" any Python function, "c:" a C function of a module)
TARGETS: dict[str, list[str]] = {
    "startup": ["py:__init__", "py:_file_lock"],
    "schema": ["py:_create_tables", "py:_create_v2_parts", "py:_migrate_to_3", "py:create_table", "py:set_meta"],
    "scanning": ["py:_read_source", "py:read_documents"],
    "embedding": ["py:embed_passages_with_parts", "py:_chunk"],
    "committing": ["py:replace_document", "py:defer_interrupts", "py:_log"],
    "vector store": ["py:sync", "pyany:write_index", "c:replace", "py:prune_log"],
}
TOPICS = ["바다", "산", "도시", "기차", "음악", "커피", "고양이", "축구", "겨울", "우주", "사과", "나무"]


def make_posts(folder: Path, n: int = 24, version: int = 0) -> Path:
    """n short Korean posts; `version` changes a third of them (an edit run)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        edited = f" 고친 판 {version}." if version and i % 3 == 0 else ""
        text = (f"---\ntitle: {topic} 이야기 {i}\ntags: [t{i % 4}]\n---\n\n# {topic}\n\n"
                + f"{topic}에 관한 {i}번째 이야기입니다.{edited} " * 4
                + f"\n\n## 덧붙임\n\n고유 번호 {i * 7919}번 문단입니다. {topic}는 정말 좋습니다.\n")
        (folder / f"post{i:03d}.md").write_text(text, encoding="utf-8")
    return folder


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embedsearch", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def strike(index: Path, folder: Path, target: str, nth: int, signame: str = "SIGKILL", commit_every: int = 6,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `embedsearch index` and signal it at the n-th call of `target` (committing every few chunks)."""
    return subprocess.run([sys.executable, "-c", CHILD, target, str(nth), signame, str(commit_every), "index",
                           str(folder), "--index", str(index)], capture_output=True, text=True, timeout=600, env=env)


def documents(index: Path) -> dict[str, str]:
    """path -> content hash of the committed documents (what a reader of the database sees)."""
    db = index / "embedsearch.db"
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10) as conn:
            return dict(conn.execute("SELECT path, content_hash FROM documents").fetchall())
    except sqlite3.OperationalError:  # no tables yet: nothing committed
        return {}


def snapshot(index: Path) -> dict[tuple[str, int], tuple[str, str, int, int, str, str, np.ndarray, np.ndarray]]:
    """(file name, ordinal) -> (text, heading, line_start, line_end, kind, sentences, vector, sentence
    vectors) of every chunk."""
    with sqlite3.connect(f"{(index / 'embedsearch.db').as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT documents.path, chunks.ordinal, chunks.text, chunks.heading, chunks.line_start, chunks.line_end,"
            " chunks.kind, chunks.sentences, chunks.vector, chunks.sentence_vectors FROM chunks"
            " JOIN documents ON documents.id = chunks.document_id").fetchall()
    return {(Path(p).name, o): (t, h, a, b, k, s, np.frombuffer(v, dtype=np.float32),
                                np.frombuffer(sv or b"", dtype=np.float16).astype(np.float32).reshape(-1, 384))
            for p, o, t, h, a, b, k, s, v, sv in rows}


# The default engine embeds each passage on its own (vectors/onnx_e5.py), so a passage's vector
# no longer depends on the passages embedded with it: a resumed index, embedded in other groups
# than a fresh build, must hold the same vectors (float32 rounding aside; before, per-batch int8
# scales let them drift to cosine 0.998).
SAME_VECTOR = 0.99999


def compare(index: Path, reference: Path) -> tuple[int, int, int]:
    """(missing, extra, differing) chunks of `index` against a fresh build `reference`."""
    got, want = snapshot(index), snapshot(reference)
    missing = len(want.keys() - got.keys())
    extra = len(got.keys() - want.keys())
    differing = 0
    for key in want.keys() & got.keys():
        a, b = got[key], want[key]
        cosine = float(np.dot(a[6], b[6]))
        # the sentences' vectors too (float16: the same bits from the same run)
        same_sentences = a[7].shape == b[7].shape and np.array_equal(a[7], b[7])
        if a[:6] != b[:6] or cosine < SAME_VECTOR or not same_sentences:
            differing += 1
    return missing, extra, differing


@dataclass
class Outcome:
    phase: str
    target: str
    nth: int
    signal: str
    exit_code: int
    problems: list[str] = field(default_factory=list)
    committed: int = 0  # documents in the database right after the signal


def check_after(index: Path, folder: Path, outcome: Outcome, env: dict[str, str] | None = None) -> dict[str, str]:
    """status/search/integrity right after a kill; returns the committed documents."""
    committed = documents(index)
    outcome.committed = len(committed)
    for args in (["status", "--json"], ["search", "고양이 이야기", "--json", "-k", "3"]):
        result = cli(*args, "--index", str(index), env=env)
        if "Traceback" in result.stderr:
            outcome.problems.append(f"{args[0]}: traceback: {result.stderr.strip().splitlines()[-1]}")
        elif result.returncode not in (0, 2) or (result.returncode == 2 and "no index at" not in result.stderr):
            outcome.problems.append(f"{args[0]}: exit {result.returncode}: {result.stderr.strip()[:200]}")
        elif result.returncode == 2 and committed:
            outcome.problems.append(f"{args[0]}: 'no index' although {len(committed)} documents are committed")
    db = index / "embedsearch.db"
    if db.exists():
        with sqlite3.connect(db) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                outcome.problems.append("integrity check failed")
    return committed


def resume_and_check(index: Path, folder: Path, committed: dict[str, str], outcome: Outcome,
                     env: dict[str, str] | None = None) -> None:
    """A complete run after the kill: it must succeed and keep (not re-embed) what was committed."""
    result = cli("index", str(folder), "--index", str(index), "--json", env=env)
    if result.returncode != 0:
        outcome.problems.append(f"resume failed: exit {result.returncode}: {result.stderr.strip()[-300:]}")
        return
    report = json.loads(result.stdout)
    after = documents(index)
    lost = [p for p in committed if p not in after]
    if lost:
        outcome.problems.append(f"{len(lost)} committed documents lost")
    current = {p: h for p, h in committed.items() if after.get(p) == h}
    if report["unchanged"] < len(current):
        outcome.problems.append(f"resume re-indexed committed documents ({report['unchanged']} < {len(current)})")
    leftovers = [p.name for p in index.glob(".vectors.*.tmp")]
    if leftovers:
        outcome.problems.append(f"temp files left after a complete run: {leftovers}")
    status = cli("status", "--json", "--index", str(index), env=env)
    if status.returncode == 0:
        info = json.loads(status.stdout)
        if info["vector_store"].get("vectors") != info["chunks"]:
            outcome.problems.append(f"vector store holds {info['vector_store'].get('vectors')} of {info['chunks']} chunks")
