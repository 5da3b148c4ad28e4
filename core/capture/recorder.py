"""The capture loop on its own thread, with an adaptive rate:

* a focus or title change captures at once;
* while frames keep changing, one every ``min_interval_s`` (about 2 s);
* each unchanged frame doubles the wait, up to ``max_interval_s`` (30 s) when idle.

It pauses on request (optionally until a time), while the X screen saver/locker is on,
and while the disk is nearly full; the reason is in the health file that
`rememora status` and the tray read.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from core.capture.frames import Frame
from core.capture.pipeline import CaptureCounters, CapturePipeline, json_float, json_int
from core.capture.privacy import WindowInfo
from core.capture.x11 import Grab
from core.records import from_iso, to_iso, utcnow

HEALTH_EVERY_S = 1.0


class Grabber(Protocol):
    def grab(self) -> Grab: ...

    def close(self) -> None: ...


class Windows(Protocol):
    def active(self) -> WindowInfo | None: ...

    def visible(self) -> list[WindowInfo]: ...

    def screen_locked(self) -> bool: ...

    def close(self) -> None: ...


class Recorder:
    def __init__(
        self,
        pipeline: CapturePipeline,
        grabber: Grabber,
        windows: Windows,
        health_path: Path,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self._grabber = grabber
        self._windows = windows
        self._health_path = health_path
        self._clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._paused = False
        self._paused_until: datetime | None = None
        self._auto_reason = ""  # disk nearly full, screen locked
        self.interval_s = self.settings.min_interval_s
        self._cpu_s = 0.0
        self._wall_s = 0.0
        self._health_written = 0.0
        self.started_at: datetime | None = None

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self.started_at = self._clock()
            self._thread = threading.Thread(target=self._loop, name="rememora-capture", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop capturing, read what is queued, write the final health."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.pipeline.drain()
        self.pipeline.close()
        self.write_health("stopped")
        self._grabber.close()
        self._windows.close()

    def pause(self, minutes: float | None = None) -> None:
        """Pause now; resume by itself after ``minutes`` when given."""
        with self._lock:
            self._paused = True
            self._paused_until = (self._clock() + timedelta(minutes=minutes)) if minutes else None
        self._wake.set()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._paused_until = None
        self._wake.set()

    @property
    def state(self) -> str:
        if self._thread is None:
            return "stopped"
        return "paused" if self.pause_reason else "recording"

    @property
    def pause_reason(self) -> str:
        if self._paused_now():
            until = self._paused_until
            return f"paused until {until.astimezone():%H:%M}" if until else "paused until resumed"
        return self._auto_reason

    @property
    def paused_until(self) -> datetime | None:
        return self._paused_until

    def _paused_now(self) -> bool:
        with self._lock:
            if self._paused and self._paused_until and self._clock() >= self._paused_until:
                self._paused, self._paused_until = False, None
            return self._paused

    # -- one frame ----------------------------------------------------------------------
    def capture_once(self) -> str:
        """Grab and submit one frame now (gate, dedup, media, OCR queue)."""
        active = self._windows.active() or WindowInfo("", "")
        others = tuple(self._windows.visible())
        grab = self._grabber.grab()
        frame = Frame(
            self._clock(),
            active,
            others,
            raw_bgra=grab.raw_bgra,
            size=grab.size,
            origin=grab.origin,
        )
        return self.pipeline.submit(frame)

    # -- the loop -----------------------------------------------------------------------
    def _loop(self) -> None:
        last_key: tuple[str, str] | None = None
        next_due = 0.0
        cpu_start, wall_start = time.thread_time(), time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if not self._paused_now():
                self._auto_reason = self._why_paused()
            if not self.pause_reason:
                active = self._windows.active()
                key = (active.app, active.title) if active else ("", "")
                if key != last_key or now >= next_due:
                    try:
                        outcome = self.capture_once()
                    except Exception as exc:  # an X error must not end capture silently
                        self.pipeline.errors.append(f"capture failed: {exc}")
                        outcome = "failed"
                    if outcome == "kept" or key != last_key:
                        self.interval_s = self.settings.min_interval_s
                    else:
                        self.interval_s = min(self.interval_s * 2, self.settings.max_interval_s)
                    last_key = key
                    next_due = time.monotonic() + self.interval_s
            self._cpu_s = time.thread_time() - cpu_start
            self._wall_s = time.monotonic() - wall_start
            if time.monotonic() - self._health_written >= HEALTH_EVERY_S:
                self.write_health(self.state)
            self._wake.wait(self.settings.window_poll_s)
            self._wake.clear()

    def _why_paused(self) -> str:
        if self.pipeline.media.locked:
            return "Rememora is locked"
        low = self.pipeline.media.low_disk()
        if low:
            return low
        if self._windows.screen_locked():
            return "screen locked"
        return ""

    def last_frame_age(self) -> float | None:
        """Seconds since the last frame, or since start when none was taken yet."""
        stamp = self.pipeline.counters.last_frame_at
        since = from_iso(stamp) if stamp else self.started_at
        return (self._clock() - since).total_seconds() if since else None

    def display_state(self) -> str:
        """recording, paused, stale (no frame for ``stale_after_s``) or stopped."""
        return display_state(self.state, self.last_frame_age(), self.settings.stale_after_s)

    # -- health -------------------------------------------------------------------------
    @property
    def cpu_share(self) -> float:
        """CPU time of the capture thread over its wall time (0..1 of one core)."""
        return self._cpu_s / self._wall_s if self._wall_s > 0 else 0.0

    def health(self, state: str | None = None) -> CaptureHealth:
        pipeline = self.pipeline
        usage = pipeline.media.usage()
        return CaptureHealth(
            state=state or self.state,
            counters=pipeline.counters_now(),
            ocr_queue=pipeline.ocr.waiting,
            media_files=usage.files,
            media_bytes=usage.bytes,
            media_deleted=pipeline.media.deleted,
            media_budget_bytes=usage.budget_bytes,
            days_of_history=usage.days_of_history,
            errors=tuple(pipeline.errors[-3:]),
            pause_reason=self.pause_reason,
            paused_until=self._paused_until,
            capture_cpu_share=round(self.cpu_share, 4),
            interval_s=self.interval_s,
            updated_at=self._clock(),
        )

    def write_health(self, state: str | None = None) -> None:
        self._health_written = time.monotonic()
        self._health_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._health_path.with_suffix(".part")
        partial.write_text(json.dumps(self.health(state).to_json(), indent=1), encoding="utf-8")
        partial.replace(self._health_path)


@dataclass(frozen=True)
class CaptureHealth:
    """What the capture loop reports: its state, counters, OCR queue and media use. The
    loop writes it to a JSON file (flat: the counters' keys beside the others) that
    `rememora status`, the tray and a later process read back with `from_json`."""

    state: str  # recording, paused or stopped (the loop's own state, not `display_state`)
    counters: CaptureCounters
    ocr_queue: int = 0
    media_files: int = 0
    media_bytes: int = 0
    media_deleted: int = 0
    media_budget_bytes: int = 0
    days_of_history: float | None = None
    errors: tuple[str, ...] = ()
    pause_reason: str = ""
    paused_until: datetime | None = None
    capture_cpu_share: float = 0.0
    interval_s: float = 0.0
    updated_at: datetime | None = None
    last_frame_age_s: float | None = None  # as of reading (`with_age`); not in the file

    @property
    def last_frame_at(self) -> datetime | None:
        stamp = self.counters.last_frame_at
        return from_iso(stamp) if stamp else None

    def with_age(self, now: datetime) -> CaptureHealth:
        """This health with ``last_frame_age_s`` as of ``now`` (None: no frame yet)."""
        last = self.last_frame_at
        return replace(self, last_frame_age_s=(now - last).total_seconds() if last else None)

    def to_json(self) -> dict[str, object]:
        return {
            **self.counters.to_json(),
            "ocr_queue": self.ocr_queue,
            "media_files": self.media_files,
            "media_bytes": self.media_bytes,
            "media_deleted": self.media_deleted,
            "media_budget_bytes": self.media_budget_bytes,
            "days_of_history": self.days_of_history,
            "errors": list(self.errors),
            "state": self.state,
            "pause_reason": self.pause_reason,
            "paused_until": to_iso(self.paused_until) if self.paused_until else None,
            "capture_cpu_share": self.capture_cpu_share,
            "interval_s": self.interval_s,
            "updated_at": to_iso(self.updated_at) if self.updated_at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CaptureHealth:
        """Read what `to_json` wrote; a missing or mistyped value reads as its default."""

        def text(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else ""

        def moment(key: str) -> datetime | None:
            try:
                return from_iso(text(key)) if text(key) else None
            except ValueError:
                return None

        errors = data.get("errors")
        return cls(
            state=text("state") or "stopped",
            counters=CaptureCounters.from_json(data),
            ocr_queue=json_int(data.get("ocr_queue")),
            media_files=json_int(data.get("media_files")),
            media_bytes=json_int(data.get("media_bytes")),
            media_deleted=json_int(data.get("media_deleted")),
            media_budget_bytes=json_int(data.get("media_budget_bytes")),
            days_of_history=json_float(data.get("days_of_history")),
            errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
            pause_reason=text("pause_reason"),
            paused_until=moment("paused_until"),
            capture_cpu_share=json_float(data.get("capture_cpu_share")) or 0.0,
            interval_s=json_float(data.get("interval_s")) or 0.0,
            updated_at=moment("updated_at"),
        )


def read_health(path: Path) -> CaptureHealth | None:
    """The health file at ``path``, or None when there is none (or it is not JSON)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return CaptureHealth.from_json(data) if isinstance(data, dict) else None


def display_state(state: str, last_frame_age: float | None, stale_after_s: float) -> str:
    """What the tray shows: recording, paused, stale (recording, but the last frame is
    too old or there is none yet after ``stale_after_s``), or stopped."""
    if state == "recording" and (last_frame_age is None or last_frame_age > stale_after_s):
        return "stale"
    return state
