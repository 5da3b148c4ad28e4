"""The one error tree of Rememora.

Every error a user can cause, or that the environment can cause, is a subclass of
:class:`RememoraError`. The CLI prints ``str(error)`` as one line and exits with
``error.exit_code``; the GUI shows the same text in a dialog.

    RememoraError
    ├── SettingsError          bad settings file or value (exit 2)
    ├── StoreLockedError       another process owns the data directory
    ├── StoreError             the ledger or index is unusable
    ├── KeyUnavailableError    the store's data key cannot be opened: no keyring, no
    │                          passphrase to ask for, or a wrong passphrase (exit 7)
    ├── LockedError            the app is locked: no capture, no screenshot, no vault
    │                          value, no answer until it is unlocked (exit 8)
    ├── InputFileError         a file the user gave is missing or malformed
    │   └── ArchiveError       an archive that is damaged, truncated, too big, of another
    │                          format version, or whose passphrase is wrong
    ├── UnknownMemoryTypeError a memory type that is not one of the six
    ├── MemoryNotFoundError    no memory with that id
    ├── ModelError             a model is missing, corrupt or fails to load
    ├── ScreenUnavailableError no X display or monitor to capture
    ├── ExtractionError        a model's answer for a batch cannot be used (retried later)
    ├── ConsolidationError     a consolidation run that cannot be undone
    └── Cancelled              long work was asked to stop
"""

from __future__ import annotations

from pathlib import Path


class RememoraError(Exception):
    """Root of every error Rememora raises on purpose."""

    exit_code = 1


class SettingsError(RememoraError):
    exit_code = 2

    def __init__(self, path: Path | None, key: str, message: str) -> None:
        where = f"settings file {path}: " if path else "settings: "
        super().__init__(f"{where}{key}: {message}")
        self.path = path
        self.key = key


class StoreLockedError(RememoraError):
    exit_code = 3

    def __init__(self, data_dir: Path, owner: str) -> None:
        super().__init__(
            f"the data directory {data_dir} is in use by another Rememora process ({owner}); "
            "close it first, or use --data-dir for a separate store"
        )
        self.data_dir = data_dir


class StoreError(RememoraError):
    exit_code = 4


class KeyUnavailableError(RememoraError):
    exit_code = 7


class LockedError(RememoraError):
    exit_code = 8

    def __init__(self, what: str) -> None:
        super().__init__(f"Rememora is locked: {what} is refused until it is unlocked")
        self.what = what


class InputFileError(RememoraError):
    exit_code = 2

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class ArchiveError(InputFileError):
    """An export archive that cannot be used: nothing from it was imported."""


class UnknownMemoryTypeError(RememoraError):
    exit_code = 2

    def __init__(self, name: str, allowed: list[str]) -> None:
        super().__init__(f"unknown memory type {name!r}; allowed: {', '.join(allowed)}")
        self.name = name


class MemoryNotFoundError(RememoraError):
    exit_code = 2

    def __init__(self, memory_id: str) -> None:
        super().__init__(f"no memory with id {memory_id!r}")
        self.memory_id = memory_id


class ModelError(RememoraError):
    exit_code = 5

    def __init__(self, model: str, message: str) -> None:
        super().__init__(f"model {model}: {message}")
        self.model = model


class ScreenUnavailableError(RememoraError):
    exit_code = 6


class ExtractionError(RememoraError):
    """The model's output for one batch was cut short or unusable; the batch is retried."""


class ConsolidationError(RememoraError):
    """A consolidation run that cannot be undone: unknown, still running, already
    undone, or its memories changed since."""

    exit_code = 2


class Cancelled(RememoraError):
    exit_code = 130
