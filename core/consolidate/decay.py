"""Step: decay. Every memory's strength is its Ebbinghaus retention, as in MemoryBank:
``R = exp(-t / S)``, with ``t`` the days since it was last recalled (or written) and the
stability ``S`` growing with each recall (``stability_days * (1 + access_count)``, scaled
by importance). A retrieval or citation counts a recall (``Ledger.record_access``), so
strength rises again. Below ``archive_below`` a memory is archived: kept, out of the
default search, found when a search asks for archived memories. An archived memory
recalled since (asked for explicitly) is active again. Core blocks and vault entries do
not decay.
"""

from __future__ import annotations

import math
from datetime import datetime

from core.consolidate.context import ACTOR, RunContext
from core.records import Memory, MemoryStatus, MemoryType

DECAYING = (MemoryType.EPISODIC, MemoryType.SEMANTIC, MemoryType.PROCEDURAL, MemoryType.RESOURCE)
STEP = 0.1  # a smaller change is not written (each write is a history row)


def retention(memory: Memory, now: datetime, stability_days: float) -> float:
    last = memory.last_accessed_at or memory.created_at
    days = max(0.0, (now - last).total_seconds() / 86400.0)
    stability = stability_days * (1 + memory.access_count) * (0.5 + memory.importance)
    return round(math.exp(-days / stability), 3)


def run(ctx: RunContext) -> None:
    now = ctx.clock()
    threshold = ctx.settings.archive_below
    changes: list[tuple[Memory, float, MemoryStatus | None]] = []
    for memory in ctx.ledger.list_memories(include_inactive=True):
        if memory.type not in DECAYING or memory.status not in (
            MemoryStatus.ACTIVE,
            MemoryStatus.ARCHIVED,
        ):
            continue
        strength = retention(memory, now, ctx.settings.stability_days)
        status: MemoryStatus | None = None
        if memory.status is MemoryStatus.ACTIVE and strength < threshold:
            status = MemoryStatus.ARCHIVED
        elif memory.status is MemoryStatus.ARCHIVED and strength >= threshold:
            status = MemoryStatus.ACTIVE
        if status is not None or abs(strength - memory.strength) >= STEP:
            changes.append((memory, strength, status))
    for memory, strength, status in changes:
        if status is MemoryStatus.ARCHIVED:
            ctx.report.archived += 1
            ctx.note(f"archive {memory.id} (strength {strength:.3f}): {memory.text[:80]!r}")
        elif status is MemoryStatus.ACTIVE:
            ctx.note(f"reactivate {memory.id} (recalled since it was archived)")
    if ctx.dry_run or not changes:
        return
    with ctx.ledger.write(actor=ACTOR) as tx:
        for memory, strength, status in changes:
            current = tx.memories.get(memory.id)
            if current.status is not memory.status:
                continue
            current = tx.memories.set_strength(
                current, strength, ctx.reason(f"strength {strength:.3f}")
            )
            if status is not None:
                why = "archived: unused" if status is MemoryStatus.ARCHIVED else "recalled again"
                tx.memories.set_status(current, status, ctx.reason(why))
