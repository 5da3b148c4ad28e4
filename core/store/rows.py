"""Rows of the ledger's tables turned into the typed records that leave the store."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from core.errors import MemoryNotFoundError
from core.records import (
    Event,
    EventId,
    EventKind,
    EventStatus,
    HistoryRow,
    Memory,
    MemoryId,
    MemoryStatus,
    MemoryType,
    from_iso,
)

MEMORY_COLUMNS = (
    "id, type, text, created_at, updated_at, event_time, source_event_ids, importance, "
    "strength, access_count, last_accessed_at, version, status, sensitivity, fields, successor_id"
)


def _opt_time(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def memory_from_row(row: sqlite3.Row) -> Memory:
    return Memory(
        id=MemoryId(row["id"]),
        type=MemoryType(row["type"]),
        text=row["text"],
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        event_time=_opt_time(row["event_time"]),
        source_event_ids=tuple(EventId(i) for i in json.loads(row["source_event_ids"])),
        importance=row["importance"],
        strength=row["strength"],
        access_count=row["access_count"],
        last_accessed_at=_opt_time(row["last_accessed_at"]),
        version=row["version"],
        status=MemoryStatus(row["status"]),
        sensitivity=row["sensitivity"],
        fields=json.loads(row["fields"]),
        successor_id=MemoryId(row["successor_id"]) if row["successor_id"] else None,
    )


def event_from_row(row: sqlite3.Row) -> Event:
    return Event(
        id=EventId(row["id"]),
        kind=EventKind(row["kind"]),
        text=row["text"],
        occurred_at=from_iso(row["occurred_at"]),
        speaker=row["speaker"],
        source=row["source"],
        payload=json.loads(row["payload"]),
        status=EventStatus(row["status"]),
        attempts=row["attempts"],
    )


def history_from_row(row: sqlite3.Row) -> HistoryRow:
    return HistoryRow(
        id=row["id"],
        memory_id=MemoryId(row["memory_id"]),
        op=row["op"],
        before=json.loads(row["before"]) if row["before"] else None,
        after=json.loads(row["after"]) if row["after"] else None,
        actor=row["actor"],
        reason=row["reason"],
        source_event_ids=tuple(EventId(i) for i in json.loads(row["source_event_ids"])),
        at=from_iso(row["at"]),
    )


def fetch_memory(db: sqlite3.Connection, memory_id: MemoryId) -> Memory:
    """One memory row as ``db`` sees it (inside a write: its own changes included)."""
    row = db.execute(f"SELECT {MEMORY_COLUMNS} FROM memories WHERE id = ?", (memory_id,)).fetchone()
    if row is None:
        raise MemoryNotFoundError(memory_id)
    return memory_from_row(row)
