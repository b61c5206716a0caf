"""PDF files: a document per page (`file.pdf#page=N`), Korean intact, headings from the outline,
pages without text left out and said so. The PDFs are written here by a tiny writer: English in
Helvetica, Korean in a Type0 font whose ToUnicode map says which character each code is (what a
real Korean PDF carries; no font file is needed to read the text back)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from embedsearch import files


def _korean_tounicode() -> bytes:
    ranges = "\n".join(f"<{h:02X}00> <{h:02X}FF> <{h:02X}00>" for h in range(0xAC, 0xD8))
    return (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /K def "
            b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            + f"{0xD8 - 0xAC} beginbfrange\n{ranges}\nendbfrange\n".encode()
            + b"endcmap CMapName currentdict /CMap defineresource pop end end")


def make_pdf(pages: list[list[str]], outline: list[tuple[str, int]] = (), title: str = "") -> bytes:
    """Pages of lines (a line of Hangul syllables is set in the Korean font), an outline of
    (title, page number) entries at one level, and a Title."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")
    pages_obj = add(b"")
    helv = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    cmap_data = _korean_tounicode()
    cmap = add(b"<< /Length %d >>\nstream\n" % len(cmap_data) + cmap_data + b"\nendstream")
    cid = add(b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /KoreanTest /CIDSystemInfo << /Registry (Adobe) "
              b"/Ordering (Identity) /Supplement 0 >> /FontDescriptor << /Type /FontDescriptor /FontName /KoreanTest "
              b"/Flags 4 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >> "
              b"/DW 1000 >>")
    korean = add(b"<< /Type /Font /Subtype /Type0 /BaseFont /KoreanTest /Encoding /Identity-H /DescendantFonts [%d 0 R] "
                 b"/ToUnicode %d 0 R >>" % (cid, cmap))
    page_ids = []
    for lines in pages:
        ops = []
        for n, line in enumerate(lines):
            y = 750 - 20 * n
            if any("\uac00" <= c <= "\ud7a3" for c in line):
                ops.append(b"BT /K1 12 Tf 72 %d Td <%s> Tj ET" % (y, line.encode("utf-16-be").hex().encode()))
            else:
                ops.append(b"BT /F1 12 Tf 72 %d Td (%s) Tj ET" % (y, line.encode("latin-1")))
        content = b"\n".join(ops)
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        page_ids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                            b"/Resources << /Font << /F1 %d 0 R /K1 %d 0 R >> >> >>" % (pages_obj, stream, helv, korean)))
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % p for p in page_ids), len(page_ids))
    extra = b""
    if outline:
        root = add(b"")
        items = [add(b"") for _ in outline]
        for i, (text, page) in enumerate(outline):
            links = b""
            if i > 0:
                links += b" /Prev %d 0 R" % items[i - 1]
            if i + 1 < len(items):
                links += b" /Next %d 0 R" % items[i + 1]
            objects[items[i] - 1] = b"<< /Title (%s) /Parent %d 0 R /Dest [%d 0 R /Fit]%s >>" % (
                text.encode("latin-1"), root, page_ids[page - 1], links)
        objects[root - 1] = b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (
            items[0], items[-1], len(items))
        extra = b" /Outlines %d 0 R" % root
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R%s >>" % (pages_obj, extra)
    info = add(b"<< /Title (%s) >>" % title.encode("latin-1")) if title else 0
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, catalog, b" /Info %d 0 R" % info if info else b"", xref)
    return bytes(out)


@pytest.fixture
def paper(tmp_path: Path) -> Path:
    path = tmp_path / "paper.pdf"
    path.write_bytes(make_pdf(
        [["Attention Is What You Need", "We propose a simple network architecture."],
         ["트랜스포머는 어텐션만으로 문장을 번역한다", "Self-attention relates positions of one sequence."],
         [],
         ["Results on translation are strong."]],
        outline=[("Introduction", 1), ("Model", 2), ("Results", 4)], title="A Test Paper"))
    return path


def test_each_page_is_a_document_with_korean_intact_and_outline_headings(paper: Path) -> None:
    docs = files.read_documents(paper)
    assert [d.path.rsplit("#", 1)[1] for d, _ in docs] == ["page=1", "page=2", "page=4"]
    by_page = {d.path.rsplit("=", 1)[1]: (d, ps) for d, ps in docs}
    doc, paragraphs = by_page["2"]
    assert doc.title == "A Test Paper"
    texts = [p.text for p in paragraphs]
    assert "트랜스포머는 어텐션만으로 문장을 번역한다" in texts
    assert paragraphs[0].heading == "# Model" and paragraphs[0].line_start == 1
    assert by_page["4"][1][0].heading == "# Results"
    assert by_page["1"][1][0].heading == "# Introduction"


def test_a_page_without_text_is_left_out_with_a_note(paper: Path) -> None:
    docs = files.read_documents(paper)
    assert docs.notes == ["1 of 4 pages hold no text (scanned images?): page 3 not indexed"]


def test_a_pdf_without_any_text_is_skipped_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[], []]))
    with pytest.raises(files.Empty, match="no text on any of its 2 pages"):
        files.read_documents(path)


def test_a_damaged_pdf_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\nthis is not really a pdf\n" * 10)
    with pytest.raises(files.Skip, match="not a PDF that can be opened"):
        files.read_documents(path)


def test_index_search_and_get_a_page(paper: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    run = lambda *a: subprocess.run([sys.executable, "-m", "embedsearch", *map(str, a)], capture_output=True,  # noqa: E731
                                    text=True, timeout=300, cwd=tmp_path)
    result = run("index", paper, "--index", ix, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["new"] == 3
    # The page without text (page 3) is named in the report, not silently left out.
    assert any("page 3 not indexed" in str(item) for item in report["skipped"]), report["skipped"]
    hits = [json.loads(line) for line in run("search", "트랜스포머 어텐션 번역", "--index", ix, "-k", "1").stdout.splitlines()]
    assert hits[0]["location"].endswith("paper.pdf#page=2:1-2")
    passage = run("get", hits[0]["location"], "--index", ix)  # a page's passage, read back by its location
    assert passage.returncode == 0, passage.stderr
    assert all(line.strip() in passage.stdout for line in hits[0]["text"].split("\n"))
    got = run("get", "paper.pdf#page=2", "--index", ix)
    assert got.returncode == 0, got.stderr
    assert "트랜스포머는 어텐션만으로 문장을 번역한다" in got.stdout
