"""Step: rewrite the core ``human`` block from recent evidence, within its size cap.

Evidence: the block as it is, the user's own chat turns since the last run (the user is
one speaker, see core/identity.py) and the active, confirmed facts whose subject is the
user and that the user said in a chat turn. Never another speaker's turns, screen text or
imported lines (they may describe the user, but the block sits in every prompt: not on
their word alone), no line that reads as an instruction to the assistant
(core.ingest.injection), even the user's own, and no memory the user marked private (a
private memory goes into a prompt only when the question names it). Without new
evidence the block is left alone. The model rewrites the block (grammar-constrained,
bounded to the cap, at consolidation priority); each sentence it writes must be close in
meaning to a line of the evidence (cosine >= GROUNDED), so a small model cannot invent a
lasting fact that would sit in every prompt. If no sentence passes, the block stays. The
``persona`` block is the assistant's own description (core.service.PERSONA): no step of a
consolidation run rewrites it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from string import Template

import assets
from core.consolidate.context import ACTOR, RunContext, clean_generated
from core.identity import USER_SPEAKER
from core.ingest.batch_extraction import build_messages
from core.ingest.injection import reads_as_instructions
from core.ingest.reconcile import CORE_BLOCK_CHARS, fit_block
from core.records import (
    Event,
    EventId,
    EventKind,
    EventStatus,
    Memory,
    MemoryType,
    NewMemory,
)
from core.retrieval.private import is_private

GROUNDED = 0.6
MAX_TURNS = 30
LOOKUP = 500  # source events read per query
_END = ".!?"


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _sentences(text: str) -> list[str]:
    out, start = [], 0
    for i, c in enumerate(text):
        if c in _END and (i + 1 == len(text) or text[i + 1].isspace()):
            out.append(text[start : i + 1].strip())
            start = i + 1
    if text[start:].strip():
        out.append(text[start:].strip())
    return [s for s in out if s]


def _said_by_user(memory: Memory, by_id: dict[EventId, Event]) -> bool:
    """Whether one of the memory's sources is a chat turn the user typed."""
    return any(
        (event := by_id.get(i)) is not None
        and event.kind is EventKind.CHAT
        and event.speaker == USER_SPEAKER
        for i in memory.source_event_ids
    )


def _evidence(ctx: RunContext, block: Memory | None) -> tuple[list[Event], list[Memory]]:
    """The lines the block is rewritten from, and the memories they came from; empty
    when nothing about the user changed since the last run."""
    name = ctx.identity.display_name
    records = [
        m
        for m in ctx.ledger.list_memories(MemoryType.EPISODIC)
        if m.fields.get("actor") == USER_SPEAKER
        and m.fields.get("event_type") == "chat_turn"  # a raw record, not a model's summary
        and not is_private(m)
        and any(i > ctx.since_event for i in m.source_event_ids)
    ]
    facts = [
        m
        for m in ctx.ledger.changed_since(ctx.since_history)
        if m.type is MemoryType.SEMANTIC
        and m.status.value == "active"
        and m.fields.get("needs_confirmation") != "true"
        and not is_private(m)
        and ctx.identity.is_user(m.fields.get("subject", "") or None)
        and not reads_as_instructions(" ".join([m.text, *m.fields.values()]))
    ]
    records = [m for m in records if not reads_as_instructions(m.text)][-MAX_TURNS:]
    ids = list(dict.fromkeys(i for m in [*records, *facts] for i in m.source_event_ids))
    by_id = {
        e.id: e
        for start in range(0, len(ids), LOOKUP)
        for e in ctx.ledger.events(ids[start : start + LOOKUP])
    }
    turns = [m for m in records if _said_by_user(m, by_id)]
    facts = [f for f in facts if _said_by_user(f, by_id)]
    if not turns and not facts:
        return [], []
    lines: list[tuple[str, str, Memory]] = []
    if block is not None:
        lines += [
            ("core memory", s, block)
            for s in _sentences(block.text)
            if not reads_as_instructions(s)
        ]
    lines += [("fact", f.text, f) for f in facts]
    lines += [(name, t.text.split(": ", 1)[-1], t) for t in turns]
    events = [
        Event(
            EventId(n),
            EventKind.CHAT,
            text,
            memory.event_time or memory.created_at,
            speaker,
            "memory",
            {},
            EventStatus.PROCESSED,
            0,
        )
        for n, (speaker, text, memory) in enumerate(lines, start=1)
    ]
    return events, [m for _s, _t, m in lines]


def run(ctx: RunContext) -> None:
    blocks = [
        m for m in ctx.ledger.list_memories(MemoryType.CORE) if m.fields.get("block") == "human"
    ]
    block = blocks[0] if blocks else None
    events, sources = _evidence(ctx, block)
    if not events:
        return
    cap = CORE_BLOCK_CHARS
    if ctx.dry_run:  # the model writes only in a real run
        ctx.report.core_rewritten += 1
        ctx.note(f"rewrite the human block from {len(events)} lines of recent evidence")
        return
    task = Template(assets.read_text("prompts/consolidate_core.txt")).substitute(
        name=ctx.identity.display_name, cap=cap
    )
    schema = {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string", "maxLength": cap}},
    }
    messages = build_messages(task.strip(), events, ctx.clock())
    while not ctx.fits(messages, cap // 3):
        # the oldest line of new evidence goes first; the block's own sentences stay
        new = [n for n, m in enumerate(sources) if block is None or m.id != block.id]
        if len(new) <= 1:
            return  # not even one new line fits beside the block: it stays as it is
        del events[new[0]], sources[new[0]]
        messages = build_messages(task.strip(), events, ctx.clock())
    answer = ctx.ask_json(messages, schema, cap // 3)
    written = _sentences(clean_generated(str((answer or {}).get("text", ""))))
    if not written:
        return
    vectors = ctx.embedder.embed([*written, *(e.text for e in events)])
    kept = [
        s
        for s, v in zip(written, vectors)
        if max((_cosine(v, w) for w in vectors[len(written) :]), default=0.0) >= GROUNDED
        and not reads_as_instructions(s)
    ]
    text = fit_block(list(dict.fromkeys(kept)), cap)
    if not kept or (block is not None and text == block.text):
        return
    ctx.report.core_rewritten += 1
    ctx.note(f"rewrite the human block: {text[:100]!r}")
    event_ids = list(dict.fromkeys(i for m in sources for i in m.source_event_ids))
    with ctx.ledger.write(actor=ACTOR) as tx:
        if block is None:
            tx.memories.add(
                NewMemory(MemoryType.CORE, text, None, tuple(event_ids), {"block": "human"}),
                ctx.reason("human block written from recent evidence"),
            )
            return
        current = tx.memories.get(block.id)
        if current.version != block.version:
            return  # the write path changed it meanwhile: the next run looks again
        tx.memories.update(
            current,
            text,
            {"block": "human"},
            event_ids,
            ctx.reason(f"human block rewritten from recent evidence within {cap} characters"),
        )
