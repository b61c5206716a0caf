"""markdown-it plugins for markdown as blog engines write it: Jekyll/Liquid, Hexo, Hugo, kramdown.

On the lovit blog (84 Jekyll posts) plain CommonMark read `{% highlight python %}` as prose, so
Python `# comments` became headings (833 chunks under a fake heading), and left Liquid in 1,122
chunks and kramdown attribute lists in 218. The rules here:

- `template_fence` (block): `{% highlight lang %}…{% endhighlight %}` (Jekyll), `{% codeblock
  lang:x %}…{% endcodeblock %}` (Hexo) and `{{< highlight lang >}}…{{< /highlight >}}` (Hugo)
  become `fence` tokens with their language, so their lines are code, never headings.
- `template_line` (block): a line holding only template tags or kramdown IALs (`{% include %}`,
  `{{< youtube >}}`, `{: .notice}`) is not text; it ends a paragraph, as the IAL line after a
  paragraph does in kramdown. `{% comment %}`/`{% capture %}` and `{::comment}` blocks are dropped
  whole. A line holding a Hugo `figure` shortcode becomes a paragraph of its caption.
- `template_reference` (block): a reference-link definition whose destination is Liquid
  (`[x]: {{ site.baseurl }}{% link _posts/x.md %}`) is registered like any other definition, so
  `[text][x]` reads as "text", and the line is not text.
- `template_inline` (core, after block): template tags inside a paragraph. This one rewrites the
  inline source before the inline parser runs, because the tags sit inside link destinations
  (`[text]({{ site.baseurl }}{% link a.md %})`), which the link rule parses itself: an inline
  rule would never see them, and their spaces break the link. `{% link x %}` and `{% post_url x %}`
  keep their target (so the link keeps its text), Hugo `ref`/`relref` too; `{% raw %}` keeps its
  content literally; every other tag and `{{ … }}` output is dropped; a figure shortcode keeps its
  caption. kramdown IALs (`{: width="70%"}`) are dropped outside code spans.

Which engine's rules apply is decided per file (`dialect`): Hugo does not run Liquid, so a Hugo
post about Airflow keeps `{{ ds }}` as text, while Jekyll would render it away.
"""
from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore

LIQUID_EVIDENCE = re.compile(
    r"\{%-?\s*(?:end)?(?:highlight|link|post_url|include|include_relative|raw|assign|capture|comment|if|for"
    r"|unless|case|codeblock|blockquote)\b|\{\{-?\s*(?:site|page|post|paginator|layout|content)\b|\{\{\s*['\"][^'\"]*['\"]\s*\|"
)
HUGO_EVIDENCE = re.compile(r"\{\{[<%]\s*/?\s*\w")


def dialect(text: str) -> str:
    """"hugo", "liquid" (Jekyll, Hexo) or "" (plain markdown: template syntax is literal text)."""
    if HUGO_EVIDENCE.search(text):
        return "hugo"
    if LIQUID_EVIDENCE.search(text):
        return "liquid"
    return ""


# -- the tags ----------------------------------------------------------------------------------

LIQUID_TAG = r"\{%-?\s*(?P<liquid>\w+)(?P<largs>.*?)-?%\}"
LIQUID_OUTPUT = r"\{\{-?(?P<output>.*?)-?\}\}"
SHORTCODE = r"\{\{(?P<open>[<%])\s*(?P<close>/)?\s*(?P<short>[\w./-]+)(?P<sargs>.*?)[>%]\}\}"
SHORTCODE_ESCAPED = r"\{\{(?P<eopen>[<%])/\*(?P<escaped>.*?)\*/[>%]\}\}"
IAL = r"\{::[^}]*\}|\{:(?!\.?\d)[^}\n]*\}"  # {: .notice}, {: width="70%"}, {::options /}; not '{:.3f}'

_LIQUID_SCAN = re.compile(rf"\{{%-?\s*raw\s*-?%\}}(?P<raw>.*?)\{{%-?\s*endraw\s*-?%\}}|{LIQUID_TAG}|{LIQUID_OUTPUT}", re.S)
_HUGO_SCAN = re.compile(rf"{SHORTCODE_ESCAPED}|{SHORTCODE}", re.S)
_IAL_SCAN = re.compile(IAL)
_CODE_SPAN = re.compile(r"(`+)[\s\S]*?(?<!`)\1(?!`)")
_QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_PARAM = re.compile(r"(\w+)=(?:\"([^\"]*)\"|'([^']*)'|(\S+))")

FENCE_OPEN = re.compile(
    r"\{%-?\s*(?P<tag>highlight|codeblock|code)\b(?P<args>.*?)-?%\}|\{\{<\s*(?P<htag>highlight|code)\b(?P<hargs>.*?)>\}\}"
)
FENCE_CLOSE = {
    "highlight": re.compile(r"\{%-?\s*endhighlight\b.*?%\}"),
    "codeblock": re.compile(r"\{%-?\s*endcodeblock\s*-?%\}"),
    "code": re.compile(r"\{%-?\s*endcode\s*-?%\}"),
    "hugo:highlight": re.compile(r"\{\{<\s*/\s*highlight\s*>\}\}"),
    "hugo:code": re.compile(r"\{\{<\s*/\s*code\s*>\}\}"),
}
DROPPED_BLOCKS = {  # opening tag -> closing tag: everything between is not output
    re.compile(r"^\{%-?\s*comment\s*-?%\}"): re.compile(r"\{%-?\s*endcomment\s*-?%\}"),
    re.compile(r"^\{%-?\s*capture\b.*?%\}"): re.compile(r"\{%-?\s*endcapture\s*-?%\}"),
    re.compile(r"^\{::comment\}"): re.compile(r"\{:/comment\}|\{:/\}"),
}


def _liquid(match: re.Match[str]) -> str:
    if match.group("raw") is not None:
        return match.group("raw")
    if match.group("liquid"):
        if match.group("liquid") in ("link", "post_url"):
            return match.group("largs").strip()
        return ""
    quoted = _QUOTED.search(match.group("output"))  # {{ "/assets/x.png" | absolute_url }} -> /assets/x.png
    return next(g for g in quoted.groups() if g is not None) if quoted else ""


def _hugo(match: re.Match[str]) -> str:
    if match.group("escaped") is not None:  # {{</* x */>}} shows the shortcode itself
        opening = match.group("eopen")
        return "{{" + opening + match.group("escaped") + {"<": ">", "%": "%"}[opening] + "}}"
    if match.group("close"):
        return ""
    name, args = match.group("short"), match.group("sargs")
    if name in ("ref", "relref"):
        quoted = _QUOTED.search(args)
        return next(g for g in quoted.groups() if g is not None) if quoted else ""
    if name == "figure":
        return figure_caption(args)
    return ""


def figure_caption(args: str) -> str:
    params = {m.group(1): next(g for g in m.groups()[1:] if g is not None) for m in _PARAM.finditer(args)}
    return params.get("caption") or params.get("title") or params.get("alt") or ""


def _keeping_lines(replace):
    """A substitution that leaves as many line breaks as it removed, so lines keep their numbers."""
    return lambda match: replace(match) + "\n" * match.group(0).count("\n")


def rewrite_inline(text: str, engine: str) -> str:
    """Template tags and IALs out of a paragraph's source, as the blog engine would render it."""
    if engine == "liquid" and "{" in text:
        text = _LIQUID_SCAN.sub(_keeping_lines(_liquid), text)
    elif engine == "hugo" and "{{" in text:
        text = _HUGO_SCAN.sub(_keeping_lines(_hugo), text)
    if "{:" in text:  # kramdown syntax, so not inside code spans
        drop = _keeping_lines(lambda m: "")
        parts = []
        last = 0
        for span in _CODE_SPAN.finditer(text):
            parts.append(_IAL_SCAN.sub(drop, text[last : span.start()]) + span.group(0))
            last = span.end()
        text = "".join(parts) + _IAL_SCAN.sub(drop, text[last:])
    return text


# -- block rules -------------------------------------------------------------------------------

def _line(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _template_fence(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.is_code_block(start):
        return False
    first = _line(state, start)
    opening = FENCE_OPEN.match(first)
    if not opening:
        return False
    hugo = opening.group("htag") is not None
    if state.env.get("dialect", "") != ("hugo" if hugo else "liquid"):
        return False
    close = FENCE_CLOSE[("hugo:" + opening.group("htag")) if hugo else opening.group("tag")]
    last, found = start, close.search(first, opening.end())
    while not found and last + 1 < end:
        last += 1
        found = close.search(_line(state, last))
    if not found:
        return False
    if silent:
        return True
    if last == start:
        content = first[opening.end() : found.start()]
    else:
        body = state.getLines(start + 1, last, state.sCount[start], True)
        head = first[opening.end() :]
        tail = _line(state, last)[: found.start()]
        content = (head + "\n" if head.strip() else "") + body + tail
    token = state.push("fence", "code", 0)
    token.info = _fence_language(opening.group("hargs") if hugo else opening.group("args"), hugo)
    token.content = content.rstrip() + "\n"
    token.markup = opening.group(0)
    token.map = [start, last + 1]
    token.meta = {"content_line": start if first[opening.end() :].strip() else start + 1}
    state.line = last + 1
    return True


def _fence_language(args: str, hugo: bool) -> str:
    args = args.strip()
    named = re.search(r"\b(?:lang|language):?=?\"?([\w+#.-]+)", args)
    if named:
        return named.group(1)
    if hugo or not args:
        positional = [a for a in args.split() if "=" not in a]
        return positional[0].strip("\"'") if positional else ""
    return args.split()[0]  # Jekyll: {% highlight python linenos %}; Hexo titles have no lang: prefix


_TEMPLATE_ITEM = {
    "liquid": re.compile(rf"\s*(?:{LIQUID_TAG}|{LIQUID_OUTPUT}|{IAL})"),
    "hugo": re.compile(rf"\s*(?:\{{\{{[<%](?!/\*).*?[>%]\}}\}}|{IAL})"),
    "": re.compile(rf"\s*(?:{IAL})"),
}


def _template_line(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.is_code_block(start):
        return False
    text = _line(state, start)
    if not text.startswith("{"):
        return False
    engine = state.env.get("dialect", "")
    for opening, closing in DROPPED_BLOCKS.items():
        if (engine == "liquid" or opening.pattern.startswith("^\\{::")) and opening.match(text):
            last = next((i for i in range(start, end) if closing.search(_line(state, i))), None)
            if last is not None:
                if not silent:
                    state.line = last + 1
                return True
    item = _TEMPLATE_ITEM[engine]
    pos = 0
    captions = []
    while text[pos:].strip():
        match = item.match(text, pos)
        if not match:
            return False
        if engine == "hugo" and _FIGURE.match(match.group(0)):
            captions.append(figure_caption(match.group(0)))
        pos = match.end()
    if silent:
        return True
    caption = " ".join(c for c in captions if c)
    if caption:
        state.push("paragraph_open", "p", 1).map = [start, start + 1]
        inline = state.push("inline", "", 0)
        inline.content = caption
        inline.map = [start, start + 1]
        inline.children = []
        state.push("paragraph_close", "p", -1)
    state.line = start + 1
    return True


_FIGURE = re.compile(r"\s*\{\{[<%]\s*figure\b")


_REFERENCE = re.compile(r"\[([^\]]+)\]:\s*(.*?)\s*$")


def _template_reference(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.is_code_block(start) or state.env.get("dialect") not in ("liquid", "hugo"):
        return False
    match = _REFERENCE.match(_line(state, start))
    if not match or "{" not in match.group(2):
        return False
    if silent:
        return True
    label = normalizeReference(match.group(1))
    if label:
        destination = rewrite_inline(match.group(2), state.env["dialect"]).split()
        state.env.setdefault("references", {}).setdefault(label, {"title": "", "href": destination[0] if destination else ""})
    state.line = start + 1
    return True


# -- core rule ---------------------------------------------------------------------------------

_RAW_TAGS = re.compile(r"\{%-?\s*(?:end)?raw\s*-?%\}")


def _template_inline(state: StateCore) -> None:
    engine = state.env.get("dialect", "")
    for token in state.tokens:
        if token.type == "inline":
            token.content = rewrite_inline(token.content, engine)
        elif token.type == "fence" and engine == "liquid":  # Jekyll runs Liquid inside fences too
            token.content = _RAW_TAGS.sub("", token.content)


def template_plugin(md: MarkdownIt) -> None:
    """Register the rules; the dialect comes from `env["dialect"]` (see `dialect()`)."""
    blocks = ["paragraph", "reference", "blockquote", "list"]
    md.block.ruler.before("fence", "template_fence", _template_fence, {"alt": blocks})
    md.block.ruler.before("reference", "template_reference", _template_reference, {"alt": ["paragraph", "reference"]})
    md.block.ruler.before("html_block", "template_line", _template_line, {"alt": blocks})
    md.core.ruler.after("block", "template_inline", _template_inline)
