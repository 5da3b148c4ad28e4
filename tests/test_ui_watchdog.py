"""The UI-thread watchdog itself: it sees a slot that blocks, and not one that is quick."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

from app.gui.ops import OpRunner
from tests.ui_watchdog import WatchedApplication


class _Sender(QObject):
    fired = Signal()


def test_watchdog_times_handlers_on_the_ui_thread(qtbot, qapp: WatchedApplication) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(qapp, WatchedApplication)
    sender = _Sender()
    calls: list[str] = []
    sender.fired.connect(lambda: calls.append("quick"))
    with qapp.watching(limit_ms=100) as watchdog:
        QTimer.singleShot(0, lambda: time.sleep(0.15))  # blocked: counted
        QTimer.singleShot(0, sender.fired.emit)
        qtbot.waitUntil(lambda: calls == ["quick"], timeout=5000)
        qtbot.wait(50)
    assert watchdog.handled >= 2
    assert len(watchdog.slow) == 1, [str(s) for s in watchdog.slow]
    assert watchdog.slow[0].ms >= 140
    assert watchdog.slow[0].wall_ms >= watchdog.slow[0].ms
    assert watchdog.measures_run_queue  # Linux with schedstat: run-queue waits left out


def test_watchdog_times_a_worker_result_delivered_on_the_ui_thread(
    qtbot, qapp: WatchedApplication
) -> None:  # type: ignore[no-untyped-def]
    """An op's result reaches its slot as a queued call on the UI thread, which the
    watchdog times: a slow slot of a finished op would be caught."""
    runner = OpRunner()
    on_ui_thread: list[bool] = []

    def done(_result: int) -> None:
        on_ui_thread.append(threading.current_thread() is threading.main_thread())

    with qapp.watching(limit_ms=100) as watchdog:
        runner.start(lambda _context: 1, done, lambda _error: None)
        qtbot.waitUntil(lambda: bool(on_ui_thread), timeout=5000)
    assert on_ui_thread == [True]
    assert watchdog.by_type.get("MetaCall", 0) >= 1, watchdog.by_type
    assert runner.wait()
