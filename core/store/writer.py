"""The one place that changes memories. Every change — ADD, UPDATE (version +1),
SUPERSEDE (the old row kept, status superseded, pointing at its successor), REDACT —
writes its history row (op, before, after, actor, reason, source events) in the same
transaction. Ingest's reconcile uses it; consolidation and user edits are meant to too.

A changed memory is flagged ``index_pending`` so Chroma picks up its new text/status.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from core.records import EventId, Memory, MemoryStatus, NewMemory, dumps, to_iso, utcnow
from core.store.ledger import Ledger


def _union(a: Sequence[EventId], b: Sequence[EventId]) -> list[EventId]:
    return list(dict.fromkeys([*a, *b]))


class MemoryWriter:
    """Writes inside one open transaction ``db``; remembers what it wrote."""

    def __init__(self, ledger: Ledger, db: sqlite3.Connection, actor: str) -> None:
        self.ledger = ledger
        self.db = db
        self.actor = actor
        self.written: list[Memory] = []

    def _history(
        self,
        memory: Memory,
        op: str,
        before: Memory | None,
        after: Memory | None,
        reason: str,
        sources: Sequence[EventId],
        actor: str | None,
    ) -> None:
        self.ledger.write_history(
            self.db, memory.id, op, before, after, actor or self.actor, reason, sources
        )

    def add(self, new: NewMemory, reason: str, actor: str | None = None) -> Memory:
        memory = self.ledger.insert_memory(self.db, new, actor or self.actor, reason)
        self.written.append(memory)
        return memory

    def update(
        self,
        memory: Memory,
        text: str,
        fields: dict[str, str],
        sources: Sequence[EventId],
        reason: str,
        actor: str | None = None,
    ) -> Memory:
        """Merge into ``memory``: new text and fields, sources joined, version +1."""
        self.db.execute(
            "UPDATE memories SET text = ?, fields = ?, source_event_ids = ?, version = version + 1,"
            " updated_at = ?, index_pending = 1 WHERE id = ?",
            (
                text,
                dumps({**memory.fields, **fields}),
                dumps(_union(memory.source_event_ids, sources)),
                to_iso(utcnow()),
                memory.id,
            ),
        )
        after = self.ledger.get_in(self.db, memory.id)
        self._history(memory, "UPDATE", memory, after, reason, sources, actor)
        self.written.append(after)
        return after

    def supersede(
        self, old: Memory, new: NewMemory, reason: str, actor: str | None = None
    ) -> Memory:
        """Add the successor, then retire ``old`` (kept, status superseded, pointer set)."""
        successor = self.ledger.insert_memory(self.db, new, actor or self.actor, reason)
        self.db.execute(
            "UPDATE memories SET status = ?, successor_id = ?, updated_at = ?, index_pending = 1"
            " WHERE id = ?",
            (MemoryStatus.SUPERSEDED.value, successor.id, to_iso(utcnow()), old.id),
        )
        retired = self.ledger.get_in(self.db, old.id)
        self._history(old, "SUPERSEDE", old, retired, reason, new.source_event_ids, actor)
        self.written.append(successor)
        return successor

    def redact(
        self,
        memory: Memory,
        secret: str,
        mask: str,
        reason: str,
        sources: Sequence[EventId],
        actor: str | None = None,
    ) -> Memory:
        """Replace ``secret`` in the memory's text and in its earlier history snapshots
        (which would otherwise keep it in clear text)."""
        self.db.execute(
            "UPDATE memories SET text = replace(text, ?, ?), updated_at = ?, index_pending = 1"
            " WHERE id = ?",
            (secret, mask, to_iso(utcnow()), memory.id),
        )
        needle = json.dumps(secret, ensure_ascii=False)[1:-1]
        self.db.execute(
            "UPDATE history SET before = replace(before, ?, ?), after = replace(after, ?, ?)"
            " WHERE memory_id = ?",
            (needle, mask, needle, mask, memory.id),
        )
        after = self.ledger.get_in(self.db, memory.id)
        masked_before = json.loads(json.dumps(memory.to_json()).replace(needle, mask))
        self.ledger.write_history(
            self.db, memory.id, "REDACT", None, after, actor or self.actor, reason, sources
        )
        self.db.execute(
            "UPDATE history SET before = ? WHERE id = last_insert_rowid()", (dumps(masked_before),)
        )
        return after
