"""`embedsearch serve` under load: 8 concurrent clients while `watch` applies edits, then a steady 10 queries/s.

    python benchmarks/load.py                  # 60 s per phase on ../shared/corpus
    python benchmarks/load.py --seconds 20     # a quicker look

It indexes a copy of the reference corpus (`../shared/corpus`), starts `embedsearch serve
--watch` on it in its own process, and measures from this process over HTTP:

1. **CPU per query**: hybrid searches one at a time; the server's CPU seconds (utime + stime
   from /proc) per request. What the CPU allows is then `cores / CPU seconds per query`.
2. **8 concurrent clients for N s** (closed loop: each sends its next query when the last one
   answers) while an editor changes a paragraph of a post every 3 s; `watch` re-indexes it and a
   probe measures how long until the edit is searchable. Throughput, p50/p95/p99, failures.
3. **A steady 10 queries/s for N s** (open loop: requests leave on schedule whatever the
   answers do, and latency counts from the scheduled time, so a stall shows instead of hiding).

Every figure is printed with the load average; the machine has 2 cores and this process (the
clients) takes some of them.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
QUESTIONS = ROOT / "benchmarks" / "quality" / "questions_own.jsonl"
TICKS = os.sysconf("SC_CLK_TCK")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f}"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def queries() -> list[str]:
    """The hand-written questions over the reference corpus (Korean paraphrases, English questions)."""
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["q"] for r in rows if r.get("corpus") == "shared"] or [r["q"] for r in rows]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class Server:
    """`embedsearch serve --watch` in its own process, on a free port."""

    def __init__(self, index: Path, posts: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "embedsearch", "serve", "--index", str(index), "--port", "0", "--watch", str(posts)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.url = ""
        self.lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 180
        while not self.url:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start: {self.proc.stderr}")
            line = self.lines.get(timeout=180)
            match = re.search(r"at (http://\S+)", line)
            if match:  # http://127.0.0.1:PORT/?token=…: the per-run token rides along to the clients
                self.url = match.group(1)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Client:
    """One keep-alive HTTP/1.1 connection, through the standard library's http.client.

    The clients share the server's 2 cores, so they should cost it as little as they can: a
    request through http.client takes a fraction of the CPU httpx spends on it.
    """

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        token = urllib.parse.parse_qs(parts.query).get("token", [""])[0]
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str, params: dict[str, object]) -> bytes:
        target = f"{path}?{urllib.parse.urlencode(params)}"
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more on a new one
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request("GET", target, headers=self.headers)
                response = self.conn.getresponse()
                body = response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
            return body
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def search(client: Client, q: str, **params: object) -> float:
    started = time.perf_counter()
    client.get("/api/search", {"q": q, "k": 5, **params})
    return time.perf_counter() - started


def own_cpu() -> float:
    """CPU seconds this process (the clients and the editor) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phase_cpu(server: Server, qs: list[str], n: int) -> dict[str, float]:
    client = Client(server.url)
    for q in qs[:10]:  # warm: model, vector store, connections
        search(client, q)
    before = cpu_seconds(server.proc.pid)
    started = time.perf_counter()
    latencies = [search(client, qs[i % len(qs)]) for i in range(n)]
    wall = time.perf_counter() - started
    cpu = cpu_seconds(server.proc.pid) - before
    client.close()
    per_query = cpu / n
    return {"queries": n, "cpu_ms_per_query": per_query * 1000, "p50_ms": pct(latencies, 50) * 1000,
            "p95_ms": pct(latencies, 95) * 1000, "cpu_allows_qps": (os.cpu_count() or 2) / per_query,
            "one_client_qps": n / wall}


class Editor(threading.Thread):
    """Every `every` s: change a paragraph of a post, then time until a search finds the change."""

    def __init__(self, url: str, posts: Path, stop: threading.Event, every: float = 3.0) -> None:
        super().__init__(daemon=True)
        self.url, self.posts, self.stop, self.every = url, posts, stop, every
        self.latencies: list[float] = []
        self.missed = 0

    def run(self) -> None:
        files = sorted(self.posts.glob("*.txt"))
        n = 0
        client = Client(self.url)
        while not self.stop.wait(self.every):
            n += 1
            path = files[n % len(files)]
            marker = f"편집표식{n:04d}"
            lines = path.read_text(encoding="utf-8").split("\n")
            lines[len(lines) // 2] += f" {marker} 문장을 덧붙였습니다."
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text("\n".join(lines), encoding="utf-8")
            os.replace(tmp, path)  # an editor's save
            saved = time.perf_counter()
            while time.perf_counter() - saved < 30:
                # searchable: a search for the marker finds the passage among its first five
                hits = json.loads(client.get("/api/search", {"q": marker, "k": 5, "mode": "lexical"}))["hits"]
                if any(marker in hit["text"] for hit in hits):
                    self.latencies.append(time.perf_counter() - saved)
                    break
                time.sleep(0.05)
            else:
                self.missed += 1
                print(f"   edit {marker} in {path.name} not searchable after 30 s", flush=True)
        client.close()


def phase_concurrent(server: Server, qs: list[str], posts: Path, clients: int, seconds: float) -> dict[str, float]:
    stop = threading.Event()
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client_loop(offset: int) -> None:
        client = Client(server.url)
        i = offset
        while not stop.is_set():
            try:
                took = search(client, qs[i % len(qs)])
                with lock:
                    latencies.append(took)
            except (RuntimeError, OSError, http.client.HTTPException):
                with lock:
                    failures[0] += 1
            i += clients
        client.close()

    editor = Editor(server.url, posts, stop)
    threads = [threading.Thread(target=client_loop, args=(c,), daemon=True) for c in range(clients)]
    before, before_clients = cpu_seconds(server.proc.pid), own_cpu()
    started = time.perf_counter()
    editor.start()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    wall = time.perf_counter() - started
    editor.join(60)
    cpu = cpu_seconds(server.proc.pid) - before
    clients_cpu = own_cpu() - before_clients
    return {"clients_cpu_share": clients_cpu / wall / (os.cpu_count() or 2), "clients": clients, "requests": len(latencies), "failed": failures[0], "qps": len(latencies) / wall,
            "p50_ms": pct(latencies, 50) * 1000, "p95_ms": pct(latencies, 95) * 1000,
            "p99_ms": pct(latencies, 99) * 1000, "server_cpu_share": cpu / wall / (os.cpu_count() or 2),
            "edits": len(editor.latencies) + editor.missed, "edits_missed": editor.missed,
            "edit_searchable_p50_s": pct(editor.latencies, 50), "edit_searchable_max_s": max(editor.latencies or [0])}


def phase_steady(server: Server, qs: list[str], rate: float, seconds: float) -> dict[str, float]:
    from concurrent.futures import ThreadPoolExecutor

    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    local = threading.local()

    def one(q: str, scheduled: float) -> None:
        client = getattr(local, "client", None) or Client(server.url)
        local.client = client
        try:
            search(client, q)
            with lock:
                latencies.append(time.perf_counter() - scheduled)
        except (RuntimeError, OSError, http.client.HTTPException):
            with lock:
                failures[0] += 1

    n = int(rate * seconds)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(n):
            scheduled = started + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, qs[i % len(qs)], scheduled)
    return {"rate": rate, "requests": len(latencies), "failed": failures[0], "p50_ms": pct(latencies, 50) * 1000,
            "p95_ms": pct(latencies, 95) * 1000, "p99_ms": pct(latencies, 99) * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60, help="length of the concurrent and the steady phase")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rate", type=float, default=10.0, help="queries per second in the steady phase")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "embedsearch-load")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    if not CORPUS.is_dir():
        raise SystemExit(f"the reference corpus is not at {CORPUS}")

    posts, index = args.workdir / "posts", args.workdir / "ix"
    shutil.rmtree(args.workdir, ignore_errors=True)
    shutil.copytree(CORPUS, posts)
    subprocess.run([sys.executable, "-m", "embedsearch", "index", str(posts), "--index", str(index)], check=True)
    qs = queries()
    print(f"# serve under load: {len(qs)} questions over ../shared/corpus, {os.cpu_count()} cores, {load()}")

    server = Server(index, posts)
    figures: dict[str, dict[str, float]] = {}
    try:
        figures["cpu"] = c = phase_cpu(server, qs, 200)
        print(f"one client, sequential: {c['cpu_ms_per_query']:.1f} ms server CPU per hybrid query "
              f"(p50 {c['p50_ms']:.1f} ms, p95 {c['p95_ms']:.1f} ms): the CPU allows {c['cpu_allows_qps']:.0f} q/s; "
              f"{load()}")
        figures["concurrent"] = r = phase_concurrent(server, qs, posts, args.clients, args.seconds)
        print(f"{r['clients']} clients, {args.seconds:.0f} s, watch applying an edit every 3 s: {r['qps']:.1f} q/s "
              f"({r['qps'] / c['cpu_allows_qps']:.0%} of what the CPU allows), p50 {r['p50_ms']:.1f} / "
              f"p95 {r['p95_ms']:.1f} / p99 {r['p99_ms']:.1f} ms, {r['failed']} failed of {r['requests']}; "
              f"server used {r['server_cpu_share']:.0%} of the CPU, the clients and editor "
              f"{r['clients_cpu_share']:.0%}; edits searchable after p50 "
              f"{r['edit_searchable_p50_s']:.2f} s, max {r['edit_searchable_max_s']:.2f} s "
              f"({r['edits'] - r['edits_missed']} of {r['edits']}); {load()}")
        figures["steady"] = s = phase_steady(server, qs, args.rate, args.seconds)
        print(f"steady {s['rate']:.0f} q/s, {args.seconds:.0f} s: p50 {s['p50_ms']:.1f} / p95 {s['p95_ms']:.1f} / "
              f"p99 {s['p99_ms']:.1f} ms, {s['failed']} failed of {s['requests'] + s['failed']}; {load()}")
    finally:
        server.stop()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
