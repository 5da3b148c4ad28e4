"""The terminal rendering of core's progress protocol (rich, on stderr)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)


class TerminalProgress:
    """A rich progress bar that appears on the first update and vanishes when done."""

    def __init__(self) -> None:
        console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._tasks: dict[str, TaskID] = {}
        self._started = False

    def update(self, done: int, total: int | None, label: str) -> None:
        if not self._started:
            self._bar.start()
            self._started = True
        if label not in self._tasks:
            self._tasks[label] = self._bar.add_task(label, total=total)
        self._bar.update(self._tasks[label], completed=done, total=total)

    @property
    def cancelled(self) -> bool:
        return False

    def stop(self) -> None:
        if self._started:
            self._bar.stop()
            self._started = False

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.stop()
