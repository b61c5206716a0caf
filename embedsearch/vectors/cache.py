"""The built ONNX graphs, cached in the user cache directory, keyed by the model file's hash.

Building a graph takes seconds (int8 quantization most of them), so it is done once per model file
and graph version and kept as `<cache>/onnx/e5-small-<sha256[:16]>-<precision>-g<version>.onnx`.
Every file is written to a temporary name in the same directory and renamed into place, so a
reader (another `embedsearch` process) sees either no file or a whole one, never half a file; two
processes building at once each rename a complete file, and the last one wins.

Hashing the 72 MB model file takes ~80 ms, so the hash is remembered next to the graphs, keyed by
the file's path, size and modification time.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from .weights import E5Weights


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("embedsearch")) / "onnx"


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Have `write` fill a temporary file next to `path`, then rename it to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def source_hash(weights: E5Weights) -> str:
    """The model file's sha256, from the memo when the file's path, size and mtime still match."""
    stat = weights.path.stat()
    key = f"{weights.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo = cache_dir() / "source-hashes.json"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = weights.sha256
        write_atomically(memo, lambda p: p.write_text(json.dumps(known)))
    return known[key]


def graph_path(weights: E5Weights, precision: str, build: Callable[[Path], None], version: int) -> Path:
    """The cached graph for this model file, precision and graph version; `build(tmp)` writes it if missing."""
    path = cache_dir() / f"e5-small-{source_hash(weights)[:16]}-{precision}-g{version}.onnx"
    if not path.exists():
        write_atomically(path, build)
        _forget_older(path, version)
    return path


def _forget_older(path: Path, version: int) -> None:
    """Remove this model's and precision's graphs of older graph versions (22 MB each), once the
    new one is built. Only older ones: an older embedsearch sharing the cache builds its own
    again and leaves this one be, so two installs never rebuild each other's graph in turn."""
    stem = path.name.rsplit("-g", 1)[0]
    for old in path.parent.glob(f"{stem}-g*.onnx"):
        try:
            if int(old.name[len(stem) + 2:-len(".onnx")]) < version:
                old.unlink()
        except (ValueError, OSError):  # not one of ours, or gone already
            continue
