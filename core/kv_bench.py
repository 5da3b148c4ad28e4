"""`rememora bench kv`: time to first token with and without the KV state cache.

One run, one model, this machine. The prompt is the answer prompt's layout: a stable
prefix (system prompt + core memory, >= 1,500 tokens), optionally about 800 tokens of
retrieved memories, then the question. Cold is the uncached runtime (a full prefill);
warm restores the prefix's saved state (from RAM; the live context is dropped first, as
another job using the model would). Each figure is the median of ``repeats`` runs.

Besides the issue's keys (:data:`HEADLINE_KEYS`, the only ones in `--json OUT`; the full
result goes next to it as OUT with the suffix .details.json) the result has: the warm case right after an ingest-style job
used the model, the warm case after an app restart (disk tier), and a follow-up question
in the same chat session (the live context already holds prefix and memories).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.progress import NULL_PROGRESS, Progress, check_cancelled
from gpu.kv_state_cache import KVStateCache
from models.llm import ChatMessage, LlamaCppLLM

_PEOPLE = ["Anna", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun"]
_PLACES = ["Lisbon", "Porto", "Kyoto", "Oslo", "Quito", "Accra", "Lyon", "Pune", "Tartu", "Cork"]
_HABITS = ["keeps bees", "cycles to work", "bakes sourdough on Sundays", "plays the cello",
           "reads crime novels", "swims at 7 am", "collects maps", "grows chillies"]
QUESTION = "Who did I meet in Kyoto, and what did we talk about?"
FOLLOW_UP = "And when was that?"
INGEST_SYSTEM = "Extract facts from the chat turns below as JSON lines."
INGEST_USER = "Alice: I moved my dentist appointment to Friday.\nAlice: Bought oat milk."


HEADLINE_KEYS = ("prefix_tokens", "ttft_cold_ms", "ttft_warm_ms", "speedup", "restore_ms",
                 "state_bytes", "decode_tokens_per_s", "ttft_with_memories_cold_ms",
                 "ttft_with_memories_warm_ms", "speedup_with_memories")


def core_memory_text(index: int) -> str:
    person, place = _PEOPLE[index % 10], _PLACES[(index * 3) % 10]
    habit = _HABITS[index % len(_HABITS)]
    return (f"[human] Fact {index}: the user's friend {person} lives in {place}; the user "
            f"{habit} and prefers short answers about {place} and {person}.")


def memory_line(index: int) -> str:
    person, place = _PEOPLE[(index * 7) % 10], _PLACES[index % 10]
    return (f"[{index + 1}] (2026-0{1 + index % 9}-1{index % 10} 1{index % 10}:30, episodic) "
            f"user: met {person} in {place}; we talked about {_HABITS[index % 8]} and "
            f"agreed to share notes about {_PLACES[(index + 4) % 10]} next week.")


def _grow(llm: LlamaCppLLM, line: Callable[[int], str], tokens: int, head: str = "") -> str:
    lines: list[str] = []
    while llm.count_tokens(head + "\n".join(lines)) < tokens:
        lines.append(line(len(lines)))
    return head + "\n".join(lines)


def _messages(system: str, memories: str, question: str = QUESTION) -> list[ChatMessage]:
    user = (f"Today is Saturday 2026-11-21.\n{memories}\n\nQuestion: {question}" if memories
            else f"Question: {question}")
    return [ChatMessage("system", system, stable=True), ChatMessage("user", user)]


def _ttft_ms(llm: LlamaCppLLM, messages: list[ChatMessage]) -> float:
    began = time.perf_counter()
    for _ in llm.stream_chat(messages, max_tokens=1):
        break
    return (time.perf_counter() - began) * 1000


def _decode_rate(llm: LlamaCppLLM, messages: list[ChatMessage], tokens: int = 32) -> float:
    _ttft_ms(llm, messages)  # prefix and prompt now live
    stamps = []
    for _ in llm.stream_chat(messages, max_tokens=tokens):
        stamps.append(time.perf_counter())
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def run_kv_bench(
    model_name: str, model_path: Path, model_sha256: str, *, n_ctx: int = 4096,
    n_threads: int = 0, repeats: int = 3, prefix_tokens: int = 1600,
    memory_tokens: int = 800, progress: Progress = NULL_PROGRESS,
) -> dict[str, Any]:
    def step(label: str) -> None:
        check_cancelled(progress)
        progress.update(0, None, label)

    with tempfile.TemporaryDirectory(prefix="rememora-kv-bench-") as folder:
        cache = KVStateCache(1 << 30, Path(folder), 4 << 30)
        cold = LlamaCppLLM(model_name, model_path, n_ctx=n_ctx, n_threads=n_threads)
        warm = LlamaCppLLM(model_name, model_path, n_ctx=n_ctx, n_threads=n_threads,
                           state_cache=cache, model_sha256=model_sha256)
        step("building the prompt")
        system = _grow(cold, core_memory_text, prefix_tokens,
                       "You are Rememora, a private memory assistant. Answer from the numbered "
                       "memories and cite them like [1].\nWhat you know about the user:\n")
        memories = _grow(cold, memory_line, memory_tokens, "Memories:\n")
        plain, with_memories = _messages(system, ""), _messages(system, memories)
        result: dict[str, Any] = {}

        times: dict[str, list[float]] = {k: [] for k in (
            "cold", "warm", "restore", "cold_mem", "warm_mem", "after_ingest", "disk", "followup")}
        for i in range(repeats):
            step(f"cold prefill {i + 1}/{repeats}")
            times["cold"].append(_ttft_ms(cold, plain))
            step(f"cold prefill with memories {i + 1}/{repeats}")
            times["cold_mem"].append(_ttft_ms(cold, with_memories))
        cold.close()

        step("saving the prefix state")
        _ttft_ms(warm, plain)  # first use: prefills and saves the prefix
        assert warm.last_prompt is not None
        result["prefix_tokens"] = warm.last_prompt.prefix.prefix_tokens
        for i in range(repeats):
            step(f"warm {i + 1}/{repeats}")
            warm.forget_live_context()
            times["warm"].append(_ttft_ms(warm, plain))
            times["restore"].append(warm.last_prompt.prefix.restore_ms)
            warm.forget_live_context()
            times["warm_mem"].append(_ttft_ms(warm, with_memories))
            # a follow-up in the same chat session: prefix and memories are live
            times["followup"].append(_ttft_ms(warm, _messages(system, memories, FOLLOW_UP)))
            for _ in warm.stream_chat([ChatMessage("system", INGEST_SYSTEM),
                                       ChatMessage("user", INGEST_USER)], max_tokens=8):
                pass  # an ingest job uses the model: the live context no longer has the prefix
            times["after_ingest"].append(_ttft_ms(warm, with_memories))
            assert warm.last_prompt.prefix.source == "ram", warm.last_prompt
        result["memory_prompt_tokens"] = warm.last_prompt.prompt_tokens
        step("measuring decode speed")
        result["decode_tokens_per_s"] = round(_decode_rate(warm, plain), 1)
        warm.close()

        for i in range(repeats):
            step(f"warm after a restart (disk tier) {i + 1}/{repeats}")
            restarted = LlamaCppLLM(model_name, model_path, n_ctx=n_ctx, n_threads=n_threads,
                                    state_cache=KVStateCache(1 << 30, Path(folder), 4 << 30),
                                    model_sha256=model_sha256)
            restarted.load()
            times["disk"].append(_ttft_ms(restarted, with_memories))
            assert restarted.last_prompt is not None
            assert restarted.last_prompt.prefix.source == "disk", restarted.last_prompt
            restarted.close()
        (state_key,) = cache.keys_on_disk()
        saved = cache.get(state_key)
        result["state_bytes"] = saved.nbytes if saved else 0

    cold_ms, warm_ms = _median(times["cold"]), _median(times["warm"])
    cold_mem, warm_mem = _median(times["cold_mem"]), _median(times["warm_mem"])
    result.update({
        "ttft_cold_ms": cold_ms, "ttft_warm_ms": warm_ms,
        "speedup": round(cold_ms / warm_ms, 2), "restore_ms": _median(times["restore"]),
        "ttft_with_memories_cold_ms": cold_mem, "ttft_with_memories_warm_ms": warm_mem,
        "speedup_with_memories": round(cold_mem / warm_mem, 2),
        "ttft_with_memories_warm_after_ingest_ms": _median(times["after_ingest"]),
        "ttft_with_memories_warm_disk_ms": _median(times["disk"]),
        "ttft_followup_same_session_ms": _median(times["followup"]),
        "model": model_name, "n_threads": cold.n_threads, "repeats": repeats,
    })
    return {key: result[key] for key in HEADLINE_KEYS} | {
        key: value for key, value in result.items() if key not in HEADLINE_KEYS}


@dataclass(frozen=True)
class KVBenchResult:
    details: dict[str, Any]  # everything measured

    @property
    def headline(self) -> dict[str, Any]:
        """Exactly the issue's keys (`--json OUT`); the rest goes to OUT's .details.json."""
        return {key: self.details[key] for key in HEADLINE_KEYS}
