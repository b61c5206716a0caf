"""`get` on a file whose lines are markup (an HTML page, a notebook's JSON) shows the text a
reader reads, with its source lines, never the markup."""
from __future__ import annotations

import json
from pathlib import Path

from embedsearch import Index

from conftest import write
from test_readers_notebook import CELLS, notebook

PAGE = """<html><head><title>Tokens</title><style>.x{color:red}</style></head><body>
<nav><a href="/">Home</a></nav>
<article>
<h1>토큰화 이야기</h1>
<p>한국어 문장은 영어보다 더 많은 토큰으로 나뉜다. 그래서 같은 내용도 비용이 더 든다.</p>
<h2>해결책</h2>
<p>어휘 사전에 한국어 조각을 더 넣으면 토큰 수가 줄어든다. 실험으로 확인해 보자.</p>
</article>
<footer>© 2026</footer>
</body></html>
"""


def test_get_on_html_and_notebook_shows_text_with_lines(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    page = write(posts / "tokens.html", PAGE)
    write(posts / "lora.ipynb", notebook(CELLS))
    with Index(tmp_path / "ix") as ix:
        ix.add(posts)
        whole = ix.get(str(page))
        assert "<p>" not in whole.text and "color:red" not in whole.text and whole.source == "file"
        assert "## 해결책" in whole.text and "한국어 문장은 영어보다" in whole.text
        line = PAGE.split("\n").index("<p>어휘 사전에 한국어 조각을 더 넣으면 토큰 수가 줄어든다. 실험으로 확인해 보자.</p>") + 1
        part = ix.get(str(page), line)
        assert part.text == "어휘 사전에 한국어 조각을 더 넣으면 토큰 수가 줄어든다. 실험으로 확인해 보자."
        assert part.line_start == line

        raw = (posts / "lora.ipynb").read_text(encoding="utf-8").split("\n")
        at = next(i for i, l in enumerate(raw, 1) if '"model = load()' in l)
        cell = ix.get("lora.ipynb", at)
        assert "import torch" in cell.text and "print(model.rank)" in cell.text and '"source"' not in cell.text
        hit = ix.search("저랭크 어댑터 파라미터 학습", k=1)[0]
        assert hit.path.endswith("lora.ipynb") and json.dumps("저랭크", ensure_ascii=False)[1:-1] in raw[hit.line_start - 1]
