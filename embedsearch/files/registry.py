"""Readers behind one small interface, found by file suffix.

A reader turns a file's text into (title, front matter, paragraphs) with `parse`; `read` makes
the Documents of one file, by default one. A reader for a format whose files hold many
documents (a WordPress export) overrides `read`. Adding a format is one class and one
`register` call; `SUFFIXES`, `walk` and `read_documents` pick it up.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records import Document, Paragraph
from ..text import content_hash


class Reader:
    suffixes: tuple[str, ...] = ()
    many = False  # True when one file holds many documents (then `parse` is not meaningful)
    size_factor = 1  # how many times the per-file byte limit this format may take
    empty_reason = "empty: no text to index"
    library = ""  # the third-party library it imports, named when that import fails
    binary = False  # True: `read` gets the bytes undecoded (text "")

    def parse(self, text: str, path: str) -> tuple[str, dict[str, Any], list[Paragraph]]:
        raise NotImplementedError

    def display(self, text: str, path: str) -> list[Paragraph] | None:
        """What `get` shows of a file whose lines are markup (HTML, a notebook's JSON): its passages
        with their lines, headings included. None: the file's own lines are shown."""
        return None

    def read(self, path: Path, name: str, data: bytes, text: str, encoding: str) -> list[tuple[Document, list[Paragraph]]]:
        """The documents of one file: `name` is its display name, `data` its bytes, `text` decoded."""
        from .decode import Empty

        title, front_matter, paragraphs = self.parse(text, name)
        if not paragraphs:
            raise Empty(self.empty_reason)
        document = Document(path=name, text=text, content_hash=content_hash(data), mtime=path.stat().st_mtime,
                            title=title, front_matter=front_matter, encoding=encoding)
        return [(document, paragraphs)]


_READERS: dict[str, Reader] = {}


def register(reader: Reader) -> Reader:
    for suffix in reader.suffixes:
        _READERS[suffix.lower()] = reader
    return reader


def reader_for(path: str | Path) -> Reader | None:
    return _READERS.get(Path(path).suffix.lower())


def suffixes() -> set[str]:
    return set(_READERS)
