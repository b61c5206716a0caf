"""PDF files (`.pdf`): the text of each page, a document per page, `paper.pdf#page=3`.

A page is the place a reader of a PDF goes to, and `file.pdf#page=3` is how PDF viewers open
one, so each page is its own document (like a post of a WordPress export): its passages' lines
are lines of that page's text, `paper.pdf#page=3:12`, and `embedsearch get paper.pdf#page=3`
prints the page. Headings come from the outline (bookmarks) when the file has one: a page's
passages sit under the last outline entry that starts on or before it. The title is the file's
Title metadata, else the file name. Pages without text (scanned images) are not indexed and are
listed in `read_documents(...).notes`.

Text through pypdfium2 (Google's PDFium; Apache-2.0/BSD-3, the binary inside the wheel).
PyMuPDF reads as well but is AGPL. Measured with benchmarks/pdf_extractors.py on 5 Korean
LaTeX-beamer lectures (300 pages) and 4 English papers, two-column included (87 pages):

| library | ms/page ko | ms/page en | Hangul syllables | broken chars ko/en | bigram agreement ko/en |
|---|---|---|---|---|---|
| pypdfium2 | 1.3 | 4.5 | 15,170 | 5 / 0 | 0.946 / 0.980 |
| pypdf | 17.2 | 55.4 | 15,172 | 5 / 0 | 0.929 / 0.981 |
| pdfminer.six | 23.3 | 99.5 | 15,172 | 5 / 41 `(cid:N)` | 0.906 / 0.963 |

All three keep Korean intact; pdfminer.six read a two-column page out of order (a sentence
after "RQ3:" continued in the other column). pypdfium2 is 13x faster than pypdf and marks a
word hyphenated at a line end with U+FFFE, which is dropped here, so the word reads whole.
"""
from __future__ import annotations

from pathlib import Path

from ..records import Document, Paragraph
from ..text import content_hash, nfc
from .decode import Empty, Unsupported
from .plaintext import parse_plaintext
from .registry import Reader


class Documents(list):
    """A file's documents, with notes on what of it was left out (pages without text)."""

    notes: list[str]

    def __init__(self, items=(), notes: list[str] | None = None) -> None:
        super().__init__(items)
        self.notes = notes or []


class PdfReader(Reader):
    suffixes = (".pdf",)
    many = True
    binary = True
    size_factor = 10  # a book is tens of MB; PDFium reads a page in a few ms
    library = "pypdfium2"

    def read(self, path: Path, name: str, data: bytes, text: str, encoding: str) -> list[tuple[Document, list[Paragraph]]]:
        pages, outline, title = pdf_pages(data)
        title = title or Path(name).stem
        mtime = path.stat().st_mtime
        documents = Documents()
        empty: list[int] = []
        for number, page_text in enumerate(pages, start=1):
            heading = outline_heading(outline, number)
            _, _, paragraphs = parse_plaintext(page_text, title) if page_text.strip() else ("", {}, [])
            if not paragraphs:
                empty.append(number)
                continue
            for p in paragraphs:
                p.heading = heading
            documents.append((Document(path=f"{name}#page={number}", text=page_text,
                                       content_hash=content_hash(f"{title}\n{heading}\n{page_text}"), mtime=mtime,
                                       title=title, front_matter={"page": number, "pages": len(pages)},
                                       encoding="pdf"), paragraphs))
        if not documents:
            raise Empty(f"no text on any of its {len(pages)} pages (scanned images?)")
        if empty:
            documents.notes.append(f"{len(empty)} of {len(pages)} pages hold no text (scanned images?): "
                                   f"page{'s' if len(empty) > 1 else ''} {_ranges(empty)} not indexed")
        return documents


def pdf_pages(data: bytes) -> tuple[list[str], list[tuple[int, int, str]], str]:
    """(text of each page, outline as (page, level, title), Title metadata)."""
    import pypdfium2

    try:
        doc = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise Unsupported(f"not a PDF that can be opened ({exc})") from None
    try:
        pages = []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            raw = textpage.get_text_range()
            textpage.close()
            page.close()
            pages.append(nfc(raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "").replace("\x00", "")))
        outline = []
        try:
            for item in doc.get_toc(max_depth=8):
                dest, title = item.get_dest(), " ".join((item.get_title() or "").split())
                index = dest.get_index() if dest is not None else None
                if index is not None and title:
                    outline.append((index + 1, item.level, title))
        except Exception:  # a damaged outline costs the headings, not the text
            outline = []
        title = str(doc.get_metadata_dict().get("Title") or "").strip()
        return pages, outline, title
    finally:
        doc.close()


def outline_heading(outline: list[tuple[int, int, str]], page: int) -> str:
    """The heading path ('# Part > ## Section') of the outline entries in force on `page`."""
    path: list[tuple[int, str]] = []
    for start, level, title in outline:
        if start > page:
            continue
        path = [h for h in path if h[0] < level] + [(level, title)]
    return " > ".join(f"{'#' * min(6, level + 1)} {title}" for level, title in path)


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)
