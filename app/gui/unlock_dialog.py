"""The dialog that asks for the passphrase of the store's data key: at start (when no OS
keyring holds the key, or a new store needs one) and to unlock a locked app."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.key_prompt import MIN_PASSPHRASE


class UnlockDialog(QDialog):
    """One password field (two for a new passphrase); OK stays disabled until the
    passphrase is usable: non-empty to unlock, long enough and repeated when new."""

    def __init__(self, parent: QWidget | None = None, new: bool = False) -> None:
        super().__init__(parent)
        self.new = new
        self.setWindowTitle("Rememora — new passphrase" if new else "Unlock Rememora")
        note = (
            "No OS keyring is available. Choose a passphrase that protects Rememora's "
            f"data key (at least {MIN_PASSPHRASE} characters). Without it your "
            "screenshots and vault cannot be read."
            if new
            else "Rememora is locked. Type the passphrase of its data key."
        )
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        self.passphrase = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("passphrase")
        self.again = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.again.setPlaceholderText("the same again")
        self.again.setVisible(new)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.note, self.passphrase, self.again, self.buttons):
            layout.addWidget(widget)
        self.passphrase.textChanged.connect(self._check)
        self.again.textChanged.connect(self._check)
        self._check()

    def _usable(self) -> bool:
        text = self.passphrase.text()
        if not self.new:
            return bool(text)
        return len(text) >= MIN_PASSPHRASE and self.again.text() == text

    def _check(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self._usable())

    def value(self) -> str | None:
        """The passphrase typed, once accepted (None if cancelled)."""
        if self.result() != QDialog.DialogCode.Accepted or not self._usable():
            return None
        return self.passphrase.text()


def ask_passphrase(parent: QWidget | None, new: bool) -> str | None:
    """Show the dialog modally; the passphrase, or None if the user cancelled."""
    dialog = UnlockDialog(parent, new)
    dialog.exec()
    return dialog.value()
