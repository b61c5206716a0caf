"""Readers behind one small interface, found by file suffix.

A reader turns a file's text into (title, front matter, paragraphs) with `parse`; `read` makes
the Documents of one file, by default one. A reader for a format whose files hold many
documents (a WordPress export) overrides `read`. Adding a format is one class and one
`register` call, or, from another package, an entry point in the group `embedsearch.readers`
naming the class (embedsearch/registry.py); `SUFFIXES`, `walk` and `read_documents` pick it up
when they run. Readers live in `READERS` under their name ("markdown") with their suffixes as
aliases; a suffix registered later takes the suffix over.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import EmbedsearchError
from ..records import Document, Paragraph
from ..registry import Registry
from ..text import content_hash


class Reader:
    name = ""  # its name in READERS; "" : the class name without "Reader", lower case
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


def _instance(part: Any) -> Reader:
    """A reader named by an entry point may be its class or an instance."""
    reader = part() if isinstance(part, type) else part
    if not isinstance(reader, Reader):
        raise EmbedsearchError(f"reader {part!r} is not an embedsearch.files.Reader")
    return reader


READERS: Registry[Reader] = Registry("reader", "embedsearch.readers", prepare=_instance,
                                     aliases_of=lambda reader: reader.suffixes)


def reader_name(reader: Reader) -> str:
    return reader.name or type(reader).__name__.removesuffix("Reader").lower()


def register(reader: Reader) -> Reader:
    """Read files of `reader.suffixes` with `reader` (a later reader takes a suffix over)."""
    READERS.register(reader_name(reader), reader, aliases=reader.suffixes)
    return reader


def reader_for(path: str | Path) -> Reader | None:
    suffix = Path(path).suffix.lower()
    return READERS.find(suffix) if suffix else None


def suffixes() -> set[str]:
    """Every suffix some reader reads, asked now (an entry point's reader is imported to learn its own)."""
    return {alias for alias in READERS.aliases() if alias.startswith(".")}
