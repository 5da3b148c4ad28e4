"""The desktop app's review features, real Qt (offscreen) over a real store (real
Chroma and embedder, no LLM), each under the UI watchdog (no UI-thread handler over
100 ms): the insights view plots the consolidation runs, the "To confirm" tab confirms
and rejects the facts consolidation held (and re-reads them when a scheduled run ends),
and a memory's "Private" box marks it private. The held facts and the runs' rows are
written as consolidation writes them (tests/held_facts.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.gui.background_ingest import BackgroundIngest
from app.gui.insights_view import InsightsView
from app.gui.memories_view import MemoriesView
from app.gui.memory_dialog import MemoryDialog
from app.gui.store_ops import StoreOps
from core.consolidate.report import ConsolidationReport
from core.desktop import Insights
from core.records import Memory, MemoryStatus, MemoryType
from core.retrieval.private import is_private
from core.service import Service
from tests.conftest import TEST_SETTINGS
from tests.held_facts import T0, fact, finished_run, hold
from tests.ui_watchdog import WatchedApplication

LIMIT_MS = 100.0


@pytest.fixture
def ops() -> Iterator[StoreOps]:
    store_ops = StoreOps()
    yield store_ops
    assert store_ops.close()


def test_insights_plot_tokens_and_changes_per_run(
    qtbot, qapp: WatchedApplication, service: Service, ops: StoreOps
) -> None:  # type: ignore[no-untyped-def]
    view = InsightsView(service, ops)
    qtbot.addWidget(view)
    with qapp.watching(LIMIT_MS) as watchdog:
        with qtbot.waitSignal(view.shown_insights, timeout=30_000) as first:
            view.setVisible(True)  # (its show() draws figures)
        assert isinstance(first.args[0], Insights) and first.args[0].consolidation_runs == []
        assert not view.change_bars and not view.run_tokens.listDataItems()
        assert view.runs_text.text() == ""
        one = ConsolidationReport("run-1", merged=2, summarised=1, archived=3)
        one.tokens_before, one.tokens_after = 900, 700
        two = ConsolidationReport("run-2", superseded=1, tokens_before=700, tokens_after=650)
        two.held = 1
        finished_run(service, "run-1", one)
        finished_run(service, "run-2", two)
        finished_run(service, "run-3", ConsolidationReport("run-3", merged=9), status="undone")
        with qtbot.waitSignal(view.shown_insights, timeout=30_000) as second:
            view.refresh()
        assert [r.run_id for r in second.args[0].consolidation_runs] == ["run-1", "run-2"]
        before, after = view.run_tokens.listDataItems()
        assert [int(y) for y in before.getData()[1]] == [900, 700]
        assert [int(y) for y in after.getData()[1]] == [700, 650]
        bars = {name: [int(h) for h in b.opts["height"]] for name, b in view.change_bars.items()}
        assert bars == {
            "merged": [2, 0],
            "summarised": [1, 0],
            "superseded": [0, 1],
            "archived": [3, 0],
            "held": [0, 1],
        }
        assert ": 1 superseded, 1 held; " in view.runs_text.text()  # the last run's line
        assert "tokens 700 → 650" in view.runs_text.text()
    watchdog.assert_none_slow()


def _two_held(service: Service) -> tuple[Memory, Memory, Memory, Memory]:
    """Berlin held against Porto, Globex held against Acme (each said more often)."""
    porto = fact(service, "Priya lives in Porto.", "city", "Porto", said_times=2)
    acme = fact(service, "Priya works at Acme Corp.", "employer", "Acme Corp", said_times=2)
    later = T0 + timedelta(days=9)
    berlin = fact(service, "Priya lives in Berlin.", "city", "Berlin", later)
    globex = fact(service, "Priya works at Globex.", "employer", "Globex", later)
    berlin, globex = hold(service, berlin, [porto]), hold(service, globex, [acme])
    service.record_events()
    return porto, berlin, acme, globex


def test_held_facts_are_confirmed_and_rejected_with_their_buttons(
    qtbot, qapp: WatchedApplication, service: Service, ops: StoreOps
) -> None:  # type: ignore[no-untyped-def]
    porto, berlin, acme, globex = _two_held(service)
    view = MemoriesView(service, ops)
    qtbot.addWidget(view)
    held = view.held
    with qapp.watching(LIMIT_MS) as watchdog:
        semantic = view.tab(MemoryType.SEMANTIC)
        with qtbot.waitSignal(semantic.listed, timeout=30_000):
            with qtbot.waitSignal(held.listed, timeout=30_000):
                view.show()  # read when the view is first shown: its count is in its title
            view.setCurrentWidget(semantic)
        assert view.tabText(view.indexOf(held)) == "To confirm (2)"
        statuses = {m.text: semantic.table.item(r, 4).text() for r, m in enumerate(semantic.shown)}
        assert statuses[berlin.text] == "active · to confirm" and statuses[porto.text] == "active"
        view.setCurrentWidget(held)
        rows = {held.table.item(r, 0).text(): r for r in range(held.table.rowCount())}
        assert set(rows) == {berlin.text, globex.text}
        assert held.table.item(rows[berlin.text], 1).text() == porto.text
        held.table.selectRow(rows[berlin.text])
        dialog = held.open_selected()  # its history and sources, to judge it by
        assert dialog is not None and dialog.memory_id == berlin.id
        qtbot.waitSignal(dialog.loaded, timeout=30_000).wait()
        assert dialog.sources_list.count() == 1 and "Berlin" in dialog.sources_list.item(0).text()
        assert "held for your confirmation" in dialog.meta.text()
        dialog.close()
        with qtbot.waitSignal(held.listed, timeout=30_000) as relisted:  # re-read from Changes
            with qtbot.waitSignal(held.decided, timeout=30_000) as decided:
                qtbot.mouseClick(held.confirm_button, Qt.MouseButton.LeftButton)
        assert isinstance(decided.args[0], Memory) and decided.args[0].id == berlin.id
        assert [h.fact.id for h in relisted.args[0]] == [globex.id]
        assert view.tabText(view.indexOf(held)) == "To confirm (1)"
        assert held.table.item(0, 1).text() == acme.text
        with qtbot.waitSignal(held.listed, timeout=30_000) as relisted:
            with qtbot.waitSignal(held.decided, timeout=30_000) as decided:
                qtbot.mouseClick(held.reject_button, Qt.MouseButton.LeftButton)  # the only one
        assert relisted.args[0] == [] and held.empty.isVisible()
        assert view.tabText(view.indexOf(held)) == "To confirm"
        assert not held.confirm_button.isEnabled() and not held.reject_button.isEnabled()
        assert held.message.text().startswith("Rejected")
    watchdog.assert_none_slow()
    assert service.get(porto.id).status is MemoryStatus.SUPERSEDED
    assert service.get(porto.id).successor_id == berlin.id
    assert service.get(globex.id).status is MemoryStatus.DELETED
    assert service.get(acme.id).status is MemoryStatus.ACTIVE
    assert [(h.op, h.actor) for h in service.history(globex.id)][-1] == ("DELETE", "user")


def test_the_private_box_marks_a_memory_private_and_back(
    qtbot, qapp: WatchedApplication, service: Service, ops: StoreOps
) -> None:  # type: ignore[no-untyped-def]
    memory = fact(service, "Priya sees Dr Halvorsen about her insomnia.", "doctor", "Halvorsen")
    dialog = MemoryDialog(service, ops, memory.id)
    qtbot.addWidget(dialog)
    with qapp.watching(LIMIT_MS) as watchdog:
        with qtbot.waitSignal(dialog.loaded, timeout=30_000):
            dialog.show()
        box = dialog.private_box
        assert box.isEnabled() and not box.isChecked()
        for private, reason in ((True, "marked private"), (False, "no longer private")):
            with qtbot.waitSignal(dialog.loaded, timeout=30_000):  # read again after the write
                with qtbot.waitSignal(dialog.saved, timeout=30_000) as saved:
                    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
            assert isinstance(saved.args[0], Memory), saved.args[0]
            assert is_private(service.get(memory.id)) is private
            last = service.history(memory.id)[-1]
            assert (last.op, last.actor, last.reason) == ("UPDATE", "user", reason)
            assert box.isEnabled() and box.isChecked() is private
            assert ("· private" in dialog.meta.text()) is private
    watchdog.assert_none_slow()


@pytest.fixture
def unscheduled(data_dir: Path, embedder: object) -> Iterator[Service]:
    """A store whose app schedules no consolidation (no run starts by itself here)."""
    settings = TEST_SETTINGS + "\n[consolidation]\nenabled = false\n"
    (data_dir / "settings.toml").write_text(settings, encoding="utf-8")
    with Service(data_dir, embedder=embedder) as opened:  # type: ignore[arg-type]
        yield opened


def test_the_end_of_a_scheduled_run_told_from_the_schedules_thread_rereads_the_views(
    qtbot, qapp: WatchedApplication, unscheduled: Service, ops: StoreOps
) -> None:  # type: ignore[no-untyped-def]
    service = unscheduled
    view = MemoriesView(service, ops)
    qtbot.addWidget(view)
    background = BackgroundIngest(service, ops)
    background.timer.stop()
    try:
        with qtbot.waitSignal(view.held.listed, timeout=30_000) as listed:
            view.show()
        assert listed.args[0] == []
        porto = fact(service, "Priya lives in Porto.", "city", "Porto", said_times=2)
        berlin = fact(service, "Priya lives in Berlin.", "city", "Berlin", T0 + timedelta(days=9))
        hold(service, berlin, [porto])  # what the run wrote
        report = ConsolidationReport("run-1")
        report.held = 1
        with qapp.watching(LIMIT_MS) as watchdog:
            with qtbot.waitSignal(view.held.listed, timeout=30_000) as listed:
                # the schedule calls its finished callback on its own thread
                threading.Thread(target=background._on_consolidated, args=("idle", report)).start()
        assert [h.fact.id for h in listed.args[0]] == [berlin.id]
        assert view.tabText(view.indexOf(view.held)) == "To confirm (1)"
        watchdog.assert_none_slow()
    finally:
        assert background.stop()
