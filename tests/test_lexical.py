"""The lexical (FTS5 BM25) index: Korean/English tokenisation, and staying in sync with chunk writes."""
from __future__ import annotations

import sqlite3
import unicodedata

import pytest

from embedsearch import tokens as tokenize
from embedsearch.store import fts as lexical


@pytest.fixture
def conn() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:", isolation_level=None)
    lexical.create_table(c)
    return c


# -- tokenisation --------------------------------------------------------------------------


def test_korean_runs_become_overlapping_bigrams() -> None:
    assert tokenize.tokens("임종석이") == ["임종", "종석", "석이"]
    # the particle differs, the stem's bigrams are shared: that is what makes 임종석은 find 임종석이
    assert {"임종", "종석"} <= set(tokenize.tokens("임종석은")) & set(tokenize.tokens("임종석이"))
    assert tokenize.tokens("책") == ["책"]  # a one-syllable word stays whole


def test_mixed_korean_english_text() -> None:
    toks = tokenize.tokens("LLM은 Transformers로 fine-tuning했다 (GPT-4, 2023년)")
    assert "llm" in toks and "은" in toks  # script change splits "LLM은": English word, Korean particle
    assert "transformer" in toks  # lowercased, plural folded
    assert "로" in toks
    assert "fine" in toks and "tuning" in toks
    assert "튜닝" not in toks and "했다" in toks
    assert "gpt" in toks and "4" in toks and "2023" in toks and "년" in toks
    assert all(t == t.lower() for t in toks)


def test_english_stop_words_and_plurals() -> None:
    assert tokenize.tokens("What is the downside of the queries?") == ["downside", "query"]
    assert tokenize.s_stem("models") == "model"
    assert tokenize.s_stem("class") == "class"  # -ss is not a plural
    assert tokenize.s_stem("corpus") == "corpus"  # neither is -us


def test_nfd_input_tokenises_like_nfc() -> None:
    text = "한국어 토큰화는 비싸다"
    assert tokenize.tokens(unicodedata.normalize("NFD", text)) == tokenize.tokens(text)


def test_query_is_escaped_for_fts5(conn: sqlite3.Connection) -> None:
    lexical.upsert(conn, [(1, 'AND OR NOT NEAR tokens: "quoted" 검색*')])
    for q in ['"', "AND", "NEAR(", "tokens:x", "검색*", 'a "b" OR', "-- ;DROP"]:
        lexical.search(conn, q, 5)  # never an FTS5 syntax error
    assert lexical.fts_query("?!...") is None
    assert lexical.search(conn, "?!...", 5) == []
    assert [cid for cid, _ in lexical.search(conn, "near", 5)] == [1]


# -- the index ---------------------------------------------------------------------------


DOCS = {
    1: "임종석이 여의도 농민 폭력 시위를 주도한 혐의로 지명수배되었다.",
    2: "LoRA는 추론할 때 추가 지연이 전혀 없다. Adapters can be merged.",
    3: "트랜스포머는 셀프 어텐션으로 문장 속 단어 사이의 관계를 학습한다.",
}


def ids(hits: list[tuple[int, float]]) -> list[int]:
    return [cid for cid, _ in hits]


def test_search_finds_korean_despite_particles(conn: sqlite3.Connection) -> None:
    lexical.upsert(conn, DOCS.items())
    hits = lexical.search(conn, "임종석은 언제 지명수배됐나?", 3)
    assert ids(hits)[0] == 1
    assert all(score > 0 for _, score in hits)  # higher is better, unlike raw bm25()
    assert ids(lexical.search(conn, "adapter merge latency", 3))[0] == 2


def test_allowed_ids_filter_inside_the_query(conn: sqlite3.Connection) -> None:
    lexical.upsert(conn, [(i, f"공통 단어 {'희귀 ' * (i % 3)}문서 {i}") for i in range(1, 200)])
    best = ids(lexical.search(conn, "공통 희귀", 3))
    assert all(i % 3 == 2 for i in best)  # the ones with the rare word twice
    only = ids(lexical.search(conn, "공통 희귀", 3, allowed=[5, 6, 7, 150]))
    assert only[:2] == [5, 7]  # the rare word twice, then once: the best allowed, never others
    assert only[2] in {6, 150}
    assert lexical.search(conn, "공통", 3, allowed=[]) == []
    assert lexical.search(conn, "공통", 3, allowed={1000}) == []


def test_incremental_updates_and_deletions_stay_in_sync(conn: sqlite3.Connection) -> None:
    lexical.upsert(conn, DOCS.items())
    assert lexical.count(conn) == 3

    # a changed chunk: the old words are gone, the new ones found, no duplicate row
    lexical.upsert(conn, [(3, "양자화는 가중치를 4비트 정수로 저장한다.")])
    assert lexical.count(conn) == 3
    assert ids(lexical.search(conn, "셀프 어텐션", 5)) == []
    assert ids(lexical.search(conn, "양자화 4비트", 5)) == [3]

    lexical.delete(conn, [1, 99])  # unknown ids are ignored
    assert lexical.count(conn) == 2
    assert ids(lexical.search(conn, "임종석", 5)) == []
    assert set(ids(lexical.search(conn, "양자화 LoRA", 5))) == {2, 3}

    lexical.clear(conn)  # index --rebuild
    lexical.upsert(conn, [(7, "완전히 새로운 글")])
    assert lexical.count(conn) == 1
    assert ids(lexical.search(conn, "새로운", 5)) == [7]


def test_writes_follow_the_callers_transaction(conn: sqlite3.Connection) -> None:
    lexical.upsert(conn, [(1, DOCS[1])])
    conn.execute("BEGIN")
    lexical.upsert(conn, [(2, DOCS[2])])
    lexical.delete(conn, [1])
    conn.execute("ROLLBACK")
    assert ids(lexical.search(conn, "임종석", 5)) == [1]
    assert ids(lexical.search(conn, "LoRA", 5)) == []


def test_coverage_is_near_one_for_a_chunk_holding_every_query_token(conn: sqlite3.Connection) -> None:
    filler = [(i, f"관계없는 문장 번호 {i} 입니다") for i in range(10, 30)]
    lexical.upsert(conn, [(1, "여의도 농민 시위 주도")] + filler)
    ideal = lexical.ideal_score(conn, "여의도 농민 시위를 주도한 사람")
    (top, score), *_ = lexical.search(conn, "여의도 농민 시위를 주도한 사람", 5)
    assert top == 1
    assert 0.6 < score / ideal < 1.5
    assert lexical.ideal_score(conn, "?!") == 0.0


def test_table_lives_in_an_ordinary_database_file(tmp_path) -> None:
    path = tmp_path / "x.db"
    with sqlite3.connect(path) as c:
        lexical.create_table(c)
        lexical.upsert(c, DOCS.items())
    with sqlite3.connect(path) as c:
        lexical.create_table(c)  # idempotent on reopen
        assert lexical.count(c) == 3
        assert ids(lexical.search(c, "트랜스포머 어텐션", 1)) == [3]
