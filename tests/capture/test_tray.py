"""Capture controls of the desktop app: the menu and its logic drive a real recorder on
Xvfb. The tray host itself cannot run here (offscreen Qt has no tray): tests that need
one say so in their names and replace only `tray_available`."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from app.gui import tray as tray_module
from app.gui.main_window import MainWindow
from app.gui.store_ops import StoreOps
from app.gui.tray import NO_TRAY, CaptureControls, install_capture
from core.capture.recorder import Recorder, display_state
from core.records import utcnow
from core.service import Service
from tests.capture.conftest import ShowWindow
from tests.capture.test_capture_x11 import FAST_CAPTURE


@pytest.fixture
def capture_service(data_dir: Path, embedder):  # type: ignore[no-untyped-def]
    settings = data_dir / "settings.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + FAST_CAPTURE, encoding="utf-8")
    with Service(data_dir, embedder=embedder) as opened:
        yield opened


def test_display_state_logic() -> None:
    assert display_state("recording", 3.0, 120.0) == "recording"
    assert display_state("recording", 500.0, 120.0) == "stale"
    assert display_state("recording", None, 120.0) == "stale"
    assert display_state("paused", 500.0, 120.0) == "paused"
    assert display_state("stopped", None, 120.0) == "stopped"


def test_capture_menu_start_pause_resume_quit_without_tray_host(
    qtbot, capture_service: Service, show_window: ShowWindow, xvfb: str
) -> None:  # type: ignore[no-untyped-def]
    show_window("Recipe", "Lemon tart needs four eggs", app="browser")
    ops = StoreOps()
    controls = CaptureControls(lambda: capture_service.open_recorder(xvfb), ops)

    def act(action: QAction) -> None:
        """Trigger a menu action and wait for its op on the store executor."""
        with qtbot.waitSignal(controls.settled, timeout=30_000):
            action.trigger()

    states: list[str] = []
    controls.state_changed.connect(states.append)
    labels = [a.text() for a in controls.menu.actions() if a.text()]
    assert labels[1:] == [
        "Start capture",
        "Pause 15 minutes",
        "Pause 1 hour",
        "Pause until resumed",
        "Quick ask…",
        "Show window",
        "Quit Rememora",
    ]
    assert controls.state == "stopped" and not controls.pause_actions[0].isEnabled()

    act(controls.start_action)
    assert controls.state == "recording" and states[-1] == "recording"
    assert not controls.start_action.isEnabled()
    qtbot.waitUntil(
        lambda: controls.recorder is not None and controls.recorder.health().counters.kept >= 1,
        timeout=10_000,
    )

    act(controls.pause_actions[0])  # 15 minutes
    recorder = controls.recorder
    assert recorder is not None and controls.state == "paused"
    until = recorder.paused_until
    assert until is not None and abs((until - utcnow()) - timedelta(minutes=15)) < timedelta(
        seconds=5
    )
    assert controls.start_action.text() == "Resume capture"
    act(controls.pause_actions[1])  # 1 hour replaces it
    assert recorder.paused_until is not None and recorder.paused_until - utcnow() > timedelta(
        minutes=59
    )
    act(controls.pause_actions[2])  # until resumed
    assert recorder.paused_until is None and controls.state == "paused"
    time.sleep(0.5)
    with qtbot.waitSignal(controls.state_changed, timeout=10_000):
        controls.refresh()  # the state is read again, on the store executor
    assert "paused until resumed" in controls.describe_state()

    act(controls.start_action)
    assert controls.state == "recording"

    with qtbot.waitSignal(controls.quit_requested, timeout=10_000):
        controls.quit_action.trigger()
    assert controls.recorder is None and controls.state == "stopped"
    health = capture_service.capture_health()
    assert health is not None and health.state == "stopped" and int(health.counters.kept) >= 1
    assert ops.close()


def test_start_without_a_screen_says_why(qtbot, capture_service: Service) -> None:  # type: ignore[no-untyped-def]
    ops = StoreOps()
    controls = CaptureControls(lambda: capture_service.open_recorder(":987"), ops)
    with qtbot.waitSignal(controls.settled, timeout=30_000):
        controls.start_action.trigger()
    assert controls.state == "stopped"
    assert controls.describe_state().startswith("Capture failed:")
    assert "X display" in controls.describe_state()


def test_no_tray_keeps_the_window_and_says_so(qtbot, capture_service: Service) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    window = MainWindow(capture_service)
    qtbot.addWidget(window)
    controls, tray = install_capture(app, window, capture_service)
    assert tray is None  # offscreen Qt has no tray
    assert window.status_label.text() == NO_TRAY
    assert controls.menu in [a.menu() for a in window.menuBar().actions()]
    window.show()
    window.close()
    assert not window.isVisible()
    assert app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(True)


def test_closing_the_window_hides_it_to_the_tray_mocked_tray_host(
    qtbot, capture_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    monkeypatch.setattr(tray_module, "tray_available", lambda: True)  # no tray host offscreen
    app = QApplication.instance()
    window = MainWindow(capture_service)
    qtbot.addWidget(window)
    controls, tray = install_capture(app, window, capture_service)
    try:
        assert tray is not None and tray.icon.contextMenu() is controls.menu
        assert not app.quitOnLastWindowClosed()
        notes: list[str] = []
        monkeypatch.setattr(tray.icon, "showMessage", lambda _t, text, *_a: notes.append(text))
        window.show()
        window.close()
        assert window.isHidden()  # hidden, not closed: capture goes on in the tray
        assert notes == [tray_module.CLOSED_NOTE]  # said the first time
        controls.show_action.trigger()
        assert window.isVisible()
        window.close()
        assert len(notes) == 1  # and only then
        controls.show_action.trigger()
        controls.quick_ask_action.trigger()
        quick = window.findChild(tray_module.QuickAsk)
        assert quick is not None and quick.isVisible()
        quick.close()
        with qtbot.waitSignal(controls.quit_requested, timeout=30_000):
            controls.quit_action.trigger()  # stops capture on the store executor first
        assert not window.isVisible()
    finally:
        app.setQuitOnLastWindowClosed(True)


def test_quick_clicks_open_one_recorder_and_quit_stops_it(
    qtbot, capture_service: Service, show_window: ShowWindow, xvfb: str
) -> None:  # type: ignore[no-untyped-def]
    """Actions queue on the store executor in order: a second start before the first
    has opened the screen resumes it, and a quit right behind them stops that recorder."""
    show_window("Notes", "Quick clicks", app="notes")
    opened: list[Recorder] = []

    def open_recorder() -> Recorder:
        opened.append(capture_service.open_recorder(xvfb))
        return opened[-1]

    ops = StoreOps()
    controls = CaptureControls(open_recorder, ops)
    with qtbot.waitSignal(controls.quit_requested, timeout=30_000):
        controls.start_action.trigger()
        controls.start_action.trigger()
        controls.quit_action.trigger()
    assert len(opened) == 1 and opened[0].state == "stopped"
    assert controls.recorder is None and controls.state == "stopped"
    assert ops.close()
