"""The citation check (embedsearch/answer/check.py) on a labelled set of answer sentences.

    python benchmarks/quality/citation_eval.py                  # figures at the shipped threshold
    python benchmarks/quality/citation_eval.py --sweep          # precision/recall over thresholds
    python benchmarks/quality/citation_eval.py --errors         # the sentences it gets wrong
    python benchmarks/quality/citation_eval.py --part dev       # two thirds (by item id) / --part held

`--part`: a fixed split by item id (seeded), a third held out, so a rule tuned while reading the
dev part's errors is measured on items it was not tuned on. Figures are printed for the chosen
part; without `--part` for the whole set and both parts.

citation_check_set.jsonl (benchmarks/quality/CITATION_SET.md says how it was built): answers of
3-5 numbered passages from data/posts and ../shared/corpus, each sentence labelled supported,
wrong_citation (another passage says it) or unsupported (none does), in Korean and English,
verbatim, paraphrased, summarised, near misses (a changed number, name or negation), off-topic
and generic. Reported: flagging "unsupported" (precision: of the sentences flagged, how many are
truly unsupported; recall: of the unsupported, how many are flagged), the same for "not backed by
its citation" (wrong_citation or unsupported), and accuracy over the three labels.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(shared: str) -> dict[str, list[dict]]:
    """Each item with its own passages (lines from a passage's first line and its line breaks).

    The set is built from citation_set_src.txt and the passages of ../shared at run time
    (build_citation_set.py), so no text of ../shared is kept in the repository."""
    sys.path.insert(0, str(HERE))
    import build_citation_set

    if not build_citation_set.OUT.exists():
        build_citation_set.main(shared)
    answers: dict[str, list[dict]] = defaultdict(list)
    for line in open(build_citation_set.OUT, encoding="utf-8"):
        if line.strip():
            item = json.loads(line)
            for p in item["passages"]:
                p.setdefault("lines", [p["line"], p["line"] + p["text"].count("\n")])
            answers[item.get("answer_id", item["id"])].append(item)
    return answers


def predict(answers: dict[str, list[dict]], embedder) -> list[tuple[dict, object]]:
    from embedsearch.answer.check import check
    from embedsearch.records import Hit

    out = []
    for items in answers.values():
        passages = sorted(items[0]["passages"], key=lambda p: p["n"])
        hits = [Hit(score=1.0, text=p["text"], path=p["path"], line_start=p["lines"][0], line_end=p["lines"][1],
                    heading="", title="", chunk_id=i) for i, p in enumerate(passages)]
        for item in items:
            marks = "".join(f"[{n}]" for n in item["cites"])
            result = check(f"{item['sentence']} {marks}", hits, embedder)
            out.append((item, result[0] if result else None))
    return out


class Cached:
    """The embedder with its query vectors kept: a sweep embeds each sentence once."""

    def __init__(self, embedder) -> None:
        self.embedder, self.memo = embedder, {}

    def embed_queries(self, texts):
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.embedder.embed_queries(missing)))
        return np.stack([self.memo[t] for t in texts])


def part_of(item_id: str) -> str:
    """"held" for a fixed third of the items (a seeded hash of the id), else "dev"."""
    import hashlib

    return "held" if int(hashlib.sha256(f"citation-split-0:{item_id}".encode()).hexdigest(), 16) % 3 == 0 else "dev"


def figures(rows) -> dict:
    def pr(flag_pred, flag_true) -> tuple[float, float]:
        tp = sum(flag_pred(r) and flag_true(i) for i, r in rows)
        fp = sum(flag_pred(r) and not flag_true(i) for i, r in rows)
        fn = sum(not flag_pred(r) and flag_true(i) for i, r in rows)
        return tp / max(1, tp + fp), tp / max(1, tp + fn)

    unsupported = pr(lambda r: r is None or r.status == "unsupported", lambda i: i["label"] == "unsupported")
    not_backed = pr(lambda r: r is None or r.status != "supported", lambda i: i["label"] != "supported")
    accuracy = sum((r.status if r else "unsupported") == i["label"] for i, r in rows) / max(1, len(rows))
    return {"n": len(rows), "unsupported_precision": round(unsupported[0], 3), "unsupported_recall": round(unsupported[1], 3),
            "not_backed_precision": round(not_backed[0], 3), "not_backed_recall": round(not_backed[1], 3),
            "accuracy": round(accuracy, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--checks", help="comma-separated checks besides the score (default: check.CHECKS)")
    ap.add_argument("--verbose", action="store_true", help="with --errors: the backing sentence too")
    ap.add_argument("--part", choices=["dev", "held"], help="only this part of the set (see part_of)")
    ap.add_argument("--shared", default=str(HERE.parents[2] / "shared"), help="the shared data folder")
    args = ap.parse_args()
    from embedsearch.answer import check as check_module
    from embedsearch.vectors import load_embedder

    if args.checks is not None:
        check_module.CHECKS = tuple(c for c in args.checks.split(",") if c)
    print(json.dumps({"checks": list(check_module.CHECKS)}))
    embedder = Cached(load_embedder())
    answers = load(args.shared)
    same = [round(0.84 + 0.01 * i, 2) for i in range(12)] if args.sweep else [check_module.SUPPORT_THRESHOLD]
    cross = [round(0.80 + 0.02 * i, 2) for i in range(6)] if args.sweep else [check_module.CROSS_SCRIPT_THRESHOLD]
    for threshold in same:
        for cross_threshold in cross:
            check_module.SUPPORT_THRESHOLD, check_module.CROSS_SCRIPT_THRESHOLD = threshold, cross_threshold
            every = predict(answers, embedder)
            rows = [(i, r) for i, r in every if not args.part or part_of(i["id"]) == args.part]
            head = {"threshold": threshold, "cross_script": cross_threshold}
            if args.part:
                print(json.dumps({**head, "part": args.part, **figures(rows)}))
            else:
                print(json.dumps({**head, **figures(rows)}))
                if not args.sweep:
                    for part in ("dev", "held"):
                        print(json.dumps({"part": part, **figures([(i, r) for i, r in every if part_of(i["id"]) == part])}))
    if not args.sweep:
        by_kind = Counter((i["label"], i.get("kind"), (r.status if r else "unsupported")) for i, r in rows)
        for (label, kind, got), n in sorted(by_kind.items()):
            print(f"  {label:15} {kind or '-':20} -> {got:15} {n}")
    if args.errors:
        for item, r in sorted(rows, key=lambda ir: (part_of(ir[0]["id"]), ir[0]["id"])):
            got = r.status if r else "unsupported"
            if got != item["label"]:
                print(f"- {part_of(item['id'])} {item['id']} want {item['label']} got {got} ({r.score if r else 0:.3f}) cites {item['cites']}: "
                      f"{item['sentence']}")
                if args.verbose and r is not None and r.passage:
                    print(f"    backed by [{r.passage}]: {r.evidence}")


if __name__ == "__main__":
    main()
