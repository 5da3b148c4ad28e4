"""The main window: an Ask box whose answer streams in from a job thread, a box to tell
Rememora something, the memories an answer rests on, and a status line.

It is a view of one `Service` that never reads or writes the store on the UI thread:
reads and short writes are ops on the window's `StoreOps` (which the tray and the
background ingest share), ask is a job on its own runner. The status line and the
sources list refresh from the `Changes` that ops broadcast, each only when they name
what it shows.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import assets
from app.gui.archive_actions import ArchiveActions
from app.gui.background_ingest import BackgroundIngest
from app.gui.errors import describe
from app.gui.ops import OpContext, OpRunner
from app.gui.store_ops import StoreOps
from core.answering.answer import Answer
from core.changes import EVENTS_ADDED, Changes
from core.health import StatusReport
from core.ingest.pipeline import IngestReport
from core.records import EventId, Memory
from core.service import Service

PROGRESS_DELAY_MS = 600
CITED = "Cited memories"
DREW_ON = "Memories the answer drew on (the model cited none by number)"
UNSUPPORTED = "No memory holds the answer"


class MainWindow(QMainWindow):
    """A view of one `Service`; its store work goes through `store_ops`, its questions
    through `jobs`."""

    answer_finished = Signal(object)  # Answer, or the error
    answer_token = Signal(str)  # each streamed piece, after it is shown
    memory_added = Signal(int)
    background_ingested = Signal(object)  # IngestReport, or the error
    status_shown = Signal(object)  # the StatusReport the status line shows now, or the error

    def __init__(self, service: Service, store_ops: StoreOps | None = None) -> None:
        super().__init__()
        self.service = service
        self.store_ops = store_ops or StoreOps(self)
        self.jobs = OpRunner(self)  # questions: a long job, beside the store executor
        self.setWindowTitle("Rememora")
        self.setWindowIcon(QIcon(assets.path("icons/rememora.svg")))
        self.resize(760, 560)

        self.question = QLineEdit(placeholderText="Ask about your past…")
        self.ask_button = QPushButton("Ask")
        self.answer_view = QTextBrowser()
        self.answer_view.setPlaceholderText("Answers appear here, with the memories they cite.")
        self.sources = QListWidget()
        self.sources.setMaximumHeight(110)
        self.note = QLineEdit(placeholderText="Tell Rememora something to remember…")
        self.remember_button = QPushButton("Remember")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status_label = QLabel()

        ask_row = QHBoxLayout()
        ask_row.addWidget(self.question, 1)
        ask_row.addWidget(self.ask_button)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note, 1)
        note_row.addWidget(self.remember_button)
        layout = QVBoxLayout()
        layout.addLayout(ask_row)
        layout.addWidget(self.answer_view, 1)
        self.sources_label = QLabel(CITED)
        layout.addWidget(self.sources_label)
        layout.addWidget(self.sources)
        layout.addLayout(note_row)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

        self._notice = ""  # the last op's message, shown before the figures
        self._figures = ""  # the store's figures, from the last status read
        self._status_reading = False
        self._status_stale = False
        self._shown: tuple[Memory, ...] = ()  # the memories in the sources list
        self._hide_on_close = False
        self._finished = False
        self._progress_timer = QTimer(self, singleShot=True, interval=PROGRESS_DELAY_MS)
        self._progress_timer.timeout.connect(lambda: self.progress.setVisible(True))
        self.ask_button.clicked.connect(self.ask)
        self.question.returnPressed.connect(self.ask)
        self.remember_button.clicked.connect(self.remember)
        self.note.returnPressed.connect(self.remember)
        self.store_ops.changed.connect(self._on_changes)
        self.background = BackgroundIngest(service, self.store_ops, self)
        self.background.progressed.connect(self.show_notice)
        self.background.finished.connect(self._on_background_ingest)
        for box in (self.question, self.note):
            box.textEdited.connect(lambda _text: self.background.note_activity())
        self.archive = ArchiveActions(self)  # File ▸ Export… / Import…
        self._read_status()

    # -- change events --------------------------------------------------------------------
    def _on_changes(self, changes: Changes, initiator: object) -> None:
        """Refresh what the changes name: the status line's figures, the sources list."""
        if changes.touches_status:
            self._read_status()
        shown_types = {memory.type for memory in self._shown}
        if initiator is not self.sources and changes.memories & shown_types:
            self._reread_sources()

    # -- status -------------------------------------------------------------------------
    @property
    def has_figures(self) -> bool:
        """The status line shows the store's figures (the first read has come back)."""
        return bool(self._figures)

    def show_notice(self, text: str) -> None:
        """A message before the status figures (an op's progress, result or error)."""
        self._notice = text
        self._show_status()

    def _show_status(self) -> None:
        parts = [part for part in (self._notice, self._figures) if part]
        self.status_label.setText(" · ".join(parts))

    def _read_status(self) -> None:
        """Read the figures on the store executor; one read at a time, and one more after
        it when changes came in meanwhile."""
        if self._status_reading:
            self._status_stale = True
            return

        def read(_context: OpContext) -> StatusReport:
            return self.service.status()

        self._status_reading = (
            self.store_ops.query(read, self._on_status, self._on_status_failed) is not None
        )

    def _on_status(self, report: StatusReport) -> None:
        total = sum(report.memories.values())
        self._figures = f"{total} memories · model {report.llm} · {report.data_dir}"
        self._show_status()
        self._status_read_done()
        self.status_shown.emit(report)

    def _on_status_failed(self, error: BaseException) -> None:
        self._figures = f"status unavailable: {describe(error)}"
        self._show_status()
        self._status_read_done()
        self.status_shown.emit(error)

    def _status_read_done(self) -> None:
        self._status_reading = False
        if self._status_stale:
            self._status_stale = False
            self._read_status()

    def _on_background_ingest(self, result: object) -> None:
        if isinstance(result, IngestReport):
            self.show_notice(f"Background ingest: {result.summary()}")
        self.background_ingested.emit(result)

    def _busy(self, busy: bool) -> None:
        self.background.note_activity()
        self.ask_button.setEnabled(not busy)
        self.remember_button.setEnabled(not busy)
        if busy:
            self.progress.setRange(0, 0)
            self._progress_timer.start()
        else:
            self._progress_timer.stop()
            self.progress.setVisible(False)

    def _on_progress(self, done: int, total: int, label: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)
        self.progress.setFormat(label)
        self.show_notice(label)

    # -- ask ----------------------------------------------------------------------------
    def ask(self) -> None:
        question = self.question.text().strip()
        if not question or not self.ask_button.isEnabled():
            return
        self.answer_view.clear()
        self._show_sources((), CITED)
        self._busy(True)

        def work(context: OpContext) -> Answer:
            return self.service.ask(question, context.emit_token, context)

        self.store_ops.job(
            self.jobs,
            work,
            lambda result: result.changes,
            self._on_answer,
            self._on_answer_failed,
            initiator=self.sources,  # the answer brings its memories: no re-read for it
            on_token=self._append_token,
            on_progress=self._on_progress,
        )

    def _append_token(self, piece: str) -> None:
        cursor = self.answer_view.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)
        self.answer_view.setTextCursor(cursor)
        self.answer_token.emit(piece)

    def _on_answer(self, result: Answer) -> None:
        self._busy(False)
        self.show_notice("")
        self.answer_view.setPlainText(result.text)  # the checked answer, as streamed or not
        label = CITED if result.cited or not result.context else DREW_ON
        self._show_sources(result.memories, label if result.supported else UNSUPPORTED)
        self.answer_finished.emit(result)

    def _on_answer_failed(self, error: BaseException) -> None:
        self._busy(False)
        self.show_notice("")
        self.answer_view.setPlainText(describe(error))
        self.answer_finished.emit(error)

    # -- the sources list -------------------------------------------------------------------
    def _show_sources(self, memories: tuple[Memory, ...], label: str) -> None:
        self._shown = memories
        self.sources.clear()
        for memory in memories:
            self.sources.addItem(f"{memory.id}  {memory.text}")
        self.sources_label.setText(label)

    def _reread_sources(self) -> None:
        """Memories the list shows were rewritten (merged, redacted): show them as they
        are now, still in the answer's order."""
        ids = [memory.id for memory in self._shown]

        def read(_context: OpContext) -> list[Memory]:
            return self.service.memories(ids)

        def show(memories: list[Memory]) -> None:
            if [memory.id for memory in self._shown] == ids:  # no newer answer meanwhile
                self._show_sources(tuple(memories), self.sources_label.text())

        self.store_ops.query(read, show, lambda error: self.show_notice(describe(error)))

    # -- remember -----------------------------------------------------------------------
    def remember(self) -> None:
        text = self.note.text().strip()
        if not text or not self.remember_button.isEnabled():
            return
        self._busy(True)

        def work(context: OpContext) -> tuple[EventId, IngestReport]:
            event_id = self.service.add_chat_turn("user", text)
            # its raw record now; typed memories come from the background ingest
            return event_id, self.service.record_events(context)

        def done(result: tuple[EventId, IngestReport]) -> None:
            self._busy(False)
            self.note.clear()
            self.show_notice("")
            self.memory_added.emit(result[0])

        def failed(error: BaseException) -> None:
            self._busy(False)
            self.show_notice(describe(error))

        self.store_ops.write(
            work,
            lambda result: EVENTS_ADDED | Changes.of_ingest(result[1]),
            done,
            failed,
            on_progress=self._on_progress,
        )

    # -- capture (app/gui/tray.py wires it) ---------------------------------------------
    def attach_capture(self, menu: QMenu, in_tray: bool, no_tray_note: str) -> None:
        """With a tray, closing the window hides it and capture goes on; without one the
        capture menu is in the menu bar and the status line says there is no tray."""
        self._hide_on_close = in_tray
        if not in_tray:
            self.menuBar().addMenu(menu)
            self.show_notice(no_tray_note)

    def bring_back(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit_for_real(self) -> None:
        self._hide_on_close = False
        self.close()

    def finish(self, msecs: int = 60000) -> bool:
        """Stop the background ingest, wait for the question and the store executor, and
        start nothing more: after this the service may be closed."""
        if self._finished:
            return True
        self._finished = True
        stopped = self.background.stop(msecs)
        self.jobs.cancel_all()
        answered = self.jobs.wait(msecs)
        return self.store_ops.close(msecs) and stopped and answered

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self._hide_on_close:
            self.hide()
            event.ignore()
            return
        self.finish()
        super().closeEvent(event)
