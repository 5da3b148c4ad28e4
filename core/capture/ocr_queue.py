"""OCR on a background thread, never on the capture thread.

Jobs wait in a bounded queue; when it is full the capture side drops the frame (and
counts it) instead of waiting. The worker re-uses the text of unchanged screen regions:
only full-width bands around changed tiles are read again, and lines of the previous
frame outside those bands are kept. A job whose base frame was never read (dropped, or
the first) gets a full-frame read.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.capture.frames import ChangeMap, Frame
from models.ocr import OcrEngine, OcrLine

BAND_MARGIN_PX = 24


@dataclass
class OcrJob:
    seq: int
    base_seq: int  # the frame ``changes`` is relative to; -1 for none
    frame: Frame
    changes: ChangeMap | None
    frame_id: str
    media_path: str


@dataclass
class OcrResult:
    job: OcrJob
    lines: list[OcrLine]
    ms: float  # wall time
    cpu_ms: float  # CPU time of the OCR thread (onnxruntime runs in it with 1 thread)
    full_frame: bool
    pixels_read: int


def read_changed(
    engine: OcrEngine,
    image: np.ndarray,
    changes: ChangeMap | None,
    previous: list[OcrLine] | None,
    full_fraction: float,
) -> tuple[list[OcrLine], bool, int]:
    """Lines of ``image``: a full read, or a read of the changed bands merged with the
    previous frame's lines elsewhere. Returns (lines, full_frame, pixels read)."""
    height, width = image.shape[:2]
    if previous is None or changes is None or changes.fraction > full_fraction:
        return engine.read(image), True, height * width
    cores = changes.changed_bands(0)
    lines = [
        line for line in previous if not any(top <= line.center_y < bottom for top, bottom in cores)
    ]
    pixels = 0
    for top, bottom in cores:
        crop_top = max(0, top - BAND_MARGIN_PX)
        crop_bottom = min(height, bottom + BAND_MARGIN_PX)
        pixels += (crop_bottom - crop_top) * width
        for line in engine.read(image[crop_top:crop_bottom]):
            moved = OcrLine(
                line.text,
                (line.box[0], line.box[1] + crop_top, line.box[2], line.box[3] + crop_top),
                line.score,
            )
            if top <= moved.center_y < bottom:
                lines.append(moved)
    lines.sort(key=lambda line: (round(line.center_y / 8), line.box[0]))
    return lines, False, pixels


class OcrQueue:
    """One worker thread reading frames in order; results go to ``on_result``."""

    def __init__(
        self,
        engine: OcrEngine,
        on_result: Callable[[OcrResult], None],
        on_error: Callable[[OcrJob, Exception], None],
        max_waiting: int = 32,
        full_fraction: float = 0.5,
    ) -> None:
        self._engine = engine
        self._on_result = on_result
        self._on_error = on_error
        self._full_fraction = full_fraction
        self._jobs: queue.Queue[OcrJob | None] = queue.Queue(maxsize=max_waiting)
        self._last_seq = -2
        self._last_lines: list[OcrLine] | None = None
        self._thread = threading.Thread(target=self._run, name="rememora-ocr", daemon=True)
        self._thread.start()

    def offer(self, job: OcrJob) -> bool:
        """Queue ``job`` without waiting; False when the queue is full."""
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            return False
        return True

    @property
    def waiting(self) -> int:
        return self._jobs.qsize()

    def join(self) -> None:
        """Wait until every queued job is read."""
        self._jobs.join()

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                self._read(job)
            finally:
                self._jobs.task_done()

    def _read(self, job: OcrJob) -> None:
        previous = self._last_lines if job.base_seq == self._last_seq else None
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            image = np.asarray(job.frame.image.convert("RGB"))
            lines, full, pixels = read_changed(
                self._engine, image, job.changes, previous, self._full_fraction
            )
        except Exception as exc:  # a failed read must not kill the worker
            self._last_seq, self._last_lines = -2, None
            self._on_error(job, exc)
            return
        self._last_seq, self._last_lines = job.seq, lines
        self._on_result(
            OcrResult(
                job,
                lines,
                (time.perf_counter() - started) * 1000,
                (time.thread_time() - cpu_started) * 1000,
                full,
                pixels,
            )
        )
