// embedsearch's web page: search, filters, and ask with a streamed, cited answer.
// Plain JavaScript (a module: nothing leaks into the page's globals) with no build step and
// nothing fetched from elsewhere. Every text that comes
// from the index (posts contain raw "<") is put on the page with textContent or text nodes,
// never innerHTML.
const TEXT = {
  ko: {
    placeholder: "무엇을 찾을까요? 질문도 됩니다",
    search: "검색", ask: "질문하기", filters: "필터",
    mode: "검색 방식", modeHybrid: "하이브리드", modeDense: "의미", modeLexical: "단어",
    kind: "종류", kindAny: "전체", kindProse: "글", kindCode: "코드",
    path: "경로 (glob)", tag: "태그", k: "개수",
    answer: "답변", sources: "출처", prompt: "LLM에 보낼 프롬프트",
    uncited: "답변이 인용한 글이 없습니다. 아래는 찾은 글입니다.", retrieved: "찾은 글",
    searching: "찾는 중…", waiting: "LLM이 읽는 중…", writing: "쓰는 중…",
    results: (n) => `결과 ${n}개`,
    noResults: "찾은 글이 없습니다.",
    evidence: (where) => `질문에 가장 가까운 문장: ${where}`,
    notRelevant: "관련 있어 보이는 글이 없습니다. 아래는 가장 가까운 글입니다.",
    noLLM: "서버에 LLM이 설정되어 있지 않아 답은 쓰지 못했습니다. 찾은 글과 프롬프트를 보여 드립니다 " +
      "(LLM은 embedsearch serve --llm-url 로 정합니다).",
    noIndex: "아직 색인이 없습니다: 먼저 `embedsearch index 폴더`를 실행하세요.",
    status: (d, c) => `문서 ${d.toLocaleString()}개 · 문단 ${c.toLocaleString()}개`,
    dropped: (n) => `문맥 창에 맞추려고 순위가 낮은 글 ${n}개를 뺐습니다.`,
    tokenTitle: "접근 토큰",
    tokenHelp: "이 서버는 토큰이 있어야 쓸 수 있습니다. embedsearch serve가 출력한 주소(?token=...)로 열거나, 서버의 토큰을 넣으세요. 이 탭을 닫으면 잊습니다.",
    tokenSave: "확인", tokenWrong: "토큰이 맞지 않습니다.",
    showLines: "원문", hideLines: "접기", also: "같은 문단:",
    firstToken: (s) => `첫 토큰 ${s}초`, total: (s) => `모두 ${s}초`,
    error: "오류: ", stopped: "연결이 끊겼습니다.",
    other: "English", otherLang: "en",
  },
  en: {
    placeholder: "What are you looking for? Questions work too",
    search: "Search", ask: "Ask", filters: "Filters",
    mode: "Mode", modeHybrid: "Hybrid", modeDense: "Meaning", modeLexical: "Words",
    kind: "Kind", kindAny: "Any", kindProse: "Prose", kindCode: "Code",
    path: "Path (glob)", tag: "Tag", k: "Results",
    answer: "Answer", sources: "Sources", prompt: "The prompt for the LLM",
    uncited: "The answer cited none; these were retrieved.", retrieved: "Retrieved passages",
    searching: "Searching…", waiting: "The LLM is reading…", writing: "Writing…",
    results: (n) => (n === 1 ? "1 result" : `${n} results`),
    noResults: "No passages found.",
    evidence: (where) => `The sentence nearest the question: ${where}`,
    notRelevant: "No passage looks relevant: these are only the nearest.",
    noLLM: "The server has no LLM configured, so there is no answer: here are the passages and the prompt " +
      "(start it with embedsearch serve --llm-url to choose one).",
    noIndex: "No index yet: run `embedsearch index FOLDER` first.",
    status: (d, c) => `${d.toLocaleString()} documents · ${c.toLocaleString()} passages`,
    dropped: (n) => `Left out the ${n} lowest-ranked passage(s) to fit the context window.`,
    tokenTitle: "Access token",
    tokenHelp: "This server needs a token. Open the URL embedsearch serve printed (?token=...), or enter the server's token; this tab forgets it when closed.",
    tokenSave: "OK", tokenWrong: "That token is not right.",
    showLines: "Source", hideLines: "Hide", also: "Also at:",
    firstToken: (s) => `first token ${s}s`, total: (s) => `${s}s in all`,
    error: "Error: ", stopped: "The connection was lost.",
    other: "한국어", otherLang: "ko",
  },
};

// [1]  [1, 3]  [1-3]  [^2]  ［1］: what embedsearch.answer.citations reads as citations
const CITATION = /[[［]\^?\s*(\d+(?:\s*(?:[,，、;]|[-–~])\s*\d+)*)\s*[\]］]/gu;
const TOKEN_KEY = "embedsearch.token";
const LANG_KEY = "embedsearch.lang";

const $ = (id) => document.getElementById(id);
let lang = pickLanguage();
let pending = null;      // what to run again once a token is given
let asking = null;       // the AbortController of the answer being streamed
let lastSearch = "";     // the query whose results are shown (a filter change searches again)
let lastStatus = null;

function t(key, ...args) {
  const value = TEXT[lang][key];
  return typeof value === "function" ? value(...args) : value;
}

function pickLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "ko" || saved === "en") return saved;
  const preferred = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  return preferred.toLowerCase().startsWith("ko") ? "ko" : "en";
}

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  const button = $("lang");
  button.textContent = t("other");
  button.lang = t("otherLang");
  showStatus(lastStatus);
}

// -- talking to the server ----------------------------------------------------------------

class NeedToken extends Error {}

async function call(url, options = {}) {
  const headers = new Headers(options.headers || {});
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(url, { ...options, headers });
  if (response.status === 401) {
    askForToken(Boolean(token));
    throw new NeedToken();
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function askForToken(wrong) {
  const form = $("token-form");
  form.hidden = false;
  if (wrong) {
    sessionStorage.removeItem(TOKEN_KEY);
    say(t("tokenWrong"), true);
  }
  $("token").focus();
}

function say(text, isError = false) {
  const el = $("message");
  el.textContent = isError ? t("error") + text : text;
  el.classList.toggle("error", isError);
}

function filters() {
  const params = new URLSearchParams();
  for (const id of ["mode", "kind", "path", "tag"]) {
    const value = $(id).value.trim();
    if (value) params.set(id, value);
  }
  const k = parseInt($("k").value, 10);
  if (k >= 1) params.set("k", String(k));
  return params;
}

async function loadStatus() {
  try {
    lastStatus = await (await call("/api/status")).json();
    showStatus(lastStatus);
  } catch (err) {
    if (!(err instanceof NeedToken)) say(err.message, true); // with a token, the form loads it again
  }
}

function showStatus(info) {
  const el = $("status");
  if (!info) { el.textContent = ""; return; }
  el.textContent = info.index.exists ? t("status", info.index.documents, info.index.chunks) : t("noIndex");
}

// -- search -------------------------------------------------------------------------------

async function search() {
  const q = $("q").value.trim();
  if (!q) return;
  stopAsking();
  remember(q);
  $("answer").hidden = true;
  say(t("searching"));
  const params = filters();
  params.set("q", q);
  try {
    const data = await (await call(`/api/search?${params}`)).json();
    lastSearch = q;
    say("");
    showResults(data.hits);
  } catch (err) {
    if (err instanceof NeedToken) { pending = search; return; }
    $("results-section").hidden = true;
    say(err.message, true);
  }
}

function showResults(hits) {
  const list = $("results");
  list.replaceChildren(...hits.map((hit) => hitItem(hit)));
  let note = hits.length ? t("results", hits.length) : t("noResults");
  if (hits.length && hits.every((hit) => hit.relevant === false)) note += " " + t("notRelevant");
  $("results-note").textContent = note;
  $("results-section").hidden = false;
}

function hitItem(hit) {
  const li = el("li", "hit");
  const head = el("div", "hit-head");
  head.append(el("span", "rank", String(hit.rank)), el("span", "trail", trail(hit)));
  const score = el("span", "score", hit.score.toFixed(3));
  if (hit.relevant === false) score.classList.add("weak");
  head.append(score);
  li.append(head, passage(hit));
  li.append(footer(hit));
  return li;
}

// A passage as the reader knows it: prose as a paragraph with the query's terms marked, code as
// code (its lines and indentation kept, scrolled sideways rather than wrapped or flattened).
function passage(hit) {
  if (hit.kind !== "code") {
    const p = highlighted(hit.snippet || flat(hit.text), hit.highlights || [], hit.evidence_span);
    if (hit.evidence && hit.evidence.length) p.title = t("evidence", hit.evidence[0].location);
    return p;
  }
  const pre = el("pre", "code");
  const code = el("code", hit.language ? `language-${hit.language}` : "", hit.text);
  if (hit.language) pre.dataset.language = hit.language;
  pre.tabIndex = 0; // a scrollable region is reachable from the keyboard
  pre.append(code);
  return pre;
}

function footer(hit) {
  const foot = el("div", "hit-foot");
  const where = el("button", "location", lineRef(hit));
  where.type = "button";
  where.title = t("showLines");
  where.setAttribute("aria-expanded", "false");
  foot.append(where);
  if (hit.kind === "code") foot.append(el("span", "badge", hit.language || "code"));
  if (hit.also && hit.also.length) foot.append(el("span", "also", `${t("also")} ${hit.also.join(", ")}`));
  where.addEventListener("click", () => toggleLines(where, hit));
  return foot;
}

// The passage's lines as the file has them now, with line numbers (GET /api/document).
async function toggleLines(button, hit) {
  const holder = button.closest("li");
  const open = holder.querySelector(".lines");
  if (open) {
    open.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const params = new URLSearchParams({ path: hit.path, start: hit.line_start, end: hit.line_end });
  try {
    const doc = await (await call(`/api/document?${params}`)).json();
    const box = el("div", "lines");
    doc.text.split("\n").forEach((line, i) => {
      box.append(el("span", "ln", String(doc.line_start + i)), el("span", "line", line));
    });
    holder.append(box);
    button.setAttribute("aria-expanded", "true");
  } catch (err) {
    if (err instanceof NeedToken) { pending = () => toggleLines(button, hit); return; }
    say(err.message, true);
  }
}

// -- ask ----------------------------------------------------------------------------------

async function ask() {
  const question = $("q").value.trim();
  if (!question) return;
  stopAsking();
  remember(question);
  const controller = new AbortController();
  asking = controller;
  const body = { question };
  for (const [key, value] of filters()) body[key] = key === "k" ? parseInt(value, 10) : value;
  resetAnswer();
  say("");
  const state = { text: "", passages: [] };
  try {
    const response = await call("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    setAnswerState(t("waiting"));
    await readEvents(response, (event, data) => onAnswerEvent(state, event, data));
    if (asking === controller && $("answer").dataset.state === "streaming") fail(t("stopped"));
  } catch (err) {
    if (err.name === "AbortError") return;
    if (err instanceof NeedToken) { pending = ask; return; }
    fail(err.message);
  } finally {
    if (asking === controller) asking = null;
  }
}

function stopAsking() {
  if (asking) asking.abort();
  asking = null;
}

function onAnswerEvent(state, event, data) {
  if (event === "passages") {
    state.passages = data.passages;
    showSources(data.passages);
    if (data.dropped) $("answer-meta").textContent = t("dropped", data.dropped);
  } else if (event === "token") {
    state.text += data.text;
    setAnswerState(t("writing"));
    renderAnswer(state.text.trimStart(), state.passages.length);
  } else if (event === "answer") {
    finish(data);
  } else if (event === "error") {
    fail(data.error);
  }
}

function finish(answer) {
  const box = $("answer");
  box.dataset.state = "done";
  setAnswerState("");
  if (answer.answer === null) {
    setAnswerState(t("noLLM"));
    $("answer-text").replaceChildren();
    $("prompt-text").textContent = answer.prompt;
    $("prompt").hidden = false;
  } else {
    renderAnswer(answer.answer, answer.passages.length);
  }
  const cited = new Set(answer.citations.map((c) => c.number));
  for (const item of $("sources").children) item.classList.toggle("cited", cited.has(Number(item.dataset.n)));
  // as the CLI does: the list is what was retrieved, not what the answer rests on
  const title = $("sources-title");
  if (answer.answer === null) title.textContent = t("retrieved");
  $("sources-note").textContent = answer.answer !== null && !cited.size && answer.passages.length ? t("uncited") : "";
  const parts = [];
  if (answer.model) parts.push(answer.model);
  if (answer.timings.first_token !== undefined) parts.push(t("firstToken", answer.timings.first_token.toFixed(1)));
  if (answer.timings.total !== undefined) parts.push(t("total", answer.timings.total.toFixed(1)));
  if (answer.dropped_passages) parts.push(t("dropped", answer.dropped_passages));
  $("answer-meta").textContent = parts.join(" · ");
}

function fail(message) {
  $("answer").dataset.state = "error";
  const state = $("answer-state");
  state.textContent = t("error") + message;
  state.classList.add("error");
}

function resetAnswer() {
  const box = $("answer");
  box.hidden = false;
  box.dataset.state = "streaming";
  $("answer-text").replaceChildren();
  $("answer-meta").textContent = "";
  $("answer-state").classList.remove("error");
  setAnswerState(t("searching"));
  $("prompt").hidden = true;
  $("sources").replaceChildren();
  $("sources-title").hidden = true;
  $("sources-title").textContent = t("sources");
  $("sources-note").textContent = "";
  $("results-section").hidden = true;
}

function setAnswerState(text) {
  $("answer-state").textContent = text;
}

// Server-sent events from a fetch body (EventSource can neither POST nor send a token).
async function readEvents(response, handle) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) handle(event, JSON.parse(data.join("\n")));
    }
  }
}

// The answer's text with each [n] a link to passage n ("[1]" whole; "[1, 3]" number by number).
function renderAnswer(text, count) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(CITATION)) {
    parts.push(document.createTextNode(text.slice(at, match.index)));
    at = match.index + match[0].length;
    const single = /^\d+$/.test(match[1]) && Number(match[1]) <= count && Number(match[1]) >= 1;
    if (single) {
      parts.push(citeLink(Number(match[1]), match[0]));
      continue;
    }
    const inner = match[0].indexOf(match[1]);
    parts.push(document.createTextNode(match[0].slice(0, inner)));
    for (const piece of match[1].split(/(\d+)/)) {
      const n = Number(piece);
      if (/^\d+$/.test(piece) && n >= 1 && n <= count) parts.push(citeLink(n, piece));
      else if (piece) parts.push(document.createTextNode(piece));
    }
    parts.push(document.createTextNode(match[0].slice(inner + match[1].length)));
  }
  parts.push(document.createTextNode(text.slice(at)));
  $("answer-text").replaceChildren(...parts);
}

function citeLink(n, label) {
  const a = el("a", "cite", label);
  a.href = `#source-${n}`;
  a.dataset.n = String(n);
  a.addEventListener("click", (event) => {
    event.preventDefault();
    openSource(n);
  });
  return a;
}

function openSource(n) {
  const item = $(`source-${n}`);
  if (!item) return;
  const details = item.querySelector("details");
  details.open = true;
  item.scrollIntoView({ behavior: "smooth", block: "center" });
  item.classList.remove("flash");
  void item.offsetWidth; // restart the animation
  item.classList.add("flash");
}

function showSources(passages) {
  const list = $("sources");
  list.replaceChildren(...passages.map((hit) => {
    const li = el("li", "source");
    li.id = `source-${hit.number}`;
    li.dataset.n = String(hit.number);
    const details = el("details");
    const summary = el("summary");
    summary.append(el("span", "number", `[${hit.number}]`), el("span", "trail", trail(hit)));
    details.append(summary, passage(hit), footer(hit));
    li.append(details);
    return li;
  }));
  $("sources-title").hidden = passages.length === 0;
}

// -- pieces -------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The snippet with the query's terms in <mark> and the sentence nearest the query (`evidence`,
// [start, end]) in <strong class="evidence">: offsets count code points, as Python does.
function highlighted(text, spans, evidence) {
  const p = el("p", "snippet");
  const chars = Array.from(text);
  const cuts = new Set([0, chars.length]);
  const kept = spans.filter(([start, end]) => start >= 0 && start < end && end <= chars.length);
  for (const [start, end] of kept) cuts.add(start).add(end);
  // a part of the snippet only: a passage of one sentence is all evidence, and all bold reads as none
  const ev = evidence && evidence[1] <= chars.length && evidence[1] - evidence[0] < chars.length ? evidence : null;
  if (ev) cuts.add(ev[0]).add(ev[1]);
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    let node = document.createTextNode(chars.slice(a, b).join(""));
    if (kept.some(([start, end]) => start <= a && b <= end)) {
      const mark = el("mark");
      mark.append(node);
      node = mark;
    }
    if (ev && ev[0] <= a && b <= ev[1]) {
      const strong = el("strong", "evidence");
      strong.append(node);
      node = strong;
    }
    p.append(node);
  }
  return p;
}

function flat(text) {
  return text.split(/\s+/).join(" ").trim();
}

// "title › heading › subheading", without the markdown #s and without repeating the title.
function trail(hit) {
  const parts = [hit.title || hit.path.split("/").pop().replace(/\.[^.]*$/, "")];
  for (const part of hit.headings || (hit.heading || "").split(" > ")) {
    const name = part.replace(/^#+\s*/, "").trim();
    if (name && name !== parts[parts.length - 1]) parts.push(name);
  }
  return parts.filter(Boolean).join(" › ");
}

function lineRef(hit) {
  return hit.location; // "path:15-21", as the CLI and MCP show it
}

function remember(q) {
  const url = new URL(window.location.href);
  url.searchParams.set("q", q);
  history.replaceState(null, "", url);
}

// -- wiring -------------------------------------------------------------------------------

// `embedsearch serve` prints the page's URL with the run's token (/?token=...): keep it for this
// tab and take it out of the address bar, so it is not bookmarked, shared or left in history.
function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token === null) return;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

function start() {
  applyLanguage();
  $("lang").addEventListener("click", () => {
    lang = t("otherLang");
    localStorage.setItem(LANG_KEY, lang);
    applyLanguage();
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  $("ask-button").addEventListener("click", ask);
  for (const id of ["mode", "kind", "path", "tag", "k"]) {
    $(id).addEventListener("change", () => {
      if (lastSearch && !$("results-section").hidden && $("q").value.trim() === lastSearch) search();
    });
  }
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    $("token-form").hidden = true;
    say("");
    const again = pending;
    pending = null;
    loadStatus();
    if (again) again();
  });
  takeTokenFromUrl();
  const q = new URLSearchParams(window.location.search).get("q");
  if (q) {
    $("q").value = q;
    search();
  }
  loadStatus();
}

start(); // modules run after the document is parsed
