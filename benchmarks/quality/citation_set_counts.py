"""Print the counts table of citation_check_set.jsonl as Markdown (pasted into CITATION_SET.md)."""
import json
import sys
from collections import Counter
from pathlib import Path

items = [json.loads(l) for l in (Path(__file__).parent / "citation_check_set.jsonl").open(encoding="utf-8")]
out = [f"{len(items)} items in {len({i['group'] for i in items})} passage groups, "
       f"{len({i['passages'][0]['path'] for i in items})} source files.", ""]
for name, key in [("label", lambda i: i["label"]), ("label x lang", lambda i: f"{i['label']} / {i['lang']}"),
                  ("label x kind", lambda i: f"{i['label']} / {i['kind']}"),
                  ("passages per item", lambda i: str(len(i["passages"]))),
                  ("position of the supporting passage", lambda i: str(i["support"]["n"]) if i["support"] else "none"),
                  ("source file", lambda i: i["passages"][0]["path"])]:
    out += [f"| {name} | items |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in sorted(Counter(map(key, items)).items())]
    out.append("")
sys.stdout.write("\n".join(out))
