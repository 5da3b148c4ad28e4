"""Answering: build the prompt (stable prefix first), stream the local model's answer,
and map the numbers it cites back to memory ids.

The LLM sees short integer aliases ([1], [2], …), never raw memory ids. The prompt is
laid out stable parts first: the system prompt and core memory (the prefix whose KV state
the runtime caches, so it holds nothing that changes per question, not even the date),
then today's date, the retrieved memories in time order (so consecutive questions that
retrieve the same memories share a longer prefix with the live context) and the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from string import Template

import assets
from core.records import Memory, MemoryId, MemoryType, SearchHit
from models.llm import LLM, ChatMessage

NOTHING_RELEVANT = "I don't have anything in memory about that."
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    cited: tuple[MemoryId, ...]
    context: tuple[MemoryId, ...]
    used_llm: bool


def _when(memory: Memory) -> str:
    moment = memory.event_time or memory.created_at
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _line(alias: int, memory: Memory, vault_values: Mapping[MemoryId, str]) -> str:
    text = memory.text
    if memory.type is MemoryType.VAULT and memory.id in vault_values:
        text = f"{text}: {vault_values[memory.id]}"
    return f"[{alias}] ({_when(memory)}, {memory.type.value}) {text}"


def build_messages(
    question: str, hits: Sequence[SearchHit], core: Sequence[Memory], now: datetime,
    vault_values: Mapping[MemoryId, str] | None = None,
) -> list[ChatMessage]:
    """``vault_values``: the decrypted values the question asked for, by entry; any other
    vault entry is shown by its label only."""
    core_text = "\n".join(f"[{m.fields.get('block', 'core')}] {m.text}" for m in core if m.text)
    system = Template(assets.read_text("prompts/answer_system.txt")).substitute(
        core=f"What you know about the user and yourself:\n{core_text}" if core_text else "",
    ).strip()
    lines = [_line(alias, hit.memory, vault_values or {})
             for alias, hit in enumerate(hits, start=1)]
    user = (f"Today is {now.astimezone():%A %Y-%m-%d}.\nMemories:\n" + "\n".join(lines)
            + f"\n\nQuestion: {question}")
    return [ChatMessage("system", system, stable=True), ChatMessage("user", user)]


def in_time_order(hits: Sequence[SearchHit]) -> list[SearchHit]:
    """Oldest first: the order in which the memories are shown to the model."""
    return sorted(hits, key=lambda hit: (hit.memory.event_time or hit.memory.created_at,
                                          hit.memory.id))


def parse_citations(text: str, aliases: Sequence[MemoryId]) -> tuple[MemoryId, ...]:
    cited: dict[MemoryId, None] = {}
    for group in _CITATION.findall(text):
        for number in group.split(","):
            index = int(number) - 1
            if 0 <= index < len(aliases):
                cited[aliases[index]] = None
    return tuple(cited)


def answer(
    question: str, hits: Sequence[SearchHit], core: Sequence[Memory], llm: LLM,
    now: datetime, max_tokens: int, on_token: Callable[[str], None],
    vault_values: Mapping[MemoryId, str] | None = None,
) -> Answer:
    """Stream an answer through ``on_token``. With no relevant memory the model is not
    asked at all: the answer says so plainly instead of guessing."""
    if not hits:
        on_token(NOTHING_RELEVANT)
        return Answer(question, NOTHING_RELEVANT, (), (), used_llm=False)
    hits = in_time_order(hits)
    pieces: list[str] = []
    for piece in llm.stream_chat(build_messages(question, hits, core, now, vault_values),
                                    max_tokens):
        pieces.append(piece)
        on_token(piece)
    text = "".join(pieces).strip()
    aliases = [hit.memory.id for hit in hits]
    return Answer(question, text, parse_citations(text, aliases), tuple(aliases), used_llm=True)


def core_blocks(memories: Sequence[Memory]) -> list[Memory]:
    return [m for m in memories if m.type is MemoryType.CORE]
