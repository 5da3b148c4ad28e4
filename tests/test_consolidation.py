"""Sleep-time consolidation on real components (the tiny LLM, the real embedder, Chroma
in a temp dir): duplicates merge with history, a newer fact supersedes an older one (or
is held when established sources disagree, until the user confirms it), a week of episodes rolls into day
summaries, unused memories are archived and found when asked for, a dry run changes
nothing, an undo restores the exact prior state, the index included, and a question
asked during a run is answered before the run ends."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.consolidate.power import on_battery
from core.consolidate.schedule import ConsolidationSchedule
from core.errors import ConsolidationError
from core.ingest.type_extractors import normalize
from core.records import (
    EventKind,
    Memory,
    MemoryStatus,
    MemoryType,
    NewEvent,
)
from core.service import Service
from tests.conftest import TEST_SETTINGS, run_cli
from tests.held_facts import fact as extracted_fact

pytestmark = pytest.mark.llm

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
HOURS_2 = timedelta(hours=2)
SETTINGS = TEST_SETTINGS + "\n[consolidation]\nsummary_max_tokens = 24\n"


class Clock:
    """The service's injected clock: a test moves it forward."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def svc(data_dir: Path, embedder: object, clock: Clock) -> Iterator[Service]:
    (data_dir / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    with Service(data_dir, embedder=embedder, clock=clock) as opened:  # type: ignore[arg-type]
        yield opened


def fact(
    service: Service,
    statement: str,
    subject: str,
    attribute: str,
    value: str,
    at: datetime,
    said_times: int = 1,
) -> Memory:
    """A fact as the extractor writes it, from ``said_times`` turns of Priya's saying it
    (each its own event, an hour apart, so none forms a session to summarise)."""
    memory = extracted_fact(service, statement, attribute, value, at, said_times, subject)
    service.record_events()  # raw records, and the index follows the ledger
    return memory


def snapshot(service: Service) -> tuple[list[dict[str, object]], dict[str, object]]:
    rows = [m.to_json() for m in service.list_memories(include_inactive=True)]
    index = service.runtime.index
    entries = {t.value: index.entries(t) for t in MemoryType}
    return rows, entries


def test_two_duplicate_facts_merge_into_one_with_history(svc: Service, clock: Clock) -> None:
    first = fact(svc, "Priya's sister Maria lives in Lisbon.", "Priya", "sister", "Maria", T0)
    second = fact(
        svc,
        "Maria, Priya's sister, lives in Lisbon.",
        "Priya",
        "sister",
        "Maria",
        T0 + timedelta(days=2),
    )
    clock.now = T0 + timedelta(days=3)
    report = svc.consolidate()
    assert report.merged == 1
    kept, gone = svc.get(first.id), svc.get(second.id)
    assert kept.status is MemoryStatus.ACTIVE and kept.version == 2
    assert set(kept.source_event_ids) == {*first.source_event_ids, *second.source_event_ids}
    assert gone.status is MemoryStatus.SUPERSEDED and gone.successor_id == kept.id
    tag = f"[run {report.run_id}]"
    merged = [row for row in svc.history(kept.id) if row.op == "UPDATE"]
    assert merged and merged[-1].actor == "consolidator" and merged[-1].reason.endswith(tag)
    retired = svc.history(gone.id)[-1]
    assert retired.op == "SUPERSEDE" and retired.actor == "consolidator"
    assert [h.memory.id for h in svc.search("Where does Maria live?")].count(gone.id) == 0
    with svc.store.write(actor="user") as tx:  # a later edit: the undo must not lose it
        tx.memories.update(kept, kept.text + " (in Alfama)", {}, (), "user edit")
    with pytest.raises(ConsolidationError, match="changed after"):
        svc.undo_consolidation(report.run_id)
    assert "(in Alfama)" in svc.get(kept.id).text


def test_newer_job_supersedes_the_older_one(svc: Service, clock: Clock) -> None:
    acme = fact(
        svc, "Priya works as a data engineer at Acme Corp.", "Priya", "employer", "Acme Corp", T0
    )
    globex = fact(
        svc,
        "Priya left Acme Corp last month and now works as a data engineer at Globex.",
        "Priya",
        "workplace",
        "Globex",
        T0 + timedelta(days=40),
    )
    clock.now = T0 + timedelta(days=41)
    report = svc.consolidate()
    assert report.superseded == 1 and report.held == 0
    assert svc.get(globex.id).status is MemoryStatus.ACTIVE
    old = svc.get(acme.id)
    assert old.status is MemoryStatus.SUPERSEDED and old.successor_id == globex.id
    row = svc.history(acme.id)[-1]
    assert row.actor == "consolidator" and "contradicted by newer" in row.reason
    [point] = svc.insights().consolidation_runs  # what the insights view plots
    assert (point.run_id, point.superseded, point.changes) == (report.run_id, 1, 1)
    assert (point.tokens_before, point.tokens_after) == (report.tokens_before, report.tokens_after)
    assert point.tokens_before > 0


def test_one_new_source_against_established_ones_is_held(svc: Service, clock: Clock) -> None:
    porto = fact(svc, "Priya lives in Porto.", "Priya", "city", "Porto", T0, said_times=2)
    berlin = fact(
        svc, "Priya lives in Berlin.", "Priya", "home city", "Berlin", T0 + timedelta(days=9)
    )
    clock.now = T0 + timedelta(days=10)
    report = svc.consolidate()
    assert report.held == 1 and report.superseded == 0
    assert svc.get(porto.id).status is MemoryStatus.ACTIVE
    held = svc.get(berlin.id)
    assert held.status is MemoryStatus.ACTIVE and held.fields["needs_confirmation"] == "true"
    assert held.fields["contradicts"] == porto.id
    [waiting] = svc.held_facts()  # what the desktop app's "To confirm" tab lists
    assert waiting.fact.id == berlin.id and [m.id for m in waiting.contradicts] == [porto.id]
    svc.confirm_fact(berlin.id)  # the user says Berlin is right
    old = svc.get(porto.id)
    assert old.status is MemoryStatus.SUPERSEDED and old.successor_id == berlin.id
    clock.now += timedelta(days=1)
    again = svc.consolidate()  # a confirmed fact is not held again
    assert again.held == 0 and svc.held_facts() == []
    assert svc.get(berlin.id).status is MemoryStatus.ACTIVE


def _week(service: Service, days: int) -> list[list[str]]:
    """``days`` days of a short morning chat between Priya and Dana; their record ids."""
    turns = [
        ("Priya", "I went running along the river before work, day {n}."),
        ("Dana", "How far did you get on day {n}?"),
        ("Priya", "About {k} kilometres, then coffee with Leo."),
    ]
    events = [
        NewEvent(
            EventKind.CHAT,
            text.format(n=day + 1, k=day + 5),
            T0 + timedelta(days=day, minutes=4 * i),
            speaker,
            "chat",
        )
        for day in range(days)
        for i, (speaker, text) in enumerate(turns)
    ]
    ids = service.add_events(events)
    service.record_events()
    by_event = {m.source_event_ids[0]: m.id for m in service.list_memories(MemoryType.EPISODIC)}
    return [[by_event[i] for i in ids[3 * d : 3 * d + 3]] for d in range(days)]


def test_a_week_of_episodes_yields_day_summaries_linked_to_them(svc: Service, clock: Clock) -> None:
    days = _week(svc, 7)
    clock.now = T0 + timedelta(days=8)
    report = svc.consolidate()
    summaries = [
        m for m in svc.list_memories(MemoryType.EPISODIC) if m.fields.get("kind") == "summary"
    ]
    by_day = {m.fields["day"]: m for m in summaries if m.fields["level"] == "day"}
    assert len(by_day) == 7 and report.summarised == len(summaries) == 7
    for n, records in enumerate(days):
        day = by_day[f"{(T0 + timedelta(days=n)).date()}"]
        assert json.loads(day.fields["children"]) == records
        assert day.fields["start"] < day.fields["end"]
        assert day.event_time == T0 + timedelta(days=n)
        children = svc.memories(records)
        assert set(day.source_event_ids) == {i for m in children for i in m.source_event_ids}
    one = next(iter(by_day.values()))
    assert one.id in [h.memory.id for h in svc.search(one.text, limit=20)]  # retrievable


def test_unused_memory_is_archived_and_found_when_asked_for(svc: Service, clock: Clock) -> None:
    bike = fact(svc, "Priya's old bicycle is a green Peugeot.", "Priya", "bicycle", "Peugeot", T0)
    used = fact(svc, "Priya's cat is called Miso.", "Priya", "cat", "Miso", T0 + timedelta(hours=2))
    clock.now = T0 + timedelta(days=400)
    svc.store.record_access([used.id])  # recalled a moment ago: stays
    report = svc.consolidate()
    assert report.archived >= 1
    archived = svc.get(bike.id)
    assert archived.status is MemoryStatus.ARCHIVED and archived.strength < 0.05
    assert svc.get(used.id).status is MemoryStatus.ACTIVE
    question = "What bicycle does Priya have?"
    assert bike.id not in [h.memory.id for h in svc.search(question)]
    found = [h.memory.id for h in svc.search(question, include_archived=True)]
    assert bike.id in found
    assert svc.history(bike.id)[-1].op == "ARCHIVE"


def test_dry_run_changes_nothing_and_undo_restores_the_exact_state(
    svc: Service, clock: Clock
) -> None:
    fact(svc, "Priya's sister Maria lives in Lisbon.", "Priya", "sister", "Maria", T0)
    fact(svc, "Maria, Priya's sister, lives in Lisbon.", "Priya", "sister", "Maria", T0 + HOURS_2)
    fact(svc, "Priya works at Acme Corp.", "Priya", "employer", "Acme Corp", T0 + 2 * HOURS_2)
    fact(svc, "Priya now works at Globex.", "Priya", "workplace", "Globex", T0 + timedelta(1))
    _week(svc, 1)
    clock.now = T0 + timedelta(days=200)  # old enough for decay to archive
    before = snapshot(svc)
    dry = svc.consolidate(dry_run=True)
    assert dry.merged and dry.superseded and dry.summarised and dry.archived
    assert dry.llm_calls == 0 and dry.changes
    assert snapshot(svc) == before and svc.consolidation_runs() == []
    report = svc.consolidate()
    assert (report.merged, report.superseded) == (dry.merged, dry.superseded)
    assert report.summarised and report.archived and snapshot(svc) != before
    undone = svc.undo_consolidation(report.run_id)
    assert undone.removed >= 1  # the summary it added
    assert snapshot(svc) == before
    assert svc.consolidation_runs()[-1].status == "undone"
    with pytest.raises(ConsolidationError):
        svc.undo_consolidation(report.run_id)


def test_a_run_cut_off_is_logged_as_interrupted_and_can_still_be_undone(
    svc: Service, clock: Clock
) -> None:
    """A run killed mid-way leaves its log row "running" (its committed steps stand);
    the next run marks it interrupted, and undo accepts it like a finished run."""
    fact(svc, "Priya's sister Maria lives in Lisbon.", "Priya", "sister", "Maria", T0)
    with svc.store.write(actor="consolidation") as tx:  # what a SIGKILL leaves behind
        tx.runs.start("c-cut", *svc.store.marks())
    assert svc.consolidation_runs()[-1].status == "running"
    with pytest.raises(ConsolidationError, match="is running"):
        svc.undo_consolidation("c-cut")
    report = svc.consolidate()
    assert [(r.id, r.status) for r in svc.consolidation_runs()] == [
        ("c-cut", "interrupted"),
        (report.run_id, "done"),
    ]
    svc.undo_consolidation(report.run_id)
    undone = svc.undo_consolidation("c-cut")
    assert (undone.restored, undone.removed) == (0, 0)
    assert {r.status for r in svc.consolidation_runs()} == {"undone"}


def test_a_question_during_consolidation_is_answered_before_it_ends(
    svc: Service, clock: Clock
) -> None:
    _week(svc, 4)
    clock.now = T0 + timedelta(days=5)
    svc.load_models()
    first_summary_done = threading.Event()

    class Watch:
        cancelled = False

        def update(self, done: int, total: int | None, label: str) -> None:
            if label == "summarising sessions" and done >= 1:
                first_summary_done.set()

    finished: list[float] = []

    def consolidate() -> None:
        svc.consolidate(progress=Watch())
        finished.append(time.monotonic())

    worker = threading.Thread(target=consolidate)
    worker.start()
    assert first_summary_done.wait(300)
    pieces: list[str] = []
    result = svc.ask("How far did Priya run?", pieces.append)
    answered = time.monotonic()
    assert result.text.strip() and pieces
    assert not finished, "the question waited for the whole consolidation"
    worker.join(600)
    assert finished and finished[0] > answered


def test_consolidate_cli_writes_the_report(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = run_cli(data_dir, "consolidate", "--json", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    for key in (
        "run_id",
        "merged",
        "summarised",
        "superseded",
        "archived",
        "tokens_before",
        "tokens_after",
        "bytes_before",
        "bytes_after",
        "seconds",
        "llm_calls",
    ):
        assert key in report
    assert f"--undo {report['run_id']}" in done.stdout


def test_schedule_triggers_and_waits_on_battery(svc: Service) -> None:
    """Real APScheduler and the real service; only the battery reading and the idle
    clock are injected (this machine has no battery to unplug)."""
    settings = svc.settings.consolidation.model_copy(
        update={"after_events": 3, "idle_minutes": 5.0}
    )
    battery = [True]
    ticks = [0.0]
    heard: list[str] = []
    schedule = ConsolidationSchedule(
        settings,
        lambda progress: svc.consolidate(progress=progress),
        svc.events_since_consolidation,
        lambda trigger, _result: heard.append(trigger),
        battery=lambda: battery[0],
        monotonic=lambda: ticks[0],
    )
    assert schedule.check() is None  # nothing new
    svc.add_events([NewEvent(EventKind.CHAT, "hello there", T0, "Priya", "chat")])
    ticks[0] = 301.0
    assert schedule.due() == "idle"
    assert schedule.check() is None  # on battery: it waits
    battery[0] = False
    assert schedule.check() == "idle" and heard == ["idle"]
    assert svc.consolidation_runs()[-1].status == "done"
    assert schedule.due() is None  # the run's high-water mark covers the event
    svc.add_events([NewEvent(EventKind.CHAT, f"line {i}", T0, "Priya", "chat") for i in range(3)])
    schedule.note_input()
    assert schedule.due() == "events"
    schedule.start()
    schedule.stop()


def test_power_supply_reading(tmp_path: Path) -> None:
    assert on_battery(tmp_path / "absent") is False  # no power-supply class: mains
    (tmp_path / "BAT0").mkdir()
    (tmp_path / "BAT0" / "type").write_text("Battery\n")
    (tmp_path / "BAT0" / "status").write_text("Discharging\n")
    assert on_battery(tmp_path) is True
    (tmp_path / "AC").mkdir()
    (tmp_path / "AC" / "type").write_text("Mains\n")
    (tmp_path / "AC" / "online").write_text("1\n")
    assert on_battery(tmp_path) is False
    (tmp_path / "AC" / "online").write_text("0\n")
    assert on_battery(tmp_path) is True


def test_reread_keeps_only_what_the_events_say() -> None:
    from core.consolidate.reread import grounded, missed_types
    from core.ingest.type_extractors import Candidate
    from core.records import EventId
    from core.store.batches import Batch

    said = normalize("Since October I work as a data engineer at Globex.")

    def semantic(value: str) -> Candidate:
        return Candidate(
            MemoryType.SEMANTIC, f"x: {value}", "k", (EventId(1),), T0, {"value": value}
        )

    assert grounded(semantic("Globex"), said)
    assert not grounded(semantic("nurse"), said)  # an echo of some prompt, not the events
    core = Candidate(MemoryType.CORE, "Works as a data engineer at Globex.", "", (), None)
    assert grounded(core, said)
    assert not grounded(Candidate(MemoryType.CORE, "Loves sailing boats.", "", (), None), said)
    batch = Batch(1, (EventId(1),), "done", 1, None, (), ("episodic",), {"ADD episodic": 1})
    assert missed_types(batch)
    assert not missed_types(Batch(1, (EventId(1),), "done", 1, None, (), (), {"ADD semantic": 1}))
