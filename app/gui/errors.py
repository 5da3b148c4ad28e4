"""The one place that turns exceptions into messages for the user."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import RememoraError


def describe(error: BaseException) -> str:
    if isinstance(error, RememoraError):
        return str(error)
    return f"Unexpected error ({type(error).__name__}): {error}"


def show_error(parent: QWidget | None, error: BaseException) -> None:
    QMessageBox.critical(parent, "Rememora", describe(error))
