"""Capture controls for the desktop app: a tray icon showing recording / paused / stale
with a menu (start, pause 15 min / 1 h / until resumed, quit). Closing the main window
keeps capture running in the tray. Where the desktop has no tray (some desktops, the
offscreen platform) the same menu goes into the main window's menu bar, the window says
there is no tray, and closing it quits as usual.

Opening the screen, stopping the loop (which reads the frames still queued for OCR) and
reading its health are ops on the store executor, never work on the UI thread: each
action op reads the state back before it returns, and a timer reads it every
``REFRESH_MS`` too (stale and timed pauses change with time alone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLineEdit,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QTextBrowser,
    QVBoxLayout,
)

import assets
from app.gui.errors import describe
from app.gui.main_window import MainWindow
from app.gui.ops import OpContext
from app.gui.store_ops import StoreOps
from core.capture.recorder import CaptureHealth, Recorder
from core.changes import CAPTURE_CHANGED, Changes
from core.service import Service

REFRESH_MS = 2000
PAUSES = (("Pause 15 minutes", 15.0), ("Pause 1 hour", 60.0), ("Pause until resumed", None))
NO_TRAY = "No system tray on this desktop: capture controls are in the Capture menu, and closing the window quits."


@dataclass(frozen=True)
class CaptureView:
    """The capture state as the menu shows it, read on the store executor."""

    state: str  # recording, paused, stale or stopped
    pause_reason: str = ""
    last_frame_age: float | None = None
    health: CaptureHealth | None = None


STOPPED = CaptureView("stopped")


def read_view(recorder: Recorder | None) -> CaptureView:
    if recorder is None:
        return STOPPED
    return CaptureView(
        recorder.display_state(),
        recorder.pause_reason,
        recorder.last_frame_age(),
        recorder.health(),
    )


class _Held:
    """The recorder as the store executor sees it: set and cleared only by ops, which
    run in order, so a stop queued behind a start stops the recorder that start opened
    (and a second start resumes it instead of opening another)."""

    recorder: Recorder | None = None


class CaptureControls(QObject):
    """The capture menu and its state; a view of one lazily opened `Recorder`.
    ``recorder`` is the one the last action left (the UI thread's copy)."""

    state_changed = Signal(str)  # after each read of the state
    settled = Signal(str)  # a start, pause, resume or stop ended; the state after it
    quit_requested = Signal()

    def __init__(
        self,
        open_recorder: Callable[[], Recorder],
        store_ops: StoreOps,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._open_recorder = open_recorder
        self.store_ops = store_ops
        self.recorder: Recorder | None = None
        self._held = _Held()
        self.last_error = ""
        self._view = STOPPED
        self._reading = False
        self.menu = QMenu("&Capture")
        self.status_action = QAction("Capture stopped", self.menu, enabled=False)
        self.start_action = QAction("Start capture", self.menu)
        self.pause_actions = [QAction(label, self.menu) for label, _ in PAUSES]
        self.quick_ask_action = QAction("Quick ask…", self.menu)
        self.show_action = QAction("Show window", self.menu)
        self.quit_action = QAction("Quit Rememora", self.menu)
        self.menu.addAction(self.status_action)
        self.menu.addSeparator()
        self.menu.addAction(self.start_action)
        for action, (_, minutes) in zip(self.pause_actions, PAUSES):
            action.triggered.connect(lambda _checked=False, m=minutes: self.pause(m))
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.quick_ask_action)
        self.menu.addAction(self.show_action)
        self.menu.addAction(self.quit_action)
        self.start_action.triggered.connect(self.start)
        self.quit_action.triggered.connect(self.quit)
        store_ops.changed.connect(self._on_changes)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._show(STOPPED)

    # -- actions: ops on the store executor ------------------------------------------------
    def start(self) -> None:
        """Start capturing, or resume a paused capture."""

        def work(_context: OpContext) -> tuple[Recorder, CaptureView]:
            recorder = self._held.recorder
            if recorder is None:
                recorder = self._open_recorder()
                recorder.start()
                self._held.recorder = recorder
            else:
                recorder.resume()
            return recorder, read_view(recorder)

        self._act(work)

    def pause(self, minutes: float | None) -> None:
        def work(_context: OpContext) -> tuple[Recorder | None, CaptureView]:
            recorder = self._held.recorder
            if recorder is not None:
                recorder.pause(minutes)
            return recorder, read_view(recorder)

        self._act(work)

    def stop(self, then: Callable[[], None] | None = None) -> None:
        """Stop capturing (the frames queued for OCR are read first); ``then`` runs after."""
        if self.store_ops.closed:  # the window has finished: the app is going away
            self.shutdown()
            if then is not None:
                then()
            return

        def work(_context: OpContext) -> tuple[None, CaptureView]:
            recorder, self._held.recorder = self._held.recorder, None
            if recorder is not None:
                recorder.stop()
            return None, STOPPED

        self._act(work, then)

    def quit(self) -> None:
        self._timer.stop()
        self.stop(then=self.quit_requested.emit)

    def shutdown(self) -> None:
        """The app is exiting (no event loop to deliver an op's result): wait for the
        store executor's queue, then stop the recorder here."""
        self._timer.stop()
        self.store_ops.wait()
        recorder, self._held.recorder = self._held.recorder, None
        if recorder is not None:
            recorder.stop()
        self.recorder = None
        self._show(STOPPED)

    def _act(
        self,
        work: Callable[[OpContext], tuple[Recorder | None, CaptureView]],
        then: Callable[[], None] | None = None,
    ) -> None:
        def done(result: tuple[Recorder | None, CaptureView]) -> None:
            self.recorder, view = result
            self.last_error = ""
            self._show(view)
            self.settled.emit(view.state)
            if then is not None:
                then()

        def failed(error: BaseException) -> None:
            self.last_error = describe(error)
            self._show(self._view)
            self.settled.emit(self._view.state)
            if then is not None:
                then()

        self.store_ops.write(work, lambda _result: CAPTURE_CHANGED, done, failed, initiator=self)

    # -- reading the state -----------------------------------------------------------------
    def _on_changes(self, changes: Changes, initiator: object) -> None:
        if changes.capture and initiator is not self:
            self.refresh()

    def refresh(self) -> None:
        """Read the state on the store executor (one read at a time) and show it."""
        if self._reading:
            return
        if self.recorder is None and not self.store_ops.busy:  # stopped, nothing coming
            self._show(STOPPED)
            return

        def read(_context: OpContext) -> CaptureView:
            return read_view(self._held.recorder)

        def show(view: CaptureView) -> None:
            self._reading = False
            self._show(view)

        def failed(error: BaseException) -> None:
            self._reading = False
            self.last_error = describe(error)
            self._show(self._view)

        self._reading = self.store_ops.query(read, show, failed) is not None

    @property
    def state(self) -> str:
        return self._view.state

    def describe_state(self) -> str:
        view = self._view
        if self.last_error:
            return f"Capture failed: {self.last_error}"
        if view.state == "stopped":
            return "Capture stopped"
        if view.state == "paused":
            return f"Capture paused: {view.pause_reason or 'paused'}"
        if view.state == "stale":
            return f"Capture stale: no frame for {view.last_frame_age or 0:.0f} s"
        health = view.health
        kept, queued = (health.counters.kept, health.ocr_queue) if health else (0, 0)
        return f"Recording · {kept} frames kept · OCR queue {queued}"

    def _show(self, view: CaptureView) -> None:
        self._view = view
        state = view.state
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


CLOSED_NOTE = (
    "Rememora is still running in the tray, and capture goes on as it was. "
    "Quit from the tray menu to stop it."
)


class CaptureTray(QObject):
    """The tray icon over `CaptureControls`; only made where a tray exists."""

    def __init__(self, controls: CaptureControls) -> None:
        super().__init__(controls)
        self.controls = controls
        self.icon = QSystemTrayIcon(state_icon(controls.state))
        self.icon.setContextMenu(controls.menu)
        self.icon.setToolTip("Rememora")
        self.noted_close = False
        controls.state_changed.connect(self._show_state)
        self._show_state(controls.state)
        self.icon.show()

    def note_closed(self) -> None:
        """The window was closed: say once that Rememora keeps running in the tray."""
        if not self.noted_close:
            self.noted_close = True
            self.icon.showMessage("Rememora", CLOSED_NOTE, state_icon(self.controls.state), 8000)

    def _show_state(self, state: str) -> None:
        self.icon.setIcon(state_icon(state))
        self.icon.setToolTip(f"Rememora — {self.controls.describe_state()}")


class QuickAsk(QDialog):
    """A small ask window from the tray: the question goes through the main window's
    ask (the one path: streaming, citations, the ask log); the answer streams here."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("Rememora — quick ask")
        self.resize(520, 260)
        self.question = QLineEdit(placeholderText="Ask about your past…")
        self.answer = QTextBrowser()
        self.open_button = QPushButton("Open in Rememora")
        self.open_button.clicked.connect(self._open_window)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(self.answer, 1)
        layout.addWidget(self.open_button)
        self.question.returnPressed.connect(self.ask)
        self._asking = False
        window.answer_token.connect(self._token)
        window.answer_finished.connect(self._finished)

    def open_here(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()
        self.question.setFocus()

    def ask(self) -> None:
        text = self.question.text().strip()
        if not text or not self.window_.ask_button.isEnabled():
            return
        self._asking = True
        self.answer.clear()
        self.window_.question.setText(text)
        self.window_.ask()

    def _token(self, piece: str) -> None:
        if self._asking:
            self.answer.moveCursor(QTextCursor.MoveOperation.End)
            self.answer.insertPlainText(piece)

    def _finished(self, result: object) -> None:
        if not self._asking:
            return
        self._asking = False
        if isinstance(result, BaseException):
            self.answer.setPlainText(describe(result))
        elif not getattr(result, "context", True):
            self.answer.append("\nNothing in memory about that.")

    def _open_window(self) -> None:
        self.hide()
        self.window_.tabs.setCurrentIndex(0)
        self.window_.bring_back()


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


def install_capture(
    app: QApplication, window: MainWindow, service: Service
) -> tuple[CaptureControls, CaptureTray | None]:
    """Wire capture controls into the app: a tray icon where one exists (closing the
    window then hides it), else the window's menu bar and a note in its status line.
    The controls share the window's store executor."""
    controls = CaptureControls(service.open_recorder, window.store_ops, window)
    tray = CaptureTray(controls) if tray_available() else None
    window.attach_capture(controls.menu, tray is not None, NO_TRAY)
    controls.show_action.triggered.connect(window.bring_back)
    quick = QuickAsk(window)
    controls.quick_ask_action.triggered.connect(quick.open_here)
    window.quick_ask = quick  # type: ignore[attr-defined]
    if tray is not None:
        window.closed_to_tray.connect(tray.note_closed)
        tray.icon.activated.connect(
            lambda reason: (
                window.bring_back() if reason == QSystemTrayIcon.ActivationReason.Trigger else None
            )
        )
    controls.quit_requested.connect(window.quit_for_real)
    controls.quit_requested.connect(app.quit)
    app.setQuitOnLastWindowClosed(tray is None)
    app.aboutToQuit.connect(controls.shutdown)
    return controls, tray
