"""The main window: an Ask box whose answer streams in from a worker thread, a box to
tell Rememora something, and a status line. The GUI issue grows it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QIcon, QTextCursor
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
from app.gui.background_ingest import BackgroundIngest
from app.gui.errors import describe
from app.gui.ops import OpContext, OpRunner
from core.answering.answer import Answer
from core.ingest.pipeline import IngestReport
from core.service import Service

PROGRESS_DELAY_MS = 600


class MainWindow(QMainWindow):
    """A view of one `Service`; all its work goes through `OpRunner`."""

    answer_finished = Signal(object)  # Answer, or the error
    answer_token = Signal(str)  # each streamed piece, after it is shown
    memory_added = Signal(int)
    background_ingested = Signal(object)  # IngestReport, or the error

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service
        self.ops = OpRunner(self)
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
        self.sources_label = QLabel("Cited memories")
        layout.addWidget(self.sources_label)
        layout.addWidget(self.sources)
        layout.addLayout(note_row)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

        self._progress_timer = QTimer(self, singleShot=True, interval=PROGRESS_DELAY_MS)
        self._progress_timer.timeout.connect(lambda: self.progress.setVisible(True))
        self.ask_button.clicked.connect(self.ask)
        self.question.returnPressed.connect(self.ask)
        self.remember_button.clicked.connect(self.remember)
        self.note.returnPressed.connect(self.remember)
        self.background = BackgroundIngest(service, self)
        self.background.progressed.connect(self.status_label.setText)
        self.background.finished.connect(self._on_background_ingest)
        for box in (self.question, self.note):
            box.textEdited.connect(lambda _text: self.background.note_activity())
        self.refresh_status()

    # -- status -------------------------------------------------------------------------
    def refresh_status(self) -> None:
        report = self.service.status()
        total = sum(report.memories.values())
        self.status_label.setText(f"{total} memories · model {report.llm} · {report.data_dir}")

    def _on_background_ingest(self, result: object) -> None:
        if isinstance(result, IngestReport):
            self.refresh_status()
            self.status_label.setText(
                f"Background ingest: {result.summary()} · {self.status_label.text()}"
            )
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
        self.status_label.setText(label)

    # -- ask ----------------------------------------------------------------------------
    def ask(self) -> None:
        question = self.question.text().strip()
        if not question or not self.ask_button.isEnabled():
            return
        self.answer_view.clear()
        self.sources.clear()
        self._busy(True)

        def work(context: OpContext) -> Answer:
            return self.service.ask(question, context.emit_token, context)

        self.ops.start(
            work,
            self._on_answer,
            self._on_answer_failed,
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
        memories = self.service.store.get_many(list(result.cited or result.context))
        for memory_id in result.cited or result.context:
            memory = memories.get(memory_id)
            if memory is not None:
                self.sources.addItem(f"{memory.id}  {memory.text}")
        self.sources_label.setText(
            "Cited memories"
            if result.cited or not result.context
            else "Memories the answer drew on (the model cited none by number)"
        )
        self.refresh_status()
        self.answer_finished.emit(result)

    def _on_answer_failed(self, error: BaseException) -> None:
        self._busy(False)
        self.answer_view.setPlainText(describe(error))
        self.refresh_status()
        self.answer_finished.emit(error)

    # -- remember -----------------------------------------------------------------------
    def remember(self) -> None:
        text = self.note.text().strip()
        if not text or not self.remember_button.isEnabled():
            return
        self._busy(True)

        def work(_context: OpContext) -> Any:
            event_id = self.service.add_chat_turn("user", text)
            self.service.record_events(_context)  # typed memories: the background ingest
            return event_id

        def done(event_id: int) -> None:
            self._busy(False)
            self.note.clear()
            self.refresh_status()
            self.memory_added.emit(event_id)

        def failed(error: BaseException) -> None:
            self._busy(False)
            self.status_label.setText(describe(error))

        self.ops.start(work, done, failed, on_progress=self._on_progress)

    # -- capture (app/gui/tray.py wires it) ---------------------------------------------
    def attach_capture(self, menu: QMenu, in_tray: bool, no_tray_note: str) -> None:
        """With a tray, closing the window hides it and capture goes on; without one the
        capture menu is in the menu bar and the status line says there is no tray."""
        self._hide_on_close = in_tray
        if not in_tray:
            self.menuBar().addMenu(menu)
            self.status_label.setText(no_tray_note)

    def bring_back(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit_for_real(self) -> None:
        self._hide_on_close = False
        self.close()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if getattr(self, "_hide_on_close", False):
            self.hide()
            event.ignore()
            return
        self.background.stop()
        self.ops.wait()
        super().closeEvent(event)
