"""One unit of work on the store: what :meth:`Ledger.write` hands out.

Everything done through it commits together or not at all. It offers typed verbs per
table — ``memories`` (the one memory writer, with history), ``events``, ``batches``,
``counters``, ``runs`` (consolidation runs) — and never the connection itself. Keep it short: no model call belongs inside one (embed
first, then open the write), because reads from other threads wait for it.
"""

from __future__ import annotations

import sqlite3

from core.store.batches import BatchLog
from core.store.clock import Clock
from core.store.counters import Counters
from core.store.events import EventLog
from core.store.runs import RunLog
from core.store.writer import MemoryWriter


class StoreWrite:
    def __init__(
        self,
        db: sqlite3.Connection,
        clock: Clock,
        actor: str,
        events: EventLog,
        batches: BatchLog,
        counters: Counters,
    ) -> None:
        self._db = db
        self.actor = actor
        self.memories = MemoryWriter(db, clock, actor)
        self.events = events
        self.batches = batches
        self.counters = counters
        self.runs = RunLog(db, clock)

    def compact_text_index(self) -> None:
        """Merge the FTS5 index's segments, so text just redacted out of memories does
        not linger in old segments of the index."""
        self._db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
