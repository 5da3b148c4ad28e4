"""The local LLM behind one small interface, with llama.cpp in-process as the default.

Decoding is greedy (temperature 0), so the same prompt gives the same answer.
One lock serialises calls: llama.cpp contexts are not safe across threads.

Messages marked ``stable`` at the start of a prompt (the system prompt with core memory)
form its stable prefix: with a :class:`~gpu.kv_state_cache.KVStateCache` its KV state is
computed once and restored for later prompts. A message may also mark ``segment_ends``
(the end of each retrieved memory): segments that a later prompt repeats, from the live
context or from a saved block state, are not evaluated again (see models/llama_prefix.py),
so a follow-up question pays only for its new memories and its own words.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.errors import ModelError
from gpu.kv_state_cache import KVStateCache, shared_run
from models.llama_prefix import PrefixOutcome, PrefixStates, context_signature

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str
    stable: bool = False  # part of the reusable prompt prefix (leading messages only)
    # offsets in ``content`` where a segment that later prompts may repeat ends (after a
    # stable prefix only; e.g. the end of each retrieved memory)
    segment_ends: tuple[int, ...] = ()


class LLM(Protocol):
    name: str

    def stream_chat(self, messages: Sequence[ChatMessage], max_tokens: int) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


@dataclass(frozen=True)
class PromptStats:
    """What the last prompt cost: how many tokens it had and how many were evaluated."""

    prompt_tokens: int
    evaluated_tokens: int
    prefix: PrefixOutcome


@dataclass(frozen=True)
class RuntimeOptions:
    """llama.cpp context options (from the offload plan, see gpu/offload_plan.py)."""

    n_gpu_layers: int = 0
    offload_kqv: bool = True
    flash_attn: bool = False
    type_k: int | None = None  # a GGML type id; None: f16
    type_v: int | None = None
    n_batch: int = 512


@runtime_checkable
class JsonLLM(Protocol):
    """A model that can answer with JSON constrained by a JSON schema (grammar-based
    decoding), so its output always parses and matches the schema's shape. Checkable at
    run time (``isinstance(llm, JsonLLM)``): a server model may not have it."""

    name: str

    def complete_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> str: ...


@runtime_checkable
class JsonStreamLLM(Protocol):
    """A model that can stream a reply constrained by a JSON schema (grammar-based
    decoding) through the same prompt path as :meth:`LLM.stream_chat`. Checkable at run
    time: the answering code falls back to a free reply (and parses it) without it."""

    name: str

    def stream_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> Iterator[str]: ...


@runtime_checkable
class ChoiceLLM(Protocol):
    """A model that can score a yes/no question in one forward pass (no generation).
    Checkable at run time: llama.cpp in-process can, a server cannot (it answers a
    grammar-constrained yes/no instead)."""

    name: str

    def yes_no_margin(self, messages: Sequence[ChatMessage]) -> float: ...


YES_WORDS = ("yes", "Yes", " yes", " Yes", "YES")
NO_WORDS = ("no", "No", " no", " No", "NO")


def default_threads() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


class LlamaCppLLM:
    def __init__(
        self,
        name: str,
        model_path: Path,
        n_ctx: int = 4096,
        n_threads: int = 0,
        n_gpu_layers: int = 0,
        *,
        state_cache: KVStateCache | None = None,
        model_sha256: str = "",
        options: RuntimeOptions | None = None,
    ) -> None:
        self.name = name
        self.model_path = model_path
        self.n_ctx = n_ctx
        self._n_threads = n_threads or default_threads()
        self.options = options or RuntimeOptions(n_gpu_layers=n_gpu_layers)
        self.state_cache = state_cache
        self._model_sha256 = model_sha256
        self._llama: Llama | None = None
        self._prefixes: PrefixStates | None = None
        self._render: Any = None
        self._lock = threading.Lock()
        self._forget_pending = False
        self.last_prompt: PromptStats | None = None

    @property
    def n_threads(self) -> int:
        return self._n_threads

    def _load(self) -> Llama:
        if self._llama is None:
            from llama_cpp import Llama

            opts = self.options
            try:
                self._llama = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self._n_threads,
                    n_threads_batch=self._n_threads,
                    n_gpu_layers=opts.n_gpu_layers,
                    offload_kqv=opts.offload_kqv,
                    flash_attn=opts.flash_attn,
                    type_k=opts.type_k,
                    type_v=opts.type_v,
                    n_batch=opts.n_batch,
                    seed=0,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError):
                raise ModelError(
                    self.name,
                    f"llama.cpp cannot load {self.model_path}: the file is damaged "
                    "or not a GGUF model it supports",
                ) from None
        return self._llama

    def _prefix_states(self, llama: Llama) -> PrefixStates:
        if self._prefixes is None:
            sha = self._model_sha256
            if not sha and self.state_cache is not None:
                from models.assembly import sha256_file

                sha = sha256_file(self.model_path)
            self._prefixes = PrefixStates(
                self.state_cache, sha, context_signature(llama, self.options.n_gpu_layers)
            )
        return self._prefixes

    def load(self) -> None:
        with self._using():
            self._load()

    def close(self) -> None:
        with self._using():
            if self._llama is not None:
                self._llama.close()
                self._llama = None
                self._render = None

    def count_tokens(self, text: str) -> int:
        with self._using():
            return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def forget_live_context(self) -> None:
        """Drop what the live context holds (as another job using the model would)."""
        with self._using():
            self._load().reset()

    def forget_recent_prompts(self) -> None:
        """Drop every trace of recent prompts this process can reach: the live context's
        tokens and KV cells, and the KV states kept in RAM (those on disk are the stable
        prefixes only). Never waits for a generation in progress: the states go at once,
        the live context as soon as that generation ends. Loads no model."""
        if self.state_cache is not None:
            self.state_cache.clear_ram()
        self._forget_pending = True
        if self._lock.acquire(blocking=False):
            self._release()

    @contextlib.contextmanager
    def _using(self) -> Iterator[None]:
        """Hold the model; on the way out, clear what :meth:`forget_recent_prompts` asked
        to be cleared while it was held."""
        self._lock.acquire()
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        try:
            if self._forget_pending:
                self._forget_pending = False
                if self._llama is not None:
                    self._llama.reset()
                    self._llama._ctx.kv_cache_clear()
                if self._prefixes is not None:
                    self._prefixes.forget_live()
                if self.state_cache is not None:
                    self.state_cache.clear_ram()  # a state put since the first clear
        finally:
            self._lock.release()

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> tuple[list[int], int]:
        """The prompt's tokens and how many of them form the stable prefix."""
        with self._using():
            tokens, n_prefix, _ = self._tokens(self._load(), messages)
            return tokens, n_prefix

    def _tokens(
        self, llama: Llama, messages: Sequence[ChatMessage]
    ) -> tuple[list[int], int, list[int]]:
        """The prompt's tokens, the stable prefix's length and the token positions where
        the messages' segments end."""
        if self._render is None:
            self._render = _formatter(llama)
        render = self._render
        full = _tokenize(llama, render(messages))
        stable = 0
        while stable < len(messages) and messages[stable].stable:
            stable += 1
        if stable == 0 or stable == len(messages):
            return full, 0, []
        n_prefix = shared_run(full, _tokenize(llama, render(messages[:stable])))
        ends = []
        for index in range(stable, len(messages)):
            message = messages[index]
            for offset in message.segment_ends:
                cut = ChatMessage(message.role, message.content[:offset])
                # the tokens the prompt shares with one cut after the segment: the rest of
                # the cut render is the template's end of message
                ends.append(shared_run(full, _tokenize(llama, render([*messages[:index], cut]))))
        return full, n_prefix, ends

    def _fitting_tokens(
        self, llama: Llama, messages: Sequence[ChatMessage]
    ) -> tuple[list[int], int, list[int]]:
        """:meth:`_tokens`, or one clear error when the prompt does not fit the context."""
        tokens, n_prefix, ends = self._tokens(llama, messages)
        if len(tokens) >= llama.n_ctx():
            raise ModelError(
                self.name,
                f"the prompt has {len(tokens)} tokens; the "
                f"context holds {llama.n_ctx()} (raise llm.n_ctx)",
            )
        return tokens, n_prefix, ends

    def stream_chat(self, messages: Sequence[ChatMessage], max_tokens: int) -> Iterator[str]:
        return self._stream(messages, max_tokens, None)

    def stream_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> Iterator[str]:
        """:meth:`stream_chat` with every token constrained by llama.cpp's grammar built
        from ``json_schema``: the same prompt path (stable prefix and segments reused), so
        a structured answer costs what a free one does. The text may still be cut short by
        ``max_tokens``; callers parse and check it."""
        return self._stream(messages, max_tokens, _grammar(json.dumps(json_schema)))

    def _stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, grammar: LlamaGrammar | None
    ) -> Iterator[str]:
        import llama_cpp

        with self._using():
            llama = self._load()
            tokens, n_prefix, segment_ends = self._fitting_tokens(llama, messages)
            outcome = self._prefix_states(llama).prepare(llama, tokens, n_prefix, segment_ends)
            self.last_prompt = PromptStats(
                len(tokens), len(tokens) - outcome.reused_tokens, outcome
            )
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            produced = 0
            for token in llama.generate(tokens, temp=0.0, top_k=1, reset=True, grammar=grammar):
                if (
                    llama_cpp.llama_vocab_is_eog(llama._model.vocab, token)
                    or produced >= max_tokens
                ):
                    break
                produced += 1
                piece = decoder.decode(llama.detokenize([token]))
                if piece:
                    yield piece
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail

    def yes_no_margin(self, messages: Sequence[ChatMessage]) -> float:
        """log P(yes) - log P(no) for the first token of the answer: the decision a
        grammar allowing only "yes" or "no" would take greedily, with its confidence.
        One forward pass over the tokens the live context does not already hold."""
        import numpy as np

        with self._using():
            llama = self._load()
            tokens, _, _ = self._fitting_tokens(llama, messages)
            shared = min(shared_run(llama.input_ids[: llama.n_tokens], tokens), len(tokens) - 1)
            llama.n_tokens = shared
            llama.eval(tokens[shared:])
            self.last_prompt = PromptStats(
                len(tokens), len(tokens) - shared, PrefixOutcome("live", shared)
            )
            # the last token's logits (llama-cpp-python keeps no copy unless logits_all)
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
            logits = logits.astype(np.float64)
            log_probs = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))

            def mass(words: Sequence[str]) -> float:
                ids = {llama.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words}
                return float(np.logaddexp.reduce([log_probs[i] for i in ids]))

            return mass(YES_WORDS) - mass(NO_WORDS)

    def complete_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> str:
        """Greedy completion constrained by llama.cpp's grammar built from ``json_schema``.
        The text may still be cut short by ``max_tokens``; callers parse and check it."""
        with self._using():
            llama = self._load()
            result: Any = llama.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
                response_format={"type": "json_object", "schema": json_schema},
            )
            return str(result["choices"][0]["message"]["content"] or "")


@functools.lru_cache(maxsize=32)
def _grammar(json_schema: str) -> LlamaGrammar:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(json_schema, verbose=False)


def _tokenize(llama: Llama, prompt: str) -> list[int]:
    return list(llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))


def _formatter(llama: Llama) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise ModelError(str(llama.model_path), "the model file has no chat template")
    eos = llama._model.token_get_text(llama.token_eos()) if llama.token_eos() != -1 else ""
    bos = llama._model.token_get_text(llama.token_bos()) if llama.token_bos() != -1 else ""
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def render(messages: Sequence[ChatMessage]) -> str:
        return str(
            formatter(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt
        )

    return render
