"""Any OpenAI-compatible chat server as the LLM: llama.cpp's server
(`python -m llama_cpp.server`, from `llama-cpp-python[server]`), vLLM, … given its base
URL (settings: ``llm.base_url``, e.g. ``http://127.0.0.1:8000/v1``).

Same contract as the in-process runtime: greedy decoding (temperature 0, top_k 1 where
the server understands it), tokens streamed as they come (server-sent events). Prefix
caching is the server's business (llama.cpp's server and vLLM both reuse prompt prefixes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from core.errors import ModelError
from models.llm import ChatMessage


class OpenAICompatibleLLM:
    def __init__(self, base_url: str, model: str = "", timeout_s: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._model = model
        self.name = f"{model or 'server model'} at {self.base_url}"
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0))

    def close(self) -> None:
        self._client.close()

    def _fail(self, what: str, exc: Exception | str) -> ModelError:
        return ModelError(self.name, f"{what}: {exc}")

    def model_id(self) -> str:
        """The model the server serves (the first one it lists) unless one was named."""
        if not self._model:
            try:
                response = self._client.get(f"{self.base_url}/models")
                response.raise_for_status()
                self._model = str(response.json()["data"][0]["id"])
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                raise self._fail("cannot list the server's models", exc) from None
        return self._model

    def stream_chat(self, messages: Sequence[ChatMessage], max_tokens: int) -> Iterator[str]:
        body: dict[str, Any] = {
            "model": self.model_id(),
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "top_k": 1,
            "seed": 0,
            "stream": True,
        }
        try:
            with self._client.stream(
                "POST", f"{self.base_url}/chat/completions", json=body
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise self._fail(
                        f"the server answered {response.status_code}", response.text[:200]
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        return
                    choices = json.loads(data).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield str(piece)
        except httpx.HTTPError as exc:
            raise self._fail("the server cannot be reached", exc) from None

    def count_tokens(self, text: str) -> int:
        """The server's own tokenizer (llama.cpp: /extras/tokenize, vLLM: /tokenize);
        a rough estimate (4 characters a token) when it has neither."""
        root = self.base_url.removesuffix("/v1")
        for url, body in (
            (f"{root}/extras/tokenize", {"input": text}),
            (f"{root}/tokenize", {"model": self.model_id(), "prompt": text}),
        ):
            try:
                response = self._client.post(url, json=body)
                if response.status_code == 200:
                    payload = response.json()
                    if "tokens" in payload:
                        return len(payload["tokens"])
                    if "count" in payload:
                        return int(payload["count"])
            except (httpx.HTTPError, ValueError):
                continue
        return max(1, len(text) // 4)
