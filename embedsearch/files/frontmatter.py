"""Front matter -> JSON-friendly fields, with `tags`, `categories` and `draft` normalised.

`tags` and `categories` always become lists of strings, so `--tag 42` matches `tags: 42`: a YAML
list stays a list (each item as a string), a number becomes one tag, and a string is split at
commas when it has any (`tags: nlp, 한국어` -> ["nlp", "한국어"]), else at white space, which is what
Jekyll does with `tags: nlp korean`. `draft` becomes a bool: Hugo writes `draft: "true"` as often
as `draft: true` (9 of meme2515's 46 posts use the string). Drafts are indexed like any post;
the flag stays in the front matter for whoever wants to filter them.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

LIST_FIELDS = ("tags", "categories")


def load(block: str, syntax: str = "yaml") -> dict[str, Any]:
    """Parse a front matter block (YAML between `---`, or TOML between `+++`). Bad syntax -> {}."""
    try:
        if syntax == "toml":
            import tomllib

            fields = tomllib.loads(block)
        else:
            import yaml

            fields = yaml.safe_load(block)
    except Exception:  # noqa: BLE001 - any parse error means "no usable front matter"
        return {}
    return normalise(fields) if isinstance(fields, dict) else {}


def normalise(fields: dict[Any, Any]) -> dict[str, Any]:
    out = {str(k): _plain(v) for k, v in fields.items()}
    for key in LIST_FIELDS:
        if key in out:
            out[key] = string_list(out[key])
    if "draft" in out:
        out["draft"] = out["draft"] is True or str(out["draft"]).strip().lower() in ("true", "yes", "1")
    return out


def string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):  # each item is one tag, even with spaces ("Computer Science")
        out: list[str] = []
        for v in value:
            if isinstance(v, list):
                out.extend(string_list(v))
            elif v is not None and str(v).strip():
                out.append(str(v).strip())
        return out
    if isinstance(value, str):
        parts = value.split(",") if "," in value else value.split()
        return [p.strip() for p in parts if p.strip()]
    return [str(value)]


def _plain(value: Any) -> Any:
    """YAML dates and other objects -> JSON-friendly values."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)
