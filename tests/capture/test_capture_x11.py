"""Capture against a real X server (Xvfb) with real Qt windows drawing known text, real
mss, real RapidOCR, the real ledger and retrieval."""

from __future__ import annotations

import io
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import EventKind
from core.service import Service
from tests.capture.conftest import ShowWindow

FAST_CAPTURE = """
[capture]
min_interval_s = 0.2
max_interval_s = 0.8
window_poll_s = 0.1
"""


@pytest.fixture
def capture_service(data_dir: Path, embedder) -> Iterator[Service]:  # type: ignore[no-untyped-def]
    settings = data_dir / "settings.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + FAST_CAPTURE, encoding="utf-8")
    with Service(data_dir, embedder=embedder) as opened:
        yield opened


def stored_bytes(data_dir: Path) -> bytes:
    """Every byte of the ledger as it is on disk: the database, its WAL and journal."""
    return b"".join(p.read_bytes() for p in data_dir.glob("ledger.sqlite3*"))


def screen_texts(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "ledger.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT text FROM events WHERE kind = 'screen'")]


def test_capture_under_xvfb_makes_a_searchable_memory(
    capture_service: Service, show_window: ShowWindow, xvfb: str
) -> None:
    show_window("Invoice draft", "Quarterly invoice for\\nZanzibar Logistics", app="writer")
    recorder = capture_service.open_recorder(xvfb)
    assert recorder.capture_once() == "kept"
    assert recorder.capture_once() == "exact"  # nothing changed: one hash, no OCR
    recorder.stop()
    capture_service.ingest()

    hits = capture_service.search("Zanzibar Logistics invoice")
    assert hits, "the on-screen text is not searchable"
    memory = hits[0].memory
    assert "Zanzibar" in memory.text and "Invoice draft" in memory.text
    (event,) = capture_service.store.events(list(memory.source_event_ids))
    assert event.kind is EventKind.SCREEN
    assert event.payload["app"] == "writer" and event.payload["title"] == "Invoice draft"
    media = Path(event.payload["media_path"])
    assert media.parent.parent == capture_service.runtime.paths.media
    assert media.suffix == ".frame" and b"WEBP" not in media.read_bytes()  # sealed at rest
    image = capture_service.frame_image(f"{media.parent.name}/{media.stem}.webp")
    assert image[8:12] == b"WEBP"
    assert event.payload["frame_id"] == media.stem
    health = capture_service.capture_health()
    assert health is not None and health.counters.kept == 1 and health.counters.dedup_exact == 1


@pytest.mark.parametrize(
    "title,app",
    [
        ("Bank statement - Mozilla Firefox Private Browsing", "firefox"),
        ("Vault", "KeePassXC"),
    ],
)
def test_privacy_gate_denied_window_leaves_no_trace_on_disk(
    capture_service: Service,
    show_window: ShowWindow,
    xvfb: str,
    data_dir: Path,
    title: str,
    app: str,
) -> None:
    show_window(title, "Balance 98765 Wombat Savings", app=app)
    recorder = capture_service.open_recorder(xvfb)
    assert recorder.capture_once() == "private"
    recorder.stop()
    capture_service.ingest()

    assert not capture_service.runtime.paths.media.exists() or not any(
        capture_service.runtime.paths.media.rglob("*")
    )
    on_disk = stored_bytes(data_dir)
    for secret in (b"Wombat", b"98765", title.encode(), b"Balance"):
        assert secret not in on_disk
    assert screen_texts(data_dir) == []
    health = capture_service.capture_health()
    assert health is not None and health.counters.dropped_private == 1 and health.counters.kept == 0
    assert "Wombat" not in capture_service.runtime.paths.capture_health.read_text()


def test_denied_background_window_is_painted_over_and_the_rest_is_kept(
    capture_service: Service, show_window: ShowWindow, xvfb: str, data_dir: Path
) -> None:
    from PIL import Image

    show_window("Passwords Quokka", "Wombat 98765", app="KeePassXC", geometry="0,0,380,560")
    show_window("Trip notes", "Zanzibar ferry", app="writer", geometry="410,0,380,560")
    recorder = capture_service.open_recorder(xvfb)
    assert recorder.capture_once() == "kept"  # the focused window is not denied
    recorder.stop()
    capture_service.ingest()

    (text,) = screen_texts(data_dir)
    assert "Zanzibar" in text and "Trip notes" in text, text
    on_disk = stored_bytes(data_dir)
    for secret in (b"Wombat", b"98765", b"Quokka"):
        assert secret not in on_disk
    (media,) = capture_service.runtime.paths.media.rglob("*.frame")
    image = capture_service.frame_image(f"{media.parent.name}/{media.stem}.webp")
    with Image.open(io.BytesIO(image)) as stored:
        grey = stored.convert("L")
    assert grey.crop((0, 0, 380, 560)).getextrema()[1] < 16  # painted over
    assert grey.crop((420, 100, 780, 500)).getextrema()[1] > 200  # the notes' white page
    health = capture_service.capture_health()
    assert health is not None and health.counters.masked_private == 1 and health.counters.kept == 1


def test_card_number_and_api_key_are_redacted_before_the_ledger(
    capture_service: Service, show_window: ShowWindow, xvfb: str, data_dir: Path
) -> None:
    show_window("Notes", "card 4111 1111 1111 1111\\nkey sk-proj-Q7x9Lm2Pa8Zr4Tb6Vn1K", app="notes")
    recorder = capture_service.open_recorder(xvfb)
    assert recorder.capture_once() == "kept"
    recorder.stop()
    capture_service.ingest()

    (text,) = screen_texts(data_dir)
    assert "[CARD NUMBER]" in text and "[API KEY]" in text, text
    on_disk = stored_bytes(data_dir)
    for secret in (
        b"4111 1111 1111 1111",
        b"4111111111111111",
        b"Q7x9Lm2Pa8Zr4Tb6Vn1K",
        b"sk-proj-",
    ):
        assert secret not in on_disk


def test_recorder_backs_off_on_a_static_screen_pauses_and_resumes(
    capture_service: Service, show_window: ShowWindow, xvfb: str
) -> None:
    show_window("Static page", "Nothing moves here", app="viewer")
    recorder = capture_service.open_recorder(xvfb)
    recorder.start()
    try:
        time.sleep(3.0)
        assert recorder.state == "recording"
        health = recorder.health()
        assert health.counters.kept == 1
        assert int(health.counters.dedup_exact) + int(health.counters.dedup_similar) >= 2
        assert recorder.interval_s == pytest.approx(0.8)  # backed off to max_interval_s

        recorder.pause()
        time.sleep(0.5)
        frames = recorder.health().counters.frames
        time.sleep(1.5)
        assert recorder.health().counters.frames == frames
        assert recorder.state == "paused"
        written = capture_service.capture_health()
        assert written is not None and written.pause_reason == "paused until resumed"

        recorder.resume()
        time.sleep(1.5)
        assert recorder.health().counters.frames > frames
        assert recorder.state == "recording"
    finally:
        recorder.stop()
    assert capture_service.capture_health().state == "stopped"  # type: ignore[union-attr]


def test_disk_nearly_full_pauses_capture_with_a_reason(
    data_dir: Path, embedder, show_window: ShowWindow, xvfb: str
) -> None:  # type: ignore[no-untyped-def]
    settings = data_dir / "settings.toml"
    settings.write_text(settings.read_text() + FAST_CAPTURE + "min_free_disk_gb = 9999\n")
    show_window("Editor", "some text", app="editor")
    with Service(data_dir, embedder=embedder) as service:
        recorder = service.open_recorder(xvfb)
        recorder.start()
        time.sleep(1.0)
        health = recorder.health()
        recorder.stop()
    assert health.counters.frames == 0
    assert str(health.pause_reason).startswith("disk nearly full")
    assert health.state == "paused"


def test_cli_capture_once_then_status_shows_capture_health(
    data_dir: Path, show_window: ShowWindow, xvfb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import run_cli

    show_window("Travel plan", "Flight to Reykjavik on Monday", app="notes")
    monkeypatch.setenv("DISPLAY", xvfb)
    done = run_cli(data_dir, "capture", "--once")
    assert done.returncode == 0, done.stderr
    assert "frame: kept" in done.stdout
    assert re.search(r"\b[1-9]\d* ADD episodic\b", done.stdout), done.stdout
    status = run_cli(data_dir, "status")
    assert status.returncode == 0, status.stderr
    assert "capture: stopped; last frame" in status.stdout
    assert "kept 1," in status.stdout and "OCR queue 0" in status.stdout
    listed = run_cli(data_dir, "memories", "list", "--type", "episodic")
    assert "Reykjavik" in listed.stdout


def test_cli_capture_without_a_display_is_one_line_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import run_cli

    monkeypatch.setenv("DISPLAY", ":986")
    done = run_cli(data_dir, "capture", "--once")
    assert done.returncode == 6
    assert done.stderr.startswith("rememora: error: cannot connect to the X display")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (data_dir / "media").exists()
