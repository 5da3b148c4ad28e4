"""Screenshots and vault values sealed at rest on real stores: a store from before the
data key (Fernet ``vault.key``, plain ``.webp`` frames) is migrated on open, crash-safely
and idempotently; every file and folder is owner-only; an export from an encrypted store
imported into a fresh one gives the frames back byte for byte."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
from pathlib import Path

from cryptography.fernet import Fernet
from PIL import Image

from core.archive.export import ExportOptions
from core.capture.frame_files import FrameFiles
from core.records import MemoryType
from core.service import Service
from tests.archive_helpers import PASSPHRASE, SECRET, T0, fill, frame_name, new_store


def _webp(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="WEBP")
    return buffer.getvalue()


def _make_old_store(service: Service, folder: Path) -> dict[str, bytes]:
    """Turn a store into one from before the data key: vault tokens under a Fernet
    ``vault.key`` (memory rows and history), frames as plain ``.webp`` files, no
    ``keys.json``, files readable by others. Returns the plain frames by name."""
    fill(service, with_vault=True, frames=0)
    [vault] = service.list_memories(MemoryType.VAULT)
    old_key = Fernet.generate_key()
    token = Fernet(old_key).encrypt(SECRET.encode()).decode()
    new_token = vault.fields["value"]
    service.close()
    with sqlite3.connect(folder / "ledger.sqlite3") as db:
        db.execute("UPDATE memories SET fields = replace(fields, ?, ?)", (new_token, token))
        db.execute(
            "UPDATE history SET before = replace(before, ?, ?), after = replace(after, ?, ?)",
            (new_token, token, new_token, token),
        )
    (folder / "vault.key").write_bytes(old_key)
    (folder / "keys.json").unlink()
    frames = {frame_name(T0, 1): _webp("navy"), frame_name(T0, 2): _webp("olive")}
    for name, data in frames.items():
        path = folder / "media" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o644)
    os.chmod(folder, 0o755)
    os.chmod(folder / "ledger.sqlite3", 0o644)
    return frames


def _raw_ledger(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("ledger.sqlite3*"))


def test_old_store_is_sealed_on_open_then_left_alone(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    frames = _make_old_store(Service(data_dir, embedder=embedder), data_dir)
    assert b"gAAAAA" in _raw_ledger(data_dir)  # Fernet tokens, as an old store had them
    with Service(data_dir, embedder=embedder) as service:
        [vault] = service.list_memories(MemoryType.VAULT)
        assert service.vault_value(vault.id) == SECRET
        assert vault.fields["value"].startswith("rk1:")
        assert any(h.op == "RESEAL" for h in service.history(vault.id))
        for name, data in frames.items():
            assert service.frame_image(name) == data
        assert service.status().media_files == 2
    assert not (data_dir / "vault.key").exists()
    assert b"gAAAAA" not in _raw_ledger(data_dir)  # history snapshots resealed too
    assert sorted(p.suffix for p in (data_dir / "media").rglob("*.*")) == [".frame", ".frame"]
    for data in frames.values():
        assert all(data not in p.read_bytes() for p in (data_dir / "media").rglob("*.frame"))
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "ledger.sqlite3").stat().st_mode) == 0o600
    sealed = {p: p.read_bytes() for p in (data_dir / "media").rglob("*.frame")}
    with Service(data_dir, embedder=embedder) as again:  # idempotent: nothing to do
        [vault] = again.list_memories(MemoryType.VAULT)
        assert again.vault_value(vault.id) == SECRET
        assert sum(h.op == "RESEAL" for h in again.history(vault.id)) == 1
    assert {p: p.read_bytes() for p in (data_dir / "media").rglob("*.frame")} == sealed


def test_migration_cut_short_is_finished_on_the_next_open(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """The states a kill can leave: a frame sealed but its plain file not yet removed, a
    half-written ``.part``, and vault tokens resealed with ``vault.key`` still there."""
    with Service(data_dir, embedder=embedder) as service:
        fill(service, with_vault=True, frames=0)
        files = FrameFiles(data_dir / "media", service.runtime.frame_cipher)
        name, data = frame_name(T0, 7), _webp("teal")
        files.write(name, [data])
    plain = (data_dir / "media" / name).with_suffix(".webp")
    plain.write_bytes(data)  # sealed, then killed before the plain file went
    (plain.parent / "20240503T100000000000-000009.frame.part").write_bytes(b"half")
    (data_dir / "vault.key").write_bytes(Fernet.generate_key())  # killed before the unlink
    with Service(data_dir, embedder=embedder) as service:
        assert service.frame_image(name) == data
        [vault] = service.list_memories(MemoryType.VAULT)
        assert service.vault_value(vault.id) == SECRET  # already resealed: skipped
    assert [p.name for p in (data_dir / "media").rglob("*") if p.is_file()] == [
        Path(name).with_suffix(".frame").name
    ]
    assert not (data_dir / "vault.key").exists()


def test_every_file_and_folder_rememora_makes_is_owner_only(service: Service) -> None:
    fill(service, with_vault=True, frames=2)
    service.search("Where does Ana work?")  # Chroma's files exist and are written
    root = service.data_dir
    seen = 0
    for folder, dirs, names in os.walk(root):
        for entry in [*dirs, *names]:
            path = Path(folder) / entry
            if path.is_symlink():  # the test's shared models folder, not ours
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {mode:o}"
            seen += 1
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    names = {p.name for p in root.rglob("*")}
    assert {"keys.json", "ledger.sqlite3", "chroma"} <= names and seen > 10


def test_export_of_an_encrypted_store_imports_frames_byte_identical(
    service: Service, tmp_path: Path, shared_models: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    fill(service, with_vault=True, frames=0)
    frames = FrameFiles(service.data_dir / "media", service.runtime.frame_cipher)
    originals = {frame_name(T0, i): _webp(c) for i, c in enumerate(("navy", "red"), 1)}
    for name, data in originals.items():
        service.store.count_media(1, frames.write(name, [data]))
    out = tmp_path / "store.rememora"
    report = service.export_archive(out, ExportOptions(passphrase=PASSPHRASE))
    assert report.media == 2 and report.sealed
    target = new_store(tmp_path, "fresh", shared_models)
    with Service(target, embedder=embedder) as fresh:
        done = fresh.import_archive(out, lambda: PASSPHRASE)
        assert done.media_added == 2
        for name, data in originals.items():
            assert fresh.frame_image(name) == data  # the same image, byte for byte
        [vault] = fresh.list_memories(MemoryType.VAULT)
        assert fresh.vault_value(vault.id) == SECRET
    source_files = {p.name: p.read_bytes() for p in (service.data_dir / "media").rglob("*.frame")}
    target_files = {p.name: p.read_bytes() for p in (target / "media").rglob("*.frame")}
    assert source_files.keys() == target_files.keys()
    assert all(source_files[n] != target_files[n] for n in source_files)  # other store, key
    assert all(data not in blob for data in originals.values() for blob in target_files.values())
