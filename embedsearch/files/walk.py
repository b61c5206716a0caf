"""Find the posts under a folder: files some reader handles, no hidden folders, no symlink loops.

Names are str as Python gives them: a name that is not valid UTF-8 holds surrogates
(os.fsdecode), which `names.display_name` turns into a printable name; nothing here encodes it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator


def walk(root: Path, suffixes: Iterable[str]) -> Iterator[Path]:
    """Yield matching files under `root` in a stable order.

    Symlinked folders are followed once: a folder whose real path was already visited is skipped,
    which breaks loops and avoids indexing the same file twice.
    """
    wanted = {s.lower() for s in suffixes}
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in wanted:
                continue
            path = Path(dirpath) / name
            real_file = os.path.realpath(path)
            if real_file in seen_files or not os.path.isfile(real_file):
                continue
            seen_files.add(real_file)
            yield path
