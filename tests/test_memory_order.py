"""The order memories are shown in the answer prompt: recurring memories first, as they
were shown before (so their KV state is reused), the rest oldest first; and each memory
is marked as a segment of the prompt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.answering.answer import MemoryOrder, build_messages
from core.records import SearchHit
from tests.records import memory_at

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _hit(n: int) -> SearchHit:
    when = NOW - timedelta(days=100 - n)  # a higher number is a newer memory
    memory = memory_at(f"m{n}", f"memory number {n}", when)
    return SearchHit(memory, 1.0 / (n + 1), None, None)


def _ids(hits: list[SearchHit]) -> list[str]:
    return [hit.memory.id for hit in hits]


def test_first_question_shows_memories_oldest_first() -> None:
    assert _ids(MemoryOrder().arrange([_hit(3), _hit(1), _hit(2)])) == ["m1", "m2", "m3"]


def test_recurring_head_comes_first_then_new_memories_oldest_first() -> None:
    order = MemoryOrder()
    order.arrange([_hit(5), _hit(1), _hit(3), _hit(7)])  # shown as 1, 3, 5, 7
    # 1 and 3 recur, 5 does not (so 7 cannot stay in place): 1, 3, then 0, 7, 9 by age
    assert _ids(order.arrange([_hit(9), _hit(3), _hit(7), _hit(1), _hit(0)])) == [
        "m1",
        "m3",
        "m0",
        "m7",
        "m9",
    ]


def test_longest_recurring_head_among_recent_prompts_wins() -> None:
    order = MemoryOrder()
    order.arrange([_hit(1), _hit(2)])
    order.arrange([_hit(4), _hit(5), _hit(6)])  # a later, unrelated question
    assert _ids(order.arrange([_hit(6), _hit(5), _hit(4), _hit(2)])) == ["m4", "m5", "m6", "m2"]
    assert _ids(order.arrange([_hit(8), _hit(2), _hit(1)])) == ["m1", "m2", "m8"]


def test_each_memory_line_is_a_segment_of_the_prompt() -> None:
    hits = MemoryOrder().arrange([_hit(1), _hit(2)])
    system, user = build_messages("What happened?", hits, [], NOW)
    assert system.stable and not user.stable
    assert len(user.segment_ends) == 2
    for alias, end in enumerate(user.segment_ends, start=1):
        assert user.content[:end].endswith(f"memory number {alias}")
    assert user.content[user.segment_ends[-1] :].strip() == "Question: What happened?"
