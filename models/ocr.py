"""OCR behind a small protocol. The runtime is RapidOCR on onnxruntime
(`rapidocr-onnxruntime`): its PP-OCRv4 detection and recognition models ship inside the
wheel, so nothing is downloaded. Screen text is upright, so the angle classifier is off."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from core.errors import ModelError

OCR_NAME = "rapidocr-onnxruntime (PP-OCRv4)"
_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: tuple[int, int, int, int]  # left, top, right, bottom in image pixels
    score: float

    @property
    def center_y(self) -> float:
        return (self.box[1] + self.box[3]) / 2


class OcrEngine(Protocol):
    name: str

    def read(self, image: np.ndarray) -> list[OcrLine]:
        """Text lines of an RGB image (H x W x 3, uint8)."""
        ...


def _import_rapidocr() -> Any:
    """Import RapidOCR without letting OpenCV's wheel repoint Qt at its own plugins
    (opencv-python sets QT_QPA_* on import, which breaks PySide6 in the same process)."""
    saved = {name: os.environ.get(name) for name in _QT_VARIABLES}
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        raise ModelError(
            OCR_NAME, "the package rapidocr-onnxruntime is not installed; run `make`"
        ) from None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return RapidOCR


class RapidOcrEngine:
    name = OCR_NAME

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                rapid_ocr = _import_rapidocr()
                try:
                    # det limit "max 2000" instead of the default "min 736": screen text
                    # is legible at native size, and the default would upscale a 176 px
                    # band of changed screen to 736 px high (9x the work).
                    self._engine = rapid_ocr(
                        use_cls=False,
                        print_verbose=False,
                        intra_op_num_threads=self._threads,
                        inter_op_num_threads=1,
                        det_limit_type="max",
                        det_limit_side_len=2000,
                    )
                except Exception as exc:  # onnxruntime raises its own types
                    raise ModelError(OCR_NAME, f"cannot load: {exc}") from None
            return self._engine

    def read(self, image: np.ndarray) -> list[OcrLine]:
        engine = self._load()
        if image.size == 0:
            return []
        # RapidOCR expects OpenCV's BGR order for arrays.
        result, _elapsed = engine(np.ascontiguousarray(image[:, :, ::-1]), use_cls=False)
        lines: list[OcrLine] = []
        for points, text, score in result or []:
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            lines.append(
                OcrLine(
                    str(text),
                    (int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))),
                    float(score),
                )
            )
        return lines
