"""The contract every registered reader keeps, on one small hand-made sample of each suffix.

Parametrized over the suffixes the reader registry holds when the tests are collected, so a
reader registered without a sample here fails (`test_every_registered_reader_has_a_sample`),
whether it is built in or comes from an installed package's entry point. For each sample:

- documents with text, a title and paragraphs whose text is not blank;
- line numbers inside the source they point into (the file; a PDF page's text), and each
  paragraph's words found on its own lines;
- headings consistent: `# A > ## B` paths whose parts are written in the source, the same path
  for passages under the same heading;
- an empty file and a file of garbage bytes are a `Skip` with a one-line reason, never another
  exception, and an index run over all of them says why each bad file was skipped.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from embedsearch import Index, files
from embedsearch.files.decode import decode
from embedsearch.files.registry import READERS
from test_readers_pdf import make_pdf

NOTEBOOK = json.dumps({
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# 노트북 실험\n", "\n", "저랭크 어댑터를 학습하는 과정을 적는다."]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["import torch\n", "print(torch.ones(2))"],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["tensor([1., 1.])\n"]}]},
    ],
    "metadata": {"kernelspec": {"language": "python", "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5,
}, indent=1, ensure_ascii=False) + "\n"

WXR = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
	<title>내 블로그</title>
	<wp:wxr_version>1.2</wp:wxr_version>
	<item>
		<title>첫 글</title>
		<content:encoded><![CDATA[<p>워드프레스에서 내보낸 첫 글입니다.</p>

<h2>소제목</h2>

<p>소제목 아래 문단입니다.</p>]]></content:encoded>
		<wp:post_id>11</wp:post_id>
		<wp:post_name><![CDATA[first]]></wp:post_name>
		<wp:status><![CDATA[publish]]></wp:status>
		<wp:post_type><![CDATA[post]]></wp:post_type>
	</item>
	<item>
		<title>둘째 글</title>
		<content:encoded><![CDATA[옛 편집기로 쓴 두 번째 글입니다.]]></content:encoded>
		<wp:post_id>12</wp:post_id>
		<wp:post_name><![CDATA[second]]></wp:post_name>
		<wp:status><![CDATA[publish]]></wp:status>
		<wp:post_type><![CDATA[post]]></wp:post_type>
	</item>
</channel>
</rss>
"""

HTML = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>벡터 검색 정리</title></head>
<body>
<nav><a href="/">홈</a> <a href="/about">소개</a></nav>
<article>
<h1>벡터 검색 정리</h1>
<p>문장을 벡터로 바꾸면 뜻이 가까운 글을 찾을 수 있다. 이 글은 그 과정을 정리한다.</p>
<h2>색인 만들기</h2>
<p>FAISS는 벡터를 메모리에 두고 내적이 큰 순서로 돌려준다. 작은 블로그에는 정확한 검색으로 충분하다.</p>
<pre><code class="language-python">import faiss
index = faiss.IndexFlatIP(384)</code></pre>
</article>
<footer>© 2024</footer>
</body></html>
"""

# suffix -> samples (file name, content); a suffix may have several (markdown and an Obsidian note)
SAMPLES: dict[str, list[tuple[str, str | bytes]]] = {
    ".md": [
        ("post.md", "---\ntitle: 사워도우 굽기\ntags: [빵, 취미]\n---\n\n# 사워도우\n\n스타터를 일주일 동안 키운다.\n\n"
                    "## 반죽\n\n- 밀가루 500g\n- 물 350g\n\n```python\nratio = 350 / 500\n```\n"),
        ("note.md", "# 볼트 노트\n\n[[다른 노트|별칭]]으로 연결하고 ==강조==한 문장이다. #태그\n\n"
                    "> [!note] 알아둘 점\n> 콜아웃 안의 문장은 제목 아래에 들어간다.\n\n- [ ] 할 일 하나\n"),
    ],
    ".markdown": [("jekyll.markdown", "---\nlayout: post\ntitle: 지킬 글\n---\n\n# 지킬\n\n지킬로 만든 블로그 글이다.\n\n"
                                       "{% highlight python %}\nprint('안녕')\n{% endhighlight %}\n")],
    ".mdx": [("post.mdx", "---\ntitle: MDX 글\n---\nimport Tabs from '@theme/Tabs';\n\n# 시작하기\n\n{/* 주석 */}\n"
                          "본문 문단이 여기 있다.\n\n:::tip 도움말\n관리 화면에서 설정을 바꾼다.\n:::\n")],
    ".txt": [("memo.txt", "메모 제목\n\n첫 문단은 두 줄에 걸쳐\n이어지는 문장이다.\n\n둘째 문단.\n")],
    ".html": [("page.html", HTML)],
    ".htm": [("page.htm", HTML.replace("벡터 검색 정리", "옛 확장자"))],
    ".xml": [("blog.wordpress.xml", WXR)],
    ".pdf": [("paper.pdf", make_pdf([["Attention Is What You Need", "We propose a simple network."],
                                     ["트랜스포머는 어텐션만으로 번역한다", "Self-attention relates positions."]],
                                    outline=[("Introduction", 1), ("Model", 2)], title="A Test Paper"))],
    ".ipynb": [("lab.ipynb", NOTEBOOK)],
}

GARBAGE = bytes(range(256)) * 8 + b"\x00\xff\xfe\x00" * 64  # NULs, invalid UTF-8, no structure
REGISTERED = sorted(files.suffixes())
WORD = re.compile(r"[0-9A-Za-z가-힣]{2,}")


def missing_samples() -> list[str]:
    """Suffixes some registered reader reads that SAMPLES has no file for."""
    return sorted(set(files.suffixes()) - set(SAMPLES))


def test_every_registered_reader_has_a_sample() -> None:
    """A reader registered (in code or by an entry point) without a sample here fails this test."""
    missing = missing_samples()
    assert not missing, f"no sample in tests/test_contract_readers.py SAMPLES for {', '.join(missing)}"
    for entry in READERS.entries():
        assert READERS.get(entry.name).suffixes, f"reader {entry.name} reads no suffix"


def test_a_reader_registered_without_a_sample_is_caught() -> None:
    class TextileReader(files.Reader):
        suffixes = (".textile",)

    assert missing_samples() == []
    files.register(TextileReader())
    try:
        assert missing_samples() == [".textile"] and READERS.entry(".textile").name == "textile"
    finally:
        READERS.unregister("textile")
    assert missing_samples() == [] and files.reader_for("a.textile") is None


def source_of(reader: files.Reader, data: bytes, document) -> str:  # type: ignore[no-untyped-def]
    """What the line numbers point into: the file as decoded, or (a binary format) the document's own text."""
    return document.text if reader.binary else decode(data)[0]


@pytest.mark.parametrize("suffix", REGISTERED)
def test_a_sample_reads_to_consistent_documents(suffix: str, tmp_path: Path) -> None:
    assert suffix in SAMPLES, f"no sample for {suffix}: add one to SAMPLES"
    reader = files.reader_for(f"x{suffix}")
    assert reader is not None
    for name, content in SAMPLES[suffix]:
        path = tmp_path / name
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path.write_bytes(data)
        documents = files.read_documents(path)
        assert documents and (len(documents) == 1 or reader.many), name
        for document, paragraphs in documents:
            assert document.path.startswith(str(path)) and document.title.strip() and document.text.strip(), name
            assert paragraphs, name
            source = source_of(reader, data, document)
            lines = source.split("\n")
            previous: tuple[int, int] = (0, 0)
            for p in paragraphs:
                assert p.text.strip() and p.kind in ("prose", "code"), (name, p)
                assert 1 <= p.line_start <= p.line_end <= len(lines), (name, p, len(lines))
                assert (p.line_start, p.line_end) >= previous, (name, p)  # in the order of the source
                previous = (p.line_start, p.line_end)
                span = "\n".join(lines[p.line_start - 1 : p.line_end])
                words = WORD.findall(p.text)
                assert not words or any(w in span for w in words), (name, p, span)
                for part in filter(None, p.heading.split(" > ")):
                    title = part.lstrip("#").strip()
                    assert title and (title in source or title.encode("latin-1", "replace") in data), (name, p.heading)
                    if part.startswith("#"):
                        assert re.fullmatch(r"#{1,6} \S.*", part), (name, p.heading)
            levels = [[len(x) - len(x.lstrip("#")) for x in p.heading.split(" > ") if x.startswith("#")]
                      for p in paragraphs]
            assert all(lv == sorted(set(lv)) for lv in levels), (name, [p.heading for p in paragraphs])


@pytest.mark.parametrize("suffix", REGISTERED)
def test_every_sentence_is_on_its_own_lines(suffix: str, tmp_path: Path) -> None:
    """Each passage's sentences (the evidence a hit shows and `ask` cites) point at the lines of the
    source that hold them, for every reader: a sentence's words are on its lines."""
    from embedsearch.chunks import ChunkSizes, make_chunks
    from embedsearch.sentences import of_chunk
    from embedsearch.vectors.fake import HashEmbedder

    reader = files.reader_for(f"x{suffix}")
    assert reader is not None
    found = 0
    for name, content in SAMPLES[suffix]:
        path = tmp_path / name
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path.write_bytes(data)
        for document, paragraphs in files.read_documents(path):
            lines = source_of(reader, data, document).split("\n")
            for chunk in make_chunks(paragraphs, HashEmbedder().count_tokens, ChunkSizes(), title=document.title):
                for start, end, first, last in of_chunk(chunk.text, chunk.line_start, chunk.line_end, chunk.kind):
                    sentence = chunk.text[start:end]
                    assert chunk.line_start <= first <= last <= chunk.line_end, (name, sentence)
                    span = "\n".join(lines[first - 1 : last])
                    words = WORD.findall(sentence)
                    # at least half its words as written there (a reader rewrites some: [[note|alias]]으로)
                    assert 2 * sum(w in span for w in words) >= len(words), (name, sentence, first, last, span)
                    found += 1
    assert found, f"no sentence in the {suffix} samples"


@pytest.mark.parametrize("suffix", REGISTERED)
@pytest.mark.parametrize("content", [b"", b"   \n\n", GARBAGE], ids=["empty", "blank", "garbage"])
def test_empty_and_garbage_files_are_skipped_with_one_line(suffix: str, content: bytes, tmp_path: Path) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    try:
        files.read_documents(path)
    except files.Skip as skip:
        assert skip.reason and skip.reason == str(skip) and "\n" not in skip.reason
        assert "Traceback" not in skip.reason and len(skip.reason) < 300
    else:
        pytest.fail(f"{path.name} was read as a document")


def test_an_index_run_over_every_sample_and_bad_file(tmp_path: Path) -> None:
    """The whole pipeline (walk, read, chunk, embed with the fake embedder, store) over one file
    of each kind and a bad one of each: every sample indexed, every bad file skipped with its reason."""
    folder = tmp_path / "posts"
    folder.mkdir()
    expected = set()
    for suffix in REGISTERED:
        for name, content in SAMPLES[suffix]:
            (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
            expected.add(name)
        (folder / f"empty{suffix}").write_bytes(b"")
        (folder / f"garbage{suffix}").write_bytes(GARBAGE)
    with Index(tmp_path / "ix", model="fake") as ix:
        report = ix.add(folder)
        skipped = {Path(name).name: why for name, why in report.skipped}
        assert set(skipped) == {f"{kind}{s}" for s in REGISTERED for kind in ("empty", "garbage")}
        assert all(why and "\n" not in why for why in skipped.values())
        indexed = {Path(path.split("#")[0]).name for path in ix.store.documents_under(str(folder))}
        assert indexed == expected and not report.unread
        assert report.new == len(ix.store.documents_under(str(folder))) > len(expected)  # a PDF page, a post: one each
