"""Step: merge near-duplicate semantic and procedural memories.

Candidates are pairs whose embeddings are close (cosine >= ``merge_similarity``); the
check that they say the same thing: the same numbers, and for facts with a value the
same value (a different value is a contradiction, see contradictions.py). Each group
keeps its oldest memory (see :func:`_age`), with the fullest text and the union of every member's sources;
the others are superseded by it, with history.
"""

from __future__ import annotations

import re
from datetime import datetime

from core.consolidate.context import ACTOR, RunContext
from core.ingest.type_extractors import normalize
from core.records import EventId, Memory, MemoryId, MemoryStatus, MemoryType

TYPES = (MemoryType.SEMANTIC, MemoryType.PROCEDURAL)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NEIGHBOURS = 6


def same_claim(a: Memory, b: Memory) -> bool:
    """Whether two close memories say the same thing (not merely the same topic)."""
    if set(_NUMBER.findall(a.text)) != set(_NUMBER.findall(b.text)):
        return False
    value_a, value_b = normalize(a.fields.get("value", "")), normalize(b.fields.get("value", ""))
    if value_a and value_b and value_a != value_b:
        return False
    return (
        a.fields.get("needs_confirmation") != "true"
        and b.fields.get("needs_confirmation") != "true"
    )


def _groups(ctx: RunContext, memory_type: MemoryType) -> list[list[Memory]]:
    changed = [
        m
        for m in ctx.ledger.changed_since(ctx.since_history)
        if m.type is memory_type and m.status is MemoryStatus.ACTIVE
    ]
    if not changed:
        return []
    parent: dict[MemoryId, MemoryId] = {}

    def find(x: MemoryId) -> MemoryId:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    vectors = ctx.embedder.embed([m.text for m in changed])
    close: list[tuple[Memory, MemoryId]] = [
        (memory, hit.memory_id)
        for memory, vector in zip(changed, vectors)
        for hit in ctx.index.query(memory_type, vector, _NEIGHBOURS)
        if hit.memory_id != memory.id and hit.similarity >= ctx.settings.merge_similarity
    ]
    found = ctx.ledger.get_many(sorted({i for m, o in close for i in (m.id, o)}))
    for memory, other_id in close:
        other = found.get(other_id)
        if other is None or other.status is not MemoryStatus.ACTIVE:
            continue
        if same_claim(memory, other):
            for x in (memory.id, other.id):
                parent.setdefault(x, x)
            parent[find(other.id)] = find(memory.id)
    groups: dict[MemoryId, list[Memory]] = {}
    for memory_id in parent:
        if memory_id in found and found[memory_id].status is MemoryStatus.ACTIVE:
            groups.setdefault(find(memory_id), []).append(found[memory_id])
    return [sorted(g, key=_age) for g in groups.values() if len(g) > 1]


def _age(memory: Memory) -> tuple[datetime, datetime, str]:
    """Oldest first: written first, then (written in one moment, as an import or a
    re-read writes many) said first; the id only breaks a tie of both."""
    return memory.created_at, memory.event_time or memory.created_at, memory.id


def run(ctx: RunContext) -> None:
    for memory_type in TYPES:
        groups = _groups(ctx, memory_type)
        for group in groups:
            keep, others = group[0], group[1:]
            ctx.report.merged += len(others)
            ctx.note(f"merge {', '.join(m.id for m in others)} into {keep.id}: {keep.text[:80]!r}")
        if ctx.dry_run or not groups:
            continue
        with ctx.ledger.write(actor=ACTOR) as tx:
            for group in groups:
                current = [tx.memories.get(m.id) for m in group]
                if any(m.status is not MemoryStatus.ACTIVE for m in current):
                    continue  # changed meanwhile (an ingest): the next run looks again
                keep, others = current[0], current[1:]
                text = max((m.text for m in current), key=len)
                sources: list[EventId] = []
                for m in others:
                    sources += [s for s in m.source_event_ids if s not in sources]
                merged = tx.memories.update(
                    keep,
                    text,
                    {},
                    sources,
                    ctx.reason(f"merged {len(others)} near duplicate(s)"),
                )
                for other in others:
                    tx.memories.retire(other, merged, ctx.reason(f"near duplicate of {keep.id}"))
