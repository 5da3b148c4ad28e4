"""The ledger's tables and how a connection to it is opened.

Schema 2 adds ``counters`` (running totals such as the media kept, so status never walks
the media folder). A store of schema 1 is upgraded in place on open: the new table is
created empty and the service counts the media once (see ``Ledger.media_totals``).
Schema 3 adds ``consolidation_runs`` (the registry of sleep-time consolidation runs: their
high-water marks and reports, see core/store/runs.py), created empty on open likewise.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.errors import StoreError

SCHEMA_VERSION = 3

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

CREATE TABLE IF NOT EXISTS counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS consolidation_runs (
    id               TEXT PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    status           TEXT NOT NULL DEFAULT 'running',
    last_event_id    INTEGER NOT NULL DEFAULT 0,
    last_history_id  INTEGER NOT NULL DEFAULT 0,
    report           TEXT NOT NULL DEFAULT '{}'
);

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


def open_ledger_db(path: Path) -> sqlite3.Connection:
    """One connection in autocommit mode (the store issues BEGIN itself), WAL journal,
    the tables created or upgraded; refuses a file a newer Rememora wrote."""
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        # freed pages are zeroed, so a redacted vault value does not linger in the file
        db.execute("PRAGMA secure_delete=ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            db.close()
            raise StoreError(
                f"{path} was written by a newer Rememora (schema {version}); upgrade first"
            )
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a usable Rememora ledger ({exc})") from None
    return db
