"""Stage 1: files on disk -> Documents and their Paragraphs."""
from __future__ import annotations

from pathlib import Path

from ..records import Document, Paragraph
from ..text import content_hash
from .decode import Binary, Empty, Undecodable, decode
from .walk import walk
from .markdown import parse_markdown
from .plaintext import parse_plaintext

MARKDOWN_SUFFIXES = {".md", ".markdown"}
TEXT_SUFFIXES = {".txt"}
SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES

__all__ = ["read_document", "parse", "walk", "SUFFIXES", "Binary", "Empty", "Undecodable"]


def parse(text: str, path: str) -> tuple[str, dict, list[Paragraph]]:
    """Split a document's text into paragraphs; returns (title, front matter, paragraphs)."""
    if Path(path).suffix.lower() in MARKDOWN_SUFFIXES:
        return parse_markdown(text, fallback_title=Path(path).stem)
    return parse_plaintext(text, fallback_title=Path(path).stem)


def read_document(path: Path) -> tuple[Document, list[Paragraph]]:
    """Read, decode and parse one file. Raises Empty, Binary or Undecodable for files to skip."""
    data = path.read_bytes()
    text, encoding = decode(data)
    title, front_matter, paragraphs = parse(text, str(path))
    if not paragraphs:
        raise Empty(str(path))
    stat = path.stat()
    document = Document(
        path=str(path),
        text=text,
        content_hash=content_hash(data),
        mtime=stat.st_mtime,
        title=title,
        front_matter=front_matter,
        encoding=encoding,
    )
    return document, paragraphs
