"""The store's unit of work on the real ledger: times from the injected clock, one write
at a time, counters, the schema upgrade; and on the real service and embedder: no model
runs while a write is open, so a status read never waits for a record step."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import StoreError
from core.health import StatusReport
from core.ingest.batch_extraction import BatchExtraction
from core.ingest.pipeline import IngestReport, apply_extraction
from core.ingest.reconcile import Reconciler
from core.ingest.type_extractors import Candidate
from core.records import EventKind, MemoryType, NewEvent, NewMemory
from core.service import Service
from core.store.counters import MediaTotals
from core.store.ledger import Ledger
from core.store.schema import SCHEMA_VERSION

T0 = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)
LATER = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


class Clock:
    """A settable clock, as an evaluation replaying a conversation gives the service."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_every_stored_time_comes_from_the_injected_clock(tmp_path: Path) -> None:
    clock = Clock(T0)
    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=clock)
    try:
        [event] = ledger.append_events([NewEvent(EventKind.CHAT, "hi", T0, "Ann")])
        with ledger.write(actor="test") as tx:
            memory = tx.memories.add(NewMemory(MemoryType.SEMANTIC, "Ann says hi", None, ()), "r")
            tx.batches.insert([event])
        clock.now = LATER
        with ledger.write(actor="test") as tx:
            updated = tx.memories.update(memory, "Ann says hello", {}, (event,), "merged")
        ledger.record_access([memory.id])
        assert memory.created_at == memory.updated_at == T0
        assert updated.created_at == T0 and updated.updated_at == LATER
        assert [h.at for h in ledger.history(memory.id)] == [T0, LATER]
        assert ledger.get(memory.id).last_accessed_at == LATER
        with sqlite3.connect(ledger.path) as db:
            assert (
                db.execute("SELECT recorded_at FROM events").fetchone()[0].startswith("2024-05-03")
            )
            assert (
                db.execute("SELECT created_at FROM batches").fetchone()[0].startswith("2024-05-03")
            )
    finally:
        ledger.close()


def test_one_write_at_a_time_and_a_failed_one_leaves_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=lambda: T0)
    try:
        assert not ledger.writing
        with ledger.write(actor="test") as tx:
            assert ledger.writing
            tx.memories.add(NewMemory(MemoryType.SEMANTIC, "kept", None, ()), "r")
            with pytest.raises(StoreError, match="already open"), ledger.write():
                pass
        assert not ledger.writing
        with pytest.raises(RuntimeError), ledger.write(actor="test") as tx:
            tx.memories.add(NewMemory(MemoryType.SEMANTIC, "dropped", None, ()), "r")
            tx.batches.insert([])
            raise RuntimeError("boom")
        assert [m.text for m in ledger.list_memories()] == ["kept"]
        assert ledger.all_batches() == [] and not ledger.writing
    finally:
        ledger.close()


def test_media_totals_are_counted_and_an_old_store_has_none(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path, clock=lambda: T0)
    assert ledger.media_totals() is None  # never counted: the service counts the folder
    ledger.set_media_totals(MediaTotals(2, 300))
    ledger.count_media(1, 50)
    ledger.count_media(-2, -250)
    assert ledger.media_totals() == MediaTotals(1, 100)
    ledger.close()
    with sqlite3.connect(path) as db:  # what a store of schema 1 looks like
        db.execute("DROP TABLE counters")
        db.execute("PRAGMA user_version=1")
    reopened = Ledger(path, clock=lambda: T0)
    try:
        assert reopened.media_totals() is None
    finally:
        reopened.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer Rememora"):
        Ledger(path, clock=lambda: T0)


class WatchedEmbedder:
    """The real embedder; each call notes whether the store had a write open, and while
    ``hold`` is set a call stands still until ``release`` (a record step caught in the
    middle of embedding)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.store: Ledger | None = None
        self.during_write: list[bool] = []
        self.texts: list[str] = []
        self.hold = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.store is not None:
            self.during_write.append(self.store.writing)
        self.texts.extend(texts)
        if self.hold:
            self.entered.set()
            self.release.wait(120)
        return self.inner.embed(texts)


def test_status_reads_while_a_record_step_embeds(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    watched = WatchedEmbedder(embedder)
    with Service(data_dir, embedder=watched) as service:
        for i in range(5):
            service.add_chat_turn("Ann", f"Turn number {i} about the garden.", T0)
        watched.hold = True
        recorder = threading.Thread(target=service.record_events)
        recorder.start()
        try:
            assert watched.entered.wait(120), "the record step never reached the embedder"
            read: list[StatusReport] = []
            reader = threading.Thread(target=lambda: read.append(service.status()))
            reader.start()
            reader.join(timeout=30)
            assert not reader.is_alive(), "status waited for the record step"
            assert read[0].events == {"pending": 5}
        finally:
            watched.hold = False
            watched.release.set()
            recorder.join(120)
        assert service.status().events == {"processed": 5}
        assert len(service.list_memories(MemoryType.EPISODIC)) == 5


def test_no_model_call_while_a_write_is_open(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    watched = WatchedEmbedder(embedder)
    with Service(data_dir, embedder=watched) as service:
        watched.store = service.store
        reconciler = Reconciler(
            service.store, service.runtime.index, watched, service.runtime.cipher
        )

        def extract(text: str, *candidates: Candidate) -> IngestReport:
            event = service.add_chat_turn("Alice", text, T0)
            service.record_events()
            batch = service.store.pending_batches()[-1]
            sourced = tuple(
                Candidate(c.type, c.text, c.key, (event,), T0, c.fields, c.sensitivity, c.secret)
                for c in candidates
            )
            report = IngestReport()
            apply_extraction(
                service.store, reconciler, batch.id, BatchExtraction((), (), sourced), report
            )
            service.record_events()  # index what reconcile wrote
            return report

        def core(statement: str) -> Candidate:
            return Candidate(MemoryType.CORE, statement, "human", (), None, {"block": "human"})

        def fact(value: str) -> Candidate:
            return Candidate(
                MemoryType.SEMANTIC,
                f"Alice lives in {value}.",
                "alice|city",
                (),
                T0,
                {"subject": "Alice", "attribute": "city", "value": value},
            )

        first = extract(
            "I live in Lisbon and I like tea. My wifi password is tr0ub4dor&3.",
            fact("Lisbon"),
            Candidate(MemoryType.SEMANTIC, "Alice likes green tea.", "", (), T0, {}),
            Candidate(MemoryType.SEMANTIC, "Alice likes green tea a lot.", "", (), T0, {}),
            core("The user is a vegetarian. The user lives in Lisbon."),
            Candidate(
                MemoryType.VAULT,
                "Alice's wifi password (credential)",
                "credential|alice s wifi password",
                (),
                T0,
                {"label": "Alice's wifi password", "vault_type": "credential"},
                "high",
                "tr0ub4dor&3",
            ),
        )
        assert first.ops[("ADD", "semantic")] >= 2 and first.ops[("ADD", "core")] == 1
        # filed once: as the event was recorded (the write path), so extraction's own
        # candidate for the same value is a NOOP
        assert first.ops[("ADD", "vault")] + first.ops[("NOOP", "vault")] == 1
        second = extract(
            "I moved to Porto. I cycle to work.",
            fact("Porto"),
            core("The user cycles to work every day."),
        )
        assert second.ops == {("SUPERSEDE", "semantic"): 1, ("UPDATE", "core"): 1}
        assert watched.during_write and not any(watched.during_write)


def test_a_text_made_inside_the_write_is_embedded_outside_it(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A core block cut to its cap ends in a sentence no candidate said; the next core
    candidate of the same batch compares with it, so the write rolls back, that sentence
    is embedded with no write open, and the write runs again."""
    watched = WatchedEmbedder(embedder)
    with Service(data_dir, embedder=watched) as service:
        watched.store = service.store
        event = service.add_chat_turn("Alice", "All about my hobbies.", T0)
        service.record_events()
        [batch] = service.store.pending_batches()
        long = "The user likes " + ", ".join(f"hobby {n}" for n in range(120)) + "."
        candidates = tuple(
            Candidate(MemoryType.CORE, text, "human", (event,), None, {"block": "human"})
            for text in (long, "The user drinks black coffee every morning.")
        )
        report = IngestReport()
        apply_extraction(
            service.store,
            Reconciler(service.store, service.runtime.index, watched, service.runtime.cipher),
            batch.id,
            BatchExtraction((), (), candidates),
            report,
        )
        assert report.ops == {("ADD", "core"): 1, ("UPDATE", "core"): 1}
        [human] = [
            m for m in service.list_memories(MemoryType.CORE) if m.fields["block"] == "human"
        ]
        assert len(human.text) <= 600 and "black coffee" in human.text
        assert any(text.endswith("…") for text in watched.texts)  # the cut sentence
        assert not any(watched.during_write)
        assert [h.op for h in service.history(human.id)] == ["ADD", "UPDATE"]  # one write


def test_a_record_step_skips_events_another_recorder_took(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Between embedding and the write, another recorder (an ask, say) records the same
    events: the first one finds them taken and writes nothing twice."""

    class Racing(WatchedEmbedder):
        def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
            super().__init__(inner)
            self.service: Service | None = None

        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            vectors = super().embed(texts)
            service, self.service = self.service, None
            if service is not None:
                service.record_events()  # the other recorder, while this one is embedding
            return vectors

    racing = Racing(embedder)
    with Service(data_dir, embedder=racing) as service:
        for i in range(3):
            service.add_chat_turn("Ann", f"Turn {i} about the race.", T0)
        racing.service = service
        report = service.record_events()
        assert report.events == 0  # the other recorder recorded all three
        raw = service.list_memories(MemoryType.EPISODIC)
        assert sorted(m.text for m in raw) == [f"Ann: Turn {i} about the race." for i in range(3)]
        assert len(service.store.all_batches()) >= 1
        assert sorted(e for b in service.store.all_batches() for e in b.event_ids) == sorted(
            e for m in raw for e in m.source_event_ids
        )
