"""The app's background ingest: typed memories from pending events without a button.

A timer looks every ``ingest.background_interval_s`` seconds; when there is pending work
(events not recorded, batches not extracted), the user has not typed or run anything for
``ingest.idle_s`` seconds and no ingest is running, it runs `Service.ingest` on its own
`OpRunner` (its own thread: the UI never blocks, and a question asked meanwhile runs on
the window's runner). The ingest reaches the model through the worker's queue at ingest
priority, so that question's generation goes before the ingest's next model call.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from app.gui.errors import describe
from app.gui.ops import OpContext, OpRunner
from core.ingest.pipeline import IngestReport
from core.service import Service


class BackgroundIngest(QObject):
    progressed = Signal(str)  # a status line while it runs
    finished = Signal(object)  # IngestReport, or the error

    def __init__(self, service: Service, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.runner = OpRunner(self)
        settings = service.settings.ingest
        self.idle_s = settings.idle_s
        self._last_activity = time.monotonic()
        self._running: OpContext | None = None
        self.timer = QTimer(self, interval=max(1, int(settings.background_interval_s * 1000)))
        self.timer.timeout.connect(self.maybe_start)
        if settings.background_interval_s > 0:
            self.timer.start()

    @property
    def running(self) -> bool:
        return self._running is not None

    def note_activity(self) -> None:
        """The user typed or started something: wait ``idle_s`` before the next ingest."""
        self._last_activity = time.monotonic()

    def maybe_start(self) -> bool:
        """Start an ingest if one is due; True if it started."""
        if self.running or time.monotonic() - self._last_activity < self.idle_s:
            return False
        if self.service.pending_ingest() == 0:
            return False

        def work(context: OpContext) -> IngestReport:
            return self.service.ingest(context)

        self._running = self.runner.start(
            work, self._done, self._failed, on_progress=self._on_progress
        )
        self.progressed.emit("Background ingest: starting")
        return True

    def _on_progress(self, done: int, total: int, label: str) -> None:
        count = f" {done}/{total}" if total > 0 else ""
        self.progressed.emit(f"Background ingest: {label}{count}")

    def _done(self, report: IngestReport) -> None:
        self._running = None
        self.finished.emit(report)

    def _failed(self, error: BaseException) -> None:
        self._running = None
        self.progressed.emit(f"Background ingest stopped: {describe(error)}")
        self.finished.emit(error)

    def stop(self, msecs: int = 60000) -> bool:
        """No new ingest; the running one stops at its next step (it resumes next time)."""
        self.timer.stop()
        if self._running is not None:
            self._running.cancel()
        return self.runner.wait(msecs)
