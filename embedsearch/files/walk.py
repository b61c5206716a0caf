"""Find the posts under a folder: files some reader handles, no hidden folders, no symlink loops,
no symlinks out of the folder.

A symlink whose target leaves the indexed folder is not followed unless asked
(`follow_symlinks`, `embedsearch index --follow-symlinks`): a `key.txt -> ~/.ssh/id_rsa` dropped
into a posts folder was indexed, searchable and served by `get` (issue 17). Symlinks that stay
inside the folder are followed, each real file and folder once (which breaks loops).

The walk also counts what it did not read: files of suffixes no reader handles (`unread`: on a
folder of 71 `.mdx` posts it used to say only "no files of a kind embedsearch reads") and the
links it did not follow. The suffixes come from the reader registry when the walk runs, so a
reader registered after import is used.

Names are str as Python gives them: a name that is not valid UTF-8 holds surrogates
(os.fsdecode), which `names.display_name` turns into a printable name; nothing here encodes it.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator


@dataclass
class WalkStats:
    """What a walk passed over, for the summary and the "nothing to index" error."""

    links_skipped: int = 0  # symlinks (to files or folders) that lead out of the folder, not followed
    unread: Counter = field(default_factory=Counter)  # suffix ("" for none) -> files no reader reads

    def unread_line(self, top: int = 3) -> str:
        """'Skipped 71 .mdx files, 2 .png files (no reader)'; "" when every file had a reader."""
        if not self.unread:
            return ""
        ranked = sorted(self.unread.items(), key=lambda item: (-item[1], item[0]))
        parts = [f"{n} {suffix or 'suffix-less'} file{'s' if n != 1 else ''}" for suffix, n in ranked[:top]]
        rest = sum(n for _, n in ranked[top:])
        if rest:
            parts.append(f"{rest} more of {len(ranked) - top} other kind{'s' if len(ranked) - top != 1 else ''}")
        return f"Skipped {', '.join(parts)} (no reader)"

    def links_line(self) -> str:
        if not self.links_skipped:
            return ""
        n = self.links_skipped
        if n == 1:
            return "Skipped 1 symlink that leads out of the folder (--follow-symlinks to index it)"
        return f"Skipped {n} symlinks that lead out of the folder (--follow-symlinks to index them)"

def inside(path: str, folder: str) -> bool:
    """True when real path `path` is `folder` or under it (both already real paths)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def walk(root: Path, suffixes: Iterable[str] | None = None, *, follow_symlinks: bool = False,
         stats: WalkStats | None = None, boundary: Path | str | None = None) -> Iterator[Path]:
    """Yield matching files under `root` in a stable order.

    `suffixes` defaults to the registry's, asked now. Symlinks (to files or folders) whose real
    target leaves `boundary` (default: `root`) are skipped and counted unless `follow_symlinks`;
    a folder whose real path was already visited is skipped, which breaks loops and avoids
    indexing the same file twice. Files no reader handles are counted by suffix in `stats`.
    """
    if suffixes is None:
        from .registry import suffixes as registered

        suffixes = registered()
    wanted = {s.lower() for s in suffixes}
    stats = stats if stats is not None else WalkStats()
    fence = os.path.realpath(boundary if boundary is not None else root)
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        kept = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            full = os.path.join(dirpath, d)
            if not follow_symlinks and os.path.islink(full) and not inside(os.path.realpath(full), fence):
                stats.links_skipped += 1
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            suffix = Path(name).suffix.lower()
            path = Path(dirpath) / name
            if suffix not in wanted:
                if os.path.isfile(path):
                    stats.unread[suffix] += 1
                continue
            real_file = os.path.realpath(path)
            if not follow_symlinks and not inside(real_file, fence):
                stats.links_skipped += 1
                continue
            if real_file in seen_files or not os.path.isfile(real_file):
                continue  # a second name for a file, a dangling link, a FIFO, a device
            seen_files.add(real_file)
            yield path
