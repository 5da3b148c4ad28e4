"""What every chat importer shares: one error that names the file and the field, and the
limits a chat file is held to (README "Privacy and security facts")."""

from __future__ import annotations

from pathlib import Path

from core.errors import InputFileError

MAX_FILE_BYTES = 256 << 20  # a chat file
MAX_TURNS = 1_000_000  # turns in one file
MAX_TURN_CHARS = 100_000  # one turn's text (about 25,000 words)
MAX_SPEAKER_CHARS = 200


def field_error(path: Path, where: str, message: str) -> InputFileError:
    return InputFileError(path, f"{where}: {message}")


def check_size(path: Path) -> None:
    """Refuse a file past the size limit before it is read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot be read: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise InputFileError(
            path, f"is {size} bytes; a chat file may have at most {MAX_FILE_BYTES} bytes"
        )


def check_turn(path: Path, where: str, speaker: str, text: str, count: int) -> None:
    """Refuse a turn (or a file) past the limits, naming where it is."""
    if len(text) > MAX_TURN_CHARS:
        raise field_error(
            path, where, f"a turn of {len(text)} characters; at most {MAX_TURN_CHARS} allowed"
        )
    if len(speaker) > MAX_SPEAKER_CHARS:
        raise field_error(path, where, f"a speaker name longer than {MAX_SPEAKER_CHARS} characters")
    if count >= MAX_TURNS:
        raise InputFileError(path, f"holds more than {MAX_TURNS} turns")
