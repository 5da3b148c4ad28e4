"""One small protocol for long work: the CLI renders it as a terminal bar, the GUI as a
progress bar. Long functions take a ``progress`` sink and raise :class:`Cancelled` when
``progress.cancelled`` turns true."""

from __future__ import annotations

from typing import Protocol

from core.errors import Cancelled


class Progress(Protocol):
    def update(self, done: int, total: int | None, label: str) -> None: ...

    @property
    def cancelled(self) -> bool: ...


class _NullProgress:
    def update(self, done: int, total: int | None, label: str) -> None:
        return None

    @property
    def cancelled(self) -> bool:
        return False


NULL_PROGRESS: Progress = _NullProgress()


def check_cancelled(progress: Progress) -> None:
    if progress.cancelled:
        raise Cancelled("cancelled")
