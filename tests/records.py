"""Memory records for unit tests that need no store: every field but the text, the id,
the type and the time at its default."""

from __future__ import annotations

from datetime import datetime

from core.records import Memory, MemoryId, MemoryStatus, MemoryType


def memory_at(
    ident: str,
    text: str,
    when: datetime,
    kind: MemoryType = MemoryType.EPISODIC,
    fields: dict[str, str] | None = None,
) -> Memory:
    """An active memory created, updated and happened at ``when``."""
    return Memory(
        MemoryId(ident),
        kind,
        text,
        when,
        when,
        when,
        (),
        0.5,
        1.0,
        0,
        None,
        1,
        MemoryStatus.ACTIVE,
        "normal",
        fields or {},
    )
