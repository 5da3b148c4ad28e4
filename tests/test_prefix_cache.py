"""The KV state cache under the real tiny LLM: a prompt's stable prefix is prefilled
once and restored later (from RAM, from disk after a restart), memory segments that recur
are restored from a saved block, answers are identical to the uncached runtime's, an
edited prefix (core memory) gets its own entry, a state that fails its check after
restore is replaced by a fresh prefill, and a corrupted file on disk is ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpu.kv_state_cache import KVStateCache, SavedState
from models.llm import ChatMessage, LlamaCppLLM
from models.registry import SMOLLM2

pytestmark = pytest.mark.llm

CORE = (
    "You are a memory assistant. What you know about the user: the user is Maria, a "
    "botanist in Lisbon who keeps bees, cycles to work and is learning Japanese. "
) * 2
FACTS = [
    "Maria met Anna at the Paris flower market.",
    "Maria bought a blue bicycle.",
    "Maria's sister Ines lives in Porto.",
    "Maria planted tomatoes on the balcony.",
]


def _messages(
    question: str, core: str = CORE, facts: tuple[int, ...] = (0, 1)
) -> list[ChatMessage]:
    """The answer prompt's layout: memories as segments, then the question."""
    user, ends = "Memories:", []
    for alias, fact in enumerate(facts, start=1):
        user += f"\n[{alias}] (2024-03-0{fact + 2}) {FACTS[fact]}"
        ends.append(len(user))
    return [
        ChatMessage("system", core, stable=True),
        ChatMessage("user", user + "\n\nQuestion: " + question, segment_ends=tuple(ends)),
    ]


def _llm(models: Path, cache: KVStateCache | None) -> LlamaCppLLM:
    return LlamaCppLLM(
        "smollm2-135m",
        models / SMOLLM2.filename,
        n_ctx=1024,
        state_cache=cache,
        model_sha256=SMOLLM2.sha256,
    )


def _ask(llm: LlamaCppLLM, question: str, core: str = CORE, facts: tuple[int, ...] = (0, 1)) -> str:
    return "".join(llm.stream_chat(_messages(question, core, facts), max_tokens=8))


Q1, Q2 = "Where did Maria meet Anna?", "What did Maria buy?"
RECURRING = (0, 1, 3, 2)  # the first two memories recur, two others follow


@pytest.fixture(scope="module")
def uncached_answers(shared_models: Path) -> dict[str, str]:
    llm = _llm(shared_models, None)
    answers = {q: _ask(llm, q) for q in (Q1, Q2)}
    assert llm.last_prompt is not None and llm.last_prompt.prefix.source == "uncached"
    answers["recurring"] = _ask(llm, Q2, facts=RECURRING)
    llm.close()
    return answers


def test_restored_prefix_gives_identical_answers_across_tiers_and_restart(
    shared_models: Path,
    tmp_path: Path,
    uncached_answers: dict[str, str],
) -> None:
    folder = tmp_path / "kv"
    llm = _llm(shared_models, KVStateCache(64 << 20, folder, 256 << 20))
    assert _ask(llm, Q1) == uncached_answers[Q1]
    stats = llm.last_prompt
    assert stats is not None and stats.prefix.source == "prefill"
    assert stats.prefix.prefix_tokens > 60

    llm.forget_live_context()  # e.g. an ingest job used the model meanwhile
    assert _ask(llm, Q1) == uncached_answers[Q1]
    stats = llm.last_prompt
    assert stats is not None and stats.prefix.source == "ram"
    # the same memories as before: their block was saved and is restored with the prefix
    assert stats.prefix.segments_from == "ram"
    assert stats.evaluated_tokens < stats.prompt_tokens - stats.prefix.prefix_tokens

    assert _ask(llm, Q2) == uncached_answers[Q2]  # the live context still holds it
    stats = llm.last_prompt
    assert stats is not None and stats.prefix.source == "live"
    # the memories are shared with the previous prompt too: only the question is new
    assert stats.prefix.segments_from == "live"
    assert stats.evaluated_tokens < stats.prompt_tokens - stats.prefix.prefix_tokens
    llm.close()

    restarted = _llm(shared_models, KVStateCache(64 << 20, folder, 256 << 20))
    assert _ask(restarted, Q2) == uncached_answers[Q2]
    stats = restarted.last_prompt
    assert stats is not None and stats.prefix.source == "disk"
    assert restarted.state_cache is not None and restarted.state_cache.stats.disk_hits == 1
    restarted.close()


def test_recurring_memories_are_restored_from_a_saved_block_with_identical_answers(
    shared_models: Path,
    uncached_answers: dict[str, str],
) -> None:
    cache = KVStateCache(64 << 20)
    llm = _llm(shared_models, cache)
    _ask(llm, Q1)  # memories 0, 1: the block is saved
    assert llm.last_prompt is not None and llm.last_prompt.prefix.source == "prefill"
    llm.forget_live_context()  # e.g. an ingest job used the model meanwhile

    assert _ask(llm, Q2, facts=RECURRING) == uncached_answers["recurring"]
    stats = llm.last_prompt
    assert stats is not None and stats.prefix.segments_from == "ram"
    # the prefix and the two recurring memories came from the block; only the two new
    # memories and the question were evaluated
    recurring_tokens = stats.prefix.reused_tokens - stats.prefix.prefix_tokens
    assert recurring_tokens >= 20, stats
    assert stats.evaluated_tokens == stats.prompt_tokens - stats.prefix.reused_tokens
    assert cache.keys_on_disk() == []  # blocks live in RAM only (no folder here anyway)
    llm.close()


def test_core_memory_edit_invalidates_exactly_its_prefix(
    shared_models: Path,
    tmp_path: Path,
    uncached_answers: dict[str, str],
) -> None:
    cache = KVStateCache(64 << 20, tmp_path / "kv", 256 << 20)
    llm = _llm(shared_models, cache)
    _ask(llm, Q1)
    assert len(cache.keys_on_disk()) == 1
    edited = CORE.replace("Lisbon", "Porto")
    _ask(llm, Q1, core=edited)
    assert llm.last_prompt is not None and llm.last_prompt.prefix.source == "prefill"
    assert len(cache.keys_on_disk()) == 2
    # the unedited prefix's entry is still valid and used
    llm.forget_live_context()
    assert _ask(llm, Q1) == uncached_answers[Q1]
    assert llm.last_prompt is not None and llm.last_prompt.prefix.source == "ram"
    llm.close()


def test_state_failing_its_check_after_restore_is_replaced(
    shared_models: Path,
    uncached_answers: dict[str, str],
) -> None:
    cache = KVStateCache(64 << 20)
    llm = _llm(shared_models, cache)
    _ask(llm, Q1)
    keys = cache.keys_in_ram()
    assert len(keys) == 2  # the prefix, and the block of prefix plus memories
    good = {key: cache.get(key) for key in keys}
    # The same states with a fingerprint they will not reproduce: what a wrong restore
    # looks like (llama-cpp-python has reported wrong output after restores with GPU
    # offload).
    for key, state in good.items():
        assert state is not None
        cache.put(SavedState(key, state.tokens, "0" * 64, state.payload), persist=False)
    llm.forget_live_context()
    assert _ask(llm, Q1) == uncached_answers[Q1]
    outcome = llm.last_prompt.prefix if llm.last_prompt else None
    assert outcome is not None and outcome.source == "prefill"
    assert "differ" in outcome.rejected
    for key, state in good.items():  # the fresh prefill saved states that check out
        again = cache.get(key)
        assert again is not None and state is not None
        assert again.fingerprint == state.fingerprint
    llm.close()


def test_corrupted_state_file_is_ignored_after_restart(
    shared_models: Path,
    tmp_path: Path,
    uncached_answers: dict[str, str],
) -> None:
    folder = tmp_path / "kv"
    llm = _llm(shared_models, KVStateCache(64 << 20, folder, 256 << 20))
    _ask(llm, Q1)
    llm.close()
    (path,) = folder.glob("*.kvstate")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x5A
    path.write_bytes(bytes(data))

    cache = KVStateCache(64 << 20, folder, 256 << 20)
    restarted = _llm(shared_models, cache)
    assert _ask(restarted, Q1) == uncached_answers[Q1]
    assert restarted.last_prompt is not None
    assert restarted.last_prompt.prefix.source == "prefill"
    assert cache.stats.rejected_files == 1
    assert len(list(folder.glob("*.kvstate"))) == 1  # replaced by a good one
    restarted.close()


def test_forgetting_recent_prompts_leaves_only_the_disk_prefix(
    shared_models: Path, tmp_path: Path, uncached_answers: dict[str, str]
) -> None:
    """What lock calls: no RAM state and no live context survive, so the next prompt
    starts from the stable prefix on disk; an answer being generated is not waited for,
    and what it leaves behind is cleared as it ends."""
    cache = KVStateCache(64 << 20, tmp_path / "kv", 256 << 20)
    llm = _llm(shared_models, cache)
    assert _ask(llm, Q1) == uncached_answers[Q1]
    assert cache.keys_in_ram() and cache.keys_on_disk()
    llm.forget_recent_prompts()
    assert cache.keys_in_ram() == []
    assert _ask(llm, Q1) == uncached_answers[Q1]
    stats = llm.last_prompt
    assert stats is not None and (stats.prefix.source, stats.prefix.segments_from) == ("disk", "")

    stream = llm.stream_chat(_messages(Q2), max_tokens=8)
    first = next(stream)  # the generation holds the model now
    llm.forget_recent_prompts()  # returns at once
    assert cache.keys_in_ram() == []
    answer = first + "".join(stream)
    assert answer == uncached_answers[Q2]
    assert cache.keys_in_ram() == []  # cleared again as the generation ended
    assert _ask(llm, Q2) == uncached_answers[Q2]
    stats = llm.last_prompt
    assert stats is not None and stats.prefix.source == "disk"  # not "live"
    llm.close()
