"""Start the desktop app."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QDialog

from app.gui.errors import show_error
from app.gui.single_instance import InstanceServer, ask_running_instance_to_show
from app.gui.unlock_dialog import ask_passphrase
from core.errors import RememoraError
from core.service import KeySource, Service


def run_gui(
    data_dir: Path,
    screenshots: Path | None = None,
    question: str | None = None,
    tray: bool = False,
) -> int:
    """The window (``tray``: start hidden in the tray, as the autostart entry does)."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("Rememora")
    app.setDesktopFileName("rememora")
    if screenshots is not None:
        from app.gui.screenshots import save_demo_views

        for path in save_demo_views(data_dir, screenshots, question):
            print(f"saved {path}")
        return 0
    if ask_running_instance_to_show(data_dir):
        print("Rememora is already running on this data directory; showed its window.")
        return 0
    try:
        service = Service(data_dir, keys=KeySource(prompt=lambda new: ask_passphrase(None, new)))
    except RememoraError as error:
        show_error(None, error)
        return error.exit_code
    from app.gui.first_run import FirstRunDialog, is_first_run
    from app.gui.lock_actions import install_lock
    from app.gui.main_window import MainWindow
    from app.gui.tray import install_capture

    start_capture = False
    if is_first_run(service):
        welcome = FirstRunDialog(service)
        if welcome.exec() != QDialog.DialogCode.Accepted:
            service.close()
            return 0
        start_capture = welcome.start_capture
    window = MainWindow(service)
    controls, tray_icon = install_capture(app, window, service)
    lock = install_lock(
        controls.menu, controls.show_action, service, window.store_ops, window, window.show_notice
    )
    try:
        quick = getattr(window, "quick_ask", None)  # with a tray: its quick-ask box
        instance = InstanceServer(
            data_dir,
            window.bring_back,
            window,
            on_lock=lock.lock,
            on_quick_ask=quick.open_here if quick is not None else None,
        )
        if not (tray and tray_icon is not None):
            window.show()
        if start_capture:
            controls.start()
        try:
            return int(app.exec())
        finally:
            instance.close()
    finally:
        controls.shutdown()
        window.finish()
        service.close()
