"""The memories view: one tab per memory type, searched with the real hybrid retrieval
(`Service.browse_memories`) or listed, with sort and filters (time, source, status,
strength). Open a memory for its history and sources; edit, pin, mark private and
delete it. Core blocks are edited in place; vault values stay masked until revealed,
after a confirmation. A last tab lists the facts consolidation holds for confirmation,
with Confirm and Reject (app/gui/held_facts.py). Every read and write is a store op;
each tab re-reads when a change names its type."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui.errors import describe
from app.gui.held_facts import HeldFactsTab, tab_title
from app.gui.memory_dialog import MemoryDialog, when
from app.gui.ops import OpContext
from app.gui.store_ops import StoreOps
from core.changes import Changes
from core.desktop import MemoryQuery, is_held, is_pinned, memory_time
from core.records import Memory, MemoryId, MemoryStatus, MemoryType, utcnow
from core.service import Service

TYPE_LABELS = {
    MemoryType.CORE: "Core",
    MemoryType.EPISODIC: "Episodic",
    MemoryType.SEMANTIC: "Semantic",
    MemoryType.PROCEDURAL: "Procedural",
    MemoryType.RESOURCE: "Resources",
    MemoryType.VAULT: "Vault",
}
TIMES = (("Any time", None), ("Last day", 1), ("Last week", 7), ("Last month", 30))
STATUSES = (
    ("Active", frozenset({MemoryStatus.ACTIVE})),
    ("Superseded", frozenset({MemoryStatus.SUPERSEDED})),
    ("Deleted", frozenset({MemoryStatus.DELETED})),
    ("Any status", frozenset(MemoryStatus)),
)
SOURCES: tuple[tuple[str, frozenset[str]], ...] = (
    ("Any source", frozenset()),
    ("Chat", frozenset({"chat"})),
    ("Screen", frozenset({"screen", "replay"})),
    ("Imported", frozenset({"import", "locomo", "chatgpt"})),
)
SORT_LABELS = (
    ("Relevance", "relevance"),
    ("Newest", "newest"),
    ("Oldest", "oldest"),
    ("Strength", "strength"),
    ("Importance", "importance"),
)
MASKED = "•••••• (hidden — Reveal…)"
SEARCH_DELAY_MS = 300


class MemoryTab(QWidget):
    """One type's list: search, filters, sort, a table, actions."""

    listed = Signal(object)  # the list of memories shown, or the error

    def __init__(
        self, service: Service, store_ops: StoreOps, memory_type: MemoryType, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.store_ops = store_ops
        self.memory_type = memory_type
        self.shown: list[Memory] = []
        self.dialogs: list[MemoryDialog] = []
        self._reading = False
        self._stale = False
        self.search = QLineEdit(
            placeholderText=f"Search {TYPE_LABELS[memory_type].lower()} memories…"
        )
        self.search.setClearButtonEnabled(True)
        self.sort = QComboBox()
        for label, value in SORT_LABELS:
            self.sort.addItem(label, value)
        self.time = QComboBox()
        for label, days in TIMES:
            self.time.addItem(label, days)
        self.status = QComboBox()
        for label, statuses in STATUSES:
            self.status.addItem(label, statuses)
        self.source = QComboBox()
        for label, sources in SOURCES:
            self.source.addItem(label, sources)
        self.strength = QDoubleSpinBox(
            prefix="strength ≥ ", minimum=0.0, maximum=10.0, singleStep=0.1
        )
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        for widget in (self.sort, self.time, self.source, self.status, self.strength):
            filters.addWidget(widget)
        vault = memory_type is MemoryType.VAULT
        columns = ["", "Memory", "When", "Strength", "Status"] + (["Value"] if vault else [])
        self.table = QTableWidget(0, len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, header.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: #777; padding: 24px;")
        self.open_button = QPushButton("Open…")
        self.pin_button = QPushButton("Pin / unpin")
        self.delete_button = QPushButton("Delete…")
        self.reveal_button = QPushButton("Reveal value…")
        self.reveal_button.setVisible(vault)
        self.count_label = QLabel()
        actions = QHBoxLayout()
        for button in (self.open_button, self.pin_button, self.delete_button, self.reveal_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(actions)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        for combo in (self.sort, self.time, self.status, self.source):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.strength.valueChanged.connect(lambda _v: self._timer.start())
        self.open_button.clicked.connect(self.open_selected)
        self.pin_button.clicked.connect(self.pin_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.reveal_button.clicked.connect(self.reveal_selected)
        store_ops.changed.connect(self._on_changes)

    def query(self) -> MemoryQuery:
        days = self.time.currentData()
        return MemoryQuery(
            self.memory_type,
            text=self.search.text().strip(),
            since=utcnow() - timedelta(days=days) if days else None,
            sources=self.source.currentData(),
            statuses=self.status.currentData(),
            min_strength=self.strength.value(),
            sort=self.sort.currentData(),
        )

    def _on_changes(self, changes: Changes, _initiator: object) -> None:
        if self.memory_type in changes.memories:
            self.refresh()

    def refresh(self) -> None:
        """Read the list (a query op; one at a time, one more when asked meanwhile)."""
        if self._reading:
            self._stale = True
            return
        query = self.query()

        def read(_context: OpContext) -> list[Memory]:
            return self.service.browse_memories(query)

        self._reading = self.store_ops.query(read, self._show, self._failed) is not None

    def _read_done(self) -> None:
        self._reading = False
        if self._stale:
            self._stale = False
            self.refresh()

    def _failed(self, error: BaseException) -> None:
        self.empty.setText(describe(error))
        self.empty.show()
        self._read_done()
        self.listed.emit(error)

    def _show(self, memories: list[Memory]) -> None:
        self.shown = memories
        self.table.setRowCount(len(memories))
        for row, memory in enumerate(memories):
            cells = [
                "★" if is_pinned(memory) else "",
                memory.text.replace("\n", " "),
                when(memory_time(memory)),
                f"{memory.strength:.2f}",
                memory.status.value + (" · to confirm" if is_held(memory) else ""),
            ]
            if self.memory_type is MemoryType.VAULT:
                cells.append(MASKED)
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if column == 1:
                    item.setToolTip(memory.text)
                self.table.setItem(row, column, item)
        self.table.resizeColumnToContents(0)
        for column in range(2, self.table.columnCount()):
            self.table.resizeColumnToContents(column)
        searching = bool(self.search.text().strip())
        self.empty.setText(
            "No memory matches this search and these filters."
            if searching
            else f"No {TYPE_LABELS[self.memory_type].lower()} memories yet. They appear here "
            "as Rememora reads your chats and screen."
        )
        self.empty.setVisible(not memories)
        self.table.setVisible(bool(memories))
        self.count_label.setText(f"{len(memories)} shown")
        self._read_done()
        self.listed.emit(memories)

    def selected(self) -> Memory | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return self.shown[0] if len(self.shown) == 1 else None
        return self.shown[rows[0].row()]

    def open_selected(self) -> MemoryDialog | None:
        memory = self.selected()
        return self.open_memory(memory.id) if memory else None

    def open_memory(self, memory_id: MemoryId) -> MemoryDialog:
        dialog = MemoryDialog(self.service, self.store_ops, memory_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _write(self, work: object) -> None:
        self.store_ops.write(
            work,  # type: ignore[arg-type]
            lambda _m: Changes.of_memories({self.memory_type}),
            lambda _m: None,
            lambda error: self.count_label.setText(describe(error)),
        )

    def pin_selected(self) -> None:
        memory = self.selected()
        if memory is not None:
            pinned = not is_pinned(memory)
            self._write(lambda _c: self.service.pin_memory(memory.id, pinned))

    def delete_selected(self) -> None:
        memory = self.selected()
        if memory is None:
            return
        answer = QMessageBox.question(
            self,
            "Delete memory",
            f"Delete “{memory.text[:80]}”? It leaves search and answers; its history stays.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._write(lambda _c: self.service.delete_memory(memory.id))

    def reveal_selected(self) -> None:
        memory = self.selected()
        if memory is None:
            return
        answer = QMessageBox.question(
            self,
            "Reveal vault value",
            f"Show the value of “{memory.text[:80]}” on screen? Anyone who can see your "
            "screen will see it.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.reveal(memory.id)

    def reveal(self, memory_id: MemoryId) -> None:
        def read(_context: OpContext) -> str:
            return self.service.vault_value(memory_id)

        def show(value: str) -> None:
            for row, memory in enumerate(self.shown):
                if memory.id == memory_id:
                    self.table.setItem(row, 5, QTableWidgetItem(value))

        self.store_ops.query(read, show, lambda e: self.count_label.setText(describe(e)))


class CoreBlocks(QWidget):
    """Core memory: each block (persona, the user, …) in an editor of its own."""

    listed = Signal(object)

    def __init__(self, service: Service, store_ops: StoreOps, parent: QWidget) -> None:
        super().__init__(parent)
        self.service = service
        self.store_ops = store_ops
        self.memory_type = MemoryType.CORE
        self.editors: dict[MemoryId, QPlainTextEdit] = {}
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        self.message = QLabel()
        intro = QLabel(
            "Core memory is always in the assistant's prompt. Edit a block and save it; "
            "the change is kept in its history."
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        store_ops.changed.connect(self._on_changes)

    def _on_changes(self, changes: Changes, initiator: object) -> None:
        if MemoryType.CORE in changes.memories and initiator is not self:
            self.refresh()

    def refresh(self) -> None:
        def read(_context: OpContext) -> list[Memory]:
            return self.service.list_memories(MemoryType.CORE)

        self.store_ops.query(read, self._show, lambda e: self.message.setText(describe(e)))

    def _show(self, blocks: list[Memory]) -> None:
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        self.editors.clear()
        for block in blocks:
            name = block.fields.get("block", block.id)
            title = QLabel(f"<b>{name}</b> · version {block.version} · {when(block.updated_at)}")
            editor = QPlainTextEdit(block.text)
            editor.setMinimumHeight(90)
            save = QPushButton("Save")
            history = QPushButton("History…")
            save.clicked.connect(lambda _c=False, m=block.id: self.save(m))
            history.clicked.connect(lambda _c=False, m=block.id: self.open_history(m))
            row = QHBoxLayout()
            row.addWidget(title, 1)
            row.addWidget(history)
            row.addWidget(save)
            box = QWidget()
            box_layout = QVBoxLayout(box)
            box_layout.setContentsMargins(0, 0, 0, 8)
            box_layout.addLayout(row)
            box_layout.addWidget(editor)
            self.body_layout.addWidget(box)
            self.editors[block.id] = editor
        self.body_layout.addStretch(1)
        self.listed.emit(blocks)

    def save(self, memory_id: MemoryId) -> None:
        text = self.editors[memory_id].toPlainText()

        def done(_memory: Memory) -> None:
            self.message.setText("Saved.")
            self.refresh()

        self.store_ops.write(
            lambda _c: self.service.edit_memory(memory_id, text),
            lambda _m: Changes.of_memories({MemoryType.CORE}),
            done,
            lambda e: self.message.setText(describe(e)),
            initiator=self,
        )

    def open_history(self, memory_id: MemoryId) -> MemoryDialog:
        dialog = MemoryDialog(self.service, self.store_ops, memory_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog


class MemoriesView(QTabWidget):
    """The six types as tabs; each reads its list when first shown."""

    def __init__(
        self, service: Service, store_ops: StoreOps, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.tabs: dict[MemoryType, MemoryTab | CoreBlocks] = {}
        for memory_type in MemoryType:
            tab: MemoryTab | CoreBlocks = (
                CoreBlocks(service, store_ops, self)
                if memory_type is MemoryType.CORE
                else MemoryTab(service, store_ops, memory_type, self)
            )
            self.tabs[memory_type] = tab
            self.addTab(tab, TYPE_LABELS[memory_type])
        self.held = HeldFactsTab(service, store_ops, self)
        self.addTab(self.held, tab_title(0))
        self.held.count_changed.connect(
            lambda count: self.setTabText(self.indexOf(self.held), tab_title(count))
        )
        self._read: set[MemoryType] = set()
        self._held_read = False
        self.currentChanged.connect(lambda _i: self.refresh_current())
        self.setCurrentIndex(1)  # episodic: what was seen and said

    def tab(self, memory_type: MemoryType) -> MemoryTab:
        tab = self.tabs[memory_type]
        assert isinstance(tab, MemoryTab)
        return tab

    def refresh_current(self) -> None:
        widget = self.currentWidget()
        if not self.isVisible():
            return  # read when shown
        if not self._held_read:  # its count shows in its tab's title from the start
            self._held_read = True
            self.held.refresh()
        if isinstance(widget, MemoryTab | CoreBlocks) and widget.memory_type not in self._read:
            self._read.add(widget.memory_type)
            widget.refresh()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        self.refresh_current()
