"""The UI thread stays free: no handler on it takes more than 100 ms while the window
remembers, asks (the real tiny LLM) while a background ingest runs, and captures (a real
recorder on Xvfb, started, paused, resumed and stopped from the capture menu that the
tray shows). It lives beside the capture tests for their Xvfb fixtures.

The watchdog (tests/ui_watchdog.py) times every event handled on the Qt main thread,
leaving out the time the thread waited for a CPU, so other work on a busy machine does
not count against a slot; time spent blocked (on the ledger's lock, a file, a join) does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton

from app.gui.main_window import MainWindow
from app.gui.tray import CaptureControls, install_capture
from core.answering.answer import Answer
from core.service import Service
from tests.capture.conftest import ShowWindow
from tests.capture.test_capture_x11 import FAST_CAPTURE
from tests.conftest import TEST_SETTINGS
from tests.ui_watchdog import WatchedApplication

LIMIT_MS = 100.0


@pytest.mark.llm
def test_no_ui_thread_handler_takes_over_100_ms(  # type: ignore[no-untyped-def]
    qtbot,
    qapp: WatchedApplication,
    data_dir: Path,
    embedder,
    show_window: ShowWindow,
    xvfb: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (data_dir / "settings.toml").write_text(
        TEST_SETTINGS.replace("[llm]", "[llm]\nn_threads = 1")
        + FAST_CAPTURE
        + "\n[ingest]\nbackground_interval_s = 0.5\nidle_s = 0.0\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DISPLAY", xvfb)  # the recorder opens the default display: Xvfb
    show_window("Recipe", "Lemon tart needs four eggs", app="browser")
    with Service(data_dir, embedder=embedder) as service:
        window = MainWindow(service)
        qtbot.addWidget(window)
        controls, _tray = install_capture(qapp, window, service)
        ingested: list[object] = []
        window.background_ingested.connect(ingested.append)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitSignal(window.status_shown, timeout=30_000).wait()  # first paint, fonts
        try:
            with qapp.watching(LIMIT_MS) as watchdog:
                _session(qtbot, window, controls, service, ingested)
        finally:
            qapp.setQuitOnLastWindowClosed(True)
            assert window.finish()
            controls.shutdown()

    timed = f"{watchdog.handled} handlers timed, longest {watchdog.longest_ms:.0f} ms"
    assert not watchdog.slow, f"slow UI-thread handlers ({timed}):\n" + "\n".join(
        map(str, watchdog.slow)
    )
    assert watchdog.by_type.get("MetaCall", 0) > 20, watchdog.by_type  # workers' results
    assert watchdog.by_type.get("MouseButtonRelease", 0) >= 2, watchdog.by_type  # clicks


def _click(qtbot, button: QPushButton) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _trigger(qtbot, controls: CaptureControls, action: QAction) -> None:  # type: ignore[no-untyped-def]
    """Trigger a menu action from the event loop, as a click on it would, and wait for
    its op on the store executor."""
    with qtbot.waitSignal(controls.settled, timeout=60_000):
        QTimer.singleShot(0, action.trigger)


def _session(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, controls: CaptureControls, service: Service, ingested: list[object]
) -> None:
    _trigger(qtbot, controls, controls.start_action)
    assert controls.state == "recording", controls.describe_state()

    qtbot.keyClicks(window.note, "I left my umbrella at the Rialto cafe.")
    with qtbot.waitSignal(window.memory_added, timeout=60_000):
        _click(qtbot, window.remember_button)
    qtbot.waitUntil(lambda: window.background.running, timeout=60_000)  # no click: the timer

    tokens: list[str] = []
    window.answer_token.connect(tokens.append)
    qtbot.keyClicks(window.question, "Where is my umbrella?")
    with qtbot.waitSignal(window.answer_finished, timeout=300_000) as finished:
        _click(qtbot, window.ask_button)
    assert isinstance(finished.args[0], Answer), finished.args[0]
    assert len(tokens) > 1 and window.sources.count() >= 1

    _trigger(qtbot, controls, controls.pause_actions[2])  # until resumed
    assert controls.state == "paused"
    _trigger(qtbot, controls, controls.start_action)  # resume
    recorder = controls.recorder
    assert recorder is not None
    qtbot.waitUntil(lambda: recorder.health().counters.kept >= 1, timeout=30_000)

    qtbot.waitUntil(lambda: bool(ingested) and not window.background.running, timeout=300_000)
    assert not isinstance(ingested[0], BaseException), ingested[0]
    with qtbot.waitSignal(controls.settled, timeout=60_000):
        QTimer.singleShot(0, controls.stop)  # reads the frames still queued for OCR
    assert controls.state == "stopped"
    health = service.capture_health()
    assert health is not None and health.state == "stopped"
