"""A watchdog for the Qt main thread: how long each event handler there took.

`WatchedApplication` is the test session's QApplication (tests/conftest.py hands it to
pytest-qt as ``qapp_cls``). While a `UiWatchdog` is active, its ``notify`` times every
outermost event delivered on the UI thread: input, paint, timers and the queued calls
that carry a worker's signal to its slot. Nested deliveries (a handler that sends an
event synchronously) count in the outer one, which is what the user waits for.

On a loaded machine a handler may be off the CPU because other processes run; that is
not the handler's fault. So the time counted is wall time minus the time the thread
waited in the kernel's run queue (``/proc/thread-self/schedstat``, second field): what
stays is the handler's own CPU time plus any time it blocked (a lock, a file, the GIL,
a sleep), which is exactly what a slot must not do. Where schedstat is missing the
watchdog falls back to wall time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

SCHEDSTAT = "/proc/thread-self/schedstat"


@dataclass(frozen=True)
class SlowHandler:
    ms: float  # handler time, run-queue waits left out
    wall_ms: float
    receiver: str
    event: str

    def __str__(self) -> str:
        return f"{self.ms:.0f} ms ({self.wall_ms:.0f} ms wall) {self.event} -> {self.receiver}"


@dataclass
class UiWatchdog:
    """Collects the UI thread's handlers slower than ``limit_ms``."""

    limit_ms: float = 100.0
    slow: list[SlowHandler] = field(default_factory=list)
    handled: int = 0  # outermost events timed
    by_type: dict[str, int] = field(default_factory=dict)
    longest_ms: float = 0.0
    measures_run_queue: bool = False  # run-queue waits were left out (schedstat opened)
    _schedstat: int | None = None

    def open(self) -> None:
        """Open the UI thread's schedstat (call on the UI thread)."""
        try:
            self._schedstat = os.open(SCHEDSTAT, os.O_RDONLY)
            self.run_queue_ns()
        except (OSError, IndexError, ValueError):
            self.close()
        self.measures_run_queue = self._schedstat is not None

    def close(self) -> None:
        if self._schedstat is not None:
            os.close(self._schedstat)
            self._schedstat = None

    def run_queue_ns(self) -> int:
        """Nanoseconds this thread has waited for a CPU so far (0 without schedstat)."""
        if self._schedstat is None:
            return 0
        return int(os.pread(self._schedstat, 64, 0).split()[1])

    def assert_none_slow(self) -> None:
        """Fail, listing them, if any handler took longer than ``limit_ms``."""
        timed = f"{self.handled} handlers timed, longest {self.longest_ms:.0f} ms"
        assert not self.slow, f"slow UI-thread handlers ({timed}):\n" + "\n".join(
            map(str, self.slow)
        )

    def record(self, receiver: QObject, event_type: object, wall_ns: int, queued_ns: int) -> None:
        self.handled += 1
        name = str(getattr(event_type, "name", event_type))
        self.by_type[name] = self.by_type.get(name, 0) + 1
        ms = max(0, wall_ns - queued_ns) / 1e6
        self.longest_ms = max(self.longest_ms, ms)
        if ms > self.limit_ms:
            self.slow.append(SlowHandler(ms, wall_ns / 1e6, _describe(receiver), name))


def _describe(receiver: QObject) -> str:
    try:
        name = receiver.objectName()
        return f"{type(receiver).__name__}({name})" if name else type(receiver).__name__
    except RuntimeError:  # deleted meanwhile
        return "a deleted object"


class WatchedApplication(QApplication):
    """QApplication that times UI-thread handlers while a watchdog is active."""

    _watchdog: UiWatchdog | None = None
    _ui_thread = 0
    _depth = 0

    def notify(self, receiver: QObject, event: QEvent) -> bool:
        watchdog = self._watchdog
        if watchdog is None or self._depth or threading.get_ident() != self._ui_thread:
            return super().notify(receiver, event)
        event_type = event.type()  # the event may be deleted by its handler
        self._depth += 1
        queued = watchdog.run_queue_ns()
        started = time.perf_counter_ns()
        try:
            return super().notify(receiver, event)
        finally:
            wall = time.perf_counter_ns() - started
            self._depth -= 1
            watchdog.record(receiver, event_type, wall, watchdog.run_queue_ns() - queued)

    @contextmanager
    def watching(self, limit_ms: float = 100.0) -> Iterator[UiWatchdog]:
        """Time the UI thread's handlers inside the block."""
        watchdog = UiWatchdog(limit_ms)
        watchdog.open()
        self._ui_thread = threading.get_ident()
        self._watchdog = watchdog
        try:
            yield watchdog
        finally:
            self._watchdog = None
            watchdog.close()
