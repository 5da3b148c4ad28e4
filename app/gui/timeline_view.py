"""The timeline: days with captured frames, then that day's frames as thumbnails (app,
title, time), a scrubber over them, the chosen frame large with its OCR text, filters by
app and hour, a search (hybrid retrieval) that jumps to the matched frame, and deleting
a time range after a confirmation that says exactly what will go.

Thumbnails are read and scaled on the store executor (a QImage may be made off the UI
thread); the UI thread only turns them into pixmaps."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, datetime, timedelta

from PySide6.QtCore import QDateTime, QSize, Qt, Signal, SignalInstance
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.gui.errors import describe
from app.gui.memory_dialog import load_image, when
from app.gui.ops import OpContext
from app.gui.store_ops import StoreOps
from core.changes import Changes
from core.desktop import Frame, RangeDeletion
from core.records import MemoryType
from core.service import Service

THUMB = QSize(192, 120)
MAX_THUMBS = 400  # a day's frames beyond this are reached with the scrubber


def _thumbs(service: Service, frames: list[Frame]) -> list[QImage | None]:
    return [load_image(service, frame, THUMB.width()) for frame in frames[:MAX_THUMBS]]


class DeleteRangeDialog(QDialog):
    """Pick a time range; the plan (what will go) is read before the user confirms."""

    def __init__(self, start: datetime, end: datetime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Delete a time range")
        self.start_edit = QDateTimeEdit(QDateTime(start.astimezone().replace(tzinfo=None)))
        self.end_edit = QDateTimeEdit(QDateTime(end.astimezone().replace(tzinfo=None)))
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                "Everything captured in this range is deleted for good: the next step "
                "shows exactly what."
            )
        )
        form.addRow("From", self.start_edit)
        form.addRow("To", self.end_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Review…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def range(self) -> tuple[datetime, datetime]:
        def aware(edit: QDateTimeEdit) -> datetime:
            moment = edit.dateTime().toPython()
            assert isinstance(moment, datetime)
            return moment.astimezone()

        return aware(self.start_edit), aware(self.end_edit)


class TimelineView(QWidget):
    days_listed = Signal(object)  # list of (date, count), or the error
    frames_listed = Signal(object)  # list of Frame, or the error
    frame_shown = Signal(object)  # the Frame shown large
    range_planned = Signal(object)  # RangeDeletion, or the error
    range_deleted = Signal(object)  # RangeDeletion, or the error

    def __init__(
        self, service: Service, store_ops: StoreOps, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.store_ops = store_ops
        self.frames: list[Frame] = []
        self.day: date | None = None
        self._pending_jump: int | None = None  # an event id to show once its day is read
        self._read_once = False
        self.days = QListWidget()
        self.days.setMaximumWidth(170)
        self.days.setSpacing(3)
        self.search = QLineEdit(placeholderText="Search what was on screen…")
        self.search.setClearButtonEnabled(True)
        self.app_filter = QComboBox()
        self.app_filter.addItem("All apps", "")
        self.from_hour = QSpinBox(minimum=0, maximum=23, prefix="from ", suffix=":00")
        self.to_hour = QSpinBox(minimum=1, maximum=24, value=24, prefix="to ", suffix=":00")
        self.delete_button = QPushButton("Delete a time range…")
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setIconSize(THUMB)
        self.thumbs.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.thumbs.setMovement(QListWidget.Movement.Static)
        self.thumbs.setSpacing(6)
        self.thumbs.setWordWrap(True)
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setEnabled(False)
        self.scrub_label = QLabel()
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumHeight(300)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.ocr = QTextBrowser()
        self.ocr.setMaximumHeight(140)
        self.empty = QLabel(
            "No frames yet. Start capture from the Capture menu (or the tray icon): what is "
            "on screen appears here, day by day."
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: #777; padding: 24px;")
        self.message = QLabel()

        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        tools.addWidget(self.app_filter)
        tools.addWidget(self.from_hour)
        tools.addWidget(self.to_hour)
        tools.addWidget(self.delete_button)
        scrub = QHBoxLayout()
        scrub.addWidget(self.scrubber, 1)
        scrub.addWidget(self.scrub_label)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.caption)
        detail_layout.addWidget(self.image, 1)
        detail_layout.addWidget(self.ocr)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.thumbs)
        right.addWidget(detail)
        right.setSizes([200, 420])
        body = QHBoxLayout()
        body.addWidget(self.days)
        column = QVBoxLayout()
        column.addWidget(right, 1)
        column.addWidget(self.empty, 1)
        column.addLayout(scrub)
        body.addLayout(column, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        self._right = right

        self.days.currentRowChanged.connect(self._on_day)
        self.thumbs.currentRowChanged.connect(self._on_thumb)
        self.scrubber.valueChanged.connect(self.show_frame)
        self.app_filter.currentIndexChanged.connect(lambda _i: self.read_frames())
        self.from_hour.valueChanged.connect(lambda _v: self.read_frames())
        self.to_hour.valueChanged.connect(lambda _v: self.read_frames())
        self.search.returnPressed.connect(self.find_text)
        self.delete_button.clicked.connect(self.ask_delete_range)
        store_ops.changed.connect(self._on_changes)

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        if not self._read_once:
            self._read_once = True
            self.refresh()

    def _on_changes(self, changes: Changes, initiator: object) -> None:
        if changes.events and self._read_once and initiator is not self:
            self.refresh()

    # -- days ---------------------------------------------------------------------------
    def refresh(self) -> None:
        def read(_context: OpContext) -> list[tuple[date, int]]:
            return self.service.timeline_days()

        self.store_ops.query(read, self._show_days, self._failed(self.days_listed))

    def _failed(self, signal: SignalInstance) -> Callable[[BaseException], None]:
        def failed(error: BaseException) -> None:
            self.message.setText(describe(error))
            signal.emit(error)

        return failed

    def _show_days(self, days: list[tuple[date, int]]) -> None:
        keep = self.day
        self.days.blockSignals(True)
        self.days.clear()
        for day, count in days:
            item = QListWidgetItem(f"{day:%a %d %b %Y}\n{count} frame{'s' if count != 1 else ''}")
            item.setData(Qt.ItemDataRole.UserRole, day)
            self.days.addItem(item)
        self.days.blockSignals(False)
        has_days = bool(days)
        self.empty.setVisible(not has_days)
        self._right.setVisible(has_days)
        self.days.setVisible(has_days)
        self.days_listed.emit(days)
        if has_days:
            wanted = [d for d, _ in days].index(keep) if keep in [d for d, _ in days] else 0
            self.days.setCurrentRow(wanted)
            self._on_day(wanted)
        else:
            self.frames = []
            self.thumbs.clear()

    def _on_day(self, row: int) -> None:
        item = self.days.item(row)
        if item is not None:
            self.day = item.data(Qt.ItemDataRole.UserRole)
            self.read_frames()

    # -- frames -------------------------------------------------------------------------
    def read_frames(self) -> None:
        day = self.day
        if day is None:
            return
        app = self.app_filter.currentData() or ""
        hours = (self.from_hour.value(), max(self.from_hour.value() + 1, self.to_hour.value()))

        def read(_context: OpContext) -> tuple[list[Frame], list[QImage | None], list[str]]:
            every = self.service.timeline_frames(day)
            apps = sorted({f.app for f in every if f.app})
            frames = self.service.timeline_frames(
                day, frozenset({app}) if app else frozenset(), hours
            )
            return frames, _thumbs(self.service, frames), apps

        self.store_ops.query(read, self._show_frames, self._failed(self.frames_listed))

    def _show_frames(self, result: tuple[list[Frame], list[QImage | None], list[str]]) -> None:
        frames, images, apps = result
        self.frames = frames
        current = self.app_filter.currentData() or ""
        self.app_filter.blockSignals(True)
        self.app_filter.clear()
        self.app_filter.addItem("All apps", "")
        for app in apps:
            self.app_filter.addItem(app, app)
        self.app_filter.setCurrentIndex(max(0, self.app_filter.findData(current)))
        self.app_filter.blockSignals(False)
        self.thumbs.blockSignals(True)
        self.thumbs.clear()
        for frame, image in zip(frames, images):
            icon = QIcon(QPixmap.fromImage(image)) if image is not None else QIcon()
            label = (
                f"{frame.event.occurred_at.astimezone():%H:%M:%S}\n{frame.app}\n{frame.title[:40]}"
            )
            item = QListWidgetItem(icon, label)
            item.setToolTip(f"{frame.app} — {frame.title}")
            item.setSizeHint(QSize(THUMB.width() + 12, THUMB.height() + 64))
            self.thumbs.addItem(item)
        self.thumbs.blockSignals(False)
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, max(0, len(frames) - 1))
        self.scrubber.setEnabled(len(frames) > 1)
        self.scrubber.blockSignals(False)
        self.frames_listed.emit(frames)
        jump = self._pending_jump
        self._pending_jump = None
        at = next((i for i, f in enumerate(frames) if f.event.id == jump), 0)
        if frames:
            self.show_frame(at)
        else:
            self.image.clear()
            self.caption.setText("No frames match these filters on this day.")
            self.ocr.clear()

    def _on_thumb(self, row: int) -> None:
        if 0 <= row < len(self.frames):
            self.show_frame(row)

    def show_frame(self, index: int) -> None:
        if not 0 <= index < len(self.frames):
            return
        frame = self.frames[index]
        for widget, value in ((self.scrubber, index), (self.thumbs, index)):
            widget.blockSignals(True)
            if isinstance(widget, QSlider):
                widget.setValue(value)
            elif index < widget.count():
                widget.setCurrentRow(value)
            widget.blockSignals(False)
        self.scrub_label.setText(
            f"{index + 1} / {len(self.frames)} · {when(frame.event.occurred_at)}"
        )
        self.caption.setText(
            f"<b>{html.escape(frame.app or 'unknown app')}</b> — {html.escape(frame.title)} · "
            f"{frame.event.occurred_at.astimezone():%Y-%m-%d %H:%M:%S}"
        )
        self.ocr.setPlainText(frame.event.text)
        self.image.setText("Loading…")

        def read(_context: OpContext) -> QImage | None:
            return load_image(self.service, frame, 1280)

        def show(image: QImage | None) -> None:
            if not self.frames or self.frames[self.scrubber.value()] is not frame:
                return  # the user moved on meanwhile
            if image is None:
                self.image.setText(
                    "This frame's image is no longer kept (storage budget); its text is below."
                )
            else:
                self.image.setPixmap(
                    QPixmap.fromImage(image).scaled(
                        self.image.size(),
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
            self.frame_shown.emit(frame)

        self.store_ops.query(read, show, lambda e: self.image.setText(describe(e)))

    # -- search -------------------------------------------------------------------------
    def find_text(self) -> None:
        text = self.search.text().strip()
        if not text:
            return

        def read(_context: OpContext) -> list[Frame]:
            return self.service.find_frames(text)

        def jump(found: list[Frame]) -> None:
            if not found:
                self.message.setText(f"Nothing on screen matched “{text}”.")
                self.frame_shown.emit(None)
                return
            self.jump_to(found[0])
            self.message.setText(f"{len(found)} frame(s) matched “{text}”; showing the best.")

        self.store_ops.query(read, jump, lambda e: self.message.setText(describe(e)))

    def jump_to(self, frame: Frame) -> None:
        day = frame.event.occurred_at.astimezone().date()
        self._pending_jump = frame.event.id
        self.app_filter.blockSignals(True)
        self.app_filter.setCurrentIndex(0)
        self.app_filter.blockSignals(False)
        for widget, value in ((self.from_hour, 0), (self.to_hour, 24)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        for row in range(self.days.count()):
            if self.days.item(row).data(Qt.ItemDataRole.UserRole) == day:
                self.days.blockSignals(True)
                self.days.setCurrentRow(row)
                self.days.blockSignals(False)
        self.day = day
        self.read_frames()

    # -- delete a range -----------------------------------------------------------------
    def ask_delete_range(self) -> None:
        if self.frames:
            start = self.frames[self.scrubber.value()].event.occurred_at
            end = start + timedelta(hours=1)
        else:
            end = datetime.now().astimezone()
            start = end - timedelta(hours=1)
        dialog = DeleteRangeDialog(start, end, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.plan_delete(*dialog.range())

    def plan_delete(self, start: datetime, end: datetime, confirm: bool = True) -> None:
        def read(_context: OpContext) -> RangeDeletion:
            return self.service.plan_delete_range(start, end)

        def planned(plan: RangeDeletion) -> None:
            self.range_planned.emit(plan)
            if confirm:
                self.confirm_delete(plan)

        self.store_ops.query(read, planned, self._failed(self.range_planned))

    def confirm_delete(self, plan: RangeDeletion) -> None:
        if not plan.events:
            QMessageBox.information(
                self, "Delete a time range", "Nothing was captured in that range."
            )
            return
        answer = QMessageBox.warning(
            self,
            "Delete a time range",
            f"From {when(plan.start)} to {when(plan.end)} this deletes, for good: "
            f"{plan.summary()}.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_range(plan.start, plan.end)

    def delete_range(self, start: datetime, end: datetime) -> None:
        def work(_context: OpContext) -> RangeDeletion:
            return self.service.delete_range(start, end)

        def done(plan: RangeDeletion) -> None:
            self.message.setText(f"Deleted {plan.summary()}.")
            self.refresh()
            self.range_deleted.emit(plan)

        def failed(error: BaseException) -> None:
            self.message.setText(describe(error))
            self.range_deleted.emit(error)

        self.store_ops.write(
            work,
            lambda _plan: Changes(frozenset(MemoryType), events=True, batches=True),
            done,
            failed,
            initiator=self,
        )
