"""What encryption at rest costs: opening the data key with a passphrase (scrypt), and
sealing / opening one screenshot-sized WebP frame with AES-256-GCM, next to encoding the
frame as WebP. Prints one line; uses a temporary store and a throwaway passphrase.

    PYTHONPATH=. .venv/bin/python bench/at_rest_cost.py
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from core.capture.frame_files import FrameCipher
from core.service import throwaway_keys
from core.store.keys import DataKey


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        keys = throwaway_keys()
        began = time.perf_counter()
        key = DataKey(Path(folder), keys)
        key.open()
        create_ms = (time.perf_counter() - began) * 1000
        opens = []
        for _ in range(5):
            began = time.perf_counter()
            DataKey(Path(folder), keys).open()
            opens.append((time.perf_counter() - began) * 1000)
        page = Image.new("RGB", (1920, 1080), "white")
        draw = ImageDraw.Draw(page)
        for y in range(0, 1080, 24):
            draw.text(
                (10, y), "The quick brown fox jumps over the lazy dog 0123456789 " * 3, "black"
            )
        encoded = io.BytesIO()
        began = time.perf_counter()
        page.save(encoded, format="WEBP", quality=80, method=4)
        encode_ms = (time.perf_counter() - began) * 1000
        image = encoded.getvalue()
        cipher = FrameCipher(key)
        name = "2026-12-02/20261202T120000000000-000001.webp"
        seals, opens_frame = [], []
        for _ in range(50):
            began = time.perf_counter()
            sealed = cipher.seal(name, image)
            seals.append((time.perf_counter() - began) * 1e6)
            began = time.perf_counter()
            cipher.unseal(name, sealed)
            opens_frame.append((time.perf_counter() - began) * 1e6)
        print(
            f"data key: create {create_ms:.0f} ms, open (scrypt n=2^15) median "
            f"{statistics.median(opens):.0f} ms; 1920x1080 text page as WebP: {len(image)} B, "
            f"encode {encode_ms:.0f} ms; seal median {statistics.median(seals):.0f} us, "
            f"open {statistics.median(opens_frame):.0f} us, +{len(sealed) - len(image)} B"
        )


if __name__ == "__main__":
    main()
