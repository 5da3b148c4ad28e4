"""The ``batches`` table: which events were grouped into each batch, what the router sent
where, the ops reconcile applied, and the retry state of a batch whose extraction failed
(pending -> done, or failed after ``max_attempts`` tries)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from core.records import EventId, MemoryType, dumps, to_iso
from core.store.clock import Clock


@dataclass(frozen=True)
class Batch:
    id: int
    event_ids: tuple[EventId, ...]
    status: str
    attempts: int
    last_error: str | None
    routed_by_model: tuple[str, ...]
    routed_by_rules: tuple[str, ...]
    ops: dict[str, int]


def _batch(row: sqlite3.Row) -> Batch:
    return Batch(
        row["id"],
        tuple(EventId(i) for i in json.loads(row["event_ids"])),
        row["status"],
        row["attempts"],
        row["last_error"],
        tuple(json.loads(row["routed_by_model"])),
        tuple(json.loads(row["routed_by_rules"])),
        json.loads(row["ops"]),
    )


class BatchLog:
    """SQL on ``batches`` over the store's connection; the caller holds the store's lock
    (reads) or an open unit of work (writes)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # -- reads ----------------------------------------------------------------------
    def pending(self) -> list[Batch]:
        rows = self._db.execute(
            "SELECT * FROM batches WHERE status = 'pending' ORDER BY id"
        ).fetchall()
        return [_batch(r) for r in rows]

    def all(self) -> list[Batch]:
        return [_batch(r) for r in self._db.execute("SELECT * FROM batches ORDER BY id")]

    def counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT status, COUNT(*) FROM batches GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}

    # -- writes (inside a unit of work) ------------------------------------------------
    def insert(self, event_ids: Sequence[EventId]) -> int:
        now = to_iso(self._clock())
        cursor = self._db.execute(
            "INSERT INTO batches(event_ids, created_at, updated_at) VALUES (?, ?, ?)",
            (dumps(list(event_ids)), now, now),
        )
        return int(cursor.lastrowid or 0)

    def complete(
        self,
        batch_id: int,
        by_model: Sequence[MemoryType],
        by_rules: Sequence[MemoryType],
        ops: dict[str, int],
    ) -> None:
        """The batch was extracted and reconciled: where it was routed and what it did."""
        self._db.execute(
            "UPDATE batches SET status = 'done', attempts = attempts + 1, last_error = NULL,"
            " routed_by_model = ?, routed_by_rules = ?, ops = ?, updated_at = ? WHERE id = ?",
            (
                dumps([t.value for t in by_model]),
                dumps([t.value for t in by_rules]),
                dumps(ops),
                to_iso(self._clock()),
                batch_id,
            ),
        )

    def fail(self, batch_id: int, error: str, max_attempts: int) -> str:
        """Count a failed try; the batch stays pending for a later run until it has failed
        ``max_attempts`` times. Returns the batch's new status."""
        self._db.execute(
            "UPDATE batches SET attempts = attempts + 1, last_error = ?, updated_at = ?,"
            " status = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'pending' END WHERE id = ?",
            (error[:500], to_iso(self._clock()), max_attempts, batch_id),
        )
        row = self._db.execute("SELECT status FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return str(row[0])

    def forget_events(self, event_ids: Sequence[EventId]) -> None:
        """Events were deleted (a time range, by the user): take them out of every batch,
        and remove batches left with no event, so extraction never reads them."""
        gone = {int(i) for i in event_ids}
        if not gone:
            return
        for row in self._db.execute("SELECT id, event_ids FROM batches").fetchall():
            kept = [i for i in json.loads(row["event_ids"]) if int(i) not in gone]
            if len(kept) == len(json.loads(row["event_ids"])):
                continue
            if kept:
                self._db.execute(
                    "UPDATE batches SET event_ids = ? WHERE id = ?", (dumps(kept), row["id"])
                )
            else:
                self._db.execute("DELETE FROM batches WHERE id = ?", (row["id"],))
