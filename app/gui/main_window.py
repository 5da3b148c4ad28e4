"""The main window: Ask (a conversation whose answers stream in from a job thread, the
cited memories apart from the text and clickable, a searchable history of past
questions, a box to tell Rememora something), Memories, Timeline, Insights and Settings,
and a status line with progress and Cancel for long work.

It is a view of one `Service` that never reads or writes the store on the UI thread:
reads and short writes are ops on the window's `StoreOps` (which the tray, the views and
the background ingest share), ask is a job on its own runner. Each view refreshes from
the `Changes` that ops broadcast, only when they name what it shows.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import assets
from app.gui.archive_actions import ArchiveActions
from app.gui.background_ingest import BackgroundIngest
from app.gui.consolidate_action import ConsolidateAction
from app.gui.errors import describe
from app.gui.garbage import collect_on_ui_thread, release
from app.gui.memories_view import MemoriesView
from app.gui.memory_dialog import MemoryDialog, when
from app.gui.ops import OpContext, OpRunner
from app.gui.store_ops import StoreOps
from core.answering.answer import Answer
from core.changes import EVENTS_ADDED, Changes
from core.desktop import AskTurn
from core.health import StatusReport
from core.ingest.pipeline import IngestReport
from core.records import EventId, Memory, MemoryId
from core.service import Service

PROGRESS_DELAY_MS = 600
CITED = "Cited memories — click one to open it and its source"
DREW_ON = "Memories the answer drew on (the model cited none by number) — click to open"
UNSUPPORTED = "No memory holds the answer"
NOTHING = "Nothing in memory about that."
HISTORY_DELAY_MS = 250


class MainWindow(QMainWindow):
    """A view of one `Service`; its store work goes through `store_ops`, its questions
    through `jobs`."""

    answer_finished = Signal(object)  # Answer, or the error
    answer_token = Signal(str)  # each streamed piece, after it is shown
    memory_added = Signal(int)
    background_ingested = Signal(object)  # IngestReport, or the error
    status_shown = Signal(object)  # the StatusReport the status line shows now, or the error
    history_shown = Signal(object)  # the past questions listed, or the error
    citation_opened = Signal(object)  # the MemoryDialog a click on a citation opened

    def __init__(self, service: Service, store_ops: StoreOps | None = None) -> None:
        super().__init__()
        self.service = service
        self.store_ops = store_ops or StoreOps(self)
        self.jobs = OpRunner(self)  # questions: a long job, beside the store executor
        self.setWindowTitle("Rememora")
        self.setWindowIcon(QIcon(assets.path("icons/rememora.svg")))
        self.resize(1120, 740)

        # -- ask ---------------------------------------------------------------------------
        self.question = QLineEdit(placeholderText="Ask about your past…")
        self.ask_button = QPushButton("Ask")
        self.ask_button.setDefault(True)
        self.conversation = QTextBrowser()
        self.conversation.setOpenLinks(False)
        self.conversation.anchorClicked.connect(
            lambda url: self.open_citation(MemoryId(url.path()))
        )
        self.conversation.setPlaceholderText(
            "Ask about anything you chatted or saw: answers come from your own memory, "
            "with the memories they cite."
        )
        self.asked_label = QLabel()
        self.asked_label.setWordWrap(True)
        self.asked_label.setStyleSheet("font-weight: bold;")
        self.answer_view = QTextBrowser()
        self.answer_view.setPlaceholderText("The answer streams in here.")
        self.nothing_label = QLabel(NOTHING)
        self.nothing_label.setStyleSheet(
            "color: #8a5a00; background: #fff6df; border: 1px solid #f0d9a0; "
            "border-radius: 4px; padding: 6px;"
        )
        self.nothing_label.setVisible(False)
        self.sources = QListWidget()
        self.sources.setMaximumHeight(150)
        self.sources.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.sources.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sources.setVisible(False)
        self.sources.itemClicked.connect(self._on_source_clicked)
        self.note = QLineEdit(placeholderText="Tell Rememora something to remember…")
        self.remember_button = QPushButton("Remember")
        self.history_search = QLineEdit(placeholderText="Search past questions…")
        self.history_search.setClearButtonEnabled(True)
        self.history_list = QListWidget()
        self.history_list.setWordWrap(True)
        self.history_list.itemClicked.connect(self._on_history_clicked)
        self.history_empty = QLabel("No questions yet.")
        self.history_empty.setStyleSheet("color: #777;")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(260)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_work)
        self.status_label = QLabel()

        ask_row = QHBoxLayout()
        ask_row.addWidget(self.question, 1)
        ask_row.addWidget(self.ask_button)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note, 1)
        note_row.addWidget(self.remember_button)
        history = QWidget()
        history_layout = QVBoxLayout(history)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_layout.addWidget(QLabel("<b>Past questions</b>"))
        history_layout.addWidget(self.history_search)
        history_layout.addWidget(self.history_list, 1)
        history_layout.addWidget(self.history_empty)
        self.conversation.setVisible(False)  # shown once there is an earlier turn
        chat = QWidget()
        chat_layout = QVBoxLayout(chat)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.addLayout(ask_row)
        chat_layout.addWidget(self.conversation, 3)
        chat_layout.addWidget(self.asked_label)
        chat_layout.addWidget(self.answer_view, 2)
        self.answer_view.setMinimumHeight(90)
        chat_layout.addWidget(self.nothing_label)
        self.sources_label = QLabel(CITED)
        self.sources_label.setStyleSheet("color: #555;")
        self.sources_label.setVisible(False)
        chat_layout.addWidget(self.sources_label)
        chat_layout.addWidget(self.sources)
        chat_layout.addLayout(note_row)
        splitter = QSplitter()
        splitter.addWidget(history)
        splitter.addWidget(chat)
        splitter.setSizes([260, 860])
        splitter.setChildrenCollapsible(False)
        ask_tab = QWidget()
        ask_layout = QVBoxLayout(ask_tab)
        ask_layout.addWidget(splitter)

        # -- the other views (made when first shown: each reads its store on show) -----
        from app.gui.insights_view import InsightsView
        from app.gui.settings_view import SettingsView
        from app.gui.timeline_view import TimelineView

        self.memories_view = MemoriesView(service, self.store_ops, self)
        self.timeline_view = TimelineView(service, self.store_ops, self)
        self.insights_view = InsightsView(service, self.store_ops, self)
        self.settings_view = SettingsView(service, self.store_ops, self)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(ask_tab, "Ask")
        self.tabs.addTab(self.memories_view, "Memories")
        self.tabs.addTab(self.timeline_view, "Timeline")
        self.tabs.addTab(self.insights_view, "Insights")
        self.tabs.addTab(self.settings_view, "Settings")
        self.setCentralWidget(self.tabs)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

        self._notice = ""  # the last op's message, shown before the figures
        self._figures = ""  # the store's figures, from the last status read
        self._status_reading = False
        self._status_stale = False
        self._shown: tuple[Memory, ...] = ()  # the memories in the sources list
        self._turns: list[str] = []  # this session's earlier questions and answers, as HTML
        self._working: set[OpContext] = set()  # long ops the Cancel button stops
        self._hide_on_close = False
        self._close_noted = False
        self._finished = False
        self._progress_timer = QTimer(self, singleShot=True, interval=PROGRESS_DELAY_MS)
        self._progress_timer.timeout.connect(self._show_progress)
        self._history_timer = QTimer(self, singleShot=True, interval=HISTORY_DELAY_MS)
        self._history_timer.timeout.connect(self.read_history)
        self.history_search.textChanged.connect(lambda _t: self._history_timer.start())
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
        collect_on_ui_thread()  # no Qt object is ever collected on a worker thread
        self.archive = ArchiveActions(self)  # File ▸ Export… / Import…
        self.consolidation = ConsolidateAction(self)  # File ▸ Consolidate now
        self._read_status()
        self.read_history()

    # -- change events --------------------------------------------------------------------
    def _on_changes(self, changes: Changes, initiator: object) -> None:
        """Refresh what the changes name: the status line's figures, the sources list,
        the question history."""
        if changes.touches_status:
            self._read_status()
        shown_types = {memory.type for memory in self._shown}
        if initiator is not self.sources and changes.memories & shown_types:
            self._reread_sources()
        if changes.events:
            self._history_timer.start()

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
        elif isinstance(result, BaseException):
            self.show_notice(f"Background ingest: {describe(result)}")
        self._update_cancel()
        self.background_ingested.emit(result)

    # -- long work: progress and cancel ----------------------------------------------------
    def track(self, context: OpContext | None) -> None:
        """A long op the Cancel button may stop (until its result comes back)."""
        if context is not None:
            self._working.add(context)
            context.succeeded.connect(lambda _r, c=context: self._untrack(c))
            context.failed.connect(lambda _e, c=context: self._untrack(c))
            self._update_cancel()

    def _untrack(self, context: OpContext) -> None:
        self._working.discard(context)
        self._update_cancel()

    def _update_cancel(self) -> None:
        self.cancel_button.setVisible(bool(self._working) or self.background.running)

    def cancel_work(self) -> None:
        """Stop the long work running now (a question, an import or export, a model load,
        the background ingest); each ends with a one-line 'cancelled'."""
        for context in list(self._working):
            context.cancel()
        self.background.runner.cancel_all()
        self.show_notice("Cancelling…")

    def _show_progress(self) -> None:
        self.progress.setVisible(True)
        self._update_cancel()

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
        self._update_cancel()

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
        self._archive_current_turn()
        self.answer_view.clear()
        self.asked_label.setText(f"You asked: {question}")
        self.nothing_label.setVisible(False)
        self._show_sources((), CITED)
        self._busy(True)

        def work(context: OpContext) -> Answer:
            result = self.service.ask(question, context.emit_token, context)
            self.service.record_ask(question, result)  # the ask log (not memory)
            return result

        context = self.store_ops.job(
            self.jobs,
            work,
            lambda result: result.changes | EVENTS_ADDED,
            self._on_answer,
            self._on_answer_failed,
            initiator=self.sources,  # the answer brings its memories: no re-read for it
            on_token=self._append_token,
            on_progress=self._on_progress,
        )
        self.track(context)

    def _archive_current_turn(self) -> None:
        """The answer shown moves up into the conversation before the next question."""
        asked = self.asked_label.text().removeprefix("You asked: ")
        answer = self.answer_view.toPlainText().strip()
        if not asked or not answer:
            return
        links = " ".join(
            f"<a href='memory:{m.id}'>[{i}]</a>" for i, m in enumerate(self._shown, start=1)
        )
        self._turns.append(
            f"<p><b>You:</b> {html.escape(asked)}</p>"
            f"<p style='margin-left:12px'><b>Rememora:</b> {html.escape(answer)}"
            f"{' <span style=color:#777>' + links + '</span>' if links else ''}</p><hr>"
        )
        self.conversation.setHtml("".join(self._turns))
        self.conversation.setVisible(True)
        self.conversation.moveCursor(QTextCursor.MoveOperation.End)

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
        self.nothing_label.setVisible(not result.context or not result.supported)
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
        for number, memory in enumerate(memories, start=1):
            text = " · ".join(line.strip() for line in memory.text.splitlines() if line.strip())
            item = QListWidgetItem(f"[{number}]  {text}")
            item.setData(Qt.ItemDataRole.UserRole, memory.id)
            item.setToolTip(
                f"{memory.type.value} {memory.id} · {when(memory.event_time or memory.created_at)}"
            )
            self.sources.addItem(item)
        self.sources_label.setText(label)
        self.sources_label.setVisible(bool(memories))
        self.sources.setVisible(bool(memories))

    def _on_source_clicked(self, item: QListWidgetItem) -> None:
        memory_id = item.data(Qt.ItemDataRole.UserRole)
        if memory_id:
            self.open_citation(MemoryId(memory_id))

    def open_citation(self, memory_id: MemoryId, open_source: bool = True) -> MemoryDialog:
        """Open a cited memory (its history and sources) and, once read, its first source:
        the frame with its OCR text, or the chat turn in its conversation."""
        dialog = MemoryDialog(self.service, self.store_ops, memory_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if open_source:

            def first_source(detail: object) -> None:
                dialog.loaded.disconnect(first_source)
                sources = getattr(detail, "sources", [])
                if sources:
                    dialog.open_source(sources[0])

            dialog.loaded.connect(first_source)
        dialog.show()
        self.citation_opened.emit(dialog)
        return dialog

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

    # -- the question history ------------------------------------------------------------
    def read_history(self) -> None:
        text = self.history_search.text().strip()

        def read(_context: OpContext) -> list[AskTurn]:
            return self.service.ask_history(text)

        def failed(error: BaseException) -> None:
            self.history_empty.setText(describe(error))
            self.history_shown.emit(error)

        self.store_ops.query(read, self._show_history, failed)

    def _show_history(self, turns: list[AskTurn]) -> None:
        self.history_list.clear()
        for turn in turns:
            item = QListWidgetItem(f"{turn.question.text}\n{when(turn.question.occurred_at)}")
            item.setData(Qt.ItemDataRole.UserRole, turn)
            self.history_list.addItem(item)
        searching = bool(self.history_search.text().strip())
        self.history_empty.setText(
            "No past question matches." if searching else "No questions yet."
        )
        self.history_empty.setVisible(not turns)
        self.history_shown.emit(turns)

    def _on_history_clicked(self, item: QListWidgetItem) -> None:
        turn = item.data(Qt.ItemDataRole.UserRole)
        if not isinstance(turn, AskTurn):
            return
        self._archive_current_turn()
        self.asked_label.setText(f"You asked: {turn.question.text}")
        self.answer_view.setPlainText(turn.answer.text if turn.answer else "(no answer recorded)")
        self.nothing_label.setVisible(False)
        ids = list(turn.cited)

        def read(_context: OpContext) -> list[Memory]:
            return self.service.memories(ids)

        self.store_ops.query(
            read,
            lambda memories: self._show_sources(tuple(memories), CITED),
            lambda error: self.show_notice(describe(error)),
        )

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

    closed_to_tray = Signal()  # the window was closed and hid in the tray (note shown once)

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
        consolidated = self.consolidation.wait(msecs)
        closed = self.store_ops.close(msecs)
        release()  # the workers are stopped: collection may run anywhere again
        return closed and stopped and answered and consolidated

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self._hide_on_close:
            self.hide()
            event.ignore()
            self.closed_to_tray.emit()
            return
        self.finish()
        super().closeEvent(event)
