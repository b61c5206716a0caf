"""The citation check (embedsearch/answer/check.py) on small hand-made answers, with the real
bundled model: each rule that vetoes a passage is shown flagging a near copy whose score alone
would pass it, next to the faithful sentence it lets through."""
from __future__ import annotations

import pytest

from embedsearch.answer import check as check_module
from embedsearch.answer.check import check
from embedsearch.records import Hit


@pytest.fixture(scope="module")
def embedder():
    from embedsearch.vectors import load_embedder

    return load_embedder()


def hits(*texts: str) -> list[Hit]:
    return [Hit(score=1.0, text=t, path=f"post{i}.md", line_start=1, line_end=1 + t.count("\n"), heading="",
                title="", chunk_id=i) for i, t in enumerate(texts)]


def verdict(sentence: str, passages: list[Hit], embedder) -> check_module.SentenceSupport:
    [result] = check(sentence, passages, embedder)
    return result


def passes_on_score(result, sentence: str) -> bool:
    """The sentence's best score clears the threshold: what flags it is a rule, not the cosine."""
    wanted = check_module.SUPPORT_THRESHOLD if check_module._korean(sentence) else check_module.CROSS_SCRIPT_THRESHOLD
    return result.score >= wanted


KO_CONTRASTIVE = hits("Contrastive Learning(대조적 학습)은 self-supervised learning의 일종이다. 레이블 없이 데이터끼리 비교한다.",
                      "파이썬 패키지는 pip으로 설치한다.")


def faithful_but_flagged(faithful: str, changed: str, passages: list, embedder) -> None:
    """The faithful sentence is supported; the changed one scores high enough to pass on score
    alone, and the rule under test still flags it."""
    assert verdict(faithful, passages, embedder).status == "supported"
    result = verdict(changed, passages, embedder)
    assert result.status == "unsupported" and passes_on_score(result, changed)


def test_a_korean_sentence_s_latin_term_must_be_a_whole_word_of_the_passage(embedder) -> None:
    faithful_but_flagged("Contrastive Learning은 self-supervised learning의 일종입니다. [1]",
                         "Contrastive Learning은 supervised learning의 일종입니다. [1]", KO_CONTRASTIVE, embedder)


def test_a_korean_sentence_naming_several_english_terms_is_still_checked_as_korean(embedder) -> None:
    """More Latin letters than Hangul ones, but more Hangul words: the term check applies."""
    passages = hits("Facebook Research의 FastText repository에 들어가면 세 종류의 논문이 참조되어 있습니다.",
                    "Word2Vec은 단어의 앞뒤 문맥으로 단어 벡터를 학습합니다.")
    changed = "Google Research의 FastText repository에는 세 종류의 논문이 참조되어 있습니다. [1]"
    faithful_but_flagged(changed.replace("Google", "Facebook"), changed, passages, embedder)
    assert not check_module._korean('"아프리카_1" appeared 20 times, yet no context was learned for it.')


def test_a_hyphenated_term_matches_its_parts_written_apart() -> None:
    passage = "RoBERTa는 NSP loss 없이 FULL-SENTENCES 입력과 큰 mini-batch를 쓴다."
    assert check_module._terms_agree("RoBERTa는 Full Sentences 입력과 큰 mini batch를 씁니다.", passage)
    assert check_module._terms_agree("RoBERTa는 full-sentences 입력을 씁니다.", passage)
    assert not check_module._terms_agree("RoBERTa는 Sentences 입력을 씁니다.", passage)
    assert not check_module._terms_agree("BERT는 큰 mini-batch를 씁니다.", passage)  # "BERT" is no word of it


def test_an_english_sentence_keeps_the_names_a_korean_passage_writes_in_latin_script(embedder) -> None:
    passages = hits("이외에도 RoBERTa 모델은 GLUE, SQuAD, RACE 등의 벤치마크에서 최고 성능을 기록했다. 주로 XLNet 과 비교되었다.",
                    "Word2Vec은 단어의 앞뒤 문맥으로 단어 벡터를 학습합니다.")
    faithful_but_flagged("RoBERTa set the best results on GLUE, SQuAD and RACE and was mainly compared with XLNet. [1]",
                         "RoBERTa set the best results on GLUE, SQuAD and RACE and was mainly compared with ELECTRA. [1]",
                         passages, embedder)


def test_only_name_like_words_of_an_english_sentence_are_looked_up() -> None:
    passage = "인간과 AI의 협업은 AI 혼자나 사람 혼자보다 나은 성과를 낸다. wsl2 에서는 gpu 인식이 안 됐다."
    assert check_module._names_agree("Human-AI partnerships outperform either AI or humans working alone.", passage)
    assert check_module._names_agree("Under WSL2 the GPU was not recognised.", passage)  # case folded
    assert not check_module._names_agree("Under WSL2 the CUDA toolkit was not recognised.", passage)
    assert check_module._names_agree("Transformers learn Word order.", "트랜스포머는 단어 순서를 배운다.")  # capitalised, not names


def test_an_absolute_the_passage_does_not_state_is_an_over_generalisation(embedder) -> None:
    passages = hits("이로 인해 일부 교사, 교수, 학군에서는 AI 챗봇 사용을 금지하고 있습니다.",
                    "파이썬 패키지는 pip으로 설치한다.")
    faithful_but_flagged("이 때문에 일부 교사와 학군에서는 AI 챗봇 사용을 금지하고 있습니다. [1]",
                         "이 때문에 모든 교사와 학군에서는 AI 챗봇 사용을 금지하고 있습니다. [1]", passages, embedder)


def test_absolutes_are_matched_by_sense_across_languages() -> None:
    agree = check_module._absolutes_agree
    assert not agree("Transformers always run eight heads.", "트랜스포머는 여러 head를 병렬로 실행한다.")
    assert agree("Transformers always run several heads.", "트랜스포머는 항상 여러 head를 병렬로 실행한다.")
    assert agree("You must use the same tokenizer.", "동일한 토크나이저를 사용해야 함.")  # Korean says it with an ending
    assert agree("It picks only among the top k tokens.", "상위 k개의 토큰 중에서만 고른다.")
    assert not agree("대부분의 국가에서 금지되었습니다.", "일부 학군에서 금지했다.")
    # not absolutes: a compound, an intensifier, "only" before a number
    assert agree("Decoder-only models learned no context at all, with only 5 examples.", "디코더 모델은 문맥을 배우지 못했다.")
    assert agree("늘어나는 데이터로 학습합니다.", "데이터가 늘어난다.")


def test_the_passage_s_heading_and_title_name_its_subject(embedder) -> None:
    items = "- 인터넷 정보 검색\n- API를 사용하여 다른 웹사이트 및 서비스와 상호작용\n- 텍스트 작성, 편집 및 번역"
    sentence = "AutoGPT는 인터넷 정보를 검색하고 API로 다른 서비스와 상호작용합니다. [1]"
    bare = hits(items, "파이썬 패키지는 pip으로 설치한다.")
    assert verdict(sentence, bare, embedder).status == "unsupported"  # "AutoGPT" is no word of the list
    headed = [Hit(score=1.0, text=items, path="agents.md", line_start=3, line_end=5, heading="# AI 에이전트 > ## AutoGPT의 기능",
                  title="AI 에이전트", chunk_id=0), bare[1]]
    assert verdict(sentence, headed, embedder).status == "supported"
