"""Start the desktop app."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.gui.errors import show_error
from core.errors import RememoraError
from core.service import Service


def run_gui(data_dir: Path) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Rememora")
    try:
        service = Service(data_dir)
    except RememoraError as error:
        show_error(None, error)
        return error.exit_code
    from app.gui.main_window import MainWindow

    from app.gui.tray import install_capture

    window = MainWindow(service)
    controls, _tray = install_capture(app, window, service)
    window.show()
    try:
        return int(app.exec())
    finally:
        controls.stop()
        service.close()
