"""The web page of `embedsearch serve`, in a real headless Chromium driven by selenium.

Debian's chromium and chromedriver, named outright so Selenium Manager never tries to download
a browser; skipped only when they are not installed. Screenshots of every step go to a temporary
folder (or EMBEDSEARCH_SCREENSHOTS), listed at the end of the module's run.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from test_server import (TOKEN, CliServer, ThreadServer, copy_index, isolated_env, llm_config_text, needs_llm,
                         server_index_template)  # noqa: F401 (fixtures)

from embedsearch import Index

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)",
)
# Without the background-networking switches Chromium keeps calling home, which a closed network
# answers with a flood of errors.
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--lang=ko-KR", "--window-size=1280,900"]
WAIT = 30  # seconds for anything the page does, except an LLM's answer
PHONE = (390, 844)


@pytest.fixture(scope="module")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="module")
def web_index(server_index_template: Path, web_home: Path) -> Path:
    return copy_index(server_index_template, web_home)


@pytest.fixture(scope="module")
def site(web_index: Path, web_home: Path, browser: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    live = CliServer(["--index", str(web_index)], isolated_env(web_home / "home", llm_config_text(request)),
                     web_home / "serve.log")
    browser.get(f"{live.url}/?token={live.token}")  # as the user opens the URL serve prints: the tab keeps it
    # and the page takes it out of the address bar (its script runs after the load event)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT).until(lambda b: "token=" not in b.current_url)
    yield live.url
    live.stop()


@pytest.fixture(scope="module")
def shots(web_home: Path, request: pytest.FixtureRequest) -> Iterator[list[Path]]:
    saved: list[Path] = []
    yield saved
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("", *(f"screenshot: {path}" for path in saved), sep="\n")


@pytest.fixture(scope="module")
def browser(web_home: Path) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={web_home / 'chrome-profile'}")
    options.add_experimental_option("prefs", {"intl.accept_languages": "ko-KR,ko"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


class Page:
    """The page under test, with the few moves the tests make."""

    def __init__(self, driver: Any, shots: list[Path], folder: Path) -> None:
        from selenium.webdriver.common.by import By

        self.driver, self.shots, self.folder, self.By = driver, shots, folder, By

    def open(self, url: str) -> "Page":
        self.driver.get(url)
        self.wait(lambda d: self.js("return document.readyState") == "complete")
        return self

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def find(self, css: str) -> Any:
        return self.driver.find_element(self.By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        return self.driver.find_elements(self.By.CSS_SELECTOR, css)

    def wait(self, condition: Callable[[Any], Any], timeout: float = WAIT) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)

    def query(self, text: str) -> None:
        box = self.find("#q")
        box.clear()
        box.send_keys(text)

    def search(self, text: str) -> list[Any]:
        self.js("document.getElementById('results').replaceChildren()")
        self.query(text)
        self.find("#search-button").click()
        return self.wait(lambda d: self.all("#results .hit"))

    def locations(self) -> list[str]:
        """The results' path:line, read in one go (the list may be replaced at any moment)."""
        return self.js("return [...document.querySelectorAll('#results .hit .location')].map(e => e.textContent)")

    def shot(self, name: str, full: bool = True) -> Path:
        """A screenshot of the whole page (the window grown to the page's height, then put back)."""
        path = self.folder / f"{name}.png"
        size = self.driver.get_window_size()
        if full:
            height = min(self.js("return document.documentElement.scrollHeight") + 140, 4000)
            self.driver.set_window_size(size["width"], max(height, size["height"]))
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(size["width"], size["height"])
        self.shots.append(path)
        return path


@pytest.fixture(scope="module")
def page(browser: Any, shots: list[Path], web_home: Path) -> Page:
    folder = Path(os.environ.get("EMBEDSEARCH_SCREENSHOTS") or web_home / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return Page(browser, shots, folder)


# -- tests ----------------------------------------------------------------------------------

def test_search_shows_results_with_the_terms_highlighted(page: Page, site: str) -> None:
    page.open(site)
    assert page.js("return document.documentElement.lang") == "ko"  # navigator.language is Korean
    assert page.find("#search-button").text == "검색"
    page.wait(lambda d: "문서 4개" in page.find("#status").text)
    hits = page.search("LLM 환각 문제")
    first = hits[0]
    assert first.find_element(page.By.CSS_SELECTOR, ".trail").text == "대규모 언어 모델 정리 › 대규모 언어 모델 › 한계"
    marks = [m.text for m in first.find_elements(page.By.CSS_SELECTOR, ".snippet mark")]
    assert "환각" in marks and "LLM" in marks
    # a passage of one sentence is all evidence: its line is named on hover, nothing is underlined
    assert first.find_element(page.By.CSS_SELECTOR, ".snippet").get_attribute("title").endswith("llm.md:13")
    assert not first.find_elements(page.By.CSS_SELECTOR, ".snippet strong.evidence")
    assert page.locations()[0].endswith("llm.md:13")
    first.find_element(page.By.CSS_SELECTOR, ".location").click()  # the passage's lines, numbered
    lines = page.wait(lambda d: first.find_elements(page.By.CSS_SELECTOR, ".lines .ln"))
    assert lines[0].text == "13"
    assert "q=LLM" in page.driver.current_url  # a reload or a shared link searches again
    page.shot("search-ko")


def test_a_filter_changes_the_results(page: Page, site: str) -> None:
    page.open(site)
    page.search("정렬 함수 sorted")
    before = page.locations()
    assert any(not loc.split(":")[0].endswith("python.md") for loc in before)
    page.find("#filters summary").click()
    tag = page.find("#tag")
    tag.send_keys("python")
    page.find("#k").click()  # leaving the field commits it (a change event): the search runs again
    page.wait(lambda d: page.locations() and page.locations() != before)
    assert all(loc.split(":")[0].endswith("python.md") for loc in page.locations())
    page.shot("filter-ko")
    from selenium.webdriver.support.expected_conditions import staleness_of

    shown = page.all("#results .hit")[0]
    page.find("#mode option[value=lexical]").click()  # a select searches again at once
    page.wait(staleness_of(shown))
    assert all(loc.split(":")[0].endswith("python.md") for loc in page.locations())


def test_text_from_the_index_is_shown_never_run(page: Page, site: str) -> None:
    page.open(site)
    hits = page.search("HTML tags markup literally")
    snippet = hits[0].find_element(page.By.CSS_SELECTOR, ".snippet, pre.code").text  # the reader takes it for code
    assert '<img src=x onerror="window.__pwned=1">' in snippet and "<script>" in snippet
    assert page.js("return window.__pwned") is None
    assert not page.all("#results img, #results script")


@needs_llm
def test_ask_streams_the_answer_and_a_citation_leads_to_its_passage(page: Page, site: str) -> None:
    page.open(site)
    page.query("LLM의 한계는 뭐야?")
    page.find("#filters summary").click()
    k = page.find("#k")
    k.clear()
    k.send_keys("2")  # the grammar the test LLM runs under cites [1] or [2]
    # count how often the answer's text changes while it streams
    page.js("window.__pieces = 0; new MutationObserver(() => window.__pieces++)"
            ".observe(document.getElementById('answer-text'), {childList: true, subtree: true, characterData: true})")
    page.find("#ask-button").click()
    page.wait(lambda d: page.find("#answer").get_attribute("data-state") in ("done", "error"), timeout=180)
    assert page.find("#answer").get_attribute("data-state") == "done", page.find("#answer-state").text
    assert page.js("return window.__pieces") >= 2, "the answer appeared in one piece"
    assert "gemma-3-270m" in page.find("#answer-meta").text
    cites = page.all("#answer-text a.cite")
    assert cites, page.find("#answer-text").text
    number = cites[0].get_attribute("data-n")
    source = page.find(f"#source-{number}")
    assert source.find_element(page.By.CSS_SELECTOR, "details").get_attribute("open") is None
    cites[0].click()
    page.wait(lambda d: source.find_element(page.By.CSS_SELECTOR, "details").get_attribute("open") is not None)
    page.wait(lambda d: page.js(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight", source))
    where = source.find_element(page.By.CSS_SELECTOR, ".location").text
    assert ":" in where and where.split(":")[0].endswith(".md")
    assert "cited" in source.get_attribute("class")
    page.shot("ask-ko")


def test_english_and_a_phone(page: Page, site: str) -> None:
    page.open(site)
    page.find("#lang").click()
    assert page.js("return document.documentElement.lang") == "en"
    assert page.find("#search-button").text == "Search" and page.find("#lang").text == "한국어"
    page.wait(lambda d: "4 documents" in page.find("#status").text)
    page.search("kimchi stew pork")
    assert "result" in page.find("#results-note").text
    page.shot("search-en")
    page.open(site + "/?q=kimchi%20stew")  # the language is remembered, the query read from the URL
    assert page.find("#ask-button").text == "Ask"
    page.wait(lambda d: page.all("#results .hit"))
    page.driver.set_window_size(*PHONE)
    try:
        assert page.js("return document.documentElement.scrollWidth <= window.innerWidth")  # nothing sticks out
        page.shot("phone-en")
    finally:
        page.driver.set_window_size(1280, 900)
        page.find("#lang").click()  # back to Korean for whatever runs next


def test_a_token_is_asked_for_once_per_tab(page: Page, server_index_template: Path, web_home: Path) -> None:
    from embedsearch.answer import LLMConfig
    from embedsearch.server import create_app

    with Index(copy_index(server_index_template, web_home / "guarded")) as ix:
        live = ThreadServer(create_app(ix, token=TOKEN, llm_config=LLMConfig(backend="none")))
        try:
            page.open(live.url + "/?q=kimchi")  # a search waiting for the token
            page.wait(lambda d: page.find("#token-form").is_displayed())
            page.shot("token-ko", full=False)
            page.find("#token").send_keys("wrong" + "\n")
            page.wait(lambda d: "토큰이 맞지 않습니다" in page.find("#message").text)
            page.find("#token").send_keys(TOKEN + "\n")
            page.wait(lambda d: "문서 4개" in page.find("#status").text)
            assert not page.find("#token-form").is_displayed()
            page.wait(lambda d: page.locations())  # the search that waited ran
            assert page.locations()[0].split(":")[0].endswith("kimchi.md")
            page.open(live.url)  # the same tab keeps it
            page.wait(lambda d: "문서 4개" in page.find("#status").text)
            assert not page.find("#token-form").is_displayed()
            assert httpx.get(live.url + "/api/status", trust_env=False).status_code == 401
        finally:
            page.js("sessionStorage.clear()")
            live.stop()


# -- code as code, and sources that were only retrieved ----------------------------------------

CODE_POST = """---
title: 토크나이저 실행기
---
# 토크나이저 실행

서브워드 토크나이저는 사전에 없는 단어도 조각으로 나눕니다. 형태소 분석기와 달리 학습한 어휘만 씁니다.

다음과 같이 실행합니다:

```python
tokens = tokenizer.tokenize("형태소 분석기 대신 서브워드 토크나이저를 실행하면 사전에 없는 단어도 조각으로 나뉩니다", add_special_tokens=True, max_length=512, truncation=True)
for token in tokens:
    print(token, tokenizer.convert_tokens_to_ids(token))
```
"""


@pytest.fixture(scope="module")
def code_site(web_home: Path) -> Iterator[str]:
    from embedsearch.answer import LLMConfig
    from embedsearch.server import create_app

    posts = web_home / "code-posts"
    posts.mkdir()
    (posts / "tokenizer.md").write_text(CODE_POST, encoding="utf-8")
    with Index(web_home / "code-index", create=True) as ix:
        ix.add(posts)
        live = ThreadServer(create_app(ix, llm_config=LLMConfig(backend="none")))
        try:
            yield live.url
        finally:
            live.stop()


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is no PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


CODE_BOX = """
const pre = arguments[0], style = getComputedStyle(pre), box = pre.getBoundingClientRect();
return {tag: pre.tagName, code: pre.querySelector('code') && pre.querySelector('code').className,
        language: pre.dataset.language, font: style.fontFamily, whiteSpace: style.whiteSpace,
        text: pre.textContent, left: box.left, right: box.right, scrolls: pre.scrollWidth > pre.clientWidth,
        overflowX: style.overflowX, inner: window.innerWidth, dpr: window.devicePixelRatio,
        page: document.documentElement.scrollWidth};
"""


@pytest.mark.parametrize("width,height", [(1280, 900), PHONE], ids=["desktop", "phone"])
def test_code_is_shown_as_code(page: Page, code_site: str, width: int, height: int) -> None:
    page.driver.set_window_size(width, height)
    try:
        page.open(code_site)
        hits = page.search("서브워드 토크나이저 실행 코드")
        code_hits = [h for h in hits if h.find_elements(page.By.CSS_SELECTOR, "pre.code")]
        assert code_hits, [h.text for h in hits]
        box = page.js(CODE_BOX, code_hits[0].find_element(page.By.CSS_SELECTOR, "pre.code"))
        assert box["tag"] == "PRE" and box["code"] == "language-python" and box["language"] == "python"
        assert "monospace" in box["font"] and box["whiteSpace"] == "pre"
        # its lines and indentation, not flattened into one paragraph
        assert "\n    print(token, tokenizer.convert_tokens_to_ids(token))" in box["text"]
        assert box["inner"] == width
        assert 0 <= box["left"] and box["right"] <= box["inner"]  # inside the window ...
        assert box["page"] <= box["inner"]  # ... and so is everything else
        assert box["scrolls"] and box["overflowX"] == "auto"  # the long line scrolls in its box
        # prose results stay paragraphs
        assert all(p.tag_name == "p" for p in page.all("#results .hit .snippet"))
        shot = page.shot(f"code-{'desktop' if width > 600 else 'phone'}", full=False)
        assert shot.stat().st_size > 1000
        assert _png_size(shot)[0] == round(width * box["dpr"])
    finally:
        page.driver.set_window_size(1280, 900)


def test_the_sentence_nearest_the_question_is_underlined(page: Page, code_site: str) -> None:
    page.open(code_site)
    hits = page.search("형태소 분석기와 달리 어떤 어휘를 쓰나?")
    prose = next(h for h in hits if h.find_elements(page.By.CSS_SELECTOR, "p.snippet"))
    snippet = prose.find_element(page.By.CSS_SELECTOR, "p.snippet")
    evidence = "".join(e.text for e in snippet.find_elements(page.By.CSS_SELECTOR, "strong.evidence"))
    assert "".join(evidence.split()) == "형태소분석기와달리학습한어휘만씁니다."
    assert "서브워드 토크나이저는" in snippet.text  # the rest of the passage is there, not underlined
    assert snippet.get_attribute("title").endswith("tokenizer.md:6")
    assert page.js("return getComputedStyle(arguments[0]).textDecorationLine",
                   snippet.find_element(page.By.CSS_SELECTOR, "strong.evidence")) == "underline"
    page.shot("evidence")


# The server's answer, as an LLM that cited nothing would stream it: the page's own /api/ask
# replaced in the browser, the passages taken from the real /api/search.
UNCITED_ASK = """
const real = window.fetch;
window.fetch = async (url, options) => {
  if (!String(url).startsWith("/api/ask")) return real(url, options);
  const question = JSON.parse(options.body).question;
  const found = await (await real(`/api/search?q=${encodeURIComponent(question)}`)).json();
  const passages = found.hits.map((hit, i) => ({...hit, number: i + 1}));
  const text = "글에는 그런 내용이 없습니다.";
  const events = [["passages", {passages}], ["token", {text}],
    ["answer", {question, answer: text, citations: [], passages, model: "test", timings: {}, dropped_passages: 0}]];
  const body = events.map(([e, d]) => `event: ${e}\\ndata: ${JSON.stringify(d)}\\n\\n`).join("");
  return new Response(body, {status: 200, headers: {"Content-Type": "text/event-stream"}});
};
"""


def test_sources_say_when_the_answer_cited_none(page: Page, code_site: str) -> None:
    page.open(code_site)
    page.query("토크나이저는 어떻게 실행하나요?")
    page.find("#ask-button").click()  # no LLM on this server: the retrieved passages, said so
    page.wait(lambda d: page.find("#answer").get_attribute("data-state") == "done")
    assert page.find("#sources-title").text == "찾은 글" and not page.find("#sources-note").text
    assert page.all("#sources pre.code code.language-python")  # code as code among the sources too

    page.js(UNCITED_ASK)
    page.find("#ask-button").click()
    page.wait(lambda d: page.find("#answer").get_attribute("data-state") == "done"
              and page.find("#answer-text").text)
    assert page.find("#answer-text").text == "글에는 그런 내용이 없습니다."
    assert page.find("#sources-title").text == "출처"
    assert page.find("#sources-note").text == "답변이 인용한 글이 없습니다. 아래는 찾은 글입니다."
    assert not page.all("#sources .source.cited")
    page.shot("ask-uncited-ko")
