"""The one registry mechanism (embedsearch/registry.py): lazy parts, aliases, unknown names,
and entry points, down to a package installed next to embedsearch that adds a reader, a model,
a vector store and an LLM backend which the CLI then uses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from embedsearch import registry as registry_module
from embedsearch.errors import EmbedsearchError, UnknownNameError
from embedsearch.registry import Registry

PLUGIN = '''
from embedsearch.files import Reader
from embedsearch.files.plaintext import parse_plaintext
from embedsearch.store.faiss_store import FaissStore
from embedsearch.vectors.fake import HashEmbedder


class TextileReader(Reader):
    suffixes = (".textile",)

    def parse(self, text, path):
        return parse_plaintext(text.replace("h1. ", ""), fallback_title="textile")


class FlatStore(FaissStore):
    name = "demo-flat"


def embedder():
    return HashEmbedder(dim=32)


class Echo:
    model = "echo"
    context_tokens = 4096
    max_tokens = 64

    def __init__(self, config):
        self.config = config

    def count_tokens(self, text):
        return len(text) // 3 + 16

    def stream(self, prompt):
        yield "에코가 답한다 [1]"
'''

ENTRY_POINTS = """[embedsearch.readers]
textile = embedsearch_demo:TextileReader

[embedsearch.embedders]
demo-hash = embedsearch_demo:embedder

[embedsearch.vector_stores]
demo-flat = embedsearch_demo:FlatStore

[embedsearch.llm_backends]
echo = embedsearch_demo:Echo

[embedsearch.test_things]
plugged = embedsearch_demo:Echo
taken = embedsearch_demo:Echo
broken = embedsearch_demo_missing:Thing
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An installed distribution, embedsearch-demo, as pip lays one out: its module and its
    .dist-info with entry points (importlib.metadata finds it on sys.path)."""
    site = tmp_path / "site"
    (site / "embedsearch_demo").mkdir(parents=True)
    (site / "embedsearch_demo" / "__init__.py").write_text(PLUGIN, "utf-8")
    info = site / "embedsearch_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: embedsearch-demo\nVersion: 0.1\n", "utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, "utf-8")
    return site


def test_a_dotted_part_is_imported_when_first_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_probe.py").write_text("VALUE = {'made': True}\n", "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    things: Registry[dict] = Registry("thing", "embedsearch.test_nothing")
    things.register("Probe", "lazy_probe:VALUE", aliases=("P",), colour="red")
    assert "probe" in things and "p" in things and things.names() == ["probe"]
    assert "lazy_probe" not in sys.modules and not things.entry("probe").loaded
    assert things.get("PROBE") == {"made": True} and "lazy_probe" in sys.modules
    assert things.entry("p").meta == {"colour": "red"} and things.entry("p").loaded
    monkeypatch.delitem(sys.modules, "lazy_probe")


def test_names_aliases_and_takeovers() -> None:
    things: Registry[str] = Registry("thing", "embedsearch.test_nothing")
    things.register("a", "A", aliases=("x",))
    things.register("b", "B", aliases=("x", "y"))  # later: takes the alias over
    assert things.entry("x").name == "b" and things.entry("y").name == "b"
    things.register("a", "A2")  # a name registered again replaces the part and forgets its old aliases
    assert things.entry("a").target == "A2" and things.entry("x").name == "b"
    things.register("y", "Y")  # a name that was an alias becomes the new part's
    assert things.entry("y").name == "y"
    things.unregister("b")
    assert things.names() == ["a", "y"] and things.entry("x") is None


def test_an_unknown_name_is_one_typed_line_listing_the_known_ones() -> None:
    things: Registry[str] = Registry("gadget", "embedsearch.test_nothing", hint=" (e.g. b:WHERE)")
    things.register("b", "B")
    things.register("a", "A")
    with pytest.raises(UnknownNameError) as info:
        things.get("c", shown="c:somewhere")
    assert str(info.value) == "unknown gadget 'c:somewhere': use one of a, b (e.g. b:WHERE)"
    assert things.find("c") is None


def test_a_part_that_cannot_be_imported_is_one_line() -> None:
    things: Registry[str] = Registry("gadget", "embedsearch.test_nothing")
    things.register("gone", "embedsearch_no_such_module:Thing")
    with pytest.raises(EmbedsearchError, match=r"^gadget 'gone' could not be loaded from 'embedsearch_no_such_module"):
        things.get("gone")


def test_entry_points_add_names_but_never_replace_code(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(site))
    calls = []
    real = registry_module.entry_points
    monkeypatch.setattr(registry_module, "entry_points", lambda group: calls.append(group) or real(group))
    things: Registry[object] = Registry("thing", "embedsearch.test_things")
    things.register("taken", "builtins:len")
    assert things.get("taken") is len and calls == []  # a name registered in code: entry points never read
    assert things.names() == ["broken", "plugged", "taken"] and calls == ["embedsearch.test_things"]
    assert things.get("taken") is len  # the plugin's "taken" was ignored
    assert things.entry("plugged").plugin == "embedsearch-demo" and things.get("plugged").__name__ == "Echo"
    with pytest.raises(EmbedsearchError, match=r"^thing 'broken' \(from embedsearch-demo\) could not be loaded"):
        things.get("broken")
    things.find("nothing-else")
    assert calls == ["embedsearch.test_things"]  # read once


def test_a_plugins_reader_is_found_by_its_own_suffixes(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from embedsearch.files.registry import Reader, _instance

    monkeypatch.syspath_prepend(str(site))
    readers: Registry[Reader] = Registry("reader", "embedsearch.readers", prepare=_instance,
                                         aliases_of=lambda r: r.suffixes)
    reader = readers.find(".textile")  # a miss: entry points read, plugins imported to learn their suffixes
    assert reader is not None and type(reader).__name__ == "TextileReader"
    assert readers.aliases() == {".textile": "textile"}


def test_an_installed_package_adds_a_reader_model_store_and_backend(site: Path, tmp_path: Path) -> None:
    """The CLI, in a fresh process, with embedsearch-demo on the path: its reader is walked to,
    its model embeds, its store holds the vectors, its backend answers, and the unknown-name
    errors list its names."""
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "story.textile").write_text("h1. 텍스타일\n\n텍스타일 문법으로 쓴 사워도우 이야기.\n", "utf-8")
    (posts / "other.md").write_text("# 벡터\n\nFAISS는 벡터 검색 라이브러리다.\n", "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    ix = str(tmp_path / "ix")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "embedsearch", *args], capture_output=True, text=True,
                              timeout=300, env=env, cwd=tmp_path)

    done = run("index", str(posts), "--index", ix, "--model", "demo-hash", "--vector-store", "demo-flat", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 2 and not json.loads(done.stdout)["unread"]
    status = json.loads(run("status", "--index", ix, "--json").stdout)
    assert status["vector_store"]["kind"] == "demo-flat" and status["embedder"] == "fake:hash-32@1"
    found = run("search", "사워도우 이야기", "--index", ix, "--json", "-k", "1", "--mode", "dense")
    assert found.returncode == 0 and json.loads(found.stdout.splitlines()[0])["path"].endswith("story.textile")
    asked = run("ask", "사워도우 이야기는?", "--index", ix, "--llm-backend", "echo", "--answer-anyway")
    assert asked.returncode == 0, asked.stderr
    assert "에코가 답한다" in asked.stdout

    wrong = run("ask", "질문", "--index", ix, "--llm-backend", "gpt")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "backend must be one of auto, echo, extractive, llama, none, openai, not 'gpt'" in " ".join(wrong.stderr.split())
    wrong = run("index", str(posts), "--index", str(tmp_path / "ix2"), "--vector-store", "qdrant:x")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "unknown vector store 'qdrant:x': use one of demo-flat, faiss, milvus" in " ".join(wrong.stderr.split())


def test_what_a_store_name_resolves_to_must_be_a_vector_store() -> None:
    from embedsearch.store import VECTOR_STORES, open_store

    VECTOR_STORES.register("not-a-store", "builtins:len")
    try:
        with pytest.raises(EmbedsearchError, match=r"^vector store <built-in function len> is not a subclass"):
            open_store("not-a-store", None, 8)  # type: ignore[arg-type]
    finally:
        VECTOR_STORES.unregister("not-a-store")
    assert "not-a-store" not in VECTOR_STORES.names()
