"""The first run: what to capture, which apps never to capture, where the data lives,
that nothing leaves the machine, and the name the assistant should know the user by.
Shown when the data directory has no settings.toml yet; the choices are saved there
through `Service.update_settings` (validated, written atomically)."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

import assets
from core.errors import RememoraError
from core.service import Service
from core.settings import SETTINGS_FILE


def is_first_run(service: Service) -> bool:
    return not (service.data_dir / SETTINGS_FILE).exists()


class FirstRunDialog(QDialog):
    """Welcome. ``accepted`` once the choices are saved; ``start_capture`` says whether
    the user asked to capture the screen now."""

    saved = Signal(object)  # the Settings, or the error

    def __init__(self, service: Service, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("Welcome to Rememora")
        self.setWindowIcon(QIcon(assets.path("icons/rememora.svg")))
        self.resize(640, 700)
        intro = QLabel(
            "<h2>Welcome to Rememora</h2>"
            "<p>Rememora remembers what you chat and what is on your screen, and answers "
            "questions about your own past, citing where each answer came from.</p>"
            "<p><b>Nothing leaves this computer.</b> The language model runs here; there is "
            "no cloud service, no account and no telemetry.</p>"
        )
        intro.setWordWrap(True)
        self.name = QLineEdit(placeholderText="e.g. Sam")
        self.capture_screen = QCheckBox(
            "Capture my screen (start now; pause any time from the tray)"
        )
        self.capture_screen.setChecked(True)
        self.redact_emails = QCheckBox("Hide email addresses in what is read from the screen")
        self.redact_emails.setChecked(True)
        self.redact_phones = QCheckBox("Hide phone numbers in what is read from the screen")
        self.redact_phones.setChecked(True)
        self.deny_apps = QPlainTextEdit("\n".join(service.settings.capture.deny_apps))
        self.deny_apps.setFixedHeight(110)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        you = QGroupBox("You")
        you_form = QFormLayout(you)
        you_form.addRow("Your name", self.name)
        you_form.addRow(QLabel("Chats may call you “me”, “user” or by this name: all are you."))
        what = QGroupBox("What to capture")
        what_layout = QVBoxLayout(what)
        for box in (self.capture_screen, self.redact_emails, self.redact_phones):
            what_layout.addWidget(box)
        what_layout.addWidget(QLabel("Keys, tokens, passwords and card numbers are always hidden."))
        never = QGroupBox("Never capture these apps (one per line; password managers are listed)")
        never_layout = QVBoxLayout(never)
        never_layout.addWidget(self.deny_apps)
        where = QLabel(
            f"<b>Your data lives in</b> {html.escape(str(service.data_dir))}<br>"
            "Export, import or delete any part of it from the app."
        )
        where.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start using Rememora")
        buttons.accepted.connect(self.save)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(you)
        layout.addWidget(what)
        layout.addWidget(never)
        layout.addWidget(where)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(buttons)
        layout.setSpacing(10)

    @property
    def start_capture(self) -> bool:
        return self.capture_screen.isChecked()

    def changes(self) -> dict[str, dict[str, object]]:
        apps = [line.strip() for line in self.deny_apps.toPlainText().splitlines() if line.strip()]
        return {
            "user": {"name": self.name.text().strip()},
            "capture": {
                "deny_apps": apps,
                "redact_emails": self.redact_emails.isChecked(),
                "redact_phones": self.redact_phones.isChecked(),
            },
        }

    def save(self) -> None:
        """Write settings.toml (a small file, before anything else runs: the one write
        the app makes on the UI thread, while no op is running yet)."""
        try:
            settings = self.service.update_settings(self.changes())
        except RememoraError as error:
            self.message.setText(str(error))
            self.saved.emit(error)
            return
        self.saved.emit(settings)
        self.accept()
