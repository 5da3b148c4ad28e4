"""Step: resolve contradictions the write path missed.

The write path supersedes a fact only when a new one has exactly the same key (subject
and attribute). Here a fact changed since the last run is compared with the other active
facts about the same subject: it contradicts one when their attributes mean the same
(the same key, or attribute names whose embeddings are close, cosine >= ATTRIBUTE), the
statements are close (cosine >= ``conflict_similarity``) and the values differ. The
newer source wins and the older fact is superseded by it, with history. When several
established sources (ATTESTED source events or more, on the older side) disagree with
one new source, the new fact is held instead: its field ``needs_confirmation`` is set,
its field ``contradicts`` names the facts it disagrees with (comma-separated ids), and
nothing is superseded until the user confirms it (`Service.confirm_fact`: the held fact
then supersedes them) or rejects it (`Service.reject_fact`: it is deleted, they stay).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.consolidate.context import ACTOR, RunContext
from core.ingest.type_extractors import normalize
from core.records import Memory, MemoryId, MemoryStatus, MemoryType

ATTRIBUTE = 0.7
ATTESTED = 2


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _moment(memory: Memory) -> tuple[object, ...]:
    return (memory.event_time or memory.created_at, memory.created_at, memory.id)


@dataclass(frozen=True)
class Conflict:
    newer: Memory
    older: tuple[Memory, ...]

    @property
    def held(self) -> bool:
        """Several established sources against one new source: ask the user first."""
        older_sources = {i for m in self.older for i in m.source_event_ids}
        return len(older_sources) >= ATTESTED and len(self.newer.source_event_ids) <= 1


def _subject(ctx: RunContext, memory: Memory) -> str:
    subject = memory.fields.get("subject", "")
    return "user" if ctx.identity.is_user(subject or None) else normalize(subject)


def find_conflicts(ctx: RunContext) -> list[Conflict]:
    facts = [
        m
        for m in ctx.ledger.list_memories(MemoryType.SEMANTIC)
        if m.fields.get("value") and m.fields.get("needs_confirmation") != "true"
    ]
    changed = {m.id for m in ctx.ledger.changed_since(ctx.since_history)}
    if not any(m.id in changed for m in facts):
        return []
    texts = [m.text for m in facts] + [m.fields.get("attribute", "") for m in facts]
    vectors = ctx.embedder.embed(texts)
    statement = {m.id: v for m, v in zip(facts, vectors)}
    attribute = {m.id: v for m, v in zip(facts, vectors[len(facts) :])}
    against: dict[MemoryId, list[Memory]] = {}
    by_id = {m.id: m for m in facts}
    for a in facts:
        if a.id not in changed:
            continue
        for b in facts:
            if a.id == b.id or _subject(ctx, a) != _subject(ctx, b):
                continue
            if normalize(a.fields["value"]) == normalize(b.fields["value"]):
                continue
            same_attribute = a.fields.get("key") == b.fields.get("key") or (
                _cosine(attribute[a.id], attribute[b.id]) >= ATTRIBUTE
            )
            if not same_attribute:
                continue
            if _cosine(statement[a.id], statement[b.id]) < ctx.settings.conflict_similarity:
                continue
            newer, older = (a, b) if _moment(a) > _moment(b) else (b, a)
            against.setdefault(newer.id, [])
            if older.id not in {m.id for m in against[newer.id]}:
                against[newer.id].append(older)
    # a fact that loses to a newer one is not itself a winner over older ones
    losers = {o.id for olds in against.values() for o in olds}
    return [
        Conflict(by_id[n], tuple(olds))
        for n, olds in against.items()
        if n not in losers or all(o.id in losers for o in olds)
    ]


def run(ctx: RunContext) -> None:
    conflicts = find_conflicts(ctx)
    for c in conflicts:
        if c.held:
            ctx.report.held += 1
            ctx.note(f"hold {c.newer.id} for confirmation: {c.newer.text[:80]!r}")
        else:
            ctx.report.superseded += len(c.older)
            olds = ", ".join(m.id for m in c.older)
            ctx.note(f"supersede {olds} by newer {c.newer.id}: {c.newer.text[:80]!r}")
    if ctx.dry_run or not conflicts:
        return
    with ctx.ledger.write(actor=ACTOR) as tx:
        for c in conflicts:
            newer = tx.memories.get(c.newer.id)
            if newer.status is not MemoryStatus.ACTIVE:
                continue
            if c.held:
                tx.memories.update(
                    newer,
                    newer.text,
                    {
                        "needs_confirmation": "true",
                        "contradicts": ",".join(m.id for m in c.older),
                    },
                    (),
                    ctx.reason(
                        f"disagrees with {len(c.older)} established fact(s): held for confirmation"
                    ),
                )
                continue
            for old in c.older:
                current = tx.memories.get(old.id)
                if current.status is MemoryStatus.ACTIVE:
                    tx.memories.retire(
                        current,
                        newer,
                        ctx.reason(
                            f"contradicted by newer {newer.id}: {old.fields.get('value', '')!r}"
                            f" -> {newer.fields.get('value', '')!r}"
                        ),
                    )
