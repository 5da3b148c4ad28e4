"""File ▸ Export… and File ▸ Import…: the window's view of `Service.export_archive` and
`Service.import_archive`. Each runs as a write on the window's store executor, with the
window's progress bar (shown after 600 ms) and, on failure, the error's one line in the
status line. Dialogs ask for the file and the passphrase on the UI thread first; the
work itself never runs there."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMenu

from app.gui.errors import describe
from app.gui.ops import OpContext
from core.changes import Changes
from core.errors import RememoraError
from core.service import ExportOptions, ExportReport, ImportReport

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow

MIN_PASSPHRASE = 8


class ArchiveActions(QObject):
    finished = Signal(object)  # ExportReport, ImportReport, or the error

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.menu = QMenu("&File", window)
        self.export_action = self.menu.addAction("Export…", self.choose_export)
        self.import_action = self.menu.addAction("Import…", self.choose_import)
        window.menuBar().addMenu(self.menu)  # first: the capture menu comes later

    # -- dialogs -----------------------------------------------------------------------
    def _passphrase(self, prompt: str) -> str | None:
        text, ok = QInputDialog.getText(
            self._window, "Rememora", prompt, QLineEdit.EchoMode.Password
        )
        return text if ok else None

    def choose_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self._window, "Export to", "rememora.archive")
        if not name:
            return
        passphrase = self._passphrase(
            "Passphrase to encrypt the archive (empty: not encrypted, vault entries left out):"
        )
        if passphrase is None:
            return
        self.export_to(Path(name), passphrase or None)

    def choose_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self._window, "Import from")
        if not name:
            return
        passphrase = None
        if self._window.service.is_encrypted_archive(Path(name)):
            passphrase = self._passphrase("Passphrase of the archive:")
            if passphrase is None:
                return
        self.import_from(Path(name), passphrase)

    # -- the ops ------------------------------------------------------------------------
    def _failed(self, error: BaseException) -> None:
        self._window._busy(False)
        self._window.show_notice(describe(error))
        self.finished.emit(error)

    def export_to(self, out: Path, passphrase: str | None) -> None:
        if passphrase is not None and len(passphrase) < MIN_PASSPHRASE:
            self._failed(
                RememoraError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
            )
            return
        service = self._window.service
        self._window._busy(True)

        def work(context: OpContext) -> ExportReport:
            return service.export_archive(out, ExportOptions(passphrase=passphrase), context)

        def done(report: ExportReport) -> None:
            self._window._busy(False)
            self._window.show_notice(report.summary())
            self.finished.emit(report)

        self._window.track(  # the status line's Cancel stops it
            self._window.store_ops.write(
                work,
                lambda _r: Changes(),
                done,
                self._failed,
                on_progress=self._window._on_progress,
            )
        )

    def import_from(self, path: Path, passphrase: str | None) -> None:
        service = self._window.service
        self._window._busy(True)

        def work(context: OpContext) -> ImportReport:
            asked = (lambda: passphrase) if passphrase is not None else None
            return service.import_archive(path, asked, context)

        def done(report: ImportReport) -> None:
            self._window._busy(False)
            self._window.show_notice(report.summary())
            self.finished.emit(report)

        self._window.track(
            self._window.store_ops.write(
                work,
                lambda report: report.changes,
                done,
                self._failed,
                on_progress=self._window._on_progress,
            )
        )
