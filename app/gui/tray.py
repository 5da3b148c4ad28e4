"""Capture controls for the desktop app: a tray icon showing recording / paused / stale
with a menu (start, pause 15 min / 1 h / until resumed, quit). Closing the main window
keeps capture running in the tray. Where the desktop has no tray (some desktops, the
offscreen platform) the same menu goes into the main window's menu bar, the window says
there is no tray, and closing it quits as usual."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

import assets
from app.gui.errors import describe
from app.gui.main_window import MainWindow
from core.capture.recorder import Recorder
from core.errors import RememoraError
from core.service import Service

REFRESH_MS = 2000
PAUSES = (("Pause 15 minutes", 15.0), ("Pause 1 hour", 60.0), ("Pause until resumed", None))
NO_TRAY = "No system tray on this desktop: capture controls are in the Capture menu, and closing the window quits."


class CaptureControls(QObject):
    """The capture menu and its state; a view of one lazily opened `Recorder`."""

    state_changed = Signal(str)
    quit_requested = Signal()

    def __init__(
        self, open_recorder: Callable[[], Recorder], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._open_recorder = open_recorder
        self.recorder: Recorder | None = None
        self.last_error = ""
        self.menu = QMenu("&Capture")
        self.status_action = QAction("Capture stopped", self.menu, enabled=False)
        self.start_action = QAction("Start capture", self.menu)
        self.pause_actions = [QAction(label, self.menu) for label, _ in PAUSES]
        self.show_action = QAction("Show window", self.menu)
        self.quit_action = QAction("Quit Rememora", self.menu)
        self.menu.addAction(self.status_action)
        self.menu.addSeparator()
        self.menu.addAction(self.start_action)
        for action, (_, minutes) in zip(self.pause_actions, PAUSES):
            action.triggered.connect(lambda _checked=False, m=minutes: self.pause(m))
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.show_action)
        self.menu.addAction(self.quit_action)
        self.start_action.triggered.connect(self.start)
        self.quit_action.triggered.connect(self.quit)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def start(self) -> None:
        """Start capturing, or resume a paused capture."""
        try:
            if self.recorder is None:
                self.recorder = self._open_recorder()
                self.recorder.start()
            else:
                self.recorder.resume()
            self.last_error = ""
        except RememoraError as error:
            self.last_error = describe(error)
        self.refresh()

    def pause(self, minutes: float | None) -> None:
        if self.recorder is not None:
            self.recorder.pause(minutes)
        self.refresh()

    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
            self.recorder = None
        self.refresh()

    def quit(self) -> None:
        self._timer.stop()
        self.stop()
        self.quit_requested.emit()

    @property
    def state(self) -> str:
        if self.recorder is None:
            return "stopped"
        return self.recorder.display_state()

    def describe_state(self) -> str:
        state = self.state
        if self.last_error:
            return f"Capture failed: {self.last_error}"
        if state == "stopped" or self.recorder is None:
            return "Capture stopped"
        if state == "paused":
            return f"Capture paused: {self.recorder.pause_reason or 'paused'}"
        if state == "stale":
            age = self.recorder.last_frame_age()
            return f"Capture stale: no frame for {age or 0:.0f} s"
        health = self.recorder.health()
        return f"Recording · {health['kept']} frames kept · OCR queue {health['ocr_queue']}"

    def refresh(self) -> None:
        state = self.state
        self.status_action.setText(self.describe_state())
        self.start_action.setText("Resume capture" if state == "paused" else "Start capture")
        self.start_action.setEnabled(state in ("stopped", "paused"))
        for action in self.pause_actions:
            action.setEnabled(state in ("recording", "stale", "paused"))
        self.state_changed.emit(state)


def state_icon(state: str) -> QIcon:
    name = {"recording": "tray-recording", "paused": "tray-paused", "stale": "tray-stale"}.get(
        state, "rememora"
    )
    return QIcon(assets.path(f"icons/{name}.svg"))


class CaptureTray(QObject):
    """The tray icon over `CaptureControls`; only made where a tray exists."""

    def __init__(self, controls: CaptureControls) -> None:
        super().__init__(controls)
        self.controls = controls
        self.icon = QSystemTrayIcon(state_icon(controls.state))
        self.icon.setContextMenu(controls.menu)
        self.icon.setToolTip("Rememora")
        controls.state_changed.connect(self._show_state)
        self._show_state(controls.state)
        self.icon.show()

    def _show_state(self, state: str) -> None:
        self.icon.setIcon(state_icon(state))
        self.icon.setToolTip(f"Rememora — {self.controls.describe_state()}")


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


def install_capture(
    app: QApplication, window: MainWindow, service: Service
) -> tuple[CaptureControls, CaptureTray | None]:
    """Wire capture controls into the app: a tray icon where one exists (closing the
    window then hides it), else the window's menu bar and a note in its status line."""
    controls = CaptureControls(service.open_recorder, window)
    tray = CaptureTray(controls) if tray_available() else None
    window.attach_capture(controls.menu, tray is not None, NO_TRAY)
    controls.show_action.triggered.connect(window.bring_back)
    controls.quit_requested.connect(window.quit_for_real)
    controls.quit_requested.connect(app.quit)
    app.setQuitOnLastWindowClosed(tray is None)
    app.aboutToQuit.connect(controls.stop)
    return controls, tray
