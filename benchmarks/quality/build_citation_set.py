"""Build citation_check_set.jsonl from the hand-written spec citation_set_src.txt.

Why a spec + builder: the sentences, labels and citations are written by hand, but passage
texts, their 1-based lines and the shuffled numbering are read from ../shared so that every
path/line is exact and the supporting passage's position is not always the same.

Spec format (one block per passage set, items follow it):
    @ <path relative to its corpus folder> <corpus: corpus|real> [line]
    P <line> <a-b> ...           passages by first line (a paragraph: 1-8 non-blank lines; with
                                 `line` on the @ row a single line), or an explicit range a-b
    Q <question>
    <label> <kind> <lang> | cite <line>[,<line>] | sup <line> | key <substring> | near <line> | new <token>
    <sentence on the next line>
`key` must occur in the supporting passage (its line gives support.line); `new` (for changed
numbers/names) must occur in no passage; `near` names the passage a near-copy was made from.
Run: python benchmarks/quality/build_citation_set.py ../shared  (writes the .jsonl, prints counts)
"""
from __future__ import annotations

import json
import os
import random
import tempfile
import sys
from collections import Counter
from pathlib import Path

# The set holds passages of ../shared, which stay out of the repository: it is built at run time.
OUT = Path(os.environ.get("CITATION_SET", Path(tempfile.gettempdir()) / "citation_check_set.jsonl"))

HERE = Path(__file__).parent


def paragraph(lines: list[str], start: int) -> tuple[str, list[int]]:
    """Paragraph from 1-based `start`: consecutive non-blank lines, at most 8."""
    out, nums = [], []
    i = start - 1
    if not lines[i].strip():
        raise SystemExit(f"blank start line {start}")
    while i < len(lines) and lines[i].strip() and len(out) < 8:
        out.append(lines[i].rstrip())
        nums.append(i + 1)
        i += 1
    return "\n".join(out), nums


def first(tok: str) -> int:
    """A passage named by its first line, or by a range a-b."""
    return int(tok.split("-")[0])


def main(shared: str) -> None:
    shared_p = Path(shared)
    roots = {"corpus": shared_p / "corpus", "real": shared_p / "corpus-real"}
    rng = random.Random(20261206)
    items, errors = [], []
    cur = None
    src = (HERE / "citation_set_src.txt").read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(src):
        line = src[i].rstrip()
        i += 1
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@ "):
            parts = line.split()
            rel, corp = parts[1], parts[2]
            flines = (roots[corp] / rel).read_text(encoding="utf-8").splitlines()
            cur = {"path": rel, "lines": flines, "group": len({it["group"] for it in items}) + 1,
                   "single": len(parts) > 3 and parts[3] == "line"}
            continue
        if line.startswith("P "):
            starts, cur["paras"] = [], {}
            cur["group"] = len({it["group"] for it in items}) + 1  # one group per passage set
            for tok in line[2:].split():
                if "-" in tok:  # explicit range a-b
                    a, b = (int(x) for x in tok.split("-"))
                    nums = list(range(a, b + 1))
                    cur["paras"][a] = ("\n".join(cur["lines"][n - 1].rstrip() for n in nums), nums)
                elif cur["single"]:  # files with one paragraph per line and no blank lines
                    a = int(tok)
                    cur["paras"][a] = (cur["lines"][a - 1].rstrip(), [a])
                else:
                    a = int(tok)
                    cur["paras"][a] = paragraph(cur["lines"], a)
                starts.append(a)
            cur["order"] = starts
            seen = {}
            for st in starts:
                for ln in cur["paras"][st][1]:
                    if ln in seen:
                        errors.append(f"{cur['path']}: passages {seen[ln]} and {st} overlap at line {ln}")
                    seen[ln] = st
            continue
        if line.startswith("Q "):
            cur["q"] = line[2:].strip()
            continue
        head = [h.strip() for h in line.split("|")]
        label, kind, lang = head[0].split()
        opts = {}
        for h in head[1:]:
            k, _, v = h.partition(" ")
            opts[k] = v.strip()
        sentence = src[i].strip()
        i += 1
        order = cur["order"][:]
        rng.shuffle(order)
        num = {s: n + 1 for n, s in enumerate(order)}
        passages = [{"n": num[s], "path": cur["path"], "line": s, "text": cur["paras"][s][0]} for s in order]
        cites = [num[first(c)] for c in opts["cite"].split(",")]
        iid = f"c{len(items) + 1:03d}"
        support = None
        if "sup" in opts:
            s = first(opts["sup"])
            text, nums = cur["paras"][s]
            key = opts.get("key", "")
            hit = [ln for ln in nums if key and key in cur["lines"][ln - 1]]
            if not hit:
                errors.append(f"{iid}: key {key!r} not in passage {s}")
                hit = [s]
            support = {"n": num[s], "line": hit[0]}
        item = {"id": iid, "lang": lang, "question": cur["q"], "sentence": sentence, "cites": cites,
                "passages": passages, "label": label, "support": support, "kind": kind,
                "group": cur["group"]}
        if "near" in opts:
            item["near"] = {"n": num[first(opts["near"])], "line": first(opts["near"])}
        if "new" in opts:
            tok = opts["new"]
            if any(tok in p["text"] for p in passages):
                errors.append(f"{iid}: changed token {tok!r} occurs in a passage")
            if tok not in sentence:
                errors.append(f"{iid}: changed token {tok!r} not in sentence")
        # consistency checks
        if label == "supported" and (support is None or support["n"] not in cites):
            errors.append(f"{iid}: supported but cites {cites} vs support {support}")
        if label == "wrong_citation" and (support is None or support["n"] in cites):
            errors.append(f"{iid}: wrong_citation must cite another passage")
        if label == "unsupported" and support is not None:
            errors.append(f"{iid}: unsupported has support")
        if label in {"number_changed", "entity_changed"}:
            errors.append(f"{iid}: label/kind swapped")
        if not 3 <= len(passages) <= 5:
            errors.append(f"{iid}: {len(passages)} passages")
        items.append(item)
    out = OUT
    with out.open("w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    print(f"{len(items)} items -> {out}")
    print("label", dict(Counter(it["label"] for it in items)))
    print("label/lang", dict(Counter((it["label"], it["lang"]) for it in items)))
    print("label/kind", dict(Counter((it["label"], it["kind"]) for it in items)))
    print("support position", dict(Counter(it["support"]["n"] for it in items if it["support"])))
    if errors:
        print("\n".join(errors))
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared")
