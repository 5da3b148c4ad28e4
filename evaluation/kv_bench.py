"""`rememora bench kv`: time to first token with and without the KV state cache.

One run, one model, this machine. Prompts are built by the app's own answer prompt
builder (core/answering/answer.py): a stable prefix (system prompt + core memory, >= 1,500 tokens),
optionally about 800 tokens of retrieved memories, then the question. Cold is the
reference runtime without a cache (everything evaluated every time); warm is the cached
runtime after another job (an ingest-style extraction) used the model, so the live
context is gone and states come from the cache. Each figure is the median of
``repeats`` runs, each repeat on memories of its own.

The with-memories pair is a follow-up question: an earlier question was shown memories
A; this one retrieves about half of them again plus new ones (B), and the answer prompt
puts the recurring ones first, so warm restores A's saved block, keeps its recurring
head and evaluates only B's new memories and the question. The details also hold the
case where no memory recurs (C, only the prefix is restored: ``..._fresh``), a follow-up
in the same session (the live context still holds prefix and memories), and the fresh
case after an app restart (disk tier: block states are kept in RAM only).

Besides the issue's keys (:data:`HEADLINE_KEYS`, the only ones in `--json OUT`; the full
result goes next to it as OUT with the suffix .details.json) the result has those cases.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.answering.answer import MemoryOrder, build_messages, in_time_order
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import Memory, MemoryId, MemoryStatus, MemoryType, SearchHit
from core.service import Service
from gpu.kv_state_cache import KVStateCache
from models.llm import ChatMessage, LlamaCppLLM, RuntimeOptions

_PEOPLE = ["Anna", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun"]
_PLACES = ["Lisbon", "Porto", "Kyoto", "Oslo", "Quito", "Accra", "Lyon", "Pune", "Tartu", "Cork"]
_HABITS = [
    "keeps bees",
    "cycles to work",
    "bakes sourdough on Sundays",
    "plays the cello",
    "reads crime novels",
    "swims at 7 am",
    "collects maps",
    "grows chillies",
]
QUESTION = "Who did I meet in Kyoto, and what did we talk about?"
FOLLOW_UP = "And when was that?"
INGEST_SYSTEM = "Extract facts from the chat turns below as JSON lines."
INGEST_USER = "Alice: I moved my dentist appointment to Friday.\nAlice: Bought oat milk."
_NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class KVBenchResult:
    """Everything one run measured; times in ms are medians over the repeats. The first
    fields are the issue's keys (:data:`HEADLINE_KEYS`), in the order `--json OUT` has
    them; :attr:`details` (OUT's .details.json) has every field, in this order."""

    prefix_tokens: int
    ttft_cold_ms: float
    ttft_warm_ms: float
    speedup: float
    restore_ms: float
    state_bytes: int
    decode_tokens_per_s: float
    ttft_with_memories_cold_ms: float
    ttft_with_memories_warm_ms: float
    speedup_with_memories: float
    memory_prompt_tokens: int  # the follow-up question's whole prompt
    reused_tokens_with_memories: float
    ttft_with_memories_fresh_cold_ms: float
    ttft_with_memories_fresh_warm_ms: float
    speedup_with_memories_fresh: float
    ttft_with_memories_fresh_warm_disk_ms: float
    ttft_followup_same_session_ms: float
    model: str
    n_threads: int
    repeats: int

    @property
    def details(self) -> dict[str, object]:
        return asdict(self)

    @property
    def headline(self) -> dict[str, object]:
        """Exactly the issue's keys (`--json OUT`); the rest goes to OUT's .details.json."""
        details = self.details
        return {key: details[key] for key in HEADLINE_KEYS}


HEADLINE_KEYS = (
    "prefix_tokens",
    "ttft_cold_ms",
    "ttft_warm_ms",
    "speedup",
    "restore_ms",
    "state_bytes",
    "decode_tokens_per_s",
    "ttft_with_memories_cold_ms",
    "ttft_with_memories_warm_ms",
    "speedup_with_memories",
)


def _memory(
    number: int, kind: MemoryType, text: str, when: datetime, fields: dict[str, str] | None = None
) -> Memory:
    return Memory(
        MemoryId(f"bench-{kind.value}-{number}"),
        kind,
        text,
        when,
        when,
        when,
        (),
        0.5,
        1.0,
        0,
        None,
        1,
        MemoryStatus.ACTIVE,
        "normal",
        fields or {},
    )


def core_memory(index: int) -> Memory:
    person, place = _PEOPLE[index % 10], _PLACES[(index * 3) % 10]
    habit = _HABITS[index % len(_HABITS)]
    return _memory(
        index,
        MemoryType.CORE,
        f"Fact {index}: the user's friend {person} lives in {place}; the user "
        f"{habit} and prefers short answers about {place} and {person}.",
        _NOW - timedelta(days=400),
        {"block": "human"},
    )


def retrieved_memory(index: int) -> SearchHit:
    """Memory ``index`` of an endless pool of distinct episodic memories."""
    person, place = _PEOPLE[(index * 7) % 10], _PLACES[index % 10]
    text = (
        f"user: met {person} in {place} (note {index}); we talked about "
        f"{_HABITS[index % 8]} and agreed to share notes about "
        f"{_PLACES[(index + 4) % 10]} next week."
    )
    when = _NOW - timedelta(days=300 - index % 290, hours=index % 7)
    return SearchHit(_memory(index, MemoryType.EPISODIC, text, when), 1.0, None, None)


def _prompt_tokens(llm: LlamaCppLLM, messages: list[ChatMessage]) -> int:
    return len(llm.prompt_tokens(messages)[0])


def _core(llm: LlamaCppLLM, tokens: int) -> list[Memory]:
    core: list[Memory] = []
    while True:
        system = build_messages(QUESTION, [], core, _NOW)[0]
        if _prompt_tokens(llm, [system, ChatMessage("user", "")]) >= tokens:
            return core
        core.append(core_memory(len(core)))


def _memory_sets(
    llm: LlamaCppLLM,
    core: list[Memory],
    tokens: int,
    repeats: int,
) -> list[tuple[list[SearchHit], list[SearchHit], list[SearchHit]]]:
    """Per repeat: memories A (shown with an earlier question), B (half of A's head
    again, then new ones) and C (all new), each about ``tokens`` tokens."""
    base = _prompt_tokens(llm, build_messages(QUESTION, [], core, _NOW))
    pool = iter(range(1_000_000))

    def fill(hits: list[SearchHit]) -> list[SearchHit]:
        while (
            len(hits) < 2
            or _prompt_tokens(llm, build_messages(QUESTION, hits, core, _NOW)) - base < tokens
        ):
            hits.append(retrieved_memory(next(pool)))
        return hits

    sets = []
    for _ in range(repeats):
        shown = in_time_order(fill([]))
        sets.append((shown, fill(shown[: len(shown) // 2]), fill([])))
    return sets


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


def _ingest_job(llm: LlamaCppLLM) -> None:
    """What the cache exists for: another job uses the model between two questions."""
    for _ in llm.stream_chat(
        [ChatMessage("system", INGEST_SYSTEM), ChatMessage("user", INGEST_USER)], max_tokens=8
    ):
        pass


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def run_kv_bench(
    model_name: str,
    model_path: Path,
    model_sha256: str,
    *,
    n_ctx: int = 4096,
    n_threads: int = 0,
    repeats: int = 3,
    prefix_tokens: int = 1600,
    memory_tokens: int = 800,
    options: RuntimeOptions | None = None,
    progress: Progress = NULL_PROGRESS,
) -> KVBenchResult:
    def step(label: str) -> None:
        check_cancelled(progress)
        progress.update(0, None, label)

    def runtime(cache: KVStateCache | None) -> LlamaCppLLM:
        return LlamaCppLLM(
            model_name,
            model_path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            options=options,
            state_cache=cache,
            model_sha256=model_sha256 if cache is not None else "",
        )

    with tempfile.TemporaryDirectory(prefix="rememora-kv-bench-") as folder:
        cache = KVStateCache(1 << 30, Path(folder), 4 << 30)
        cold, warm = runtime(None), runtime(cache)
        step("building the prompts")
        core = _core(cold, prefix_tokens)
        sets = _memory_sets(cold, core, memory_tokens, repeats)
        plain = build_messages(QUESTION, [], core, _NOW)
        order = MemoryOrder()

        def prompt(hits: list[SearchHit], question: str = QUESTION) -> list[ChatMessage]:
            return build_messages(question, order.arrange(hits), core, _NOW)

        memory_prompt_tokens = 0
        times: dict[str, list[float]] = {
            k: []
            for k in (
                "cold",
                "warm",
                "restore",
                "cold_mem",
                "warm_mem",
                "reused",
                "cold_fresh",
                "warm_fresh",
                "disk",
                "followup",
            )
        }
        step("saving the prefix state")
        _ttft_ms(warm, plain)  # first use: prefills and saves the prefix
        assert warm.last_prompt is not None
        prefix_tokens = warm.last_prompt.prefix.prefix_tokens
        fresh_prompts = []
        for i, (shown, recurring, fresh) in enumerate(sets):
            step(f"repeat {i + 1}/{repeats}: without memories")
            times["cold"].append(_ttft_ms(cold, plain))
            _ingest_job(warm)
            times["warm"].append(_ttft_ms(warm, plain))
            times["restore"].append(warm.last_prompt.prefix.restore_ms)

            step(f"repeat {i + 1}/{repeats}: memories half of which recur")
            _ttft_ms(warm, prompt(shown))  # the earlier question: its block is saved
            _ingest_job(warm)
            follow_up = prompt(recurring)
            times["warm_mem"].append(_ttft_ms(warm, follow_up))
            assert warm.last_prompt.prefix.segments_from == "ram", warm.last_prompt
            times["reused"].append(warm.last_prompt.prefix.reused_tokens)
            memory_prompt_tokens = warm.last_prompt.prompt_tokens
            times["cold_mem"].append(_ttft_ms(cold, follow_up))

            step(f"repeat {i + 1}/{repeats}: memories none of which recur")
            _ingest_job(warm)
            fresh_prompts.append(prompt(fresh))
            times["warm_fresh"].append(_ttft_ms(warm, fresh_prompts[-1]))
            assert warm.last_prompt.prefix.segments_from == "", warm.last_prompt
            times["cold_fresh"].append(_ttft_ms(cold, fresh_prompts[-1]))
            # a follow-up in the same chat session: prefix and memories are live
            times["followup"].append(
                _ttft_ms(warm, build_messages(FOLLOW_UP, order.arrange(fresh), core, _NOW))
            )
        cold.close()
        step("measuring decode speed")
        decode_tokens_per_s = round(_decode_rate(warm, plain), 1)
        warm.close()

        for i in range(repeats):
            step(f"warm after a restart (disk tier) {i + 1}/{repeats}")
            restarted = runtime(KVStateCache(1 << 30, Path(folder), 4 << 30))
            restarted.load()
            times["disk"].append(_ttft_ms(restarted, fresh_prompts[i]))
            assert restarted.last_prompt is not None
            assert restarted.last_prompt.prefix.source == "disk", restarted.last_prompt
            restarted.close()
        (state_key,) = cache.keys_on_disk()
        saved = cache.get(state_key)
        state_bytes = saved.nbytes if saved else 0

    cold_ms, warm_ms = _median(times["cold"]), _median(times["warm"])
    cold_mem, warm_mem = _median(times["cold_mem"]), _median(times["warm_mem"])
    cold_fresh, warm_fresh = _median(times["cold_fresh"]), _median(times["warm_fresh"])
    return KVBenchResult(
        prefix_tokens=prefix_tokens,
        ttft_cold_ms=cold_ms,
        ttft_warm_ms=warm_ms,
        speedup=round(cold_ms / warm_ms, 2),
        restore_ms=_median(times["restore"]),
        state_bytes=state_bytes,
        decode_tokens_per_s=decode_tokens_per_s,
        ttft_with_memories_cold_ms=cold_mem,
        ttft_with_memories_warm_ms=warm_mem,
        speedup_with_memories=round(cold_mem / warm_mem, 2),
        memory_prompt_tokens=memory_prompt_tokens,
        reused_tokens_with_memories=_median(times["reused"]),
        ttft_with_memories_fresh_cold_ms=cold_fresh,
        ttft_with_memories_fresh_warm_ms=warm_fresh,
        speedup_with_memories_fresh=round(cold_fresh / warm_fresh, 2),
        ttft_with_memories_fresh_warm_disk_ms=_median(times["disk"]),
        ttft_followup_same_session_ms=_median(times["followup"]),
        model=model_name,
        n_threads=cold.n_threads,
        repeats=repeats,
    )


def bench_kv(
    service: Service,
    model: str | None = None,
    repeats: int = 3,
    prefix_tokens: int = 1600,
    memory_tokens: int = 800,
    progress: Progress = NULL_PROGRESS,
) -> KVBenchResult:
    """`rememora bench kv`: the registry model (``model`` or the configured one), run
    with the options the app would use on this machine."""
    settings = service.settings
    runtime = service.runtime
    model_file = runtime.resolve_model(model or settings.llm.model, progress)
    options, _ = runtime.runtime_options(model_file)
    return run_kv_bench(
        model_file.name,
        model_file.path,
        model_file.sha256,
        n_ctx=max(4096, settings.llm.n_ctx),
        n_threads=settings.llm.n_threads,
        repeats=repeats,
        prefix_tokens=prefix_tokens,
        memory_tokens=memory_tokens,
        options=options,
        progress=progress,
    )
