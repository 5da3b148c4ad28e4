"""Answering: build the prompt (stable prefix first), stream the local model's answer,
and map the numbers it cites back to memory ids.

The LLM sees short integer aliases ([1], [2], …), never raw memory ids. The prompt is
laid out stable parts first: the system prompt and core memory (the prefix whose KV state
the runtime caches, so it holds nothing that changes per question, not even the date),
then today's date, the retrieved memories and the question. Memories that a recent
question was shown too come first, in the order and under the numbers they had then, so
the prompt starts with the same memory segments and the runtime reuses their KV state
instead of evaluating them again; the others follow oldest first. Each memory line is
marked as a segment (``ChatMessage.segment_ends``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import takewhile
from string import Template

import assets
from core.changes import NO_CHANGES, Changes
from core.records import Memory, MemoryId, MemoryType, SearchHit
from models.llm import LLM, ChatMessage

NOTHING_RELEVANT = "I don't have anything in memory about that."
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True)
class Answer:
    """``cited``: the memories the answer cites by number, in citation order; ``context``:
    every memory the prompt showed, in prompt order. ``memories`` holds the records of
    `sources` (so a view shows them without reading the store again); ``changes`` is what
    answering wrote (events it recorded first, access counts of the sources)."""

    question: str
    text: str
    cited: tuple[MemoryId, ...]
    context: tuple[MemoryId, ...]
    used_llm: bool
    memories: tuple[Memory, ...] = ()
    changes: Changes = field(default=NO_CHANGES, compare=False)

    @property
    def sources(self) -> tuple[MemoryId, ...]:
        """What the answer rests on: the cited memories, or, when the model cited none by
        number, every memory it was shown."""
        return self.cited or self.context


def _when(memory: Memory) -> str:
    moment = memory.event_time or memory.created_at
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _line(alias: int, memory: Memory, vault_values: Mapping[MemoryId, str]) -> str:
    text = memory.text
    if memory.type is MemoryType.VAULT and memory.id in vault_values:
        text = f"{text}: {vault_values[memory.id]}"
    return f"[{alias}] ({_when(memory)}, {memory.type.value}) {text}"


def build_messages(
    question: str,
    hits: Sequence[SearchHit],
    core: Sequence[Memory],
    now: datetime,
    vault_values: Mapping[MemoryId, str] | None = None,
) -> list[ChatMessage]:
    """``vault_values``: the decrypted values the question asked for, by entry; any other
    vault entry is shown by its label only."""
    core_text = "\n".join(f"[{m.fields.get('block', 'core')}] {m.text}" for m in core if m.text)
    system = (
        Template(assets.read_text("prompts/answer_system.txt"))
        .substitute(
            core=f"What you know about the user and yourself:\n{core_text}" if core_text else "",
        )
        .strip()
    )
    user = f"Today is {now.astimezone():%A %Y-%m-%d}.\nMemories:"
    segment_ends = []
    for alias, hit in enumerate(hits, start=1):
        user += "\n" + _line(alias, hit.memory, vault_values or {})
        segment_ends.append(len(user))
    user += f"\n\nQuestion: {question}"
    return [
        ChatMessage("system", system, stable=True),
        ChatMessage("user", user, segment_ends=tuple(segment_ends)),
    ]


def in_time_order(hits: Sequence[SearchHit]) -> list[SearchHit]:
    """Oldest first: the order in which the memories are shown to the model."""
    return sorted(
        hits, key=lambda hit: (hit.memory.event_time or hit.memory.created_at, hit.memory.id)
    )


class MemoryOrder:
    """The order retrieved memories are shown in: the longest run of memories at the head
    of a recent prompt that this question retrieved too, as they were shown then, then the
    others oldest first."""

    def __init__(self, remember: int = 8) -> None:
        self._recent: deque[tuple[MemoryId, ...]] = deque(maxlen=remember)

    def arrange(self, hits: Sequence[SearchHit]) -> list[SearchHit]:
        by_id = {hit.memory.id: hit for hit in hits}
        head: tuple[MemoryId, ...] = ()
        for shown in self._recent:
            run = tuple(takewhile(by_id.__contains__, shown))
            if len(run) > len(head):
                head = run
        arranged = [by_id[memory_id] for memory_id in head] + in_time_order(
            [hit for hit in hits if hit.memory.id not in head]
        )
        self._recent.appendleft(tuple(hit.memory.id for hit in arranged))
        return arranged


def parse_citations(text: str, aliases: Sequence[MemoryId]) -> tuple[MemoryId, ...]:
    cited: dict[MemoryId, None] = {}
    for group in _CITATION.findall(text):
        for number in group.split(","):
            index = int(number) - 1
            if 0 <= index < len(aliases):
                cited[aliases[index]] = None
    return tuple(cited)


def answer(
    question: str,
    hits: Sequence[SearchHit],
    core: Sequence[Memory],
    llm: LLM,
    now: datetime,
    max_tokens: int,
    on_token: Callable[[str], None],
    order: MemoryOrder | None = None,
    vault_values: Mapping[MemoryId, str] | None = None,
) -> Answer:
    """Stream an answer through ``on_token``. With no relevant memory the model is not
    asked at all: the answer says so plainly instead of guessing. ``order`` remembers
    what recent prompts showed (without it, memories are shown oldest first);
    ``vault_values`` are the decrypted values the question asked for."""
    if not hits:
        on_token(NOTHING_RELEVANT)
        return Answer(question, NOTHING_RELEVANT, (), (), used_llm=False)
    hits = order.arrange(hits) if order is not None else in_time_order(hits)
    pieces: list[str] = []
    for piece in llm.stream_chat(
        build_messages(question, hits, core, now, vault_values), max_tokens
    ):
        pieces.append(piece)
        on_token(piece)
    text = "".join(pieces).strip()
    aliases = [hit.memory.id for hit in hits]
    cited = parse_citations(text, aliases)
    shown = {hit.memory.id: hit.memory for hit in hits}
    return Answer(
        question,
        text,
        cited,
        tuple(aliases),
        used_llm=True,
        memories=tuple(shown[memory_id] for memory_id in cited or aliases),
    )
