"""Stores to export from and import into: real ledgers, Chroma, media files and vault
entries (filed by the write path's own vault detector, no model needed)."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from core.capture.frame_files import FrameCipher, FrameFiles
from core.ingest.batch_extraction import BatchExtraction, pattern_vault_candidates
from core.ingest.pipeline import IngestReport, apply_extraction
from core.ingest.reconcile import Reconciler
from core.records import MemoryType
from core.service import Service
from core.store.keys import DataKey
from tests.conftest import TEST_SETTINGS

T0 = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)
SECRET = "DE44 5001 0517 5407 3249 31"
PASSPHRASE = "correct horse battery staple"
TURNS = [
    ("Alice", "My sister Ana works as a nurse in Porto."),
    ("Alice", "I adopted two cats last spring, Miso and Tofu."),
    ("Bob", "The team offsite is in Lisbon on the 14th."),
]


def new_store(parent: Path, name: str, models: Path) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "settings.toml").write_text(TEST_SETTINGS, encoding="utf-8")
    (folder / "models").symlink_to(models, target_is_directory=True)
    return folder


def frame_name(at: datetime, seq: int) -> str:
    return f"{at:%Y-%m-%d}/{at:%Y%m%dT%H%M%S%f}-{seq:06d}.webp"


def add_frame(service: Service, at: datetime, seq: int, colour: str = "navy") -> str:
    """A real WebP screenshot in the store's media folder (sealed under its data key),
    counted like capture does."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="WEBP")
    name = frame_name(at, seq)
    frames = FrameFiles(service.data_dir / "media", service.runtime.frame_cipher)
    size = frames.write(name, [buffer.getvalue()])
    service.store.count_media(1, size)
    return name


def fill(service: Service, with_vault: bool = True, frames: int = 2) -> None:
    """Chat turns recorded (raw episodic records, batches), a vault entry when asked,
    and screenshots."""
    for minute, (speaker, text) in enumerate(TURNS):
        service.add_chat_turn(speaker, text, T0 + timedelta(minutes=minute))
    if with_vault:
        service.add_chat_turn("Alice", f"My bank account number is {SECRET}.", T0)
    service.record_events()
    if with_vault:
        batch = service.store.pending_batches()[0]
        events = service.events(list(batch.event_ids))
        found = BatchExtraction((), (MemoryType.VAULT,), tuple(pattern_vault_candidates(events)))
        reconciler = Reconciler(
            service.store, service.runtime.index, service.runtime.embedder, service.runtime.cipher
        )
        apply_extraction(service.store, reconciler, batch.id, found, IngestReport())
        service.record_events()  # index what the reconciler wrote
        assert any(
            service.vault_value(m.id) == SECRET for m in service.list_memories(MemoryType.VAULT)
        )
    for seq in range(frames):
        add_frame(service, T0 + timedelta(seconds=seq), seq + 1, ("navy", "olive", "teal")[seq % 3])


def snapshot(folder: Path) -> dict[str, object]:
    """Everything an import may change: every ledger table's rows, the screenshots (by
    name: the sha256 of the image in clear, opened with the store's key from
    REMEMORA_PASSPHRASE) and the media files as they lie on disk (sealed)."""
    db = sqlite3.connect(f"file:{folder / 'ledger.sqlite3'}?mode=ro", uri=True)
    try:
        tables = {
            table: sorted(map(repr, db.execute(f"SELECT * FROM {table}").fetchall()))
            for table in ("events", "memories", "history", "batches", "counters")
        }
    finally:
        db.close()
    media = folder / "media"
    files = (
        {
            str(p.relative_to(media)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in media.rglob("*")
            if p.is_file()
        }
        if media.exists()
        else {}
    )
    return {"tables": tables, "media": frame_hashes(folder), "media_files": files}


def frame_hashes(folder: Path) -> dict[str, str]:
    """The screenshots of the (closed) store at ``folder``: name -> sha256 of the image."""
    key = DataKey(folder)
    key.open()
    frames = FrameFiles(folder / "media", FrameCipher(key))
    return {f.name: hashlib.sha256(frames.read_bytes(f.name)).hexdigest() for f in frames.list()}
