"""The SQLite ledger: the append-only event log, memory rows of all six types, the
history of every memory change, extraction batches, running counters and an FTS5 index
over memory text.

The ledger is the system of record; the Chroma index is derived from it and can be
rebuilt at any time. One connection, guarded by one lock, serves the GUI's worker threads
and the CLI alike. Reads are methods here; every change runs in a unit of work,
``with ledger.write(actor=...) as tx:``, whose typed verbs are the only way to write (no
connection leaves the store). Times come from the injected clock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from core.errors import StoreError
from core.records import (
    Event,
    EventId,
    EventKind,
    HistoryRow,
    Memory,
    MemoryId,
    MemoryType,
    NewEvent,
    dumps,
)
from core.store.batches import Batch, BatchLog
from core.store.clock import Clock
from core.store.counters import Counters, MediaTotals
from core.store.events import EventLog
from core.store.fts import STOPWORDS, fts_query
from core.store.rows import MEMORY_COLUMNS, fetch_memory, history_from_row, memory_from_row
from core.store.runs import ConsolidationRun, RunLog
from core.store.schema import open_ledger_db
from core.store.write import StoreWrite

__all__ = ["STOPWORDS", "Ledger", "fts_query"]


class Ledger:
    def __init__(self, path: Path, *, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.RLock()
        self._db = open_ledger_db(path)
        self._events = EventLog(self._db, clock)
        self._batches = BatchLog(self._db, clock)
        self._counters = Counters(self._db)
        self._runs = RunLog(self._db, clock)
        self._writing = False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the unit of work -------------------------------------------------------------
    @contextmanager
    def write(self, actor: str = "system") -> Iterator[StoreWrite]:
        """One atomic unit of work: everything done through the yielded
        :class:`StoreWrite` commits together or not at all. ``actor`` is who the history
        rows of its memory changes name (a change may name another)."""
        with self._lock:
            if self._writing:
                raise StoreError(f"{self.path}: a write is already open on this thread")
            self._db.execute("BEGIN IMMEDIATE")
            self._writing = True
            try:
                yield StoreWrite(
                    self._db, self._clock, actor, self._events, self._batches, self._counters
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                try:
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            finally:
                self._writing = False

    @property
    def writing(self) -> bool:
        """Whether a unit of work is open now (on any thread)."""
        return self._writing

    # -- events -------------------------------------------------------------------
    def append_events(self, events: Sequence[NewEvent]) -> list[EventId]:
        """Append events in one transaction (all or none); they start as pending."""
        with self.write() as tx:
            return tx.events.append(events, skip_known=False)[0]

    def append_new_events(self, events: Sequence[NewEvent]) -> tuple[list[EventId], int]:
        """Append, in one transaction, the events not already in the log (same kind,
        time, speaker, source and text); returns the new ids and how many were skipped."""
        with self.write() as tx:
            return tx.events.append(events, skip_known=True)

    def pending_events(self, limit: int = 1000) -> list[Event]:
        with self._lock:
            return self._events.pending(limit)

    def events(self, ids: Sequence[EventId]) -> list[Event]:
        with self._lock:
            return self._events.get(ids)

    def events_since(self, moment: datetime | None) -> list[Event]:
        """Every event that occurred at or after ``moment`` (None: the whole log)."""
        with self._lock:
            return self._events.since(moment)

    def count_events(self) -> dict[str, int]:
        with self._lock:
            return self._events.counts()

    # -- batches ------------------------------------------------------------------
    def pending_batches(self) -> list[Batch]:
        with self._lock:
            return self._batches.pending()

    def all_batches(self) -> list[Batch]:
        with self._lock:
            return self._batches.all()

    def count_batches(self) -> dict[str, int]:
        with self._lock:
            return self._batches.counts()

    # -- memories -----------------------------------------------------------------
    def get(self, memory_id: MemoryId) -> Memory:
        with self._lock:
            return fetch_memory(self._db, memory_id)

    def get_many(self, ids: Sequence[MemoryId]) -> dict[MemoryId, Memory]:
        if not ids:
            return {}
        with self._lock:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE id IN ({marks})", tuple(ids)
            ).fetchall()
        return {MemoryId(r["id"]): memory_from_row(r) for r in rows}

    def list_memories(
        self, memory_type: MemoryType | None = None, include_inactive: bool = False
    ) -> list[Memory]:
        clauses, args = [], []
        if memory_type is not None:
            clauses.append("type = ?")
            args.append(memory_type.value)
        if not include_inactive:
            clauses.append("status = 'active'")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories {where}"
                " ORDER BY COALESCE(event_time, created_at), rowid",
                tuple(args),
            ).fetchall()
        return [memory_from_row(r) for r in rows]

    def count_memories(self, statuses: Sequence[str] = ("active",)) -> dict[MemoryType, int]:
        marks = ",".join("?" * len(statuses))
        with self._lock:
            rows = self._db.execute(
                f"SELECT type, COUNT(*) FROM memories WHERE status IN ({marks}) GROUP BY type",
                tuple(statuses),
            ).fetchall()
        counts = {t: 0 for t in MemoryType}
        counts.update({MemoryType(r[0]): r[1] for r in rows})
        return counts

    def memories_in_order(self, types: Sequence[MemoryType]) -> list[Memory]:
        """Every memory of ``types``, any status, in the order they were written (an
        archive keeps that order, so an import lists them as the source did)."""
        if not types:
            return []
        marks = ",".join("?" * len(types))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE type IN ({marks}) ORDER BY rowid",
                tuple(t.value for t in types),
            ).fetchall()
        return [memory_from_row(r) for r in rows]

    def history(self, memory_id: MemoryId) -> list[HistoryRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM history WHERE memory_id = ? ORDER BY id", (memory_id,)
            ).fetchall()
        return [history_from_row(r) for r in rows]

    def lexical_search(
        self,
        query: str,
        memory_type: MemoryType,
        limit: int,
        statuses: Sequence[str] = ("active",),
    ) -> list[tuple[MemoryId, float]]:
        """BM25 over memories of one type (active ones unless ``statuses`` says more),
        best first (score: higher is better)."""
        match = fts_query(query)
        if not match:
            return []
        marks = ",".join("?" * len(statuses))
        with self._lock:
            rows = self._db.execute(
                "SELECT m.id, bm25(memories_fts) AS rank FROM memories_fts"
                " JOIN memories m ON m.rowid = memories_fts.rowid"
                f" WHERE memories_fts MATCH ? AND m.type = ? AND m.status IN ({marks})"
                " ORDER BY rank LIMIT ?",
                (match, memory_type.value, *statuses, limit),
            ).fetchall()
        return [(MemoryId(r[0]), -float(r[1])) for r in rows]

    def episodic_by_events(self, event_ids: Sequence[EventId]) -> dict[EventId, Memory]:
        """Active raw episodic memories recorded from exactly one of ``event_ids``
        (the turns next to a hit, for neighbour expansion)."""
        if not event_ids:
            return {}
        keys = [dumps([int(i)]) for i in event_ids]
        with self._lock:
            marks = ",".join("?" * len(keys))
            rows = self._db.execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE type = 'episodic'"
                f" AND status = 'active' AND source_event_ids IN ({marks})",
                tuple(keys),
            ).fetchall()
        found = [memory_from_row(r) for r in rows]
        return {m.source_event_ids[0]: m for m in found}

    def episodic_actors(self) -> list[str]:
        """Everyone who speaks in episodic memory (for speaker-aware retrieval)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT json_extract(fields, '$.actor') FROM memories"
                " WHERE type = 'episodic' AND status = 'active'"
            ).fetchall()
        return sorted(r[0] for r in rows if r[0])

    def record_access(self, ids: Sequence[MemoryId]) -> None:
        """Count a recall of each memory (one short write through the memory writer)."""
        if not ids:
            return
        with self.write() as tx:
            tx.memories.record_access(ids)

    # -- consolidation runs -------------------------------------------------------------
    def consolidation_run(self, run_id: str) -> ConsolidationRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def last_consolidation(self) -> ConsolidationRun | None:
        with self._lock:
            return self._runs.last_done()

    def consolidation_runs(self) -> list[ConsolidationRun]:
        with self._lock:
            return self._runs.all()

    def marks(self) -> tuple[int, int]:
        """The newest event id and history row id now (a run's high-water marks)."""
        with self._lock:
            return self._runs.marks()

    def history_tagged(self, actor: str, tag: str) -> list[HistoryRow]:
        """History rows by ``actor`` whose reason ends with ``tag``, oldest first (what one
        consolidation run changed)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM history WHERE actor = ? AND substr(reason, -?) = ? ORDER BY id",
                (actor, len(tag), tag),
            ).fetchall()
        return [history_from_row(r) for r in rows]

    def changed_since(self, history_id: int) -> list[Memory]:
        """Memories with a history row after ``history_id`` (as they are now)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE id IN"
                " (SELECT DISTINCT memory_id FROM history WHERE id > ?) ORDER BY rowid",
                (history_id,),
            ).fetchall()
        return [memory_from_row(r) for r in rows]

    def last_history_id(self, memory_id: MemoryId) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(MAX(id), 0) FROM history WHERE memory_id = ?", (memory_id,)
            ).fetchone()
        return int(row[0])

    def recorded_frame_ids(self) -> set[str]:
        """Frames whose OCR text is in the ledger (their screen event was recorded)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT json_extract(payload, '$.frame_id') FROM events WHERE kind = 'screen'"
                " AND status = 'processed' AND json_extract(payload, '$.frame_id') IS NOT NULL"
            ).fetchall()
        return {str(r[0]) for r in rows}

    # -- the desktop app --------------------------------------------------------------
    def events_between(
        self,
        start: datetime | None,
        end: datetime | None,
        kind: EventKind | None = None,
        source: str | None = None,
        limit: int = 100_000,
    ) -> list[Event]:
        """Events that occurred in ``[start, end)``, oldest first (the timeline)."""
        with self._lock:
            return self._events.between(start, end, kind, source, limit)

    def memories_from_events(self, event_ids: Sequence[EventId]) -> list[Memory]:
        """Every memory (any status) with at least one of ``event_ids`` as a source."""
        if not event_ids:
            return []
        found: dict[str, Memory] = {}
        ids = [int(i) for i in event_ids]
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT {MEMORY_COLUMNS} FROM memories WHERE EXISTS (SELECT 1 FROM"
                    f" json_each(memories.source_event_ids) WHERE value IN ({marks}))",
                    tuple(chunk),
                ).fetchall()
                for row in rows:
                    found.setdefault(row["id"], memory_from_row(row))
        return list(found.values())

    # -- index bookkeeping ----------------------------------------------------------
    def pending_index(self) -> list[Memory]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE index_pending = 1"
            ).fetchall()
        return [memory_from_row(r) for r in rows]

    def mark_indexed(self, ids: Sequence[MemoryId]) -> None:
        with self.write() as tx:
            tx.memories.mark_indexed(ids)

    def mark_all_unindexed(self) -> None:
        with self.write() as tx:
            tx.memories.mark_all_unindexed()

    # -- counters and size ------------------------------------------------------------
    def media_totals(self) -> MediaTotals | None:
        """Captured frames kept on disk, as counted by the media store; None for a store
        that has never counted them (one from before the counters)."""
        with self._lock:
            return self._counters.media()

    def count_media(self, files: int, size: int) -> None:
        """The media store wrote (+1 file, +bytes) or deleted (negative) frames."""
        with self.write() as tx:
            tx.counters.add_media(files, size)

    def set_media_totals(self, totals: MediaTotals) -> None:
        """Start the media totals from a count of the folder (once, for an old store)."""
        with self.write() as tx:
            tx.counters.set_media(totals)

    def file_bytes(self) -> int:
        """The size of the ledger's files on disk (the database, its WAL and shm)."""
        files = [self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))]
        return sum(f.stat().st_size for f in files if f.exists())

    # -- maintenance ------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Fold the WAL into the database file and truncate it (after a redaction)."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def integrity_check(self) -> str:
        with self._lock:
            try:
                return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: {exc}") from None
