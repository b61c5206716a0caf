"""HTML pages and WordPress exports, on small hand-made files."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write
from embedsearch.chunks import make_chunks
from embedsearch.files import Unsupported, read_documents
from embedsearch.vectors import load_embedder

PAGE = """<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<title>토큰화 입문 | 내 블로그</title>
<meta property="og:title" content="토큰화 입문">
<meta property="article:published_time" content="2024-03-01T10:00:00+09:00">
<script>var analytics = "tracking";</script>
</head>
<body>
<header class="site-header"><a href="/">내 블로그</a>
<nav class="menu"><ul><li><a href="/">홈</a></li><li><a href="/tags/">태그 모음</a></li><li><a href="/about/">소개 페이지</a></li></ul></nav>
</header>
<div class="wrapper">
<main>
<article class="post">
<h1>토큰화 입문</h1>
<p class="meta"><time datetime="2024-03-01">2024년 3월 1일</time></p>
<div class="post-content">
<p>언어 모델은 글자를 그대로 읽지 않고 토큰이라는 단위로 잘라서 읽습니다.
토큰화 방식에 따라 같은 문장도 서로 다른 개수의 토큰이 됩니다.</p>
<h2>서브워드 토큰화</h2>
<p>서브워드 토큰화는 자주 나오는 글자 조합을 하나의 토큰으로 묶습니다. 한국어는 조사와 어미가
붙기 때문에 영어보다 더 많은 토큰을 쓰는 경우가 많습니다.</p>
<ul>
<li>BPE: 가장 자주 나오는 쌍을 반복해서 합칩니다.</li>
<li>Unigram: 확률이 낮은 토큰을 지워 나갑니다.</li>
</ul>
<p>다음과 같이 토큰 수를 셀 수 있습니다:</p>
<pre><code class="language-python">tokens = tokenizer.encode("한국어 문장입니다")
print(len(tokens))
</code></pre>
<h2>정리</h2>
<p>토큰 수는 비용과 속도에 직접 영향을 주므로, 한국어 글을 다룰 때는 토크나이저를 먼저 살펴보는 것이 좋습니다.</p>
</div>
</article>
<section class="comments"><h3>댓글 3개</h3><p>좋은 글 감사합니다! 잘 읽었어요.</p></section>
</main>
<aside class="sidebar"><h4>최근 글 목록</h4><ul><li><a href="/a">벡터 검색 시작하기</a></li><li><a href="/b">임베딩 모델 비교</a></li></ul></aside>
</div>
<footer class="site-footer"><p>© 2024 내 블로그. 모든 권리 보유.</p></footer>
</body>
</html>
"""


@pytest.fixture(scope="module")
def count():
    return load_embedder().count_tokens


def test_html_page_main_content_with_headings_code_and_lines(tmp_path: Path, count) -> None:
    path = write(tmp_path / "post" / "index.html", PAGE)
    [(doc, paragraphs)] = read_documents(path)
    assert doc.title == "토큰화 입문" and doc.front_matter["date"] == "2024-03-01"
    text = "\n".join(p.text for p in paragraphs)
    for boilerplate in ("소개 페이지", "태그 모음", "댓글", "좋은 글 감사합니다", "최근 글 목록", "벡터 검색 시작하기",
                        "모든 권리 보유", "tracking"):
        assert boilerplate not in text
    lines = PAGE.split("\n")
    got = [(p.text.split("\n")[0][:12], p.heading, p.kind, p.language) for p in paragraphs]
    assert got == [
        ("언어 모델은 글자를 그", "# 토큰화 입문", "prose", ""),
        ("서브워드 토큰화는 자주", "# 토큰화 입문 > ## 서브워드 토큰화", "prose", ""),
        ("- BPE: 가장 자주", "# 토큰화 입문 > ## 서브워드 토큰화", "prose", ""),
        ("다음과 같이 토큰 수를", "# 토큰화 입문 > ## 서브워드 토큰화", "prose", ""),
        ("tokens = tok", "# 토큰화 입문 > ## 서브워드 토큰화", "code", "python"),
        ("토큰 수는 비용과 속도", "# 토큰화 입문 > ## 정리", "prose", ""),
    ]
    # each passage's lines in the .html file hold it: first and last line
    for p in paragraphs:
        first, last = p.text.split("\n")[0], p.text.split("\n")[-1]
        assert first.lstrip("- ")[:6] in lines[p.line_start - 1], (p, lines[p.line_start - 1])
        assert last[-6:] in lines[p.line_end - 1], (p, lines[p.line_end - 1])
    assert (paragraphs[1].line_start, paragraphs[1].line_end) == (23, 24)
    chunks = make_chunks(paragraphs, count, title=doc.title)
    code = [c for c in chunks if c.kind == "code"]
    assert len(code) == 1 and code[0].text.startswith("다음과 같이 토큰 수를 셀 수 있습니다:\ntokens =")


WXR = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
	<title>내 워드프레스</title>
	<wp:wxr_version>1.2</wp:wxr_version>
	<item>
		<title>첫 번째 글</title>
		<link>https://blog.example.com/first/</link>
		<pubDate>Fri, 01 Mar 2024 01:00:00 +0000</pubDate>
		<dc:creator><![CDATA[admin]]></dc:creator>
		<content:encoded><![CDATA[<!-- wp:paragraph -->
<p>워드프레스에서 내보낸 첫 글입니다. 문단이 태그로 감싸져 있습니다.</p>
<!-- /wp:paragraph -->

<!-- wp:heading -->
<h2>소제목</h2>
<!-- /wp:heading -->

[code lang="python"]
print("안녕 & 반가워")
[/code]]]></content:encoded>
		<wp:post_id>11</wp:post_id>
		<wp:post_date><![CDATA[2024-03-01 10:00:00]]></wp:post_date>
		<wp:post_name><![CDATA[first-post]]></wp:post_name>
		<wp:status><![CDATA[publish]]></wp:status>
		<wp:post_type><![CDATA[post]]></wp:post_type>
		<category domain="category" nicename="diary"><![CDATA[일기]]></category>
		<category domain="post_tag" nicename="wp"><![CDATA[워드프레스]]></category>
		<category domain="post_tag" nicename="42"><![CDATA[42]]></category>
	</item>
	<item>
		<title>두 번째 글 (초안)</title>
		<content:encoded><![CDATA[옛날 편집기는 p 태그 없이 씁니다.
줄바꿈은 같은 문단입니다.

빈 줄이 문단을 나눕니다. [caption id="a1"]<img src="x.png" alt="고양이"> 고양이 사진[/caption]]]></content:encoded>
		<wp:post_id>12</wp:post_id>
		<wp:post_date><![CDATA[2024-03-05 09:30:00]]></wp:post_date>
		<wp:post_name><![CDATA[]]></wp:post_name>
		<wp:status><![CDATA[draft]]></wp:status>
		<wp:post_type><![CDATA[post]]></wp:post_type>
	</item>
	<item>
		<title>사진.png</title>
		<content:encoded><![CDATA[]]></content:encoded>
		<wp:post_id>13</wp:post_id>
		<wp:status><![CDATA[inherit]]></wp:status>
		<wp:post_type><![CDATA[attachment]]></wp:post_type>
	</item>
	<item>
		<title>지운 글</title>
		<content:encoded><![CDATA[<p>휴지통에 있는 글입니다.</p>]]></content:encoded>
		<wp:post_id>14</wp:post_id>
		<wp:status><![CDATA[trash]]></wp:status>
		<wp:post_type><![CDATA[post]]></wp:post_type>
	</item>
</channel>
</rss>
"""


def test_wordpress_export_is_one_document_per_post(tmp_path: Path) -> None:
    path = write(tmp_path / "blog.wordpress.2024-03-10.xml", WXR)
    documents = read_documents(path)
    assert [d.path.rsplit("/", 1)[-1] for d, _ in documents] == ["blog.wordpress.2024-03-10.xml#first-post",
                                                                 "blog.wordpress.2024-03-10.xml#12"]
    (first, first_paragraphs), (second, second_paragraphs) = documents
    assert first.title == "첫 번째 글" and second.title == "두 번째 글 (초안)"
    assert first.front_matter["date"] == "2024-03-01 10:00:00" and first.front_matter["tags"] == ["워드프레스", "42"]
    assert first.front_matter["categories"] == ["일기"] and first.front_matter["draft"] is False
    assert second.front_matter["draft"] is True and second.front_matter["status"] == "draft"
    assert first.content_hash != second.content_hash
    lines = WXR.split("\n")
    assert [(p.text, p.heading, p.line_start, p.kind, p.language) for p in first_paragraphs] == [
        ("워드프레스에서 내보낸 첫 글입니다. 문단이 태그로 감싸져 있습니다.", "", 16, "prose", ""),
        ('print("안녕 & 반가워")', "## 소제목", 24, "code", "python"),
    ]
    assert [(p.text, p.line_start, p.line_end) for p in second_paragraphs] == [
        ("옛날 편집기는 p 태그 없이 씁니다. 줄바꿈은 같은 문단입니다.", 37, 38),
        ("빈 줄이 문단을 나눕니다. 고양이 고양이 사진", 40, 40),  # the image's alt text, then the caption
    ]
    assert "옛날 편집기는" in lines[37 - 1] and "빈 줄이" in lines[40 - 1]


def test_other_xml_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    feed = write(tmp_path / "feed.xml", '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
                                        "<title>Jekyll</title><entry><title>글</title></entry></feed>\n")
    with pytest.raises(Unsupported, match="not a WordPress export"):
        read_documents(feed)
    broken = write(tmp_path / "broken.xml", WXR[:2000])
    with pytest.raises(Unsupported, match="not well-formed"):
        read_documents(broken)
