"""The memories view's "To confirm" tab: the facts consolidation held because one new
source contradicts facts that several sources established (`Service.held_facts`). Each
row shows the new fact beside what it contradicts (Open… shows its history and
sources); Confirm makes it current (it supersedes them), Reject deletes it (they stay). Both are store writes with history
(actor ``user``); the list re-reads when a change names semantic memory."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.errors import describe
from app.gui.memory_dialog import MemoryDialog, when
from app.gui.ops import OpContext
from app.gui.store_ops import StoreOps
from core.changes import Changes
from core.desktop import HeldFact, memory_time
from core.records import Memory, MemoryType
from core.service import Service

TITLE = "To confirm"
SEMANTIC = Changes.of_memories({MemoryType.SEMANTIC})


def tab_title(count: int) -> str:
    return f"{TITLE} ({count})" if count else TITLE


def _against(held: HeldFact) -> str:
    if not held.contradicts:
        return "(the facts it contradicted have changed since)"
    return "\n".join(m.text.replace("\n", " ") for m in held.contradicts)


class HeldFactsTab(QWidget):
    """The held facts, with Confirm and Reject for the selected one."""

    listed = Signal(object)  # the list of HeldFact shown, or the error
    decided = Signal(object)  # the Memory confirmed or rejected, or the error
    count_changed = Signal(int)

    def __init__(
        self, service: Service, store_ops: StoreOps, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.store_ops = store_ops
        self.shown: list[HeldFact] = []
        self._reading = False
        self._stale = False
        intro = QLabel(
            "Consolidation holds a new fact when it contradicts facts that several sources "
            "established. Confirm it to make it current (it supersedes them), or reject it "
            "to keep them. Either way the change is kept in the history."
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["New fact (held)", "It contradicts", "When"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(1, header.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.empty = QLabel("No facts wait for your confirmation.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: #777; padding: 24px;")
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.open_button = QPushButton("Open…")
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setToolTip(
            "Make the new fact current; the facts it contradicts are superseded"
        )
        self.reject_button = QPushButton("Reject")
        self.reject_button.setToolTip("Delete the new fact; the facts it contradicts stay")
        self.message = QLabel()
        actions = QHBoxLayout()
        actions.addWidget(self.open_button)
        actions.addWidget(self.confirm_button)
        actions.addWidget(self.reject_button)
        actions.addStretch(1)
        actions.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(actions)
        self.open_button.clicked.connect(self.open_selected)
        self.confirm_button.clicked.connect(self.confirm_selected)
        self.reject_button.clicked.connect(self.reject_selected)
        store_ops.changed.connect(self._on_changes)
        self._show_buttons()

    def _on_changes(self, changes: Changes, _initiator: object) -> None:
        if MemoryType.SEMANTIC in changes.memories:
            self.refresh()

    def refresh(self) -> None:
        """Read the held facts (a query op; one at a time, one more when asked meanwhile)."""
        if self._reading:
            self._stale = True
            return

        def read(_context: OpContext) -> list[HeldFact]:
            return self.service.held_facts()

        self._reading = self.store_ops.query(read, self._show, self._failed) is not None

    def _read_done(self) -> None:
        self._reading = False
        if self._stale:
            self._stale = False
            self.refresh()

    def _failed(self, error: BaseException) -> None:
        self.message.setText(describe(error))
        self._read_done()
        self.listed.emit(error)

    def _show(self, held: list[HeldFact]) -> None:
        self.shown = held
        self.table.setRowCount(len(held))
        for row, item in enumerate(held):
            cells = (
                item.fact.text.replace("\n", " "),
                _against(item),
                when(memory_time(item.fact)),
            )
            for column, value in enumerate(cells):
                cell = QTableWidgetItem(value)
                cell.setToolTip(value)
                self.table.setItem(row, column, cell)
        self.table.resizeColumnToContents(2)
        self.table.resizeRowsToContents()
        self.empty.setVisible(not held)
        self.table.setVisible(bool(held))
        self._show_buttons()
        self._read_done()
        self.count_changed.emit(len(held))
        self.listed.emit(held)

    def _show_buttons(self) -> None:
        for button in (self.open_button, self.confirm_button, self.reject_button):
            button.setEnabled(bool(self.shown))

    def selected(self) -> HeldFact | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return self.shown[0] if len(self.shown) == 1 else None
        return self.shown[rows[0].row()]

    def open_selected(self) -> MemoryDialog | None:
        """The selected held fact in a memory dialog: its history and its sources."""
        held = self.selected()
        if held is None:
            return None
        dialog = MemoryDialog(self.service, self.store_ops, held.fact.id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def confirm_selected(self) -> None:
        held = self.selected()
        if held is None:
            self.message.setText("Select a fact first.")
            return
        fact_id = held.fact.id
        self._decide(lambda _c: self.service.confirm_fact(fact_id), "Confirmed")

    def reject_selected(self) -> None:
        held = self.selected()
        if held is None:
            self.message.setText("Select a fact first.")
            return
        fact_id = held.fact.id
        self._decide(lambda _c: self.service.reject_fact(fact_id), "Rejected")

    def _decide(self, work: Callable[[OpContext], Memory], verb: str) -> None:
        def done(memory: Memory) -> None:
            self.message.setText(f"{verb}: “{memory.text[:60]}”")
            self.decided.emit(memory)

        def failed(error: BaseException) -> None:
            self.message.setText(describe(error))
            self.decided.emit(error)

        for button in (self.confirm_button, self.reject_button):
            button.setEnabled(False)  # until the list is read again
        started = self.store_ops.write(
            work,
            lambda _m: SEMANTIC,
            done,
            failed,
            initiator=self,
        )
        if started is None:
            self._show_buttons()
