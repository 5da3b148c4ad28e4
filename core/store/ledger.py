"""The SQLite ledger: the append-only event log, memory rows of all six types, the
history of every memory change, and an FTS5 index over memory text.

The ledger is the system of record; the Chroma index is derived from it and can be
rebuilt at any time. All access goes through one connection guarded by a lock, so the
GUI's worker threads and the CLI share one code path.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from core.errors import MemoryNotFoundError, StoreError
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
    NewEvent,
    NewMemory,
    dumps,
    from_iso,
    to_iso,
    utcnow,
)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    text         TEXT NOT NULL,
    speaker      TEXT,
    source       TEXT NOT NULL DEFAULT '',
    payload      TEXT NOT NULL DEFAULT '{}',
    occurred_at  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX IF NOT EXISTS events_status ON events(status, id);
CREATE INDEX IF NOT EXISTS events_occurred ON events(occurred_at);

CREATE TABLE IF NOT EXISTS memories (
    id               TEXT PRIMARY KEY,
    type             TEXT NOT NULL,
    text             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    event_time       TEXT,
    source_event_ids TEXT NOT NULL DEFAULT '[]',
    importance       REAL NOT NULL DEFAULT 0.5,
    strength         REAL NOT NULL DEFAULT 1.0,
    access_count     INTEGER NOT NULL DEFAULT 0,
    last_accessed_at TEXT,
    version          INTEGER NOT NULL DEFAULT 1,
    status           TEXT NOT NULL DEFAULT 'active',
    sensitivity      TEXT NOT NULL DEFAULT 'normal',
    fields           TEXT NOT NULL DEFAULT '{}',
    successor_id     TEXT,
    index_pending    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS memories_type ON memories(type, status);
CREATE INDEX IF NOT EXISTS memories_time ON memories(event_time);
CREATE INDEX IF NOT EXISTS memories_index_pending ON memories(index_pending) WHERE index_pending = 1;

CREATE TABLE IF NOT EXISTS history (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id        TEXT NOT NULL,
    op               TEXT NOT NULL,
    before           TEXT,
    after            TEXT,
    actor            TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    source_event_ids TEXT NOT NULL DEFAULT '[]',
    at               TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_memory ON history(memory_id, id);

CREATE TABLE IF NOT EXISTS batches (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_ids        TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    routed_by_model  TEXT NOT NULL DEFAULT '[]',
    routed_by_rules  TEXT NOT NULL DEFAULT '[]',
    ops              TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_status ON batches(status, id);

CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
    text, content='memories', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS memories_ai AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS memories_ad AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER IF NOT EXISTS memories_au AFTER UPDATE OF text ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO memories_fts(rowid, text) VALUES (new.rowid, new.text);
END;
"""

_MEMORY_COLUMNS = (
    "id, type, text, created_at, updated_at, event_time, source_event_ids, importance, "
    "strength, access_count, last_accessed_at, version, status, sensitivity, fields, successor_id"
)


def _opt_time(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def _memory_from_row(row: sqlite3.Row) -> Memory:
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


def _event_from_row(row: sqlite3.Row) -> Event:
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


STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "tell",
        "know",
        "remember",
        "say",
        "said",
    ]
)


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression: each content word of ``text`` as a quoted term, OR-ed,
    so user text can never be parsed as FTS syntax."""
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words) if w not in STOPWORDS)


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # freed pages are zeroed, so a redacted vault value does not linger in the file
            self._db.execute("PRAGMA secure_delete=ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{path} was written by a newer Rememora (schema {version}); upgrade first"
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a usable Rememora ledger ({exc})") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: everything inside commits together or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- events -------------------------------------------------------------------
    def append_events(self, events: Sequence[NewEvent]) -> list[EventId]:
        """Append events in one transaction (all or none); they start as pending."""
        return self._append(events, skip_known=False)[0]

    def append_new_events(self, events: Sequence[NewEvent]) -> tuple[list[EventId], int]:
        """Append, in one transaction, the events not already in the log (same kind,
        time, speaker, source and text); returns the new ids and how many were skipped."""
        return self._append(events, skip_known=True)

    def _append(self, events: Sequence[NewEvent], skip_known: bool) -> tuple[list[EventId], int]:
        now = to_iso(utcnow())
        ids: list[EventId] = []
        skipped = 0
        with self.transaction() as db:
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
                    and db.execute(
                        "SELECT 1 FROM events WHERE kind = ? AND text = ? AND speaker IS ? AND "
                        "source = ? AND occurred_at = ? LIMIT 1",
                        row,
                    ).fetchone()
                ):
                    skipped += 1
                    continue
                cursor = db.execute(
                    "INSERT INTO events(kind, text, speaker, source, payload, occurred_at, recorded_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*row[:4], dumps(event.payload), row[4], now),
                )
                ids.append(EventId(int(cursor.lastrowid or 0)))
        return ids, skipped

    def pending_events(self, limit: int = 1000) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM events WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [_event_from_row(r) for r in rows]

    def events(self, ids: Sequence[EventId]) -> list[Event]:
        with self._lock:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(
                f"SELECT * FROM events WHERE id IN ({marks}) ORDER BY id", tuple(ids)
            ).fetchall()
        return [_event_from_row(r) for r in rows]

    def count_events(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT status, COUNT(*) FROM events GROUP BY status"
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    @staticmethod
    def mark_events_processed(db: sqlite3.Connection, ids: Sequence[EventId]) -> None:
        db.executemany(
            "UPDATE events SET status = 'processed', attempts = attempts + 1 WHERE id = ?",
            [(i,) for i in ids],
        )

    # -- memories -----------------------------------------------------------------
    @staticmethod
    def new_memory_id(memory_type: MemoryType) -> MemoryId:
        return MemoryId(f"{memory_type.id_prefix}-{secrets.token_hex(5)}")

    def insert_memory(
        self, db: sqlite3.Connection, new: NewMemory, actor: str, reason: str
    ) -> Memory:
        """Insert a memory and its ADD history row; call inside :meth:`transaction`."""
        memory_id = self.new_memory_id(new.type)
        now = to_iso(utcnow())
        db.execute(
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
        memory = self._get(db, memory_id)
        self.write_history(db, memory_id, "ADD", None, memory, actor, reason, new.source_event_ids)
        return memory

    @staticmethod
    def write_history(
        db: sqlite3.Connection,
        memory_id: MemoryId,
        op: str,
        before: Memory | None,
        after: Memory | None,
        actor: str,
        reason: str,
        source_event_ids: Sequence[EventId],
    ) -> None:
        db.execute(
            "INSERT INTO history(memory_id, op, before, after, actor, reason, source_event_ids, at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                memory_id,
                op,
                dumps(before.to_json()) if before else None,
                dumps(after.to_json()) if after else None,
                actor,
                reason,
                dumps(list(source_event_ids)),
                to_iso(utcnow()),
            ),
        )

    def _get(self, db: sqlite3.Connection, memory_id: MemoryId) -> Memory:
        row = db.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE id = ?", (memory_id,)
        ).fetchone()
        if row is None:
            raise MemoryNotFoundError(memory_id)
        return _memory_from_row(row)

    def get_in(self, db: sqlite3.Connection, memory_id: MemoryId) -> Memory:
        """A memory as the open transaction ``db`` sees it (its own writes included)."""
        return self._get(db, memory_id)

    @staticmethod
    def find_active_by_field(
        db: sqlite3.Connection, memory_type: MemoryType, name: str, value: str
    ) -> list[Memory]:
        rows = db.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE type = ? AND status = 'active'"
            " AND json_extract(fields, '$.' || ?) = ? ORDER BY rowid",
            (memory_type.value, name, value),
        ).fetchall()
        return [_memory_from_row(r) for r in rows]

    def get(self, memory_id: MemoryId) -> Memory:
        with self._lock:
            return self._get(self._db, memory_id)

    def get_many(self, ids: Sequence[MemoryId]) -> dict[MemoryId, Memory]:
        if not ids:
            return {}
        with self._lock:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(
                f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE id IN ({marks})", tuple(ids)
            ).fetchall()
        return {MemoryId(r["id"]): _memory_from_row(r) for r in rows}

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
                f"SELECT {_MEMORY_COLUMNS} FROM memories {where}"
                " ORDER BY COALESCE(event_time, created_at), rowid",
                tuple(args),
            ).fetchall()
        return [_memory_from_row(r) for r in rows]

    def count_memories(self) -> dict[MemoryType, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT type, COUNT(*) FROM memories WHERE status = 'active' GROUP BY type"
            ).fetchall()
        counts = {t: 0 for t in MemoryType}
        counts.update({MemoryType(r[0]): r[1] for r in rows})
        return counts

    def history(self, memory_id: MemoryId) -> list[HistoryRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM history WHERE memory_id = ? ORDER BY id", (memory_id,)
            ).fetchall()
        return [
            HistoryRow(
                id=r["id"],
                memory_id=MemoryId(r["memory_id"]),
                op=r["op"],
                before=json.loads(r["before"]) if r["before"] else None,
                after=json.loads(r["after"]) if r["after"] else None,
                actor=r["actor"],
                reason=r["reason"],
                source_event_ids=tuple(EventId(i) for i in json.loads(r["source_event_ids"])),
                at=from_iso(r["at"]),
            )
            for r in rows
        ]

    def lexical_search(
        self, query: str, memory_type: MemoryType, limit: int
    ) -> list[tuple[MemoryId, float]]:
        """BM25 over active memories of one type, best first (score: higher is better)."""
        match = fts_query(query)
        if not match:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT m.id, bm25(memories_fts) AS rank FROM memories_fts"
                " JOIN memories m ON m.rowid = memories_fts.rowid"
                " WHERE memories_fts MATCH ? AND m.type = ? AND m.status = 'active'"
                " ORDER BY rank LIMIT ?",
                (match, memory_type.value, limit),
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
                f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE type = 'episodic'"
                f" AND status = 'active' AND source_event_ids IN ({marks})",
                tuple(keys),
            ).fetchall()
        found = [_memory_from_row(r) for r in rows]
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
        if not ids:
            return
        now = to_iso(utcnow())
        with self.transaction() as db:
            db.executemany(
                "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ?"
                " WHERE id = ?",
                [(now, i) for i in ids],
            )

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

    # -- index bookkeeping ----------------------------------------------------------
    def pending_index(self) -> list[Memory]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE index_pending = 1"
            ).fetchall()
        return [_memory_from_row(r) for r in rows]

    def mark_indexed(self, ids: Sequence[MemoryId]) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE memories SET index_pending = 0 WHERE id = ?", [(i,) for i in ids]
            )

    def mark_all_unindexed(self) -> None:
        with self.transaction() as db:
            db.execute("UPDATE memories SET index_pending = 1")
