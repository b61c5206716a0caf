"""What a reader sees of results: Sources that keep every Korean character at 80 columns, JSON
headings without markdown markers, highlights on whole words, and filters that say when they
match nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embedsearch import Index
from embedsearch.cli import app
from embedsearch.errors import FilterError
from embedsearch.records import Answer, Citation, Hit
from embedsearch.views import answer_json, cell_width, citation_json, hit_json, term_spans

from conftest import write

# -- ask's Sources at 80 columns -----------------------------------------------------------------

TITLE = "대규모 언어 모델이 글을 읽고 다음 토큰을 고르는 방식에 관한 아주 긴 제목"
HEADING = "토큰이라는 단위에 관하여 길게 붙인 소제목"


@pytest.mark.usefixtures("llm_env")
def test_extractive_answer_sources_keep_every_korean_character_at_80_columns(tmp_path: Path) -> None:
    """The offline answer (no LLM configured: the posts' own sentences) on a small Korean folder,
    on a real 80-column terminal: its Sources line for the long title and heading wraps between
    words and keeps every character ("토큰이라는 단위" once came out as "토큰이라 …")."""
    from test_ask_cli import _terminal_output

    from embedsearch.views import source_trail

    folder = tmp_path / "posts" / "deeply" / "nested" / "folder"
    write(folder / "llm-next-token.md", f"---\ntitle: {TITLE}\n---\n\n## 언어 모델이란 무엇인가\n\n### {HEADING}\n\n"
          "모델은 글자를 직접 보지 않고 토큰이라는 조각 단위로 글을 읽는다. 한국어에서 토큰 하나는 보통 한두 "
          "글자에 해당한다.\n")
    write(folder / "kimchi.md", "# 김치찌개\n\n잘 익은 김치에 돼지고기와 두부를 넣고 이십 분쯤 끓인다.\n")
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(tmp_path / "posts")
    screen = _terminal_output(["ask", "모델은 글을 어떤 단위로 읽나요?", "--index", str(tmp_path / "ix"), "-k", "1"])
    answer, sources = screen[:screen.rindex("Sources")], screen[screen.rindex("Sources"):]
    assert "토큰이라는 조각 단위로" in answer.replace("\n", " ") and "[1]" in answer  # the real extractive answer
    lines = [line.rstrip() for line in sources.splitlines() if line.strip()]
    assert lines[1].startswith("[1]") and "…" not in sources
    assert all(cell_width(line) <= 80 for line in lines), sources
    assert len(lines) >= 3  # the trail did not fit one line: it wrapped instead of being cut
    trail = source_trail(TITLE, f"## 언어 모델이란 무엇인가 > ### {HEADING}")
    assert trail in " ".join(line.strip() for line in lines[1:]), sources


# -- JSON headings --------------------------------------------------------------------------------

def hit(heading: str = "# 대규모 언어 모델 > ## 학습", n: int = 1) -> Hit:
    return Hit(score=0.9, text="사전학습 단계에서는 다음 토큰 예측을 반복합니다.", path="/p/llm.md", line_start=3,
               line_end=4, heading=heading, title="대규모 언어 모델", chunk_id=n, rank=n)


def test_json_headings_have_no_markdown_markers() -> None:
    out = hit_json(hit())
    assert out["heading"] == "대규모 언어 모델 > 학습" and out["headings"] == ["대규모 언어 모델", "학습"]
    assert hit_json(hit(""))["heading"] == "" and hit_json(hit(""))["headings"] == []
    # a callout's title has no marker; a heading that is itself "#hashtag" keeps its text
    assert hit_json(hit("## 설치 > 주의"))["headings"] == ["설치", "주의"]
    assert hit_json(hit("# #태그 모음"))["headings"] == ["#태그 모음"]
    citation = Citation(number=1, path="/p/llm.md", line_start=3, line_end=4, heading="# A > ## B", title="T")
    assert citation_json(citation)["heading"] == "A > B" and citation_json(citation)["headings"] == ["A", "B"]
    answer = Answer(question="q", text="답 [1]", citations=[citation], passages=[hit()], model="extractive", prompt="")
    data = answer_json(answer)
    assert data["citations"][0]["heading"] == "A > B"
    assert data["passages"][0]["heading"] == "대규모 언어 모델 > 학습"
    assert "#" not in json.dumps(data, ensure_ascii=False)


def test_cli_json_headings(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(small_posts)
    result = CliRunner().invoke(app, ["search", "사전학습 토큰 예측", "--index", str(tmp_path / "ix"), "-k", "1",
                                      "--json"])
    top = json.loads(result.stdout.splitlines()[0])
    assert top["heading"] == "대규모 언어 모델 > 학습" and top["headings"] == ["대규모 언어 모델", "학습"]


# -- highlights --------------------------------------------------------------------------------

def marked(text: str, query: str) -> list[str]:
    return [text[s:e] for s, e in term_spans(text, query)]


def test_highlights_do_not_mark_pieces_of_other_words() -> None:
    """A query with "하는" used to light "하는" inside "구성하는" (a Hangul bigram anywhere)."""
    text = "문단을 구성하는 단위는 토큰이고, 그 일을 하는 모델은 decode하는 단계를 거친다."
    assert marked(text, "검색을 하는 방법") == ["하는"]  # the word on its own, nothing inside 구성하는
    assert marked("한국어는 단어가 여러 토큰으로 쪼개진다", "한국어가 토큰을 더 쓰는 이유") == ["한국어", "토큰"]
    assert marked("OpenAI가 23일 발표한 일", "AI가 하는 일") == ["일"]  # not "가" of OpenAI가, not "일" of 23일


def test_highlights_mark_the_stem_a_word_begins_with() -> None:
    """Korean glues particles on: "임종석은" still lights "임종석이", and the whole word when it is
    the query's own."""
    text = "임종석이 말했다. 임종석은 답했다. 임종 직전의 일이다."
    assert marked(text, "임종석은 누구인가") == ["임종석", "임종석은"]
    assert marked("학습을 시작했고 학습하게 했다", "언어 모델을 학습하는 방법") == ["학습", "학습하"]
    assert marked("LLMs are large language models", "LLM 모델") == ["LLMs"]  # English as before


# -- filters that match nothing ----------------------------------------------------------------------

@pytest.fixture
def posts_index(small_posts: Path, tmp_path: Path) -> Path:
    path = tmp_path / "ix"
    with Index(path, create=True) as ix:
        ix.add(small_posts)
    return path


def test_a_path_that_matches_no_document_says_what_was_meant(posts_index: Path) -> None:
    with Index(posts_index) as ix:
        assert {Path(h.path).name for h in ix.search("벡터 검색", k=5, path="notes/*")} == {"memo.txt"}
        with pytest.raises(FilterError) as error:
            ix.search("벡터 검색", path="notes")
        assert str(error.value) == "no indexed document matches the path filter 'notes'; did you mean 'notes/*'?"
        assert error.value.name == "path" and error.value.value == "notes"
        with pytest.raises(FilterError, match=r"did you mean 'notes/\*'\?"):
            ix.search("벡터 검색", path="NOTES/*")  # paths are case-sensitive: the spelling they use
        with pytest.raises(FilterError, match=r"did you mean '\*memo\*'\?"):
            ix.search("벡터 검색", path="memo")
        with pytest.raises(FilterError, match=r"'zzz' \(a glob over the whole path"):
            ix.search("벡터 검색", path="zzz")


def test_tags_match_whatever_their_case(posts_index: Path) -> None:
    with Index(posts_index) as ix:
        for tag in ("llm", "LLM", "Llm"):
            hits = ix.search("토큰 예측", k=5, tag=tag)
            assert hits and {Path(h.path).name for h in hits} == {"llm.md"}, tag
        for mode in ("dense", "lexical"):
            assert ix.search("토큰 예측", k=5, tag="LLM", mode=mode)
        with pytest.raises(FilterError) as error:
            ix.search("토큰 예측", tag="llms")
        assert str(error.value) == "no indexed document matches the tag filter 'llms'; did you mean 'llm'?"


def test_the_cli_names_its_own_option(posts_index: Path) -> None:
    for command in (["search", "벡터 검색"], ["ask", "벡터 검색이 뭐야?", "--llm-backend", "none"]):
        result = CliRunner().invoke(app, [*command, "--index", str(posts_index), "--path", "notes"])
        assert result.exit_code == 2
        assert result.stderr.strip() == "Error: no indexed document matches --path 'notes'; did you mean 'notes/*'?"
    result = CliRunner().invoke(app, ["search", "x", "--index", str(posts_index), "--tag", "cooking"])
    assert result.exit_code == 2 and "--tag 'cooking'" in result.stderr and "Traceback" not in result.output
