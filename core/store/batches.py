"""The ``batches`` table: which events were grouped into each batch, what the router sent
where, the ops reconcile applied, and the retry state of a batch whose extraction failed
(pending -> done, or failed after ``max_attempts`` tries)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from core.records import EventId, MemoryType, dumps, to_iso, utcnow
from core.store.ledger import Ledger


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


def insert_batch(db: sqlite3.Connection, event_ids: Sequence[EventId]) -> int:
    now = to_iso(utcnow())
    cursor = db.execute(
        "INSERT INTO batches(event_ids, created_at, updated_at) VALUES (?, ?, ?)",
        (dumps(list(event_ids)), now, now),
    )
    return int(cursor.lastrowid or 0)


def pending_batches(ledger: Ledger) -> list[Batch]:
    with ledger.transaction() as db:
        rows = db.execute("SELECT * FROM batches WHERE status = 'pending' ORDER BY id").fetchall()
    return [_batch(r) for r in rows]


def all_batches(ledger: Ledger) -> list[Batch]:
    with ledger.transaction() as db:
        return [_batch(r) for r in db.execute("SELECT * FROM batches ORDER BY id").fetchall()]


def count_batches(ledger: Ledger) -> dict[str, int]:
    with ledger.transaction() as db:
        rows = db.execute("SELECT status, COUNT(*) FROM batches GROUP BY status").fetchall()
    return {r[0]: r[1] for r in rows}


def mark_done(
    db: sqlite3.Connection,
    batch_id: int,
    by_model: Sequence[MemoryType],
    by_rules: Sequence[MemoryType],
    ops: dict[str, int],
) -> None:
    db.execute(
        "UPDATE batches SET status = 'done', attempts = attempts + 1, last_error = NULL,"
        " routed_by_model = ?, routed_by_rules = ?, ops = ?, updated_at = ? WHERE id = ?",
        (
            dumps([t.value for t in by_model]),
            dumps([t.value for t in by_rules]),
            dumps(ops),
            to_iso(utcnow()),
            batch_id,
        ),
    )


def record_failure(db: sqlite3.Connection, batch_id: int, error: str, max_attempts: int) -> str:
    """Count a failed try; the batch stays pending for a later run until it has failed
    ``max_attempts`` times. Returns the batch's new status."""
    db.execute(
        "UPDATE batches SET attempts = attempts + 1, last_error = ?, updated_at = ?,"
        " status = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'pending' END WHERE id = ?",
        (error[:500], to_iso(utcnow()), max_attempts, batch_id),
    )
    return str(db.execute("SELECT status FROM batches WHERE id = ?", (batch_id,)).fetchone()[0])
