"""One hit per place, and a hit's location names its whole passage: `get LOCATION` reads it back."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embedsearch import Index, views
from embedsearch.cli import app
from embedsearch.records import Hit

from conftest import write

POST = """# 토크나이저 실행

문장을 토큰으로 나누는 일은 검색의 첫 단계입니다. 형태소 분석기 대신
서브워드 토크나이저를 쓰면 사전에 없는 단어도 나눌 수 있습니다.

다음과 같이 실행합니다:

```python
tokens = tokenizer.tokenize("형태소 분석기 대신 서브워드 토크나이저를 실행합니다")
print(len(tokens), tokens[:10])
for token in tokens:
    print(token, tokenizer.convert_tokens_to_ids(token))
```

결과를 보면 서브워드 토큰이 나뉘어 있습니다. 자주 나오는 단어는 한 토큰으로 남습니다.
드문 단어는 여러 조각으로 쪼개집니다. 이 조각들의 임베딩을 평균하면 단어 벡터를 얻습니다.
"""

# one paragraph on one line, longer than the model's window: its pieces share that line
LONG_LINE = "# 긴 줄\n\n" + " ".join(
    f"양자 컴퓨터의 큐비트 {i}번은 중첩 상태를 유지하다가 측정되면 붕괴합니다." for i in range(120)) + "\n"


@pytest.fixture(scope="module")
def places_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("places") / "posts"
    write(folder / "tokenizer.md", POST)
    write(folder / "quantum.md", LONG_LINE)
    index = folder.parent / "ix"
    with Index(index, create=True) as ix:
        ix.add(folder)
    return folder, index


def _lines_in(passage: str, text: str) -> bool:
    return all(line.strip() in text for line in passage.split("\n"))


def test_a_hits_location_reads_back_its_whole_passage(places_index: tuple[Path, Path]) -> None:
    folder, index = places_index
    with Index(index) as ix:
        hits = ix.search("서브워드 토크나이저 실행 코드", k=10)
        code = next(h for h in hits if h.kind == "code")
        assert code.line_end > code.line_start and code.text.startswith("다음과 같이 실행합니다:")
        for hit in hits:
            assert hit.location == f"{hit.path}:{hit.line_start}" + (
                f"-{hit.line_end}" if hit.line_end > hit.line_start else "")
            doc = ix.get(hit.location)  # the location as one string, as every front end shows it
            assert (doc.line_start, doc.line_end) == (hit.line_start, hit.line_end)
            assert _lines_in(hit.text, doc.text), (hit.location, hit.text, doc.text)
        first_line_only = ix.get(code.path, code.line_start)
        assert not _lines_in(code.text, first_line_only.text)  # what a location of one line read back

    shown = views.hit_json(code)["location"]
    assert shown.endswith(f"tokenizer.md:{code.line_start}-{code.line_end}")
    assert views.hit_header(code).split()[1] == shown
    result = CliRunner().invoke(app, ["get", "--index", str(index), "--json", shown])
    assert result.exit_code == 0, result.output
    assert _lines_in(code.text, json.loads(result.output)["text"])


def test_one_place_is_one_hit(places_index: tuple[Path, Path]) -> None:
    folder, index = places_index
    with Index(index) as ix:
        pieces = ix.store.conn.execute(
            "SELECT chunks.line_start, chunks.line_end FROM chunks JOIN documents ON documents.id = chunks.document_id"
            " WHERE documents.path LIKE '%quantum.md'").fetchall()
        assert len(pieces) >= 2 and len({tuple(p) for p in pieces}) == 1  # several passages, one line
        for mode in ("hybrid", "dense", "lexical"):
            hits = [h for h in ix.search("큐비트 중첩 상태 측정 붕괴", k=10, mode=mode) if h.path.endswith("quantum.md")]
            assert len(hits) == 1, (mode, [h.location for h in hits])
        # and a code block with its introduction is one hit, not two at the same line
        hits = ix.search("다음과 같이 실행합니다 tokenizer.tokenize", k=10)
        spans = sorted((h.line_start, h.line_end) for h in hits if h.path.endswith("tokenizer.md"))
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:])), spans


def test_every_shown_location_is_a_range() -> None:
    hit = Hit(score=0.9, text="x", path="/nowhere/posts/a.md", line_start=15, line_end=21, heading="# A", title="T",
              chunk_id=1, rank=1, also=["/nowhere/posts/b.md:40-46"])
    assert hit.location == "/nowhere/posts/a.md:15-21"
    data = views.hit_json(hit)
    assert data["location"] == "/nowhere/posts/a.md:15-21" and data["also"] == ["/nowhere/posts/b.md:40-46"]
    assert views.hit_header(hit).startswith("1. /nowhere/posts/a.md:15-21  0.900")
    text = views.hits_text([hit])
    assert "a.md:15-21" in text and "also: /nowhere/posts/b.md:40-46" in text
    one = Hit(score=0.9, text="x", path="/nowhere/a.md", line_start=7, line_end=7, heading="", title="", chunk_id=2)
    assert one.location == "/nowhere/a.md:7" and views.hit_json(one)["location"] == "/nowhere/a.md:7"
