"""Obsidian vault notes: small hand-made notes, one per feature, read through read_document."""
from __future__ import annotations

from pathlib import Path

from embedsearch.files import parse, read_document


def note(tmp_path: Path, name: str, text: str, vault: bool = True) -> tuple:
    if vault:
        (tmp_path / ".obsidian").mkdir(exist_ok=True)
    path = tmp_path / "노트" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    doc, paragraphs = read_document(path)
    return doc, [(p.text, p.heading, p.line_start, p.line_end) for p in paragraphs]


def test_file_name_is_the_title_not_the_first_heading_and_aliases_join_it(tmp_path: Path) -> None:
    doc, paragraphs = note(tmp_path, "트랜스포머.md",
                           "---\naliases: [Transformer, 어텐션 모델]\n---\n# 란?\n\n어텐션만으로 만든 모델이다.\n")
    assert doc.title == "트랜스포머 (Transformer, 어텐션 모델)"
    assert paragraphs == [("어텐션만으로 만든 모델이다.", "# 란?", 6, 6)]
    doc, _ = note(tmp_path, "다른 노트.md", "---\ntitle: 앞머리 제목\n---\n# 개요\n\n본문이다.\n")
    assert doc.title == "앞머리 제목"


def test_a_note_outside_a_vault_is_detected_by_its_syntax(tmp_path: Path) -> None:
    doc, paragraphs = note(tmp_path, "메모.md", "# 소개\n\n[[토큰화|토큰]]을 [[문장]]에서 나눈다.\n", vault=False)
    assert doc.title == "메모"
    assert paragraphs == [("토큰을 문장에서 나눈다.", "# 소개", 3, 3)]
    doc, _ = note(tmp_path, "블로그.md", "# 블로그 제목\n\n평범한 글이다.\n", vault=False)
    assert doc.title == "블로그 제목"  # plain markdown keeps its first heading as title
    post = "# 파이썬 글\n\n`x = [[1, 2]]` 와 [[AWS]](https://aws.amazon.com) 링크.\n\n```python\ny = [['a']]\n```\n"
    doc, paragraphs = note(tmp_path, "코드.md", post, vault=False)
    assert doc.title == "파이썬 글"  # code and bracketed link text are not Obsidian syntax
    assert paragraphs[0][0] == "x = [[1, 2]] 와 [AWS] 링크."


def test_wikilinks_read_as_alias_or_note_name(tmp_path: Path) -> None:
    _, paragraphs = note(tmp_path, "링크.md",
                         "[[폴더/임베딩#정의|임베딩]]과 [[AI Concepts/KV Cache#구조]], [[#아래 절]]을 본다.\n")
    assert paragraphs[0][0] == "임베딩과 KV Cache, 아래 절을 본다."


def test_image_embeds_are_dropped_and_note_embeds_keep_the_name(tmp_path: Path) -> None:
    text = "다음 코드를 실행한다.\n\n![[Pasted image 20240101.png]]\n\n![[그림.png|500]]\n\n![[요약 노트]]\n"
    _, paragraphs = note(tmp_path, "임베드.md", text)
    assert paragraphs == [("다음 코드를 실행한다.", "", 1, 1), ("요약 노트", "", 7, 7)]


def test_callout_is_a_block_whose_title_joins_the_heading_path(tmp_path: Path) -> None:
    text = "# 정규화\n\n> [!info]- 배치 정규화란\n> 미니배치의 평균과 분산으로 정규화한다.\n> 학습이 빨라진다.\n\n뒤 문단.\n"
    _, paragraphs = note(tmp_path, "콜아웃.md", text)
    assert paragraphs == [
        ("미니배치의 평균과 분산으로 정규화한다.\n학습이 빨라진다.", "# 정규화 > 배치 정규화란", 4, 5),
        ("뒤 문단.", "# 정규화", 7, 7),
    ]


def test_highlight_comments_tasks_and_tags(tmp_path: Path) -> None:
    text = ("---\ntags: [ml]\n---\n## 할 일 #공부\n\n- [ ] ==중요한== 논문 읽기 #논문/NLP\n- [x] 정리 끝\n\n"
            "%%여러 줄\n숨긴 메모%% 보이는 글.\n\n```python\n# 주석 #not_a_tag\n```\n")
    doc, paragraphs = note(tmp_path, "할일.md", text)
    assert paragraphs[0] == ("- 중요한 논문 읽기 논문/NLP\n- 정리 끝", "## 할 일 #공부", 6, 7)
    assert paragraphs[1] == ("보이는 글.", "## 할 일 #공부", 10, 10)
    assert doc.front_matter["tags"] == ["ml", "논문/NLP"]  # a heading's # and code are not tags
    assert paragraphs[2][0] == "# 주석 #not_a_tag"


def test_numbers_link_fragments_and_entities_are_not_tags(tmp_path: Path) -> None:
    doc, paragraphs = note(tmp_path, "태그.md", "이슈 #12 와 [절](#설치), C# 과 &#123; 그리고 #한국어 #v2_모델.\n<font color=\"#ffff00\">노랑</font>\n")
    assert paragraphs[0][0].split("\n")[0] == "이슈 #12 와 절, C# 과 { 그리고 한국어 v2_모델."  # the entity is a character, not a tag
    assert doc.front_matter["tags"] == ["한국어", "v2_모델"]


def test_notion_export_id_is_not_part_of_the_title() -> None:
    title, _, _ = parse("본문만 있다.\n", "/x/회의록 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d.md")
    assert title == "회의록"


def test_links_holding_code_brackets_or_followed_by_text_in_parentheses(tmp_path: Path) -> None:
    """From a real vault: heading links whose alias is code, targets with single brackets, and
    `[[Note]](args)`, which is a link and then text (a markdown link needs a destination)."""
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    note = vault / "loaders.md"
    note.write_text(
        "# 이벤트\n\n"
        "- [[#Example : 그래프 실행#`on_chain_start`|`on_chain_start`]] 이벤트를 본다.\n"
        "- [[Structure & Schema#[build-system]]] 표를 참고한다.\n"
        "- 기본적으로는 [[DatasetMapper]](cfg, is_train=False)를 사용합니다.\n"
        "- 코드로 쓴 `[[그대로]]` 는 그대로 둔다. 링크 [[1]](https://example.com) 도 그대로.\n", encoding="utf-8")
    from embedsearch.files import read_documents

    [(doc, paragraphs)] = read_documents(note)
    text = "\n".join(p.text for p in paragraphs)
    assert "on_chain_start" in text and "Structure & Schema" in text and "DatasetMapper(cfg, is_train=False)" in text
    assert "[[그대로]]" in text  # inside a code span: literal
    assert "[[#" not in text and "[[Structure" not in text and "[[DatasetMapper" not in text
