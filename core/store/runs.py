"""The ``consolidation_runs`` table: one row per sleep-time consolidation run.

A run is ``running`` while it works, then ``done`` (or ``failed``), and ``undone`` once
`rememora consolidate --undo` put back what it changed. Its high-water marks are the
last event id and the last history row id it considered: the next run looks only at what
came after them. The report is the run's JSON report.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from core.records import dumps, from_iso, to_iso
from core.store.clock import Clock


@dataclass(frozen=True)
class ConsolidationRun:
    id: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    last_event_id: int
    last_history_id: int
    report: dict[str, object]


def _run(row: sqlite3.Row) -> ConsolidationRun:
    return ConsolidationRun(
        row["id"],
        from_iso(row["started_at"]),
        from_iso(row["finished_at"]) if row["finished_at"] else None,
        row["status"],
        int(row["last_event_id"]),
        int(row["last_history_id"]),
        json.loads(row["report"]),
    )


class RunLog:
    """SQL on ``consolidation_runs``; the caller holds the store's lock (reads) or an
    open unit of work (writes)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # -- reads ----------------------------------------------------------------------
    def get(self, run_id: str) -> ConsolidationRun | None:
        row = self._db.execute(
            "SELECT * FROM consolidation_runs WHERE id = ?", (run_id,)
        ).fetchone()
        return _run(row) if row else None

    def last_done(self) -> ConsolidationRun | None:
        """The latest run that finished and stands (not undone): its marks are where the
        next run starts."""
        row = self._db.execute(
            "SELECT * FROM consolidation_runs WHERE status = 'done'"
            " ORDER BY started_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return _run(row) if row else None

    def all(self) -> list[ConsolidationRun]:
        rows = self._db.execute("SELECT * FROM consolidation_runs ORDER BY rowid").fetchall()
        return [_run(r) for r in rows]

    def marks(self) -> tuple[int, int]:
        """The newest event id and history row id in the store now."""
        event = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        history = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM history").fetchone()[0]
        return int(event), int(history)

    # -- writes (inside a unit of work) ------------------------------------------------
    def start(
        self, run_id: str, last_event_id: int, last_history_id: int, at: datetime | None = None
    ) -> None:
        """Log a new run. A run still logged as running was cut off (one process owns the
        store, and runs one at a time): it is marked ``interrupted``, its committed steps
        stand and it can be undone like a finished run."""
        self._db.execute(
            "UPDATE consolidation_runs SET status = 'interrupted' WHERE status = 'running'"
        )
        self._db.execute(
            "INSERT INTO consolidation_runs(id, started_at, last_event_id, last_history_id)"
            " VALUES (?, ?, ?, ?)",
            (run_id, to_iso(at or self._clock()), last_event_id, last_history_id),
        )

    def finish(
        self, run_id: str, status: str, report: dict[str, object], at: datetime | None = None
    ) -> None:
        """``at``: when it ended (default: now; the demo store dates its runs)."""
        self._db.execute(
            "UPDATE consolidation_runs SET status = ?, finished_at = ?, report = ? WHERE id = ?",
            (status, to_iso(at or self._clock()), dumps(report), run_id),
        )

    def set_status(self, run_id: str, status: str) -> None:
        self._db.execute("UPDATE consolidation_runs SET status = ? WHERE id = ?", (status, run_id))
