"""Answering: build the prompt (stable prefix first), ask the local model for a
structured reply (core/answering/reply.py: the answer, the numbers it cites, whether the
memories support it) and map the numbers back to memory ids.

The reply is grammar-constrained JSON whose first field says whether the memories hold
the answer; ``on_token`` then receives the answer field's text as it is generated (never
the braces or a citation), or "not mentioned" once, as soon as the model says so.

The LLM sees short integer aliases ([1], [2], …), never raw memory ids. The prompt is
laid out stable parts first: the system prompt and core memory (the prefix whose KV state
the runtime caches, so it holds nothing that changes per question, not even the date),
then today's date, the retrieved memories (each with its own date, and its relative
times resolved against that date) and the question. Memories that a recent
question was shown too come first, in the order and under the numbers they had then, so
the prompt starts with the same memory segments and the runtime reuses their KV state
instead of evaluating them again; the others follow oldest first. Each memory line is
marked as a segment (``ChatMessage.segment_ends``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import takewhile
from string import Template

import assets
from core.answering.arithmetic import Computed
from core.answering.reply import NOT_MENTIONED, AnswerStream, Reply, read_reply, reply_schema
from core.changes import NO_CHANGES, Changes
from core.identity import USER_SPEAKER
from core.ingest.injection import reads_as_instructions
from core.records import Memory, MemoryId, MemoryType, SearchHit
from core.time_grammar.relative import annotate
from models.llm import LLM, ChatMessage, JsonStreamLLM

NOTHING_RELEVANT = "I don't have anything in memory about that."
__all__ = ["NOTHING_RELEVANT", "NOT_MENTIONED", "Answer", "MemoryOrder", "answer"]


@dataclass(frozen=True)
class Answer:
    """``text``: the answer alone, short (the fact, name, date or number, then at most a
    clause of support), never a citation; ``cited``: the memories it cites, in citation
    order; ``supported``: whether the memories hold the answer (when not, ``text`` says
    it is not mentioned and nothing is cited); ``context``: every memory the prompt
    showed, in prompt order. ``memories`` holds the records of `sources` (so a view shows
    them without reading the store again); ``changes`` is what answering wrote (events it
    recorded first, access counts of the sources)."""

    question: str
    text: str
    cited: tuple[MemoryId, ...]
    context: tuple[MemoryId, ...]
    used_llm: bool
    memories: tuple[Memory, ...] = ()
    changes: Changes = field(default=NO_CHANGES, compare=False)
    supported: bool = True

    @property
    def sources(self) -> tuple[MemoryId, ...]:
        """What the answer rests on: the cited memories, or, when a supported answer cited
        none by number, every memory it was shown; nothing for "not mentioned"."""
        if not self.supported:
            return ()
        return self.cited or self.context


def relays_instructions(memory: Memory) -> bool:
    """Whether ``memory`` is someone other than the user telling the assistant what to do
    or be (see the module docstring): such a memory is left out of the answer prompt."""
    speaker = memory.fields.get("actor", USER_SPEAKER)
    return speaker != USER_SPEAKER and reads_as_instructions(memory.text)


def _moment(memory: Memory) -> datetime:
    return (memory.event_time or memory.created_at).astimezone()


def memory_line(alias: int, memory: Memory, vault_values: Mapping[MemoryId, str]) -> str:
    """One memory as the prompt shows it: its number, its own day, its type (unless it
    is a record of what happened) and its text, each relative time in the text followed by the date it means ("yesterday
    [Tuesday 2023-05-02]"), resolved against the memory's own date."""
    moment = _moment(memory)
    text = annotate(memory.text, moment)
    if memory.type is MemoryType.VAULT and memory.id in vault_values:
        text = f"{text}: {vault_values[memory.id]}"
    kind = "" if memory.type is MemoryType.EPISODIC else f"{memory.type.value}: "
    return f"[{alias}] ({moment:%a %Y-%m-%d}) {kind}{text}"


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
        user += "\n" + memory_line(alias, hit.memory, vault_values or {})
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
    on_piece: Callable[[str], None] | None = None,
    computed: Computed | None = None,
) -> Answer:
    """Stream the answer's text through ``on_token`` (``on_piece`` sees the raw reply's
    pieces as they are generated). With no relevant memory the model is not
    asked at all: the answer says so plainly instead of guessing. ``order`` remembers
    what recent prompts showed (without it, memories are shown oldest first);
    ``vault_values`` are the decrypted values the question asked for; ``computed``, an
    answer computed in code from the memories' dates (core/answering/arithmetic.py), is
    stated as it is, without the model."""
    if computed is not None:
        on_token(computed.text)
        ids = tuple(dict.fromkeys(memory.id for memory in computed.memories))
        return Answer(question, computed.text, ids, ids, used_llm=False, memories=computed.memories)
    hits = [hit for hit in hits if not relays_instructions(hit.memory)]
    if not hits:
        on_token(NOTHING_RELEVANT)
        return Answer(question, NOTHING_RELEVANT, (), (), used_llm=False, supported=False)
    hits = order.arrange(hits) if order is not None else in_time_order(hits)
    messages = build_messages(question, hits, core, now, vault_values)
    aliases = [hit.memory.id for hit in hits]
    reply = _ask(llm, messages, len(hits), max_tokens, aliases, on_token, on_piece)
    shown = {hit.memory.id: hit.memory for hit in hits}
    result = Answer(
        question,
        reply.text,
        reply.cited,
        tuple(aliases),
        used_llm=True,
        supported=reply.supported,
    )
    return replace(result, memories=tuple(shown[memory_id] for memory_id in result.sources))


def _ask(
    llm: LLM,
    messages: list[ChatMessage],
    memories: int,
    max_tokens: int,
    aliases: list[MemoryId],
    on_token: Callable[[str], None],
    on_piece: Callable[[str], None] | None,
) -> Reply:
    """The model's reply, grammar-constrained when the model can be (else free text, read
    the same way), its answer text passed to ``on_token`` as it is generated; when the
    checks replace it (nothing shown yet), the final text is passed once at the end.
    ``on_piece`` sees each raw piece (and may raise to stop the generation)."""
    stream = (
        llm.stream_json(messages, reply_schema(memories), max_tokens)
        if isinstance(llm, JsonStreamLLM)
        else llm.stream_chat(messages, max_tokens)
    )
    reading = AnswerStream()
    try:
        for piece in stream:
            if on_piece is not None:
                on_piece(piece)
            text, stop = reading.feed(piece)
            if text:
                on_token(text)
            if stop:
                break
    finally:
        if isinstance(stream, Generator):
            stream.close()  # stop generating (the worker job is cancelled)
    reply = read_reply(reading.raw, aliases)
    if not reading.shown.strip():
        on_token(reply.text)
    return reply
