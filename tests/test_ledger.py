import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.records import EventKind, MemoryStatus, MemoryType, NewEvent, NewMemory, utcnow
from core.store.ledger import Ledger, fts_query

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    opened = Ledger(tmp_path / "ledger.sqlite3", clock=utcnow)
    yield opened
    opened.close()


def test_wal_mode_and_tables(ledger: Ledger) -> None:
    db = sqlite3.connect(ledger.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"events", "memories", "history", "memories_fts"} <= tables


def test_every_type_round_trips_with_common_fields(ledger: Ledger) -> None:
    with ledger.write(actor="test") as tx:
        for memory_type in MemoryType:
            tx.memories.add(
                NewMemory(memory_type, f"a {memory_type.value} memory", T0, (), {"k": "v"}),
                reason="round trip",
            )
    listed = ledger.list_memories()
    assert {m.type for m in listed} == set(MemoryType)
    for memory in listed:
        assert memory.id.startswith(memory.type.id_prefix + "-")
        assert memory.version == 1 and memory.status is MemoryStatus.ACTIVE
        assert memory.event_time == T0 and memory.fields == {"k": "v"}
        assert memory.strength == 1.0 and memory.access_count == 0
        assert [h.op for h in ledger.history(memory.id)] == ["ADD"]
    assert ledger.count_memories()[MemoryType.VAULT] == 1


def test_event_log_is_append_only_and_pending(ledger: Ledger) -> None:
    ids = ledger.append_events(
        [
            NewEvent(EventKind.CHAT, "hello", T0, "Ann"),
            NewEvent(EventKind.CHAT, "again", T0, "Ann"),
        ]
    )
    assert ids == sorted(ids)
    assert [e.text for e in ledger.pending_events()] == ["hello", "again"]
    assert ledger.count_events() == {"pending": 2}


def test_failed_transaction_changes_nothing(ledger: Ledger) -> None:
    with pytest.raises(RuntimeError), ledger.write(actor="t") as tx:
        tx.memories.add(NewMemory(MemoryType.SEMANTIC, "x", None, ()), "r")
        raise RuntimeError("boom")
    assert ledger.list_memories() == []
    assert sqlite3.connect(ledger.path).execute("SELECT COUNT(*) FROM history").fetchone()[0] == 0


def test_fts5_finds_words_and_ignores_syntax(ledger: Ledger) -> None:
    with ledger.write(actor="t") as tx:
        kept = tx.memories.add(
            NewMemory(MemoryType.EPISODIC, "Ann adopted a greyhound named Comet", T0, ()), "r"
        )
        tx.memories.add(
            NewMemory(MemoryType.EPISODIC, "Bob repaired the kitchen sink", T0, ()), "r"
        )
    hits = ledger.lexical_search('what did Ann adopt? "greyhound" OR (', MemoryType.EPISODIC, 5)
    assert [h[0] for h in hits] == [kept.id]
    assert ledger.lexical_search("the of and", MemoryType.EPISODIC, 5) == []
    assert fts_query('a "quoted" NEAR(x)') == '"quoted" OR "near" OR "x"'
