"""The capture health record: the JSON file the recorder writes (flat keys) reads back
as the same `CaptureHealth`, and a damaged or older file reads as defaults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.capture.pipeline import CaptureCounters
from core.capture.recorder import CaptureHealth, read_health
from core.records import to_iso


def test_health_file_round_trip_keeps_the_flat_format(tmp_path: Path) -> None:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    counters = CaptureCounters(frames=9, kept=4, dedup_exact=3, ocr_ms=12.5)
    counters.last_frame_at = to_iso(at)
    health = CaptureHealth(
        "paused",
        counters,
        ocr_queue=2,
        media_files=4,
        media_bytes=4096,
        media_budget_bytes=10**9,
        days_of_history=12.5,
        errors=("f1: OCR failed: boom",),
        pause_reason="paused until resumed",
        paused_until=at + timedelta(hours=1),
        capture_cpu_share=0.0123,
        interval_s=0.8,
        updated_at=at,
    )
    path = tmp_path / "capture-health.json"
    path.write_text(json.dumps(health.to_json()), encoding="utf-8")
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk["kept"] == 4 and on_disk["state"] == "paused"  # flat, as before
    assert "counters" not in on_disk and "last_frame_age_s" not in on_disk
    read = read_health(path)
    assert read == health
    aged = read.with_age(at + timedelta(seconds=42))
    assert aged.last_frame_age_s == 42.0 and aged.counters.kept == 4


def test_missing_damaged_or_partial_health_files(tmp_path: Path) -> None:
    path = tmp_path / "capture-health.json"
    assert read_health(path) is None
    path.write_text("{not json", encoding="utf-8")
    assert read_health(path) is None
    path.write_text(json.dumps({"state": "recording", "kept": "many", "frames": 3}), "utf-8")
    partial = read_health(path)
    assert partial is not None and partial.state == "recording"
    assert partial.counters.frames == 3 and partial.counters.kept == 0
    assert partial.with_age(datetime.now(UTC)).last_frame_age_s is None  # no frame yet
