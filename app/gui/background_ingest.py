"""The app's background ingest: typed memories from pending events without a button.

A timer looks every ``ingest.background_interval_s`` seconds; when the user has not
typed or run anything for ``ingest.idle_s`` seconds and no ingest is running, it asks the
store executor how much work is pending (events not recorded, batches not extracted: a
read, so a query op, never on the UI thread). With work pending it runs `Service.ingest`
as a job on its own `OpRunner` (its own thread: the UI never blocks, and a question
asked meanwhile runs on the window's runner). The ingest reaches the model through the
worker's queue at ingest priority, so that question's generation goes before the
ingest's next model call. When it ends, the memory types it wrote go out as `Changes`.

It also owns the sleep-time consolidation schedule (core's, on its own thread; see
core/consolidate/schedule.py): started with it when ``[consolidation] enabled``, told of
the user's input by :meth:`note_activity`, stopped by :meth:`stop`. A run's outcome is a
status line, and the memories it may have changed (every type) go out as `Changes`, so
the memories view, its held facts and the insights' runs re-read.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from app.gui.errors import describe
from app.gui.ops import OpContext, OpRunner
from app.gui.store_ops import StoreOps
from core.changes import Changes
from core.consolidate.report import ConsolidationReport
from core.ingest.pipeline import IngestReport
from core.records import MemoryType
from core.service import Service


class BackgroundIngest(QObject):
    progressed = Signal(str)  # a status line while it runs
    finished = Signal(object)  # IngestReport, or the error
    checked = Signal(bool)  # a due check found work and started an ingest, or did not
    consolidated = Signal(object)  # a scheduled run's ConsolidationReport, or its error

    def __init__(self, service: Service, ops: StoreOps, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.ops = ops
        self.runner = OpRunner(self)
        settings = service.settings.ingest
        self.idle_s = settings.idle_s
        self._last_activity = time.monotonic()
        self._running: OpContext | None = None
        self._checking = False
        self.timer = QTimer(self, interval=max(1, int(settings.background_interval_s * 1000)))
        self.timer.timeout.connect(self.maybe_start)
        if settings.background_interval_s > 0:
            self.timer.start()
        self.consolidated.connect(self._announce_consolidation)  # queued: the UI thread
        self.consolidation = service.consolidation_schedule(self._on_consolidated)
        if service.settings.consolidation.enabled:
            self.consolidation.start()

    @property
    def running(self) -> bool:
        return self._running is not None

    def note_activity(self) -> None:
        """The user typed or started something: wait ``idle_s`` before the next ingest
        (and the idle trigger of consolidation counts from now)."""
        self._last_activity = time.monotonic()
        self.consolidation.note_input()

    def _on_consolidated(self, trigger: str, result: object) -> None:
        """On the schedule's thread: a signal carries the line to the UI thread."""
        if isinstance(result, ConsolidationReport):
            self.progressed.emit(f"Consolidation ({trigger}): {result.summary()}")
        elif isinstance(result, BaseException):
            self.progressed.emit(f"Consolidation ({trigger}) stopped: {describe(result)}")
        self.consolidated.emit(result)

    def _announce_consolidation(self, _result: object) -> None:
        """A run (even a stopped one, which may have written part of its work) may have
        changed memories of any type."""
        self.ops.announce(Changes.of_memories(set(MemoryType)), self)

    def _due(self) -> bool:
        idle = time.monotonic() - self._last_activity >= self.idle_s
        return idle and not self.running and not self.ops.closed and not self.service.locked

    def maybe_start(self) -> bool:
        """If an ingest may be due, ask the store executor for pending work; True if a
        check was queued. `checked` says what the check found."""
        if self._checking or not self._due():
            return False

        def pending(_context: OpContext) -> int:
            return self.service.pending_ingest()

        self._checking = (
            self.ops.query(pending, self._on_pending, self._on_check_failed) is not None
        )
        return self._checking

    def _on_pending(self, count: int) -> None:
        self._checking = False
        started = count > 0 and self._due()
        if started:
            self._start()
        self.checked.emit(started)

    def _on_check_failed(self, error: BaseException) -> None:
        self._checking = False
        self.progressed.emit(f"Background ingest: cannot read the store: {describe(error)}")
        self.checked.emit(False)

    def _start(self) -> None:
        def work(context: OpContext) -> IngestReport:
            return self.service.ingest(context)

        self._running = self.ops.job(
            self.runner,
            work,
            Changes.of_ingest,
            self._done,
            self._failed,
            initiator=self,
            on_progress=self._on_progress,
        )
        if self._running is not None:
            self.progressed.emit("Background ingest: starting")

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
        """No new ingest; the running one stops at its next step (it resumes next time);
        a running consolidation stops at its next step too."""
        self.timer.stop()
        self.consolidation.stop()
        if self._running is not None:
            self._running.cancel()
        return self.runner.wait(msecs)
