"""The long form of the reliability harness: 50 SIGKILLs over every phase of `embedsearch index`, 5 Ctrl-Cs.

    python benchmarks/reliability.py            # ~15 minutes on 2 cores
    python benchmarks/reliability.py --kills 12 --sigints 2   # a quick look

Each strike runs the real command line on 24 short posts and signals it at the n-th call of a
chosen function (tests/kill_harness.py: schema creation, scanning, embedding, committing, the
vector store's sync and file write, startup). Half the strikes hit a fresh index, half an edit
run over an existing one. Concurrent searches run against the index the whole time. Printed:
per phase, kills that landed, indexes that failed to open, tracebacks, committed work lost,
final indexes that differ from a fresh build, and the search failures during writes.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import kill_harness as kh  # noqa: E402


class Searcher(threading.Thread):
    """`embedsearch search` in a loop against whatever index is being written."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.index: Path | None = None
        self.stop = threading.Event()
        self.runs = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            index = self.index
            if index is None or not (index / "embedsearch.db").exists():
                time.sleep(0.1)
                continue
            result = kh.cli("search", "고양이 이야기", "--index", str(index), "--json", "-k", "3", timeout=120)
            self.runs += 1
            if "Traceback" in result.stderr or result.returncode not in (0, 2):
                self.failures.append(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else
                                     f"exit {result.returncode}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--sigints", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "embedsearch-reliability")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    shutil.rmtree(args.workdir, ignore_errors=True)
    posts = kh.make_posts(args.workdir / "posts", n=24)
    edited = kh.make_posts(args.workdir / "edited", n=24, version=1)  # only for its reference build

    # references: fresh, uninterrupted builds of both folder states
    refs = {}
    for name, folder in (("posts", posts), ("edited", edited)):
        refs[name] = args.workdir / f"ref-{name}"
        subprocess.run([sys.executable, "-m", "embedsearch", "index", str(folder), "--index", str(refs[name])],
                       check=True, capture_output=True)

    phases = list(kh.TARGETS)
    plan = [(phases[i % len(phases)], "SIGKILL") for i in range(args.kills)]
    plan += [(rng.choice(["embedding", "committing", "scanning"]), "SIGINT") for _ in range(args.sigints)]
    searcher = Searcher()
    searcher.start()
    table: dict[str, Counter] = defaultdict(Counter)
    started = time.time()
    for i, (phase, signame) in enumerate(plan):
        target = rng.choice(kh.TARGETS[phase])
        nth = 1 if phase in ("startup", "schema") else rng.randint(1, 4)
        fresh = phase == "schema" or i % 2 == 0
        if not fresh and target in ("pyany:write_index", "py:prune_log"):
            target = "py:sync"  # an edit run applies its few changes in place: no file is written
        index = args.workdir / f"ix{i:03d}"
        folder = kh.make_posts(args.workdir / f"posts{i:03d}", n=24)
        ref = refs["posts"]
        if not fresh:  # an edit run over an existing index: a third of the posts change in place
            subprocess.run([sys.executable, "-m", "embedsearch", "index", str(folder), "--index", str(index)],
                           check=True, capture_output=True)
            kh.make_posts(folder, n=24, version=1)
            ref = refs["edited"]
        searcher.index = index
        result = kh.strike(index, folder, target, nth, signame)
        row = table[f"{phase} ({signame})"]
        row["runs"] += 1
        landed = result.returncode == (-9 if signame == "SIGKILL" else 130)
        row["landed"] += landed
        if signame == "SIGINT" and ("Traceback" in result.stderr or
                                    (landed and len(result.stderr.strip().splitlines()) != 1)):
            row["sigint not one line"] += 1
        outcome = kh.Outcome(phase, target, nth, signame, result.returncode)
        committed = kh.check_after(index, folder, outcome)
        row["failed to open"] += any("exit" in p or "no index" in p for p in outcome.problems)
        row["tracebacks"] += any("traceback" in p for p in outcome.problems)
        kh.resume_and_check(index, folder, committed, outcome)
        row["work lost"] += any("lost" in p or "re-indexed" in p for p in outcome.problems)
        missing, extra, differing = kh.compare(index, ref)
        row["differs from fresh"] += bool(missing or extra or differing)
        row["other problems"] += len([p for p in outcome.problems if not any(
            w in p for w in ("exit", "no index", "traceback", "lost", "re-indexed"))])
        for problem in outcome.problems:
            print(f"  {phase} {target}#{nth} {signame}: {problem}", file=sys.stderr)
        shutil.rmtree(index, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    searcher.stop.set()
    searcher.join(120)

    columns = ["runs", "landed", "failed to open", "tracebacks", "work lost", "differs from fresh", "other problems",
               "sigint not one line"]
    print(f"# {args.kills} SIGKILLs and {args.sigints} SIGINTs of `embedsearch index` "
          f"({time.time() - started:.0f} s)\n")
    print("| phase | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    total: Counter = Counter()
    for name, row in table.items():
        total.update(row)
        print(f"| {name} | " + " | ".join(str(row[c]) for c in columns) + " |")
    print("| **all** | " + " | ".join(f"**{total[c]}**" for c in columns) + " |")
    print(f"\nconcurrent searches during the strikes: {searcher.runs}, failed: {len(searcher.failures)}")
    for failure in searcher.failures[:5]:
        print(f"  {failure}")
    print(json.dumps({"total": dict(total), "searches": searcher.runs, "search_failures": len(searcher.failures)}))


if __name__ == "__main__":
    main()
