"""`ask` with no LLM: answers made of the posts' own sentences, each cited to its own lines."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write
from embedsearch import Index
from embedsearch.answer import LLMConfig
from embedsearch.answer.backends.extractive import Sentence, pick, sentences_of
from embedsearch.records import Hit
from embedsearch.sentences import split

pytestmark = pytest.mark.usefixtures("llm_env")

OFF_TOPIC = "제주도 3박 4일 여행 코스 추천해 줘"  # the sample posts' off-topic question (test_search_modes)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embedsearch", *args], capture_output=True, text=True, timeout=300)


def test_split_keeps_wrapped_sentences_whole_and_every_character() -> None:
    text = ("llama.cpp is a C/C++ engine that started in March 2023, about\ntwo weeks after LLaMA. Its goal was\n"
            "to run on a laptop.\n\n- 단어 단위: 어휘가 커진다.\n- 문자 단위: 문장이 길어진다.")
    pieces = split(text)
    assert "".join(piece for _, piece in pieces) == text
    assert all(text[offset:offset + len(piece)] == piece for offset, piece in pieces)
    sentences = [piece.strip() for _, piece in pieces]
    assert sentences[0] == "llama.cpp is a C/C++ engine that started in March 2023, about\ntwo weeks after LLaMA."
    assert sentences[1] == "Its goal was\nto run on a laptop."
    assert sentences[2:] == ["- 단어 단위: 어휘가 커진다.", "- 문자 단위: 문장이 길어진다."]


def test_a_code_passage_offers_its_introducing_sentence_not_its_code() -> None:
    def code(text: str, line: int) -> Hit:
        return Hit(score=0.9, text=text, path="p.md", line_start=line, line_end=line + 3, heading="", title="",
                   chunk_id=line, kind="code")

    introduced = code("subtokens 에 입력되는 tuple 의 형식은 (word, begin, end, score) 입니다\n"
                      "subtokens = []\nfor b in range(len(sent)):\n    subtokens.append(b)", 98)
    bare = code("import numpy as np\nx = np.zeros(3)\nprint(x)\n", 10)
    english = code("x = 1  # the first line is code\ny = 2\n", 20)
    found = sentences_of([introduced, bare, english])
    assert [(s.text[:9], s.line_start, s.line_end) for s in found] == [("subtokens", 98, 98)]


def test_one_sentence_a_passage_within_reach_of_the_best() -> None:
    def sentence(passage: int, offset: int, score: float) -> Sentence:
        return Sentence(f"sentence {passage}-{offset} of a passage", passage, "", offset, 1, 1, score)

    hits = [Hit(score=1, text="", path="p.md", line_start=1, line_end=1, heading="", title="", chunk_id=i,
                relevant=True) for i in range(3)]
    chosen = pick([sentence(0, 0, 0.95), sentence(0, 40, 0.94), sentence(1, 0, 0.92), sentence(2, 0, 0.85)], hits)
    # the best's neighbour in its own passage gives way to the next passage's best; 0.85 is out of reach
    assert [(s.passage, s.offset) for s in chosen] == [(0, 0), (1, 0)]


def test_offline_answer_is_the_answering_sentence_with_its_line(sample_index: Path) -> None:
    with Index(sample_index) as ix:
        answer = ix.ask("스터디 모임은 언제 어디서 열리나?")
    assert answer.model == "extractive" and not answer.declined
    assert "매달 둘째 주 목요일 저녁 7시 30분" in answer.text
    assert answer.text.rstrip().endswith("]")
    cited = [c for c in answer.citations if c.path.endswith("study-memo.txt")]
    assert cited and cited[0].line_start == 5 and f"[{cited[0].number}]" in answer.text
    numbers = [c.number for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) <= 3


def test_a_sentence_is_cited_to_its_own_lines_inside_a_long_paragraph(tmp_path: Path) -> None:
    write(tmp_path / "posts" / "bread.md",
          "# 주말 빵 굽기\n\n## 반죽\n\n"            # lines 1-4
          "밀가루 500그램에 물을 조금씩 부으며 섞는다. 소금은 나중에\n"  # 5
          "넣는다. 반죽은 실온에서 두 시간 동안 발효시키고, 부피가 두 배가\n"  # 6
          "되면 모양을 잡는다. 오븐은 미리 데워 둔다.\n")  # 7
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(tmp_path / "posts")
        answer = ix.ask("반죽은 몇 시간 발효시키나?", llm=LLMConfig(backend="extractive"))
    assert "두 시간 동안 발효" in answer.text
    place = next(c for c in answer.citations if "발효" in answer.text.split(f"[{c.number}]")[0].rsplit("]", 1)[-1])
    assert (place.line_start, place.line_end) == (6, 7)


def test_declines_what_the_posts_do_not_answer(sample_index: Path) -> None:
    with Index(sample_index) as ix:
        answer = ix.ask(OFF_TOPIC)
    assert answer.declined and answer.model == "extractive"
    assert answer.citations == [] and "답이 없는" in answer.text


def test_declines_a_question_no_sentence_comes_near_in_a_small_folder(tmp_path: Path) -> None:
    # Under 50 passages the search's relevance signal stays silent (relevant is None), so the
    # sentences' own cosines decline: this one was answered with "정상 근처는 바위가 많아서 장갑을
    # 끼는 편이 좋다" (best cosine 0.82, an answer's are 0.89-0.92).
    write(tmp_path / "posts" / "bread.md",
          "# 주말 빵 굽기\n\n## 반죽\n\n밀가루 500그램에 물을 조금씩 부으며 섞는다. 소금은 나중에 넣는다.\n"
          "반죽은 실온에서 두 시간 동안 발효시키고, 부피가 두 배가 되면 모양을 잡는다.\n\n## 굽기\n\n"
          "오븐은 220도로 미리 데워 둔다. 빵은 25분 동안 굽고, 바닥을 두드려 속이 빈 소리가 나면 꺼낸다.\n")
    write(tmp_path / "posts" / "hiking.md",
          "# 북한산 등산 기록\n\n## 코스\n\n우이동에서 출발해 백운대까지 올랐다. 올라가는 데 세 시간이 걸렸다.\n"
          "정상 근처는 바위가 많아서 장갑을 끼는 편이 좋다.\n\n## 준비물\n\n"
          "물 1리터와 간식, 얇은 바람막이를 챙겼다. 겨울에는 아이젠이 필요하다.\n")
    with Index(tmp_path / "ix", create=True) as ix:
        ix.add(tmp_path / "posts")
        off = ix.ask("등산화 끈을 묶는 방법은?", llm=LLMConfig(backend="extractive"))
        on = ix.ask("오븐은 몇 도로 데우나?", llm=LLMConfig(backend="extractive"))
    assert all(p.relevant is None for p in off.passages)  # not the search's signal: the answerer declined
    assert off.declined and off.citations == [] and "답이 없는" in off.text
    assert not on.declined and "220도" in on.text


def test_cli_json_show_prompt_and_extractive_flag(sample_index: Path) -> None:
    question = "CP949로 저장된 오래된 글은 어떻게 읽었나?"
    data = json.loads(cli("ask", question, "--index", str(sample_index), "--json").stdout)
    assert data["model"] == "extractive" and data["declined"] is False
    assert "CP949" in data["answer"] and data["citations"][0]["location"].endswith("study-memo.txt:15")

    shown = cli("ask", question, "--index", str(sample_index), "--show-prompt")
    assert shown.returncode == 0 and f"Question: {question}" in shown.stdout and "Sources" in shown.stdout
    assert "No LLM configured" not in shown.stderr

    # --extractive answers even with an LLM configured, and never contacts it (nothing listens there)
    forced = cli("ask", question, "--index", str(sample_index), "--extractive", "--llm-url", "http://127.0.0.1:9/v1",
                 "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["model"] == "extractive"

    both = cli("ask", question, "--index", str(sample_index), "--extractive", "--show-prompt")
    assert both.returncode == 2 and len(both.stderr.strip().splitlines()) == 1
