"""The capture pipeline every frame goes through, live or replayed:

    privacy gate -> two-stage dedup -> WebP media store (sealed) -> OCR queue
    (background) -> redaction -> screen event on the ledger's write path

Nothing of a denied frame is written anywhere; it is only counted. While the data key is
locked, no frame goes past the start: nothing is kept, read or appended (counted as
``dropped_locked``). The capture side
never waits for OCR: a full queue drops the frame and counts it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.capture.frame_files import FrameCipher
from core.capture.frames import Deduper, Frame, Verdict
from core.capture.media import MediaCounter, MediaStore
from core.capture.ocr_queue import OcrJob, OcrQueue, OcrResult
from core.capture.privacy import PrivacyGate, redact
from core.errors import LockedError
from core.records import EventKind, NewEvent, to_iso
from core.settings import CaptureSettings
from models.ocr import OcrEngine

EventSink = Callable[[Sequence[NewEvent]], object]


@dataclass
class CaptureCounters:
    frames: int = 0
    kept: int = 0
    dropped_private: int = 0
    masked_private: int = 0  # kept with denied background windows painted over
    dropped_backlog: int = 0
    dropped_locked: int = 0  # captured while Rememora was locked: not kept, not read
    dedup_exact: int = 0
    dedup_similar: int = 0
    ocr_frames: int = 0
    ocr_full_frames: int = 0
    ocr_failed: int = 0
    ocr_ms: float = 0.0
    ocr_cpu_ms: float = 0.0
    ocr_pixels: int = 0
    events: int = 0
    text_unchanged: int = 0
    text_bytes: int = 0
    media_bytes_written: int = 0
    redactions: int = 0
    last_frame_at: str = ""
    last_kept_at: str = ""

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CaptureCounters:
        """The counters in a health file; a missing or mistyped value reads as zero."""
        read: dict[str, Any] = {}
        for item in fields(cls):
            value, default = data.get(item.name), item.default
            if isinstance(default, str):
                read[item.name] = value if isinstance(value, str) else default
            elif isinstance(default, float):
                read[item.name] = json_float(value) or default
            else:
                read[item.name] = json_int(value)
        return cls(**read)


def json_float(value: object) -> float | None:
    """A number read from JSON (int or float, not bool), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def json_int(value: object) -> int:
    """An integer read from JSON; anything else reads as zero."""
    number = json_float(value)
    return int(number) if number is not None else 0


def frame_id_for(at: datetime, seq: int) -> str:
    """Frame ids sort by capture time (UTC), which the media store's budget relies on."""
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%S%f}-{seq:06d}"


def screen_event_text(app: str, title: str, lines: Sequence[str]) -> str:
    header = " — ".join(part for part in (app, title) if part)
    body = "\n".join(lines)
    return f"{header}\n{body}".strip() if header else body.strip()


class CapturePipeline:
    def __init__(
        self,
        settings: CaptureSettings,
        media_root: Path,
        engine: OcrEngine,
        sink: EventSink,
        source: str = "screen",
        naive: bool = False,
        *,
        cipher: FrameCipher,
        media_counter: MediaCounter | None = None,
    ) -> None:
        """``naive``: the baseline to compare against, no dedup and a full-frame OCR of
        every frame, every frame's text stored. ``media_counter``: told of each frame
        written or deleted (the store's running media totals)."""
        self.settings = settings
        self.gate = PrivacyGate.from_settings(settings)
        self.deduper = Deduper(settings.dedup_threshold, settings.tile_px)
        self.errors: list[str] = []
        self.media = MediaStore(
            media_root,
            settings.media_budget_gb,
            settings.min_free_disk_gb,
            settings.webp_quality,
            cipher,
            self._kept_going(media_counter) if media_counter is not None else None,
        )
        self.counters = CaptureCounters()
        self._sink = sink
        self._source = source
        self.naive = naive
        self._seq = 0
        self._base_seq = -1
        self._last_text: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self.ocr = OcrQueue(
            engine,
            self._on_ocr,
            self._on_ocr_error,
            settings.ocr_queue_max,
            settings.full_ocr_fraction,
        )

    # -- capture side (never waits for OCR) -------------------------------------------
    def submit(self, frame: Frame) -> str:
        """Run one frame through the gate, dedup and media store; queue its OCR.
        Returns what happened: locked, private, exact, similar, backlog or kept."""
        with self._lock:
            self.counters.frames += 1
            self.counters.last_frame_at = to_iso(frame.at)
            if self.media.locked:
                self.counters.dropped_locked += 1
                return "locked"
        reason, boxes = self.gate.screen_verdict(frame.window, frame.others)
        if reason:
            with self._lock:
                self.counters.dropped_private += 1
            return "private"
        if boxes:
            frame = frame.painted_over(boxes)  # before dedup, OCR and the media store
            with self._lock:
                self.counters.masked_private += 1
        verdict = Verdict("new") if self.naive else self.deduper.judge(frame)
        if verdict.kind != "new":
            with self._lock:
                if verdict.kind == "exact":
                    self.counters.dedup_exact += 1
                else:
                    self.counters.dedup_similar += 1
            return verdict.kind
        self._seq += 1
        seq, base = self._seq, self._base_seq
        frame_id = frame_id_for(frame.at, seq)
        if self.ocr.waiting >= self.settings.ocr_queue_max:
            with self._lock:
                self.counters.dropped_backlog += 1
            self._base_seq = -1
            return "backlog"
        try:
            stored = self.media.save(frame_id, frame.at, frame.image)
        except LockedError:  # locked between the check above and now
            with self._lock:
                self.counters.dropped_locked += 1
            return "locked"
        job = OcrJob(seq, base, frame, verdict.changes, frame_id, str(stored.path))
        if not self.ocr.offer(job):
            self.media.discard(stored)
            with self._lock:
                self.counters.dropped_backlog += 1
            self._base_seq = -1
            return "backlog"
        self._base_seq = seq
        with self._lock:
            self.counters.kept += 1
            self.counters.media_bytes_written += stored.bytes
            self.counters.last_kept_at = to_iso(frame.at)
        return "kept"

    def drain(self) -> None:
        """Wait until every queued frame is read and its event appended."""
        self.ocr.join()

    def close(self) -> None:
        self.ocr.close()

    # -- OCR side ----------------------------------------------------------------------
    def _on_ocr(self, result: OcrResult) -> None:
        frame = result.job.frame
        raw = screen_event_text(
            frame.window.app, frame.window.title, [line.text for line in result.lines]
        )
        clean = redact(raw, self.settings.redact_emails, self.settings.redact_phones)
        with self._lock:
            self.counters.ocr_frames += 1
            self.counters.ocr_full_frames += int(result.full_frame)
            self.counters.ocr_ms += result.ms
            self.counters.ocr_cpu_ms += result.cpu_ms
            self.counters.ocr_pixels += result.pixels_read
            self.counters.redactions += sum(clean.counts.values())
            key = (frame.window.title, clean.text)
            if not clean.text.strip() or (key == self._last_text and not self.naive):
                self.counters.text_unchanged += 1
                return
            self._last_text = key
        payload = {
            "app": redact(frame.window.app).text,
            "title": redact(frame.window.title).text,
            "frame_id": result.job.frame_id,
            "media_path": result.job.media_path,
            "ocr_ms": f"{result.ms:.0f}",
            "ocr_region": "full" if result.full_frame else "changed",
        }
        if frame.source_file:
            payload["source_file"] = frame.source_file
        if frame.window.url:
            payload["url"] = redact(frame.window.url).text
        event = NewEvent(EventKind.SCREEN, clean.text, frame.at, None, self._source, payload)
        try:
            self._sink([event])
        except Exception as exc:  # keep reading; the error is shown in health
            self.errors.append(f"{result.job.frame_id}: {exc}")
            return
        with self._lock:
            self.counters.events += 1
            self.counters.text_bytes += len(clean.text.encode("utf-8"))

    def _kept_going(self, counter: MediaCounter) -> MediaCounter:
        """``counter``, with a failure noted in health instead of stopping capture."""

        def count(files: int, size: int) -> None:
            try:
                counter(files, size)
            except Exception as exc:  # keep capturing; the error is shown in health
                self.errors.append(f"media totals not kept: {exc}")

        return count

    def _on_ocr_error(self, job: OcrJob, error: Exception) -> None:
        with self._lock:
            self.counters.ocr_failed += 1
        self.errors.append(f"{job.frame_id}: OCR failed: {error}")

    def counters_now(self) -> CaptureCounters:
        """A copy of the counters, consistent with each other."""
        with self._lock:
            return replace(self.counters)
