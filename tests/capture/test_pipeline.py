"""Dedup, OCR region re-use, the media budget and OCR correctness: real PIL images,
real RapidOCR, real ledger."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core.capture.frame_files import FrameCipher
from core.capture.frames import Deduper, Frame
from core.capture.ocr_queue import read_changed
from core.capture.pipeline import CapturePipeline
from core.capture.privacy import WindowInfo
from core.records import utcnow
from core.service import Service
from core.settings import CaptureSettings, Settings
from core.store.keys import DataKey, KeySource
from core.store.ledger import Ledger
from models.ocr import RapidOcrEngine
from tests.conftest import SHARED_BENCH

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
EDITOR = WindowInfo("editor", "notes.txt")


def _cipher(folder: Path) -> FrameCipher:
    """Frames sealed under a data key of their own (the passphrase from the conftest)."""
    key = DataKey(folder, KeySource(use_system_keyring=False))
    key.open()
    return FrameCipher(key)


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine(threads=2)


def page(lines: list[str], size: tuple[int, int] = (640, 400), noise: int = 0) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=26)
    for row, line in enumerate(lines):
        draw.text((20, 20 + row * 60), line, fill="black", font=font)
    if noise:
        pixels = np.asarray(image).astype(np.int16)
        jitter = np.random.default_rng(0).integers(-noise, noise + 1, pixels.shape)
        image = Image.fromarray(np.clip(pixels + jitter, 0, 255).astype(np.uint8))
    return image


def test_dedup_exact_then_perceptual_then_new() -> None:
    deduper = Deduper(threshold=1.0, tile_px=128)
    first = page(["Meeting at noon", "Room 4B"])
    assert deduper.judge(Frame(T0, EDITOR, image=first)).kind == "new"
    assert deduper.judge(Frame(T0, EDITOR, image=first.copy())).kind == "exact"
    # JPEG-like noise of +-2 grey levels everywhere: not a change worth OCR
    assert (
        deduper.judge(Frame(T0, EDITOR, image=page(["Meeting at noon", "Room 4B"], noise=2))).kind
        == "similar"
    )
    changed = deduper.judge(Frame(T0, EDITOR, image=page(["Meeting at noon", "Room 7C moved"])))
    assert changed.kind == "new" and changed.changes is not None
    rows_changed = np.flatnonzero(changed.changes.changed.any(axis=1))
    assert list(rows_changed) == [0]  # only the tile row holding the second line (y 80..110)
    assert 0 < changed.changes.fraction < 0.5
    # same pixels, other window: kept, so the new title is recorded
    assert (
        deduper.judge(
            Frame(
                T0,
                WindowInfo("editor", "other.txt"),
                image=page(["Meeting at noon", "Room 7C moved"]),
            )
        ).kind
        == "new"
    )


def test_ocr_reads_only_changed_bands_and_reuses_the_rest(engine: RapidOcrEngine) -> None:
    lines = [
        "Alpha report ready",
        "Budget review Friday",
        "Call the plumber",
        "Dentist on Tuesday",
        "Renew the passport",
        "Water the basil",
    ]
    before = page(lines, size=(640, 420))
    after_lines = lines[:5] + ["Feed the hamster"]
    after = page(after_lines, size=(640, 420))
    deduper = Deduper(threshold=1.0, tile_px=64)
    deduper.judge(Frame(T0, EDITOR, image=before))
    verdict = deduper.judge(Frame(T0, EDITOR, image=after))
    assert verdict.changes is not None

    full_before, was_full, _ = read_changed(engine, np.asarray(before), None, None, 0.5)
    assert was_full
    reused, was_full, pixels = read_changed(
        engine, np.asarray(after), verdict.changes, full_before, 0.5
    )
    assert not was_full
    assert pixels < 0.4 * 640 * 420
    text = "".join(line.text for line in reused).replace(" ", "")
    assert "hamster" in text and "basil" not in text
    assert "Alphareport" in text and "passport" in text  # re-used, not re-read


def test_ocr_reads_receiver_count_from_screenpipe_sample(engine: RapidOcrEngine) -> None:
    sample = SHARED_BENCH / "screens" / "screenpipe" / "testing_OCR.png"
    if not sample.exists():
        pytest.skip("shared bench data absent")
    with Image.open(sample) as opened:
        lines = engine.read(np.asarray(opened.convert("RGB")))
    assert any("receiver_count" in line.text for line in lines)


def test_media_budget_deletes_oldest_frames_and_keeps_their_text(
    tmp_path: Path, engine: RapidOcrEngine
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=utcnow)
    settings = CaptureSettings(media_budget_gb=0.000_004, webp_quality=90)  # 4 kB
    pipeline = CapturePipeline(
        settings, tmp_path / "media", engine, ledger.append_events, cipher=_cipher(tmp_path)
    )
    words = ["apple", "banana", "cherry", "damson", "elder", "fig"]
    for i, word in enumerate(words):
        image = page([f"Fruit {word}"], size=(320, 120))
        assert pipeline.submit(Frame(T0 + timedelta(minutes=i), EDITOR, image=image)) == "kept"
    pipeline.drain()
    pipeline.close()

    files = sorted((tmp_path / "media").rglob("*.frame"))
    assert sum(f.stat().st_size for f in files) <= 4_000
    assert pipeline.media.deleted >= 1 and len(files) == len(words) - pipeline.media.deleted
    assert files[-1].stem.endswith("000006")  # the newest stay, the oldest went
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
        texts = " ".join(r[0] for r in db.execute("SELECT text FROM events"))
    assert "apple" in texts and "fig" in texts  # text of deleted frames stays
    ledger.close()


def test_a_full_ocr_queue_drops_frames_instead_of_blocking_capture_stand_in_blocking_ocr(
    tmp_path: Path,
) -> None:
    class SlowEngine:
        """A stand-in OCR that blocks until released, to fill the queue (the real
        engine is too fast to fill it deterministically)."""

        name = "blocking"

        def __init__(self) -> None:
            import threading

            self.release = threading.Event()

        def read(self, image: np.ndarray) -> list:  # type: ignore[type-arg]
            self.release.wait(30)
            return []

    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=utcnow)
    slow = SlowEngine()
    pipeline = CapturePipeline(
        CaptureSettings(ocr_queue_max=2),
        tmp_path / "media",
        slow,
        ledger.append_events,
        cipher=_cipher(tmp_path),
    )
    outcomes = [
        pipeline.submit(Frame(T0, EDITOR, image=page([f"frame {i}"], size=(200, 80))))
        for i in range(6)
    ]
    assert "backlog" in outcomes and outcomes[0] == "kept"
    assert pipeline.counters.dropped_backlog == outcomes.count("backlog")
    kept_files = len(list((tmp_path / "media").rglob("*.frame")))
    assert kept_files == outcomes.count("kept")  # dropped frames leave no file
    slow.release.set()
    pipeline.drain()
    pipeline.close()
    ledger.close()


def test_status_sizes_media_from_counters_the_capture_keeps(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Frames written and deleted by the budget, through the real pipeline the service
    wires, keep the ledger's media totals right; status reads those and never walks the
    media folder (a file the pipeline did not write is not counted). A store from before
    the totals is counted once, when it is opened."""
    settings = Settings.model_validate(
        {
            "llm": {"model": "smollm2-135m", "n_ctx": 2048},
            "capture": {"media_budget_gb": 0.000_004, "webp_quality": 90},  # 4 kB
        }
    )
    media = data_dir / "media"

    def on_disk() -> tuple[int, int]:
        frames = list(media.rglob("*.frame"))
        return len(frames), sum(f.stat().st_size for f in frames)

    with Service(data_dir, settings=settings, embedder=embedder) as service:
        assert (service.status().media_files, service.status().media_bytes) == (0, 0)
        pipeline = service.capture_pipeline()
        for i, word in enumerate(["apple", "banana", "cherry", "damson", "elder", "fig"]):
            image = page([f"Fruit {word}"], size=(320, 120))
            assert pipeline.submit(Frame(T0 + timedelta(minutes=i), EDITOR, image=image)) == "kept"
        pipeline.drain()
        pipeline.close()
        assert pipeline.media.deleted >= 1 and not pipeline.errors
        report = service.status()
        assert (report.media_files, report.media_bytes) == on_disk()
        ledger_files = sum(p.stat().st_size for p in data_dir.glob("ledger.sqlite3*"))
        chroma = data_dir / "chroma"
        index_files = sum(p.stat().st_size for p in chroma.rglob("*") if p.is_file())
        assert report.store_bytes == ledger_files + index_files + report.media_bytes
        stray = media / "not-from-capture.webp"
        stray.write_bytes(b"x" * 50_000)
        assert service.status().media_bytes == report.media_bytes  # the folder is not walked
        stray.unlink()
        kept = on_disk()
    with sqlite3.connect(data_dir / "ledger.sqlite3") as db:  # as a store of schema 1 had it
        db.execute("DROP TABLE counters")
        db.execute("PRAGMA user_version=1")
    with Service(data_dir, settings=settings, embedder=embedder) as reopened:
        assert (reopened.status().media_files, reopened.status().media_bytes) == kept
