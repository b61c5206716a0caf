"""`Index`'s reading half: a document's text, from the file that was indexed and nothing else.

A mixin of `Index` (index.py). `get` opens a file only when it is still the one indexed (a
regular file within the folder it was indexed from, within its size limit, with the same
bytes); otherwise the indexed passages stand in, with a note saying why. The folders `add`
recorded (`_Root`) are what `get` and `update` hold files to.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import EmbedsearchError
from .records import DocumentText
from .text import content_hash


@dataclass
class _Root:
    """A folder (or file) as `add` recorded it: what `get` and `update` hold its files to."""

    name: str  # display name of the resolved folder
    max_file_size: int  # bytes; 0: no limit
    follow_symlinks: bool


def _roots(meta: dict[str, str]) -> dict[str, dict[str, Any]]:
    import json

    try:
        roots = json.loads(meta.get("roots") or "{}")
    except ValueError:
        return {}
    return roots if isinstance(roots, dict) else {}


class Reading:
    def get(self, path: str, line_start: int | None = None, line_end: int | None = None) -> DocumentText:
        """A document's text, or lines `line_start`-`line_end` of it (one line when no end is given).

        `path` is the stored path, or any unique tail of it ("posts/llm.md"), or a hit's location
        ("posts/llm.md:15-21", when no lines are given): the passage's lines. The text comes from
        the file as it is now, but only from the file that was indexed: a regular file, within
        the folder it was indexed from and its size limit, with the bytes that were indexed.
        Otherwise (the file is gone, changed, was swapped for a symlink to /etc/passwd, a FIFO
        or /dev/zero), and for a post of an export file, the indexed passages stand in (`source`
        says which) and `note` says why.
        """
        import json

        store = self._require()
        try:
            row = self._find_document(path)
        except EmbedsearchError:
            from .views import parse_location

            where, first_line, last_line = parse_location(path)
            if line_start is not None or line_end is not None or first_line is None:
                raise
            row, line_start, line_end = self._find_document(where), first_line, last_line
        doc_path: str = row["path"]
        from . import files

        whole, note = (None, "") if "#" in doc_path else self._indexed_file_text(row)
        shown = None if whole is None else files.display_passages(doc_path, whole)  # HTML, notebooks: text, not markup
        if shown is not None:
            whole = None
        if whole is not None:
            lines = whole.split("\n")
            if len(lines) > 1 and lines[-1] == "":  # the newline that ends the last line starts no line
                lines.pop()
            first = line_start or 1
            last = (line_end or line_start or len(lines)) if line_start else len(lines)
            if not 1 <= first <= len(lines) or last < first:
                raise EmbedsearchError(f"{doc_path} has {len(lines)} lines: no line {first}")
            last = min(last, len(lines))
            text = whole if line_start is None else "\n".join(lines[first - 1 : last])
            source = "file"
        else:
            chunks = [vars(p) for p in shown] if shown is not None else store.document_chunks(row["id"])
            if line_start is not None:
                end = line_end or line_start
                chunks = [c for c in chunks if c["line_end"] >= line_start and c["line_start"] <= end]
                if not chunks:
                    raise EmbedsearchError(f"no indexed passage of {doc_path} covers line {line_start}")
            first = min(c["line_start"] for c in chunks) if chunks else 1
            last = max(c["line_end"] for c in chunks) if chunks else 1
            text, source = "\n\n".join(c["text"] for c in chunks), "index" if shown is None else "file"
        return DocumentText(path=doc_path, title=row["title"], front_matter=json.loads(row["front_matter"] or "{}"),
                            line_start=first, line_end=last, text=text, source=source, note=note)

    def _indexed_file_text(self, row: Any) -> tuple[str | None, str]:
        """(the file's text, "") when the file is still the one indexed, else (None, why not).

        Opened by its real path with O_NOFOLLOW | O_NONBLOCK and checked with fstat: a symlink
        swapped in after the check fails to open, a FIFO opens without blocking and is refused,
        a device is refused before a byte is read, a regular file is read up to the size limit
        recorded at index time. Its bytes must hash to what was indexed, so even a file swapped
        in some other way is never shown.
        """
        import errno
        import stat

        from . import files
        from .files.decode import decode
        from .files.walk import inside

        name: str = row["path"]
        showing = "; showing the indexed text"
        root = self._root_for(name)
        target = files.real_path(name)
        if not os.path.lexists(target):
            return None, "the file is gone" + showing
        real = os.path.realpath(target)
        fence = os.path.realpath(files.real_path(root.name) if root else target.parent)
        if not (root and root.follow_symlinks) and not inside(real, fence):
            return None, "the file now leads out of the indexed folder" + showing
        limit = files.DEFAULT_MAX_BYTES if root is None else root.max_file_size
        reader = files.reader_for(name)
        cap = limit * (reader.size_factor if reader else 1) if limit else None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(real, flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return None, "the file was replaced by a symlink" + showing
            if exc.errno == errno.ENOENT:
                return None, "the file is gone" + showing
            return None, f"the file can't be read ({exc.strerror or exc})" + showing
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None, "the file is not a regular file any more" + showing
            if cap is not None and info.st_size > cap:
                return None, "the file is larger than the index's --max-file-size now" + showing
            chunks, size = [], 0
            while cap is None or size <= cap:
                part = os.read(fd, 1 << 20 if cap is None else min(1 << 20, cap + 1 - size))
                if not part:
                    break
                chunks.append(part)
                size += len(part)
            if cap is not None and size > cap:
                return None, "the file is larger than the index's --max-file-size now" + showing
        except OSError as exc:
            return None, f"the file can't be read ({exc.strerror or exc})" + showing
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if content_hash(data) != row["content_hash"]:
            return None, "the file changed since it was indexed" + showing
        try:
            return decode(data)[0], ""
        except files.Skip:
            return None, "the file can't be decoded as text" + showing

    def _find_document(self, path: str) -> Any:
        store = self.store
        row = store.document(path)
        if row is None:
            absolute = str(Path(path).expanduser().absolute())
            row = store.document(absolute)
        if row is None:
            tail = "/" + path.lstrip("./")
            rows = [r for r in store.conn.execute(
                "SELECT path FROM documents WHERE substr(path, -?) = ?", (len(tail), tail)).fetchall()]
            if len(rows) > 1:
                raise EmbedsearchError(f"{path!r} matches {len(rows)} documents: give more of the path")
            row = store.document(rows[0][0]) if rows else None
        if row is None:
            raise EmbedsearchError(f"no document {path!r} in the index {self.path}", category="state")
        return row

    def _root_for(self, name: str) -> "_Root | None":
        """The recorded folder a stored path lies in (the innermost), or None (an older index)."""
        roots = _roots(self.store.meta())
        best = max((r for r in roots if name == r or name.startswith(r.rstrip(os.sep) + os.sep)), key=len,
                   default=None)
        if best is None:
            return None
        entry = roots[best]
        return _Root(best, int(entry.get("max_file_size", 0)), bool(entry.get("follow_symlinks", False)))
