"""Where things live by default. Environment variables override the config file, flags override both."""
from __future__ import annotations

import os
from pathlib import Path


def default_index_path() -> Path:
    env = os.environ.get("EMBEDSEARCH_INDEX")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("embedsearch")) / "index"


def default_vector_store() -> str:
    """The vector store a new index is created with: EMBEDSEARCH_VECTOR_STORE, else the config
    file's `[index] vector_store`, else FAISS."""
    env = os.environ.get("EMBEDSEARCH_VECTOR_STORE")
    if env:
        return env
    return str(config_section("index").get("vector_store") or "faiss")


def config_path() -> Path:
    """The TOML config file (it need not exist); EMBEDSEARCH_CONFIG names another."""
    if os.environ.get("EMBEDSEARCH_CONFIG"):
        return Path(os.environ["EMBEDSEARCH_CONFIG"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("embedsearch")) / "config.toml"


def config_section(name: str, path: Path | None = None) -> dict:
    """One table of the config file ({} when there is no file or no such table)."""
    import tomllib

    from .errors import EmbedsearchError

    path = path or config_path()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EmbedsearchError(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise EmbedsearchError(f"config file {path}: [{name}] must be a table")
    return section
