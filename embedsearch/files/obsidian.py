"""Obsidian and Docusaurus syntax rewritten out of a note's source, line for line.

Each rule replaces text with text of the same number of lines, so every passage's line range
still points at its source lines. Code fences are left alone. On a real Korean vault (520 notes,
Ludobico/Obsidian-Vault, measured in /tmp only) plain markdown left `[[wikilinks]]` in 659 prose
passages and `![[embeds]]` in 47; after these rules, 0 and 0.

- `[[target|alias]]` -> alias; `[[folder/note#section]]` -> note; `![[image.png]]` -> nothing
  (like an image); `![[note]]` -> the note's name; `==mark==` -> mark; `%%comment%%` (also over
  lines) -> blank; `- [ ] task`/`- [x] task` -> `- task`; inline `#tag` -> `tag`, collected.
- callouts `> [!type]+ title` and Docusaurus admonitions `:::type[title]` / `:::type title` …
  `:::` are containers: their marker lines are blanked and their title joins the heading path of
  the passages inside (`containers`).
- MDX: `import`/`export` lines (also inside Docusaurus' ```` ```mdx-code-block ```` fences, whose
  content is MDX, not code), `{/* comments */}` and `<!-- truncate -->` are not text.
- footnote references `[^1]` are dropped from the sentence; a definition `[^1]: text` keeps its
  text (a short definition then merges with its neighbours under the same heading).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# not when a markdown link destination follows (`[[1]](https://…)` is a link whose text is "[1]");
# `[[DatasetMapper]](cfg, is_train=False)` is a note link and then text (21 prose passages of a real
# vault kept it whole when any "(" stopped the match)
_LINK_AFTER = r"(?!\([^\s()]*\))"
# a target may hold single brackets ([[Schema#[build-system]]], a heading with `[val1, ...]` in it)
_WIKI = re.compile(r"(!?)\[\[((?:[^\[\]\n]|\[[^\[\]\n]*\])+?)\]\]" + _LINK_AFTER)
_MARK = re.compile(r"==(?=\S)([^=\n]+?)(?<=\S)==")
_COMMENT = re.compile(r"%%.*?%%", re.S)
_TASK = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)\[[ xX/-]\]\s+")
_TAG_CHARS = r"[^\s!-,./:-@\[-^`{-~]"  # letters, digits, any non-ASCII word character
# Obsidian's inline tag: not after a word, `(` (a link's `(#section)`), `&` (`&#123;`) or `"`, `=`, `:` (`color="#ffff00"`: 194 false tags in a real vault), not all digits
_TAG = re.compile(rf"(?<![\w#&/`(\"'=:])#(?![\d/_-]*(?:\s|$|[!-,.:-@\[-^`{{-~]))({_TAG_CHARS}+(?:[/_-]{_TAG_CHARS}+)*)")
_CALLOUT = re.compile(r"^(\s*>\s*)\[!([\w-]+)\][+-]?[ \t]*(.*)$")
_ADMONITION = re.compile(r"^\s{0,3}:::\s*([A-Za-z][\w-]*)(?:\[(.*)\]|[ \t]+(.+?))?\s*$")
_ADMONITION_END = re.compile(r"^\s{0,3}:::\s*$")
_IMPORT = re.compile(r"^(?:import|export)\s")
_JSX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.S)
_TRUNCATE = re.compile(r"<!--\s*truncate\s*-->")
_FOOTREF = re.compile(r"\[\^[^\]\s]+\](?!:)")
_FOOTDEF = re.compile(r"^(\s{0,3})\[\^[^\]\s]+\]:\s?")
_IMAGE = re.compile(r"\.(?:png|jpe?g|gif|bmp|svg|webp|avif|tiff?|mp[34]|webm|wav|m4a|ogg|flac|mov|mkv|pdf)$", re.I)
_CODE_SPAN = re.compile(r"(`+)[^`]*?\1")


@dataclass
class Rewritten:
    text: str
    containers: list[tuple[int, int, str]] = field(default_factory=list)  # (first, last) 0-based lines, title
    tags: list[str] = field(default_factory=list)


OBSIDIAN_EVIDENCE = re.compile(r"\[\[[^\]\n]+\]\]|^\s*>\s*\[![\w-]+\]|%%[^%\n]*%%|(?<!=)==[^\s=][^=\n]*[^\s=]==(?!=)", re.M)


_CODE = re.compile(r"^\s{0,3}(`{3,}|~{3,}).*?^\s{0,3}\1|`+[^`\n]*`+|\$\$.*?\$\$", re.S | re.M)
_STRONG = re.compile(r"!\[\[[^\]\n]+\]\]|^\s*>\s*\[![\w-]+\]|%%[^%\n]+%%", re.M)
_NOTE_LINK = re.compile(r"\[\[[^\]\n\[,'\"=]*[^\W\d][^\]\n\[,'\"=]*\]\]" + _LINK_AFTER)


def looks_obsidian(text: str) -> bool:
    """Obsidian syntax outside code: an embed, a callout or a %%comment%%, or two links that
    read as note names. Python's `[[1, 2]]` and `[['지하철', 'NNG']]` in 10 of the 130 real blog
    posts (lovit, meme2515) are not; neither is a lone `[[Azure]]`."""
    prose = _CODE.sub(" ", text)
    return bool(_STRONG.search(prose)) or len(_NOTE_LINK.findall(prose)) >= 2


def _wiki(match: re.Match[str]) -> str:
    embed, inner = match.group(1), match.group(2)
    target, _, alias = inner.partition("|")
    if embed and _IMAGE.search(target.split("#")[0].strip()):
        return ""
    if alias and not (embed and alias.strip().isdigit()):  # ![[x.png|500]] is a width
        return alias.strip()
    name = target.split("#")[0].split("^")[0].strip()
    if not name:  # [[#section]] in the same note
        return target.lstrip("#^").strip()
    return name.rsplit("/", 1)[-1].removesuffix(".md")


def _wikilinks(line: str) -> str:
    """Note links rewritten, except inside a code span (`` `[[x]]` `` stays literal); a link whose
    alias or heading holds code (`[[#on_chain_start|`on_chain_start`]]`) is still a link: 4 kinds
    of prose passages in a real vault kept such links whole when code spans were cut out first."""
    spans = [m.span() for m in _CODE_SPAN.finditer(line)]

    def sub(match: re.Match[str]) -> str:
        if any(a < match.start() < b for a, b in spans):
            return match.group(0)
        return _wiki(match)

    return _WIKI.sub(sub, line)


def _outside_code(line: str, rule) -> str:
    parts, last = [], 0
    for span in _CODE_SPAN.finditer(line):
        parts.append(rule(line[last : span.start()]) + span.group(0))
        last = span.end()
    return "".join(parts) + rule(line[last:])


def rewrite(text: str, *, obsidian: bool, mdx: bool) -> Rewritten:
    """`text` (after front matter) with the syntax above rewritten; line count unchanged."""
    if obsidian:
        text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    if mdx:
        text = _JSX_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    lines = text.split("\n")
    out: list[str] = []
    containers: list[tuple[int, int, str]] = []
    open_admonitions: list[tuple[int, str]] = []
    callout: tuple[int, str] | None = None
    tags: list[str] = []
    fence = ""
    mdx_block = ""  # the fence of an open ```mdx-code-block: its content is MDX, not code
    for i, line in enumerate(lines):
        if mdx_block and re.match(rf"^\s{{0,3}}{mdx_block[0]}{{{len(mdx_block)},}}\s*$", line):
            mdx_block = ""
            out.append("")
            continue
        if fence:
            if re.match(rf"^\s{{0,3}}{fence[0]}{{{len(fence)},}}\s*$", line):
                fence = ""
            out.append(line)
            continue
        opening = _FENCE.match(line)
        if opening and mdx and line.strip()[len(opening.group(1)):].strip() == "mdx-code-block":
            mdx_block = opening.group(1)
            out.append("")
            continue
        if opening and not line.lstrip().startswith(">"):
            fence = opening.group(1)
            out.append(line)
            continue
        if callout and not line.lstrip().startswith(">"):
            containers.append((callout[0], i - 1, callout[1]))
            callout = None
        if mdx and _IMPORT.match(line):
            out.append("")
            continue
        admonition = _ADMONITION.match(line)
        if admonition:
            title = (admonition.group(2) or admonition.group(3) or "").strip() or admonition.group(1).capitalize()
            open_admonitions.append((i, re.sub(r"[*_`]", "", title)))
            out.append("")
            continue
        if open_admonitions and _ADMONITION_END.match(line):
            start, title = open_admonitions.pop()
            containers.append((start, i, title))
            out.append("")
            continue
        if obsidian:
            marker = _CALLOUT.match(line)
            if marker:
                if callout:
                    containers.append((callout[0], i - 1, callout[1]))
                title = marker.group(3).strip() or marker.group(2).capitalize()
                callout = (i, _WIKI.sub(_wiki, title))
                out.append(marker.group(1).rstrip())
                continue
        line = _TRUNCATE.sub("", line)
        line = _FOOTDEF.sub(r"\1", line)
        line = _outside_code(line, lambda s: _FOOTREF.sub("", s))
        if obsidian:
            line = _TASK.sub(r"\1", line)
            line = _outside_code(_wikilinks(line), lambda s: _MARK.sub(r"\1", s))
            if not re.match(r"^\s{0,3}#{1,6}(\s|$)", line):
                def tag(match: re.Match[str]) -> str:
                    tags.append(match.group(1))
                    return match.group(1)
                line = _outside_code(line, lambda s: _TAG.sub(tag, s))
        out.append(line)
    if callout:
        containers.append((callout[0], len(lines) - 1, callout[1]))
    for start, title in open_admonitions:
        containers.append((start, len(lines) - 1, title))
    return Rewritten("\n".join(out), containers, list(dict.fromkeys(tags)))
