"""Step: rewrite the core ``human`` block from recent evidence, within its size cap.

Evidence: the block as it is, the user's own turns since the last run (the user is one
speaker, see core/identity.py) and the active facts whose subject is the user. Without
new evidence the block is left alone. The model rewrites the block (grammar-constrained,
bounded to the cap, at consolidation priority); each sentence it writes must be close in
meaning to a line of the evidence (cosine >= GROUNDED), so a small model cannot invent
a lasting fact that would sit in every prompt. If no sentence passes, the block stays.
The ``persona`` block is the assistant's own description and is not rewritten.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from string import Template

import assets
from core.consolidate.context import ACTOR, RunContext, clean_generated
from core.identity import USER_SPEAKER
from core.ingest.batch_extraction import build_messages
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

GROUNDED = 0.6
MAX_TURNS = 30
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


def _evidence(ctx: RunContext, block: Memory | None) -> tuple[list[Event], list[Memory]]:
    """The lines the block is rewritten from, and the memories they came from; empty
    when nothing about the user changed since the last run."""
    name = ctx.identity.display_name
    turns = [
        m
        for m in ctx.ledger.list_memories(MemoryType.EPISODIC)
        if m.fields.get("actor") == USER_SPEAKER
        and m.fields.get("kind") != "summary"
        and any(i > ctx.since_event for i in m.source_event_ids)
    ][-MAX_TURNS:]
    facts = [
        m
        for m in ctx.ledger.changed_since(ctx.since_history)
        if m.type is MemoryType.SEMANTIC
        and m.status.value == "active"
        and ctx.identity.is_user(m.fields.get("subject", "") or None)
    ]
    if not turns and not facts:
        return [], []
    lines: list[tuple[str, str, Memory]] = []
    if block is not None:
        lines += [("core memory", s, block) for s in _sentences(block.text)]
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
    answer = ctx.ask_json(build_messages(task.strip(), events, ctx.clock()), schema, cap // 3)
    written = _sentences(clean_generated(str((answer or {}).get("text", ""))))
    if not written:
        return
    vectors = ctx.embedder.embed([*written, *(e.text for e in events)])
    kept = [
        s
        for s, v in zip(written, vectors)
        if max((_cosine(v, w) for w in vectors[len(written) :]), default=0.0) >= GROUNDED
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
