"""The ``events`` table: the append-only log of what was observed. Rows are only ever
appended, marked processed, or (for a vault value) have a secret masked in their text."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from core.records import Event, EventId, EventKind, EventStatus, NewEvent, dumps, to_iso
from core.store.clock import Clock
from core.store.rows import event_from_row


class EventLog:
    """SQL on ``events`` over the store's connection; the caller holds the store's lock
    (reads) or an open unit of work (writes)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # -- reads ----------------------------------------------------------------------
    def pending(self, limit: int = 1000) -> list[Event]:
        rows = self._db.execute(
            "SELECT * FROM events WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [event_from_row(r) for r in rows]

    def get(self, ids: Sequence[EventId]) -> list[Event]:
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            f"SELECT * FROM events WHERE id IN ({marks}) ORDER BY id", tuple(ids)
        ).fetchall()
        return [event_from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT status, COUNT(*) FROM events GROUP BY status").fetchall()
        return {row[0]: row[1] for row in rows}

    def since(self, moment: datetime | None) -> list[Event]:
        """Every event (in log order) that occurred at or after ``moment`` (None: all)."""
        if moment is None:
            rows = self._db.execute("SELECT * FROM events ORDER BY id").fetchall()
        else:
            rows = self._db.execute(
                "SELECT * FROM events WHERE occurred_at >= ? ORDER BY id", (to_iso(moment),)
            ).fetchall()
        return [event_from_row(r) for r in rows]

    def all_pending(self, ids: Sequence[EventId]) -> bool:
        """Whether every one of ``ids`` is still pending (no other recorder took it)."""
        if not ids:
            return True
        marks = ",".join("?" * len(ids))
        row = self._db.execute(
            f"SELECT COUNT(*) FROM events WHERE status = 'pending' AND id IN ({marks})",
            tuple(ids),
        ).fetchone()
        return int(row[0]) == len(set(ids))

    # -- writes (inside a unit of work) ------------------------------------------------
    def append(self, events: Sequence[NewEvent], skip_known: bool) -> tuple[list[EventId], int]:
        """Append events as pending; with ``skip_known``, those already in the log (same
        kind, time, speaker, source and text) are skipped. Returns the new ids and how
        many were skipped."""
        now = to_iso(self._clock())
        ids: list[EventId] = []
        skipped = 0
        for event in events:
            row = (
                event.kind.value,
                event.text,
                event.speaker,
                event.source,
                to_iso(event.occurred_at),
            )
            if (
                skip_known
                and self._db.execute(
                    "SELECT 1 FROM events WHERE kind = ? AND text = ? AND speaker IS ? AND "
                    "source = ? AND occurred_at = ? LIMIT 1",
                    row,
                ).fetchone()
            ):
                skipped += 1
                continue
            cursor = self._db.execute(
                "INSERT INTO events(kind, text, speaker, source, payload, occurred_at, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*row[:4], dumps(event.payload), row[4], now),
            )
            ids.append(EventId(int(cursor.lastrowid or 0)))
        return ids, skipped

    def find(self, event: NewEvent) -> EventId | None:
        """The id of an event already in the log with the same kind, time, speaker,
        source and text (an import's duplicate), or None."""
        row = self._db.execute(
            "SELECT id FROM events WHERE kind = ? AND text = ? AND speaker IS ? AND "
            "source = ? AND occurred_at = ? ORDER BY id LIMIT 1",
            (event.kind.value, event.text, event.speaker, event.source, to_iso(event.occurred_at)),
        ).fetchone()
        return EventId(int(row[0])) if row else None

    def append_archived(self, event: NewEvent, status: EventStatus, attempts: int) -> EventId:
        """Append an event from an archive with the status it had there (a processed
        event keeps its raw record, imported with it; a pending one is recorded later)."""
        cursor = self._db.execute(
            "INSERT INTO events(kind, text, speaker, source, payload, occurred_at, recorded_at,"
            " status, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.kind.value,
                event.text,
                event.speaker,
                event.source,
                dumps(event.payload),
                to_iso(event.occurred_at),
                to_iso(self._clock()),
                status.value,
                attempts,
            ),
        )
        return EventId(int(cursor.lastrowid or 0))

    def mark_processed(self, ids: Sequence[EventId]) -> None:
        self._db.executemany(
            "UPDATE events SET status = 'processed', attempts = attempts + 1 WHERE id = ?",
            [(i,) for i in ids],
        )

    def redact_text(self, event_id: EventId, secret: str, mask: str) -> None:
        """Mask ``secret`` in what the event said (a vault value must not stay in clear)."""
        self._db.execute(
            "UPDATE events SET text = replace(text, ?, ?) WHERE id = ?", (secret, mask, event_id)
        )

    # -- the desktop app: the timeline, the ask log, deleting a time range -------------
    def between(
        self,
        start: datetime | None,
        end: datetime | None,
        kind: EventKind | None = None,
        source: str | None = None,
        limit: int = 100_000,
    ) -> list[Event]:
        """Events that occurred in ``[start, end)`` (None: open), oldest first."""
        clauses, args = [], []
        if start is not None:
            clauses.append("occurred_at >= ?")
            args.append(to_iso(start))
        if end is not None:
            clauses.append("occurred_at < ?")
            args.append(to_iso(end))
        if kind is not None:
            clauses.append("kind = ?")
            args.append(kind.value)
        if source is not None:
            clauses.append("source = ?")
            args.append(source)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT * FROM events {where} ORDER BY occurred_at, id LIMIT ?", (*args, limit)
        ).fetchall()
        return [event_from_row(r) for r in rows]

    def delete(self, ids: Sequence[EventId]) -> None:
        """Remove events for good (the user deleted their time range)."""
        self._db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids])
