"""The one place that changes memory rows. Every content change — ADD, UPDATE (version
+1), SUPERSEDE (the old row kept, status superseded, pointing at its successor), REDACT,
RESEAL (a vault token sealed again under a new key, the value unchanged) —
writes its history row (op, before, after, actor, reason, source events) in the same
transaction; so do consolidation's RETIRE-style SUPERSEDE (onto an existing memory),
ARCHIVE/REACTIVATE, DECAY (strength) and UNDO (a row put back as a snapshot had it). Bookkeeping that is not a content change (a recall counted, a row marked as
indexed in Chroma, or all rows marked for a rebuild) goes through here too, without
history, so nothing else in the code base updates ``memories``.

A changed memory is flagged ``index_pending`` so Chroma picks up its new text/status.
A writer lives inside one open unit of work (:meth:`Ledger.write`); it is not made
directly.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence

from core.records import (
    EventId,
    HistoryRow,
    Memory,
    MemoryId,
    MemoryStatus,
    MemoryType,
    NewMemory,
    dumps,
    to_iso,
)
from core.store.clock import Clock
from core.store.rows import MEMORY_COLUMNS, fetch_memory, memory_from_row


def new_memory_id(memory_type: MemoryType) -> MemoryId:
    return MemoryId(f"{memory_type.id_prefix}-{secrets.token_hex(5)}")


def _union(a: Sequence[EventId], b: Sequence[EventId]) -> list[EventId]:
    return list(dict.fromkeys([*a, *b]))


class MemoryWriter:
    """Writes inside one open transaction; ``written`` keeps what it added, updated or
    made a successor, in order (reconcile compares later candidates with them)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, actor: str) -> None:
        self._db = db
        self._clock = clock
        self.actor = actor
        self.written: list[Memory] = []

    def _now(self) -> str:
        return to_iso(self._clock())

    # -- reads that see this transaction's own writes ---------------------------------
    def get(self, memory_id: MemoryId) -> Memory:
        """A memory as this transaction sees it (its own writes included)."""
        return fetch_memory(self._db, memory_id)

    def find_active_by_field(self, memory_type: MemoryType, name: str, value: str) -> list[Memory]:
        """Active memories of one type whose field ``name`` equals ``value``, oldest first."""
        rows = self._db.execute(
            f"SELECT {MEMORY_COLUMNS} FROM memories WHERE type = ? AND status = 'active'"
            " AND json_extract(fields, '$.' || ?) = ? ORDER BY rowid",
            (memory_type.value, name, value),
        ).fetchall()
        return [memory_from_row(r) for r in rows]

    def list_all(self, memory_type: MemoryType) -> list[Memory]:
        """Every memory of one type, any status, in the order they were written."""
        rows = self._db.execute(
            f"SELECT {MEMORY_COLUMNS} FROM memories WHERE type = ? ORDER BY rowid",
            (memory_type.value,),
        ).fetchall()
        return [memory_from_row(r) for r in rows]

    def exists(self, memory_id: MemoryId) -> bool:
        return (
            self._db.execute("SELECT 1 FROM memories WHERE id = ?", (memory_id,)).fetchone()
            is not None
        )

    # -- content changes (each with its history row) ------------------------------------
    def _history(
        self,
        memory_id: MemoryId,
        op: str,
        before: Memory | None,
        after: Memory | None,
        actor: str,
        reason: str,
        sources: Sequence[EventId],
    ) -> None:
        self._db.execute(
            "INSERT INTO history(memory_id, op, before, after, actor, reason, source_event_ids, at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                memory_id,
                op,
                dumps(before.to_json()) if before else None,
                dumps(after.to_json()) if after else None,
                actor,
                reason,
                dumps(list(sources)),
                self._now(),
            ),
        )

    def _insert(self, new: NewMemory, actor: str, reason: str) -> Memory:
        memory_id = new_memory_id(new.type)
        now = self._now()
        self._db.execute(
            "INSERT INTO memories(id, type, text, created_at, updated_at, event_time,"
            " source_event_ids, importance, sensitivity, fields) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                memory_id,
                new.type.value,
                new.text,
                now,
                now,
                to_iso(new.event_time) if new.event_time else None,
                dumps(list(new.source_event_ids)),
                new.importance,
                new.sensitivity,
                dumps(new.fields),
            ),
        )
        memory = self.get(memory_id)
        self._history(memory_id, "ADD", None, memory, actor, reason, new.source_event_ids)
        return memory

    def add(self, new: NewMemory, reason: str, actor: str | None = None) -> Memory:
        """Insert a memory and its ADD history row."""
        memory = self._insert(new, actor or self.actor, reason)
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
        self._db.execute(
            "UPDATE memories SET text = ?, fields = ?, source_event_ids = ?, version = version + 1,"
            " updated_at = ?, index_pending = 1 WHERE id = ?",
            (
                text,
                dumps({**memory.fields, **fields}),
                dumps(_union(memory.source_event_ids, sources)),
                self._now(),
                memory.id,
            ),
        )
        after = self.get(memory.id)
        self._history(memory.id, "UPDATE", memory, after, actor or self.actor, reason, sources)
        self.written.append(after)
        return after

    def supersede(
        self, old: Memory, new: NewMemory, reason: str, actor: str | None = None
    ) -> Memory:
        """Add the successor, then retire ``old`` (kept, status superseded, pointer set)."""
        who = actor or self.actor
        successor = self._insert(new, who, reason)
        self._db.execute(
            "UPDATE memories SET status = ?, successor_id = ?, updated_at = ?, index_pending = 1"
            " WHERE id = ?",
            (MemoryStatus.SUPERSEDED.value, successor.id, self._now(), old.id),
        )
        retired = self.get(old.id)
        self._history(old.id, "SUPERSEDE", old, retired, who, reason, new.source_event_ids)
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
        self._db.execute(
            "UPDATE memories SET text = replace(text, ?, ?), updated_at = ?, index_pending = 1"
            " WHERE id = ?",
            (secret, mask, self._now(), memory.id),
        )
        needle = json.dumps(secret, ensure_ascii=False)[1:-1]
        self._db.execute(
            "UPDATE history SET before = replace(before, ?, ?), after = replace(after, ?, ?)"
            " WHERE memory_id = ?",
            (needle, mask, needle, mask, memory.id),
        )
        after = self.get(memory.id)
        masked_before = json.loads(json.dumps(memory.to_json()).replace(needle, mask))
        self._history(memory.id, "REDACT", None, after, actor or self.actor, reason, sources)
        self._db.execute(
            "UPDATE history SET before = ? WHERE id = last_insert_rowid()", (dumps(masked_before),)
        )
        return after

    def restore(self, memory: Memory, history: Sequence[HistoryRow], reason: str) -> Memory:
        """Insert a memory from an archive as it was there (id, version, status, times,
        successor), then its history rows as they were, then one IMPORT row naming the
        archive. The caller has checked that the id is free."""
        self._db.execute(
            "INSERT INTO memories(id, type, text, created_at, updated_at, event_time,"
            " source_event_ids, importance, strength, access_count, last_accessed_at, version,"
            " status, sensitivity, fields, successor_id, index_pending)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
            (
                memory.id,
                memory.type.value,
                memory.text,
                to_iso(memory.created_at),
                to_iso(memory.updated_at),
                to_iso(memory.event_time) if memory.event_time else None,
                dumps(list(memory.source_event_ids)),
                memory.importance,
                memory.strength,
                memory.access_count,
                to_iso(memory.last_accessed_at) if memory.last_accessed_at else None,
                memory.version,
                memory.status.value,
                memory.sensitivity,
                dumps(memory.fields),
                memory.successor_id,
            ),
        )
        self._db.executemany(
            "INSERT INTO history(memory_id, op, before, after, actor, reason, source_event_ids, at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    memory.id,
                    row.op,
                    dumps(row.before) if row.before is not None else None,
                    dumps(row.after) if row.after is not None else None,
                    row.actor,
                    row.reason,
                    dumps(list(row.source_event_ids)),
                    to_iso(row.at),
                )
                for row in history
            ],
        )
        restored = self.get(memory.id)
        self._history(
            memory.id, "IMPORT", None, restored, "import", reason, memory.source_event_ids
        )
        self.written.append(restored)
        return restored

    def reseal(self, memory_id: MemoryId, tokens: dict[str, str], reason: str) -> None:
        """Replace sealed tokens (old -> new: the same value under another key) in the
        memory's fields and in its history snapshots, with one RESEAL history row. The
        content does not change, so neither does the version."""
        for old, new in tokens.items():
            self._db.execute(
                "UPDATE memories SET fields = replace(fields, ?, ?) WHERE id = ?",
                (old, new, memory_id),
            )
            self._db.execute(
                "UPDATE history SET before = replace(before, ?, ?), after = replace(after, ?, ?)"
                " WHERE memory_id = ?",
                (old, new, old, new, memory_id),
            )
        self._history(memory_id, "RESEAL", None, None, self.actor, reason, [])

    def history_snapshots(self, memory_id: MemoryId) -> list[dict[str, object]]:
        """The before/after snapshots of a memory's history rows (for a reseal)."""
        rows = self._db.execute(
            "SELECT before, after FROM history WHERE memory_id = ?", (memory_id,)
        ).fetchall()
        return [json.loads(v) for row in rows for v in row if v is not None]

    def retire(
        self, old: Memory, successor: Memory, reason: str, actor: str | None = None
    ) -> Memory:
        """Supersede ``old`` by a memory that already exists (a merge's survivor, the
        newer side of a contradiction): kept, status superseded, pointer set."""
        self._db.execute(
            "UPDATE memories SET status = ?, successor_id = ?, updated_at = ?, index_pending = 1"
            " WHERE id = ?",
            (MemoryStatus.SUPERSEDED.value, successor.id, self._now(), old.id),
        )
        retired = self.get(old.id)
        self._history(
            old.id,
            "SUPERSEDE",
            old,
            retired,
            actor or self.actor,
            reason,
            successor.source_event_ids,
        )
        return retired

    def set_status(
        self, memory: Memory, status: MemoryStatus, reason: str, actor: str | None = None
    ) -> Memory:
        """Archive a memory (out of default search, kept) or make it active again."""
        self._db.execute(
            "UPDATE memories SET status = ?, updated_at = ?, index_pending = 1 WHERE id = ?",
            (status.value, self._now(), memory.id),
        )
        after = self.get(memory.id)
        op = "ARCHIVE" if status is MemoryStatus.ARCHIVED else "REACTIVATE"
        self._history(memory.id, op, memory, after, actor or self.actor, reason, ())
        return after

    def set_strength(
        self, memory: Memory, strength: float, reason: str, actor: str | None = None
    ) -> Memory:
        """The memory's retention as decay computed it (with history, so it can be undone)."""
        self._db.execute("UPDATE memories SET strength = ? WHERE id = ?", (strength, memory.id))
        after = self.get(memory.id)
        self._history(memory.id, "DECAY", memory, after, actor or self.actor, reason, ())
        return after

    def revert(
        self,
        memory_id: MemoryId,
        snapshot: dict[str, object] | None,
        reason: str,
        actor: str | None = None,
    ) -> None:
        """Put a memory row back exactly as ``snapshot`` (a history row's ``before``) has
        it; None: the row did not exist then, so it is removed. One UNDO history row."""
        before = self.get(memory_id) if self.exists(memory_id) else None
        if snapshot is None:
            self._db.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
        else:
            s = snapshot
            values = (
                s["type"],
                s["text"],
                s["created_at"],
                s["updated_at"],
                s["event_time"],
                dumps(s["source_event_ids"]),
                s["importance"],
                s["strength"],
                s["access_count"],
                s["last_accessed_at"],
                s["version"],
                s["status"],
                s["sensitivity"],
                dumps(s["fields"]),
                s["successor_id"],
                memory_id,
            )
            if before is None:
                self._db.execute(
                    "INSERT INTO memories(type, text, created_at, updated_at, event_time,"
                    " source_event_ids, importance, strength, access_count, last_accessed_at,"
                    " version, status, sensitivity, fields, successor_id, id, index_pending)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
                    values,
                )
            else:  # in place: the row keeps its rowid, so listing order stays the same
                self._db.execute(
                    "UPDATE memories SET type = ?, text = ?, created_at = ?, updated_at = ?,"
                    " event_time = ?, source_event_ids = ?, importance = ?, strength = ?,"
                    " access_count = ?, last_accessed_at = ?, version = ?, status = ?,"
                    " sensitivity = ?, fields = ?, successor_id = ?, index_pending = 1"
                    " WHERE id = ?",
                    values,
                )
        after = self.get(memory_id) if snapshot is not None else None
        self._history(memory_id, "UNDO", before, after, actor or self.actor, reason, ())

    # -- bookkeeping (no history: the memory's content does not change) -----------------
    def record_access(self, ids: Sequence[MemoryId]) -> None:
        """Count a recall of each memory (for decay: strength rises on recall)."""
        now = self._now()
        self._db.executemany(
            "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ?"
            " WHERE id = ?",
            [(now, i) for i in ids],
        )

    def mark_indexed(self, ids: Sequence[MemoryId]) -> None:
        """Chroma now holds these memories as they are."""
        self._db.executemany(
            "UPDATE memories SET index_pending = 0 WHERE id = ?", [(i,) for i in ids]
        )

    def mark_all_unindexed(self) -> None:
        """Every memory is to be embedded again (a rebuild of Chroma from the ledger)."""
        self._db.execute("UPDATE memories SET index_pending = 1")

    # -- the user's own changes (the desktop app) ----------------------------------------
    def delete(self, memory: Memory, reason: str, actor: str | None = None) -> Memory:
        """Mark ``memory`` deleted (kept with its history, out of search and the index)."""
        self._db.execute(
            "UPDATE memories SET status = ?, updated_at = ?, index_pending = 1 WHERE id = ?",
            (MemoryStatus.DELETED.value, self._now(), memory.id),
        )
        after = self.get(memory.id)
        self._history(memory.id, "DELETE", memory, after, actor or self.actor, reason, ())
        return after

    def pin(self, memory: Memory, pinned: bool, reason: str, actor: str | None = None) -> Memory:
        """Pin (or unpin) a memory: field ``pinned``; its text and version stay."""
        fields = {k: v for k, v in memory.fields.items() if k != "pinned"}
        if pinned:
            fields["pinned"] = "true"
        self._db.execute(
            "UPDATE memories SET fields = ?, updated_at = ? WHERE id = ?",
            (dumps(fields), self._now(), memory.id),
        )
        after = self.get(memory.id)
        op = "PIN" if pinned else "UNPIN"
        self._history(memory.id, op, memory, after, actor or self.actor, reason, ())
        return after

    def purge(self, memory: Memory, reason: str, actor: str | None = None) -> None:
        """Remove ``memory`` for good: its row (and so its text index entry) and the
        content of its history snapshots; one PURGE history row says who and why."""
        self._db.execute("DELETE FROM memories WHERE id = ?", (memory.id,))
        self._db.execute(
            "UPDATE history SET before = NULL, after = NULL WHERE memory_id = ?", (memory.id,)
        )
        self._history(memory.id, "PURGE", None, None, actor or self.actor, reason, ())
