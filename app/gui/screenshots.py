"""`rememora gui --screenshots DIR [--question Q]`: open the window on the data
directory, optionally ask a question and wait for the streamed answer, save each view as
a PNG, and exit. Used for the README's pictures and to look at the app without a person."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.gui.main_window import MainWindow


def save_views(
    window: MainWindow, folder: Path, question: str | None, timeout_ms: int = 300_000
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    window.show()
    QApplication.processEvents()
    if not window.has_figures:  # the status line's first read is an op: wait for it
        loop = QEventLoop()
        window.status_shown.connect(lambda _report: loop.quit())
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
    if question:
        loop = QEventLoop()
        window.answer_finished.connect(lambda _result: loop.quit())
        QTimer.singleShot(timeout_ms, loop.quit)
        window.question.setText(question)
        window.ask()
        loop.exec()
    QApplication.processEvents()
    path = folder / "main-window.png"
    if not window.grab().save(str(path)):
        raise OSError(f"cannot write {path}")
    return [path]
