"""Where things live by default. Environment variables override, flags override those."""
from __future__ import annotations

import os
from pathlib import Path


def default_index_path() -> Path:
    env = os.environ.get("EMBEDSEARCH_INDEX")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("embedsearch")) / "index"
