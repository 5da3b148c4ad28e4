"""One memory opened: its text (editable), whether it is private, its history (versions,
who changed it and why) and its source events, each a link: a screen frame opens with
its image and OCR text, a chat turn opens in its conversation. Reads and writes are
store ops."""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.gui.errors import describe
from app.gui.ops import OpContext
from app.gui.store_ops import StoreOps
from core.changes import Changes
from core.desktop import Frame, is_held, is_pinned, memory_time
from core.records import Event, EventKind, HistoryRow, Memory, MemoryId, MemoryStatus, MemoryType
from core.retrieval.private import is_private
from core.service import Service

MAX_IMAGE_PX = 1600


@dataclass(frozen=True)
class MemoryDetail:
    memory: Memory
    history: list[HistoryRow]
    sources: list[Frame]


def when(moment: object) -> str:
    from datetime import datetime

    if isinstance(moment, datetime):
        return moment.astimezone().strftime("%Y-%m-%d %H:%M")
    return ""


def load_image(service: Service, frame: Frame, max_px: int = MAX_IMAGE_PX) -> QImage | None:
    """Read a frame's image (off the UI thread: a QImage may be made on any thread); kept
    frames are sealed, so the service opens them with the data key."""
    data = service.frame_bytes(frame)
    if data is None:
        return None
    image = QImage.fromData(data)
    if image.isNull():
        return None
    if max(image.width(), image.height()) > max_px:
        image = image.scaled(
            max_px,
            max_px,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return image


def highlight(text: str, words: set[str]) -> str:
    """The OCR text as HTML with the memory's words marked."""
    out = []
    for line in text.splitlines():
        parts = []
        for word in line.split(" "):
            bare = word.strip(".,:;!?()[]\"'").lower()
            shown = html.escape(word)
            marked = f"<span style='background:#fff176'>{shown}</span>"
            parts.append(marked if bare and bare in words else shown)
        out.append(" ".join(parts))
    return "<br>".join(out)


class SourceDialog(QDialog):
    """A source event: the frame's image beside its OCR text (the memory's words
    marked), or the chat turn within its conversation (read by a query op)."""

    shown_source = Signal(object)  # the Event, once its image or conversation is shown

    def __init__(
        self,
        service: Service,
        store_ops: StoreOps,
        frame: Frame,
        memory_text: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.frame = frame
        event = frame.event
        self.setWindowTitle(f"Source · {when(event.occurred_at)}")
        self.resize(980, 640)
        header = QLabel(self._header(event))
        header.setWordWrap(True)
        self.image_label = QLabel("Loading the frame…")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_view = QTextBrowser()
        words = {w.strip(".,:;!?()[]\"'").lower() for w in memory_text.split() if len(w) > 3}
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        if event.kind is EventKind.SCREEN:
            self.image_area = scroll = QScrollArea()
            scroll.setWidget(self.image_label)
            scroll.setWidgetResizable(True)
            splitter = QSplitter()
            splitter.addWidget(scroll)
            splitter.addWidget(self.text_view)
            splitter.setSizes([640, 320])
            layout.addWidget(splitter, 1)
            self.text_view.setHtml(highlight(event.text, words))

            def read(_context: OpContext) -> QImage | None:
                return load_image(self.service, frame)

            store_ops.query(read, self._show_image, self._failed)
        else:
            self.image_label.hide()
            layout.addWidget(self.text_view, 1)

            def read_turns(_context: OpContext) -> list[Event]:
                return service.conversation_around(event)

            store_ops.query(read_turns, self._show_conversation, self._failed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @staticmethod
    def _header(event: Event) -> str:
        if event.kind is EventKind.SCREEN:
            app = event.payload.get("app", "") or "unknown app"
            title = event.payload.get("title", "")
            return f"<b>{html.escape(app)}</b> — {html.escape(title)} · {when(event.occurred_at)}"
        who = event.speaker or "someone"
        return f"<b>{html.escape(who)}</b> in {html.escape(event.source or 'chat')} · {when(event.occurred_at)}"

    def _show_image(self, image: QImage | None) -> None:
        if image is None:
            self.image_label.setText(
                "The image of this frame is no longer kept (the storage budget deleted it); "
                "its text is on the right."
            )
        else:
            width = max(320, self.image_area.viewport().width() - 8)
            pixmap = QPixmap.fromImage(image)
            if pixmap.width() > width:
                pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
            self.image_label.setPixmap(pixmap)
        self.shown_source.emit(self.frame.event)

    def _show_conversation(self, turns: list[Event]) -> None:
        rows = []
        for turn in turns or [self.frame.event]:
            style = "background:#fff4c2;" if turn.id == self.frame.event.id else ""
            rows.append(
                f"<p style='{style}padding:4px'><b>{html.escape(turn.speaker or '')}</b> "
                f"<span style='color:#777'>{when(turn.occurred_at)}</span><br>"
                f"{html.escape(turn.text)}</p>"
            )
        self.text_view.setHtml("".join(rows))
        self.shown_source.emit(self.frame.event)

    def _failed(self, error: BaseException) -> None:
        self.image_label.setText(describe(error))
        self.shown_source.emit(error)


class MemoryDialog(QDialog):
    """A memory, its history and its sources; edit, pin, mark private and delete it."""

    loaded = Signal(object)  # MemoryDetail, or the error
    saved = Signal(object)  # the Memory after an edit, pin, private mark or delete, or the error
    source_opened = Signal(object)  # the SourceDialog

    def __init__(
        self,
        service: Service,
        store_ops: StoreOps,
        memory_id: MemoryId,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.store_ops = store_ops
        self.memory_id = memory_id
        self.detail: MemoryDetail | None = None
        self.setWindowTitle(f"Memory {memory_id}")
        self.resize(860, 620)
        self.meta = QLabel("Loading…")
        self.meta.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setMaximumHeight(90)
        self.save_button = QPushButton("Save edit")
        self.pin_button = QPushButton("Pin")
        self.delete_button = QPushButton("Delete")
        self.private_box = QCheckBox("Private")
        self.private_box.setToolTip(
            "A private memory is used only to answer a question that names its subject"
        )
        self.private_box.setEnabled(False)  # until the memory is read
        self.message = QLabel()
        self.history_table = QTableWidget(0, 5)
        self.history_table.setHorizontalHeaderLabels(["When", "Change", "Who", "Version", "Why"])
        self.history_table.horizontalHeader().setStretchLastSection(True)
        self.history_table.verticalHeader().setVisible(False)
        self.history_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.sources_list = QListWidget()
        self.sources_list.itemClicked.connect(self._open_source_item)

        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.pin_button)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.private_box)
        buttons.addStretch(1)
        buttons.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.addWidget(self.meta)
        layout.addWidget(self.editor)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("<b>History</b> — every version, who changed it and why"))
        layout.addWidget(self.history_table, 2)
        layout.addWidget(QLabel("<b>Sources</b> — click one to open it"))
        layout.addWidget(self.sources_list, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.save_button.clicked.connect(self.save_edit)
        self.pin_button.clicked.connect(self.toggle_pin)
        self.delete_button.clicked.connect(self.confirm_delete)
        self.private_box.clicked.connect(self.set_private)  # the user's click, not a reload
        store_ops.changed.connect(self._on_changes)
        self.reload()

    def reload(self) -> None:
        def read(_context: OpContext) -> MemoryDetail:
            return MemoryDetail(
                self.service.get(self.memory_id),
                self.service.history(self.memory_id),
                self.service.memory_sources(self.memory_id),
            )

        self.store_ops.query(read, self._show, self._load_failed)

    def _on_changes(self, changes: Changes, initiator: object) -> None:
        if initiator is not self and self.detail and self.detail.memory.type in changes.memories:
            self.reload()

    def _load_failed(self, error: BaseException) -> None:
        self.meta.setText(describe(error))
        self.loaded.emit(error)

    def _show(self, detail: MemoryDetail) -> None:
        self.detail = detail
        memory = detail.memory
        marks = "".join(
            f" · {mark}"
            for mark, shown in (
                ("pinned", is_pinned(memory)),
                ("private", is_private(memory)),
                ("held for your confirmation (Memories ▸ To confirm)", is_held(memory)),
            )
            if shown
        )
        self.meta.setText(
            f"<b>{memory.type.value}</b> · {memory.id} · version {memory.version} · "
            f"{memory.status.value}{marks} · strength {memory.strength:.2f} · "
            f"importance {memory.importance:.2f} · {when(memory_time(memory))}"
        )
        self.editor.setPlainText(memory.text)
        active = memory.status is MemoryStatus.ACTIVE
        editable = active and memory.type is not MemoryType.VAULT
        self.editor.setReadOnly(not editable)
        self.save_button.setEnabled(editable)
        self.pin_button.setEnabled(active)
        self.pin_button.setText("Unpin" if is_pinned(memory) else "Pin")
        self.delete_button.setEnabled(active)
        self.private_box.setChecked(is_private(memory))
        self.private_box.setEnabled(active)
        self.history_table.setRowCount(len(detail.history))
        for row, entry in enumerate(detail.history):
            version = (entry.after or {}).get("version", "")
            before = (entry.before or {}).get("text", "")
            after = (entry.after or {}).get("text", "")
            tip = f"before: {before}\nafter: {after}" if before != after else f"text: {after}"
            for column, value in enumerate(
                (when(entry.at), entry.op, entry.actor, str(version), entry.reason)
            ):
                cell = QTableWidgetItem(value)
                cell.setToolTip(tip)
                self.history_table.setItem(row, column, cell)
        for column in range(4):
            self.history_table.resizeColumnToContents(column)
        self.sources_list.clear()
        for frame in detail.sources:
            event = frame.event
            if event.kind is EventKind.SCREEN:
                label = f"Screen · {when(event.occurred_at)} · {frame.app} — {frame.title}"
            else:
                label = (
                    f"Chat · {when(event.occurred_at)} · {event.speaker or ''}: {event.text[:120]}"
                )
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, frame)
            self.sources_list.addItem(item)
        if not detail.sources:
            self.sources_list.addItem("No source events (written by the system or the user).")
        self.loaded.emit(detail)

    def _open_source_item(self, item: QListWidgetItem) -> None:
        frame = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(frame, Frame):
            self.open_source(frame)

    def open_source(self, frame: Frame) -> SourceDialog:
        text = self.detail.memory.text if self.detail else ""
        dialog = SourceDialog(self.service, self.store_ops, frame, text, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.source_opened.emit(dialog)
        return dialog

    # -- writes -----------------------------------------------------------------------
    def _write(self, work: object, memory_type: MemoryType) -> None:
        def done(memory: Memory) -> None:
            self.message.setText("Saved.")
            self.reload()
            self.saved.emit(memory)

        def failed(error: BaseException) -> None:
            self.message.setText(describe(error))
            if self.detail is not None:  # the box says again what the memory is
                self.private_box.setChecked(is_private(self.detail.memory))
                self.private_box.setEnabled(self.detail.memory.status is MemoryStatus.ACTIVE)
            self.saved.emit(error)

        self.store_ops.write(
            work,  # type: ignore[arg-type]
            lambda _m: Changes.of_memories({memory_type}),
            done,
            failed,
            initiator=self,
        )

    def save_edit(self) -> None:
        if self.detail is None:
            return
        text = self.editor.toPlainText()
        memory = self.detail.memory
        self._write(lambda _c: self.service.edit_memory(memory.id, text), memory.type)

    def toggle_pin(self) -> None:
        if self.detail is None:
            return
        memory = self.detail.memory
        pinned = not is_pinned(memory)
        self._write(lambda _c: self.service.pin_memory(memory.id, pinned), memory.type)

    def set_private(self, private: bool) -> None:
        """Mark the memory private (or not), as the box now says."""
        if self.detail is None:
            return
        memory = self.detail.memory
        self.private_box.setEnabled(False)  # until the write is done and the memory re-read
        self._write(lambda _c: self.service.set_private(memory.id, private), memory.type)

    def confirm_delete(self) -> None:
        if self.detail is None:
            return
        memory = self.detail.memory
        answer = QMessageBox.question(
            self,
            "Delete memory",
            f"Delete this {memory.type.value} memory? It leaves search and answers; "
            "its history stays.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_now()

    def delete_now(self) -> None:
        if self.detail is not None:
            memory = self.detail.memory
            self._write(lambda _c: self.service.delete_memory(memory.id), memory.type)
