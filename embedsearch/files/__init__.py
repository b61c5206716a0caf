"""Stage 1: files on disk -> Documents and their Paragraphs.

Readers, by suffix (`registry.py`): markdown (`.md`, `.markdown`: CommonMark plus the Jekyll,
Hugo, Hexo and kramdown dialects), plain text (`.txt`), HTML pages (`.html`, `.htm`: the post's
main content only), WordPress exports (`.xml`: one document per post) PDF files (`.pdf`: one
document per page, `file.pdf#page=3`) and Jupyter notebooks (`.ipynb`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..records import Document, Paragraph
from .decode import Binary, Empty, MissingLibrary, Skip, TooLarge, Undecodable, Unsupported, decode, missing_library
from .html import HtmlReader
from .markdown import parse_markdown
from .names import display_name, real_path
from .notebook import NotebookReader
from .pdf import PdfReader
from .plaintext import parse_plaintext
from .registry import Reader, reader_for, register, suffixes
from .walk import WalkStats, walk
from .wxr import WxrReader

# The largest real post in ../shared is a 357 KB HTML page (taewan-html numpy_cheat_sheet; the
# largest markdown post is 71 KB). 5 MB is 14 times that: nothing a person writes as one post,
# while a 10 MB generated file would hold an index run for minutes.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

__all__ = ["read_documents", "read_document", "display_passages", "parse", "walk", "display_name", "real_path",
           "SUFFIXES", "DEFAULT_MAX_BYTES", "WalkStats", "Reader", "register", "Skip", "Empty", "Binary", "Undecodable",
           "TooLarge", "Unsupported", "MissingLibrary"]


class MarkdownReader(Reader):
    suffixes = (".md", ".markdown", ".mdx")
    empty_reason = "no text besides front matter and markup"

    def parse(self, text: str, path: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
        return parse_markdown(text, fallback_title=_stem(path), path=path)


class TextReader(Reader):
    suffixes = (".txt",)

    def parse(self, text: str, path: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
        return parse_plaintext(text, fallback_title=_stem(path))


register(MarkdownReader())
_TEXT = register(TextReader())
register(HtmlReader())
register(WxrReader())
register(PdfReader())
register(NotebookReader())


def __getattr__(name: str) -> Any:
    """`files.SUFFIXES`, asked when used: a reader registered after import counts (it was a
    snapshot taken at import, so a later reader was never walked to)."""
    if name == "SUFFIXES":
        return suffixes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse(text: str, path: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
    """Split a document's text into (title, front matter, paragraphs); its suffix picks the reader
    (plain text for unknown suffixes, and for exports that hold many documents)."""
    reader = reader_for(path)
    return (_TEXT if reader is None or reader.many else reader).parse(text, path)


def read_documents(path: Path, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> list[tuple[Document, list[Paragraph]]]:
    """Read, decode and parse one file: one document, or one per post of a WordPress export.

    Raises a `Skip` (Empty, Binary, Undecodable, TooLarge, Unsupported) whose `reason` says why
    the file is not indexed. `max_bytes=None` reads files of any size.
    """
    path = Path(path)
    reader = reader_for(path)
    if reader is None:
        raise Unsupported(f"no reader for {path.suffix or 'files without a suffix'} files")
    if max_bytes is not None:
        size = path.stat().st_size
        limit = max_bytes * reader.size_factor
        if size > limit:
            raise TooLarge(f"{_megabytes(size)}, larger than {_megabytes(limit)} (limit: --max-file-size)")
    data = path.read_bytes()
    text, encoding = ("", "binary") if reader.binary else decode(data)
    try:
        return reader.read(path, display_name(os.path.abspath(path)), data, text, encoding)
    except ImportError as exc:  # a broken install: this file type is skipped, never the whole run
        raise missing_library(reader.library or exc.name or "a library", exc) from None


def display_passages(name: str, text: str) -> list[Paragraph] | None:
    """What `embedsearch get` shows of a stored document whose file is markup (HTML, a notebook):
    the passages of `text` (the file as `Index.get` read it, safely), headings included, each with
    its source lines. None for files shown as they are (markdown, text) and multi-document files."""
    reader = reader_for(name)
    if reader is None or reader.many or reader.binary or type(reader).display is Reader.display:
        return None
    try:
        return reader.display(text, name)
    except (Skip, ImportError):
        return None


def read_document(path: Path) -> tuple[Document, list[Paragraph]]:
    """The first document of `read_documents` (for callers that read one markdown or text file)."""
    return read_documents(path)[0]


def _stem(path: str) -> str:
    return Path(path).stem


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
