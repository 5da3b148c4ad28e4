"""File ▸ Export… and Import… in the window (Qt offscreen): each runs as an op on the
store executor with the progress bar and ends with its summary, or with the error's one
line in the status line; an import refreshes the status figures through its changes.
File ▸ Consolidate now runs a real consolidation (the tiny model) as a job, and refuses
with one line while another run holds the store's consolidation."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.gui.main_window import MainWindow
from core.archive.export import ExportReport
from core.archive.import_ import ImportReport
from core.consolidate.report import ConsolidationReport
from core.errors import ConsolidationError
from core.service import Service
from tests.archive_helpers import PASSPHRASE, fill, new_store


def _window(qtbot, service: Service) -> MainWindow:  # type: ignore[no-untyped-def]
    shown = MainWindow(service)
    shown.background.timer.stop()
    qtbot.addWidget(shown)
    shown.show()
    return shown


def test_export_and_import_from_the_file_menu(
    qtbot, tmp_path: Path, shared_models: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    source = new_store(tmp_path, "source", shared_models)
    target = new_store(tmp_path, "target", shared_models)
    archive = tmp_path / "from-the-window.archive"
    with Service(source, embedder=embedder) as service:
        fill(service, frames=1)
        window = _window(qtbot, service)
        titles = [a.text() for a in window.menuBar().actions()]
        assert "&File" in titles
        assert [a.text() for a in window.archive.menu.actions() if a.text()] == [
            "Export…",
            "Import…",
            "Consolidate now",
        ]
        with qtbot.waitSignal(window.archive.finished, timeout=120_000) as done:
            window.archive.export_to(archive, PASSPHRASE)
        assert isinstance(done.args[0], ExportReport), done.args[0]
        assert "encrypted" in window.status_label.text()
        assert service.is_encrypted_archive(archive)
        assert window.finish()
    with Service(target, embedder=embedder) as service:
        window = _window(qtbot, service)
        qtbot.waitUntil(lambda: window.has_figures, timeout=30_000)
        with qtbot.waitSignal(window.archive.finished, timeout=120_000) as wrong:
            window.archive.import_from(archive, "not the passphrase")
        assert isinstance(wrong.args[0], Exception)
        assert "wrong passphrase" in window.status_label.text()
        assert len(service.list_memories()) == 1  # the persona block alone: unchanged
        with qtbot.waitSignal(window.archive.finished, timeout=120_000) as done:
            window.archive.import_from(archive, PASSPHRASE)
        report = done.args[0]
        assert isinstance(report, ImportReport) and report.memories_added == 5
        assert window.progress.maximum() >= 0
        qtbot.waitUntil(lambda: "6 memories" in window.status_label.text(), timeout=30_000)
        assert window.finish()


@pytest.mark.parametrize("passphrase", ["short"])
def test_a_short_passphrase_is_one_line_in_the_status(
    qtbot, service: Service, tmp_path: Path, passphrase: str
) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot, service)
    with qtbot.waitSignal(window.archive.finished, timeout=10_000):
        window.archive.export_to(tmp_path / "x.archive", passphrase)
    assert "at least 8 characters" in window.status_label.text()
    assert not (tmp_path / "x.archive").exists()
    assert window.finish()


@pytest.mark.llm
def test_consolidate_now_from_the_file_menu(qtbot, service: Service) -> None:  # type: ignore[no-untyped-def]
    fill(service, frames=1)
    window = _window(qtbot, service)
    action = window.consolidation.action
    with service._one_consolidation():  # as the schedule's run would, on its own thread
        with qtbot.waitSignal(window.consolidation.finished, timeout=30_000) as refused:
            action.trigger()
    assert isinstance(refused.args[0], ConsolidationError)
    assert "a consolidation run is in progress" in window.status_label.text()
    assert action.isEnabled() and service.consolidation_runs() == []
    with qtbot.waitSignal(window.consolidation.finished, timeout=300_000) as done:
        action.trigger()
        assert not action.isEnabled()  # one run at a time from here too
    report = done.args[0]
    assert isinstance(report, ConsolidationReport), report
    assert [r.id for r in service.consolidation_runs()] == [report.run_id]
    status = window.status_label.text()
    assert status.startswith("Consolidation: ") and f"--undo {report.run_id}" in status
    assert action.isEnabled() and window.finish()
