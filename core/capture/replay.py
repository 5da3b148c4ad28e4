"""Replay a folder of screenshots through the live pipeline (gate, dedup, media, OCR,
events), with capture times taken from file names such as
``2023-12-20_19-31-31-255913.jpg``. When the folder has an ``index.json`` of sessions
(ScreenAgent's layout: ``session_id``, ``task_prompt_en``, ``images``), only those
sessions' frames are fed, and the report names the sessions; scoring retrieval on them
is the evaluation layer's (evaluation/replay.py)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from core.capture.frames import Frame
from core.capture.pipeline import CapturePipeline
from core.capture.privacy import WindowInfo
from core.errors import InputFileError
from core.progress import NULL_PROGRESS, Progress, check_cancelled

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})[_T ](\d{2})-(\d{2})-(\d{2})(?:-(\d{1,6}))?")


def time_from_name(path: Path) -> datetime | None:
    match = _STAMP.search(path.stem)
    if not match:
        return None
    year, month, day, hour, minute, second, micro = match.groups()
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        int((micro or "0").ljust(6, "0")),
        tzinfo=UTC,
    )


@dataclass(frozen=True)
class ReplaySession:
    session_id: str
    prompt: str
    images: tuple[Path, ...]


@dataclass(frozen=True)
class ReplayReport:
    """What feeding the folder cost: the pipeline's counters and the wall time (feeding
    and recording the events), and the sessions of its index that were fed."""

    mode: str  # "rememora", or "naive": no dedup, full-frame OCR of every frame
    sessions: tuple[ReplaySession, ...] = ()
    frames: int = 0
    frames_kept: int = 0
    dropped_private: int = 0
    dedup_exact: int = 0
    dedup_similar: int = 0
    ocr_frames: int = 0
    ocr_full_frames: int = 0
    ocr_ms_total: float = 0.0
    ocr_cpu_ms_total: float = 0.0
    events: int = 0
    media_bytes: int = 0
    text_bytes: int = 0
    wall_seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        frames = max(self.frames, 1)
        return {
            "mode": self.mode,
            "frames": self.frames,
            "frames_kept": self.frames_kept,
            "dropped_private": self.dropped_private,
            "dedup_exact": self.dedup_exact,
            "dedup_similar": self.dedup_similar,
            "ocr_frames": self.ocr_frames,
            "ocr_full_frames": self.ocr_full_frames,
            "ocr_ms_per_frame": round(self.ocr_ms_total / frames, 1),
            "ocr_ms_per_ocr_frame": round(self.ocr_ms_total / max(self.ocr_frames, 1), 1),
            "ocr_cpu_ms_per_frame": round(self.ocr_cpu_ms_total / frames, 1),
            "events": self.events,
            "media_bytes_per_frame": round(self.media_bytes / frames),
            "text_bytes_per_frame": round(self.text_bytes / frames),
            "wall_seconds": round(self.wall_seconds, 1),
        }


def read_index(folder: Path, limit_sessions: int | None = None) -> list[ReplaySession]:
    index = folder / "index.json"
    if not index.exists():
        return []
    try:
        raw = json.loads(index.read_text(encoding="utf-8"))
        sessions = [
            ReplaySession(
                str(s["session_id"]),
                str(s["task_prompt_en"]),
                tuple(folder / p for p in s["images"]),
            )
            for s in raw
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputFileError(index, f"not a session index: {exc}") from None
    return sessions[:limit_sessions] if limit_sessions else sessions


def list_frames(folder: Path, sessions: Sequence[ReplaySession]) -> list[tuple[datetime, Path]]:
    if not folder.is_dir():
        raise InputFileError(folder, "not a folder")
    paths = (
        [p for s in sessions for p in s.images]
        if sessions
        else [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    )
    timed = []
    for path in paths:
        moment = time_from_name(path)
        if moment is None:
            moment = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        timed.append((moment, path))
    if not timed:
        raise InputFileError(folder, "holds no screenshots (.jpg, .png, .webp)")
    return sorted(timed)


def feed(
    pipeline: CapturePipeline,
    frames: Sequence[tuple[datetime, Path]],
    progress: Progress = NULL_PROGRESS,
) -> None:
    """Submit every frame; unlike live capture, wait for OCR room instead of dropping."""
    limit = pipeline.settings.ocr_queue_max
    for done, (moment, path) in enumerate(frames, 1):
        check_cancelled(progress)
        while pipeline.ocr.waiting >= limit - 1:
            time.sleep(0.02)
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        window = WindowInfo(app="", title="")
        pipeline.submit(Frame(moment, window, image=image, source_file=str(path)))
        progress.update(done, len(frames), "replaying screenshots")
    pipeline.drain()


def run_replay(
    folder: Path,
    make_pipeline: Callable[[], CapturePipeline],
    ingest: Callable[[Progress], object],
    limit_sessions: int | None = None,
    progress: Progress = NULL_PROGRESS,
) -> ReplayReport:
    sessions = read_index(folder, limit_sessions)
    frames = list_frames(folder, sessions)
    pipeline = make_pipeline()
    started = time.perf_counter()
    try:
        feed(pipeline, frames, progress)
    finally:
        pipeline.close()
    ingest(progress)
    wall_seconds = time.perf_counter() - started
    counters = pipeline.counters
    return ReplayReport(
        "naive" if pipeline.naive else "rememora",
        tuple(sessions),
        frames=counters.frames,
        frames_kept=counters.kept,
        dropped_private=counters.dropped_private,
        dedup_exact=counters.dedup_exact,
        dedup_similar=counters.dedup_similar,
        ocr_frames=counters.ocr_frames,
        ocr_full_frames=counters.ocr_full_frames,
        ocr_ms_total=counters.ocr_ms,
        ocr_cpu_ms_total=counters.ocr_cpu_ms,
        events=counters.events,
        media_bytes=counters.media_bytes_written,
        text_bytes=counters.text_bytes,
        wall_seconds=wall_seconds,
    )
