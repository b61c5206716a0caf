"""The hybrid ranking's rules beyond `cosine + w * coverage` (fusion's module doc): each on hand-made
lists where it alone decides the order, then through a real index of small hand-made posts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedsearch import Index
from embedsearch.search import fusion
from embedsearch.search.fusion import Passage, QueryInfo
from embedsearch.store import fts

KO = "여의도 시위를 주도한 사람은 누구인가?"
EN = "Who led the protest in Yeouido?"
# 40 distinct Korean bigrams: a long, specific question (AutoRAG-ko's median is 33 tokens)
LONG_KO = ("2019년 하반기 서울시 공공자전거 따릉이 대여소 확충 사업에서 예산 집행률이 낮았던 자치구와 "
           "그 원인으로 지목된 부지 확보 문제는 무엇인가?")
PROSE = "한국어 검색에서 조사와 어미 때문에 같은 단어가 여러 모양으로 나타나는 문제를 바이그램으로 푼다. " * 3


def order(dense, lex, info, passages=None, cosines=None) -> list[int]:
    return [f.chunk_id for f in fusion.fuse(dense, lex, info, passages, cosines)]


# -- hand-made lists ---------------------------------------------------------------------------

def test_long_query_gives_lexical_coverage_more_weight() -> None:
    assert len(fts.query_tokens(LONG_KO)) >= fusion.LONG_QUERY_FROM + 10
    short, long_ = QueryInfo(KO, 10.0, 0.9), QueryInfo(LONG_KO, 10.0, 0.9)
    assert fusion.lexical_weight(short) == pytest.approx(fusion.LEXICAL_WEIGHT)
    assert fusion.lexical_weight(long_) > fusion.LEXICAL_WEIGHT + 0.3
    # chunk 2 is 0.06 behind in cosine but holds 30% of the query's information, chunk 1 none of it
    dense, lex = [(1, 0.86), (2, 0.80)], [(2, 3.0)]
    assert order(dense, lex, short) == [1, 2]
    assert order(dense, lex, long_) == [2, 1]
    # the growth stops: a pasted paragraph does not turn hybrid into BM25 alone
    huge = QueryInfo(" ".join(f"단어{i}번" for i in range(80)), 10.0, 0.9)
    cap = fusion.LEXICAL_WEIGHT + fusion.LONG_QUERY_STEP * fusion.LONG_QUERY_SPAN
    assert fusion.lexical_weight(huge) == pytest.approx(cap)


def test_bm25_only_chunk_is_ranked_by_its_own_cosine() -> None:
    info = QueryInfo(KO, lexical_ideal=10.0, corpus_hangul=0.9)
    dense, lex = [(1, 0.88), (2, 0.85)], [(3, 1.0)]
    # with the dense floor (0.85) one shared word would put chunk 3 above chunk 2
    assert order(dense, lex, info) == [1, 3, 2]
    # its exact cosine (0.70) says it is far from the question
    fused = fusion.fuse(dense, lex, info, cosines={3: 0.70})
    assert [f.chunk_id for f in fused] == [1, 2, 3]
    assert fused[2].parts["cosine"] == pytest.approx(0.70)
    assert fused[2].parts["evidence"] == pytest.approx(0.70 + fusion.EVIDENCE_WEIGHT * 0.1)
    # an exact cosine above the floor (an approximate vector index missed it) is capped at the floor
    capped = {f.chunk_id: f for f in fusion.fuse(dense, lex, info, cosines={3: 0.95})}
    assert capped[3].parts["cosine"] == pytest.approx(0.85)


def test_code_passage_loses_a_near_tie_unless_the_query_asks_for_code() -> None:
    passages = {1: Passage("code", "from soynlp import WordExtractor\n" * 5), 2: Passage("prose", PROSE)}
    dense = [(1, 0.855), (2, 0.850)]
    assert order(dense, [], QueryInfo("단어 추출은 어떻게 하나?", 0.0, 0.9), passages) == [2, 1]
    assert order(dense, [], QueryInfo("단어를 추출하는 코드", 0.0, 0.9), passages) == [1, 2]
    assert order(dense, [], QueryInfo("WordExtractor() 를 쓰는 방법은?", 0.0, 0.9), passages) == [1, 2]
    assert order(dense, [], QueryInfo("단어 추출은 어떻게 하나?", 0.0, 0.9)) == [1, 2]  # no passages: no rule


def test_looks_like_code() -> None:
    for q in ("komoran.setUserDic() 으로 사전 넣기", "TSNE(n_components=2)", "max_iter 는?", "gensim 학습 코드",
              "Which awscli command uploads a folder?", "import numpy 가 안 될 때", "pip install --upgrade"):
        assert fusion.looks_like_code(q), q
    for q in ("로지스틱 회귀의 계수가 큰 단어는?", "How do I set the background color of a word cloud?", KO):
        assert not fusion.looks_like_code(q), q


def test_other_script_question_prefers_passages_in_the_corpus_language() -> None:
    english = "Retrieval augmented generation combines a retriever with a generator model. " * 3
    passages = {1: Passage("prose", english), 2: Passage("prose", PROSE)}
    dense = [(1, 0.851), (2, 0.845)]
    assert order(dense, [], QueryInfo(EN, 0.0, corpus_hangul=0.9), passages) == [2, 1]
    assert order(dense, [], QueryInfo(KO, 0.0, corpus_hangul=0.9), passages) == [1, 2]  # same script: no rule
    # the other way round: a Korean question over an English corpus prefers the English passage
    assert order([(2, 0.851), (1, 0.845)], [], QueryInfo(KO, 0.0, corpus_hangul=0.05), passages) == [1, 2]


def test_short_fragment_loses_a_near_tie() -> None:
    passages = {1: Passage("prose", "## 설치"), 2: Passage("prose", PROSE)}
    fused = fusion.fuse([(1, 0.855), (2, 0.840)], [], QueryInfo(KO, 0.0, 0.9), passages)
    assert [f.chunk_id for f in fused] == [2, 1]
    assert fused[1].parts["adjust"] == pytest.approx(-fusion.SHORT_PENALTY * (1 - 5 / fusion.SHORT_CHARS))
    assert "adjust" not in fused[0].parts  # a full paragraph: nothing to correct


def test_corrections_only_decide_near_ties() -> None:
    # every correction together is smaller than a clear cosine lead
    passages = {1: Passage("code", "x = 1"), 2: Passage("prose", PROSE)}
    worst = fusion.adjustment(passages[1], QueryInfo(EN, 0.0, 0.9), codeish=False, mismatch=True)
    assert -0.06 < worst < 0
    assert order([(1, 0.90), (2, 0.84)], [], QueryInfo(EN, 0.0, 0.9), passages) == [1, 2]


# -- a real index ------------------------------------------------------------------------------

POST = """# 한국어 형태소 분석기에 사용자 사전 추가하기

코모란은 자바로 구현된 한국어 형태소 분석기이며 파이썬에서는 KoNLPy 를 통해 사용할 수 있다.
신조어나 고유명사는 기본 사전에 없기 때문에 분석 결과가 엉망으로 나뉘는 경우가 많다.

사용자 사전은 단어와 품사를 탭으로 구분한 텍스트 파일이다. 아래처럼 파일 경로를 넘기면 된다:

```python
from konlpy.tag import Komoran
komoran = Komoran(userdic='user_dictionary.txt')
print(komoran.pos('아이오아이는 걸그룹이다'))
```

사전을 추가한 뒤에는 아이오아이가 하나의 고유명사로 인식된다. 파일은 UTF-8 로 저장해야 하며
한 줄에 단어 하나씩 적는다. 품사를 적지 않으면 일반 명사로 간주된다.
"""

OTHER = """# 군집화 초기점 고르기

k-means 의 결과는 초기점에 크게 좌우된다. 무작위로 고르면 비슷한 점들이 함께 뽑혀 수렴이 느려진다.
k-means++ 는 이미 고른 점에서 먼 점일수록 높은 확률로 다음 초기점으로 고른다.

희소한 고차원 데이터에서는 거의 모든 점 사이의 거리가 비슷해서 이 방법도 잘 동작하지 않는다.
"""


# more one-chunk posts, each with a word or two of the questions ("어떻게", "사전", "k-means")
OTHERS = {
    "bread.md": "# 주말 빵 굽기\n\n반죽은 어떻게 치대야 할까? 손바닥으로 밀고 접기를 십 분 동안 반복한다. "
                "k-means 처럼 반복할수록 모양이 잡힌다는 농담을 친구가 했다.\n",
    "trip.md": "# 제주 여행\n\n렌터카는 어떻게 고르나? 작은 차가 주차하기 편하다. 여행 사전 준비물은 "
               "우비와 선크림이다.\n",
    "study.md": "# 스터디 모임\n\n매주 목요일 저녁에 모여 논문을 한 편씩 읽는다. 발표자는 돌아가며 정한다.\n",
}


@pytest.fixture(scope="module")
def rules_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rules-posts")
    (folder / "komoran.md").write_text(POST, encoding="utf-8")
    (folder / "kmeans.md").write_text(OTHER, encoding="utf-8")
    for name, text in OTHERS.items():
        (folder / name).write_text(text, encoding="utf-8")
    path = tmp_path_factory.mktemp("rules-index")
    with Index(path, create=True) as ix:
        ix.add(folder)
    return path


def test_code_hits_are_marked_down_only_for_prose_questions(rules_index: Path) -> None:
    with Index(rules_index) as ix:
        prose_q = ix.search("사용자 사전 파일은 어떤 형식으로 만드나?", k=10)
        code_q = ix.search("코모란에 사용자 사전을 넣는 코드", k=10)
    code_hits = [h for h in prose_q if h.kind == "code"]
    assert code_hits, [h.kind for h in prose_q]  # the post's code block is a chunk of its own
    for h in code_hits:
        assert h.scores["adjust"] <= -fusion.CODE_PENALTY + 1e-9, h.scores
        assert h.score == pytest.approx(h.scores["fused"])
    assert all(h.scores.get("adjust", 0.0) == 0.0 for h in prose_q if h.kind == "prose" and len(h.text) >= 100)
    assert all(h.scores.get("adjust", 0.0) == pytest.approx(-fusion.SHORT_PENALTY * max(0, 1 - len(h.text) / 100))
               for h in code_q if h.kind == "code")


class _TopTwo:
    """A vector store that returns only its two best chunks: the rest can only come from BM25."""

    def __init__(self, store) -> None:
        self.store = store

    def search(self, vector, k, flt=None):
        return self.store.search(vector, k, flt)[:2]


def test_bm25_only_chunk_gets_its_exact_cosine(rules_index: Path) -> None:
    question = "k-means 초기점은 어떻게 고르나?"
    with Index(rules_index) as ix:
        truth = {h.chunk_id: h.score for h in ix.search(question, k=50, mode="dense")}
        engine = ix.engine
        vectors = engine._vectors
        engine._vectors = lambda: _TopTwo(vectors())
        hits = ix.search(question, k=len(truth), mode="hybrid")
    lexical_only = [h for h in hits if np.isnan(h.scores["dense"])]
    assert lexical_only, [h.scores for h in hits]
    floor = min(h.scores["dense"] for h in hits if not np.isnan(h.scores["dense"]))
    for h in lexical_only:
        assert h.scores["cosine"] == pytest.approx(min(truth[h.chunk_id], floor), abs=1e-5)
        assert h.scores["cosine"] < floor  # the floor would have flattered it


def test_the_best_sentence_term_mixes_in_only_as_far_as_its_weight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off as shipped (measured: no weight won on the tuning questions): the passage's cosine ranks.
    At a weight, a passage whose one sentence is nearer the query than the passage overtakes."""
    info = QueryInfo(KO, 0.0, 0.9)
    passages = {1: Passage("prose", PROSE, best_sentence=0.80), 2: Passage("prose", PROSE, best_sentence=0.95)}
    dense = [(1, 0.86), (2, 0.85)]
    assert order(dense, [], info, passages) == [1, 2]
    shipped = {f.chunk_id: f for f in fusion.fuse(dense, [], info, passages)}
    assert shipped[1].score == fusion.fuse(dense, [], info, {i: Passage("prose", PROSE) for i in (1, 2)})[0].score
    assert shipped[2].parts["sentence"] == 0.95
    monkeypatch.setattr(fusion, "SENTENCE_WEIGHT", 0.5)
    assert order(dense, [], info, passages) == [2, 1]
    monkeypatch.setattr(fusion, "SENTENCE_MAX", True)
    assert order(dense, [], info, {1: Passage("prose", PROSE, best_sentence=0.5), 2: Passage("prose", PROSE)}) == [1, 2]
