"""What every chat importer shares: one error that names the file and the field."""

from __future__ import annotations

from pathlib import Path

from core.errors import InputFileError


def field_error(path: Path, where: str, message: str) -> InputFileError:
    return InputFileError(path, f"{where}: {message}")
