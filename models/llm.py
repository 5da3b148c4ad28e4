"""The local LLM behind one small interface, with llama.cpp in-process as the default.

Decoding is greedy (temperature 0), so the same prompt gives the same answer.
One lock serialises calls: llama.cpp contexts are not safe across threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import ModelError

if TYPE_CHECKING:
    from llama_cpp import Llama


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


class LLM(Protocol):
    name: str

    def stream_chat(
        self, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


class JsonLLM(Protocol):
    """A model that can answer with JSON constrained by a JSON schema (grammar-based
    decoding), so its output always parses and matches the schema's shape."""

    name: str

    def complete_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> str: ...


def default_threads() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


class LlamaCppLLM:
    def __init__(
        self, name: str, model_path: Path, n_ctx: int = 4096, n_threads: int = 0,
        n_gpu_layers: int = 0,
    ) -> None:
        self.name = name
        self.model_path = model_path
        self.n_ctx = n_ctx
        self._n_threads = n_threads or default_threads()
        self._n_gpu_layers = n_gpu_layers
        self._llama: Llama | None = None
        self._lock = threading.Lock()

    def _load(self) -> Llama:
        if self._llama is None:
            from llama_cpp import Llama

            try:
                self._llama = Llama(
                    model_path=str(self.model_path), n_ctx=self.n_ctx,
                    n_threads=self._n_threads, n_threads_batch=self._n_threads,
                    n_gpu_layers=self._n_gpu_layers, seed=0, verbose=False,
                )
            except (ValueError, RuntimeError, OSError):
                raise ModelError(
                    self.name, f"llama.cpp cannot load {self.model_path}: the file is damaged "
                    "or not a GGUF model it supports") from None
        return self._llama

    def load(self) -> None:
        with self._lock:
            self._load()

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream_chat(self, messages: Sequence[ChatMessage], max_tokens: int) -> Iterator[str]:
        with self._lock:
            llama = self._load()
            chunks: Iterator[Any] = llama.create_chat_completion(  # type: ignore[assignment]
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens, temperature=0.0, top_k=1, stream=True,
            )
            for chunk in chunks:
                delta = chunk["choices"][0].get("delta", {})
                piece = delta.get("content")
                if piece:
                    yield piece

    def complete_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> str:
        """Greedy completion constrained by llama.cpp's grammar built from ``json_schema``.
        The text may still be cut short by ``max_tokens``; callers parse and check it."""
        with self._lock:
            llama = self._load()
            result: Any = llama.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens, temperature=0.0, top_k=1,
                response_format={"type": "json_object", "schema": json_schema},
            )
            return str(result["choices"][0]["message"]["content"] or "")
