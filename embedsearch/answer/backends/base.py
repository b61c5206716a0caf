"""The one thing `ask` needs from an LLM: stream an answer to a prompt, and know how big a prompt fits."""
from __future__ import annotations

import math
from typing import Iterator, Protocol, runtime_checkable

# Role markers a chat template wraps around the one user message (Gemma, Llama 3, ChatML all
# stay well under this).
CHAT_OVERHEAD_TOKENS = 16


@runtime_checkable
class LLM(Protocol):
    model: str | None  # what Answer.model reports; may be filled in by the first stream()
    context_tokens: int  # the window the prompt and the answer share
    max_tokens: int  # answer length, reserved out of the window

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes as the user message, chat markers included."""
        ...

    def stream(self, prompt: str) -> Iterator[str]:
        """Send `prompt` as one user message and yield the answer's text as it arrives."""
        ...


def estimate_tokens(text: str) -> int:
    """A deliberately high token count for servers whose tokenizer we cannot see.

    One token per non-ASCII character (Hangul syllables take 0.5-1 tokens in current tokenizers:
    Llama 3, Qwen, Gemma, GPT-4o) and one per three ASCII characters (English averages four).
    Overestimating only drops a passage too many; underestimating makes servers truncate the
    prompt silently (ollama) or fail.
    """
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_chars / 3) + (len(text) - ascii_chars) + CHAT_OVERHEAD_TOKENS
