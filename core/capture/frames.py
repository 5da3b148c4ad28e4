"""A captured frame, and the two-stage dedup that decides whether it is new.

Stage one is an exact hash of the raw pixels: an unchanged screen costs one hash.
Stage two downsamples to grey (1/4 per side) and compares tile by tile with the last
kept frame: a tile where at most ``threshold`` percent of the small pixels changed by
more than ``PIXEL_DELTA`` grey levels counts as unchanged (JPEG noise, a blinking caret);
one changed character in a 128 px tile is above the default 1 %. The changed tiles tell
OCR where to look.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from PIL import Image, ImageDraw

from core.capture.privacy import WindowInfo

DOWNSCALE = 4
PIXEL_DELTA = 24


class Frame:
    """One screenshot with the windows on screen when it was taken. The RGB image is
    built from the raw BGRA bytes only when needed: an exact duplicate never pays for it."""

    def __init__(
        self,
        at: datetime,
        window: WindowInfo,
        others: tuple[WindowInfo, ...] = (),
        image: Image.Image | None = None,
        raw_bgra: bytes | None = None,
        size: tuple[int, int] | None = None,
        source_file: str = "",
        origin: tuple[int, int] = (0, 0),
    ) -> None:
        if image is None and (raw_bgra is None or size is None):
            raise ValueError("a frame needs an image or raw BGRA bytes and a size")
        self.at = at
        self.window = window
        self.others = others  # other visible windows, for the privacy gate
        self._image = image
        self._raw = raw_bgra
        self._size = size
        self.source_file = source_file  # set when replayed from a file
        self.origin = origin  # the image's top left on the screen (window boxes use it)

    @property
    def image(self) -> Image.Image:
        if self._image is None:
            assert self._raw is not None and self._size is not None
            self._image = Image.frombytes("RGB", self._size, self._raw, "raw", "BGRX")
        return self._image

    def painted_over(self, boxes: Sequence[tuple[int, int, int, int]]) -> Frame:
        """A copy with each screen box (x, y, width, height) filled black; the original
        pixels are not kept."""
        image = self.image.copy()
        draw = ImageDraw.Draw(image)
        left, top = self.origin
        for x, y, width, height in boxes:
            draw.rectangle(
                (x - left, y - top, x - left + width - 1, y - top + height - 1), fill=(0, 0, 0)
            )
        return Frame(
            self.at,
            self.window,
            self.others,
            image=image,
            source_file=self.source_file,
            origin=self.origin,
        )

    def pixel_bytes(self) -> bytes:
        return self._raw if self._raw is not None else self.image.tobytes()


@dataclass
class ChangeMap:
    """Which tiles differ from the previous kept frame (rows x cols booleans)."""

    tile_px: int
    changed: np.ndarray
    size: tuple[int, int]

    @property
    def fraction(self) -> float:
        return float(self.changed.mean()) if self.changed.size else 1.0

    def changed_bands(self, margin: int) -> list[tuple[int, int]]:
        """Full-width horizontal bands (top, bottom) in pixels covering changed tile rows,
        merged when adjacent, grown by ``margin`` so a text line on a tile border is whole."""
        rows = np.flatnonzero(self.changed.any(axis=1))
        bands: list[tuple[int, int]] = []
        height = self.size[1]
        for row in rows:
            top = max(0, int(row) * self.tile_px - margin)
            bottom = min(height, (int(row) + 1) * self.tile_px + margin)
            if bands and top <= bands[-1][1]:
                bands[-1] = (bands[-1][0], max(bands[-1][1], bottom))
            else:
                bands.append((top, bottom))
        return bands


@dataclass
class Verdict:
    kind: str  # "new", "exact", "similar"
    changes: ChangeMap | None = None
    difference: float = 0.0


def _grey_small(image: Image.Image) -> np.ndarray:
    small = image.convert("L").reduce(DOWNSCALE)
    return np.asarray(small, dtype=np.int16)


def tile_differences(before: np.ndarray, after: np.ndarray, tile_px: int) -> np.ndarray:
    """Percent of each tile's small pixels that changed by more than ``PIXEL_DELTA``
    (tiles of ``tile_px`` full-size pixels)."""
    step = max(1, tile_px // DOWNSCALE)
    diff = (np.abs(after - before) > PIXEL_DELTA).astype(np.float32) * 100.0
    rows = -(-diff.shape[0] // step)
    cols = -(-diff.shape[1] // step)
    padded = np.zeros((rows * step, cols * step), dtype=np.float32)
    counts = np.zeros_like(padded)
    padded[: diff.shape[0], : diff.shape[1]] = diff
    counts[: diff.shape[0], : diff.shape[1]] = 1
    sums = padded.reshape(rows, step, cols, step).sum(axis=(1, 3))
    sizes = counts.reshape(rows, step, cols, step).sum(axis=(1, 3))
    means: np.ndarray = sums / np.maximum(sizes, 1)
    return means


@dataclass
class Deduper:
    threshold: float
    tile_px: int
    _last_hash: bytes = b""
    _last_grey: np.ndarray | None = None
    _last_size: tuple[int, int] = (0, 0)
    _last_window: WindowInfo | None = field(default=None)

    def judge(self, frame: Frame) -> Verdict:
        digest = hashlib.blake2b(frame.pixel_bytes(), digest_size=16).digest()
        same_window = frame.window == self._last_window
        if digest == self._last_hash and same_window:
            return Verdict("exact")
        grey = _grey_small(frame.image)
        previous = self._last_grey
        if previous is None or previous.shape != grey.shape or frame.image.size != self._last_size:
            self._remember(digest, grey, frame)
            return Verdict("new", None, 255.0)
        per_tile = tile_differences(previous, grey, self.tile_px)
        changed = per_tile > self.threshold
        difference = float(per_tile.max()) if per_tile.size else 0.0
        if not changed.any() and same_window:
            return Verdict("similar", None, difference)
        self._remember(digest, grey, frame)
        return Verdict("new", ChangeMap(self.tile_px, changed, frame.image.size), difference)

    def _remember(self, digest: bytes, grey: np.ndarray, frame: Frame) -> None:
        self._last_hash = digest
        self._last_grey = grey
        self._last_size = frame.image.size
        self._last_window = frame.window
