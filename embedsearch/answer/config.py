"""Which LLM `ask` talks to: flags beat environment variables, which beat the config file.

The config file is TOML at `platformdirs.user_config_dir("embedsearch")/config.toml` (the
`EMBEDSEARCH_CONFIG` environment variable names another path), for example:

    [llm]
    url = "http://localhost:11434/v1"   # any OpenAI-compatible server
    model = "gemma3:1b"
    context_tokens = 8192

    [llm.options]                       # sent as-is in every request (server-specific knobs)
    top_p = 0.9
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import config_path, config_section
from ..errors import EmbedsearchError, UnknownNameError


def backends() -> list[str]:
    """What `backend` may be: "auto" and every registered LLM backend (answer/backends)."""
    from .backends import LLM_BACKENDS

    return ["auto", *LLM_BACKENDS.names()]


# environment variable -> LLMConfig field
ENV_VARS: dict[str, str] = {
    "EMBEDSEARCH_LLM_BACKEND": "backend",
    "EMBEDSEARCH_LLM_URL": "url",
    "EMBEDSEARCH_LLM_MODEL": "model",
    "EMBEDSEARCH_LLM_CONTEXT_TOKENS": "context_tokens",
    "EMBEDSEARCH_LLM_MAX_TOKENS": "max_tokens",
    "EMBEDSEARCH_LLM_TEMPERATURE": "temperature",
    "EMBEDSEARCH_LLM_REPEAT_PENALTY": "repeat_penalty",
    "EMBEDSEARCH_LLM_TIMEOUT": "timeout",
}
API_KEY_VARS = ("EMBEDSEARCH_LLM_API_KEY", "OPENAI_API_KEY")


@dataclass
class LLMConfig:
    """Everything needed to reach an LLM and sample from it."""

    backend: str = "auto"  # auto | openai | llama | extractive | none | a plugin's backend
    url: str | None = None  # OpenAI-compatible server, e.g. http://localhost:11434/v1
    model: str | None = None  # server model name, or a GGUF path for the llama backend
    api_key: str | None = field(default=None, repr=False)
    context_tokens: int | None = None  # None: the model's n_ctx (llama) or 4096 (servers)
    max_tokens: int = 512  # answer length; also reserved out of the context window
    temperature: float = 0.2
    repeat_penalty: float | None = 1.1  # llama.cpp-style; None or 1.0 turns it off
    timeout: float = 120.0  # seconds to wait for a server's next bytes
    options: dict[str, Any] = field(default_factory=dict)  # extra request fields


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    """The `[llm]` table of the config file; {} when there is no file."""
    path = path or config_path()
    llm = config_section("llm", path)
    known = {f.name for f in fields(LLMConfig)} - {"api_key"}  # keys belong in the environment
    unknown = sorted(set(llm) - known)
    if unknown:
        raise EmbedsearchError(
            f"config file {path}: unknown key {unknown[0]!r} in [llm] (known: {', '.join(sorted(known))})"
        )
    return llm


def _coerce(name: str, value: Any, where: str) -> Any:
    """Check and convert one setting, so a typo fails with its name and origin."""
    if value is None:
        return None
    kinds: dict[str, type] = {
        "context_tokens": int,
        "max_tokens": int,
        "temperature": float,
        "repeat_penalty": float,
        "timeout": float,
    }
    if name == "backend":
        from .backends import LLM_BACKENDS

        value = str(value).strip().lower()
        entry = LLM_BACKENDS.entry(value) if value != "auto" else None
        if value != "auto" and entry is None:
            raise UnknownNameError(f"{where}: backend must be one of {', '.join(backends())}, not {value!r}")
        return entry.name if entry is not None else value
    if name == "options":
        if not isinstance(value, dict):
            raise EmbedsearchError(f"{where}: options must be a table")
        return dict(value)
    if name in kinds:
        try:
            return kinds[name](value)
        except (TypeError, ValueError):
            raise EmbedsearchError(f"{where}: {name} must be a number, not {value!r}") from None
    return str(value)


def resolve_config(config_file: Path | None = None, **flags: Any) -> LLMConfig:
    """Merge flags (None = not given) over environment variables over the config file."""
    settings: dict[str, Any] = {}
    path = config_file or config_path()
    for name, value in read_config_file(path).items():
        settings[name] = _coerce(name, value, f"config file {path}")
    for var, name in ENV_VARS.items():
        if os.environ.get(var):
            settings[name] = _coerce(name, os.environ[var], f"environment variable {var}")
    for name, value in flags.items():
        if name not in ENV_VARS.values() and name != "options":
            raise TypeError(f"unknown LLM setting {name!r}")
        if value is not None:
            settings[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
    return LLMConfig(**settings, api_key=api_key_from_env())


def api_key_from_env() -> str | None:
    return next((os.environ[v] for v in API_KEY_VARS if os.environ.get(v)), None)
