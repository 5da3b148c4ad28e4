"""The core verbs behind the desktop app, on a real store (the demo data: chat turns,
drawn screen frames, raw records, typed memories, a vault entry; real Chroma and
embedder, no LLM): browsing with hybrid search and filters, the user's edits, pins and
deletes (history with actor ``user``, the index follows), the ask log, deleting a time
range, the timeline, insights (consolidation runs among them), confirming or rejecting a
fact consolidation held, and saving settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.answering.answer import Answer
from core.consolidate.report import ConsolidationReport
from core.desktop import MemoryQuery, RunPoint, filter_and_sort, is_held, is_pinned
from core.errors import RememoraError, SettingsError
from core.records import EventKind, Memory, MemoryStatus, MemoryType
from core.service import Service
from core.settings import load_settings
from tests.held_facts import T0, fact, finished_run, hold


@pytest.fixture
def demo(service: Service) -> Service:
    service.fill_demo()
    return service


def _one(service: Service, memory_type: MemoryType, word: str):  # type: ignore[no-untyped-def]
    return next(m for m in service.list_memories(memory_type) if word in m.text)


def test_browse_searches_with_hybrid_retrieval_and_filters(demo: Service) -> None:
    found = demo.browse_memories(MemoryQuery(MemoryType.SEMANTIC, text="who has my spare key"))
    assert found and "Priya" in found[0].text
    everything = demo.browse_memories(MemoryQuery(MemoryType.EPISODIC, sort="oldest"))
    times = [m.event_time or m.created_at for m in everything]
    assert times == sorted(times) and len(everything) > 5
    screens = demo.browse_memories(MemoryQuery(MemoryType.EPISODIC, sources=frozenset({"screen"})))
    assert screens and all(
        any(e.kind is EventKind.SCREEN for e in demo.events(list(m.source_event_ids)))
        for m in screens
    )
    assert len(screens) < len(everything)
    strong = demo.browse_memories(MemoryQuery(MemoryType.EPISODIC, min_strength=5.0))
    assert strong == []
    with pytest.raises(RememoraError, match="unknown sort"):
        MemoryQuery(MemoryType.SEMANTIC, sort="size")


def test_edit_is_a_user_version_in_history_and_the_index(demo: Service) -> None:
    memory = _one(demo, MemoryType.SEMANTIC, "Okafor")
    edited = demo.edit_memory(memory.id, memory.text.replace("9:30", "10:00"), "moved")
    assert edited.version == memory.version + 1 and "10:00" in edited.text
    last = demo.history(memory.id)[-1]
    assert (last.op, last.actor, last.reason) == ("UPDATE", "user", "moved")
    assert last.before is not None and "9:30" in str(last.before["text"])
    hits = demo.search("dentist appointment 10:00")
    assert any(h.memory.id == memory.id and "10:00" in h.memory.text for h in hits)
    with pytest.raises(RememoraError, match="needs some text"):
        demo.edit_memory(memory.id, "   ")
    assert demo.get(memory.id).text == edited.text  # nothing changed


def test_delete_and_pin_through_the_writer(demo: Service) -> None:
    memory = _one(demo, MemoryType.SEMANTIC, "Priya")
    pinned = demo.pin_memory(memory.id)
    assert is_pinned(pinned) and pinned.version == memory.version
    assert demo.history(memory.id)[-1].op == "PIN"
    listed = demo.browse_memories(MemoryQuery(MemoryType.SEMANTIC, sort="oldest"))
    assert listed[0].id == memory.id  # pinned first
    deleted = demo.delete_memory(memory.id)
    assert deleted.status is MemoryStatus.DELETED
    assert (demo.history(memory.id)[-1].op, demo.history(memory.id)[-1].actor) == ("DELETE", "user")
    assert all(h.memory.id != memory.id for h in demo.search("spare key Priya flat 3B"))
    assert demo.runtime.index.count(MemoryType.SEMANTIC) == len(
        demo.list_memories(MemoryType.SEMANTIC)
    )
    shown = demo.browse_memories(
        MemoryQuery(MemoryType.SEMANTIC, statuses=frozenset({MemoryStatus.DELETED}))
    )
    assert [m.id for m in shown] == [memory.id]


def test_vault_entries_are_not_edited_and_stay_encrypted(demo: Service) -> None:
    [entry] = demo.list_memories(MemoryType.VAULT)
    assert "tulip-harbor-42" not in entry.text
    assert demo.vault_value(entry.id) == "tulip-harbor-42"
    with pytest.raises(RememoraError, match="vault"):
        demo.edit_memory(entry.id, "something else")


def test_asks_are_logged_as_events_that_never_become_memories(demo: Service) -> None:
    before = len(demo.list_memories(None))
    result = Answer("Who keeps my key?", "Priya [1]", (), (), True)
    demo.record_ask("Who keeps my key?", result)
    demo.record_ask("Where is my passport?", Answer("x", "Nothing", (), (), False))
    assert demo.record_events().events == 0  # written processed: nothing to record
    assert len(demo.list_memories(None)) == before
    turns = demo.ask_history()
    assert [t.question.text for t in turns][:2] == ["Where is my passport?", "Who keeps my key?"]
    assert turns[1].answer is not None and turns[1].answer.text == "Priya [1]"
    assert [t.question.text for t in demo.ask_history("KEY")] == ["Who keeps my key?"]


def test_timeline_days_frames_and_search(demo: Service) -> None:
    days = demo.timeline_days()
    assert len(days) == 4 and sum(n for _, n in days) == 6
    day = days[0][0]
    frames = demo.timeline_frames(day)
    assert frames and all(f.image is not None and f.image.is_file() for f in frames)
    assert demo.timeline_frames(day, frozenset({"no such app"})) == []
    found = demo.find_frames("flight to Oslo gate")
    assert found and "Oslo" in found[0].title


def test_delete_a_time_range_removes_frames_text_and_derived_memories(demo: Service) -> None:
    oslo = demo.find_frames("flight to Oslo gate")[0]
    start = oslo.event.occurred_at - timedelta(minutes=1)
    end = oslo.event.occurred_at + timedelta(minutes=1)
    flight = _one(demo, MemoryType.EPISODIC, "booked flight")
    plan = demo.plan_delete_range(start, end)
    assert plan.events == (oslo.event.id,) and plan.screen_events == 1
    assert len(plan.images) == 1 and plan.image_bytes > 0
    assert flight.id in plan.memories  # made only from that frame
    assert "1 screen frame(s)" in plan.summary()
    media_before = demo.status().media_files
    assert any(oslo.event.id in batch.event_ids for batch in demo.batches())
    assert demo.get(flight.id)  # nothing happened yet
    done = demo.delete_range(start, end)
    assert done.memories == plan.memories
    assert demo.events([oslo.event.id]) == []
    assert all(oslo.event.id not in batch.event_ids for batch in demo.batches())
    assert oslo.image is not None and not oslo.image.exists()
    assert demo.status().media_files == media_before - 1
    assert all(flight.id != m.id for m in demo.list_memories(None, include_inactive=True))
    assert [r.op for r in demo.store.history(flight.id)][-1] == "PURGE"
    assert all(r.before is None and r.after is None for r in demo.store.history(flight.id))
    assert all(f.event.id != oslo.event.id for f in demo.find_frames("flight to Oslo gate"))
    assert all("SK 4607" not in h.memory.text for h in demo.search("SK 4607 Oslo flight"))
    with pytest.raises(RememoraError, match="ends before"):
        demo.plan_delete_range(end, start)


def test_insights_count_what_the_store_holds(demo: Service) -> None:
    insights = demo.insights()
    assert sum(n for _, n in insights.frames_by_app) == 6
    assert insights.frames_by_app[0] == ("firefox", 3)
    assert sum(insights.frames_by_hour) == 6
    assert sum(n for _, n in insights.memories_per_day[MemoryType.SEMANTIC]) == 5  # 1 held
    assert [p.run_id for p in insights.consolidation_runs] == ["c-demo0001", "c-demo0002"]
    assert [len(h.contradicts) for h in demo.held_facts()] == [1]
    assert insights.media_bytes > 0 and insights.budget_bytes == 5_000_000_000
    assert insights.days_of_history is not None and insights.days_of_history > 0


def test_settings_are_validated_then_written_atomically(demo: Service, data_dir: Path) -> None:
    before = (data_dir / "settings.toml").read_text(encoding="utf-8")
    with pytest.raises(SettingsError, match=r"capture.min_interval_s: got 0.0"):
        demo.update_settings({"capture": {"min_interval_s": 0.0}})
    assert (data_dir / "settings.toml").read_text(encoding="utf-8") == before
    saved = demo.update_settings(
        {"capture": {"deny_apps": ["secretapp"], "redact_emails": False}, "user": {"name": "Sam"}}
    )
    assert load_settings(data_dir) == saved
    assert saved.capture.deny_apps == ("secretapp",) and saved.llm.model == "smollm2-135m"
    assert demo.settings.capture.deny_apps == ("secretapp",)  # the next capture uses it
    assert demo.identity.is_user("Sam")  # who the user is applies at once


def test_filter_and_sort_keeps_the_search_order_and_puts_pins_first(demo: Service) -> None:
    memories = demo.list_memories(MemoryType.SEMANTIC)
    query = MemoryQuery(MemoryType.SEMANTIC, text="anything")
    assert filter_and_sort(reversed(memories), query) == list(reversed(memories))
    pinned = demo.pin_memory(memories[-1].id)
    newest = filter_and_sort([*memories[:-1], pinned], MemoryQuery(MemoryType.SEMANTIC))
    assert newest[0].id == pinned.id
    old = MemoryQuery(
        MemoryType.SEMANTIC, until=min(m.event_time for m in memories if m.event_time)
    )
    assert len(filter_and_sort(memories, old)) == 1


def test_insights_plot_the_runs_that_finished_and_stand(service: Service) -> None:
    assert service.insights().consolidation_runs == []
    first = ConsolidationReport("run-1", merged=2, summarised=1, superseded=1, archived=3)
    first.held, first.tokens_before, first.tokens_after = 1, 900, 700
    finished_run(service, "run-1", first)
    finished_run(service, "run-2", ConsolidationReport("run-2", merged=5), status="undone")
    finished_run(service, "run-3", ConsolidationReport("run-3", archived=4), status="failed")
    finished_run(
        service, "run-4", ConsolidationReport("run-4", tokens_before=700, tokens_after=650)
    )
    runs = service.insights().consolidation_runs
    assert [r.run_id for r in runs] == ["run-1", "run-4"]  # undone and failed runs left out
    one, four = runs
    assert (one.merged, one.summarised, one.superseded, one.archived, one.held) == (2, 1, 1, 3, 1)
    assert (one.tokens_before, one.tokens_after, one.changes) == (900, 700, 7)
    assert (four.tokens_before, four.tokens_after, four.changes) == (700, 650, 0)
    assert one.finished_at <= four.finished_at and four.finished_at.tzinfo is not None
    old = RunPoint.of_report("old", four.finished_at, {"merged": 3, "tokens_before": "n/a"})
    assert (old.merged, old.tokens_before, old.archived) == (3, 0, 0)  # a count it lacks: 0


def _priya_moves(service: Service, named: bool = True) -> tuple[Memory, Memory]:
    """Porto said twice, then Berlin once: Berlin held against Porto."""
    porto = fact(service, "Priya lives in Porto.", "city", "Porto", said_times=2)
    berlin = fact(service, "Priya lives in Berlin.", "city", "Berlin", T0 + timedelta(days=9))
    held = hold(service, berlin, [porto], named)
    service.record_events()  # the raw records, and the index follows the ledger
    return service.get(porto.id), held


def test_confirming_a_held_fact_supersedes_what_it_contradicts(service: Service) -> None:
    porto, berlin = _priya_moves(service)
    [held] = service.held_facts()
    assert held.fact == berlin and held.contradicts == (porto,)
    assert {porto.id, berlin.id} <= set(service.runtime.index.entries(MemoryType.SEMANTIC))
    assert any(h.memory.id == porto.id for h in service.search("Where does Priya live?"))
    confirmed = service.confirm_fact(berlin.id)
    assert confirmed.status is MemoryStatus.ACTIVE and confirmed.version == berlin.version + 1
    assert not is_held(confirmed) and confirmed.text == berlin.text
    last = service.history(berlin.id)[-1]
    assert (last.op, last.actor) == ("UPDATE", "user") and "confirmed by the user" in last.reason
    old = service.get(porto.id)
    assert old.status is MemoryStatus.SUPERSEDED and old.successor_id == berlin.id
    retired = service.history(porto.id)[-1]
    assert (retired.op, retired.actor) == ("SUPERSEDE", "user")
    assert "'Porto' -> 'Berlin'" in retired.reason
    assert service.held_facts() == []
    entries = service.runtime.index.entries(MemoryType.SEMANTIC)
    assert porto.id not in entries and berlin.id in entries
    assert all(h.memory.id != porto.id for h in service.search("Where does Priya live?"))
    with pytest.raises(RememoraError, match="not a fact held for confirmation"):
        service.confirm_fact(berlin.id)


def test_rejecting_a_held_fact_deletes_it_and_keeps_what_it_contradicts(
    service: Service,
) -> None:
    porto, berlin = _priya_moves(service, named=False)  # held before the ids were recorded
    [held] = service.held_facts()
    assert held.contradicts == (porto,)  # found by its key
    rejected = service.reject_fact(berlin.id)
    assert rejected.status is MemoryStatus.DELETED
    last = service.history(berlin.id)[-1]
    assert (last.op, last.actor) == ("DELETE", "user") and "rejected by the user" in last.reason
    assert service.get(porto.id) == porto  # untouched
    assert service.held_facts() == []
    assert berlin.id not in service.runtime.index.entries(MemoryType.SEMANTIC)
    assert all(h.memory.id != berlin.id for h in service.search("Where does Priya live?"))
    with pytest.raises(RememoraError, match="not a fact held for confirmation"):
        service.reject_fact(porto.id)
    assert service.get(porto.id) == porto  # refused: nothing changed
