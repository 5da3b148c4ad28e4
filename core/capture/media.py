"""Frames on disk as WebP sealed under the data key (core.capture.frame_files), within a
storage budget.

Past the budget the oldest images are deleted first; their text and memories stay in
the ledger. When the disk is nearly full, :meth:`MediaStore.low_disk` says why capture
must pause. Each frame written or deleted is reported to a ``MediaCounter`` (the store's
running totals), so status knows the media's size without walking the folder.
"""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from core.capture.frame_files import SUFFIX, FrameCipher, write_sealed
from core.store.counters import MediaTotals

GB = 1_000_000_000

MediaCounter = Callable[[int, int], None]
"""Called with (files, bytes) added; negative for frames deleted."""


def count_frames(root: Path) -> MediaTotals:
    """The frames kept under ``root``, counted by walking it: for a store that has never
    kept the totals; the running totals replace this walk from then on."""
    sizes = [p.stat().st_size for p in root.rglob(f"*{SUFFIX}")] if root.exists() else []
    return MediaTotals(len(sizes), sum(sizes))


@dataclass(frozen=True)
class StoredFrame:
    frame_id: str
    path: Path
    bytes: int


@dataclass(frozen=True)
class MediaUsage:
    files: int
    bytes: int
    oldest: datetime | None
    newest: datetime | None
    budget_bytes: int

    @property
    def days_of_history(self) -> float | None:
        """How many days the budget holds at the rate seen so far (None: too early)."""
        if not self.files or self.oldest is None or self.newest is None:
            return None
        span_days = (self.newest - self.oldest).total_seconds() / 86400
        if span_days < 1 / 24:
            return None
        per_day = self.bytes / span_days
        return self.budget_bytes / per_day if per_day else None


class MediaStore:
    def __init__(
        self,
        root: Path,
        budget_gb: float,
        min_free_gb: float,
        quality: int,
        cipher: FrameCipher,
        counter: MediaCounter | None = None,
    ) -> None:
        self.root = root
        self.cipher = cipher
        self._counter = counter
        self.budget_bytes = int(budget_gb * GB)
        self.min_free_bytes = int(min_free_gb * GB)
        self.quality = quality
        self._lock = threading.Lock()
        self._sizes: dict[Path, int] = {}
        if root.exists():
            for path in root.rglob(f"*{SUFFIX}"):
                self._sizes[path] = path.stat().st_size
        self.deleted = 0

    @property
    def total_bytes(self) -> int:
        return sum(self._sizes.values())

    def low_disk(self) -> str | None:
        """Why capture must pause for lack of disk, or None."""
        probe = self.root if self.root.exists() else self.root.parent
        free = shutil.disk_usage(probe).free
        if free < self.min_free_bytes:
            return (
                f"disk nearly full: {free / GB:.2f} GB free at {probe}, "
                f"capture needs {self.min_free_bytes / GB:.2f} GB"
            )
        return None

    @property
    def locked(self) -> bool:
        """The data key is locked: no frame can be kept."""
        return self.cipher.locked

    def save(self, frame_id: str, at: datetime, image: Image.Image) -> StoredFrame:
        """Encode as WebP, seal under the data key and write (LockedError if locked)."""
        folder = self.root / f"{at:%Y-%m-%d}"
        name = f"{folder.name}/{frame_id}.webp"
        encoded = io.BytesIO()
        image.save(encoded, format="WEBP", quality=self.quality, method=4)
        sealed = self.cipher.seal(name, encoded.getvalue())
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{frame_id}{SUFFIX}"
        size = write_sealed(path, sealed)
        with self._lock:
            self._sizes[path] = size
        self._count(1, size)
        self.enforce_budget()
        return StoredFrame(frame_id, path, size)

    def discard(self, frame: StoredFrame) -> None:
        """Delete a frame just saved whose OCR could not be queued."""
        with self._lock:
            size = self._sizes.pop(frame.path, None)
        frame.path.unlink(missing_ok=True)
        if size is not None:
            self._count(-1, -size)

    def _count(self, files: int, size: int) -> None:
        if self._counter is not None and files:
            self._counter(files, size)

    def enforce_budget(self) -> int:
        """Delete the oldest frames until the store fits its budget; returns how many."""
        removed = freed = 0
        with self._lock:
            total = sum(self._sizes.values())
            if total <= self.budget_bytes:
                return 0
            for path in sorted(self._sizes, key=lambda p: (p.parent.name, p.name)):
                if total <= self.budget_bytes:
                    break
                size = self._sizes.pop(path)
                total -= size
                freed += size
                path.unlink(missing_ok=True)
                removed += 1
        self.deleted += removed
        self._count(-removed, -freed)  # outside the lock: the store may take a moment
        return removed

    def usage(self) -> MediaUsage:
        with self._lock:
            paths = sorted(self._sizes, key=lambda p: (p.parent.name, p.name))
            total = sum(self._sizes.values())
        times = [_time_of(p) for p in (paths[:1] + paths[-1:])]
        return MediaUsage(
            len(paths),
            total,
            times[0] if times else None,
            times[-1] if times else None,
            self.budget_bytes,
        )


def _time_of(path: Path) -> datetime | None:
    try:
        return datetime.strptime(path.stem.split("-")[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return None
