"""File ▸ Consolidate now: the window's view of `Service.consolidate`, besides the
sleep-time schedule. A run holds the model for minutes, so it is a job on a runner of its
own (as a question is, not on the store executor: edits and status reads go on); the
window's progress bar follows its steps and the status line's Cancel stops it (a
cancelled run is logged as failed and can be undone). When it ends, its summary and the
undo command go to the status line and its changes go out to every view. A run already
in progress (the schedule's) is one line in the status line, and nothing starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.gui.errors import describe
from app.gui.ops import OpContext, OpRunner
from core.changes import Changes
from core.consolidate.report import ConsolidationReport
from core.records import MemoryType

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow

ACTION_TEXT = "Consolidate now"


class ConsolidateAction(QObject):
    finished = Signal(object)  # the ConsolidationReport, or the error

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._runner = OpRunner(self)
        window.archive.menu.addSeparator()
        self.action = window.archive.menu.addAction(ACTION_TEXT, self.start)
        self.action.setToolTip(
            "Merge duplicates, summarise, resolve contradictions and decay now (undoable)"
        )

    def start(self) -> None:
        window = self._window
        service = window.service
        self.action.setEnabled(False)
        window._busy(True)

        def work(context: OpContext) -> ConsolidationReport:
            return service.consolidate(progress=context)

        window.track(
            window.store_ops.job(
                self._runner,
                work,
                lambda _report: Changes.of_memories(set(MemoryType)),
                self._done,
                self._failed,
                on_progress=window._on_progress,
            )
        )

    def _done(self, report: ConsolidationReport) -> None:
        self._window._busy(False)
        self.action.setEnabled(True)
        self._window.show_notice(
            f"Consolidation: {report.summary()} (undo: rememora consolidate --undo {report.run_id})"
        )
        self.finished.emit(report)

    def _failed(self, error: BaseException) -> None:
        self._window._busy(False)
        self.action.setEnabled(True)
        self._window.show_notice(describe(error))
        self.finished.emit(error)

    def wait(self, msecs: int = 30000) -> bool:
        """Wait for a run started here to end (the window waits for it on close)."""
        self._runner.cancel_all()
        return self._runner.wait(msecs)
