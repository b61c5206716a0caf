"""Which library reads PDF text for files/pdf.py: pypdf, pdfminer.six or pypdfium2?

(PyMuPDF is not a candidate: AGPL, and embedsearch must stay MIT-compatible.)

Run it on folders of real PDFs (kept outside the repository, e.g. LaTeX beamer lectures in
Korean and English two-column papers):

    python benchmarks/pdf_extractors.py /tmp/pdfs/ko /tmp/pdfs/en

For each library and folder it prints:
- seconds per page (text of every page, the file opened once);
- Hangul: syllables extracted; "broken": characters that are not text a reader can use —
  pdfminer's `(cid:N)` for glyphs it could not map, U+FFFD, private-use code points, and
  conjoining jamo U+1100-11FF (a syllable taken apart);
- agree: the share of the other libraries' word bigrams (in order) that this one has too, a
  proxy for reading order (a library that reads columns or lines out of order breaks bigrams);
- pages without text.
"""
from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path


def pypdf_pages(path: Path) -> list[str]:
    import pypdf

    return [page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages]


def pdfminer_pages(path: Path) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer

    return ["".join(el.get_text() for el in page if isinstance(el, LTTextContainer))
            for page in extract_pages(str(path))]


def pdfium_pages(path: Path) -> list[str]:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(path))
    try:
        return [doc[i].get_textpage().get_text_range().replace("\r\n", "\n") for i in range(len(doc))]
    finally:
        doc.close()


LIBRARIES = {"pypdf": pypdf_pages, "pdfminer.six": pdfminer_pages, "pypdfium2": pdfium_pages}
BROKEN = re.compile(r"\(cid:\d+\)|\ufffd|[\ue000-\uf8ff]|[\u1100-\u11ff]")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def bigrams(text: str) -> Counter:
    words = re.findall(r"\w+", text.lower())
    return Counter(zip(words, words[1:]))


def main(folders: list[str]) -> None:
    for folder in folders:
        files = sorted(Path(folder).glob("*.pdf"))
        texts: dict[str, list[str]] = {}
        print(f"\n{folder}: {len(files)} files")
        rows = []
        for name, read in LIBRARIES.items():
            started = time.perf_counter()
            pages: list[str] = []
            for f in files:
                pages.extend(read(f))
            seconds = time.perf_counter() - started
            texts[name] = pages
            joined = "\n".join(pages)
            rows.append((name, len(pages), seconds / max(1, len(pages)), len(HANGUL.findall(joined)),
                         len(BROKEN.findall(joined)), sum(1 for p in pages if not p.strip())))
        for name, n, per_page, hangul, broken, empty in rows:
            mine = bigrams("\n".join(texts[name]))
            shares = []
            for other, pages in texts.items():
                if other != name:
                    theirs = bigrams("\n".join(pages))
                    shares.append(sum(min(c, mine[b]) for b, c in theirs.items()) / max(1, sum(theirs.values())))
            shared = sum(shares) / len(shares)
            print(f"  {name:13s} {n:4d} pages  {per_page * 1000:7.1f} ms/page  Hangul {hangul:6d}  broken {broken:5d}"
                  f"  agree {shared:.3f}  empty pages {empty}")


if __name__ == "__main__":
    main(sys.argv[1:])
