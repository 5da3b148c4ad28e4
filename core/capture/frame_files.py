"""Screenshots sealed at rest, and read or written by name for export and import.

A kept frame is ``media/YYYY-MM-DD/<frame id>.frame``: ``MAGIC || nonce || AES-256-GCM``
of the WebP image under the store's data key, with the frame's name
(``YYYY-MM-DD/<frame id>.webp``) as associated data, so a sealed frame renamed or moved
to another day no longer opens. Archives (core.archive) see frames by that ``.webp``
name and in clear (an export carries the images inside its own, passphrase-sealed,
stream; an import seals them under the importing store's key); how frames are kept at
rest is this module's business alone.

Stores from before the data key kept plain ``.webp`` files: :meth:`FrameFiles.migrate`
seals each (new file written, fsynced and renamed into place, then the plain file
removed), so a crash at any point leaves either the plain frame or the sealed one, and
the next open finishes the job.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.errors import StoreError
from core.store.keys import NONCE, DataKey, fsync_dir

MAGIC = b"RMFRAME1"
SUFFIX = ".frame"
PLAIN_SUFFIX = ".webp"
TAG = 16
OVERHEAD = len(MAGIC) + NONCE + TAG
FRAME_NAME = re.compile(r"\d{4}-\d{2}-\d{2}/[0-9]{8}T[0-9]{12}-[0-9]{6}\.webp")
READ_CHUNK = 1 << 20
_AAD = b"rememora frame v1 "


@dataclass(frozen=True)
class FrameFile:
    """A kept frame: ``name`` is ``YYYY-MM-DD/<frame id>.webp``; ``size`` the image's."""

    name: str
    size: int


def is_frame_name(name: str) -> bool:
    return FRAME_NAME.fullmatch(name) is not None


def _check(name: str) -> None:
    if not is_frame_name(name):
        raise ValueError(f"not a frame name: {name!r}")


def write_sealed(path: Path, data: bytes) -> int:
    """Write ``data`` to ``path`` owner-only via a fsynced ``.part`` renamed into place;
    returns its size."""
    partial = path.with_name(path.name + ".part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return len(data)


class FrameCipher:
    """Seals and opens frames under the data key."""

    def __init__(self, key: DataKey) -> None:
        self.key = key

    @property
    def locked(self) -> bool:
        return self.key.locked

    def seal(self, name: str, image: bytes) -> bytes:
        return MAGIC + self.key.seal(image, _AAD + name.encode("ascii"), "saving a screenshot")

    def unseal(self, name: str, blob: bytes) -> bytes:
        if not blob.startswith(MAGIC):
            raise StoreError(f"screenshot {name} is not a sealed frame")
        return self.key.unseal(
            blob[len(MAGIC) :], _AAD + name.encode("ascii"), f"screenshot {name}"
        )


class FrameFiles:
    """The frames under ``root`` by name, sealed on disk and in clear to the caller."""

    def __init__(self, root: Path, cipher: FrameCipher) -> None:
        self.root = root
        self.cipher = cipher

    def path_of(self, name: str) -> Path:
        _check(name)
        return (self.root / name).with_suffix(SUFFIX)

    def list(self, since: date | None = None) -> list[FrameFile]:
        """The frames kept (captured on or after ``since``), oldest first."""
        if not self.root.exists():
            return []
        found = []
        for path in sorted(self.root.glob(f"*/*{SUFFIX}")):
            name = f"{path.parent.name}/{path.stem}{PLAIN_SUFFIX}"
            if not is_frame_name(name):
                continue
            if since is not None and path.parent.name < since.isoformat():
                continue
            found.append(FrameFile(name, max(0, path.stat().st_size - OVERHEAD)))
        return found

    def read_bytes(self, name: str) -> bytes:
        return self.cipher.unseal(name, self.path_of(name).read_bytes())

    def read(self, name: str) -> Iterator[bytes]:
        """The image of one kept frame, in chunks."""
        data = self.read_bytes(name)
        for start in range(0, len(data), READ_CHUNK):
            yield data[start : start + READ_CHUNK]

    def has(self, name: str) -> bool:
        return is_frame_name(name) and self.path_of(name).is_file()

    def write(self, name: str, chunks: Iterable[bytes]) -> int:
        """Seal and write one frame atomically; returns its size on disk. If ``chunks``
        raises, nothing is left behind."""
        path = self.path_of(name)
        buffer = io.BytesIO()
        for chunk in chunks:
            buffer.write(chunk)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return write_sealed(path, self.cipher.seal(name, buffer.getvalue()))

    def remove(self, name: str) -> int:
        """Delete one kept frame; returns the bytes it took on disk (0: it was not there),
        which is what the media totals count."""
        if not is_frame_name(name):
            return 0
        path = self.path_of(name)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def migrate(self) -> int:
        """Seal every plain ``.webp`` frame left by an older store; returns how many."""
        if not self.root.exists():
            return 0
        sealed = 0
        for leftover in self.root.glob("*/*.part"):
            leftover.unlink(missing_ok=True)  # a write cut short: the source is still there
        for plain in sorted(self.root.glob(f"*/*{PLAIN_SUFFIX}")):
            name = f"{plain.parent.name}/{plain.name}"
            if not is_frame_name(name):
                continue
            target = self.path_of(name)
            if not target.exists():
                write_sealed(target, self.cipher.seal(name, plain.read_bytes()))
                fsync_dir(target.parent)
            plain.unlink()
            fsync_dir(plain.parent)
            sealed += 1
        return sealed
