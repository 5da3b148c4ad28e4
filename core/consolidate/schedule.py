"""When the desktop app consolidates: APScheduler 3.x in the background, inside core (the
app never imports apscheduler; it starts and stops this object and reports the user's
input).

Three triggers, checked every ``check_interval_s`` seconds and by a nightly cron job:
``after_events`` new events since the last run, ``idle_minutes`` without user input
(when something is new since the last run), and ``nightly_at`` local time. On battery
power (see power.py) a due run waits until the machine is on mains, unless
``on_battery = "run"``. One run at a time; :meth:`stop` cancels a running one at its
next step and waits for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from core.consolidate.power import on_battery
from core.consolidate.report import ConsolidationReport
from core.errors import Cancelled
from core.progress import Progress
from core.settings import ConsolidationSettings

RunConsolidation = Callable[[Progress], ConsolidationReport]
Finished = Callable[[str, "ConsolidationReport | BaseException"], None]


class _StopFlag:
    def __init__(self) -> None:
        self.event = threading.Event()

    def update(self, done: int, total: int | None, label: str) -> None:
        return None

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()


class ConsolidationSchedule:
    """``run`` consolidates (given a progress sink it must honour); ``new_events`` says
    how many events arrived since the last run; ``finished`` hears each run's trigger
    and its report or error. ``battery`` and ``monotonic`` are injectable for tests."""

    def __init__(
        self,
        settings: ConsolidationSettings,
        run: RunConsolidation,
        new_events: Callable[[], int],
        finished: Finished | None = None,
        battery: Callable[[], bool] = on_battery,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._run = run
        self._new_events = new_events
        self._finished = finished
        self._battery = battery
        self._monotonic = monotonic
        self._last_input = monotonic()
        self._nightly_due = False
        self._lock = threading.Lock()
        self._running = False
        self._stop = _StopFlag()
        self._scheduler: Any = None

    # -- what the app calls ---------------------------------------------------------------
    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(daemon=True)
        scheduler.add_job(
            self.check,
            "interval",
            seconds=self.settings.check_interval_s,
            id="consolidation-check",
            max_instances=1,
            coalesce=True,
        )
        if self.settings.nightly_at:
            hour, minute = (int(p) for p in self.settings.nightly_at.split(":"))
            scheduler.add_job(
                self._nightly, "cron", hour=hour, minute=minute, id="consolidation-nightly"
            )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self, wait: bool = True) -> None:
        self._stop.event.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None

    def note_input(self) -> None:
        """The user typed or clicked: the idle trigger counts from now."""
        self._last_input = self._monotonic()

    @property
    def running(self) -> bool:
        return self._running

    # -- the triggers -----------------------------------------------------------------------
    def _nightly(self) -> None:
        self._nightly_due = True
        self.check()

    def due(self) -> str | None:
        """The trigger that makes a run due now (events, idle, nightly), or None."""
        cfg = self.settings
        new = self._new_events()
        if cfg.after_events and new >= cfg.after_events:
            return "events"
        idle_s = self._monotonic() - self._last_input
        if cfg.idle_minutes and new > 0 and idle_s >= cfg.idle_minutes * 60:
            return "idle"
        if self._nightly_due:
            return "nightly"
        return None

    def check(self) -> str | None:
        """Run a consolidation if one is due and may run now; returns its trigger."""
        trigger = self.due()
        if trigger is None or self._stop.cancelled:
            return None
        if self.settings.on_battery == "wait" and self._battery():
            return None  # the trigger stays due; a later check runs it on mains
        with self._lock:
            if self._running:
                return None
            self._running = True
        try:
            result: ConsolidationReport | BaseException = self._run(self._stop)
        except Cancelled as exc:
            result = exc
        except Exception as exc:  # reported to the app, which shows it; the next check retries
            result = exc
        finally:
            self._running = False
        if trigger == "nightly" and not isinstance(result, BaseException):
            self._nightly_due = False
        if self._finished is not None:
            self._finished(trigger, result)
        return trigger
