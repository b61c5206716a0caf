"""Any OpenAI-compatible `/v1/chat/completions` server (ollama, llama.cpp, vLLM, LM Studio, OpenAI), streamed."""
from __future__ import annotations

import json
from typing import Any, Iterator
from urllib.parse import urlsplit

import httpx

from ...errors import EmbedsearchError, LLMUnreachableError
from ..config import LLMConfig, api_key_from_env
from .base import estimate_tokens

DEFAULT_CONTEXT_TOKENS = 4096  # ollama's default num_ctx; servers don't report theirs


def endpoints(url: str) -> tuple[str, str]:
    """(chat completions URL, API base) from whatever the user pasted.

    Accepts `http://host:11434`, `http://host:11434/v1` and `.../v1/chat/completions`.
    """
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if url.endswith("/chat/completions"):
        return url, url[: -len("/chat/completions")]
    if not urlsplit(url).path:
        url += "/v1"
    return url + "/chat/completions", url


class OpenAIBackend:
    """Streams from a chat-completions server. Token counts are estimates (see estimate_tokens)."""

    def __init__(self, config: LLMConfig) -> None:
        if not config.url:
            raise EmbedsearchError("the openai backend needs a server URL: --llm-url or EMBEDSEARCH_LLM_URL")
        self.config = config
        self.url, self.base = endpoints(config.url)
        self.model = config.model
        self.context_tokens = config.context_tokens or DEFAULT_CONTEXT_TOKENS
        self.max_tokens = config.max_tokens
        headers = {"Accept": "text/event-stream"}
        api_key = config.api_key or api_key_from_env()
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(config.timeout, connect=min(10.0, config.timeout)),
            trust_env=False,  # a proxy from the environment must not capture a 127.0.0.1 server
        )

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def close(self) -> None:
        self._client.close()

    def _fail(self, exc: Exception, url: str) -> EmbedsearchError:
        """A transport error as one line naming the URL the user gave (and the endpoint tried)."""
        where = f"{self.config.url} ({url})" if url.rstrip("/") != str(self.config.url).rstrip("/") else url
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return LLMUnreachableError(f"the LLM at {where} did not answer within {self.config.timeout:g}s")
        reason = str(exc) or type(exc).__name__
        return LLMUnreachableError(f"cannot reach the LLM at {where}: {reason}")

    def _check(self, response: httpx.Response, url: str) -> None:
        if response.status_code < 400:
            return
        response.read()
        try:
            detail = response.json().get("error", response.text)
            if isinstance(detail, dict):
                detail = detail.get("message", detail)
        except (ValueError, AttributeError):
            detail = response.text
        detail = " ".join(str(detail).split())[:300]
        hint = ""
        if response.status_code in (401, 403):
            hint = " (set EMBEDSEARCH_LLM_API_KEY or OPENAI_API_KEY)"
        elif response.status_code == 404 and self.model:
            hint = f" (is --llm-model {self.model!r} right, and is the URL the API base?)"
        raise EmbedsearchError(f"the LLM at {url} answered HTTP {response.status_code}: {detail}{hint}")

    def _default_model(self) -> str:
        """The server's first model, for servers that serve one (llama.cpp) or when none was named."""
        url = self.base + "/models"
        try:
            with self._client.stream("GET", url) as response:
                self._check(response, url)
                response.read()
                models = response.json().get("data") or []
        except httpx.HTTPError as exc:
            raise self._fail(exc, url) from None
        except ValueError:
            raise EmbedsearchError(f"{url} did not return JSON; is the URL an OpenAI-compatible API?") from None
        if not models:
            raise EmbedsearchError(f"the LLM at {self.base} lists no models; name one with --llm-model")
        return str(models[0]["id"])

    def body(self, prompt: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
        }
        penalty = self.config.repeat_penalty
        # llama.cpp servers, LM Studio and vLLM read it, ollama ignores it; OpenAI itself rejects it.
        if penalty and penalty != 1.0 and urlsplit(self.url).hostname != "api.openai.com":
            body["repeat_penalty"] = penalty
        body.update(self.config.options)
        return body

    def stream(self, prompt: str) -> Iterator[str]:
        if not self.model:
            self.model = self._default_model()
        try:
            with self._client.stream("POST", self.url, json=self.body(prompt)) as response:
                self._check(response, self.url)
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    try:
                        event = json.loads(data)
                    except ValueError:
                        continue
                    if event.get("error"):
                        error = event["error"]
                        message = error.get("message", error) if isinstance(error, dict) else error
                        raise EmbedsearchError(f"the LLM at {self.url} failed: {message}")
                    for choice in event.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield text
        except httpx.HTTPError as exc:
            raise self._fail(exc, self.url) from None
